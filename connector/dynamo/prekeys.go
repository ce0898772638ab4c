package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.mau.fi/whatsmeow/util/keys"
)

// Prekeys are items "prekey#<id, 10 digits>" with the private key, the numeric id and
// an "uploaded at insert" flag (set by GenOnePreKey). The item "pkmeta" holds "next",
// the next id to hand out, and "up", the highest id passed to MarkPreKeysAsUploaded.
// A key counts as uploaded when its flag is set or its id is at most "up": marking a
// batch as uploaded is then one conditional UpdateItem instead of one write per key,
// and finding the keys not uploaded yet is a Query of the ids above "up". Ids are
// handed out by a compare-and-swap on "next" and always above "up", so they are never
// reused even after the newest keys were consumed (sqlstore reuses MAX(id)+1).
const (
	preKeyPrefix = "prekey#"
	preKeyMetaSK = "pkmeta"
	// maxPreKeyID keeps ids within Signal's 24 bits, as sqlstore's schema does.
	maxPreKeyID = 1<<24 - 1
)

func preKeySK(id uint32) string { return fmt.Sprintf("%s%010d", preKeyPrefix, id) }

type preKeyMeta struct{ next, up uint32 }

func (s *DeviceStore) getPreKeyMeta(ctx context.Context) (preKeyMeta, error) {
	it, err := s.t.get(ctx, s.pk, preKeyMetaSK)
	if err != nil {
		return preKeyMeta{}, fmt.Errorf("get prekey counters: %w", err)
	}
	m := preKeyMeta{next: 1, up: uint32(getU(it, "up"))}
	if it != nil && getU(it, "next") > 0 {
		m.next = uint32(getU(it, "next"))
	}
	return m, nil
}

// reservePreKeyIDs hands out n consecutive ids, above every id handed out before and
// above the uploaded mark. The caller holds preKeyLock; the compare-and-swap also
// guards against another process writing the same device.
func (s *DeviceStore) reservePreKeyIDs(ctx context.Context, m preKeyMeta, n uint32) (uint32, error) {
	for attempt := 0; ; attempt++ {
		first := max(m.next, m.up+1)
		if uint64(first)+uint64(n)-1 > maxPreKeyID {
			return 0, errors.New("reserve prekey ids: the 24-bit id space is exhausted")
		}
		cond := "attribute_not_exists(#next) OR #next = :old"
		err := s.t.update(ctx, s.pk, preKeyMetaSK, "SET #next = :new", cond,
			map[string]string{"#next": "next"},
			item{":new": attrU(uint64(first + n)), ":old": attrU(uint64(m.next))})
		if err == nil {
			return first, nil
		}
		if !isConditionFailed(err) || attempt >= retryAttempts {
			return 0, fmt.Errorf("reserve prekey ids: %w", err)
		}
		if m, err = s.getPreKeyMeta(ctx); err != nil {
			return 0, err
		}
	}
}

func (s *DeviceStore) preKeyItem(key *keys.PreKey, uploaded bool) item {
	it := s.newItem(preKeySK(key.KeyID))
	it["id"] = attrU(uint64(key.KeyID))
	it["key"] = attrB(key.Priv[:])
	it["u"] = attrBool(uploaded)
	return it
}

// GenOnePreKey generates one prekey that counts as uploaded right away (whatsmeow
// sends it in a retry receipt) and stores it.
func (s *DeviceStore) GenOnePreKey(ctx context.Context) (*keys.PreKey, error) {
	if err := s.writable(); err != nil {
		return nil, err
	}
	s.preKeyLock.Lock()
	defer s.preKeyLock.Unlock()
	m, err := s.getPreKeyMeta(ctx)
	if err != nil {
		return nil, err
	}
	id, err := s.reservePreKeyIDs(ctx, m, 1)
	if err != nil {
		return nil, err
	}
	key := keys.NewPreKey(id)
	if err := s.t.put(ctx, s.preKeyItem(key, true), "attribute_not_exists(sk)"); err != nil {
		return nil, fmt.Errorf("put prekey: %w", err)
	}
	return key, nil
}

