package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"go.mau.fi/whatsmeow"

	"github.com/wagate/wagate/connector/diag"
	"github.com/wagate/wagate/connector/manager"
	"github.com/wagate/wagate/connector/netdial"
	"github.com/wagate/wagate/connector/wa"
	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/membus"
)

// ErrSimulatorKeyNotTrusted is returned by Run when WAGATE_WA_DIAL names a simulator
// whose root key the process does not trust: call TrustSimulator first (main does).
var ErrSimulatorKeyNotTrusted = errors.New("WAGATE_WA_DIAL: the simulator's root key is not trusted by this process")

// PrepareProcess sets whatsmeow's process-wide state, once, before any client exists:
// the device properties and, with WAGATE_WA_DIAL, trust in the simulator's root key.
// Both mains call it first thing after reading their configuration.
func PrepareProcess(ctx context.Context, cfg Config) error {
	wa.ConfigureDeviceProps()
	if cfg.WADial == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return TrustSimulator(ctx, cfg.WADial)
}

// TrustSimulator fetches the root key of the simulator at addr (host:port) and makes
// whatsmeow trust it (whatsmeow.WACertPubKey). It changes a process-wide setting:
// call it once in main, before any whatsmeow client exists. Tests set the key in
// TestMain instead.
func TrustSimulator(ctx context.Context, addr string) error {
	key, err := netdial.FetchSimulatorKey(ctx, addr)
	if err != nil {
		return fmt.Errorf("WAGATE_WA_DIAL: %w", err)
	}
	whatsmeow.WACertPubKey = key
	return nil
}

// open opens the state, the whatsmeow store and the bus that the configuration
// selects: SQLite and the in-process bus by default, DynamoDB and SQS when set.
func (m *Main) open(ctx context.Context, cfg Config) error {
	if err := checkSimulator(ctx, cfg, m.log); err != nil {
		return err
	}
	a, err := openAdapters(ctx, cfg, m.log)
	if err != nil {
		return err
	}
	m.stores, m.state, m.deviceStore = a, a.state, a.devices
	m.bus = membus.New(m.log.With("component", "bus"))
	m.commands, m.consumer, m.events = m.bus, m.bus, m.bus
	if a.bus != nil {
		// Commands go through SQS; events go to SQS (webhooks) and to the
		// in-process bus, which serves GET /v1/events.
		m.commands, m.consumer, m.events = a.bus, a.bus, teeEvents{a.bus, m.bus}
	}
	return nil
}

// checkSimulator checks, when WAGATE_WA_DIAL is set, that this process trusts the
// root key of the simulator there, and warns that WhatsApp is not used.
func checkSimulator(ctx context.Context, cfg Config, log *slog.Logger) error {
	if cfg.WADial == "" {
		return nil
	}
	key, err := netdial.FetchSimulatorKey(ctx, cfg.WADial)
	if err != nil {
		return fmt.Errorf("WAGATE_WA_DIAL: %w", err)
	}
	if key != whatsmeow.WACertPubKey {
		return ErrSimulatorKeyNotTrusted
	}
	log.Warn("simulator_mode", "event", "simulator_mode", "wa_dial", cfg.WADial,
		"detail", "every WhatsApp connection goes to the simulator; never use this in production")
	return nil
}

// diagnoser runs the network diagnostics of this process.
type diagnoser struct {
	runner *diag.Runner
	// plain is set in simulator mode: the simulator speaks plain WebSocket, so there
	// is no TLS on the path and the TLS checks are reported as skipped.
	plain bool
	log   *slog.Logger // set in plain mode
}

// newDiagnoser returns the diagnostics: WhatsApp's hosts, the ones the configuration
// names, or the simulator when WAGATE_WA_DIAL is set.
func newDiagnoser(cfg Config, log *slog.Logger) *diagnoser {
	r := &diag.Runner{ConnectorID: cfg.ConnectorID, Logger: log.With("component", "diagnostics")}
	d := &diagnoser{runner: r}
	if cfg.WADial != "" {
		host, port, _ := net.SplitHostPort(cfg.WADial) // valid: Validate checked it
		r.Hosts, r.Port = []string{host}, port
		r.WebSocketURL = "ws://" + cfg.WADial + "/ws/chat"
		d.plain, d.log, r.Logger = true, r.Logger, nil // logged after the TLS checks are adjusted
	}
	if len(cfg.DiagHosts) > 0 {
		r.Hosts = cfg.DiagHosts
	}
	if cfg.DiagPort != "" {
		r.Port = cfg.DiagPort
	}
	if cfg.DiagWSURL != "" {
		r.WebSocketURL = cfg.DiagWSURL
	}
	return d
}

