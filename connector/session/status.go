package session

import (
	"context"

	"github.com/wagate/wagate/core"
)

// write applies mutate to the stored session with this holder's fence, records the
// result and publishes it as a session.status event. A write refused for a newer
// fence means another connector holds the session now: OnFenceLost is told. A
// session deleted underneath the supervisor ends it.
func (s *Supervisor) write(mutate func(*core.Session)) bool {
	ctx, cancel := s.storeCtx()
	defer cancel()
	now := s.now().UTC()
	fence := s.fence.Load()
	sess, err := s.deps.Sessions.UpdateSession(ctx, s.key, func(x *core.Session) error {
		mutate(x)
		if fence > x.Fence {
			x.Fence = fence
		} else if fence < x.Fence {
			return errFenced
		}
		x.UpdatedAt = now
		return nil
	})
	switch {
	case err == nil:
	case err == errFenced || core.IsCode(err, core.CodeConflict):
		s.log.Error("session_fenced", "event", "session_fenced", "outcome", "fail", "fence", fence, "error", err)
		if s.deps.OnFenceLost != nil {
			s.deps.OnFenceLost()
		}
		return false
	case core.IsCode(err, core.CodeNotFound):
		s.log.Warn("session_gone", "event", "session_gone", "outcome", "fail")
		s.exit = true
		return false
	default:
		s.log.Error("session_write_failed", "event", "session_write_failed", "outcome", "fail", "error", err)
		// Keep the loop's view in step so later decisions match what was meant.
		mutate(&s.sess)
		s.live.setStatus(s.sess.Status)
		return false
	}
	s.sess = sess
	// Publish before waking waiters on the live status: whoever proceeds on this
	// transition (the restore loop, WaitSettled) then publishes after it, so
	// subscribers see the session.status events in the order they happened.
	s.publish(ctx, core.EventSessionStatus, sess)
	s.live.setStatus(sess.Status)
	return true
}

// errFenced aborts an update whose stored fence is newer than ours.
var errFenced = core.Errorf(core.CodeConflict, "the session is held by a newer lease")

// publish sends an event about this session; failures are logged.
func (s *Supervisor) publish(ctx context.Context, typ core.EventType, data any) {
	e, err := core.NewEvent(typ, s.key, s.now(), data)
	if err == nil {
		err = s.deps.Events.PublishEvent(ctx, e)
	}
	if err != nil {
		s.log.Error("event_publish_failed", "event", "event_publish_failed", "outcome", "fail", "type", typ, "error", err)
	}
}
