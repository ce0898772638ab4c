// Package manager runs every session of a connector: it applies the commands the API
// sends (core.CommandHandler), takes a lease on a session before connecting it,
// restores the sessions that should be connected at start, records heartbeats, and
// shuts down cleanly (stop taking commands, disconnect, release leases).
package manager

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/wagate/wagate/connector/lease"
	"github.com/wagate/wagate/connector/session"
	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/metrics"
)

// ErrShuttingDown is returned by HandleCommand once Shutdown began: the command is
// left for redelivery (to this connector after a restart, or another one).
var ErrShuttingDown = core.Errorf(core.CodeConnectorUnavailable, "the connector is shutting down")

// Manager holds the supervisors of the sessions this connector holds a lease on.
type Manager struct {
	cfg   Config
	deps  Deps
	log   *slog.Logger
	taker *lease.Taker

	ctx    context.Context // lifetime of background work; cancelled by Shutdown
	cancel context.CancelFunc

	mu       sync.Mutex
	entries  map[core.SessionKey]*entry
	locks    map[core.SessionKey]*keyLock
	closing  bool
	bg       sync.WaitGroup // restore, heartbeat and lease-loss goroutines
	inflight sync.WaitGroup // commands being handled

	startedAt   time.Time
	shutdown    sync.Once
	shutdownErr error
	diagMu      sync.Mutex
	diagOK      *bool
	slots       chan struct{} // restore concurrency
}

// entry is a held session: its supervisor and its lease.
type entry struct {
	sup  *session.Supervisor
	held *lease.Held
}

// keyLock serializes work on one session (commands, restore, lease loss).
type keyLock struct {
	mu   sync.Mutex
	refs int
}

// New checks cfg and deps and returns a Manager; call Run to start it.
func New(cfg Config, deps Deps) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, core.WrapError(core.CodeInvalid, err, "invalid connector configuration")
	}
	if err := deps.check(); err != nil {
		return nil, core.WrapError(core.CodeInvalid, err, "invalid connector dependencies")
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	deps.Metrics = metrics.Or(deps.Metrics)
	log := deps.Log.With("connector", cfg.ConnectorID)
	taker, err := lease.NewTaker(lease.Options{
		Store: deps.Leases, Owner: cfg.ConnectorID, Duration: cfg.LeaseDuration, Log: log, Metrics: deps.Metrics,
	})
	if err != nil {
		return nil, core.WrapError(core.CodeInvalid, err, "invalid lease settings")
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{
		cfg: cfg, deps: deps, log: log, taker: taker,
		ctx: ctx, cancel: cancel,
		entries:   make(map[core.SessionKey]*entry),
		locks:     make(map[core.SessionKey]*keyLock),
		startedAt: deps.Now(),
	}, nil
}

// ConnectorID returns the id this manager writes in leases and heartbeats.
func (m *Manager) ConnectorID() string { return m.cfg.ConnectorID }

// AdmitSend reports whether a message may be queued for the session: a rate_limited
// *core.RetryAfterError when the session's send queue is full. It is the API's
// send gate in the all-in-one binary. A session this connector does not hold has an
// empty queue.
func (m *Manager) AdmitSend(ctx context.Context, key core.SessionKey) error {
	if e := m.lookup(key); e != nil {
		return e.sup.AdmitSend()
	}
	return ctx.Err()
}

// Held returns the keys of the sessions this connector holds, with their status.
func (m *Manager) Held() map[core.SessionKey]core.Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[core.SessionKey]core.Status, len(m.entries))
	for k, e := range m.entries {
		out[k] = e.sup.Status()
	}
	return out
}

func (m *Manager) lookup(key core.SessionKey) *entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.entries[key]
}

// lockKey locks the session key and returns the unlock function.
func (m *Manager) lockKey(key core.SessionKey) func() {
	m.mu.Lock()
	l := m.locks[key]
	if l == nil {
		l = &keyLock{}
		m.locks[key] = l
	}
	l.refs++
	m.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		m.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(m.locks, key)
		}
		m.mu.Unlock()
	}
}

// goBackground runs fn as an owned goroutine unless shutdown began.
func (m *Manager) goBackground(fn func()) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		return false
	}
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		fn()
	}()
	return true
}

