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
	"sync/atomic"
	"time"

	keystore "github.com/wagate/wagate/connector/dynamo"
	"github.com/wagate/wagate/connector/manager"
	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/metrics"
)

// storesCloseMargin is the part of the shutdown budget kept for closing the stores
// after the sessions and the commands consumer stopped.
const storesCloseMargin = time.Second

// Connector is the connector process of the split deployment (cmd/connector): it
// holds the WhatsApp sessions, takes commands from the SQS commands queue, publishes
// events to the events queue, keeps state, leases and heartbeats in the state table
// and the whatsmeow keys in the key store. It serves no API, only a local health
// endpoint (GET /healthz on Config.HealthAddr). Set Config (and optionally Logger),
// call Run, and Close when done.
type Connector struct {
	// Config is the process configuration; it must pass ValidateConnector.
	Config Config
	// Logger receives every log line; nil builds one on stderr from Config.
	Logger *slog.Logger
	// Version is reported in heartbeats.
	Version string
	// MetricsOut receives the EMF metric lines when Config.Metrics is emf; nil means
	// standard output.
	MetricsOut io.Writer

	log      *slog.Logger
	emf      *metrics.EMF
	lock     io.Closer // the data folder lock, with a SQLite key store only
	stores   *adapters
	mgr      *manager.Manager
	health   *http.Server
	healthLn net.Listener
	stopping atomic.Bool

	stopRun   context.CancelFunc // ends the manager and the start diagnostics
	stopCmds  context.CancelFunc // ends the commands consumer
	mgrErr    chan error
	done      sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// NewConnector returns a Connector with the default configuration.
func NewConnector() *Connector {
	return &Connector{Config: DefaultConfig(), Version: "dev"}
}

// HealthAddr returns the address the health endpoint listens on (after Run).
func (c *Connector) HealthAddr() string {
	if c.healthLn == nil {
		return ""
	}
	return c.healthLn.Addr().String()
}

// ConnectorID returns the id this process writes in leases and heartbeats (after Run).
func (c *Connector) ConnectorID() string {
	if c.mgr == nil {
		return ""
	}
	return c.mgr.ConnectorID()
}

// DynamoDBUsage returns the DynamoDB calls and capacity units of this process so far,
// on the key table and on the state table (nil for a store not on DynamoDB).
func (c *Connector) DynamoDBUsage() (keys, state keystore.Stats) {
	if c.stores == nil {
		return nil, nil
	}
	return c.stores.usage()
}

// Run opens the stores and the bus, writes the first heartbeat, starts the sessions
// that should be connected and the commands consumer, and serves the health
// endpoint. It returns once everything runs; Close stops it. On error everything
// opened so far is closed again.
func (c *Connector) Run(ctx context.Context) (err error) {
	cfg := c.Config
	if err := cfg.ValidateConnector(); err != nil {
		return err
	}
	c.log = c.Logger
	if c.log == nil {
		if c.log, err = NewLogger(os.Stderr, cfg.LogFormat, cfg.LogLevel); err != nil {
			return err
		}
	}
	defer func() {
		if err != nil {
			_ = c.closeStores()
		}
	}()
	if err := c.identify(&cfg); err != nil {
		return err
	}
	octx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	if err := checkSimulator(octx, cfg, c.log); err != nil {
		return err
	}
	if c.stores, err = openAdapters(octx, cfg, c.log); err != nil {
		return err
	}
	c.emf = newMetrics(cfg, c.MetricsOut)
	diagnose := newDiagnoser(cfg, c.log)
	diagnose.runner.Metrics = emitter(c.emf)
	mcfg := manager.DefaultConfig()
	mcfg.ConnectorID, mcfg.Version = cfg.ConnectorID, c.Version
	mcfg.ShutdownTimeout = max(cfg.ShutdownTimeout-storesCloseMargin, cfg.ShutdownTimeout/2)
	mcfg.Session.SendInterval = cfg.SendInterval
	if cfg.LeaseDuration > 0 {
		mcfg.LeaseDuration = cfg.LeaseDuration
	}
	c.mgr, err = manager.New(mcfg, manager.Deps{
		State: c.stores.state, Leases: c.stores.state, Events: c.stores.bus, Devices: c.stores.devices,
		HTTPClient: manager.HTTPClients(cfg.WADial),
		Diagnose:   func(ctx context.Context) core.Report { return diagnose.Run(ctx, "request") },
		Log:        c.log,
		Metrics:    emitter(c.emf),
	})
	if err != nil {
		return fmt.Errorf("start connector: %w", err)
	}
	// The first heartbeat tells at start whether the state table can be written.
	now := time.Now().UTC()
	if err := c.stores.state.PutHeartbeat(octx, core.Heartbeat{
		ConnectorID: cfg.ConnectorID, Version: c.Version, StartedAt: now, At: now,
	}); err != nil {
		return fmt.Errorf("WAGATE_STATE_TABLE: write first heartbeat: %w", err)
	}
	if c.healthLn, err = net.Listen("tcp", cfg.HealthAddr); err != nil {
		return fmt.Errorf("WAGATE_HEALTH_ADDR %s: listen: %w", cfg.HealthAddr, err)
	}

	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	cmdCtx, stopCmds := context.WithCancel(context.WithoutCancel(ctx))
	c.stopRun, c.stopCmds = stopRun, stopCmds
	c.mgrErr = make(chan error, 1)
	c.health = newHealthServer(c)
	if c.emf != nil {
		c.done.Go(func() { _ = c.emf.Run(runCtx, metricsFlushInterval) })
	}
	c.done.Go(func() { c.mgrErr <- c.mgr.Run(runCtx) })
	c.done.Go(func() { c.consumeCommands(cmdCtx) })
	c.done.Go(func() { startDiagnostics(runCtx, diagnose, c.mgr, c.stores.state, c.log) })
	c.done.Go(func() {
		if err := c.health.Serve(c.healthLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			c.log.Error("health_serve_failed", "event", "health_serve_failed", "outcome", "fail", "error", err)
		}
	})
	c.log.Info("connector_ready", "event", "connector_ready", "outcome", "ok", "connector", cfg.ConnectorID, "health_addr", c.HealthAddr(),
		"state_table", cfg.StateTable, "store", cfg.Store, "lease", mcfg.LeaseDuration.String())
	return nil
}

// identify sets the connector id: WAGATE_CONNECTOR_ID, else the one kept in the data
// folder when the key store is SQLite there (the folder is locked for this process),
// else a fresh one (a process with no disk of its own, as in ECS).
func (c *Connector) identify(cfg *Config) error {
	if cfg.ConnectorID != "" {
		return nil
	}
	if kind, _ := cfg.StoreKind(); kind != StoreSQLite {
		cfg.ConnectorID = manager.NewConnectorID()
		return nil
	}
	lock, err := openDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	c.lock = lock
	cfg.ConnectorID, err = connectorID(cfg.DataDir)
	return err
}

// Close answers 503 on the health endpoint, stops taking commands, disconnects every
// session cleanly and releases its lease, lets the open command receives finish
// (handing back what they bring), and closes the stores, all within
// Config.ShutdownTimeout. It is safe to call more than once.
func (c *Connector) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.close() })
	return c.closeErr
}

