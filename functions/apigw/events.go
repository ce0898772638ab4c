package apigw

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/wagate/wagate/core"
)

// eventsBuffer is how many events may wait for a slow SSE client.
const eventsBuffer = 64

// events streams the caller's events as Server-Sent Events until the client goes
// or the subscription closes, with a keep-alive comment every EventsHeartbeat. 404
// when this deployment has no event source.
func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	if s.Events == nil {
		return core.Errorf(core.CodeNotFound, "the event stream is not available in this deployment; use webhooks")
	}
	ctx := r.Context()
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout; not every writer supports it
	ch, cancel := s.Events.SubscribeEvents(tenantOf(r), eventsBuffer)
	defer cancel()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := io.WriteString(w, ": connected\n\n"); err != nil {
		return nil
	}
	if err := rc.Flush(); err != nil {
		s.log(ctx).Warn("events_flush_unsupported", "event", "events_flush_unsupported", "error", err.Error())
		return nil
	}
	s.log(ctx).Info("events_subscribed", "event", "events_subscribed")
	ticker := time.NewTicker(s.Options.EventsHeartbeat)
	defer ticker.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			_, err = io.WriteString(w, ": ping\n\n")
		case e, ok := <-ch:
			if !ok {
				s.log(ctx).Info("events_subscription_closed", "event", "events_subscription_closed")
				return nil
			}
			data, merr := json.Marshal(e)
			if merr != nil {
				s.log(ctx).Error("event_encode_failed", "event", "event_encode_failed", "outcome", "fail", "event_id", e.ID, "error", merr.Error())
				continue
			}
			_, err = fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", e.ID, e.Type, data)
		}
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			return nil // the client went away; nothing to answer
		}
	}
}
