package dynamo

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.mau.fi/whatsmeow/store"
	wtypes "go.mau.fi/whatsmeow/types"
)

// DeviceStore implements every per-device whatsmeow store on the device's partition.
// whatsmeow gets it through the store.Device fields that Container fills in.
type DeviceStore struct {
	c   *Container
	t   *table
	jid wtypes.JID
	pk  string

	deleted atomic.Bool

	preKeyLock sync.Mutex

	contactLock  sync.Mutex
	contactCache map[wtypes.JID]*wtypes.ContactInfo

	migratedLock sync.Mutex
	migratedPNs  map[string]bool

	txnLock sync.Mutex
}

var _ store.AllSessionSpecificStores = (*DeviceStore)(nil)

// ErrDeviceDeleted is returned by writes through the stores of a device that was deleted.
var ErrDeviceDeleted = errors.New("device was deleted")

func newDeviceStore(c *Container, jid wtypes.JID) *DeviceStore {
	return &DeviceStore{
		c: c, t: c.t, jid: jid, pk: devicePK(jid),
		contactCache: make(map[wtypes.JID]*wtypes.ContactInfo),
		migratedPNs:  make(map[string]bool),
	}
}

func (s *DeviceStore) markDeleted() {
	s.deleted.Store(true)
	s.contactLock.Lock()
	s.contactCache = make(map[wtypes.JID]*wtypes.ContactInfo)
	s.contactLock.Unlock()
}

func (s *DeviceStore) writable() error {
	if s.deleted.Load() {
		return ErrDeviceDeleted
	}
	return nil
}

func (s *DeviceStore) newItem(sk string) item { return keyOf(s.pk, sk) }

// getItem reads one item of the partition, seeing the writes staged by a decryption
// transaction in ctx. It returns nil when the item does not exist.
func (s *DeviceStore) getItem(ctx context.Context, sk string) (item, error) {
	if tx := s.txn(ctx); tx != nil {
		if op, ok := tx.lookup(sk); ok {
			return op.item, nil
		}
	}
	return s.t.get(ctx, s.pk, sk)
}

// getItems reads many items by sort key; missing ones are absent from the result.
func (s *DeviceStore) getItems(ctx context.Context, sks []string) (map[string]item, error) {
	out := make(map[string]item, len(sks))
	tx := s.txn(ctx)
	keys := make([]item, 0, len(sks))
	seen := make(map[string]bool, len(sks))
	for _, sk := range sks {
		if seen[sk] {
			continue
		}
		seen[sk] = true
		if tx != nil {
			if op, ok := tx.lookup(sk); ok {
				if op.item != nil {
					out[sk] = op.item
				}
				continue
			}
		}
		keys = append(keys, keyOf(s.pk, sk))
	}
	found, err := s.t.batchGet(ctx, keys)
	if err != nil {
		return nil, err
	}
	for _, it := range found {
		out[getS(it, attrSK)] = it
	}
	return out, nil
}

// putItem writes an item (an upsert), or stages it in a decryption transaction.
// insertOnly makes it fail with errConditionFailed when the item already exists.
func (s *DeviceStore) putItem(ctx context.Context, it item, insertOnly bool) error {
	if err := s.writable(); err != nil {
		return err
	}
	if tx := s.txn(ctx); tx != nil {
		return tx.stagePut(it, insertOnly)
	}
	cond := ""
	if insertOnly {
		cond = "attribute_not_exists(sk)"
	}
	err := s.t.put(ctx, it, cond)
	if isConditionFailed(err) {
		return errConditionFailed
	}
	return err
}

// deleteItem deletes an item, or stages the delete in a decryption transaction.
func (s *DeviceStore) deleteItem(ctx context.Context, sk string) error {
	if err := s.writable(); err != nil {
		return err
	}
	if tx := s.txn(ctx); tx != nil {
		tx.stageDelete(sk)
		return nil
	}
	return s.t.del(ctx, s.pk, sk)
}

// putItems upserts many items with BatchWriteItem (or stages them in a transaction).
func (s *DeviceStore) putItems(ctx context.Context, items []item) error {
	if err := s.writable(); err != nil {
		return err
	}
	if tx := s.txn(ctx); tx != nil {
		for _, it := range items {
			if err := tx.stagePut(it, false); err != nil {
				return err
			}
		}
		return nil
	}
	reqs := make([]types.WriteRequest, len(items))
	for i, it := range items {
		reqs[i] = putReq(it)
	}
	return s.t.batchWrite(ctx, reqs)
}

// deleteItems deletes many items by sort key with BatchWriteItem.
func (s *DeviceStore) deleteItems(ctx context.Context, sks []string) error {
	if err := s.writable(); err != nil {
		return err
	}
	reqs := make([]types.WriteRequest, 0, len(sks))
	seen := make(map[string]bool, len(sks))
	for _, sk := range sks {
		if !seen[sk] {
			seen[sk] = true
			reqs = append(reqs, delReq(s.pk, sk))
		}
	}
	return s.t.batchWrite(ctx, reqs)
}
