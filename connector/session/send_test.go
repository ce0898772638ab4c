package session

import (
	"context"
	"errors"
	"testing"

	"github.com/wagate/wagate/core"
)

func TestAdmitSendRefusesAFullQueue(t *testing.T) {
	s, _, _ := connectedSupervisor(t)
	s.queue = make(chan core.SendPayload, 2) // nothing drains it: the sender is not running
	ctx := context.Background()
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
