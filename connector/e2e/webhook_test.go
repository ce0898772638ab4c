package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/wagate/wagate/connector/app"
	"github.com/wagate/wagate/connector/internal/apitest"
	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/functions/webhook"
)

// hookReceiver is a webhook endpoint on loopback that keeps the events whose
// signature checks out and counts the ones whose signature does not.
type hookReceiver struct {
	secret []byte
	mu     sync.Mutex
	events []core.Event
	bad    int
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var e core.Event
	ok := webhook.Verify(h.secret, body, r.Header.Get(webhook.HeaderSignature)) && json.Unmarshal(body, &e) == nil
	h.mu.Lock()
	defer h.mu.Unlock()
	if !ok {
		h.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	h.events = append(h.events, e)
}

// find returns the first received event that match accepts.
func (h *hookReceiver) find(match func(core.Event) bool) (core.Event, bool, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.events {
		if match(e) {
			return e, true, ""
		}
	}
	return core.Event{}, false, fmt.Sprintf("%d events received, %d with a bad signature", len(h.events), h.bad)
}

func TestWebhookGetsTheSessionsEventsSigned(t *testing.T) {
	secret := "webhook-secret-for-the-e2e-test"
	rcv := &hookReceiver{secret: []byte(secret)}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	e := start(t, func(c *app.Config) {
		c.WebhookSecret = secret
		c.WebhookAllowPrivate = true
		c.AllowInsecureWebhooks = true
	})
	alice := e.phone(t, "15550003331", "Alice")
	bob := e.phone(t, "15550003332", "Bob")

	e.api.MustJSON(t, "PUT", "/v1/sessions/desk", map[string]any{"webhookURL": srv.URL + "/hooks"}, 201, nil)
	e.api.MustJSON(t, "POST", "/v1/sessions/desk/connect", nil, 202, nil)
	if _, err := e.sim.Control.Scan(ctx(t), alice, e.qrCode(t, "desk")); err != nil {
		t.Fatalf("scan: %v", err)
	}
	e.waitStatus(t, "desk", core.StatusConnected, linkTimeout)
	apitest.Eventually(t, eventTimeout, "session.status connected at the webhook", func() (bool, string) {
		_, ok, detail := rcv.find(statusEvent("desk", core.StatusConnected))
		return ok, detail
	})

	text := "hello desk " + core.NewID()[:8]
	id, err := e.sim.Control.SendMessage(ctx(t), bob, alice, text)
	if err != nil {
		t.Fatalf("Bob writes: %v", err)
	}
	var got core.Event
	apitest.Eventually(t, eventTimeout, "message.in at the webhook", func() (bool, string) {
		ev, ok, detail := rcv.find(func(ev core.Event) bool { return ev.Type == core.EventMessageIn })
		got = ev
		return ok, detail
	})
	var in core.Message
	if err := json.Unmarshal(got.Data, &in); err != nil {
		t.Fatalf("decode message.in: %v", err)
	}
	if got.SessionID != "desk" || got.Tenant != app.DefaultTenant || in.ID != id || in.Text != text {
		t.Errorf("message.in %+v with %+v, want message %s %q of session desk", got, in, id, text)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if rcv.bad != 0 {
		t.Errorf("%d deliveries had a bad signature", rcv.bad)
	}
}
