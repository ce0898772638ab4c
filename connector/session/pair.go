package session

import (
	"context"
	"errors"

	"go.mau.fi/whatsmeow"

	"github.com/wagate/wagate/connector/wa"
	"github.com/wagate/wagate/core"
)

// pair handles PairPhone: the request waits until the session shows a QR code (the
// registration connection is up), then asks WhatsApp for a code.
func (s *Supervisor) pair(r *request) {
	if s.linked() {
		r.answer("", ErrLinked)
		return
	}
	s.pendingPairs = append(s.pendingPairs, r)
	if s.cli == nil {
		s.reconnect.stop()
		s.bo.Reset()
		s.write(func(x *core.Session) {
			x.Status, x.Desired, x.LastError, x.RetryAt = core.StatusConnecting, true, nil, nil
		})
		s.startAttempt()
		return
	}
	s.markDesired(true)
	s.servePairs()
}

// linked reports whether the session has a device paired with a phone.
func (s *Supervisor) linked() bool {
	return s.sess.JID != "" || (s.device != nil && s.device.ID != nil)
}

// servePairs starts the next pending pair-code request once a QR code was shown.
func (s *Supervisor) servePairs() {
	if s.pairBusy != nil || len(s.pendingPairs) == 0 || !s.qrShown || s.cli == nil {
		return
	}
	r := s.pendingPairs[0]
	s.pendingPairs = s.pendingPairs[1:]
	s.pairBusy = r
	cli, gen := s.cli, s.gen
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(s.ctx, s.cfg.CallTimeout)
		defer cancel()
		code, err := cli.PairPhone(ctx, r.phone, true, whatsmeow.PairClientChrome, wa.PairDisplayName)
		s.post(pairResult{gen: gen, code: code, err: err, req: r})
	}()
}

// onPairResult answers a pair-code request and moves the session to pairing.
func (s *Supervisor) onPairResult(res pairResult) {
	if res.req != s.pairBusy {
		return // already answered when the session stopped
	}
	s.pairBusy = nil
	switch {
	case res.err != nil:
		s.log.Warn("session_pair_code_failed", "event", "session_pair_code_failed", "outcome", "fail", "error", wa.Redact(res.err.Error()))
		res.req.answer("", pairError(res.err))
	case res.gen != s.gen || s.cli == nil:
		res.req.answer("", ErrStopped)
	default:
		s.write(func(x *core.Session) { x.Status = core.StatusPairing })
		s.log.Info("session_pair_code_issued", "event", "session_pair_code_issued", "outcome", "ok")
		res.req.answer(res.code, nil)
	}
	s.servePairs()
}

// pairError turns a PairPhone failure into a caller-safe error.
func pairError(err error) error {
	var iq *whatsmeow.IQError
	switch {
	case errors.Is(err, whatsmeow.ErrPhoneNumberTooShort), errors.Is(err, whatsmeow.ErrPhoneNumberIsNotInternational):
		return core.WrapError(core.CodeInvalid, err, "phone must be an international number in digits, like 15551234567")
	case errors.As(err, &iq):
		return core.WrapError(core.CodeInvalid, err, "WhatsApp refused the pairing request; check the phone number")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, whatsmeow.ErrIQTimedOut):
		return core.WrapError(core.CodeConnectorUnavailable, err, "WhatsApp did not answer the pairing request in time; try again")
	}
	return core.WrapError(core.CodeConnectorUnavailable, err, "the pairing request could not be sent; try again")
}

// failPairs answers every pending pair-code request with err, including one whose
// code WhatsApp is being asked for (its late result is then ignored).
func (s *Supervisor) failPairs(err error) {
	for _, r := range s.pendingPairs {
		r.answer("", err)
	}
	s.pendingPairs = nil
	if s.pairBusy != nil {
		s.pairBusy.answer("", err)
		s.pairBusy = nil
	}
}
