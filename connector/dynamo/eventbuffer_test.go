package dynamo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wagate/wagate/connector/dynamo"
)

func TestEventBuffer(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c container) {
		ctx := testCtx(t)
		s := pairedDevice(t, c, "15550001111:7@s.whatsapp.net").EventBuffer
		h := key32(0xab)
		if ev, err := s.GetBufferedEvent(ctx, h); err != nil || ev != nil {
			t.Fatalf("unknown event = %v, %v", ev, err)
		}
		start := time.Now()
		must(t, s.PutBufferedEvent(ctx, h, []byte("plaintext"), time.Unix(1_700_000_000, 0)))
		ev, err := s.GetBufferedEvent(ctx, h)
		if err != nil || ev == nil || string(ev.Plaintext) != "plaintext" || !ev.ServerTime.Equal(time.Unix(1_700_000_000, 0)) {
			t.Fatalf("buffered event = %+v, %v", ev, err)
		}
		if ev.InsertTime.Before(start.Add(-time.Second)) || ev.InsertTime.After(time.Now().Add(time.Second)) {
			t.Errorf("insert time %v is not the time of the put", ev.InsertTime)
		}
		if err := s.PutBufferedEvent(ctx, h, []byte("again"), time.Now()); err == nil {
			t.Error("a second PutBufferedEvent of the same hash succeeded")
		}
		must(t, s.ClearBufferedEventPlaintext(ctx, h))
		ev, _ = s.GetBufferedEvent(ctx, h)
		if ev == nil || ev.Plaintext != nil {
			t.Errorf("after clear = %+v, want the event without plaintext", ev)
		}
		must(t, s.ClearBufferedEventPlaintext(ctx, key32(0xcd)))
		if ev, _ := s.GetBufferedEvent(ctx, key32(0xcd)); ev != nil {
			t.Error("clearing an unknown event created it")
		}
		must(t, s.DeleteOldBufferedHashes(ctx))
		if ev, _ := s.GetBufferedEvent(ctx, h); ev == nil {
			t.Error("DeleteOldBufferedHashes deleted a fresh event")
		}
	})
}

func TestDeleteOldBufferedHashes(t *testing.T) {
	c, _, _ := openDynamo(t)
	ctx := testCtx(t)
	s := pairedDevice(t, c, "15550001111:7@s.whatsapp.net").EventBuffer
	now := time.Now()
	c.SetClock(func() time.Time { return now.Add(-15 * 24 * time.Hour) })
	must(t, s.PutBufferedEvent(ctx, key32(1), []byte("old"), now))
	c.SetClock(func() time.Time { return now.Add(-13 * 24 * time.Hour) })
	must(t, s.PutBufferedEvent(ctx, key32(2), nil, now))
	c.SetClock(func() time.Time { return now })
	must(t, s.DeleteOldBufferedHashes(ctx))
	if ev, _ := s.GetBufferedEvent(ctx, key32(1)); ev != nil {
		t.Error("an event buffered 15 days ago survived")
	}
	if ev, _ := s.GetBufferedEvent(ctx, key32(2)); ev == nil {
		t.Error("an event buffered 13 days ago was deleted")
	}
}

