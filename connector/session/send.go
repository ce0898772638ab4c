package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/connector/wa"
	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/metrics"
)

// resumeScan bounds how many of the newest outgoing messages are checked for ones an
// earlier holder left queued.
const resumeScan = 5 * core.MaxPageSize

// AdmitSend reports whether the session's send queue has room: a rate_limited
// *core.RetryAfterError when it is full. The API asks before storing a message.
func (s *Supervisor) AdmitSend() error {
	n := len(s.queue)
	if n < cap(s.queue) {
		return nil
	}
	secs := int((time.Duration(n)*s.cfg.SendInterval + time.Second - 1) / time.Second)
	return core.NewRetryAfter(max(secs, 1), "the session's send queue is full (%d messages); retry later", cap(s.queue))
}

// Send queues a stored outgoing message for sending. It blocks while the queue is
// full, until ctx is done. A message already waiting in the queue is not queued
// twice; the sender re-reads each message and sends it only while it is queued, so a
// redelivered command never sends twice.
func (s *Supervisor) Send(ctx context.Context, p core.SendPayload) error {
	if !s.markQueued(p.MessageID) {
		return nil
	}
	select {
	case s.queue <- p:
		return nil
	case <-ctx.Done():
		s.unmarkQueued(p.MessageID)
		return ctx.Err()
	case <-s.done:
		s.unmarkQueued(p.MessageID)
		return ErrClosed
	}
}

func (s *Supervisor) markQueued(id string) bool {
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	if s.queued[id] {
		return false
	}
	s.queued[id] = true
	return true
}

func (s *Supervisor) unmarkQueued(id string) {
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	delete(s.queued, id)
}

// sendLoop drains the queue, one message at a time, SendInterval apart.
func (s *Supervisor) sendLoop() {
	defer s.wg.Done()
	var last time.Time
	for {
		select {
		case <-s.ctx.Done():
			return
		case p := <-s.queue:
			if wait := s.cfg.SendInterval - time.Since(last); s.cfg.SendInterval > 0 && wait > 0 {
				if !sleepCtx(s.ctx, wait) {
					return
				}
			}
			if s.sendOne(p) {
				last = time.Now()
			}
			s.unmarkQueued(p.MessageID)
		}
	}
}

// sendOne sends one message if it is still queued; it reports whether WhatsApp was
// asked to deliver it.
func (s *Supervisor) sendOne(p core.SendPayload) bool {
	log := s.log.With("message_id", p.MessageID)
	ctx, cancel := s.storeCtx()
	m, err := s.deps.Messages.GetMessage(ctx, s.key, p.MessageID)
	cancel()
	switch {
	case core.IsCode(err, core.CodeNotFound):
		log.Warn("message_send_skipped", "event", "message_send_skipped", "reason", "not_found")
		return false
	case err != nil:
		log.Error("message_load_failed", "event", "message_load_failed", "outcome", "fail", "error", err)
		return false
	case m.Status != core.MessageQueued:
		log.Info("message_send_skipped", "event", "message_send_skipped", "reason", "already_"+string(m.Status))
		return false
	}
	to, text := firstNonEmpty(m.To, p.To), firstNonEmpty(m.Text, p.Text)
	jid, err := wa.ParseRecipient(to)
	if err != nil {
		s.finishSend(m.ID, core.MessageFailed, "the recipient is not a valid WhatsApp address")
		return false
	}
	cli, err := s.waitLoggedIn()
	if err != nil {
		if s.ctx.Err() == nil {
			s.finishSend(m.ID, core.MessageFailed, err.Error())
		}
		return false
	}
	sctx, cancel := context.WithTimeout(s.ctx, s.cfg.SendTimeout)
	defer cancel()
	start := time.Now()
	_, err = cli.SendMessage(sctx, jid, &waE2E.Message{Conversation: proto.String(text)},
		whatsmeow.SendRequestExtra{ID: types.MessageID(m.ID)})
	if err != nil {
		log.Warn("message_send_failed", "event", "message_send_failed", "outcome", "fail", "to", wa.MaskJID(to), "error", wa.Redact(err.Error()))
		if s.ctx.Err() == nil {
			s.finishSend(m.ID, core.MessageFailed, "WhatsApp did not accept the message: "+wa.Redact(err.Error()))
		}
		return true
	}
	took := time.Since(start)
	s.deps.Metrics.Count(metrics.MessagesSent, 1)
	s.deps.Metrics.Duration(metrics.SendLatency, took)
	log.Info("message_sent", "event", "message_sent", "outcome", "ok", "to", wa.MaskJID(to), "duration_ms", float64(took.Microseconds())/1000)
	s.finishSend(m.ID, core.MessageSent, "")
	return true
}

