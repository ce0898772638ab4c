package manager_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wagate/wagate/connector/diag"
	"github.com/wagate/wagate/connector/netdial/netdialtest"
	"github.com/wagate/wagate/connector/session"
	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/metrics"
	"github.com/wagate/wagate/functions/webhook"
	"github.com/wagate/wagate/wasim/server"
	"github.com/wagate/wagate/wasim/simtest"
)

// These tests drive real flows (a simulator, the manager, memstate and membus) and
// read what the connector emits as an on-call engineer would: EMF lines checked
// against the specification by metrics.Recorder, and JSON log lines.

// fieldsOnEveryLine are the fields every session log line carries.
var fieldsOnEveryLine = []string{"event", "session", "tenant"}

func TestObservedLinkSendReceive(t *testing.T) {
	h := newHarness(t)
	o := h.startObserved(h.config("c1"), observeOptions{})
	alice := h.phone("15550001111", "Alice")
	bob := h.phone("15550002222", "Bob")
	s := h.link("main", alice)
	key := s.Key()

	o.waitMetric(metrics.QRIssued, 1)
	o.waitMetric(metrics.QRScanned, 1)
	o.waitMetric(metrics.Connects, 1)
	o.waitMetric(metrics.Heartbeats, 1)
	o.waitGauge(metrics.Sessions, 1, metrics.D(metrics.DimStatus, "connected"))
	o.waitGauge(metrics.Sessions, 0, metrics.D(metrics.DimStatus, "reconnecting"))
	// The heartbeat reports the outcome of the latest diagnostics run once there is one.
	h.command(core.CmdDiagnostics, core.SessionKey{Tenant: tenant}, nil)
	o.waitGauge(metrics.DiagnosticsFailing, 0)

	if _, err := h.sim.Control.SendMessage(ctxT(t), bob.Phone, alice.Phone, "hi from Bob"); err != nil {
		t.Fatal(err)
	}
	o.waitMetric(metrics.MessagesReceived, 1)

	p := h.queueMessage(key, bob.JID, "hello Bob")
	h.command(core.CmdSendMessage, key, p)
	h.waitMessage(key, p.MessageID, core.MessageSent)
	o.waitMetric(metrics.MessagesSent, 1)
	if lat := o.rec.Values(metrics.SendLatency); len(lat) != 1 || lat[0] <= 0 {
		t.Errorf("send latency values %v, want one positive value", lat)
	}

	bad := h.queueMessage(key, "not a phone", "never sent")
	h.command(core.CmdSendMessage, key, bad)
	h.waitMessage(key, bad.MessageID, core.MessageFailed)
	o.waitMetric(metrics.MessagesFailed, 1)
	if got := o.rec.Sum(metrics.MessagesSent); got != 1 {
		t.Errorf("messages sent %v after a failed send, want still 1", got)
	}

	for _, typ := range []core.CommandType{core.CmdConnect, core.CmdSendMessage} {
		ages := o.rec.Values(metrics.CommandAge, metrics.D(metrics.DimCommand, string(typ)))
		if len(ages) == 0 || slices.Min(ages) < 0 || slices.Max(ages) > (2*waitFor).Seconds()*1000 {
			t.Errorf("command age of %s: %v ms, want values between 0 and the test's length", typ, ages)
		}
	}

	// The log lines name the session and mask the phone number.
	connected := o.waitLog("session_connected", map[string]any{"session": "main", "tenant": tenant, "outcome": "ok"})
	jid, _ := connected["jid"].(string)
	if !strings.Contains(jid, alice.Phone[len(alice.Phone)-4:]) || strings.Contains(jid, alice.Phone) {
		t.Errorf("session_connected jid %q: want the phone masked to its last 4 digits", jid)
	}
	sent := o.waitLog("message_sent", map[string]any{"session": "main", "message_id": p.MessageID, "outcome": "ok"})
	if _, ok := sent["duration_ms"].(float64); !ok {
		t.Errorf("message_sent without duration_ms: %v", sent)
	}
	o.waitLog("message_received", map[string]any{"session": "main", "outcome": "ok"})
	done := o.waitLog("command_done", map[string]any{"session": "main", "command": string(core.CmdSendMessage)})
	if done["command_id"] == nil || done["duration_ms"] == nil {
		t.Errorf("command_done without command_id or duration_ms: %v", done)
	}
	for _, l := range o.logs.lines(t) {
		if l["session"] == nil {
			continue
		}
		for _, f := range fieldsOnEveryLine {
			if _, ok := l[f]; !ok {
				t.Errorf("session log line without %s: %v", f, l)
			}
		}
		if raw := fmt.Sprint(l); strings.Contains(raw, alice.Phone) || strings.Contains(raw, bob.Phone) {
			t.Errorf("a log line carries a full phone number: %v", l)
		}
	}
	checkDimensions(t, o.rec)
}

