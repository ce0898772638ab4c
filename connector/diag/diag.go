// Package diag runs the connector's network diagnostics: DNS A and AAAA, TCP over IPv4
// and IPv6, TLS and a WebSocket upgrade towards WhatsApp, each check with a hard timeout,
// so an admin can see why a session cannot connect. Run never hangs: with no network
// every check fails fast and the report still comes back.
package diag

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/metrics"
)

// MaxCheckTimeout is the longest any single check may take.
const MaxCheckTimeout = 5 * time.Second

// Advice shown with failed checks.
const (
	AdviceDNS       = "DNS lookup failed: check the resolver, or set preferIPv4 / a proxy"
	AdviceTCP       = "outbound 443 blocked? try preferIPv4 or a proxy"
	AdviceTLS       = "TLS intercepted or blocked: check proxies / firewall"
	AdviceWebSocket = "WebSocket upgrade refused: a proxy may strip Upgrade headers"
	AdviceNoIPv6    = "no IPv6 records"
)

// Origin is the Origin header of the WebSocket upgrade, as WhatsApp Web sends it.
const Origin = "https://web.whatsapp.com"

// Targets are what the diagnostics test; tests point them at loopback servers.
type Targets struct {
	// Hosts get the DNS, TCP and TLS checks.
	Hosts []string
	// Port is the TCP port of the TCP and TLS checks.
	Port string
	// WebSocketURL gets the WebSocket upgrade check (wss:// or ws://).
	WebSocketURL string
}

// DefaultTargets returns WhatsApp's web, edge and media hosts on port 443 and the
// WhatsApp Web chat socket.
func DefaultTargets() Targets {
	return Targets{
		Hosts:        []string{"web.whatsapp.com", "edge.whatsapp.com", "mmg.whatsapp.net"},
		Port:         "443",
		WebSocketURL: "wss://web.whatsapp.com/ws/chat",
	}
}

// Runner runs diagnostics. The zero value runs DefaultTargets with the system resolver;
// every field is optional. A Runner is safe for concurrent use once set up.
type Runner struct {
	// Targets are the hosts and URL to check; empty fields take DefaultTargets' values.
	Targets
	// ConnectorID fills Report.Connector.
	ConnectorID string
	// Resolver resolves the hosts; nil means net.DefaultResolver.
	Resolver *net.Resolver
	// Dialer dials TCP (e.g. a session's netdial.Dialer.DialContext, to check its proxy);
	// nil means a plain net.Dialer.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLSConfig verifies servers in the TLS and WebSocket checks (tests trust a local CA
	// with it); nil verifies against the system roots. ServerName is set per host.
	TLSConfig *tls.Config
	// CheckTimeout bounds each check; zero or more than MaxCheckTimeout means MaxCheckTimeout.
	CheckTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger gets one line per check (event=diagnostics_check) and a summary
	// (event=diagnostics_report); nil discards them.
	Logger *slog.Logger
	// Metrics gets, per run, DiagnosticsRuns by outcome and DiagnosticsCheckFailures
	// by check; nil records nothing.
	Metrics metrics.Emitter
}

// run is one Run of a Runner with its defaults filled in.
type run struct {
	r        *Runner
	targets  Targets
	resolver *net.Resolver
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	timeout  time.Duration
	now      func() time.Time
	log      *slog.Logger
}

// hostState is what the websocket check needs to know about a host's checks.
type hostState struct {
	tcpOK bool
	tlsOK bool
}

// Run runs every check and returns the report; reason is "start" or "request".
// Checks that do not depend on each other run in parallel, each bounded by CheckTimeout;
// cancelling ctx ends them early (they fail). Report.OK is true when every check that ran
// succeeded, IPv6 checks (dns_aaaa, tcp6) excepted: IPv6 is optional, so its failures are
// reported without failing the run.
func (r *Runner) Run(ctx context.Context, reason string) core.Report {
	x := r.prepare()
	rep := core.Report{ID: core.NewID(), Connector: r.ConnectorID, Reason: reason, StartedAt: x.now().UTC()}
	x.log = x.log.With(slog.String("report_id", rep.ID), slog.String("reason", reason))

	perHost := make([][]core.Check, len(x.targets.Hosts))
	states := make([]hostState, len(x.targets.Hosts))
	var wg sync.WaitGroup
	for i, host := range x.targets.Hosts {
		wg.Go(func() { perHost[i], states[i] = x.host(ctx, host) })
	}
	wg.Wait()
	for _, checks := range perHost {
		rep.Checks = append(rep.Checks, checks...)
	}
	rep.Checks = append(rep.Checks, x.websocketAfter(ctx, states))

	rep.OK = reportOK(rep.Checks)
	rep.FinishedAt = x.now().UTC()
	failed := 0
	for _, c := range rep.Checks {
		if c.Outcome == core.OutcomeFail {
			failed++
		}
	}
	level, outcome := slog.LevelInfo, "ok"
	if !rep.OK {
		level, outcome = slog.LevelWarn, "fail"
	}
	record(metrics.Or(r.Metrics), outcome, rep.Checks)
	x.log.LogAttrs(ctx, level, "diagnostics report",
		slog.String("event", "diagnostics_report"),
		slog.String("outcome", outcome),
		slog.Int("checks", len(rep.Checks)),
		slog.Int("failed", failed),
		slog.Float64("duration_ms", ms(rep.FinishedAt.Sub(rep.StartedAt))),
	)
	return rep
}