// GetOrGenPreKeys returns count prekeys that are not uploaded yet, lowest ids first,
// generating and storing new ones when there are fewer. The new keys are inserted
// with TransactWriteItems (100 per call) on the condition that their ids are unused.
func (s *DeviceStore) GetOrGenPreKeys(ctx context.Context, count uint32) ([]*keys.PreKey, error) {
	if err := s.writable(); err != nil {
		return nil, err
	}
	s.preKeyLock.Lock()
	defer s.preKeyLock.Unlock()
	m, err := s.getPreKeyMeta(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*keys.PreKey, 0, count)
	var scanErr error
	err = s.t.queryRange(ctx, s.pk, preKeySK(m.up+1), preKeySK(maxPreKeyID), "u = :f", item{":f": attrBool(false)},
		func(it item) bool {
			if uint32(len(out)) >= count {
				return false
			}
			key, err := scanPreKey(it)
			if err != nil {
				scanErr = err
				return false
			}
			out = append(out, key)
			return uint32(len(out)) < count
		})
	if err != nil {
		return nil, fmt.Errorf("query prekeys: %w", err)
	} else if scanErr != nil {
		return nil, scanErr
	}
	missing := count - uint32(len(out))
	if missing == 0 {
		return out, nil
	}
	first, err := s.reservePreKeyIDs(ctx, m, missing)
	if err != nil {
		return nil, err
	}
	actions := make([]types.TransactWriteItem, 0, missing)
	for i := uint32(0); i < missing; i++ {
		key := keys.NewPreKey(first + i)
		out = append(out, key)
		actions = append(actions, txPut(s.t, s.preKeyItem(key, false), "attribute_not_exists(sk)"))
	}
	if err := s.t.transactWrite(ctx, actions, false); err != nil {
		return nil, fmt.Errorf("put prekeys: %w", err)
	}
	return out, nil
}

func scanPreKey(it item) (*keys.PreKey, error) {
	priv, err := fixed32(getB(it, "key"))
	if err != nil {
		return nil, err
	}
	return &keys.PreKey{KeyPair: *keys.NewKeyPairFromPrivateKey(*priv), KeyID: uint32(getU(it, "id"))}, nil
}

// GetPreKey returns the prekey with id, or nil when it does not exist (any more).
func (s *DeviceStore) GetPreKey(ctx context.Context, id uint32) (*keys.PreKey, error) {
	it, err := s.getItem(ctx, preKeySK(id))
	if err != nil {
		return nil, fmt.Errorf("get prekey: %w", err)
	}
	if it == nil {
		return nil, nil
	}
	return scanPreKey(it)
}

// RemovePreKey deletes the prekey with id (after a peer used it).
func (s *DeviceStore) RemovePreKey(ctx context.Context, id uint32) error {
	if err := s.deleteItem(ctx, preKeySK(id)); err != nil {
		return fmt.Errorf("delete prekey: %w", err)
	}
	return nil
}

// MarkPreKeysAsUploaded marks every prekey with an id up to upToID as uploaded. It only
// ever raises the mark; whatsmeow passes the last id of the batch it just uploaded.
func (s *DeviceStore) MarkPreKeysAsUploaded(ctx context.Context, upToID uint32) error {
	if err := s.writable(); err != nil {
		return err
	}
	err := s.t.update(ctx, s.pk, preKeyMetaSK, "SET #up = :v", "attribute_not_exists(#up) OR #up < :v",
		map[string]string{"#up": "up"}, item{":v": attrU(uint64(upToID))})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("mark prekeys uploaded: %w", err)
	}
	return nil
}

// UploadedPreKeyCount counts the stored prekeys that are uploaded (one COUNT Query).
func (s *DeviceStore) UploadedPreKeyCount(ctx context.Context) (int, error) {
	m, err := s.getPreKeyMeta(ctx)
	if err != nil {
		return 0, err
	}
	in := &dynamodb.QueryInput{
		TableName:                s.t.name,
		ConsistentRead:           aws.Bool(true),
		KeyConditionExpression:   aws.String("pk = :pk AND begins_with(sk, :p)"),
		FilterExpression:         aws.String("#id <= :up OR u = :t"),
		ExpressionAttributeNames: map[string]string{"#id": "id"},
		ExpressionAttributeValues: item{
			":pk": attrS(s.pk), ":p": attrS(preKeyPrefix), ":up": attrU(uint64(m.up)), ":t": attrBool(true),
		},
		Select: types.SelectCount,
	}
	n := 0
	for {
		out, err := s.t.api.Query(ctx, in)
		if err != nil {
			return 0, fmt.Errorf("count prekeys: %w", err)
		}
		n += int(out.Count)
		if len(out.LastEvaluatedKey) == 0 {
			return n, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
