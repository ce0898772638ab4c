package session

import (
	"fmt"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/connector/wa"
	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/metrics"
)

// qrTimeoutSlack tells the QR channel's "timeout" after the last code expired (no
// scan: qr_timeout) from one caused by a dropped socket (transient).
const qrTimeoutSlack = 2 * time.Second

// banMargin is how long after a ban's announced expiry the session reconnects.
const banMargin = time.Second

// handleConnEvent applies a whatsmeow connection event of client generation gen.
// Events of earlier clients are ignored, except fatal ones of the client torn down
// last (whatsmeow may report a logout or ban just after the socket closed).
func (s *Supervisor) handleConnEvent(gen uint64, evt any) {
	o := classify(evt, s.cfg.KeepAliveFailures)
	current := gen == s.gen && s.cli != nil
	switch o.action {
	case actIgnore:
		if _, ok := evt.(*events.KeepAliveTimeout); ok && current {
			s.log.Warn("session_keepalive_missed", "event", "session_keepalive_missed", "outcome", "retry", "failures", evt.(*events.KeepAliveTimeout).ErrorCount)
		}
	case actConnected:
		if current {
			s.onConnected()
		}
	case actPaired:
		if current {
			s.onPaired(evt.(*events.PairSuccess))
		}
	case actRetry:
		if current {
			s.onRetry(o)
		}
	case actStop, actBanned:
		if current || (gen == s.prevGen && s.cli == nil && s.sess.Status == core.StatusReconnecting) {
			s.onStop(o)
		}
	}
}

// onConnected: logged in, messages flow.
func (s *Supervisor) onConnected() {
	s.connectTO.stop()
	s.bo.Reset()
	cli := s.cli
	jid := wa.MakeDeviceJID(cli.Store.GetJID())
	pushName := cli.Store.PushName
	now := s.now().UTC()
	s.write(func(x *core.Session) {
		x.Status, x.ConnectedAt, x.JID, x.LastError, x.RetryAt = core.StatusConnected, &now, jid, nil, nil
		if pushName != "" {
			x.PushName = pushName
		}
	})
	s.deleteQR()
	s.live.setClient(cli)
	s.failPairs(ErrLinked)
	s.deps.Metrics.Count(metrics.Connects, 1)
	s.log.Info("session_connected", "event", "session_connected", "outcome", "ok", "jid", wa.MaskJID(jid))
	if s.logoutReq != nil {
		s.runLogout()
		return
	}
	s.resumeQueued()
}

// onPaired: the phone linked the device; whatsmeow reconnects to log in.
func (s *Supervisor) onPaired(evt *events.PairSuccess) {
	s.connectTO.set(s.cfg.ConnectTimeout)
	jid := wa.MakeDeviceJID(evt.ID)
	s.write(func(x *core.Session) {
		x.Status, x.JID, x.LastError, x.RetryAt = core.StatusConnecting, jid, nil, nil
	})
	s.deleteQR()
	s.failPairs(ErrLinked)
	s.deps.Metrics.Count(metrics.QRScanned, 1)
	s.log.Info("session_paired", "event", "session_paired", "outcome", "ok", "jid", wa.MaskJID(jid), "platform", evt.Platform)
}

// onRetry handles a transient failure: drop the client and reconnect after the next
// backoff delay. A pending logout is completed locally instead.
func (s *Supervisor) onRetry(o outcome) {
	s.teardown()
	if s.logoutReq != nil && !s.logoutBusy {
		s.finishLogout(errorText(o.code))
		return
	}
	s.scheduleRetry(o)
}

// scheduleRetry records status reconnecting and arms the reconnect timer.
func (s *Supervisor) scheduleRetry(o outcome) {
	delay := s.bo.Next()
	now := s.now().UTC()
	retryAt := now.Add(delay)
	s.deps.Metrics.Count(metrics.ReconnectAttempts, 1, metrics.D(metrics.DimReason, o.code))
	s.log.Warn("session_reconnecting", "event", "session_reconnecting", "outcome", "retry", "code", o.code, "attempt", s.bo.Attempt(), "retry_in", delay.Round(time.Millisecond).String())
	s.write(func(x *core.Session) {
		x.Status, x.RetryAt = core.StatusReconnecting, &retryAt
		x.LastError = &core.ErrorInfo{Code: o.code, Message: o.message, At: now}
	})
	s.reconnect.set(delay)
}

