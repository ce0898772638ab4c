package session

import (
	"context"

	"github.com/wagate/wagate/connector/wa"
	"github.com/wagate/wagate/core"
)

// logout handles Logout and Delete. A logged-in client tells WhatsApp at once; a
// linked session that is not logged in connects first (the request completes when
// it logs in, or locally if it cannot); a session never linked just stops.
func (s *Supervisor) logout(r *request) {
	if s.logoutReq != nil {
		r.answer("", core.Errorf(core.CodeWrongState, "a logout of this session is already under way"))
		return
	}
	s.failPairs(ErrStopped)
	switch {
	case s.cli != nil && s.cli.IsLoggedIn():
		s.logoutReq = r
		s.runLogout()
	case s.linked():
		s.logoutReq = r
		if s.cli == nil {
			s.reconnect.stop()
			s.startAttempt()
		}
	default:
		s.logoutReq = r
		s.finishLogout(nil)
	}
}

// runLogout asks WhatsApp to unlink the device, in the background.
func (s *Supervisor) runLogout() {
	s.logoutBusy = true
	cli, gen := s.cli, s.gen
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(s.ctx, s.cfg.CallTimeout)
		defer cancel()
		s.post(logoutResult{gen: gen, err: cli.Logout(ctx)})
	}()
}

func (s *Supervisor) onLogoutResult(res logoutResult) {
	s.logoutBusy = false
	if s.logoutReq != nil {
		s.finishLogout(res.err)
	}
}

// finishLogout stops the session and forgets its device. serverErr says why WhatsApp
// was not told (nil: it was, or there was nothing to tell).
func (s *Supervisor) finishLogout(serverErr error) {
	r := s.logoutReq
	s.logoutReq = nil
	s.teardown()
	s.reconnect.stop()
	s.failPairs(ErrStopped)
	s.wipeDevice()
	msg := "logged out on request"
	if serverErr != nil {
		s.log.Warn("session_logout_local_only", "event", "session_logout_local_only", "error", wa.Redact(serverErr.Error()))
		msg = "logged out here, but WhatsApp could not be told; the phone may list the device until it expires"
	}
	if r.kind == reqDelete {
		s.finishDelete(r)
		return
	}
	now := s.now().UTC()
	s.write(func(x *core.Session) {
		x.Status, x.Desired, x.RetryAt = core.StatusLoggedOut, false, nil
		x.JID, x.PushName, x.ConnectedAt = "", "", nil
		x.LastError = &core.ErrorInfo{Code: CodeLogout, Message: msg, At: now}
	})
	s.deleteQR()
	s.log.Info("session_logged_out", "event", "session_logged_out", "outcome", "ok")
	r.answer("", nil)
}

// finishDelete removes the session (with its QR and messages) and ends the loop.
func (s *Supervisor) finishDelete(r *request) {
	ctx, cancel := s.storeCtx()
	defer cancel()
	err := s.deps.Sessions.DeleteSession(ctx, s.key)
	if core.IsCode(err, core.CodeNotFound) {
		err = nil
	}
	if err != nil {
		s.log.Error("session_delete_failed", "event", "session_delete_failed", "outcome", "fail", "error", err)
		r.answer("", err)
		return
	}
	s.log.Info("session_deleted", "event", "session_deleted", "outcome", "ok")
	s.exit = true
	r.answer("", nil)
}