// waitLoggedIn returns the logged-in client, waiting up to SendTimeout while the
// session is connecting; a stopped session fails at once.
func (s *Supervisor) waitLoggedIn() (*whatsmeow.Client, error) {
	deadline := time.NewTimer(s.cfg.SendTimeout)
	defer deadline.Stop()
	for {
		st, cli, changed := s.live.snapshot()
		if cli != nil && st == core.StatusConnected {
			return cli, nil
		}
		if !st.Active() {
			return nil, fmt.Errorf("the session is %s, not connected", st)
		}
		select {
		case <-changed:
		case <-deadline.C:
			return nil, fmt.Errorf("the session did not connect within %s", s.cfg.SendTimeout)
		case <-s.ctx.Done():
			return nil, s.ctx.Err()
		}
	}
}

// finishSend records a send outcome (only if it moves the message forward) and
// publishes message.status.
func (s *Supervisor) finishSend(id string, status core.MessageStatus, errText string) {
	ctx, cancel := s.storeCtx()
	defer cancel()
	now := s.now().UTC()
	m, err := s.deps.Messages.UpdateMessage(ctx, s.key, id, func(m *core.Message) error {
		if !m.Status.Advances(status) {
			return errNoChange
		}
		m.Status, m.Error, m.UpdatedAt = status, errText, now
		return nil
	})
	if errors.Is(err, errNoChange) {
		return
	}
	if err != nil {
		s.log.Error("message_update_failed", "event", "message_update_failed", "outcome", "fail", "message_id", id, "error", err)
		return
	}
	if status == core.MessageFailed {
		s.deps.Metrics.Count(metrics.MessagesFailed, 1)
	}
	s.publish(ctx, core.EventMessageStatus, m)
}

// resumeQueued re-enqueues, once per supervisor, outgoing messages an earlier holder
// left queued (accepted, but never sent before a restart), oldest first.
func (s *Supervisor) resumeQueued() {
	if s.resumed {
		return
	}
	s.resumed = true
	var pending []core.SendPayload
	q := core.MessageQuery{Direction: core.DirectionOut, Limit: core.MaxPageSize}
	for scanned := 0; scanned < resumeScan; {
		ctx, cancel := s.storeCtx()
		page, err := s.deps.Messages.ListMessages(ctx, s.key, q)
		cancel()
		if err != nil {
			s.log.Error("message_resume_failed", "event", "message_resume_failed", "outcome", "fail", "error", err)
			break
		}
		for _, m := range page.Messages {
			if m.Status == core.MessageQueued {
				pending = append(pending, core.SendPayload{MessageID: m.ID, To: m.To, Text: m.Text})
			}
		}
		scanned += len(page.Messages)
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	if len(pending) == 0 {
		return
	}
	s.log.Info("message_resume", "event", "message_resume", "outcome", "pending", "count", len(pending))
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for i := len(pending) - 1; i >= 0; i-- {
			if err := s.Send(s.ctx, pending[i]); err != nil {
				return
			}
		}
	}()
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// sleepCtx waits for d; it reports false if ctx ended first.
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
