package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/wagate/wagate/connector/manager"
	"github.com/wagate/wagate/connector/wa"
	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/membus"
	"github.com/wagate/wagate/core/metrics"
	"github.com/wagate/wagate/functions/apigw"
	"github.com/wagate/wagate/web"
)

// openTimeout bounds opening the stores and fetching the simulator's key at start.
const openTimeout = 30 * time.Second

// httpShutdownTimeout is how long in-flight requests get to finish at Close.
const httpShutdownTimeout = 5 * time.Second

// Main is the local all-in-one wagate process: the HTTP API and the admin page, the
// connector holding the WhatsApp sockets, SQLite state and an in-process bus. Set
// Config (and optionally Logger and Stdout), call Run, and Close when done. Tests
// run it on 127.0.0.1:0 with a temporary data folder.
type Main struct {
	// Config is the process configuration; NewMain sets DefaultConfig.
	Config Config
	// Logger receives every log line; nil builds one on stderr from Config.
	Logger *slog.Logger
	// Stdout receives the start banner (the admin page URL with the token); nil
	// discards it.
	Stdout io.Writer
	// Version is reported in heartbeats.
	Version string
	// MetricsOut receives the EMF metric lines when Config.Metrics is emf; nil means
	// standard output.
	MetricsOut io.Writer

	log    *slog.Logger
	url    string
	token  string
	state  stateStore
	lock   io.Closer // the data folder lock, released last
	stores *adapters // the state and whatsmeow stores and the SQS bus
	// deviceStore is the whatsmeow store the sessions use.
	deviceStore wa.DeviceStore
	bus         *membus.Bus // serves GET /v1/events; carries commands without SQS
	commands    core.CommandSender
	consumer    core.CommandConsumer
	events      core.EventPublisher
	mgr         *manager.Manager
	srv         *http.Server
	emf         *metrics.EMF
	hooks       *webhooks // nil when events go to SQS: the events function delivers them

	cancel    context.CancelFunc // ends the manager, the consumer and the start diagnostics
	stopHTTP  context.CancelFunc // ends long-lived requests (event streams)
	done      sync.WaitGroup     // goroutines started by Run
	closeOnce sync.Once
	closeErr  error
	mgrErr    chan error
}

// NewMain returns a Main with the default configuration.
func NewMain() *Main {
	return &Main{Config: DefaultConfig(), Version: "dev"}
}

// URL returns the base URL the API and the admin page are served at (after Run).
func (m *Main) URL() string { return m.url }

// Token returns the generated API token of tenant "default", or "" when
// Config.Tokens sets the tokens (after Run).
func (m *Main) Token() string { return m.token }

