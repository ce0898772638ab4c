package session

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/memstate"
)

// putOutgoing stores an outgoing message with the given status.
func putOutgoing(t *testing.T, state *memstate.State, id string, status core.MessageStatus) {
	t.Helper()
	now := time.Now().UTC()
	err := state.PutMessage(context.Background(), core.Message{
		ID: id, Tenant: testKey.Tenant, SessionID: testKey.ID, Direction: core.DirectionOut,
		To: "15550002222@s.whatsapp.net", Text: "hello " + id, Status: status, CreatedAt: now, UpdatedAt: now,
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAdmitSendRefusesAFullQueue(t *testing.T) {
	s, state, _ := connectedSupervisor(t)
	s.cfg.SendQueue = 2
	s.sending = true // a sender is busy elsewhere: nothing drains the queue
	ctx := context.Background()
	for _, id := range []string{"A", "B", "C"} {
		putOutgoing(t, state, id, core.MessageQueued)
	}
	for _, id := range []string{"A", "B"} {
		if err := s.AdmitSend(); err != nil {
			t.Fatalf("admit before %s: %v", id, err)
		}
		if err := s.Send(ctx, core.SendPayload{MessageID: id}); err != nil {
			t.Fatal(err)
		}
	}
	// The same message again takes no second slot and does not block.
	if err := s.Send(ctx, core.SendPayload{MessageID: "A"}); err != nil {
		t.Fatal(err)
	}
	err := s.AdmitSend()
	var ra *core.RetryAfterError
	if !errors.As(err, &ra) || !core.IsCode(err, core.CodeRateLimited) || ra.Seconds < 1 {
		t.Fatalf("AdmitSend on a full queue = %v, want rate_limited with a retry-after", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Send(cctx, core.SendPayload{MessageID: "C"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Send on a full queue with a done context = %v, want context.Canceled", err)
	}
}

func TestSendQueuesOnlyMessagesStillQueued(t *testing.T) {
	s, state, _ := connectedSupervisor(t)
	s.sending = true // keep what is queued in sight
	ctx := context.Background()
	putOutgoing(t, state, "fresh", core.MessageQueued)
	putOutgoing(t, state, "done", core.MessageSent)
	putOutgoing(t, state, "given-up", core.MessageFailed)
	for _, id := range []string{"fresh", "done", "given-up", "missing", "fresh"} {
		if err := s.Send(ctx, core.SendPayload{MessageID: id}); err != nil {
			t.Fatalf("send %s: %v", id, err)
		}
	}
	if len(s.pending) != 1 || s.pending[0].id != "fresh" || s.pending[0].text != "hello fresh" {
		t.Errorf("queued %+v, want only the queued message, once, with its stored text", s.pending)
	}
}

func TestSendOutcomeNeverUndoesAReceipt(t *testing.T) {
	s, state, events := connectedSupervisor(t)
	ctx := context.Background()
	putOutgoing(t, state, "M", core.MessageQueued)
	if !s.claim("M") {
		t.Fatal("a fresh message was already claimed")
	}
	// The phone's receipt is stored before the sender's "sent" is.
	if _, err := state.UpdateMessage(ctx, testKey, "M", func(m *core.Message) error {
		m.Status = core.MessageDelivered
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.record("M", core.MessageSent, "")
	s.wg.Wait()
	m, err := state.GetMessage(ctx, testKey, "M")
	if err != nil || m.Status != core.MessageDelivered {
		t.Errorf("message after a late sent = %+v, %v; want delivered", m, err)
	}
	events.mu.Lock()
	defer events.mu.Unlock()
	for _, e := range events.events {
		if e.Type == core.EventMessageStatus {
			t.Errorf("published %s for a status that did not change", e.Type)
		}
	}
}

// failingMessages fails message updates a number of times before they succeed.
type failingMessages struct {
	*memstate.State
	failures int
}

func (f *failingMessages) UpdateMessage(ctx context.Context, key core.SessionKey, id string, fn func(*core.Message) error) (core.Message, error) {
	if f.failures > 0 {
		f.failures--
		return core.Message{}, errors.New("database is locked")
	}
	return f.State.UpdateMessage(ctx, key, id, fn)
}

func TestSendOutcomeIsStoredDespiteStoreHiccupsAndStop(t *testing.T) {
	s, state, events := connectedSupervisor(t)
	s.deps.Messages = &failingMessages{State: state, failures: 2}
	ctx := context.Background()
	putOutgoing(t, state, "M", core.MessageQueued)
	if !s.claim("M") {
		t.Fatal("a fresh message was already claimed")
	}
	sentAt := time.Now().UTC().Add(-time.Second)
	s.deps.Now = func() time.Time { return sentAt }
	s.record("M", core.MessageSent, "")
	s.cancel() // the supervisor stops: the outcome must still land
	s.wg.Wait()
	m, err := state.GetMessage(ctx, testKey, "M")
	if err != nil || m.Status != core.MessageSent || !m.UpdatedAt.Equal(sentAt) {
		t.Errorf("message = %+v, %v; want sent, updated when it was sent", m, err)
	}
	events.mu.Lock()
	n := len(events.events)
	events.mu.Unlock()
	if n != 1 {
		t.Errorf("%d events, want one message.status", n)
	}
	// Stored: the id is let go, and the store now refuses a redelivery.
	if !s.claim("M") {
		t.Error("the message stayed claimed after its outcome was stored")
	}
	s.unclaim("M")
	s.sending = true
	if err := s.Send(ctx, core.SendPayload{MessageID: "M"}); err != nil || len(s.pending) != 0 {
		t.Errorf("redelivered send of a sent message: %v, queued %+v; want it dropped", err, s.pending)
	}
}