func TestDecryptionTxn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c container) {
		ctx := testCtx(t)
		dev := pairedDevice(t, c, "15550001111:7@s.whatsapp.net")
		addr := "15550004444:0"
		must(t, dev.Sessions.PutSession(ctx, addr, []byte("v1")))
		if _, err := dev.PreKeys.GetOrGenPreKeys(ctx, 3); err != nil {
			t.Fatal(err)
		}

		// Commit: every write lands, and reads inside see the writes made before them.
		err := dev.EventBuffer.DoDecryptionTxn(ctx, func(ctx context.Context) error {
			if got, _ := dev.Sessions.GetSession(ctx, addr); string(got) != "v1" {
				t.Errorf("session inside txn = %q, want v1", got)
			}
			must(t, dev.Sessions.PutSession(ctx, addr, []byte("v2")))
			if got, _ := dev.Sessions.GetSession(ctx, addr); string(got) != "v2" {
				t.Errorf("session after put inside txn = %q, want v2", got)
			}
			if got, _ := dev.Sessions.GetSession(context.Background(), addr); string(got) != "v1" {
				t.Errorf("outside the txn the uncommitted session is visible: %q", got)
			}
			must(t, dev.PreKeys.RemovePreKey(ctx, 1))
			if k, _ := dev.PreKeys.GetPreKey(ctx, 1); k != nil {
				t.Error("removed prekey still visible inside txn")
			}
			must(t, dev.Identities.PutIdentity(ctx, addr, key32(5)))
			return dev.EventBuffer.PutBufferedEvent(ctx, key32(1), []byte("hello"), time.Unix(1, 0))
		})
		if err != nil {
			t.Fatalf("committed txn: %v", err)
		}
		if got, _ := dev.Sessions.GetSession(ctx, addr); string(got) != "v2" {
			t.Errorf("after commit session = %q, want v2", got)
		}
		if k, _ := dev.PreKeys.GetPreKey(ctx, 1); k != nil {
			t.Error("after commit the consumed prekey is still there")
		}
		if trusted, _ := dev.Identities.IsTrustedIdentity(ctx, addr, key32(6)); trusted {
			t.Error("after commit the identity was not saved")
		}
		if ev, _ := dev.EventBuffer.GetBufferedEvent(ctx, key32(1)); ev == nil || string(ev.Plaintext) != "hello" {
			t.Errorf("after commit buffered event = %+v", ev)
		}

		// Rollback: an error from fn leaves everything as it was.
		errDecrypt := errors.New("decrypt failed")
		err = dev.EventBuffer.DoDecryptionTxn(ctx, func(ctx context.Context) error {
			must(t, dev.Sessions.PutSession(ctx, addr, []byte("v3")))
			must(t, dev.PreKeys.RemovePreKey(ctx, 2))
			must(t, dev.EventBuffer.PutBufferedEvent(ctx, key32(2), []byte("lost"), time.Unix(2, 0)))
			return errDecrypt
		})
		if !errors.Is(err, errDecrypt) {
			t.Fatalf("rolled back txn returned %v, want the error of fn", err)
		}
		if got, _ := dev.Sessions.GetSession(ctx, addr); string(got) != "v2" {
			t.Errorf("after rollback session = %q, want v2", got)
		}
		if k, _ := dev.PreKeys.GetPreKey(ctx, 2); k == nil {
			t.Error("after rollback the prekey is gone")
		}
		if ev, _ := dev.EventBuffer.GetBufferedEvent(ctx, key32(2)); ev != nil {
			t.Error("after rollback the event is buffered")
		}

		// A duplicate event fails the txn and nothing of it is kept.
		err = dev.EventBuffer.DoDecryptionTxn(ctx, func(ctx context.Context) error {
			must(t, dev.Sessions.PutSession(ctx, addr, []byte("v4")))
			return dev.EventBuffer.PutBufferedEvent(ctx, key32(1), []byte("dup"), time.Unix(3, 0))
		})
		if err == nil {
			t.Error("a txn that buffers an already buffered event succeeded")
		}
		if got, _ := dev.Sessions.GetSession(ctx, addr); string(got) != "v2" {
			t.Errorf("after failed txn session = %q, want v2", got)
		}
	})
}

func TestDecryptionTxnConflictAtCommit(t *testing.T) {
	// The buffered event appears in the table while the txn runs (another process):
	// the insert condition is checked at commit and the whole txn is dropped.
	c, _, _ := openDynamo(t)
	ctx := testCtx(t)
	dev := pairedDevice(t, c, "15550001111:7@s.whatsapp.net")
	must(t, dev.Sessions.PutSession(ctx, "1:0", []byte("v1")))
	err := dev.EventBuffer.DoDecryptionTxn(ctx, func(txCtx context.Context) error {
		must(t, dev.Sessions.PutSession(txCtx, "1:0", []byte("v2")))
		must(t, dev.EventBuffer.PutBufferedEvent(ctx, key32(7), []byte("other"), time.Unix(1, 0)))
		return dev.EventBuffer.PutBufferedEvent(txCtx, key32(7), []byte("mine"), time.Unix(1, 0))
	})
	if err == nil {
		t.Fatal("commit succeeded although the buffered event already existed")
	}
	if got, _ := dev.Sessions.GetSession(ctx, "1:0"); string(got) != "v1" {
		t.Errorf("session = %q after the failed commit, want v1", got)
	}
	if ev, _ := dev.EventBuffer.GetBufferedEvent(ctx, key32(7)); ev == nil || string(ev.Plaintext) != "other" {
		t.Errorf("buffered event = %+v, want the other process's", ev)
	}
}

func TestValueTooLarge(t *testing.T) {
	c, _, _ := openDynamo(t)
	ctx := testCtx(t)
	dev := pairedDevice(t, c, "15550001111:7@s.whatsapp.net")
	err := dev.Sessions.PutSession(ctx, "1:0", make([]byte, 450*1024))
	if !errors.Is(err, dynamo.ErrItemTooLarge) {
		t.Errorf("PutSession of 450 KB = %v, want ErrItemTooLarge", err)
	}
	big := make([]byte, 300*1024) // fits one item; several of them need several calls
	must(t, dev.Sessions.PutManySessions(ctx, map[string][]byte{"1:0": big, "2:0": big, "3:0": big}))
	got, _ := dev.Sessions.GetManySessions(ctx, []string{"1:0", "2:0", "3:0"})
	for a, v := range got {
		if len(v) != len(big) {
			t.Errorf("session %s has %d bytes, want %d", a, len(v), len(big))
		}
	}
}
