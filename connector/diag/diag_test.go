package diag_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/connector/diag"
	"github.com/wagate/wagate/connector/netdial/netdialtest"
	"github.com/wagate/wagate/core"
)

// sanityTimeout bounds a whole run in these tests; it is a safety net, not a goal.
const sanityTimeout = 10 * time.Second

var (
	v4 = netip.MustParseAddr("127.0.0.1")
	v6 = netip.MustParseAddr("::1")
)

// dualDNS resolves web and edge to both loopbacks and mmg to IPv4 only.
func dualDNS(t *testing.T) *netdialtest.DNSServer {
	return netdialtest.StartDNS(t, map[string][]netip.Addr{
		"web.wagate.test":  {v4, v6},
		"edge.wagate.test": {v4, v6},
		"mmg.wagate.test":  {v4},
	})
}

// run runs r within sanityTimeout and fails the test if it takes longer.
func run(t *testing.T, r *diag.Runner) core.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*sanityTimeout)
	defer cancel()
	start := time.Now()
	rep := r.Run(ctx, "request")
	if d := time.Since(start); d > sanityTimeout {
		t.Fatalf("Run took %s, want well under %s", d, sanityTimeout)
	}
	return rep
}

// find returns the check of kind on target (a host, host:port or URL prefix).
func find(t *testing.T, rep core.Report, kind core.CheckKind, target string) core.Check {
	t.Helper()
	for _, c := range rep.Checks {
		if c.Kind == kind && strings.HasPrefix(c.Target, target) {
			return c
		}
	}
	t.Fatalf("no %s check for %s in %+v", kind, target, rep.Checks)
	return core.Check{}
}

// want asserts a check's outcome, address and advice.
func want(t *testing.T, c core.Check, outcome core.Outcome, address, advice string) {
	t.Helper()
	if c.Outcome != outcome || c.Address != address || c.Advice != advice {
		t.Errorf("%s %s = {outcome %s, address %q, advice %q, error %q}, want {%s, %q, %q}",
			c.Kind, c.Target, c.Outcome, c.Address, c.Advice, c.Error, outcome, address, advice)
	}
	if outcome == core.OutcomeFail && c.Error == "" {
		t.Errorf("%s %s failed without an error", c.Kind, c.Target)
	}
}

