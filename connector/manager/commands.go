package manager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/metrics"
)

// HandleCommand applies one command from the API; it is a core.CommandHandler.
// It returns nil once the command is done or can never succeed (unknown session,
// bad payload: logged), and an error to have it redelivered (connector shutting
// down, lease held elsewhere, store failure).
func (m *Manager) HandleCommand(ctx context.Context, c core.Command) error {
	m.mu.Lock()
	if m.closing {
		m.mu.Unlock()
		return ErrShuttingDown
	}
	m.inflight.Add(1)
	m.mu.Unlock()
	defer m.inflight.Done()

	if !c.At.IsZero() {
		m.deps.Metrics.Duration(metrics.CommandAge, max(m.deps.Now().Sub(c.At), 0), metrics.D(metrics.DimCommand, string(c.Type)))
	}
	start := time.Now()
	log := m.log.With("tenant", c.Tenant, "session", c.SessionID, "command", c.Type, "command_id", c.ID)
	if c.Type == core.CmdDiagnostics {
		return m.settle(log, start, m.diagnostics(ctx, c))
	}
	key := c.Key()
	unlock := m.lockKey(key)
	defer unlock()
	var err error
	switch c.Type {
	case core.CmdConnect:
		err = m.withEntry(ctx, key, func(e *entry) error { return e.sup.Connect(ctx) })
	case core.CmdDisconnect:
		err = m.withEntry(ctx, key, func(e *entry) error {
			if err := e.sup.Disconnect(ctx); err != nil {
				return err
			}
			m.drop(key, e)
			return nil
		})
	case core.CmdLogout, core.CmdDelete:
		err = m.withEntry(ctx, key, func(e *entry) error {
			op := e.sup.Logout
			if c.Type == core.CmdDelete {
				op = e.sup.Delete
			}
			if err := op(ctx); err != nil {
				return err
			}
			m.drop(key, e)
			return nil
		})
	case core.CmdSettings:
		err = m.applySettings(ctx, key)
	case core.CmdPairCode:
		err = m.pairCode(ctx, c)
	case core.CmdSendMessage:
		err = m.send(ctx, c)
	default:
		// A newer API sent a command this connector does not know (a deploy in
		// progress): give it back, so that a connector that knows it takes it, and
		// the queue moves it to its dead letters once its receives run out. Acking
		// it would lose it without a trace.
		log.Error("command_unknown", "event", "command_unknown", "outcome", "fail")
		return fmt.Errorf("unknown command type %q: this connector is older than the API that sent it", c.Type)
	}
	return m.settle(log, start, err)
}

// settle decides whether a command's error asks for redelivery, and logs the
// outcome with how long the command took.
func (m *Manager) settle(log *slog.Logger, start time.Time, err error) error {
	log = log.With("duration_ms", float64(time.Since(start).Microseconds())/1000)
	switch core.ErrorCode(err) {
	case "":
		log.Info("command_done", "event", "command_done", "outcome", "ok")
		return nil
	case core.CodeInvalid, core.CodeNotFound, core.CodeWrongState:
		log.Warn("command_rejected", "event", "command_rejected", "outcome", "fail", "error", err)
		return nil
	}
	log.Error("command_failed", "event", "command_failed", "outcome", "fail", "error", err)
	return err
}

// withEntry takes the session (lease and supervisor) and runs fn on it.
func (m *Manager) withEntry(ctx context.Context, key core.SessionKey, fn func(*entry) error) error {
	e, err := m.ensure(ctx, key, m.cfg.LeaseWait)
	if err != nil {
		return err
	}
	return fn(e)
}

// applySettings gives a held session its stored settings (a new network path
// reconnects it); a session not held picks them up when it connects.
func (m *Manager) applySettings(ctx context.Context, key core.SessionKey) error {
	e := m.lookup(key)
	if e == nil {
		return nil
	}
	sess, err := m.deps.State.GetSession(ctx, key)
	if err != nil {
		return err
	}
	return e.sup.ApplySettings(ctx, sess.Settings)
}