// Run opens the stores, starts the connector and serves the API and the admin page.
// It returns once everything runs; Close stops it. On error everything opened so
// far is closed again.
func (m *Main) Run(ctx context.Context) (err error) {
	cfg := m.Config
	if err := cfg.Validate(); err != nil {
		return err
	}
	m.log = m.Logger
	if m.log == nil {
		if m.log, err = NewLogger(os.Stderr, cfg.LogFormat, cfg.LogLevel); err != nil {
			return err
		}
	}
	defer func() {
		if err != nil {
			_ = m.closeStores()
		}
	}()
	if m.lock, err = openDataDir(cfg.DataDir); err != nil {
		return err
	}
	if cfg.ConnectorID == "" {
		if cfg.ConnectorID, err = connectorID(cfg.DataDir); err != nil {
			return err
		}
	}
	octx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	if err := m.open(octx, cfg); err != nil {
		return err
	}
	auth, token, created, err := authFor(cfg)
	if err != nil {
		return err
	}
	m.token = token
	m.emf = newMetrics(cfg, m.MetricsOut)
	diagnose := newDiagnoser(cfg, m.log)
	diagnose.runner.Metrics = emitter(m.emf)
	if err := m.setupWebhooks(cfg); err != nil {
		return err
	}
	mcfg := manager.DefaultConfig()
	mcfg.ConnectorID, mcfg.Version = cfg.ConnectorID, m.Version
	mcfg.ShutdownTimeout = cfg.ShutdownTimeout
	mcfg.Session.SendInterval = cfg.SendInterval
	if cfg.LeaseDuration > 0 {
		mcfg.LeaseDuration = cfg.LeaseDuration
	}
	m.mgr, err = manager.New(mcfg, manager.Deps{
		State: m.state, Leases: m.state, Events: m.events, Devices: m.deviceStore,
		HTTPClient: manager.HTTPClients(cfg.WADial),
		Diagnose:   func(ctx context.Context) core.Report { return diagnose.Run(ctx, "request") },
		Log:        m.log,
		Metrics:    emitter(m.emf),
	})
	if err != nil {
		return fmt.Errorf("start connector: %w", err)
	}
	api, err := apigw.New(apigw.Server{
		State: m.state, Commands: m.commands, Auth: auth, Events: m.bus, SendGate: m.mgr,
		Logger: m.log.With("component", "api"),
		Options: apigw.Options{
			AllowInsecureWebhooks: cfg.AllowInsecureWebhooks,
			LocalDiagnostics:      true,
		},
	})
	if err != nil {
		return fmt.Errorf("start api: %w", err)
	}
	// One heartbeat before the first request, so the API never answers 503 while
	// the connector starts.
	if err := m.state.PutHeartbeat(octx, core.Heartbeat{
		ConnectorID: cfg.ConnectorID, Version: m.Version, StartedAt: time.Now().UTC(), At: time.Now().UTC(),
	}); err != nil {
		return fmt.Errorf("write first heartbeat: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("WAGATE_ADDR %s: listen: %w", cfg.Addr, err)
	}
	m.url = "http://" + ln.Addr().String()

	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	httpCtx, stopHTTP := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel, m.stopHTTP = stopRun, stopHTTP
	m.srv = newHTTPServer(routes(api.Handler(), web.Files()))
	m.srv.BaseContext = func(net.Listener) context.Context { return httpCtx }
	m.srv.ErrorLog = slog.NewLogLogger(m.log.With("component", "http").Handler(), slog.LevelWarn)
	m.mgrErr = make(chan error, 1)
	if m.emf != nil {
		m.done.Go(func() { _ = m.emf.Run(runCtx, metricsFlushInterval) })
	}
	m.done.Go(func() { m.mgrErr <- m.mgr.Run(runCtx) })
	if m.hooks != nil {
		m.done.Go(func() { m.hooks.run(runCtx) })
	}
	m.done.Go(func() {
		if err := m.consumer.ConsumeCommands(runCtx, m.mgr.HandleCommand); err != nil && runCtx.Err() == nil {
			m.log.Error("commands_consumer_stopped", "event", "commands_consumer_stopped", "outcome", "fail", "error", err)
		}
	})
	m.done.Go(func() { startDiagnostics(runCtx, diagnose, m.mgr, m.state, m.log) })
	m.done.Go(func() {
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("http_serve_failed", "event", "http_serve_failed", "outcome", "fail", "error", err)
		}
	})
	m.banner(cfg, created)
	m.webhookBanner(cfg)
	return nil
}

// Close stops serving, disconnects every session cleanly (within
// Config.ShutdownTimeout), and closes the stores. It is safe to call more than once.
func (m *Main) Close() error {
	m.closeOnce.Do(func() { m.closeErr = m.close() })
	return m.closeErr
}

func (m *Main) close() error {
	if m.srv == nil {
		return m.closeStores()
	}
	start := time.Now()
	m.log.Info("wagate_stopping", "event", "wagate_stopping", "outcome", "pending")
	var errs []error
	// Stop taking requests first: no new commands while the sessions shut down.
	hctx, cancel := context.WithTimeout(context.Background(), httpShutdownTimeout)
	m.stopHTTP() // event streams end so Shutdown need not wait for them
	if err := m.srv.Shutdown(hctx); err != nil {
		_ = m.srv.Close()
	}
	cancel()
	m.cancel() // the manager shuts down within ShutdownTimeout and returns
	if err := <-m.mgrErr; err != nil {
		errs = append(errs, fmt.Errorf("shut down connector: %w", err))
	}
	m.done.Wait()
	if m.emf != nil {
		_ = m.emf.Flush() // what the shutdown itself recorded
	}
	if err := m.closeStores(); err != nil {
		errs = append(errs, err)
	}
	m.log.Info("wagate_stopped", "event", "wagate_stopped", "outcome", "ok", "duration_ms", time.Since(start).Milliseconds())
	return errors.Join(errs...)
}

// closeStores closes whatever open opened.
func (m *Main) closeStores() error {
	var errs []error
	if m.bus != nil {
		_ = m.bus.Close()
	}
	if m.stores != nil {
		if err := m.stores.close(); err != nil {
			errs = append(errs, fmt.Errorf("close stores: %w", err))
		}
		m.stores, m.state = nil, nil
	}
	if m.lock != nil {
		_ = m.lock.Close()
		m.lock = nil
	}
	return errors.Join(errs...)
}
