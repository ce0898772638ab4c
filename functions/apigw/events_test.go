package apigw_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/functions/apigw"
)

// sseStream is an open GET /v1/events, read line by line.
type sseStream struct {
	res   *http.Response
	lines chan string
}

func (e *env) openEvents(t *testing.T, token string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	r, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	s := &sseStream{res: res, lines: make(chan string, 64)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(s.lines)
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { cancel(); res.Body.Close(); <-done })
	return s
}

// next returns the next line, or ok=false when the stream ended.
func (s *sseStream) next(t *testing.T) (string, bool) {
	t.Helper()
	select {
	case l, ok := <-s.lines:
		return l, ok
	case <-time.After(waitFor):
		t.Fatal("timed out reading the event stream")
		return "", false
	}
}

// nextEvent skips comments and returns the next event's fields.
func (s *sseStream) nextEvent(t *testing.T) (id, typ string, ev core.Event) {
	t.Helper()
	for {
		l, ok := s.next(t)
		if !ok {
			t.Fatal("the stream ended before an event")
		}
		switch {
		case strings.HasPrefix(l, "id: "):
			id = strings.TrimPrefix(l, "id: ")
		case strings.HasPrefix(l, "event: "):
			typ = strings.TrimPrefix(l, "event: ")
		case strings.HasPrefix(l, "data: "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(l, "data: ")), &ev); err != nil {
				t.Fatalf("event data %q: %v", l, err)
			}
		case l == "" && id != "":
			return id, typ, ev
		}
	}
}

func TestEventsStreamOnlyTheCallersTenant(t *testing.T) {
	e := newEnv(t)
	s := e.openEvents(t, tokenA)
	if s.res.StatusCode != http.StatusOK || s.res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events answered %d %q", s.res.StatusCode, s.res.Header.Get("Content-Type"))
	}
	if l, _ := s.next(t); !strings.HasPrefix(l, ":") { // subscribed once the first comment arrives
		t.Fatalf("first line %q", l)
	}

	ctx := context.Background()
	other, _ := core.NewEvent(core.EventSessionStatus, core.SessionKey{Tenant: tenantB, ID: "s1"}, time.Now(), map[string]string{"status": "qr"})
	mine, _ := core.NewEvent(core.EventMessageIn, core.SessionKey{Tenant: tenantA, ID: "s1"}, time.Now(), map[string]string{"text": "hi"})
	if err := e.bus.PublishEvent(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := e.bus.PublishEvent(ctx, mine); err != nil {
		t.Fatal(err)
	}
	id, typ, ev := s.nextEvent(t)
	if id != mine.ID || typ != string(core.EventMessageIn) || ev.Tenant != tenantA || ev.ID != mine.ID || string(ev.Data) != string(mine.Data) {
		t.Fatalf("got event %s %s %+v; want tenant A's %s", id, typ, ev, mine.ID)
	}

	// The stream ends when the subscription closes.
	_ = e.bus.Close()
	for range 100 {
		if _, ok := s.next(t); !ok {
			return
		}
	}
	t.Fatal("the stream did not end after the bus closed")
}

func TestEventsHeartbeatComment(t *testing.T) {
	e := newEnv(t, func(s *apigw.Server) { s.Options.EventsHeartbeat = 20 * time.Millisecond })
	s := e.openEvents(t, tokenA)
	for range 10 {
		if l, _ := s.next(t); l == ": ping" {
			return
		}
	}
	t.Fatal("no keep-alive comment")
}

func TestEventsNotEnabled(t *testing.T) {
	e := newEnv(t, func(s *apigw.Server) { s.Events = nil })
	expect(t, e.do(req{method: "GET", path: "/v1/events", token: tokenA}), http.StatusNotFound, "not_found")
}

// TestEventsClientLeaves: the handler ends when the client goes away, and the server
// keeps serving.
func TestEventsClientLeaves(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	r, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/v1/events", nil)
	r.Header.Set("Authorization", "Bearer "+tokenA)
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAtLeast(res.Body, make([]byte, 1), 1)
	cancel()
	res.Body.Close()
	poll(t, "the events request to finish", func() bool {
		return strings.Contains(e.logs.String(), `"path":"/v1/events","status":200`)
	})
	expect(t, e.do(req{method: "GET", path: "/v1/sessions", token: tokenA}), http.StatusOK, "")
}
