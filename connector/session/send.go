package session

import (
	"context"
	"fmt"
	"sync"
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

// sendState is a session's outgoing side. Messages wait in pending (a slice, so an
// idle session holds no buffer) for one sender goroutine, which runs only while
// there is something to send; their outcomes (sent, failed) are stored by a writer
// goroutine that likewise runs only while outcomes wait, so the next message goes
// out while the previous one's status is written.
//
// claimed is the exactly-once guard of this holder: it has every message id that is
// queued, being sent, or whose outcome is not stored yet. The supervisor is the only
// sender of its session while it holds the lease, so an id it has claimed is never
// sent again; an id it does not know is read from the store first and queued only
// while its status is still queued (a redelivered command of a message already
// sent, or failed, is dropped there). Once the outcome is stored the id is let go:
// the store answers for it from then on.
type sendState struct {
	sendMu     sync.Mutex
	pending    []outgoing          // FIFO; nil while empty
	claimed    map[string]struct{} // nil while empty
	sending    bool                // a sender goroutine runs
	space      chan struct{}       // closed when a queued message leaves; nil until a Send waits
	results    []sendResult        // outcomes to store, FIFO; nil while empty
	writing    bool                // a result writer goroutine runs
	sendClosed bool                // the supervisor stopped: no new goroutines
	lastSend   time.Time           // when WhatsApp was last asked to deliver (pacing)
}

// outgoing is a message waiting to be sent.
type outgoing struct {
	id, to, text string
}

// AdmitSend reports whether the session's send queue has room: a rate_limited
// *core.RetryAfterError when it is full. The API asks before storing a message.
func (s *Supervisor) AdmitSend() error {
	s.sendMu.Lock()
	n := len(s.pending)
	s.sendMu.Unlock()
	if n < s.cfg.SendQueue {
		return nil
	}
	secs := int((time.Duration(n)*s.cfg.SendInterval + time.Second - 1) / time.Second)
	return core.NewRetryAfter(max(secs, 1), "the session's send queue is full (%d messages); retry later", s.cfg.SendQueue)
}

// Send queues a stored outgoing message for sending. It blocks while the queue is
// full, until ctx is done. A message this supervisor has queued or sent is not
// queued again; any other message is read from the store and queued only while its
// status is queued, so a redelivered command never sends twice. A store failure is
// returned (the command is then redelivered).
func (s *Supervisor) Send(ctx context.Context, p core.SendPayload) error {
	if !s.claim(p.MessageID) {
		return nil
	}
	o, ok, err := s.loadQueued(ctx, p)
	if err != nil || !ok {
		s.unclaim(p.MessageID)
		return err
	}
	return s.enqueue(ctx, o)
}

// loadQueued reads the message of p; ok is false when it is gone or no longer queued.
func (s *Supervisor) loadQueued(ctx context.Context, p core.SendPayload) (outgoing, bool, error) {
	log := s.log.With("message_id", p.MessageID)
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	m, err := s.deps.Messages.GetMessage(sctx, s.key, p.MessageID)
	cancel()
	switch {
	case core.IsCode(err, core.CodeNotFound):
		log.Warn("message_send_skipped", "event", "message_send_skipped", "reason", "not_found")
		return outgoing{}, false, nil
	case err != nil:
		log.Error("message_load_failed", "event", "message_load_failed", "outcome", "fail", "error", err)
		return outgoing{}, false, fmt.Errorf("load message to send: %w", err)
	case m.Status != core.MessageQueued:
		log.Info("message_send_skipped", "event", "message_send_skipped", "reason", "already_"+string(m.Status))
		return outgoing{}, false, nil
	}
	return outgoing{id: m.ID, to: firstNonEmpty(m.To, p.To), text: firstNonEmpty(m.Text, p.Text)}, true, nil
}

// claim records id as this supervisor's to send; false if it already was.
func (s *Supervisor) claim(id string) bool {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if _, ok := s.claimed[id]; ok {
		return false
	}
	if s.claimed == nil {
		s.claimed = make(map[string]struct{})
	}
	s.claimed[id] = struct{}{}
	return true
}

// unclaim lets go of id: the store decides about it from now on.
func (s *Supervisor) unclaim(id string) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	delete(s.claimed, id)
	if len(s.claimed) == 0 {
		s.claimed = nil // give the map's memory back to an idle session
	}
}

