package e2e

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wagate/wagate/connector/app"
	"github.com/wagate/wagate/connector/internal/apitest"
	"github.com/wagate/wagate/core"
)

// TestGeneratedTokenIsPrivateAndKept starts without WAGATE_TOKENS: wagate creates its
// data folder privately, generates a token for tenant "default" into it, and a
// restart keeps accepting that token.
func TestGeneratedTokenIsPrivateAndKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fresh", "data")
	e := start(t, func(c *app.Config) { c.DataDir = dir })
	token := e.main.Token()
	if token == "" {
		t.Fatal("no token generated")
	}
	private := map[string]os.FileMode{
		dir:                                0o700,
		filepath.Join(dir, "token"):        0o600,
		filepath.Join(dir, "state.db"):     0o600, // sessions and message texts
		filepath.Join(dir, "whatsmeow.db"): 0o600, // the linked devices' keys
	}
	for path, want := range private {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(path), info.Mode().Perm(), want)
		}
	}
	s := e.createSession(t, "desk")
	if s.Tenant != app.DefaultTenant {
		t.Errorf("session tenant %q, want %q", s.Tenant, app.DefaultTenant)
	}

	e.restart()
	if e.main.Token() != token {
		t.Errorf("after a restart the token changed")
	}
	if got := e.api.Session(t, "desk"); got.ID != "desk" {
		t.Errorf("after a restart: %+v", got)
	}
}

// TestOneProcessPerDataFolder starts a second wagate on a data folder in use: it
// refuses to start instead of sharing the state and the connector id.
func TestOneProcessPerDataFolder(t *testing.T) {
	e := start(t)
	second := app.NewMain()
	second.Config = e.cfg
	err := second.Run(context.Background())
	if !errors.Is(err, app.ErrDataDirBusy) {
		_ = second.Close()
		t.Fatalf("second process on one data folder: %v, want ErrDataDirBusy", err)
	}
	if r := e.api.Do(t, "GET", "/v1/health", nil); r.Status != 200 {
		t.Errorf("the first process stopped serving: %s", r)
	}
}

// TestAdminPageAndAPIShareOneOrigin checks what a browser gets: the page at "/" with
// a strict content security policy, its modules as JavaScript, and JSON errors for
// anything unknown under /v1/.
func TestAdminPageAndAPIShareOneOrigin(t *testing.T) {
	e := start(t)
	page := newClient(e.main.URL(), "")
	r := page.Do(t, "GET", "/", nil)
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(r.Body), "Messenger Settings") {
		t.Fatalf("GET /: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("GET /: Content-Security-Policy %q", csp)
	}
	if js := page.Do(t, "GET", "/app.js", nil); js.Status != 200 || !strings.Contains(js.Header.Get("Content-Type"), "javascript") {
		t.Errorf("GET /app.js: %d %s", js.Status, js.Header.Get("Content-Type"))
	}
	if r := page.Do(t, "POST", "/", "x"); r.Status != 405 {
		t.Errorf("POST /: %d, want 405", r.Status)
	}
	if r := page.Do(t, "GET", "/v1/no-such-thing", nil); r.Status != 404 || r.ErrorCode() != "not_found" {
		t.Errorf("GET /v1/no-such-thing: %s, want a JSON 404", r)
	}
	var openapi map[string]any
	page.MustJSON(t, "GET", "/v1/openapi.json", nil, 200, &openapi)
	if openapi["openapi"] == nil {
		t.Errorf("openapi.json has no version")
	}
}

// TestDiagnosticsCheckTheSimulator reads the report of the diagnostics run at start
// and runs them again on request: in simulator mode they reach the simulator's
// WebSocket, and the TLS check is skipped because that path has no TLS.
func TestDiagnosticsCheckTheSimulator(t *testing.T) {
	e := start(t)
	var first core.Report
	apitest.Eventually(t, eventTimeout, "the start diagnostics report", func() (bool, string) {
		r := e.api.Do(t, "GET", "/v1/diagnostics", nil)
		if r.Status == 200 {
			r.Decode(t, &first)
		}
		return r.Status == 200, r.String()
	})
	if first.Reason != "start" || len(first.Checks) == 0 {
		t.Errorf("start report: reason %q with %d checks", first.Reason, len(first.Checks))
	}
	var rep core.Report
	e.api.MustJSON(t, "POST", "/v1/diagnostics", nil, 200, &rep)
	if rep.Reason != "request" || rep.ID == first.ID {
		t.Errorf("requested report: reason %q id %s", rep.Reason, rep.ID)
	}
	found := map[core.CheckKind]core.Check{}
	for _, c := range rep.Checks {
		found[c.Kind] = c
	}
	if tls := found[core.CheckTLS]; tls.Outcome != core.OutcomeSkipped {
		t.Errorf("tls check: %+v, want skipped in simulator mode", tls)
	}
	var latest core.Report
	e.api.MustJSON(t, "GET", "/v1/diagnostics", nil, 200, &latest)
	if latest.ID != rep.ID {
		t.Errorf("GET /v1/diagnostics serves %s, want the latest report %s", latest.ID, rep.ID)
	}
	if a := found[core.CheckDNSA]; a.Outcome != core.OutcomeOK {
		t.Errorf("dns_a check of the simulator address: %+v, want ok", a)
	}
	if ws := found[core.CheckWebSocket]; ws.Outcome != core.OutcomeOK || !strings.Contains(ws.Target, e.sim.Addr) {
		t.Errorf("websocket check: %+v, want ok against the simulator", ws)
	}
	if !rep.OK {
		t.Errorf("report not ok against a running simulator: %+v", rep.Checks)
	}
}
