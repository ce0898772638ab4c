package dynamo

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// What DoDecryptionTxn protects: whatsmeow decrypts a message inside it, which advances
// the Signal session (or sender key), may consume a one-time prekey and save the peer's
// identity, and then stores the plaintext in the event buffer. sqlstore runs all of that
// in one SQL transaction: either the ratchet moved and the plaintext is saved, or
// nothing changed and the message can be decrypted again when the server redelivers it.
// Losing that would lose messages (message keys are single use).
//
// DynamoDB has no transaction that spans reads, so the store keeps the guarantee this
// way: transactions of one device run one at a time (a per-device mutex); inside one,
// single-item writes (identities, sessions, prekeys, sender keys, buffered events) are
// staged in memory and reads of those items see the staged values; when fn returns
// nil, the staged writes are committed with one TransactWriteItems call, so they apply
// all together or not at all; when fn fails, they are dropped. A decryption touches a
// handful of items, far below the 100-action and 4 MB limits; should a transaction
// ever exceed them, it is committed in several atomic chunks and a warning is logged.
// Batch and prefix operations (DeleteAllSessions, MigratePNToLID, contacts, app state)
// do not take part: called inside fn they act on the table directly, as outside.
// A nested DoDecryptionTxn joins the outer one, as dbutil's DoTxn does.

type txnKey struct{}

type stagedOp struct {
	item       item // nil means delete
	insertOnly bool // the put must not find an existing item
}

type decryptTxn struct {
	owner *DeviceStore

	mu    sync.Mutex // fn may hand its ctx to goroutines
	ops   map[string]*stagedOp
	order []string
}

// lookup returns the staged operation on sk, if any.
func (tx *decryptTxn) lookup(sk string) (*stagedOp, bool) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	op, ok := tx.ops[sk]
	return op, ok
}

func (s *DeviceStore) txn(ctx context.Context) *decryptTxn {
	tx, _ := ctx.Value(txnKey{}).(*decryptTxn)
	if tx == nil || tx.owner != s {
		return nil
	}
	return tx
}

// stage records op on sk; tx.mu must be held.
func (tx *decryptTxn) stage(sk string, op *stagedOp) {
	if _, ok := tx.ops[sk]; !ok {
		tx.order = append(tx.order, sk)
	}
	tx.ops[sk] = op
}

func (tx *decryptTxn) stagePut(it item, insertOnly bool) error {
	if err := checkSize(it); err != nil {
		return err
	}
	sk := getS(it, attrSK)
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if prev, ok := tx.ops[sk]; ok {
		if insertOnly && prev.item != nil {
			return errConditionFailed
		}
		// A put after a staged put keeps that put's insert condition (an insert that
		// would have failed still fails); after a staged delete there is nothing to find.
		insertOnly = prev.insertOnly
	}
	tx.stage(sk, &stagedOp{item: it, insertOnly: insertOnly})
	return nil
}

func (tx *decryptTxn) stageDelete(sk string) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	tx.stage(sk, &stagedOp{})
}

// DoDecryptionTxn runs fn so that the store writes it makes through ctx are committed
// together when fn returns nil and dropped when it returns an error. See the comment
// at the top of txn.go for how this maps onto DynamoDB.
func (s *DeviceStore) DoDecryptionTxn(ctx context.Context, fn func(context.Context) error) error {
	if s.txn(ctx) != nil {
		return fn(ctx)
	}
	s.txnLock.Lock()
	defer s.txnLock.Unlock()
	tx := &decryptTxn{owner: s, ops: make(map[string]*stagedOp)}
	if err := fn(context.WithValue(ctx, txnKey{}, tx)); err != nil {
		return err
	}
	return s.commit(ctx, tx)
}

func (s *DeviceStore) commit(ctx context.Context, tx *decryptTxn) error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if len(tx.ops) == 0 {
		return nil
	}
	if err := s.writable(); err != nil {
		return err
	}
	actions := make([]types.TransactWriteItem, 0, len(tx.ops))
	for _, sk := range tx.order {
		op := tx.ops[sk]
		switch {
		case op.item == nil:
			actions = append(actions, txDelete(s.t, s.pk, sk, "", nil))
		case op.insertOnly:
			actions = append(actions, txPut(s.t, op.item, "attribute_not_exists(sk)"))
		default:
			actions = append(actions, txPut(s.t, op.item, ""))
		}
	}
	if n := len(chunkActions(actions)); n > 1 {
		s.c.log.Warnf("Decryption transaction has %d writes; committing in %d parts", len(actions), n)
	}
	if err := s.t.transactWrite(ctx, actions, false); err != nil {
		return fmt.Errorf("commit decryption transaction: %w", err)
	}
	return nil
}