// Run runs every check; reason is "start" or "request".
func (d *diagnoser) Run(ctx context.Context, reason string) core.Report {
	rep := d.runner.Run(ctx, reason)
	if !d.plain {
		return rep
	}
	rep.OK = true
	for i, c := range rep.Checks {
		if c.Kind == core.CheckTLS {
			rep.Checks[i] = core.Check{Kind: c.Kind, Target: c.Target, Outcome: core.OutcomeSkipped,
				Error: "the simulator speaks plain WebSocket: no TLS on this path"}
			continue
		}
		if c.Outcome == core.OutcomeFail && c.Kind != core.CheckDNSAAAA && c.Kind != core.CheckTCP6 {
			rep.OK = false
		}
	}
	d.logReport(ctx, rep)
	return rep
}

// logReport logs a report's checks and summary as diag.Runner does.
func (d *diagnoser) logReport(ctx context.Context, rep core.Report) {
	log := d.log.With("report_id", rep.ID, "reason", rep.Reason)
	failed := 0
	for _, c := range rep.Checks {
		level := slog.LevelInfo
		if c.Outcome == core.OutcomeFail {
			level = slog.LevelWarn
			failed++
		}
		attrs := []any{"event", "diagnostics_check", "outcome", string(c.Outcome),
			"check", string(c.Kind), "target", c.Target, "duration_ms", c.DurationMS}
		if c.Address != "" {
			attrs = append(attrs, "address", c.Address)
		}
		if c.Error != "" {
			attrs = append(attrs, "error", c.Error)
		}
		log.Log(ctx, level, "diagnostics check", attrs...)
	}
	level, outcome := slog.LevelInfo, "ok"
	if !rep.OK {
		level, outcome = slog.LevelWarn, "fail"
	}
	log.Log(ctx, level, "diagnostics report", "event", "diagnostics_report", "outcome", outcome,
		"checks", len(rep.Checks), "failed", failed,
		"duration_ms", float64(rep.FinishedAt.Sub(rep.StartedAt).Microseconds())/1000)
}

// startDiagnostics runs the diagnostics once at start, logs and stores the report,
// and tells the connector the outcome for its heartbeats.
func startDiagnostics(ctx context.Context, r *diagnoser, mgr *manager.Manager, state core.DiagnosticsStore, log *slog.Logger) {
	rep := r.Run(ctx, "start")
	if ctx.Err() != nil {
		return
	}
	mgr.RecordDiagnostics(rep.OK)
	if err := state.PutReport(ctx, rep); err != nil && ctx.Err() == nil {
		log.Error("diagnostics_store_failed", "event", "diagnostics_store_failed", "outcome", "fail", "error", err)
	}
}

// teeEvents publishes each event to the SQS bus and to the in-process bus; the
// error is the SQS bus's.
type teeEvents struct {
	sqs   core.EventPublisher
	local core.EventPublisher
}

// PublishEvent publishes e to both buses.
func (t teeEvents) PublishEvent(ctx context.Context, e core.Event) error {
	_ = t.local.PublishEvent(ctx, e) // the in-process bus drops what no subscriber reads
	return t.sqs.PublishEvent(ctx, e)
}

// banner prints where the admin page is. The generated token is printed only in
// text mode: JSON lines go to log collectors, which must never see a token.
func (m *Main) banner(cfg Config, created bool) {
	m.log.Info("wagate_ready", "event", "wagate_ready", "outcome", "ok", "url", m.url, "data", cfg.DataDir, "connector", cfg.ConnectorID)
	w := m.Stdout
	if w == nil {
		w = io.Discard
	}
	switch {
	case m.token == "":
		fmt.Fprintf(w, "\nwagate is running: open %s/ and enter one of the WAGATE_TOKENS tokens\n\n", m.url)
	case cfg.LogFormat == LogJSON:
		m.log.Info("admin_page", "event", "admin_page", "url", m.url+"/", "token_file", cfg.TokenPath(), "token_created", created)
	default:
		fmt.Fprintf(w, "\nwagate is running. Admin page (tenant %q):\n\n    open %s/#token=%s\n\n"+
			"The token is kept in %s.\n\n", DefaultTenant, m.url, m.token, cfg.TokenPath())
	}
}
