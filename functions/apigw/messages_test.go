package apigw_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/functions/apigw"
)

// connectedSession creates a session of tenant A that the connector reports connected.
func (e *env) connectedSession(id string) {
	e.t.Helper()
	e.createSession(tokenA, id)
	e.setStatus(tenantA, id, core.StatusConnected, "15550001111@s.whatsapp.net")
}

func TestSendMessage(t *testing.T) {
	e := newEnv(t)
	c := e.startConnector(t)
	e.connectedSession("s1")

	r := e.do(req{method: "POST", path: "/v1/sessions/s1/messages", token: tokenA, body: `{"to":"+1 555 123 4567","text":"hello there"}`})
	expect(t, r, http.StatusAccepted, "")
	var m core.Message
	r.json(t, &m)
	if !strings.HasPrefix(m.ID, "3EB0") || m.Status != core.MessageQueued || m.Direction != core.DirectionOut ||
		m.To != "15551234567@s.whatsapp.net" || m.From != "15550001111@s.whatsapp.net" || m.Text != "hello there" || m.SessionID != "s1" {
		t.Fatalf("accepted %+v", m)
	}
	if r.header.Get("Location") != "/v1/sessions/s1/messages/"+m.ID {
		t.Errorf("Location %q", r.header.Get("Location"))
	}
	// The command carries the id decided by the API.
	poll(t, "the send command", func() bool { return len(c.commands(core.CmdSendMessage)) == 1 })
	var p core.SendPayload
	if err := c.commands(core.CmdSendMessage)[0].DecodePayload(&p); err != nil || p.MessageID != m.ID || p.To != m.To || p.Text != m.Text {
		t.Fatalf("send payload %+v (%v)", p, err)
	}
	poll(t, "status sent", func() bool {
		r := e.do(req{method: "GET", path: "/v1/sessions/s1/messages/" + m.ID, token: tokenA})
		var got core.Message
		r.json(t, &got)
		return r.status == http.StatusOK && got.Status == core.MessageSent
	})
	expect(t, e.do(req{method: "GET", path: "/v1/sessions/s1/messages/" + m.ID, token: tokenB}), http.StatusNotFound, "not_found")
	expect(t, e.do(req{method: "GET", path: "/v1/sessions/s1/messages/3EB0FFFF", token: tokenA}), http.StatusNotFound, "not_found")

	// A JID recipient is accepted as is.
	r = e.do(req{method: "POST", path: "/v1/sessions/s1/messages", token: tokenA, body: `{"to":"12345678901234@lid","text":"hi"}`})
	expect(t, r, http.StatusAccepted, "")
}

func TestSendMessageNeedsALiveSession(t *testing.T) {
	e := newEnv(t)
	e.startConnector(t)
	e.createSession(tokenA, "s1")
	body := `{"to":"15551234567","text":"hi"}`
	for _, st := range []core.Status{core.StatusNew, core.StatusQR, core.StatusDisconnected, core.StatusLoggedOut, core.StatusBanned} {
		e.setStatus(tenantA, "s1", st, "")
		expect(t, e.do(req{method: "POST", path: "/v1/sessions/s1/messages", token: tokenA, body: body}), http.StatusConflict, "wrong_state")
	}
	for _, st := range []core.Status{core.StatusConnecting, core.StatusReconnecting, core.StatusConnected} {
		e.setStatus(tenantA, "s1", st, "")
		expect(t, e.do(req{method: "POST", path: "/v1/sessions/s1/messages", token: tokenA, body: body}), http.StatusAccepted, "")
	}
}

func TestSendMessageIdempotency(t *testing.T) {
	e := newEnv(t)
	e.startConnector(t)
	e.connectedSession("s1")
	send := func(key, body string) response {
		return e.do(req{method: "POST", path: "/v1/sessions/s1/messages", token: tokenA, body: body,
			header: map[string]string{"Idempotency-Key": key}})
	}
	body := `{"to":"15551234567","text":"pay invoice 42"}`

	first := send("key-1", body)
	expect(t, first, http.StatusAccepted, "")
	again := send("key-1", body)
	expect(t, again, http.StatusAccepted, "")
	if string(again.body) != string(first.body) || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay %s, first %s", again.body, first.body)
	}
	expect(t, send("key-1", `{"to":"15551234567","text":"pay invoice 43"}`), http.StatusUnprocessableEntity, "idempotency_mismatch")

	// 20 concurrent requests with one key: one message, one command, one answer.
	var wg sync.WaitGroup
	answers := make([]response, 20)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = send("key-2", body)
		}()
	}
	wg.Wait()
	for i, a := range answers {
		if a.status != http.StatusAccepted || string(a.body) != string(answers[0].body) {
			t.Fatalf("answer %d: %d %s, answer 0: %s", i, a.status, a.body, answers[0].body)
		}
	}
	if n := len(e.sent.ofType(core.CmdSendMessage)); n != 2 {
		t.Fatalf("%d send commands for two keys", n)
	}
	page, err := e.state.ListMessages(context.Background(), core.SessionKey{Tenant: tenantA, ID: "s1"}, core.MessageQuery{Limit: 50})
	if err != nil || len(page.Messages) != 2 {
		t.Fatalf("%d messages stored for two keys (%v)", len(page.Messages), err)
	}

	// Keys are per session and per tenant: the same key elsewhere is a new request.
	e.connectedSession("s2")
	r := e.do(req{method: "POST", path: "/v1/sessions/s2/messages", token: tokenA, body: body, header: map[string]string{"Idempotency-Key": "key-1"}})
	expect(t, r, http.StatusAccepted, "")
	if string(r.body) == string(first.body) {
		t.Fatal("a key of session s1 replayed in session s2")
	}
}

