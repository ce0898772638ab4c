package apigw_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/functions/apigw"
)

func TestPutSessionCreatesThenUpdates(t *testing.T) {
	e := newEnv(t)
	c := e.startConnector(t)

	r := e.do(req{method: "PUT", path: "/v1/sessions/support", token: tokenA, body: `{"displayName":"Support","preferIPv4":false}`})
	expect(t, r, http.StatusCreated, "")
	var s core.Session
	r.json(t, &s)
	want := core.Settings{DisplayName: "Support", PreferIPv4: false, AutoConnect: true}
	if s.ID != "support" || s.Tenant != tenantA || s.Status != core.StatusNew || s.Settings != want || s.DisplayName != "Support" {
		t.Fatalf("created %+v", s)
	}
	if r.header.Get("Location") != "/v1/sessions/support" {
		t.Errorf("Location %q", r.header.Get("Location"))
	}

	// A PUT replaces the settings: absent fields take the defaults again.
	r = e.do(req{method: "PUT", path: "/v1/sessions/support", token: tokenA, body: `{"webhookURL":"https://example.com/hook"}`})
	expect(t, r, http.StatusOK, "")
	s = core.Session{}
	r.json(t, &s)
	want = core.Settings{PreferIPv4: true, AutoConnect: true, WebhookURL: "https://example.com/hook"}
	if s.Settings != want || s.DisplayName != "" {
		t.Fatalf("updated settings %+v, want %+v", s.Settings, want)
	}
	if !s.UpdatedAt.After(s.CreatedAt) && !s.UpdatedAt.Equal(s.CreatedAt) {
		t.Errorf("updatedAt %v before createdAt %v", s.UpdatedAt, s.CreatedAt)
	}

	// The update told the live connector.
	poll(t, "the settings command", func() bool { return len(c.commands(core.CmdSettings)) == 1 })
	var p core.SettingsPayload
	if err := c.commands(core.CmdSettings)[0].DecodePayload(&p); err != nil || p.Settings != want {
		t.Fatalf("settings payload %+v (%v)", p, err)
	}

	r = e.do(req{method: "GET", path: "/v1/sessions", token: tokenA})
	expect(t, r, http.StatusOK, "")
	var list struct{ Sessions []core.Session }
	r.json(t, &list)
	if len(list.Sessions) != 1 || list.Sessions[0].ID != "support" {
		t.Fatalf("list %+v", list)
	}
	// Tenant B sees none of it.
	r = e.do(req{method: "GET", path: "/v1/sessions", token: tokenB})
	expect(t, r, http.StatusOK, "")
	if strings.TrimSpace(string(r.body)) != `{"sessions":[]}` {
		t.Fatalf("tenant B list %s", r.body)
	}
}

// TestPutSessionWithoutConnector: settings are stored even when no connector runs.
func TestPutSessionWithoutConnector(t *testing.T) {
	e := newEnv(t)
	e.createSession(tokenA, "s1")
	r := e.do(req{method: "PUT", path: "/v1/sessions/s1", token: tokenA, body: `{"displayName":"New name"}`})
	expect(t, r, http.StatusOK, "")
	if n := len(e.sent.ofType(core.CmdSettings)); n != 0 {
		t.Fatalf("%d settings commands sent without a connector", n)
	}
}

func TestInsecureWebhookOption(t *testing.T) {
	body := `{"webhookURL":"http://127.0.0.1:9000/hook"}`
	e := newEnv(t)
	r := e.do(req{method: "PUT", path: "/v1/sessions/s1", token: tokenA, body: body})
	expect(t, r, http.StatusBadRequest, "invalid_request")

	e = newEnv(t, func(s *apigw.Server) { s.Options.AllowInsecureWebhooks = true })
	r = e.do(req{method: "PUT", path: "/v1/sessions/s1", token: tokenA, body: body})
	expect(t, r, http.StatusCreated, "")
}