// record counts the run by outcome and each failed check by kind.
func record(m metrics.Emitter, outcome string, checks []core.Check) {
	m.Count(metrics.DiagnosticsRuns, 1, metrics.D(metrics.DimOutcome, outcome))
	for _, c := range checks {
		if c.Outcome == core.OutcomeFail {
			m.Count(metrics.DiagnosticsCheckFailures, 1, metrics.D(metrics.DimCheck, string(c.Kind)))
		}
	}
}

// prepare fills in the defaults of one run.
func (r *Runner) prepare() *run {
	x := &run{r: r, targets: r.Targets, resolver: r.Resolver, dial: r.Dialer, timeout: r.CheckTimeout, now: r.Now, log: r.Logger}
	def := DefaultTargets()
	if len(x.targets.Hosts) == 0 {
		x.targets.Hosts = def.Hosts
	}
	if x.targets.Port == "" {
		x.targets.Port = def.Port
	}
	if x.targets.WebSocketURL == "" {
		x.targets.WebSocketURL = def.WebSocketURL
	}
	if x.resolver == nil {
		x.resolver = net.DefaultResolver
	}
	if x.dial == nil {
		d := &net.Dialer{Resolver: x.resolver}
		x.dial = d.DialContext
	}
	if x.timeout <= 0 || x.timeout > MaxCheckTimeout {
		x.timeout = MaxCheckTimeout
	}
	if x.now == nil {
		x.now = time.Now
	}
	if x.log == nil {
		x.log = slog.New(slog.DiscardHandler)
	}
	return x
}

// websocketAfter runs the WebSocket check unless the host checks already showed it
// cannot succeed: for a wss:// URL on a checked host whose TLS failed, or a ws:// URL on
// a checked host no TCP check reached, it is skipped rather than failed a second time.
func (x *run) websocketAfter(ctx context.Context, states []hostState) core.Check {
	u, err := url.Parse(x.targets.WebSocketURL)
	if err == nil {
		if i := slices.Index(x.targets.Hosts, u.Hostname()); i >= 0 && portOf(u) == x.targets.Port {
			switch {
			case u.Scheme == "wss" && !states[i].tlsOK:
				return x.finish(ctx, skipped(core.CheckWebSocket, x.targets.WebSocketURL, "no TLS connection to "+u.Hostname()))
			case u.Scheme == "ws" && !states[i].tcpOK:
				return x.finish(ctx, skipped(core.CheckWebSocket, x.targets.WebSocketURL, "no TCP connection to "+u.Hostname()))
			}
		}
	}
	return x.checkWebSocket(ctx)
}

// portOf returns the port of a ws:// or wss:// URL, defaults included.
func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "ws" {
		return "80"
	}
	return "443"
}

// reportOK is true when no check failed, IPv6 checks excepted.
func reportOK(checks []core.Check) bool {
	for _, c := range checks {
		if c.Outcome == core.OutcomeFail && c.Kind != core.CheckDNSAAAA && c.Kind != core.CheckTCP6 {
			return false
		}
	}
	return true
}

// finish logs one check and returns it.
func (x *run) finish(ctx context.Context, c core.Check) core.Check {
	level := slog.LevelInfo
	if c.Outcome == core.OutcomeFail {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("event", "diagnostics_check"),
		slog.String("outcome", string(c.Outcome)),
		slog.String("check", string(c.Kind)),
		slog.String("target", c.Target),
		slog.Float64("duration_ms", c.DurationMS),
	}
	if c.Address != "" {
		attrs = append(attrs, slog.String("address", c.Address))
	}
	if c.Error != "" {
		attrs = append(attrs, slog.String("error", c.Error))
	}
	x.log.LogAttrs(ctx, level, "diagnostics check", attrs...)
	return c
}

// skipped is a check that did not run, with the reason as its error.
func skipped(kind core.CheckKind, target, why string) core.Check {
	return core.Check{Kind: kind, Target: target, Outcome: core.OutcomeSkipped, Error: why}
}

// ms converts a duration to milliseconds with microsecond precision.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// maxErrorLen bounds the error text of a check.
const maxErrorLen = 200

// shortError turns err into the short text of a check: timeouts and cancellations get a
// plain phrase, and long messages are cut.
func shortError(ctx context.Context, err error, timeout time.Duration) string {
	var ne net.Error
	switch {
	case ctx.Err() == context.DeadlineExceeded || (errors.As(err, &ne) && ne.Timeout()):
		return "timed out after " + timeout.String()
	case ctx.Err() == context.Canceled:
		return "cancelled"
	}
	s := err.Error()
	if len(s) > maxErrorLen {
		s = strings.ToValidUTF8(s[:maxErrorLen], "") + "…"
	}
	return s
}
