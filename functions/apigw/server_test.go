package apigw_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/memstate"
	"github.com/wagate/wagate/functions/apigw"
)

func TestNewChecksDependencies(t *testing.T) {
	_, err := apigw.New(apigw.Server{})
	for _, dep := range []string{"State", "Commands", "Auth"} {
		if err == nil || !strings.Contains(err.Error(), dep) {
			t.Errorf("New without deps: %v; want it to name %s", err, dep)
		}
	}
	_, err = apigw.New(apigw.Server{State: memstate.New(), Commands: &recordingSender{}, Auth: mustAuth(t),
		Options: apigw.Options{ResultWait: -1}})
	if err == nil {
		t.Error("New accepted a negative ResultWait")
	}

	// A Server used without New answers 500 instead of crashing.
	var s apigw.Server
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/v1/health", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), `"internal"`) {
		t.Fatalf("unconfigured server answered %d %s", rec.Code, rec.Body)
	}
}

// faultyState is the real store with two faults injected: reading session "boom"
// panics, and listing sessions fails with a message that must never reach a caller.
type faultyState struct {
	*memstate.State
}

const secretDetail = "arn:aws:dynamodb:eu-west-1:123456789012:table/state AccessDenied"

func (f faultyState) GetSession(ctx context.Context, key core.SessionKey) (core.Session, error) {
	if key.ID == "boom" {
		panic("store exploded")
	}
	return f.State.GetSession(ctx, key)
}

func (f faultyState) ListSessions(ctx context.Context, tenant string) ([]core.Session, error) {
	return nil, errors.New(secretDetail)
}

func TestPanicsAndInternalErrors(t *testing.T) {
	e := newEnv(t, func(s *apigw.Server) { s.State = faultyState{s.State.(*memstate.State)} })

	r := e.do(req{method: "GET", path: "/v1/sessions/boom", token: tokenA, header: map[string]string{"X-Request-Id": "req-panic-1"}})
	expect(t, r, http.StatusInternalServerError, "internal")
	if r.header.Get("X-Request-Id") != "req-panic-1" {
		t.Errorf("X-Request-Id %q, want the caller's", r.header.Get("X-Request-Id"))
	}
	if strings.Contains(string(r.body), "exploded") || strings.Contains(string(r.body), "goroutine") {
		t.Fatalf("panic detail in the answer: %s", r.body)
	}

	r = e.do(req{method: "GET", path: "/v1/sessions", token: tokenA})
	expect(t, r, http.StatusInternalServerError, "internal")
	if strings.Contains(string(r.body), "arn:") {
		t.Fatalf("internal detail in the answer: %s", r.body)
	}
	id := r.header.Get("X-Request-Id")
	if len(id) != 32 {
		t.Fatalf("generated request id %q", id)
	}

	// Still serving.
	expect(t, e.do(req{method: "GET", path: "/v1/health"}), http.StatusOK, "")
	expect(t, e.do(req{method: "GET", path: "/v1/sessions/fine", token: tokenA}), http.StatusNotFound, "not_found")

	// Each internal error was logged once, with the request id and tenant.
	var panics, internals int
	for _, l := range e.logs.lines(t) {
		switch l["msg"] {
		case "handler_panic":
			panics++
			if l["request_id"] != "req-panic-1" || l["tenant"] != tenantA || l["session"] != "boom" {
				t.Errorf("panic log %v", l)
			}
		case "internal_error":
			internals++
			if l["request_id"] != id || l["tenant"] != tenantA || !strings.Contains(l["error"].(string), "AccessDenied") {
				t.Errorf("internal error log %v", l)
			}
		}
	}
	if panics != 1 || internals != 1 {
		t.Fatalf("logged %d panics and %d internal errors, want 1 and 1", panics, internals)
	}
}

// TestLogs: every request line carries the request id and tenant (and the session
// where there is one); tokens and message texts never appear.
func TestLogs(t *testing.T) {
	e := newEnv(t)
	e.startConnector(t)
	e.connectedSession("s1")
	const text = "the secret launch code is 0000"
	expect(t, e.do(req{method: "POST", path: "/v1/sessions/s1/messages", token: tokenA,
		body: `{"to":"15551234567","text":"` + text + `"}`}), http.StatusAccepted, "")
	expect(t, e.do(req{method: "GET", path: "/v1/sessions", token: "wrong-token-xyz"}), http.StatusUnauthorized, "unauthorized")

	out := e.logs.String()
	for _, secret := range []string{tokenA, "wrong-token-xyz", text} {
		if strings.Contains(out, secret) {
			t.Fatalf("the log contains %q", secret)
		}
	}
	var sawSend bool
	for _, l := range e.logs.lines(t) {
		if _, ok := l["request_id"]; !ok {
			t.Errorf("log line without request_id: %v", l)
		}
		if _, ok := l["tenant"]; !ok {
			t.Errorf("log line without tenant: %v", l)
		}
		if l["msg"] == "http_request" && l["path"] == "/v1/sessions/s1/messages" {
			sawSend = true
			if l["tenant"] != tenantA || l["session"] != "s1" || l["status"] != float64(202) {
				t.Errorf("send request line %v", l)
			}
		}
	}
	if !sawSend {
		t.Fatal("no request line for the send")
	}
}
