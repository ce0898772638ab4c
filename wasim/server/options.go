package server

import (
	"log/slog"
	"time"

	"github.com/wagate/wagate/wasim/wire"
)

// Option configures a Server.
type Option func(*config)

type config struct {
	identity    *wire.Identity
	strict      bool
	log         *slog.Logger
	onViolation func(Violation)
	now         func() time.Time
	pairTimeout time.Duration
	closeGrace  time.Duration
}

func defaultConfig() config {
	return config{
		log:         slog.New(slog.DiscardHandler),
		now:         time.Now,
		pairTimeout: 30 * time.Second,
		closeGrace:  250 * time.Millisecond,
	}
}

// WithIdentity sets the server identity (root key, Noise static key and certificate
// chain). Without it New generates a fresh random identity.
func WithIdentity(id *wire.Identity) Option { return func(c *config) { c.identity = id } }

// WithStrict turns strict mode on or off. In strict mode nodes the server does not
// understand and messages a fake phone cannot decrypt are recorded as violations.
func WithStrict(strict bool) Option { return func(c *config) { c.strict = strict } }

// WithLogger sets the logger. The default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.log = l
		}
	}
}

// WithViolationHandler registers fn to be called for every strict-mode violation as
// it happens, from the goroutine that found it. fn must not block.
func WithViolationHandler(fn func(Violation)) Option {
	return func(c *config) { c.onViolation = fn }
}

// WithClock sets the clock used for timestamps (message t attributes, inbox times)
// and fault windows. The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// WithPairTimeout bounds how long pairing waits for the client to confirm a
// pair-success (default 30 s).
func WithPairTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.pairTimeout = d
		}
	}
}

// WithCloseGrace sets how long the server waits after sending a stream error or a
// login failure before it closes the socket (default 250 ms). whatsmeow handles the
// error on its handler queue while its read loop sees the close, so closing at once
// can make it report a plain disconnect instead.
func WithCloseGrace(d time.Duration) Option {
	return func(c *config) {
		if d >= 0 {
			c.closeGrace = d
		}
	}
}