// onStop handles a fatal outcome: no reconnect (a ban reconnects once it expired).
func (s *Supervisor) onStop(o outcome) {
	s.teardown()
	s.reconnect.stop()
	if o.wipe {
		s.wipeDevice()
	}
	if s.logoutReq != nil && !s.logoutBusy {
		s.finishLogout(errorText(o.code))
		return
	}
	s.failPairs(ErrStopped)
	now := s.now().UTC()
	var retryAt *time.Time
	if o.action == actBanned {
		// WhatsApp rounds the expiry to seconds: wait a little past it. A ban without
		// an expiry is retried on the backoff schedule.
		after := o.retryAfter + banMargin
		if o.retryAfter <= 0 {
			after = s.bo.Next()
		}
		t := now.Add(after)
		retryAt = &t
		s.reconnect.set(after)
	}
	// A ban or an outdated client may clear up (expiry, upgrade): stay desired.
	keep := o.status == core.StatusBanned || o.status == core.StatusOutdated
	s.write(func(x *core.Session) {
		x.Status, x.RetryAt, x.Desired = o.status, retryAt, x.Desired && keep
		x.LastError = &core.ErrorInfo{Code: o.code, Message: o.message, At: now}
		if o.wipe {
			x.JID, x.PushName, x.ConnectedAt = "", "", nil
		}
	})
	s.deleteQR()
	switch {
	case o.status.Fatal():
		s.deps.Metrics.Count(metrics.FatalEvents, 1, metrics.D(metrics.DimReason, string(o.status)))
	case o.code == CodeQRTimeout:
		s.deps.Metrics.Count(metrics.QRTimeouts, 1)
	}
	if o.status == core.StatusOutdated {
		s.log.Error("session_client_outdated", "event", "session_client_outdated", "outcome", "fail", "status", o.status, "code", o.code, "message", o.message)
	} else {
		s.log.Warn("session_stopped", "event", "session_stopped", "outcome", "fail", "status", o.status, "code", o.code, "retry_at", retryAt)
	}
}

// onQR handles an item of the QR channel.
func (s *Supervisor) onQR(item whatsmeow.QRChannelItem) {
	switch item.Event {
	case whatsmeow.QRChannelEventCode:
		s.connectTO.stop()
		now := s.now()
		s.qrShown, s.qrUntil = true, now.Add(item.Timeout)
		ctx, cancel := s.storeCtx()
		err := s.deps.QR.PutQR(ctx, s.key, core.QR{Code: item.Code, ExpiresAt: s.qrUntil.UTC()})
		cancel()
		if err != nil {
			s.log.Error("session_qr_store_failed", "event", "session_qr_store_failed", "outcome", "fail", "error", err)
		}
		s.deps.Metrics.Count(metrics.QRIssued, 1)
		if s.sess.Status != core.StatusQR && s.sess.Status != core.StatusPairing {
			s.write(func(x *core.Session) { x.Status, x.LastError, x.RetryAt = core.StatusQR, nil, nil })
		}
		s.log.Info("session_qr", "event", "session_qr", "outcome", "pending", "expires_in", item.Timeout.String())
		s.servePairs()
	case whatsmeow.QRChannelTimeout.Event:
		if s.now().Before(s.qrUntil.Add(-qrTimeoutSlack)) {
			s.onRetry(retry(CodeDisconnected, "the connection to WhatsApp closed while showing the QR code"))
			return
		}
		s.onStop(stop(core.StatusDisconnected, CodeQRTimeout, "no QR code was scanned in time; connect again for a new one"))
	case whatsmeow.QRChannelEventError:
		s.log.Warn("session_pair_error", "event", "session_pair_error", "error", wa.Redact(fmt.Sprint(item.Error)))
	}
}

// errorText is an error whose text is a lastError code.
type errorText string

func (e errorText) Error() string { return string(e) }
