package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/memstate"
	"github.com/wagate/wagate/functions/webhook"
)

func TestNotifier(t *testing.T) {
	ctx := context.Background()
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	state := memstate.New()
	now := time.Now().UTC()
	for id, hook := range map[string]string{"with-hook": srv.URL + "/hook", "no-hook": ""} {
		s := core.Session{ID: id, Tenant: "t1", Status: core.StatusConnected, CreatedAt: now, UpdatedAt: now,
			Settings: core.Settings{WebhookURL: hook}}
		if err := state.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	d := newDeliverer(t, webhook.Options{AllowPrivate: true, AllowHTTP: true})
	n := &webhook.Notifier{Sessions: state, Sender: d}

	event := func(tenant, session string) core.Event {
		e, err := core.NewEvent(core.EventSessionStatus, core.SessionKey{Tenant: tenant, ID: session}, now, map[string]string{"status": "connected"})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	cases := []struct {
		tenant, session string
		want            webhook.Outcome
	}{
		{"t1", "with-hook", webhook.Delivered},
		{"t1", "no-hook", webhook.NoWebhook},
		{"t1", "deleted", webhook.NoSession},
		{"t2", "with-hook", webhook.NoSession}, // another tenant's session of that name does not exist
	}
	for _, c := range cases {
		got, err := n.Notify(ctx, event(c.tenant, c.session))
		if err != nil || got != c.want {
			t.Errorf("Notify(%s/%s) = %v, %v; want %v", c.tenant, c.session, got, err, c.want)
		}
	}
	if got := len(rc.deliveries()); got != 1 {
		t.Fatalf("receiver got %d events, want 1", got)
	}

	rc.mu.Lock()
	rc.status = http.StatusServiceUnavailable
	rc.mu.Unlock()
	got, err := n.Notify(ctx, event("t1", "with-hook"))
	if err == nil || got != webhook.NotDelivered {
		t.Errorf("Notify to a failing webhook = %v, %v; want NotDelivered and an error", got, err)
	}

	broken := &webhook.Notifier{Sessions: failingStore{}, Sender: d}
	if got, err := broken.Notify(ctx, event("t1", "with-hook")); err == nil || got != webhook.NotDelivered {
		t.Errorf("Notify with an unreadable state = %v, %v; want NotDelivered and an error", got, err)
	}
}

type failingStore struct{}

func (failingStore) GetSession(context.Context, core.SessionKey) (core.Session, error) {
	return core.Session{}, errors.New("table unavailable")
}