func (c *Connector) close() error {
	if c.health == nil {
		return c.closeStores()
	}
	start := time.Now()
	deadline := start.Add(c.Config.ShutdownTimeout - storesCloseMargin/2)
	c.stopping.Store(true)
	c.log.Info("connector_stopping", "event", "connector_stopping", "outcome", "pending")
	var errs []error
	// No new commands; a command being handled finishes or is left for redelivery.
	c.stopCmds()
	c.stopRun()
	if err := <-c.mgrErr; err != nil {
		errs = append(errs, fmt.Errorf("shut down connector: %w", err))
	}
	hctx, cancel := context.WithTimeout(context.Background(), time.Second)
	if err := c.health.Shutdown(hctx); err != nil {
		_ = c.health.Close()
	}
	cancel()
	done := make(chan struct{})
	go func() { c.done.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Until(deadline)):
		c.log.Warn("connector_stop_incomplete", "event", "connector_stop_incomplete", "outcome", "fail", "detail", "the commands consumer did not stop in time")
	}
	if c.emf != nil {
		_ = c.emf.Flush() // what the shutdown itself recorded
	}
	c.stores.logUsage(c.log)
	if err := c.closeStores(); err != nil {
		errs = append(errs, err)
	}
	c.log.Info("connector_stopped", "event", "connector_stopped", "outcome", "ok", "duration_ms", time.Since(start).Milliseconds())
	return errors.Join(errs...)
}

// closeStores closes whatever Run opened.
func (c *Connector) closeStores() error {
	var errs []error
	if c.stores != nil {
		if err := c.stores.close(); err != nil {
			errs = append(errs, fmt.Errorf("close stores: %w", err))
		}
	}
	if c.healthLn != nil && c.health == nil {
		_ = c.healthLn.Close()
	}
	if c.lock != nil {
		_ = c.lock.Close()
		c.lock = nil
	}
	return errors.Join(errs...)
}