// pairCode asks for a pairing code and stores the result (code or error) for the
// API, which polls for it.
func (m *Manager) pairCode(ctx context.Context, c core.Command) error {
	var p core.PairCodePayload
	code, err := "", c.DecodePayload(&p)
	if err == nil {
		var e *entry
		if e, err = m.ensure(ctx, c.Key(), m.cfg.LeaseWait); err == nil {
			code, err = e.sup.PairPhone(ctx, p.Phone)
		}
	}
	if err != nil && ctx.Err() != nil {
		return err // the caller gave up; a redelivery may still serve it
	}
	var data any
	if err == nil {
		data = core.PairCodeResult{Code: code}
	}
	if perr := m.putResult(ctx, c, data, err); perr != nil {
		return perr
	}
	if core.IsCode(err, core.CodeConnectorUnavailable) || core.IsCode(err, core.CodeInternal) {
		return nil // answered with the error; a redelivery would answer too late
	}
	return err
}

// send queues a message.send; a session that is neither connected nor meant to be
// fails the message at once.
func (m *Manager) send(ctx context.Context, c core.Command) error {
	var p core.SendPayload
	if err := c.DecodePayload(&p); err != nil {
		return err
	}
	key := c.Key()
	e := m.lookup(key)
	if e == nil {
		sess, err := m.deps.State.GetSession(ctx, key)
		if err != nil {
			return err
		}
		if !sess.Desired && !sess.Status.Active() {
			return m.failMessage(ctx, key, p.MessageID, "the session is "+string(sess.Status)+", not connected")
		}
		if e, err = m.ensure(ctx, key, m.cfg.LeaseWait); err != nil {
			return err
		}
		if !e.sup.Status().Active() {
			if err := e.sup.Connect(ctx); err != nil {
				return err
			}
		}
	}
	return e.sup.Send(ctx, p)
}

// failMessage marks a queued message failed and publishes message.status.
func (m *Manager) failMessage(ctx context.Context, key core.SessionKey, id, reason string) error {
	now := m.deps.Now().UTC()
	msg, err := m.deps.State.UpdateMessage(ctx, key, id, func(x *core.Message) error {
		if !x.Status.Advances(core.MessageFailed) {
			return errUnchanged
		}
		x.Status, x.Error, x.UpdatedAt = core.MessageFailed, reason, now
		return nil
	})
	if errors.Is(err, errUnchanged) || core.IsCode(err, core.CodeNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	m.deps.Metrics.Count(metrics.MessagesFailed, 1)
	ev, err := core.NewEvent(core.EventMessageStatus, key, now, msg)
	if err == nil {
		err = m.deps.Events.PublishEvent(ctx, ev)
	}
	return err
}

var errUnchanged = errors.New("message status unchanged")

// diagnostics runs the network diagnostics and stores the report and the result.
func (m *Manager) diagnostics(ctx context.Context, c core.Command) error {
	if m.deps.Diagnose == nil {
		return m.putResult(ctx, c, nil, core.Errorf(core.CodeInternal, "diagnostics are not available in this connector"))
	}
	r := m.deps.Diagnose(ctx)
	if r.Connector == "" {
		r.Connector = m.cfg.ConnectorID
	}
	if r.Reason == "" {
		r.Reason = "request"
	}
	m.recordDiagnostics(r.OK)
	if err := m.deps.State.PutReport(ctx, r); err != nil {
		return err
	}
	return m.putResult(ctx, c, r, nil)
}

// RecordDiagnostics remembers the outcome of a diagnostics run made outside a
// command (the one at start), for the heartbeat.
func (m *Manager) RecordDiagnostics(ok bool) { m.recordDiagnostics(ok) }

func (m *Manager) recordDiagnostics(ok bool) {
	m.diagMu.Lock()
	defer m.diagMu.Unlock()
	m.diagOK = &ok
}

// putResult stores a command's result: data on success, the error's code and
// caller-safe message otherwise.
func (m *Manager) putResult(ctx context.Context, c core.Command, data any, cause error) error {
	now := m.deps.Now().UTC()
	r := core.CommandResult{CommandID: c.ID, Tenant: c.Tenant, SessionID: c.SessionID, Type: c.Type, At: now}
	if cause != nil {
		r.Error = &core.ErrorInfo{Code: string(core.ErrorCode(cause)), Message: core.ErrorMessage(cause), At: now}
	} else if data != nil {
		raw, err := json.Marshal(data)
		if err != nil {
			return core.WrapError(core.CodeInternal, err, "encode command result")
		}
		r.Data = raw
	}
	return m.deps.State.PutResult(ctx, r)
}
