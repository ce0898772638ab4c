package dynamo

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.mau.fi/whatsmeow/store"
)

// App state items:
//   - "appkey#<key id hex>": an app state sync key (data, fingerprint, timestamp).
//   - "appver#<name>": the version and LT hash of one app state collection.
//   - "appmac#<name>#<index MAC hex>#<version, 20 digits>": the value MAC of one
//     mutation. sqlstore keys MACs by (name, version, index MAC) and reads the one of
//     the highest version, so the version is part of the key too: the newest value of
//     an index MAC is the first item of a descending Query on its prefix, and deleting
//     an index MAC deletes every version of it.
const (
	appKeyPrefix = "appkey#"
	appVerPrefix = "appver#"
	appMACPrefix = "appmac#"
)

func appMACIndexPrefix(name string, indexMAC []byte) string {
	return appMACPrefix + name + "#" + hex.EncodeToString(indexMAC) + "#"
}

// PutAppStateSyncKey stores the key with id. An existing key is replaced only by one
// with a newer timestamp, as in sqlstore.
func (s *DeviceStore) PutAppStateSyncKey(ctx context.Context, id []byte, key store.AppStateSyncKey) error {
	if err := s.writable(); err != nil {
		return err
	}
	it := s.newItem(appKeyPrefix + hex.EncodeToString(id))
	it["id"] = attrB(id)
	it["data"] = attrB(key.Data)
	it["fp"] = attrB(key.Fingerprint)
	it["ts"] = attrN(key.Timestamp)
	err := s.t.putCond(ctx, it, "attribute_not_exists(sk) OR #ts < :ts", map[string]string{"#ts": "ts"}, item{":ts": attrN(key.Timestamp)})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("put app state sync key: %w", err)
	}
	return nil
}

// GetAppStateSyncKey returns the key with id, or nil when it is unknown.
func (s *DeviceStore) GetAppStateSyncKey(ctx context.Context, id []byte) (*store.AppStateSyncKey, error) {
	it, err := s.getItem(ctx, appKeyPrefix+hex.EncodeToString(id))
	if err != nil {
		return nil, fmt.Errorf("get app state sync key: %w", err)
	}
	if it == nil {
		return nil, nil
	}
	return &store.AppStateSyncKey{Data: getB(it, "data"), Fingerprint: getB(it, "fp"), Timestamp: getN(it, "ts")}, nil
}

// GetLatestAppStateSyncKeyID returns the id of the key with the newest timestamp, or
// nil when there is none. Of keys with equal timestamps it returns the lowest id.
func (s *DeviceStore) GetLatestAppStateSyncKeyID(ctx context.Context) ([]byte, error) {
	var latest []byte
	var latestTS int64
	err := s.t.queryPrefix(ctx, s.pk, appKeyPrefix, false, false, 0, func(it item) bool {
		if ts := getN(it, "ts"); latest == nil || ts > latestTS {
			latest, latestTS = getB(it, "id"), ts
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("query app state sync keys: %w", err)
	}
	return latest, nil
}

// PutAppStateVersion stores the version and hash of the collection name.
func (s *DeviceStore) PutAppStateVersion(ctx context.Context, name string, version uint64, hash [128]byte) error {
	it := s.newItem(appVerPrefix + name)
	it["ver"] = attrU(version)
	it["hash"] = attrB(hash[:])
	if err := s.putItem(ctx, it, false); err != nil {
		return fmt.Errorf("put app state version: %w", err)
	}
	return nil
}

// GetAppStateVersion returns the version and hash of name; version 0 and an empty
// hash when it was never synced.
func (s *DeviceStore) GetAppStateVersion(ctx context.Context, name string) (version uint64, hash [128]byte, err error) {
	it, err := s.getItem(ctx, appVerPrefix+name)
	if err != nil {
		return 0, hash, fmt.Errorf("get app state version: %w", err)
	}
	if it == nil {
		return 0, hash, nil
	}
	h := getB(it, "hash")
	if len(h) != len(hash) {
		return 0, hash, ErrInvalidLength
	}
	copy(hash[:], h)
	return getU(it, "ver"), hash, nil
}

// DeleteAppStateVersion deletes the version of name and, as sqlstore's cascade does,
// every mutation MAC of name.
func (s *DeviceStore) DeleteAppStateVersion(ctx context.Context, name string) error {
	if err := s.deleteAllWithPrefix(ctx, appMACPrefix+name+"#"); err != nil {
		return fmt.Errorf("delete app state mutation MACs: %w", err)
	}
	if err := s.deleteItem(ctx, appVerPrefix+name); err != nil {
		return fmt.Errorf("delete app state version: %w", err)
	}
	return nil
}

// PutAppStateMutationMACs stores the value MACs of a patch at version with
// BatchWriteItem (25 per call). A repeated index MAC keeps its last value.
func (s *DeviceStore) PutAppStateMutationMACs(ctx context.Context, name string, version uint64, mutations []store.AppStateMutationMAC) error {
	if len(mutations) == 0 {
		return nil
	}
	if err := s.writable(); err != nil {
		return err
	}
	bySK := make(map[string]int, len(mutations))
	reqs := make([]types.WriteRequest, 0, len(mutations))
	for _, m := range mutations {
		sk := fmt.Sprintf("%s%020d", appMACIndexPrefix(name, m.IndexMAC), version)
		it := s.newItem(sk)
		it["vmac"] = attrB(m.ValueMAC)
		if i, ok := bySK[sk]; ok {
			reqs[i] = putReq(it)
			continue
		}
		bySK[sk] = len(reqs)
		reqs = append(reqs, putReq(it))
	}
	if err := s.t.batchWrite(ctx, reqs); err != nil {
		return fmt.Errorf("put app state mutation MACs: %w", err)
	}
	return nil
}

// DeleteAppStateMutationMACs deletes every version of the given index MACs of name:
// one keys-only Query per index MAC, then BatchWriteItem deletes.
func (s *DeviceStore) DeleteAppStateMutationMACs(ctx context.Context, name string, indexMACs [][]byte) error {
	if len(indexMACs) == 0 {
		return nil
	}
	var sks []string
	for _, indexMAC := range indexMACs {
		err := s.t.queryPrefix(ctx, s.pk, appMACIndexPrefix(name, indexMAC), false, true, 0, func(it item) bool {
			sks = append(sks, getS(it, attrSK))
			return true
		})
		if err != nil {
			return fmt.Errorf("query app state mutation MACs: %w", err)
		}
	}
	if err := s.deleteItems(ctx, sks); err != nil {
		return fmt.Errorf("delete app state mutation MACs: %w", err)
	}
	return nil
}

// GetAppStateMutationMAC returns the value MAC of the highest version of indexMAC in
// name, or nil when there is none.
func (s *DeviceStore) GetAppStateMutationMAC(ctx context.Context, name string, indexMAC []byte) ([]byte, error) {
	var valueMAC []byte
	err := s.t.queryPrefix(ctx, s.pk, appMACIndexPrefix(name, indexMAC), true, false, 1, func(it item) bool {
		valueMAC = getB(it, "vmac")
		return false
	})
	if err != nil {
		return nil, fmt.Errorf("get app state mutation MAC: %w", err)
	}
	return valueMAC, nil
}
