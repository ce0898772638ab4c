package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/connector/internal/apitest"
	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/membus"
	"github.com/wagate/wagate/core/memstate"
	"github.com/wagate/wagate/functions/webhook"
)

// receiver is a webhook endpoint that answers 500 to the first failures requests
// and records every request it accepts with a valid signature.
type receiver struct {
	secret   []byte
	mu       sync.Mutex
	failures int
	attempts int
	accepted []core.Event
	badSig   int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	if !webhook.Verify(r.secret, body, req.Header.Get(webhook.HeaderSignature)) {
		r.badSig++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.attempts <= r.failures {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	var e core.Event
	if err := json.Unmarshal(body, &e); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.accepted = append(r.accepted, e)
}

func (r *receiver) counts() (attempts, accepted, badSig int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts, len(r.accepted), r.badSig
}

// syncLog collects log lines written from several goroutines.
type syncLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// hookEnv runs the webhook delivery over a bus and an in-memory state holding one
// session whose webhook is target.
type hookEnv struct {
	bus   *membus.Bus
	hooks *webhooks
	logs  *syncLog
	stop  func() // ends the delivery and waits for it
}

func startHooks(t *testing.T, cfg Config, secret []byte, target string, tune ...func(*webhooks)) *hookEnv {
	t.Helper()
	ctx := context.Background()
	state := memstate.New()
	sess := core.Session{Tenant: "acme", ID: "desk", Status: core.StatusConnected,
		Settings: core.Settings{WebhookURL: target}, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := state.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	logs := &syncLog{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	bus := membus.New(log)
	t.Cleanup(func() { _ = bus.Close() })
	h, err := newWebhooks(cfg, secret, bus, state, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	h.delays = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}
	for _, f := range tune {
		f(h)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.run(runCtx)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	t.Cleanup(stop)
	// Events published before the subscription go nowhere: wait for it.
	waitFor(t, "the delivery to subscribe", func() bool { return h.subscriptions.Load() > 0 })
	return &hookEnv{bus: bus, hooks: h, logs: logs, stop: stop}
}

func (e *hookEnv) publish(t *testing.T, typ core.EventType) core.Event {
	t.Helper()
	ev, err := core.NewEvent(typ, core.SessionKey{Tenant: "acme", ID: "desk"}, time.Now().UTC(), map[string]string{"status": "connected"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.bus.PublishEvent(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// waitFor polls cond for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	apitest.Eventually(t, 30*time.Second, what, func() (bool, string) { return cond(), "not yet" })
}

func hookConfig(allowPrivate bool) Config {
	cfg := DefaultConfig()
	cfg.AllowInsecureWebhooks = true
	cfg.WebhookAllowPrivate = allowPrivate
	return cfg
}

func TestWebhookRetriedUntilDeliveredOnce(t *testing.T) {
	secret := []byte("a-webhook-secret-of-some-length")
	rcv := &receiver{secret: secret, failures: 2}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	env := startHooks(t, hookConfig(true), secret, srv.URL+"/hooks?token=abc")
	ev := env.publish(t, core.EventSessionStatus)

	waitFor(t, "the event to be accepted", func() bool { _, n, _ := rcv.counts(); return n > 0 })
	env.stop() // every delivery started has ended: nothing more can arrive
	attempts, accepted, badSig := rcv.counts()
	if attempts != 3 || accepted != 1 || badSig != 0 {
		t.Errorf("attempts %d, accepted %d, bad signatures %d; want 3 attempts, the event accepted once", attempts, accepted, badSig)
	}
	if got := rcv.accepted[0]; got.ID != ev.ID || got.Type != core.EventSessionStatus || got.SessionID != "desk" {
		t.Errorf("accepted %+v, want event %s of session desk", got, ev.ID)
	}
	logs := env.logs.String()
	if strings.Count(logs, "event=webhook_failed") != 2 || !strings.Contains(logs, "event=webhook_done") {
		t.Errorf("want two webhook_failed lines and one webhook_done, got:\n%s", logs)
	}
	if strings.Contains(logs, "token=abc") || strings.Contains(logs, string(secret)) {
		t.Errorf("the logs show the URL's query or the secret:\n%s", logs)
	}
}

func TestWebhookDroppedAfterLastRetry(t *testing.T) {
	secret := []byte("a-webhook-secret-of-some-length")
	rcv := &receiver{secret: secret, failures: 100}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	env := startHooks(t, hookConfig(true), secret, srv.URL+"/hooks")
	ev := env.publish(t, core.EventMessageIn)

	waitFor(t, "the event to be dropped", func() bool { return strings.Contains(env.logs.String(), "event=webhook_dropped") })
	env.stop()
	if attempts, accepted, _ := rcv.counts(); attempts != 4 || accepted != 0 {
		t.Errorf("attempts %d, accepted %d; want 4 failed attempts", attempts, accepted)
	}
	if logs := env.logs.String(); !strings.Contains(logs, "event_id="+ev.ID) || !strings.Contains(logs, "session=desk") {
		t.Errorf("the drop does not name the event and session:\n%s", logs)
	}
}

func TestWebhookToLoopbackRefusedUnlessAllowed(t *testing.T) {
	secret := []byte("a-webhook-secret-of-some-length")
	rcv := &receiver{secret: secret}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	env := startHooks(t, hookConfig(false), secret, srv.URL+"/hooks")
	env.publish(t, core.EventSessionStatus)

	waitFor(t, "the refusal to be logged", func() bool { return strings.Contains(env.logs.String(), "event=webhook_refused") })
	env.stop()
	if attempts, _, _ := rcv.counts(); attempts != 0 {
		t.Errorf("the loopback receiver got %d requests, want none", attempts)
	}
	if logs := env.logs.String(); strings.Contains(logs, "event=webhook_failed") || !strings.Contains(logs, "loopback") {
		t.Errorf("want one refusal that says loopback and no retries:\n%s", logs)
	}
}

func TestWebhookResubscribesAfterTheBusCutItOff(t *testing.T) {
	secret := []byte("a-webhook-secret-of-some-length")
	rcv := &receiver{secret: secret}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	env := startHooks(t, hookConfig(true), secret, srv.URL+"/hooks", func(h *webhooks) { h.buffer = 1 })
	// Publish faster than the delivery reads: the bus cuts the subscriber off.
	ctx := context.Background()
	for i := 0; i < 100000 && !strings.Contains(env.logs.String(), "event=webhook_subscription_lost"); i++ {
		ev, _ := core.NewEvent(core.EventSessionStatus, core.SessionKey{Tenant: "acme", ID: "gone"}, time.Now(), nil)
		_ = env.bus.PublishEvent(ctx, ev)
	}
	waitFor(t, "the lost subscription to be logged", func() bool {
		return strings.Contains(env.logs.String(), "event=webhook_subscription_lost")
	})
	waitFor(t, "a new subscription", func() bool { return env.hooks.subscriptions.Load() > 1 })
	ev := env.publish(t, core.EventSessionStatus)
	waitFor(t, "the event after resubscribing", func() bool {
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		for _, a := range rcv.accepted {
			if a.ID == ev.ID {
				return true
			}
		}
		return false
	})
}