// TestSendMessageEnqueueFailure: when the command cannot be enqueued the caller gets
// the error, the stored message is marked failed, and the key is free for a retry.
func TestSendMessageEnqueueFailure(t *testing.T) {
	e := newEnv(t)
	e.startConnector(t)
	e.connectedSession("s1")
	body := `{"to":"15551234567","text":"hi"}`
	e.sent.setFail(errors.New("queue endpoint refused the connection"))
	r := e.do(req{method: "POST", path: "/v1/sessions/s1/messages", token: tokenA, body: body, header: map[string]string{"Idempotency-Key": "k"}})
	expect(t, r, http.StatusInternalServerError, "internal")
	if strings.Contains(string(r.body), "refused") {
		t.Fatalf("internal detail leaked: %s", r.body)
	}
	page, err := e.state.ListMessages(context.Background(), core.SessionKey{Tenant: tenantA, ID: "s1"}, core.MessageQuery{})
	if err != nil || len(page.Messages) != 1 || page.Messages[0].Status != core.MessageFailed || page.Messages[0].Error == "" {
		t.Fatalf("after a failed enqueue: %+v (%v)", page.Messages, err)
	}

	e.sent.setFail(nil)
	r = e.do(req{method: "POST", path: "/v1/sessions/s1/messages", token: tokenA, body: body, header: map[string]string{"Idempotency-Key": "k"}})
	expect(t, r, http.StatusAccepted, "")
	if r.header.Get("Idempotent-Replayed") != "" {
		t.Fatal("a failed request's answer was replayed")
	}
}

// gate is a SendGate whose queue is full while full is set.
type gate struct {
	mu   sync.Mutex
	full bool
}

func (g *gate) AdmitSend(ctx context.Context, key core.SessionKey) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.full {
		return core.NewRetryAfter(7, "the send queue of %s is full; retry later", key.ID)
	}
	return nil
}

func TestSendGate(t *testing.T) {
	g := &gate{full: true}
	e := newEnv(t, func(s *apigw.Server) { s.SendGate = g })
	e.startConnector(t)
	e.connectedSession("s1")
	body := `{"to":"15551234567","text":"hi"}`
	r := e.do(req{method: "POST", path: "/v1/sessions/s1/messages", token: tokenA, body: body, header: map[string]string{"Idempotency-Key": "k"}})
	expect(t, r, http.StatusTooManyRequests, "rate_limited")
	if r.header.Get("Retry-After") != "7" {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	if n := len(e.sent.ofType(core.CmdSendMessage)); n != 0 {
		t.Fatalf("%d commands sent past a full queue", n)
	}
	g.mu.Lock()
	g.full = false
	g.mu.Unlock()
	expect(t, e.do(req{method: "POST", path: "/v1/sessions/s1/messages", token: tokenA, body: body, header: map[string]string{"Idempotency-Key": "k"}}),
		http.StatusAccepted, "")
}

func TestListMessages(t *testing.T) {
	e := newEnv(t)
	e.connectedSession("s1")
	base := time.Now().UTC().Add(-time.Hour)
	for i := range 5 {
		dir := core.DirectionOut
		if i%2 == 0 {
			dir = core.DirectionIn
		}
		at := base.Add(time.Duration(i) * time.Minute)
		m := core.Message{ID: fmt.Sprintf("3EB00000000000000000%02d", i), Tenant: tenantA, SessionID: "s1", Direction: dir,
			Chat: "15551234567@s.whatsapp.net", Text: "m", Status: core.MessageDelivered, CreatedAt: at, UpdatedAt: at}
		if err := e.state.PutMessage(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	cursor := ""
	for range 5 { // bounded: 5 messages in pages of 2
		r := e.do(req{method: "GET", path: "/v1/sessions/s1/messages?limit=2&cursor=" + cursor, token: tokenA})
		expect(t, r, http.StatusOK, "")
		var page core.MessagePage
		r.json(t, &page)
		for _, m := range page.Messages {
			ids = append(ids, m.ID[len(m.ID)-2:])
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if got := strings.Join(ids, ","); got != "04,03,02,01,00" {
		t.Fatalf("pages gave %s, want newest first", got)
	}
	r := e.do(req{method: "GET", path: "/v1/sessions/s1/messages?direction=in", token: tokenA})
	var page core.MessagePage
	r.json(t, &page)
	if len(page.Messages) != 3 {
		t.Fatalf("%d incoming messages, want 3", len(page.Messages))
	}
	r = e.do(req{method: "GET", path: "/v1/sessions/s1/messages", token: tokenB})
	expect(t, r, http.StatusNotFound, "not_found")
}
