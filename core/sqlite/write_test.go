package sqlite_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
)

func outgoing(id string, at time.Time) core.Message {
	return core.Message{ID: id, Tenant: "t", SessionID: "s", Direction: core.DirectionOut, To: "15550002222",
		Text: "hello", Status: core.MessageQueued, CreatedAt: at, UpdatedAt: at}
}

// TestConcurrentWritesFailAlone checks that writes arriving together (and so sharing
// a transaction) succeed or fail each on its own.
func TestConcurrentWritesFailAlone(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	key := core.SessionKey{Tenant: "t", ID: "s"}
	now := time.Now().UTC()
	const n = 64
	var dupStored atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 3*n)
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("m%02d", i)
			errs <- db.PutMessage(ctx, outgoing(id, now))
			// Every writer tries the same id: one wins, the others conflict.
			switch err := db.PutMessage(ctx, outgoing("dup", now)); {
			case err == nil:
				dupStored.Add(1)
			case !core.IsCode(err, core.CodeConflict):
				errs <- fmt.Errorf("duplicate insert: %w", err)
			}
			_, err := db.UpdateMessage(ctx, key, id, func(m *core.Message) error {
				m.Status, m.UpdatedAt = core.MessageSent, now.Add(time.Second)
				return nil
			})
			errs <- err
			// A refused update changes nothing.
			_, err = db.UpdateMessage(ctx, key, id, func(m *core.Message) error {
				m.Status = core.MessageFailed
				return core.Errorf(core.CodeWrongState, "refused")
			})
			if !core.IsCode(err, core.CodeWrongState) {
				errs <- fmt.Errorf("refused update returned %v", err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := dupStored.Load(); got != 1 {
		t.Errorf("the same message id was stored %d times, want once", got)
	}
	for i := range n {
		m, err := db.GetMessage(ctx, key, fmt.Sprintf("m%02d", i))
		if err != nil || m.Status != core.MessageSent || !m.UpdatedAt.Equal(now.Add(time.Second)) {
			t.Fatalf("message %d = %+v, %v; want sent", i, m, err)
		}
	}
	page, err := db.ListMessages(ctx, key, core.MessageQuery{Direction: core.DirectionOut, Limit: core.MaxPageSize})
	if err != nil || len(page.Messages) != n+1 {
		t.Fatalf("listed %d messages (%v), want %d", len(page.Messages), err, n+1)
	}
}

// TestCancelledWriteChangesNothing checks that a write whose context ended before
// its turn is not applied.
func TestCancelledWriteChangesNothing(t *testing.T) {
	db := openDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := db.PutMessage(ctx, outgoing("m", time.Now())); err == nil {
		t.Fatal("a write with a cancelled context succeeded")
	}
	_, err := db.GetMessage(context.Background(), core.SessionKey{Tenant: "t", ID: "s"}, "m")
	if !core.IsCode(err, core.CodeNotFound) {
		t.Fatalf("message after a cancelled write: %v, want not_found", err)
	}
}

// BenchmarkMessageWrites stores and then updates messages from parallel writers, as
// the API and the session senders do.
func BenchmarkMessageWrites(b *testing.B) {
	ctx := context.Background()
	db := openDB(b)
	key := core.SessionKey{Tenant: "t", ID: "s"}
	now := time.Now().UTC()
	var next atomic.Int64
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("m%d", next.Add(1))
			if err := db.PutMessage(ctx, outgoing(id, now)); err != nil {
				b.Error(err)
				return
			}
			if _, err := db.UpdateMessage(ctx, key, id, func(m *core.Message) error {
				m.Status = core.MessageSent
				return nil
			}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
