package session

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/wagate/wagate/connector/wa"
	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/metrics"
)

// Config are the tunables of a session supervisor.
type Config struct {
	// SendQueue is how many outgoing messages may wait per session; AdmitSend refuses
	// more with a rate_limited error.
	SendQueue int
	// SendInterval is the pause between two sends of one session; 0 turns pacing off
	// (benchmarks only).
	SendInterval time.Duration
	// SendTimeout bounds how long a queued message waits for a connection, and then
	// for WhatsApp's ack, before it is marked failed.
	SendTimeout time.Duration
	// ConnectTimeout bounds a connect attempt: dial, handshake and login (or the first
	// QR code) must be done within it, else the attempt counts as failed.
	ConnectTimeout time.Duration
	// KeepAliveFailures is how many keepalives in a row may go unanswered before the
	// connection counts as lost.
	KeepAliveFailures int
	// CallTimeout bounds requests to WhatsApp on a user's behalf (log out, pair code).
	CallTimeout time.Duration
	// WhatsmeowDebug logs every node whatsmeow sends and receives (debug level).
	WhatsmeowDebug bool
}

// DefaultConfig returns the production defaults.
func DefaultConfig() Config {
	return Config{
		SendQueue:         100,
		SendInterval:      time.Second,
		SendTimeout:       60 * time.Second,
		ConnectTimeout:    20 * time.Second,
		KeepAliveFailures: 3,
		CallTimeout:       20 * time.Second,
	}
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if c.SendQueue < 1 {
		errs = append(errs, fmt.Errorf("send queue must be at least 1, got %d", c.SendQueue))
	}
	if c.SendInterval < 0 {
		errs = append(errs, fmt.Errorf("send interval must not be negative, got %s", c.SendInterval))
	}
	if c.SendTimeout <= 0 {
		errs = append(errs, fmt.Errorf("send timeout must be positive, got %s", c.SendTimeout))
	}
	if c.ConnectTimeout <= 0 {
		errs = append(errs, fmt.Errorf("connect timeout must be positive, got %s", c.ConnectTimeout))
	}
	if c.KeepAliveFailures < 1 {
		errs = append(errs, fmt.Errorf("keepalive failures must be at least 1, got %d", c.KeepAliveFailures))
	}
	if c.CallTimeout <= 0 {
		errs = append(errs, fmt.Errorf("call timeout must be positive, got %s", c.CallTimeout))
	}
	return errors.Join(errs...)
}

// HTTPClientFunc returns the HTTP client a session's socket dials through, built
// from its network settings (preferIPv4, proxyURL). An error means the settings are
// unusable; the session then fails with lastError network_settings.
type HTTPClientFunc func(core.Settings) (*http.Client, error)

// Deps are what a supervisor works with.
type Deps struct {
	Sessions core.SessionStore
	QR       core.QRStore
	Messages core.MessageStore
	Events   core.EventPublisher
	// Devices is the whatsmeow key store.
	Devices wa.DeviceStore
	// HTTPClient builds the socket's HTTP client for each connect attempt.
	HTTPClient HTTPClientFunc
	// Log receives the supervisor's logs; every line carries tenant and session.
	Log *slog.Logger
	// Metrics records connects, reconnects, fatal outcomes, QR codes and messages;
	// nil records nothing.
	Metrics metrics.Emitter
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand draws the backoff jitter in [0, 1); nil means math/rand.
	Rand func() float64
	// OnFenceLost is called from the supervisor's goroutine when a status write is
	// refused because another connector holds a newer lease. It must not block (and
	// must not wait for the supervisor); the owner should Abort the supervisor.
	OnFenceLost func()
}

func (d *Deps) check() error {
	var errs []error
	for name, missing := range map[string]bool{
		"sessions": d.Sessions == nil, "qr": d.QR == nil, "messages": d.Messages == nil,
		"events": d.Events == nil, "devices": d.Devices == nil, "http client": d.HTTPClient == nil,
	} {
		if missing {
			errs = append(errs, fmt.Errorf("session: %s dependency is missing", name))
		}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	d.Metrics = metrics.Or(d.Metrics)
	return errors.Join(errs...)
}
