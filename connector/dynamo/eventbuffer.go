package dynamo

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"go.mau.fi/whatsmeow/store"
)

// Buffered events are items "evbuf#<ciphertext SHA-256 hex>" with the plaintext (until
// it is cleared), the server timestamp (unix seconds) and the insert time (unix ms).
const (
	evBufPrefix = "evbuf#"
	// bufferRetention is how long WhatsApp's servers may redeliver an event.
	bufferRetention = 14 * 24 * time.Hour
)

func evBufSK(hash [32]byte) string { return evBufPrefix + hex.EncodeToString(hash[:]) }

// GetBufferedEvent returns the buffered event with the ciphertext hash, or nil when
// there is none. A nil Plaintext means the event was handled and cleared.
func (s *DeviceStore) GetBufferedEvent(ctx context.Context, ciphertextHash [32]byte) (*store.BufferedEvent, error) {
	it, err := s.getItem(ctx, evBufSK(ciphertextHash))
	if err != nil {
		return nil, fmt.Errorf("get buffered event: %w", err)
	}
	if it == nil {
		return nil, nil
	}
	return &store.BufferedEvent{
		Plaintext:  getB(it, "pt"),
		ServerTime: time.Unix(getN(it, "sts"), 0),
		InsertTime: time.UnixMilli(getN(it, "its")),
	}, nil
}

// PutBufferedEvent buffers the plaintext of a decrypted event. Like sqlstore's plain
// INSERT, it fails when an event with the same hash is already buffered.
func (s *DeviceStore) PutBufferedEvent(ctx context.Context, ciphertextHash [32]byte, plaintext []byte, serverTimestamp time.Time) error {
	it := s.newItem(evBufSK(ciphertextHash))
	if plaintext != nil {
		it["pt"] = attrB(plaintext)
	}
	it["sts"] = attrN(serverTimestamp.Unix())
	it["its"] = attrN(s.c.now().UnixMilli())
	err := s.putItem(ctx, it, true)
	if errors.Is(err, errConditionFailed) {
		return errors.New("put buffered event: an event with this hash is already buffered")
	} else if err != nil {
		return fmt.Errorf("put buffered event: %w", err)
	}
	return nil
}

// ClearBufferedEventPlaintext drops the plaintext of a buffered event and keeps its
// hash, so that a redelivery is recognised as already processed.
func (s *DeviceStore) ClearBufferedEventPlaintext(ctx context.Context, ciphertextHash [32]byte) error {
	if err := s.writable(); err != nil {
		return err
	}
	sk := evBufSK(ciphertextHash)
	if tx := s.txn(ctx); tx != nil {
		it, err := s.getItem(ctx, sk)
		if err != nil || it == nil {
			return err
		}
		it = copyItem(it)
		delete(it, "pt")
		return tx.stagePut(it, false)
	}
	err := s.t.update(ctx, s.pk, sk, "REMOVE pt", "attribute_exists(sk)", nil, nil)
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("clear buffered event: %w", err)
	}
	return nil
}

// DeleteOldBufferedHashes deletes this device's buffered events inserted more than 14
// days ago (the servers do not redeliver older ones). sqlstore's query does the same
// for every device of the database; here each device cleans its own partition.
func (s *DeviceStore) DeleteOldBufferedHashes(ctx context.Context) error {
	cutoff := s.c.now().Add(-bufferRetention).UnixMilli()
	var old []string
	in := &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :p)"),
		FilterExpression:          aws.String("its < :cutoff"),
		ExpressionAttributeValues: item{":pk": attrS(s.pk), ":p": attrS(evBufPrefix), ":cutoff": attrN(cutoff)},
	}
	err := s.t.query(ctx, in, false, true, 0, func(it item) bool {
		old = append(old, getS(it, attrSK))
		return true
	})
	if err != nil {
		return fmt.Errorf("query buffered events: %w", err)
	}
	if err := s.deleteItems(ctx, old); err != nil {
		return fmt.Errorf("delete old buffered events: %w", err)
	}
	return nil
}
