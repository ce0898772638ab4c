package manager

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/metrics"
)

// Run restores the sessions that should be connected, records heartbeats, and blocks
// until ctx is done; it then shuts down within Config.ShutdownTimeout and returns
// Shutdown's error.
func (m *Manager) Run(ctx context.Context) error {
	m.heartbeat(ctx)
	m.goBackground(func() { m.heartbeatLoop() })
	m.goBackground(func() { m.restoreAll() })
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.ShutdownTimeout)
	defer cancel()
	return m.Shutdown(sctx)
}

// restoreAll restores every session that is desired and set to auto-connect, at most
// RestoreConcurrency connecting at once, each start jittered.
func (m *Manager) restoreAll() {
	ctx, cancel := context.WithTimeout(m.ctx, time.Minute)
	all, err := m.deps.State.ListAllSessions(ctx)
	cancel()
	if err != nil {
		m.log.Error("restore_list_failed", "event", "restore_list_failed", "outcome", "fail", "error", err)
		return
	}
	n := 0
	for _, s := range all {
		if s.Desired && s.Settings.AutoConnect {
			m.restore(s.Key())
			n++
		}
	}
	m.log.Info("restore_started", "event", "restore_started", "outcome", "ok", "sessions", n, "of", len(all))
}

// restoreSlots bounds concurrent restores; created lazily per manager.
func (m *Manager) restoreSlots() chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.slots == nil {
		m.slots = make(chan struct{}, m.cfg.RestoreConcurrency)
	}
	return m.slots
}

// restore connects one session in the background once this connector can take its
// lease: at once if it is free, or when its holder releases it or stops renewing.
func (m *Manager) restore(key core.SessionKey) {
	m.goBackground(func() {
		if !sleepCtx(m.ctx, m.jitter()) {
			return
		}
		for m.ctx.Err() == nil {
			done, err := m.restoreOnce(key)
			if done {
				return
			}
			m.log.Info("restore_waiting", "event", "restore_waiting", "outcome", "pending", "tenant", key.Tenant, "session", key.ID, "error", err)
			if !sleepCtx(m.ctx, time.Second) {
				return
			}
		}
	})
}

// restoreOnce tries to take and connect the session; done is false when it should be
// tried again (the lease is still held elsewhere).
func (m *Manager) restoreOnce(key core.SessionKey) (done bool, err error) {
	unlock := m.lockKey(key)
	defer unlock()
	if m.lookup(key) != nil {
		return true, nil // a command took it meanwhile
	}
	sess, err := m.deps.State.GetSession(m.ctx, key)
	if err != nil || !sess.Desired || !sess.Settings.AutoConnect {
		return true, err
	}
	e, err := m.ensure(m.ctx, key, m.cfg.LeaseWait)
	if core.IsCode(err, core.CodeConnectorUnavailable) {
		return false, err
	}
	if err != nil {
		m.log.Error("restore_failed", "event", "restore_failed", "outcome", "fail", "tenant", key.Tenant, "session", key.ID, "error", err)
		return true, err
	}
	slots := m.restoreSlots()
	select {
	case slots <- struct{}{}:
	case <-m.ctx.Done():
		return true, m.ctx.Err()
	}
	defer func() { <-slots }()
	if err := e.sup.Connect(m.ctx); err != nil {
		return true, err
	}
	wctx, cancel := context.WithTimeout(m.ctx, m.cfg.Session.ConnectTimeout+5*time.Second)
	defer cancel()
	_ = e.sup.WaitSettled(wctx)
	m.log.Info("session_restored", "event", "session_restored", "outcome", "ok", "tenant", key.Tenant, "session", key.ID, "status", e.sup.Status())
	return true, nil
}

func (m *Manager) jitter() time.Duration {
	if m.cfg.RestoreJitter <= 0 {
		return 0
	}
	r := rand.Float64
	if m.deps.Rand != nil {
		r = m.deps.Rand
	}
	return time.Duration(r() * float64(m.cfg.RestoreJitter))
}

// heartbeatLoop records a heartbeat every HeartbeatInterval until shutdown.
func (m *Manager) heartbeatLoop() {
	t := time.NewTicker(m.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
			m.heartbeat(m.ctx)
		}
	}
}

// heartbeat records that this connector is alive and how many sessions it holds.
func (m *Manager) heartbeat(ctx context.Context) {
	m.mu.Lock()
	n := len(m.entries)
	m.mu.Unlock()
	m.diagMu.Lock()
	diag := m.diagOK
	m.diagMu.Unlock()
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := m.deps.State.PutHeartbeat(hctx, core.Heartbeat{
		ConnectorID: m.cfg.ConnectorID, Version: m.cfg.Version, Sessions: n,
		StartedAt: m.startedAt.UTC(), At: m.deps.Now().UTC(), DiagnosticsOK: diag,
	})
	if err != nil && ctx.Err() == nil {
		m.log.Error("heartbeat_failed", "event", "heartbeat_failed", "outcome", "fail", "error", err)
	}
	m.recordHeartbeat(diag)
}

// recordHeartbeat emits the heartbeat metrics: Heartbeats, the held sessions by
// status (zero for the statuses no session is in, so graphs and alarms come back
// down), and whether the latest diagnostics run failed.
func (m *Manager) recordHeartbeat(diagOK *bool) {
	mt := m.deps.Metrics
	mt.Count(metrics.Heartbeats, 1)
	byStatus := map[core.Status]int{}
	for _, st := range m.Held() {
		byStatus[st]++
	}
	for _, st := range core.Statuses() {
		mt.Count(metrics.Sessions, float64(byStatus[st]), metrics.D(metrics.DimStatus, string(st)))
	}
	if diagOK != nil {
		failing := 0.0
		if !*diagOK {
			failing = 1
		}
		mt.Count(metrics.DiagnosticsFailing, failing)
	}
}

// Shutdown stops taking commands, waits for the commands in progress, disconnects
// every session cleanly and releases its lease, all within ctx. It is safe to call
// more than once; later calls return the first call's result.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.shutdown.Do(func() { m.shutdownErr = m.doShutdown(ctx) })
	return m.shutdownErr
}

func (m *Manager) doShutdown(ctx context.Context) error {
	start := time.Now()
	m.mu.Lock()
	m.closing = true
	m.mu.Unlock()
	m.cancel()
	if err := waitCtx(ctx, &m.inflight); err != nil {
		m.log.Warn("shutdown_commands_pending", "event", "shutdown_commands_pending", "error", err)
	}
	if err := waitCtx(ctx, &m.bg); err != nil {
		m.log.Warn("shutdown_background_pending", "event", "shutdown_background_pending", "error", err)
	}
	m.mu.Lock()
	entries := make([]*entry, 0, len(m.entries))
	for k, e := range m.entries {
		entries = append(entries, e)
		delete(m.entries, k)
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	errs := make(chan error, len(entries))
	for _, e := range entries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.sup.Close(ctx); err != nil {
				errs <- fmt.Errorf("close session %s: %w", e.sup.Key(), err)
			}
			if err := e.held.Release(ctx); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	var first error
	for err := range errs {
		m.log.Error("shutdown_session_failed", "event", "shutdown_session_failed", "outcome", "fail", "error", err)
		if first == nil {
			first = err
		}
	}
	m.log.Info("shutdown_done", "event", "shutdown_done", "outcome", "ok", "sessions", len(entries), "duration_ms", time.Since(start).Milliseconds())
	return first
}

// waitCtx waits for wg or until ctx is done.
func waitCtx(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
