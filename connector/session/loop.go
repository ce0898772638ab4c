package session

import (
	"github.com/wagate/wagate/connector/wa"
	"github.com/wagate/wagate/core"
)

// run is the supervisor's loop: every state change happens here. It handles the
// mailbox until it is empty, or until the supervisor stops or its session is gone.
func (s *Supervisor) run() {
	for {
		e, ok := s.take()
		if !ok {
			return
		}
		if stop, ok := e.(stopRequest); ok {
			s.shutdown(stop.write)
			s.finish()
			return
		}
		s.handle(e)
		if s.exit {
			s.teardown()
			s.teardowns.Wait()
			s.finish()
			return
		}
	}
}

// handle applies one item of the mailbox.
func (s *Supervisor) handle(e any) {
	switch e := e.(type) {
	case *request:
		if err := e.ctx.Err(); err != nil {
			e.answer("", err) // the caller gave up before its turn
			return
		}
		s.handleRequest(e)
	case timerFired:
		s.onTimer(e)
	default:
		s.handleLoopEvent(e)
	}
}

// onTimer handles the expiry of the reconnect or the connect timer, unless the
// timer was stopped or set again since.
func (s *Supervisor) onTimer(e timerFired) {
	switch e.kind {
	case timerReconnect:
		if s.reconnect.fired(e) {
			s.onReconnectTimer()
		}
	case timerConnect:
		if s.connectTO.fired(e) && s.cli != nil {
			s.onRetry(retry(CodeConnectTimeout, "WhatsApp did not complete the login in time"))
		}
	}
}

func (s *Supervisor) handleRequest(r *request) {
	switch r.kind {
	case reqConnect:
		s.connect(r)
	case reqDisconnect:
		s.disconnect(r)
	case reqLogout, reqDelete:
		s.logout(r)
	case reqPair:
		s.pair(r)
	case reqSettings:
		s.applySettings(r)
	}
}

func (s *Supervisor) handleLoopEvent(e any) {
	switch e := e.(type) {
	case waEvent:
		s.handleConnEvent(e.gen, e.evt)
	case qrEvent:
		if e.gen == s.gen && s.cli != nil {
			s.onQR(e.item)
		}
	case connectResult:
		if e.gen == s.gen && s.cli != nil {
			if o := classifyConnectError(e.err); o.action == actRetry {
				s.log.Warn("session_connect_failed", "event", "session_connect_failed", "outcome", "retry", "error", wa.Redact(e.err.Error()))
				s.onRetry(o)
			}
		}
	case pairResult:
		s.onPairResult(e)
	case logoutResult:
		s.onLogoutResult(e)
	}
}

// connect handles Connect.
func (s *Supervisor) connect(r *request) {
	switch {
	case s.cli != nil:
		// Already connecting, showing a QR, pairing or connected.
		s.markDesired(true)
	case s.sess.Status == core.StatusBanned && s.sess.RetryAt != nil && s.now().Before(*s.sess.RetryAt):
		s.markDesired(true)
		s.reconnect.set(s.sess.RetryAt.Sub(s.now()))
		s.log.Info("session_connect_deferred", "event", "session_connect_deferred", "outcome", "pending", "retry_at", s.sess.RetryAt)
	default:
		s.reconnect.stop()
		s.bo.Reset()
		s.write(func(x *core.Session) {
			x.Status, x.Desired, x.LastError, x.RetryAt = core.StatusConnecting, true, nil, nil
		})
		s.startAttempt()
	}
	r.answer("", nil)
}

// onReconnectTimer starts the attempt a backoff delay or a ban expiry scheduled.
func (s *Supervisor) onReconnectTimer() {
	if s.cli != nil {
		return
	}
	if s.sess.Status != core.StatusReconnecting {
		s.write(func(x *core.Session) { x.Status, x.RetryAt = core.StatusConnecting, nil })
	}
	s.startAttempt()
}

// disconnect handles Disconnect: the socket closes, the link stays.
func (s *Supervisor) disconnect(r *request) {
	wasActive := s.cli != nil || s.sess.Status.Active() || s.sess.Status == core.StatusNew
	s.stopAll(ErrStopped)
	if wasActive {
		s.write(func(x *core.Session) {
			x.Status, x.Desired, x.LastError, x.RetryAt = core.StatusDisconnected, false, nil, nil
		})
		s.deleteQR()
	} else {
		s.markDesired(false)
	}
	s.log.Info("session_disconnected", "event", "session_disconnected", "outcome", "ok")
	r.answer("", nil)
}

// applySettings handles ApplySettings: a new network path reconnects.
func (s *Supervisor) applySettings(r *request) {
	old := s.sess.Settings
	s.sess.Settings = r.settings
	if s.cli != nil && (old.PreferIPv4 != r.settings.PreferIPv4 || old.ProxyURL != r.settings.ProxyURL) {
		s.log.Info("session_network_settings_changed", "event", "session_network_settings_changed", "outcome", "pending")
		s.teardown()
		s.write(func(x *core.Session) { x.Status = core.StatusConnecting })
		s.startAttempt()
	}
	r.answer("", nil)
}

// stopAll ends the connection and every pending request and timer.
func (s *Supervisor) stopAll(cause error) {
	s.teardown()
	s.reconnect.stop()
	s.failPairs(cause)
	if s.logoutReq != nil && !s.logoutBusy {
		s.logoutReq.answer("", cause)
		s.logoutReq = nil
	}
}

// markDesired records whether a user wants the session connected.
func (s *Supervisor) markDesired(desired bool) {
	if s.sess.Desired != desired {
		s.write(func(x *core.Session) { x.Desired = desired })
	}
}

// shutdown stops the session for Close (write) or Abort.
func (s *Supervisor) shutdown(write bool) {
	wasActive := s.cli != nil || s.sess.Status.Active()
	s.stopAll(ErrClosed)
	if s.logoutReq != nil {
		s.logoutReq.answer("", ErrClosed)
		s.logoutReq = nil
	}
	s.teardowns.Wait()
	if write && wasActive {
		s.write(func(x *core.Session) {
			x.Status, x.RetryAt = core.StatusDisconnected, nil
			x.LastError = &core.ErrorInfo{Code: CodeShutdown, Message: "the connector stopped; the session reconnects when a connector holds it again", At: s.now().UTC()}
		})
		s.deleteQR()
	}
	s.log.Info("session_supervisor_stopped", "event", "session_supervisor_stopped", "outcome", "ok", "status", s.sess.Status)
}
