package session

import (
	"context"
	"errors"
	"time"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/metrics"
)

// resultAttempts bounds how often the writer tries to store one send outcome, and
// resultRetry is the pause after the first failed try (doubled after each one).
const (
	resultAttempts = 4
	resultRetry    = 100 * time.Millisecond
)

// sendResult is the outcome of one send, to be stored.
type sendResult struct {
	id      string
	status  core.MessageStatus // sent or failed
	errText string
	at      time.Time
}

// record hands a send outcome to the result writer, starting it if needed. It is
// called by the sender, which the supervisor's stop waits for, so the writer is
// always started before that wait can end.
func (s *Supervisor) record(id string, status core.MessageStatus, errText string) {
	r := sendResult{id: id, status: status, errText: errText, at: s.now().UTC()}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.results = append(s.results, r)
	if !s.writing {
		s.writing = true
		s.wg.Add(1)
		go s.writeResults()
	}
}

// writeResults stores the recorded outcomes in order and ends when none is left.
// It keeps going while the supervisor stops: an outcome is never dropped.
func (s *Supervisor) writeResults() {
	defer s.wg.Done()
	for {
		s.sendMu.Lock()
		if len(s.results) == 0 {
			s.results, s.writing = nil, false
			s.sendMu.Unlock()
			return
		}
		r := s.results[0]
		s.results[0] = sendResult{}
		s.results = s.results[1:]
		s.sendMu.Unlock()
		if s.storeResult(r) {
			s.unclaim(r.id)
		}
	}
}

// storeResult records a send outcome (only if it moves the message forward: a
// receipt stored first is never undone) and publishes message.status. It retries a
// failed write a few times; false means the outcome could not be stored, and the
// message stays claimed so this supervisor never sends it again.
func (s *Supervisor) storeResult(r sendResult) bool {
	delay := resultRetry
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), storeTimeout)
		m, err := s.deps.Messages.UpdateMessage(ctx, s.key, r.id, func(m *core.Message) error {
			if !m.Status.Advances(r.status) {
				return errNoChange
			}
			m.Status, m.Error, m.UpdatedAt = r.status, r.errText, r.at
			return nil
		})
		switch {
		case errors.Is(err, errNoChange), core.IsCode(err, core.CodeNotFound):
			cancel()
			return true
		case err == nil:
			if r.status == core.MessageFailed {
				s.deps.Metrics.Count(metrics.MessagesFailed, 1)
			}
			s.publish(ctx, core.EventMessageStatus, m)
			cancel()
			return true
		}
		cancel()
		if attempt == resultAttempts {
			s.log.Error("message_update_failed", "event", "message_update_failed", "outcome", "fail", "message_id", r.id, "status", r.status, "error", err)
			return false
		}
		s.log.Warn("message_update_failed", "event", "message_update_failed", "outcome", "retry", "message_id", r.id, "status", r.status, "attempt", attempt, "error", err)
		time.Sleep(delay)
		delay *= 2
	}
}