// enqueue appends a claimed message to the queue, waiting while it is full, and
// starts the sender if it is not running.
func (s *Supervisor) enqueue(ctx context.Context, o outgoing) error {
	for {
		s.sendMu.Lock()
		if s.sendClosed || isClosed(s.done) {
			s.sendMu.Unlock()
			s.unclaim(o.id)
			return ErrClosed
		}
		if len(s.pending) < s.cfg.SendQueue {
			s.pending = append(s.pending, o)
			if !s.sending {
				s.sending = true
				s.wg.Add(1)
				go s.sendLoop()
			}
			s.sendMu.Unlock()
			return nil
		}
		if s.space == nil {
			s.space = make(chan struct{})
		}
		space := s.space
		s.sendMu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			s.unclaim(o.id)
			return ctx.Err()
		case <-s.done:
			s.unclaim(o.id)
			return ErrClosed
		}
	}
}

// next takes the first queued message, or ends the sender (ok false) when there is
// none. It also returns when the previous message was sent, for pacing.
func (s *Supervisor) next() (o outgoing, last time.Time, ok bool) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if len(s.pending) == 0 {
		s.pending, s.sending = nil, false
		return outgoing{}, time.Time{}, false
	}
	o = s.pending[0]
	s.pending[0] = outgoing{}
	s.pending = s.pending[1:]
	if s.space != nil {
		close(s.space)
		s.space = nil
	}
	return o, s.lastSend, true
}

// closeSends stops starting goroutines for sends and outcomes: the supervisor is
// stopping and waits for the ones that run.
func (s *Supervisor) closeSends() {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.sendClosed = true
}

// sendLoop sends the queued messages one at a time, SendInterval apart, and ends
// when the queue is empty (Send starts it again).
func (s *Supervisor) sendLoop() {
	defer s.wg.Done()
	for {
		o, last, ok := s.next()
		if !ok {
			return
		}
		if wait := s.cfg.SendInterval - time.Since(last); s.cfg.SendInterval > 0 && wait > 0 {
			if !sleepCtx(s.ctx, wait) {
				return
			}
		}
		if s.sendOne(o) {
			s.sendMu.Lock()
			s.lastSend = time.Now()
			s.sendMu.Unlock()
		}
	}
}

// sendOne sends one message; it reports whether WhatsApp was asked to deliver it.
// Its outcome is stored by the result writer.
func (s *Supervisor) sendOne(o outgoing) bool {
	jid, err := wa.ParseRecipient(o.to)
	if err != nil {
		s.record(o.id, core.MessageFailed, "the recipient is not a valid WhatsApp address")
		return false
	}
	cli, err := s.waitLoggedIn()
	if err != nil {
		if s.ctx.Err() == nil {
			s.record(o.id, core.MessageFailed, err.Error())
		}
		return false
	}
	sctx, cancel := context.WithTimeout(s.ctx, s.cfg.SendTimeout)
	defer cancel()
	start := time.Now()
	_, err = cli.SendMessage(sctx, jid, &waE2E.Message{Conversation: proto.String(o.text)},
		whatsmeow.SendRequestExtra{ID: types.MessageID(o.id)})
	if err != nil {
		s.log.Warn("message_send_failed", "event", "message_send_failed", "outcome", "fail", "message_id", o.id, "to", wa.MaskJID(o.to), "error", wa.Redact(err.Error()))
		if s.ctx.Err() == nil {
			s.record(o.id, core.MessageFailed, "WhatsApp did not accept the message: "+wa.Redact(err.Error()))
		}
		return true
	}
	took := time.Since(start)
	s.record(o.id, core.MessageSent, "")
	s.deps.Metrics.Count(metrics.MessagesSent, 1)
	s.deps.Metrics.Duration(metrics.SendLatency, took)
	s.log.Info("message_sent", "event", "message_sent", "outcome", "ok", "message_id", o.id, "to", wa.MaskJID(o.to), "duration_ms", float64(took.Microseconds())/1000)
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

// resumeQueued re-enqueues, once per supervisor, outgoing messages an earlier holder
// left queued (accepted, but never sent before a restart), oldest first.
func (s *Supervisor) resumeQueued() {
	if s.resumed {
		return
	}
	s.resumed = true
	var pending []outgoing
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
				pending = append(pending, outgoing{id: m.ID, to: m.To, text: m.Text})
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
			// Just read as queued: a message this supervisor knows is skipped.
			if !s.claim(pending[i].id) {
				continue
			}
			if err := s.enqueue(s.ctx, pending[i]); err != nil {
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

// isClosed reports whether ch is closed.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
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
