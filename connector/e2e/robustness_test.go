package e2e

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/connector/internal/apitest"
	"github.com/wagate/wagate/core"
)

// TestIdempotencyKeySendsOnce retries a send with the same Idempotency-Key, one
// after the other and concurrently: every answer names the same message, and the
// phone gets the text once.
func TestIdempotencyKeySendsOnce(t *testing.T) {
	e := start(t)
	alice, bob := e.phone(t, alicePhone, "Alice"), e.phone(t, bobPhone, "Bob")
	e.link(t, "desk", alice)
	send := func(key, text string) apitest.Response {
		return e.api.Do(t, "POST", "/v1/sessions/desk/messages",
			map[string]string{"to": bob, "text": text}, "Idempotency-Key", key)
	}

	// One after the other.
	first, again := send("order-1001", "your order 1001 has shipped"), send("order-1001", "your order 1001 has shipped")
	var m1, m2 core.Message
	first.Decode(t, &m1)
	again.Decode(t, &m2)
	if first.Status != 202 || again.Status != 202 || m1.ID == "" || m1.ID != m2.ID {
		t.Fatalf("same key twice: %s and %s, want 202 with one message id", first, again)
	}
	if again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("the repeated request was not marked as replayed")
	}
	if r := send("order-1001", "a different text"); r.Status != 422 || r.ErrorCode() != "idempotency_mismatch" {
		t.Errorf("same key, other body: %s, want 422 idempotency_mismatch", r)
	}

	// Concurrently.
	const n = 16
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			r, err := e.api.Try("POST", "/v1/sessions/desk/messages",
				map[string]string{"to": bob, "text": "your order 1002 has shipped"}, "Idempotency-Key", "order-1002")
			if err != nil || r.Status != 202 {
				t.Errorf("concurrent send: %v %s", err, r)
				ids <- ""
				return
			}
			var m core.Message
			r.Decode(t, &m)
			ids <- m.ID
		})
	}
	wg.Wait()
	close(ids)
	var concurrentID string
	for id := range ids {
		if concurrentID == "" {
			concurrentID = id
		}
		if id != concurrentID {
			t.Fatalf("concurrent sends with one key answered ids %q and %q", concurrentID, id)
		}
	}

	// A last message marks the end: a session sends in order, so once Bob has it,
	// any duplicate of the earlier ones would have arrived too.
	marker := e.api.Send(t, "desk", bob, "end of the test")
	apitest.Eventually(t, eventTimeout, "Bob to receive the marker", func() (bool, string) {
		got, err := e.sim.Control.Messages(ctx(t), bob)
		if err != nil {
			return false, err.Error()
		}
		return strings.Contains(summarize(got), marker.ID+"="), summarize(got)
	})
	got, err := e.sim.Control.Messages(ctx(t), bob)
	if err != nil {
		t.Fatalf("Bob's messages: %v", err)
	}
	for _, text := range []string{"your order 1001 has shipped", "your order 1002 has shipped"} {
		count := 0
		for _, m := range got {
			if m.Text == text {
				count++
			}
		}
		if count != 1 {
			t.Errorf("Bob received %q %d times, want once", text, count)
		}
	}
	if out := e.api.Messages(t, "desk", core.DirectionOut); len(out) != 3 {
		t.Errorf("the outbox has %d messages, want 3 (two keyed sends and the marker)", len(out))
	}
}

