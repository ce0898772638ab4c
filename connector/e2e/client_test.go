package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/connector/internal/apitest"
	"github.com/wagate/wagate/core"
)

// client calls wagate's HTTP API as an admin back office would.
type client struct{ *apitest.Client }

func newClient(base, token string) *client { return &client{apitest.New(base, token)} }

// stream is a GET /v1/events subscription that records every event.
type stream struct {
	mu     sync.Mutex
	events []core.Event
	notify chan struct{}
	err    error
}

// events subscribes to the event stream until the test ends. It returns once the
// stream is open, so every event published afterwards is recorded.
func (c *client) events(t testing.TB) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	body, err := c.subscribe(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &stream{notify: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer body.Close()
		s.read(body)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

// subscribe opens GET /v1/events until ctx ends; the caller closes the body.
func (c *client) subscribe(ctx context.Context) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.Base+"/v1/events", nil)
	if err != nil {
		return nil, fmt.Errorf("events request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET /v1/events: %w", err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		return nil, fmt.Errorf("GET /v1/events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return resp.Body, nil
}

// read records the events of r until it ends.
func (s *stream) read(r io.Reader) {
	_ = readEvents(r, func(e core.Event, err error) bool {
		s.mu.Lock()
		if err != nil {
			s.err = err
		} else {
			s.events = append(s.events, e)
		}
		close(s.notify)
		s.notify = make(chan struct{})
		s.mu.Unlock()
		return true
	})
}

// readEvents parses Server-Sent Events from r ("data:" lines up to a blank line make
// one event) and hands each to fn, with an error when its data is not an event,
// until r ends or fn returns false.
func readEvents(r io.Reader, fn func(core.Event, error) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "data:"):
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		case line == "" && data.Len() > 0:
			var e core.Event
			err := json.Unmarshal([]byte(data.String()), &e)
			data.Reset()
			if err != nil {
				err = fmt.Errorf("bad event data: %w", err)
			}
			if !fn(e, err) {
				return nil
			}
		}
	}
	return sc.Err()
}

// mark returns how many events were recorded so far: pass it to waitFrom to look
// only at later events.
func (s *stream) mark() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events)
}

// waitFor returns the first recorded event (from the start of the stream) for which
// match is true, failing the test after timeout.
func (s *stream) waitFor(t testing.TB, timeout time.Duration, what string, match func(core.Event) bool) core.Event {
	t.Helper()
	return s.waitFrom(t, 0, timeout, what, match)
}

// waitFrom is waitFor looking at the events recorded from index from on.
func (s *stream) waitFrom(t testing.TB, from int, timeout time.Duration, what string, match func(core.Event) bool) core.Event {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for i := from; ; {
		s.mu.Lock()
		if s.err != nil {
			s.mu.Unlock()
			t.Fatalf("event stream: %v", s.err)
		}
		for ; i < len(s.events); i++ {
			if match(s.events[i]) {
				e := s.events[i]
				s.mu.Unlock()
				return e
			}
		}
		ch := s.notify
		s.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for the event %s; got %d events", timeout, what, i)
		}
	}
}

// statuses returns the session.status events of session id so far, as sessions.
func (s *stream) statuses(t testing.TB, id string) []core.Session {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []core.Session
	for _, e := range s.events {
		if e.Type != core.EventSessionStatus || e.SessionID != id {
			continue
		}
		var sess core.Session
		if err := json.Unmarshal(e.Data, &sess); err != nil {
			t.Fatalf("decode session.status data: %v", err)
		}
		out = append(out, sess)
	}
	return out
}

// statusEvent matches a session.status event of session id with status st.
func statusEvent(id string, st core.Status) func(core.Event) bool {
	return func(e core.Event) bool {
		if e.Type != core.EventSessionStatus || e.SessionID != id {
			return false
		}
		var s core.Session
		return json.Unmarshal(e.Data, &s) == nil && s.Status == st
	}
}
