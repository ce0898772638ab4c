//go:build unix

package awse2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/core"
)

// client calls the API handlers as the admin back office would.
type client struct {
	base, token string
	http        *http.Client
}

func newClient(base, token string) *client {
	return &client{base: base, token: token, http: &http.Client{
		Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil},
	}}
}

// response is one answer of the API.
type response struct {
	status int
	body   []byte
}

func (r response) String() string {
	b := strings.TrimSpace(string(r.body))
	if len(b) > 300 {
		b = b[:300] + "…"
	}
	return fmt.Sprintf("%d %s", r.status, b)
}

// do sends one request; body is sent as JSON.
func (c *client) do(t testing.TB, method, path string, body any) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, path, err)
	}
	return response{status: resp.StatusCode, body: data}
}

// mustJSON sends a request, checks the status and decodes the answer into out.
func (c *client) mustJSON(t testing.TB, method, path string, body any, status int, out any) {
	t.Helper()
	r := c.do(t, method, path, body)
	if r.status != status {
		t.Fatalf("%s %s: %s, want %d", method, path, r, status)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, r, err)
		}
	}
}

// createSession creates a session that reconnects by itself after restarts.
func (c *client) createSession(t testing.TB, id string) core.Session {
	t.Helper()
	var s core.Session
	c.mustJSON(t, "PUT", "/v1/sessions/"+id, map[string]any{"displayName": "Front desk", "autoConnect": true}, 201, &s)
	return s
}

// qrCode waits until the session shows a QR code and returns it.
func (c *client) qrCode(t testing.TB, id string) string {
	t.Helper()
	var code string
	eventually(t, linkTimeout, "a QR code for "+id, func() (bool, string) {
		r := c.do(t, "GET", "/v1/sessions/"+id+"/qr", nil)
		var qr core.QR
		if r.status == 200 && json.Unmarshal(r.body, &qr) == nil && qr.Code != "" {
			code = qr.Code
			return true, ""
		}
		return false, r.String()
	})
	return code
}

// send queues a text message.
func (c *client) send(t testing.TB, id, to, text string) core.Message {
	t.Helper()
	var m core.Message
	c.mustJSON(t, "POST", "/v1/sessions/"+id+"/messages", map[string]string{"to": to, "text": text}, 202, &m)
	return m
}

// message reads one message.
func (c *client) message(t testing.TB, id, msgID string) core.Message {
	t.Helper()
	var m core.Message
	c.mustJSON(t, "GET", "/v1/sessions/"+id+"/messages/"+msgID, nil, 200, &m)
	return m
}

// inbox lists the received messages, newest first.
func (c *client) inbox(t testing.TB, id string) []core.Message {
	t.Helper()
	var page core.MessagePage
	c.mustJSON(t, "GET", "/v1/sessions/"+id+"/messages?direction=in&limit=50", nil, 200, &page)
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
	eventually(t, eventTimeout, "event "+what, func() (bool, string) {
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

// eventually polls cond until it holds or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	wait := 10 * time.Millisecond
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last: %s", timeout, what, detail)
		}
		time.Sleep(wait)
		wait = min(wait*2, 200*time.Millisecond)
	}
}

// describe renders a session's status and last error.
func describe(s core.Session) string {
	out := string(s.Status)
	if s.LastError != nil {
		out += fmt.Sprintf(" (%s: %s)", s.LastError.Code, s.LastError.Message)
	}
	return out
}

// ctx returns a context bounded by opTimeout for one call.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), opTimeout)
	t.Cleanup(cancel)
	return c
}