// TestBadRequestsDoNotHurtTheProcess sends a burst of malformed requests (and raw
// garbage) at wagate: each is refused with a 4xx answer, none with a 5xx, and the
// process keeps serving a linked session afterwards.
func TestBadRequestsDoNotHurtTheProcess(t *testing.T) {
	e := start(t)
	alice, bob := e.phone(t, alicePhone, "Alice"), e.phone(t, bobPhone, "Bob")
	e.link(t, "desk", alice)
	big := strings.Repeat("x", core.MaxBodyBytes+10)
	cases := []struct {
		method, path string
		body         any
		header       []string
	}{
		{"PUT", "/v1/sessions/desk", "{not json", nil},
		{"PUT", "/v1/sessions/desk", `{"displayName":"x","unknown":1}`, nil},
		{"PUT", "/v1/sessions/desk", `{"proxyURL":"ftp://nope"}`, nil},
		{"PUT", "/v1/sessions/Bad ID", `{}`, nil},
		{"PUT", "/v1/sessions/" + strings.Repeat("a", 200), `{}`, nil},
		{"PUT", "/v1/sessions/desk", big, nil},
		{"POST", "/v1/sessions/desk/messages", `{"to":"not a phone","text":"hi"}`, nil},
		{"POST", "/v1/sessions/desk/messages", `{"to":"` + bob + `","text":""}`, nil},
		{"POST", "/v1/sessions/desk/messages", `{"to":"` + bob + `","text":"` + strings.Repeat("é", core.MaxTextChars+1) + `"}`, nil},
		{"POST", "/v1/sessions/desk/messages", "\xff\xfe\x00", nil},
		{"POST", "/v1/sessions/desk/messages", `{"to":"` + bob + `","text":"hi"}`, []string{"Content-Type", "text/plain"}},
		{"POST", "/v1/sessions/desk/messages", `{"to":"` + bob + `","text":"hi"}`, []string{"Idempotency-Key", strings.Repeat("k", 500)}},
		{"GET", "/v1/sessions/desk/messages?limit=-5", nil, nil},
		{"GET", "/v1/sessions/desk/messages?cursor=not-a-cursor", nil, nil},
		{"GET", "/v1/sessions/desk/messages/../../etc/passwd", nil, nil},
		{"GET", "/v1/sessions/nope/qr", nil, nil},
		{"PATCH", "/v1/sessions/desk", `{}`, nil},
		{"DELETE", "/v1/diagnostics", nil, nil},
		{"GET", "/v1/nothing-here", nil, nil},
		{"POST", "/index.html", "x", nil},
		{"GET", "/v1/sessions", nil, []string{"Authorization", "Bearer " + strings.Repeat("z", 4000)}},
		{"GET", "/v1/sessions", nil, []string{"Authorization", "Basic Zm9vOmJhcg=="}},
		{"POST", "/v1/sessions/desk/pair-code", `{"phone":"12"}`, nil},
		{"GET", "/v1/sessions/desk/pair-code/zz", nil, nil},
	}
	var wg sync.WaitGroup
	for round := range 5 {
		for i, c := range cases {
			wg.Go(func() {
				r, err := e.api.Try(c.method, c.path, c.body, c.header...)
				if err != nil {
					t.Errorf("case %d round %d: %s %s: %v", i, round, c.method, c.path, err)
					return
				}
				if r.Status < 400 || r.Status >= 500 {
					t.Errorf("case %d: %s %.60s: %s, want a 4xx answer", i, c.method, c.path, r)
				}
			})
		}
		for range 4 {
			wg.Go(func() { rawGarbage(t, e.main.URL()) })
		}
	}
	wg.Wait()

	var h struct {
		Status string `json:"status"`
	}
	e.api.MustJSON(t, "GET", "/v1/health", nil, 200, &h)
	if h.Status != "ok" {
		t.Errorf("health after the burst: %q, want ok", h.Status)
	}
	if s := e.api.Session(t, "desk"); s.Status != core.StatusConnected || s.DisplayName != "Desk desk" {
		t.Errorf("the session changed under bad requests: %s %q", apitest.Describe(s), s.DisplayName)
	}
	m := e.api.Send(t, "desk", bob, "still here after the burst")
	e.waitMessage(t, "desk", m.ID, core.MessageSent)
}

// rawGarbage writes bytes that are not HTTP, or an unfinished request, and hangs up.
func rawGarbage(t *testing.T, base string) {
	addr := strings.TrimPrefix(base, "http://")
	for i, payload := range []string{
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage-tls-hello",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n",
		"NOT-A-METHOD /v1/health HTTP/9.9\r\n\r\n",
		"GET /v1/health HTTP/1.1\r\nHost: " + strings.Repeat("h", 70<<10) + "\r\n\r\n",
	} {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Errorf("garbage %d: dial: %v", i, err)
			return
		}
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.WriteString(conn, payload)
		buf := make([]byte, 512)
		n, _ := conn.Read(buf)
		// The server itself answers these (400, 431, 505): never with an internal error.
		if resp := string(buf[:n]); strings.HasPrefix(resp, "HTTP/1.1 500") {
			t.Errorf("garbage %d: answered %q", i, fmt.Sprintf("%.40s", resp))
		}
		_ = conn.Close()
	}
}