// eventually polls cond until it holds or sanityTimeout passes.
func eventually(cond func() bool) bool {
	deadline := time.Now().Add(sanityTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// logBuffer collects JSON log lines; safe for the concurrent checks.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestRunAllChecksPass(t *testing.T) {
	srv := startWAServer(t, true)
	logs := &logBuffer{}
	r := &diag.Runner{
		Targets:     diag.Targets{Hosts: testHosts, Port: srv.port, WebSocketURL: "wss://web.wagate.test:" + srv.port + "/ws/chat"},
		ConnectorID: "c1",
		Resolver:    dualDNS(t).Resolver(),
		TLSConfig:   &tls.Config{RootCAs: srv.roots},
		Logger:      slog.New(slog.NewJSONHandler(logs, nil)),
	}
	rep := run(t, r)

	if !rep.OK {
		t.Errorf("report not OK: %+v", rep.Checks)
	}
	if len(rep.Checks) != 3*5+1 {
		t.Errorf("%d checks, want 16 (5 per host and the websocket)", len(rep.Checks))
	}
	if len(rep.ID) != 32 || rep.Reason != "request" || rep.Connector != "c1" || rep.FinishedAt.Before(rep.StartedAt) {
		t.Errorf("report header = id %q reason %q connector %q %s..%s", rep.ID, rep.Reason, rep.Connector, rep.StartedAt, rep.FinishedAt)
	}
	hp := func(ip string) string { return net.JoinHostPort(ip, srv.port) }
	for _, h := range []string{"web.wagate.test", "edge.wagate.test"} {
		want(t, find(t, rep, core.CheckDNSA, h), core.OutcomeOK, "127.0.0.1", "")
		want(t, find(t, rep, core.CheckDNSAAAA, h), core.OutcomeOK, "::1", "")
		want(t, find(t, rep, core.CheckTCP4, h), core.OutcomeOK, hp("127.0.0.1"), "")
		want(t, find(t, rep, core.CheckTCP6, h), core.OutcomeOK, hp("::1"), "")
		want(t, find(t, rep, core.CheckTLS, h), core.OutcomeOK, hp("127.0.0.1"), "")
	}
	want(t, find(t, rep, core.CheckDNSAAAA, "mmg.wagate.test"), core.OutcomeOK, "", diag.AdviceNoIPv6)
	want(t, find(t, rep, core.CheckTCP6, "mmg.wagate.test"), core.OutcomeSkipped, "", "")
	want(t, find(t, rep, core.CheckTLS, "mmg.wagate.test"), core.OutcomeOK, hp("127.0.0.1"), "")
	ws := find(t, rep, core.CheckWebSocket, "wss://")
	if ws.Outcome != core.OutcomeOK || ws.Address == "" {
		t.Errorf("websocket = %+v, want ok with an address", ws)
	}
	// The server counts after its 101 is written, so the count may trail the report.
	if !eventually(func() bool { return srv.upgradeCount() == 1 }) {
		t.Errorf("server upgraded %d websockets, want 1", srv.upgradeCount())
	}

	var checks, summaries int
	for _, l := range logs.lines(t) {
		switch l["event"] {
		case "diagnostics_check":
			checks++
			for _, k := range []string{"outcome", "check", "target", "duration_ms", "report_id"} {
				if _, ok := l[k]; !ok {
					t.Errorf("check log line without %s: %v", k, l)
				}
			}
		case "diagnostics_report":
			summaries++
			if l["outcome"] != "ok" || l["report_id"] != rep.ID || l["checks"] != float64(16) {
				t.Errorf("summary line = %v", l)
			}
		}
	}
	if checks != 16 || summaries != 1 {
		t.Errorf("logged %d check lines and %d summaries, want 16 and 1", checks, summaries)
	}
}

func TestRunWithoutNetworkReturnsFast(t *testing.T) {
	dialed := make(chan string, 32)
	resolver := netdialtest.NoNetworkResolver(t)
	r := &diag.Runner{
		Targets:  diag.Targets{Hosts: testHosts, Port: "443", WebSocketURL: "wss://chat.wagate.test/ws/chat"},
		Resolver: resolver,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dialed <- addr
			d := net.Dialer{Resolver: resolver}
			return d.DialContext(ctx, network, addr)
		},
	}
	rep := run(t, r)

	if rep.OK {
		t.Error("report OK without network")
	}
	for _, h := range testHosts {
		want(t, find(t, rep, core.CheckDNSA, h), core.OutcomeFail, "", diag.AdviceDNS)
		want(t, find(t, rep, core.CheckTCP4, h), core.OutcomeSkipped, "", "")
		want(t, find(t, rep, core.CheckTCP6, h), core.OutcomeSkipped, "", "")
		want(t, find(t, rep, core.CheckTLS, h), core.OutcomeSkipped, "", "")
	}
	// The websocket host is not among the checked hosts, so the check runs and fails.
	want(t, find(t, rep, core.CheckWebSocket, "wss://"), core.OutcomeFail, "", diag.AdviceDNS)
	if len(dialed) != 1 {
		t.Errorf("dialed %d times, want only the websocket's dial", len(dialed))
	}
}

func TestRunUntrustedCertificate(t *testing.T) {
	srv := startWAServer(t, false)
	r := &diag.Runner{
		Targets:   diag.Targets{Hosts: testHosts[:1], Port: srv.port, WebSocketURL: "wss://web.wagate.test:" + srv.port + "/ws/chat"},
		Resolver:  netdialtest.StartDNS(t, map[string][]netip.Addr{"web.wagate.test": {v4}}).Resolver(),
		TLSConfig: &tls.Config{RootCAs: x509.NewCertPool()}, // trusts nothing
	}
	rep := run(t, r)

	if rep.OK {
		t.Error("report OK with an untrusted certificate")
	}
	want(t, find(t, rep, core.CheckTCP4, "web.wagate.test"), core.OutcomeOK, "127.0.0.1:"+srv.port, "")
	tlsCheck := find(t, rep, core.CheckTLS, "web.wagate.test")
	want(t, tlsCheck, core.OutcomeFail, "127.0.0.1:"+srv.port, diag.AdviceTLS)
	if !strings.Contains(tlsCheck.Error, "certificate") {
		t.Errorf("tls error %q does not mention the certificate", tlsCheck.Error)
	}
	want(t, find(t, rep, core.CheckWebSocket, "wss://"), core.OutcomeSkipped, "", "")
	if srv.upgradeCount() != 0 {
		t.Error("the websocket upgrade ran after TLS failed")
	}
}

func TestRunClosedPort(t *testing.T) {
	_, port, _ := net.SplitHostPort(netdialtest.ClosedPort(t, "tcp"))
	r := &diag.Runner{
		Targets:  diag.Targets{Hosts: testHosts[:1], Port: port, WebSocketURL: "wss://web.wagate.test:" + port + "/ws/chat"},
		Resolver: netdialtest.StartDNS(t, map[string][]netip.Addr{"web.wagate.test": {v4}}).Resolver(),
	}
	rep := run(t, r)

	if rep.OK {
		t.Error("report OK with the port closed")
	}
	want(t, find(t, rep, core.CheckTCP4, "web.wagate.test"), core.OutcomeFail, "127.0.0.1:"+port, diag.AdviceTCP)
	want(t, find(t, rep, core.CheckTLS, "web.wagate.test"), core.OutcomeSkipped, "", "")
	want(t, find(t, rep, core.CheckWebSocket, "wss://"), core.OutcomeSkipped, "", "")
}