// checkDimensions fails on any sample whose dimensions are not the ones its metric
// declares (a session id must never become a dimension).
func checkDimensions(t *testing.T, rec *metrics.Recorder) {
	t.Helper()
	for _, s := range rec.Samples() {
		if s.Namespace != metrics.Namespace {
			t.Errorf("%s in namespace %q", s.Name, s.Namespace)
		}
		def, ok := metrics.Lookup(s.Name)
		if !ok {
			t.Errorf("metric %s is not declared in core/metrics", s.Name)
			continue
		}
		var keys []string
		for k := range s.Dims {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		want := slices.Sorted(slices.Values(def.Dims))
		if !slices.Equal(keys, want) {
			t.Errorf("%s emitted with dimensions %v, declared %v", s.Name, keys, want)
		}
		if s.Unit != def.Unit {
			t.Errorf("%s emitted with unit %q, declared %q", s.Name, s.Unit, def.Unit)
		}
	}
}

// sumAll sums a metric over every value of its dimensions.
func sumAll(rec *metrics.Recorder, name string) float64 {
	var n float64
	for _, s := range rec.Samples() {
		if s.Name == name {
			for _, v := range s.Values {
				n += v
			}
		}
	}
	return n
}

func TestObservedFaults(t *testing.T) {
	reason := func(r string) metrics.Dim { return metrics.D(metrics.DimReason, r) }
	status := func(s string) metrics.Dim { return metrics.D(metrics.DimStatus, s) }
	tests := []struct {
		name  string
		fault server.Fault
		// fatal is the FatalEvents reason (and the Sessions status) of a fatal fault.
		fatal string
		// reconnect is the ReconnectAttempts reason of a transient fault.
		reconnect string
		// event and fields are the log line that says what happened.
		event  string
		fields map[string]any
	}{
		{"stream_replaced", server.Fault{Kind: server.FaultStreamReplaced}, "replaced", "",
			"session_stopped", map[string]any{"status": "replaced", "code": session.CodeReplaced, "outcome": "fail"}},
		{"device_removed", server.Fault{Kind: server.FaultDeviceRemoved}, "logged_out", "",
			"session_stopped", map[string]any{"status": "logged_out", "code": session.CodeLoggedOut, "outcome": "fail"}},
		{"client_outdated", server.Fault{Kind: server.FaultClientOutdated}, "outdated", "",
			"session_client_outdated", map[string]any{"status": "outdated", "code": session.CodeOutdated, "outcome": "fail"}},
		{"temp_ban", server.Fault{Kind: server.FaultTempBan, Seconds: 5}, "banned", "",
			"session_stopped", map[string]any{"status": "banned", "code": session.CodeBanned, "outcome": "fail"}},
		{"service_unavailable", server.Fault{Kind: server.FaultServiceUnavailable, Seconds: 2}, "", session.CodeDisconnected,
			"session_reconnecting", map[string]any{"outcome": "retry", "attempt": 1}},
		{"drop", server.Fault{Kind: server.FaultDrop}, "", session.CodeDisconnected,
			"session_reconnecting", map[string]any{"code": session.CodeDisconnected, "outcome": "retry", "attempt": 1}},
		{"stall", server.Fault{Kind: server.FaultStall, Seconds: 30}, "", session.CodeKeepAliveTimeout,
			"session_reconnecting", map[string]any{"code": session.CodeKeepAliveTimeout, "outcome": "retry", "attempt": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			o := h.startObserved(h.config("c1"), observeOptions{})
			linked := h.link("main", h.phone("15550001111", "Alice"))
			o.waitMetric(metrics.Connects, 1)
			if err := h.sim.Control.Fault(ctxT(t), linked.JID, tt.fault); err != nil {
				t.Fatalf("inject %s: %v", tt.fault.Kind, err)
			}
			line := o.waitLog(tt.event, tt.fields)
			if line["session"] != "main" || line["tenant"] != tenant {
				t.Errorf("%s line without the session: %v", tt.event, line)
			}
			specs := []metricSpec{sum(metrics.Connects), gauge(metrics.Sessions, status("connected"))}
			switch {
			case tt.fatal != "":
				o.waitMetric(metrics.FatalEvents, 1, reason(tt.fatal))
				o.waitGauge(metrics.Sessions, 1, status(tt.fatal))
				o.waitGauge(metrics.Sessions, 0, status("connected"))
				// A stream error ends the session at once: never fight another holder or
				// an unlinked device. (Outdated and banned come as a closed socket first,
				// then a refused login.)
				if n := sumAll(o.rec, metrics.ReconnectAttempts); n != 0 && (tt.fatal == "replaced" || tt.fatal == "logged_out") {
					t.Errorf("%v reconnect attempts after a fatal %s", n, tt.fatal)
				}
				specs = append(specs, sum(metrics.FatalEvents, reason(tt.fatal)), gauge(metrics.Sessions, status(tt.fatal)),
					sum(metrics.ReconnectAttempts, reason(session.CodeDisconnected)))
				if tt.fatal == "banned" {
					// What on-call sees during the ban; then it expires and the session
					// connects again on its own.
					o.walkthrough(tt.name+" (during the ban)", walkthroughEvents, o.sums(specs...))
					o.waitMetric(metrics.Connects, 2)
					o.waitGauge(metrics.Sessions, 1, status("connected"))
				}
			default:
				if _, ok := line["retry_in"].(string); !ok {
					t.Errorf("session_reconnecting without a readable retry_in: %v", line)
				}
				o.waitMetric(metrics.ReconnectAttempts, 1, reason(tt.reconnect))
				o.waitMetric(metrics.Connects, 2)
				o.waitGauge(metrics.Sessions, 1, status("connected"))
				if n := sumAll(o.rec, metrics.FatalEvents); n != 0 {
					t.Errorf("%v fatal events after a transient %s", n, tt.fault.Kind)
				}
				specs = append(specs, sum(metrics.ReconnectAttempts, reason(tt.reconnect)))
			}
			checkDimensions(t, o.rec)
			o.walkthrough(tt.name, walkthroughEvents, o.sums(specs...))
		})
	}
}

// walkthroughEvents are the log events the runbook's fault walk-through shows.
var walkthroughEvents = []string{
	"session_connected", "session_reconnecting", "session_connect_failed", "session_stopped",
	"session_client_outdated", "session_keepalive_missed", "session_connecting",
	"diagnostics_check", "diagnostics_report", "lease_taking_over", "lease_taken",
}

func TestObservedQRTimeout(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	o := h.startObserved(h.config("c1"), observeOptions{})
	key := h.createSession("main")
	h.command(core.CmdConnect, key, nil)
	h.waitQR(key)
	// Nobody scans: whatsmeow shows six codes (60 s, then 20 s each), then gives up.
	const qrWindow = 60*time.Second + 5*20*time.Second
	deadline := time.Now().Add(qrWindow + waitFor)
	for {
		s, err := h.state.GetSession(ctxT(t), key)
		if err != nil {
			t.Fatal(err)
		}
		if s.Status == core.StatusDisconnected {
			if s.LastError == nil || s.LastError.Code != session.CodeQRTimeout {
				t.Fatalf("after the QR codes ran out: %s; want lastError qr_timeout", describe(s))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no qr_timeout within %v: %s", qrWindow+waitFor, describe(s))
		}
		o.flush() // as the connector's periodic flush does: the emitter's buffer is bounded
		time.Sleep(200 * time.Millisecond)
	}
	o.waitMetric(metrics.QRTimeouts, 1)
	if got := o.rec.Sum(metrics.QRIssued); got != 6 {
		t.Errorf("QR codes issued %v, want the 6 whatsmeow shows", got)
	}
	if got := sumAll(o.rec, metrics.FatalEvents); got != 0 {
		t.Errorf("a QR timeout counted as %v fatal events; it is not fatal", got)
	}
	o.waitLog("session_stopped", map[string]any{"session": "main", "status": "disconnected", "code": session.CodeQRTimeout})
	checkDimensions(t, o.rec)
}

func TestObservedDNSFailure(t *testing.T) {
	h := newHarness(t)
	resolver := netdialtest.NoNetworkResolver(t)
	o := h.startObserved(h.config("c1"), observeOptions{
		diagnose: func(ctx context.Context, m metrics.Emitter, log *slog.Logger) core.Report {
			r := &diag.Runner{ConnectorID: "c1", Resolver: resolver, Metrics: m, Logger: log,
				Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
					d := net.Dialer{Resolver: resolver}
					return d.DialContext(ctx, network, addr)
				}}
			return r.Run(ctx, "request")
		},
	})
	h.command(core.CmdDiagnostics, core.SessionKey{Tenant: tenant}, nil)

	o.waitMetric(metrics.DiagnosticsRuns, 1, metrics.D(metrics.DimOutcome, "fail"))
	hosts := len(diag.DefaultTargets().Hosts)
	o.waitMetric(metrics.DiagnosticsCheckFailures, float64(hosts), metrics.D(metrics.DimCheck, "dns_a"))
	o.waitGauge(metrics.DiagnosticsFailing, 1)
	o.waitLog("diagnostics_check", map[string]any{"check": "dns_a", "outcome": "fail", "target": "web.whatsapp.com"})
	o.waitLog("diagnostics_report", map[string]any{"outcome": "fail"})
	eventually(t, "a heartbeat with diagnosticsOk false", func() string {
		hbs, err := h.state.ListHeartbeats(ctxT(t), time.Now().Add(-time.Minute))
		if err != nil {
			return err.Error()
		}
		for _, hb := range hbs {
			if hb.ConnectorID == "c1" && hb.DiagnosticsOK != nil && !*hb.DiagnosticsOK {
				return ""
			}
		}
		return fmt.Sprintf("%+v", hbs)
	})
	checkDimensions(t, o.rec)
	o.walkthrough("dns_failure", walkthroughEvents, o.sums(
		sum(metrics.DiagnosticsRuns, metrics.D(metrics.DimOutcome, "fail")),
		sum(metrics.DiagnosticsCheckFailures, metrics.D(metrics.DimCheck, "dns_a")),
		sum(metrics.DiagnosticsCheckFailures, metrics.D(metrics.DimCheck, "websocket")),
		gauge(metrics.DiagnosticsFailing),
	))
}

func TestObservedLeaseTakeover(t *testing.T) {
	h := newHarness(t)
	key := h.createSession("main")
	// A connector took the lease and crashed: it never renews or releases it.
	if _, err := h.state.TakeLease(ctxT(t), key, "crashed-connector", time.Second, 0); err != nil {
		t.Fatal(err)
	}
	o := h.startObserved(h.config("c1"), observeOptions{})
	h.command(core.CmdConnect, key, nil)
	h.waitStatus(key, core.StatusQR)
	o.waitMetric(metrics.LeaseTakeovers, 1)
	o.waitLog("lease_taking_over", map[string]any{"session": "main", "holder": "crashed-connector"})
	checkDimensions(t, o.rec)
}

func TestObservedUnusableNetworkSettingsFail(t *testing.T) {
	h := newHarness(t)
	errProxy := errors.New("proxy refused the connection")
	o := h.startObserved(h.config("c1"), observeOptions{
		httpClient: func(s core.Settings) (*http.Client, error) {
			if s.ProxyURL != "" {
				return nil, errProxy
			}
			return simtest.HTTPClient(h.sim.Addr), nil
		},
	})
	key := h.createSession("main")
	if _, err := h.state.UpdateSession(ctxT(t), key, func(s *core.Session) error {
		s.Settings.ProxyURL = "socks5://127.0.0.1:1080"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	h.command(core.CmdConnect, key, nil)
	h.waitStatus(key, core.StatusFailed)
	o.waitMetric(metrics.FatalEvents, 1, metrics.D(metrics.DimReason, "failed"))
	o.waitLog("session_stopped", map[string]any{"status": "failed", "code": session.CodeNetworkSettings})
	checkDimensions(t, o.rec)
}

func TestObservedWebhooks(t *testing.T) {
	h := newHarness(t)
	o := h.startObserved(h.config("c1"), observeOptions{})
	var failing atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	deliverer, err := webhook.New(webhook.Options{Secret: []byte("0123456789abcdef0123456789abcdef"), AllowPrivate: true, AllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	notifier := &webhook.Notifier{Sessions: h.state, Sender: deliverer, Metrics: o.emf}
	// The events the connector publishes go to the webhook, as the events consumer
	// does with the events queue.
	events, stop := h.bus.SubscribeEvents(tenant, 1000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range events {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, _ = notifier.Notify(ctx, e)
			cancel()
		}
	}()
	t.Cleanup(func() { stop(); <-done })

	key := h.createSession("main")
	if _, err := h.state.UpdateSession(ctxT(t), key, func(s *core.Session) error {
		s.Settings.WebhookURL = srv.URL + "/hook"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	h.command(core.CmdConnect, key, nil)
	h.waitStatus(key, core.StatusQR)
	o.waitMetric(metrics.WebhookDeliveries, 1)

	failing.Store(true)
	h.command(core.CmdDisconnect, key, nil)
	h.waitStatus(key, core.StatusDisconnected)
	o.waitMetric(metrics.WebhookFailures, 1)
	checkDimensions(t, o.rec)
}

// TestObservedCoversEveryMetric keeps the tests of this file in step with
// core/metrics: every declared metric must be asserted on (waitMetric, waitGauge,
// Values, Sum or Last) by one of the observed flows above.
func TestObservedCoversEveryMetric(t *testing.T) {
	src, err := os.ReadFile("metrics_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range metrics.Definitions() {
		asserted := regexp.MustCompile(`\b(waitMetric|waitGauge|Values|Sum|Last)\(metrics\.` + d.Name + `\b`)
		if !asserted.Match(src) {
			t.Errorf("metric %s is not asserted by any observed flow in metrics_test.go", d.Name)
		}
	}
}
