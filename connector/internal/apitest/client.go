// Package apitest calls wagate's HTTP API v1 the way an admin back office does, for
// the end-to-end suites of the local binary, the split deployment and the AWS
// adapters: one client, its answers, and polling helpers with readable failures.
package apitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
)

// Client calls the API at Base with Token (none when empty).
type Client struct {
	Base  string
	Token string
	HTTP  *http.Client
}

// New returns a client for the API at base ("http://host:port") that never uses a
// proxy: the suites only talk to loopback.
func New(base, token string) *Client {
	return &Client{Base: base, Token: token, HTTP: &http.Client{
		Timeout:   time.Minute,
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64},
	}}
}

// Response is one answer of the API.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// String renders the status and the start of the body.
func (r Response) String() string {
	b := strings.TrimSpace(string(r.Body))
	if len(b) > 400 {
		b = b[:400] + "…"
	}
	return fmt.Sprintf("%d %s", r.Status, b)
}

// Decode unmarshals the body into v, failing the test if it cannot.
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r, err)
	}
}

// ErrorCode returns error.code of an error answer ("" for any other body).
func (r Response) ErrorCode() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// Do sends one request with the client's token, failing the test if it cannot be
// sent. body is marshalled as JSON unless it is a string or []byte (sent as is);
// header is name, value pairs.
func (c *Client) Do(t testing.TB, method, path string, body any, header ...string) Response {
	t.Helper()
	r, err := c.Try(method, path, body, header...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// Try is Do without a test, for goroutines.
func (c *Client) Try(method, path string, body any, header ...string) (Response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return Response{}, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.Base+path, rd)
	if err != nil {
		return Response{}, err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, err
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// MustJSON sends a request, checks the status and decodes the answer into out (if
// not nil).
func (c *Client) MustJSON(t testing.TB, method, path string, body any, want int, out any) Response {
	t.Helper()
	r := c.Do(t, method, path, body)
	if r.Status != want {
		t.Fatalf("%s %s: got %s, want status %d", method, path, r, want)
	}
	if out != nil {
		r.Decode(t, out)
	}
	return r
}

// Session returns GET /v1/sessions/{id}.
func (c *Client) Session(t testing.TB, id string) core.Session {
	t.Helper()
	var s core.Session
	c.MustJSON(t, "GET", "/v1/sessions/"+id, nil, 200, &s)
	return s
}

// Send posts a text message and returns the accepted message (202).
func (c *Client) Send(t testing.TB, id, to, text string) core.Message {
	t.Helper()
	var m core.Message
	c.MustJSON(t, "POST", "/v1/sessions/"+id+"/messages", map[string]string{"to": to, "text": text}, 202, &m)
	return m
}

// Message returns GET /v1/sessions/{id}/messages/{msgID}.
func (c *Client) Message(t testing.TB, id, msgID string) core.Message {
	t.Helper()
	var m core.Message
	c.MustJSON(t, "GET", "/v1/sessions/"+id+"/messages/"+msgID, nil, 200, &m)
	return m
}

// Messages lists a session's newest messages in one direction ("" for both).
func (c *Client) Messages(t testing.TB, id string, dir core.Direction) []core.Message {
	t.Helper()
	var page core.MessagePage
	c.MustJSON(t, "GET", "/v1/sessions/"+id+"/messages?direction="+string(dir), nil, 200, &page)
	return page.Messages
}

// PairCode asks for a pairing code for session id and phone, waits up to timeout for
// the connector's answer when the API gives a poll location (202), and returns the
// code after checking its ABCD-EFGH shape.
func (c *Client) PairCode(t testing.TB, id, phone string, timeout time.Duration) string {
	t.Helper()
	r := c.Do(t, "POST", "/v1/sessions/"+id+"/pair-code", map[string]string{"phone": phone})
	var code struct {
		Code string `json:"code"`
		Poll string `json:"poll"`
	}
	r.Decode(t, &code)
	if r.Status == 202 {
		Eventually(t, timeout, "the pairing code", func() (bool, string) {
			p := c.Do(t, "GET", code.Poll, nil)
			p.Decode(t, &code)
			return p.Status == 200, p.String()
		})
	} else if r.Status != 200 {
		t.Fatalf("pair-code: %s, want 200 with a code (or 202 with a poll location)", r)
	}
	if !pairCodeRE.MatchString(code.Code) {
		t.Fatalf("pairing code %q, want ABCD-EFGH", code.Code)
	}
	return code.Code
}

// pairCodeRE is the shape of a WhatsApp pairing code as the API answers it.
var pairCodeRE = regexp.MustCompile(`^[A-Z0-9]{4}-[A-Z0-9]{4}$`)