func TestRunIPv6FailureKeepsReportOK(t *testing.T) {
	srv := startWAServer(t, false) // IPv4 only, while DNS also answers ::1
	r := &diag.Runner{
		Targets:   diag.Targets{Hosts: testHosts[:1], Port: srv.port, WebSocketURL: "wss://web.wagate.test:" + srv.port + "/ws/chat"},
		Resolver:  netdialtest.StartDNS(t, map[string][]netip.Addr{"web.wagate.test": {v6, v4}}).Resolver(),
		TLSConfig: &tls.Config{RootCAs: srv.roots},
	}
	rep := run(t, r)

	want(t, find(t, rep, core.CheckTCP6, "web.wagate.test"), core.OutcomeFail, "[::1]:"+srv.port, diag.AdviceTCP)
	want(t, find(t, rep, core.CheckTLS, "web.wagate.test"), core.OutcomeOK, "127.0.0.1:"+srv.port, "")
	if !rep.OK {
		t.Errorf("report not OK although only IPv6 failed: %+v", rep.Checks)
	}
}

func TestRunWebSocketRefused(t *testing.T) {
	srv := startWAServer(t, false)
	r := &diag.Runner{
		Targets:   diag.Targets{Hosts: testHosts[:1], Port: srv.port, WebSocketURL: "wss://web.wagate.test:" + srv.port + "/ws/elsewhere"},
		Resolver:  netdialtest.StartDNS(t, map[string][]netip.Addr{"web.wagate.test": {v4}}).Resolver(),
		TLSConfig: &tls.Config{RootCAs: srv.roots},
	}
	rep := run(t, r)

	ws := find(t, rep, core.CheckWebSocket, "wss://")
	want(t, ws, core.OutcomeFail, "127.0.0.1:"+srv.port, diag.AdviceWebSocket)
	if !strings.Contains(ws.Error, "404") {
		t.Errorf("websocket error %q does not give the status", ws.Error)
	}
	if rep.OK {
		t.Error("report OK with the websocket refused")
	}
}

func TestRunTimesOutASilentServer(t *testing.T) {
	port := startSilent(t)
	timeout := 300 * time.Millisecond
	r := &diag.Runner{
		Targets:      diag.Targets{Hosts: testHosts[:1], Port: port, WebSocketURL: "ws://web.wagate.test:" + port + "/ws/chat"},
		Resolver:     netdialtest.StartDNS(t, map[string][]netip.Addr{"web.wagate.test": {v4}}).Resolver(),
		CheckTimeout: timeout,
	}
	rep := run(t, r)

	wantErr := fmt.Sprintf("timed out after %s", timeout)
	for _, kind := range []core.CheckKind{core.CheckTLS, core.CheckWebSocket} {
		c := find(t, rep, kind, "")
		if c.Outcome != core.OutcomeFail || c.Error != wantErr {
			t.Errorf("%s = %s %q, want fail %q", kind, c.Outcome, c.Error, wantErr)
		}
	}
}

// An IP address as the target (the simulator, or a pinned edge address) needs no DNS:
// the A check passes with the literal, AAAA is skipped, and TCP/TLS go to it.
func TestRunIPLiteralTarget(t *testing.T) {
	srv := startWAServer(t, false)
	r := &diag.Runner{
		Targets:   diag.Targets{Hosts: []string{"127.0.0.1"}, Port: srv.port, WebSocketURL: "wss://127.0.0.1:" + srv.port + "/ws/chat"},
		Resolver:  netdialtest.NoNetworkResolver(t),
		TLSConfig: &tls.Config{RootCAs: srv.roots},
	}
	rep := run(t, r)

	if !rep.OK {
		t.Errorf("report not OK for a reachable IP literal: %+v", rep.Checks)
	}
	want(t, find(t, rep, core.CheckDNSA, "127.0.0.1"), core.OutcomeOK, "127.0.0.1", "")
	want(t, find(t, rep, core.CheckDNSAAAA, "127.0.0.1"), core.OutcomeSkipped, "", "")
	want(t, find(t, rep, core.CheckTCP4, "127.0.0.1"), core.OutcomeOK, net.JoinHostPort("127.0.0.1", srv.port), "")
	want(t, find(t, rep, core.CheckTLS, "127.0.0.1"), core.OutcomeOK, net.JoinHostPort("127.0.0.1", srv.port), "")
	if ws := find(t, rep, core.CheckWebSocket, "wss://"); ws.Outcome != core.OutcomeOK {
		t.Errorf("websocket = %+v, want ok", ws)
	}
}