// ensure returns the held entry of a session, taking its lease (waiting up to wait
// for another holder) and starting its supervisor if needed. The caller holds the
// key lock.
func (m *Manager) ensure(ctx context.Context, key core.SessionKey, wait time.Duration) (*entry, error) {
	if e := m.lookup(key); e != nil {
		select {
		case <-e.sup.Done():
			m.drop(key, e) // it stopped on its own (the session was deleted underneath it)
		default:
			return e, nil
		}
	}
	if _, err := m.deps.State.GetSession(ctx, key); err != nil {
		return nil, err
	}
	actx, cancel := context.WithTimeout(ctx, wait)
	stop := context.AfterFunc(m.ctx, cancel) // shutdown ends the wait
	held, err := m.taker.Acquire(actx, key)
	stop()
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, core.WrapError(core.CodeConnectorUnavailable, err, "another connector holds the session")
	}
	e := &entry{held: held}
	deps := session.Deps{
		Sessions: m.deps.State, QR: m.deps.State, Messages: m.deps.State, Events: m.deps.Events,
		Devices: m.deps.Devices, HTTPClient: m.deps.HTTPClient, Log: m.log, Metrics: m.deps.Metrics,
		Now: m.deps.Now, Rand: m.deps.Rand,
		OnFenceLost: func() { m.goBackground(func() { m.lost(key, e, "fenced") }) },
	}
	sup, err := session.New(ctx, key, held.Fence(), m.cfg.Session, deps)
	if err != nil {
		m.release(held)
		return nil, err
	}
	e.sup = sup
	m.mu.Lock()
	if m.closing {
		m.mu.Unlock()
		m.stopEntry(e)
		return nil, ErrShuttingDown
	}
	m.entries[key] = e
	m.mu.Unlock()
	held.Keep(func() { m.onLeaseLost(key, e) })
	return e, nil
}

// onLeaseLost runs on the lease's renewal goroutine before the lease can expire: the
// session is disconnected at once; the rest happens in the background.
func (m *Manager) onLeaseLost(key core.SessionKey, e *entry) {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.LeaseDuration/4)
	defer cancel()
	if err := e.sup.Abort(ctx); err != nil {
		m.log.Error("session_abort_slow", "event", "session_abort_slow", "outcome", "fail", "tenant", key.Tenant, "session", key.ID, "error", err)
	}
	m.goBackground(func() { m.lost(key, e, "lease") })
}

// lost forgets a session whose lease is gone and, if it should be connected, waits to
// take it again (the other holder may release it, or stop renewing).
func (m *Manager) lost(key core.SessionKey, e *entry, why string) {
	unlock := m.lockKey(key)
	m.mu.Lock()
	if m.entries[key] == e {
		delete(m.entries, key)
	}
	m.mu.Unlock()
	unlock()
	m.log.Warn("session_lease_lost", "event", "session_lease_lost", "outcome", "fail", "tenant", key.Tenant, "session", key.ID, "reason", why)
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.ShutdownTimeout)
	_ = e.sup.Abort(ctx) // never write: another connector holds the session
	cancel()
	m.release(e.held)
	m.restore(key)
}

// drop stops a held session (after disconnect, logout or delete) and releases it.
func (m *Manager) drop(key core.SessionKey, e *entry) {
	m.mu.Lock()
	if m.entries[key] == e {
		delete(m.entries, key)
	}
	m.mu.Unlock()
	m.stopEntry(e)
}

// stopEntry closes the supervisor (a clean disconnect) and releases the lease.
func (m *Manager) stopEntry(e *entry) {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.ShutdownTimeout)
	defer cancel()
	if err := e.sup.Close(ctx); err != nil {
		m.log.Error("session_close_failed", "event", "session_close_failed", "outcome", "fail", "tenant", e.sup.Key().Tenant, "session", e.sup.Key().ID, "error", err)
	}
	m.release(e.held)
}

func (m *Manager) release(h *lease.Held) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Release(ctx); err != nil {
		m.log.Warn("lease_release_failed", "event", "lease_release_failed", "outcome", "fail", "error", err)
	}
}
