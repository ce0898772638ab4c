//go:build unix

package splite2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
)

// client calls the HTTP API through devapi, as the admin back office calls API
// Gateway.
type client struct {
	base, token string
	http        *http.Client
}

func newClient(base, token string) *client {
	return &client{base: base, token: token, http: &http.Client{
		Timeout:   time.Minute,
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 32},
	}}
}

// response is one answer of the API.
type response struct {
	status int
	header http.Header
	body   []byte
}

// String renders the status and the start of the body.
func (r response) String() string {
	b := strings.TrimSpace(string(r.body))
	if len(b) > 300 {
		b = b[:300] + "…"
	}
	return fmt.Sprintf("%d %s", r.status, b)
}

// decode unmarshals the body into v.
func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r, err)
	}
}

// errorCode returns error.code of an API error answer.
func (r response) errorCode() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Code
}

// do sends one request; body is sent as JSON. header is name, value pairs.
func (c *client) do(t testing.TB, method, path string, body any, header ...string) response {
	t.Helper()
	r, err := c.try(method, path, body, header...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// try is do without a test, for goroutines.
func (c *client) try(method, path string, body any, header ...string) (response, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return response{}, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// mustJSON sends a request, checks the status and decodes the answer into out (if
// not nil).
func (c *client) mustJSON(t testing.TB, method, path string, body any, want int, out any) response {
	t.Helper()
	r := c.do(t, method, path, body)
	if r.status != want {
		t.Fatalf("%s %s: got %s, want status %d", method, path, r, want)
	}
	if out != nil {
		r.decode(t, out)
	}
	return r
}

// createSession creates a session whose events go to webhook ("" for none).
func (c *client) createSession(t testing.TB, id, webhook string) core.Session {
	t.Helper()
	var s core.Session
	c.mustJSON(t, "PUT", "/v1/sessions/"+id, map[string]any{"displayName": "Desk " + id, "webhookURL": webhook}, 201, &s)
	return s
}

// session returns GET /v1/sessions/{id}.
func (c *client) session(t testing.TB, id string) core.Session {
	t.Helper()
	var s core.Session
	c.mustJSON(t, "GET", "/v1/sessions/"+id, nil, 200, &s)
	return s
}

// waitStatus polls the session until its status is want.
func (c *client) waitStatus(t testing.TB, id string, want core.Status, timeout time.Duration) core.Session {
	t.Helper()
	var s core.Session
	eventually(t, timeout, fmt.Sprintf("session %s to be %s", id, want), func() (bool, string) {
		s = c.session(t, id)
		return s.Status == want, describe(s)
	})
	return s
}

// qrCode waits for the session's QR code and returns it.
func (c *client) qrCode(t testing.TB, id string) core.QR {
	t.Helper()
	var qr core.QR
	eventually(t, linkTimeout, "a QR code for "+id, func() (bool, string) {
		r := c.do(t, "GET", "/v1/sessions/"+id+"/qr", nil, "Accept", "application/json")
		if r.status != 200 {
			return false, r.String()
		}
		r.decode(t, &qr)
		return qr.Code != "", r.String()
	})
	return qr
}

// send posts a message and returns the accepted message.
func (c *client) send(t testing.TB, id, to, text string) core.Message {
	t.Helper()
	var m core.Message
	c.mustJSON(t, "POST", "/v1/sessions/"+id+"/messages", map[string]string{"to": to, "text": text}, 202, &m)
	return m
}

// message returns GET /v1/sessions/{id}/messages/{msgID}.
func (c *client) message(t testing.TB, id, msgID string) core.Message {
	t.Helper()
	var m core.Message
	c.mustJSON(t, "GET", "/v1/sessions/"+id+"/messages/"+msgID, nil, 200, &m)
	return m
}

// waitMessage polls a message until its status is want.
func (c *client) waitMessage(t testing.TB, id, msgID string, want core.MessageStatus) core.Message {
	t.Helper()
	var m core.Message
	eventually(t, eventTimeout, "message "+msgID+" to be "+string(want), func() (bool, string) {
		m = c.message(t, id, msgID)
		return m.Status == want, string(m.Status) + " " + m.Error
	})
	return m
}

// messages lists a session's messages in one direction ("" for both).
func (c *client) messages(t testing.TB, id string, dir core.Direction) []core.Message {
	t.Helper()
	var page core.MessagePage
	c.mustJSON(t, "GET", "/v1/sessions/"+id+"/messages?direction="+string(dir), nil, 200, &page)
	return page.Messages
}

// eventually calls cond until it reports true, failing the test with cond's last
// detail after timeout. Polls start fast and slow down to 250 ms.
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
		wait = min(wait*2, 250*time.Millisecond)
	}
}

// never calls cond for the whole window and fails the test if it ever reports true.
func never(t testing.TB, window time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(window)
	for time.Now().Before(deadline) {
		if ok, detail := cond(); ok {
			t.Fatalf("%s: %s", what, detail)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// describe renders the parts of a session a failing poll should show.
func describe(s core.Session) string {
	out := fmt.Sprintf("status=%s jid=%s", s.Status, s.JID)
	if s.LastError != nil {
		out += fmt.Sprintf(" lastError=%s (%s)", s.LastError.Code, s.LastError.Message)
	}
	if s.RetryAt != nil {
		out += " retryAt=" + s.RetryAt.Format(time.RFC3339)
	}
	return out
}

// ctx returns a context for one call to the simulator or an emulator.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), opTimeout)
	t.Cleanup(cancel)
	return c
}
