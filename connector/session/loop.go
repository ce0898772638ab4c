package session

import (
	"github.com/wagate/wagate/connector/wa"
	"github.com/wagate/wagate/core"
)

// run is the supervisor's goroutine: every state change happens here.
func (s *Supervisor) run() {
	defer close(s.done)
	for !s.exit {
		select {
		case write := <-s.stopCh:
			s.shutdown(write)
			return
		case r := <-s.reqs:
			s.handleRequest(r)
		case e := <-s.events:
			s.handleLoopEvent(e)
		case <-s.reconnect.c:
			s.reconnect.stop()
			s.onReconnectTimer()
		case <-s.connectTO.c:
			s.connectTO.stop()
			if s.cli != nil {
				s.onRetry(retry(CodeConnectTimeout, "WhatsApp did not complete the login in time"))
			}
		}
	}
	s.teardown()
	s.teardowns.Wait()
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
