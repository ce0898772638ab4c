package manager

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/wagate/wagate/connector/netdial"
	"github.com/wagate/wagate/connector/session"
	"github.com/wagate/wagate/connector/wa"
	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/metrics"
)

// Config are the manager's settings. Start from DefaultConfig and override fields.
type Config struct {
	// ConnectorID names this connector in leases and heartbeats; unique per process.
	ConnectorID string
	// Version is reported in heartbeats.
	Version string
	// LeaseDuration is the length of session leases; they are renewed every third of it.
	LeaseDuration time.Duration
	// LeaseWait bounds how long a command waits for a lease another connector holds.
	LeaseWait time.Duration
	// HeartbeatInterval is how often the connector records that it is alive.
	HeartbeatInterval time.Duration
	// RestoreConcurrency is how many sessions connect at once at start.
	RestoreConcurrency int
	// RestoreJitter spreads restored connects over [0, RestoreJitter).
	RestoreJitter time.Duration
	// ShutdownTimeout bounds Shutdown when Run ends.
	ShutdownTimeout time.Duration
	// Session configures every session supervisor.
	Session session.Config
}

// DefaultConfig returns the production defaults with a fresh connector id.
func DefaultConfig() Config {
	return Config{
		ConnectorID:        NewConnectorID(),
		Version:            "dev",
		LeaseDuration:      30 * time.Second,
		LeaseWait:          75 * time.Second,
		HeartbeatInterval:  10 * time.Second,
		RestoreConcurrency: 8,
		RestoreJitter:      2 * time.Second,
		ShutdownTimeout:    25 * time.Second,
		Session:            session.DefaultConfig(),
	}
}

// NewConnectorID returns the host name with a random suffix.
func NewConnectorID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "connector"
	}
	var b [4]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand.Read documents that it always fills b
	return host + "-" + hex.EncodeToString(b[:])
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if c.ConnectorID == "" {
		errs = append(errs, errors.New("connector id must not be empty"))
	}
	if c.LeaseDuration < 300*time.Millisecond {
		errs = append(errs, fmt.Errorf("lease duration must be at least 300ms, got %s", c.LeaseDuration))
	}
	if c.LeaseWait <= 0 {
		errs = append(errs, fmt.Errorf("lease wait must be positive, got %s", c.LeaseWait))
	}
	if c.HeartbeatInterval <= 0 {
		errs = append(errs, fmt.Errorf("heartbeat interval must be positive, got %s", c.HeartbeatInterval))
	}
	if c.RestoreConcurrency < 1 {
		errs = append(errs, fmt.Errorf("restore concurrency must be at least 1, got %d", c.RestoreConcurrency))
	}
	if c.RestoreJitter < 0 {
		errs = append(errs, fmt.Errorf("restore jitter must not be negative, got %s", c.RestoreJitter))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("shutdown timeout must be positive, got %s", c.ShutdownTimeout))
	}
	if err := c.Session.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Deps are what the manager works with.
type Deps struct {
	// State is the state store shared with the API.
	State core.State
	// Leases keeps the session leases.
	Leases core.LeaseStore
	// Events receives session.status, message.in and message.status events.
	Events core.EventPublisher
	// Devices is the whatsmeow key store (wa.OpenStore).
	Devices wa.DeviceStore
	// HTTPClient builds a session's socket client from its settings (HTTPClients).
	HTTPClient session.HTTPClientFunc
	// Diagnose runs the network diagnostics for diagnostics.run; nil answers that
	// diagnostics are not available.
	Diagnose func(ctx context.Context) core.Report
	// Log receives the manager's and the supervisors' logs; nil discards them.
	Log *slog.Logger
	// Metrics receives the connector's and the supervisors' metrics (heartbeats,
	// sessions by status, command age, lease takeovers, ...); nil records nothing.
	Metrics metrics.Emitter
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand draws jitter in [0, 1); nil means math/rand.
	Rand func() float64
}

func (d *Deps) check() error {
	var errs []error
	if d.State == nil {
		errs = append(errs, errors.New("manager: state dependency is missing"))
	}
	if d.Leases == nil {
		errs = append(errs, errors.New("manager: leases dependency is missing"))
	}
	if d.Events == nil {
		errs = append(errs, errors.New("manager: events dependency is missing"))
	}
	if d.Devices == nil {
		errs = append(errs, errors.New("manager: devices dependency is missing"))
	}
	if d.HTTPClient == nil {
		errs = append(errs, errors.New("manager: http client dependency is missing"))
	}
	return errors.Join(errs...)
}

// HTTPClients returns the HTTPClientFunc that dials WhatsApp with netdial from each
// session's settings. override (WAGATE_WA_DIAL) sends every connection to the
// simulator instead; empty in production. Sessions with the same network settings
// (preferIPv4, proxyURL) share one client: an http.Client and its transport are
// safe for concurrent use, and one per session was about 2 KiB of each idle
// session's memory. Sessions with different settings never share one.
func HTTPClients(override string) session.HTTPClientFunc {
	type path struct {
		preferIPv4 bool
		proxyURL   string
	}
	var (
		mu      sync.Mutex
		clients = make(map[path]*http.Client)
	)
	return func(s core.Settings) (*http.Client, error) {
		p := path{preferIPv4: s.PreferIPv4, proxyURL: s.ProxyURL}
		mu.Lock()
		defer mu.Unlock()
		if c := clients[p]; c != nil {
			return c, nil
		}
		d, err := netdial.New(netdial.Options{PreferIPv4: s.PreferIPv4, ProxyURL: s.ProxyURL, Override: override})
		if err != nil {
			return nil, fmt.Errorf("session network settings: %w", err)
		}
		c := d.HTTPClient()
		clients[p] = c
		return c, nil
	}
}
