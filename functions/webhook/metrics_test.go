package webhook_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/memstate"
	"github.com/wagate/wagate/core/metrics"
	"github.com/wagate/wagate/functions/webhook"
)

// senderFunc is a Sender made of a function.
type senderFunc func(ctx context.Context, target string, e core.Event) error

func (f senderFunc) Deliver(ctx context.Context, target string, e core.Event) error {
	return f(ctx, target, e)
}

func TestNotifierCountsDeliveriesAndFailures(t *testing.T) {
	ctx := context.Background()
	state := memstate.New()
	now := time.Now().UTC()
	for id, hook := range map[string]string{"up": "https://hooks.example.com/up", "down": "https://hooks.example.com/down", "none": ""} {
		s := core.Session{ID: id, Tenant: "t1", Status: core.StatusConnected, CreatedAt: now, UpdatedAt: now, Settings: core.Settings{WebhookURL: hook}}
		if err := state.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	rec := &metrics.Recorder{}
	emf := metrics.NewEMF(rec, nil)
	n := &webhook.Notifier{Sessions: state, Metrics: emf, Sender: senderFunc(func(_ context.Context, target string, _ core.Event) error {
		if target == "https://hooks.example.com/down" {
			return errors.New("503 from the receiver")
		}
		return nil
	})}
	for _, id := range []string{"up", "up", "down", "none", "gone"} {
		e, err := core.NewEvent(core.EventSessionStatus, core.SessionKey{Tenant: "t1", ID: id}, now, map[string]string{})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = n.Notify(ctx, e)
	}
	if err := emf.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := rec.Err(); err != nil {
		t.Fatal(err)
	}
	if got := rec.Sum(metrics.WebhookDeliveries); got != 2 {
		t.Errorf("deliveries %v, want 2 (no webhook and no session are not deliveries)", got)
	}
	if got := rec.Sum(metrics.WebhookFailures); got != 1 {
		t.Errorf("failures %v, want 1", got)
	}
}
