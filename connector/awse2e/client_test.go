//go:build unix

package awse2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/connector/internal/apitest"
	"github.com/wagate/wagate/core"
)

// client calls the API handlers as the admin back office would.
type client struct{ *apitest.Client }

func newClient(base, token string) *client { return &client{apitest.New(base, token)} }

// createSession creates a session that reconnects by itself after restarts.
func (c *client) createSession(t testing.TB, id string) core.Session {
	t.Helper()
	var s core.Session
	c.MustJSON(t, "PUT", "/v1/sessions/"+id, map[string]any{"displayName": "Front desk", "autoConnect": true}, 201, &s)
	return s
}

// qrCode waits until the session shows a QR code and returns it.
func (c *client) qrCode(t testing.TB, id string) string {
	t.Helper()
	var code string
	apitest.Eventually(t, linkTimeout, "a QR code for "+id, func() (bool, string) {
		r := c.Do(t, "GET", "/v1/sessions/"+id+"/qr", nil)
		var qr core.QR
		if r.Status == 200 && json.Unmarshal(r.Body, &qr) == nil && qr.Code != "" {
			code = qr.Code
			return true, ""
		}
		return false, r.String()
	})
	return code
}

// inbox lists the received messages, newest first.
func (c *client) inbox(t testing.TB, id string) []core.Message {
	t.Helper()
	var page core.MessagePage
	c.MustJSON(t, "GET", "/v1/sessions/"+id+"/messages?direction=in&limit=50", nil, 200, &page)
	return page.Messages
}

// eventLog reads the events queue as the events function would.
type eventLog struct {
	mu   sync.Mutex
	seen []core.Event
}

// waitFor receives from the events queue until an event matches.
func (l *eventLog) waitFor(t testing.TB, s *stack, what string, match func(core.Event) bool) core.Event {
	t.Helper()
	var found core.Event
	apitest.Eventually(t, eventTimeout, "event "+what, func() (bool, string) {
		for _, e := range l.receive(t, s) {
			if match(e) {
				found = e
				return true, ""
			}
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, e := range l.seen {
			if match(e) {
				found = e
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d events so far", len(l.seen))
	})
	return found
}

// all drains the queue and returns every event seen so far.
func (l *eventLog) all(t testing.TB, s *stack) []core.Event {
	t.Helper()
	for i := 0; i < 100 && len(l.receive(t, s)) > 0; i++ {
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]core.Event(nil), l.seen...)
}

// receive takes up to ten events off the queue, remembering them.
func (l *eventLog) receive(t testing.TB, s *stack) []core.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	out, err := s.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(s.eventsURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
	})
	if err != nil {
		t.Fatalf("receive events: %v", err)
	}
	var got []core.Event
	for _, m := range out.Messages {
		var e core.Event
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &e); err != nil {
			t.Errorf("the events queue holds a body that is not an event: %v", err)
			continue
		}
		got = append(got, e)
		_, _ = s.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.eventsURL), ReceiptHandle: m.ReceiptHandle})
	}
	l.mu.Lock()
	l.seen = append(l.seen, got...)
	l.mu.Unlock()
	return got
}

// statusEvent matches a session.status event with that status.
func statusEvent(id string, st core.Status) func(core.Event) bool {
	return func(e core.Event) bool {
		var s core.Session
		return e.Type == core.EventSessionStatus && e.SessionID == id && json.Unmarshal(e.Data, &s) == nil && s.Status == st
	}
}

// ctx returns a context bounded by opTimeout for one call.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), opTimeout)
	t.Cleanup(cancel)
	return c
}