func TestConnectFlowToQR(t *testing.T) {
	e := newEnv(t)
	c := e.startConnector(t)
	e.createSession(tokenA, "s1")

	r := e.do(req{method: "POST", path: "/v1/sessions/s1/connect", token: tokenA})
	expect(t, r, http.StatusAccepted, "")
	var s core.Session
	r.json(t, &s)
	if s.ID != "s1" {
		t.Fatalf("connect answered %+v", s)
	}
	stored, err := e.state.GetSession(context.Background(), core.SessionKey{Tenant: tenantA, ID: "s1"})
	if err != nil || !stored.Desired {
		t.Fatalf("connect did not mark the session desired: %+v, %v", stored, err)
	}
	poll(t, "status qr", func() bool {
		r := e.do(req{method: "GET", path: "/v1/sessions/s1", token: tokenA})
		s = core.Session{}
		r.json(t, &s)
		return s.Status == core.StatusQR
	})
	if n := len(c.commands(core.CmdConnect)); n != 1 {
		t.Fatalf("%d connect commands", n)
	}

	for _, action := range []struct {
		path string
		typ  core.CommandType
	}{{"disconnect", core.CmdDisconnect}, {"logout", core.CmdLogout}} {
		r := e.do(req{method: "POST", path: "/v1/sessions/s1/" + action.path, token: tokenA})
		expect(t, r, http.StatusAccepted, "")
		poll(t, string(action.typ), func() bool { return len(c.commands(action.typ)) == 1 })
	}
	stored, _ = e.state.GetSession(context.Background(), core.SessionKey{Tenant: tenantA, ID: "s1"})
	if stored.Desired {
		t.Fatal("logout left the session desired")
	}

	r = e.do(req{method: "DELETE", path: "/v1/sessions/s1", token: tokenA})
	expect(t, r, http.StatusAccepted, "")
	poll(t, "delete command", func() bool { return len(c.commands(core.CmdDelete)) == 1 })
	if got := c.commands(core.CmdDelete)[0]; got.Tenant != tenantA || got.SessionID != "s1" {
		t.Fatalf("delete command for %s/%s", got.Tenant, got.SessionID)
	}
}

func TestConnectWhileBanned(t *testing.T) {
	e := newEnv(t)
	e.startConnector(t)
	e.createSession(tokenA, "s1")
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	_, err := e.state.UpdateSession(context.Background(), core.SessionKey{Tenant: tenantA, ID: "s1"}, func(s *core.Session) error {
		s.Status, s.RetryAt = core.StatusBanned, &until
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r := e.do(req{method: "POST", path: "/v1/sessions/s1/connect", token: tokenA})
	expect(t, r, http.StatusConflict, "wrong_state")
	if !strings.Contains(string(r.body), until.Format(time.RFC3339)) {
		t.Fatalf("the answer does not say until when: %s", r.body)
	}
	if n := len(e.sent.ofType(core.CmdConnect)); n != 0 {
		t.Fatalf("%d connect commands sent for a banned session", n)
	}

	// Once retryAt has passed, connecting is allowed again.
	past := time.Now().Add(-time.Minute)
	_, _ = e.state.UpdateSession(context.Background(), core.SessionKey{Tenant: tenantA, ID: "s1"}, func(s *core.Session) error {
		s.RetryAt = &past
		return nil
	})
	expect(t, e.do(req{method: "POST", path: "/v1/sessions/s1/connect", token: tokenA}), http.StatusAccepted, "")
}

// TestConnectorUnavailable: endpoints that need the connector answer 503 without a
// recent heartbeat, and health says degraded (still 200).
func TestConnectorUnavailable(t *testing.T) {
	e := newEnv(t)
	e.createSession(tokenA, "s1")
	e.setStatus(tenantA, "s1", core.StatusConnected, "15550001111@s.whatsapp.net")
	e.heartbeat(time.Now().Add(-31 * time.Second)) // stale

	for _, rq := range []req{
		{method: "POST", path: "/v1/sessions/s1/connect"},
		{method: "POST", path: "/v1/sessions/s1/disconnect"},
		{method: "POST", path: "/v1/sessions/s1/logout"},
		{method: "DELETE", path: "/v1/sessions/s1"},
		{method: "POST", path: "/v1/sessions/s1/messages", body: `{"to":"15551234567","text":"hi"}`},
		{method: "POST", path: "/v1/diagnostics"},
	} {
		rq.token = tokenA
		expect(t, e.do(rq), http.StatusServiceUnavailable, "connector_unavailable")
	}
	e.setStatus(tenantA, "s1", core.StatusQR, "")
	expect(t, e.do(req{method: "POST", path: "/v1/sessions/s1/pair-code", token: tokenA, body: `{"phone":"15551234567"}`}),
		http.StatusServiceUnavailable, "connector_unavailable")
	if n := len(e.sent.ofType("")); n != 0 {
		t.Fatalf("%d commands sent without a connector", n)
	}

	var h struct {
		Status     string
		Connectors []any
	}
	r := e.do(req{method: "GET", path: "/v1/health"})
	expect(t, r, http.StatusOK, "")
	r.json(t, &h)
	if h.Status != "degraded" || len(h.Connectors) != 0 {
		t.Fatalf("health %s", r.body)
	}

	e.heartbeat(time.Now())
	r = e.do(req{method: "GET", path: "/v1/health"})
	r.json(t, &h)
	if h.Status != "ok" || len(h.Connectors) != 1 {
		t.Fatalf("health with a connector %s", r.body)
	}
	expect(t, e.do(req{method: "POST", path: "/v1/sessions/s1/disconnect", token: tokenA}), http.StatusAccepted, "")
}
