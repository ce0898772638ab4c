//go:build unix

package splite2e

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/connector/internal/apitest"
	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/wasim/server"
)

const (
	alicePhone = "15550001111"
	bobPhone   = "15550002222"
)

// TestSplitLinkMessagesAndRestart walks the local product's first-use flow through
// the split deployment: every request goes through devapi as an API Gateway event to
// the Lambda handlers, commands reach the connector process over SQS, state is in
// DynamoDB, and events come back over the events queue to the events function, which
// delivers them to the session's webhook. A session links by QR, sends with receipts,
// receives a reply, and survives a restart of the connector without a new QR code.
func TestSplitLinkMessagesAndRestart(t *testing.T) {
	s := newStack(t, false)
	alice, bob := s.phone(t, alicePhone, "Alice"), s.phone(t, bobPhone, "Bob")
	conn := s.startConnector(t, "conn-a")
	const hook = "ok/desk"

	// What API Gateway gives: no event stream (webhooks carry events), JWTs required,
	// the admin page beside the API.
	if r := s.api.Do(t, "GET", "/v1/events", nil); r.Status != 404 {
		t.Errorf("GET /v1/events: %s, want 404 (the split deployment has no event stream)", r)
	}
	if r := newClient(s.api.Base, "").Do(t, "GET", "/v1/sessions", nil); r.Status != 401 {
		t.Errorf("no token: %s, want 401", r)
	}
	if r := newClient(s.api.Base, "").Do(t, "GET", "/", nil); r.Status != 200 || !strings.Contains(string(r.Body), "Messenger Settings") {
		t.Errorf("admin page: %d", r.Status)
	}

	created := s.api.createSession(t, "desk", s.hook.url(hook))
	if created.Status != core.StatusNew || created.Tenant != tenantA {
		t.Fatalf("new session: %s tenant=%q, want status new for tenant %s", apitest.Describe(created), created.Tenant, tenantA)
	}
	if r := s.other.Do(t, "GET", "/v1/sessions/desk", nil); r.Status != 404 || r.ErrorCode() != "not_found" {
		t.Errorf("another tenant reads the session: %s, want 404 not_found", r)
	}
	s.api.MustJSON(t, "POST", "/v1/sessions/desk/connect", nil, 202, nil)
	s.api.waitStatus(t, "desk", core.StatusQR, linkTimeout)

	// The QR code as JSON (with a PNG of it) and as an image: a binary body that the
	// function answers base64-encoded and the gateway decodes.
	qr := s.api.qrCode(t, "desk")
	if !strings.HasPrefix(qr.Code, "2@") || !qr.ExpiresAt.After(time.Now()) {
		t.Fatalf("QR %q expiring %s: not a current WhatsApp linking code", qr.Code, qr.ExpiresAt)
	}
	png, err := base64.StdEncoding.DecodeString(qr.PNG)
	if err != nil {
		t.Fatalf("QR png field: %v", err)
	}
	if got := apitest.DecodeQR(t, png); got != qr.Code {
		t.Errorf("the JSON answer's PNG encodes %q, want %q", got, qr.Code)
	}
	img := s.api.Do(t, "GET", "/v1/sessions/desk/qr", nil, "Accept", "image/png")
	if img.Status != 200 || img.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("QR as image: %d %s", img.Status, img.Header.Get("Content-Type"))
	}
	if code := apitest.DecodeQR(t, img.Body); code != qr.Code && code != s.api.qrCode(t, "desk").Code {
		t.Errorf("the PNG encodes %q, which was never the session's code", code)
	}

	dev, err := s.sim.Control.Scan(ctx(t), alice, s.api.qrCode(t, "desk").Code)
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	linked := s.api.waitStatus(t, "desk", core.StatusConnected, linkTimeout)
	if linked.JID != dev.JID {
		t.Errorf("linked session jid %q, want the phone's new device %q", linked.JID, dev.JID)
	}
	if r := s.api.Do(t, "GET", "/v1/sessions/desk/qr", nil); r.Status != 409 || r.ErrorCode() != "wrong_state" {
		t.Errorf("QR of a connected session: %s, want 409 wrong_state", r)
	}
	s.hook.waitFor(t, hook, 0, "session.status qr", sessionStatus("desk", core.StatusQR))
	s.hook.waitFor(t, hook, 0, "session.status connected", sessionStatus("desk", core.StatusConnected))

	// Send with receipts.
	text := "hello Bob, this is the front desk " + core.NewID()[:8]
	sent := s.api.Send(t, "desk", bob, text)
	if sent.Status != core.MessageQueued || sent.Direction != core.DirectionOut || sent.ID == "" {
		t.Fatalf("accepted message: %+v, want an outgoing queued message with an id", sent)
	}
	waitPhoneHas(t, s, bob, sent.ID, text, alice)
	s.api.waitMessage(t, "desk", sent.ID, core.MessageSent)
	for _, st := range []core.MessageStatus{core.MessageDelivered, core.MessageRead} {
		if err := s.sim.Control.Receipt(ctx(t), bob, sent.ID, string(st)); err != nil {
			t.Fatalf("Bob sends a %s receipt: %v", st, err)
		}
		s.api.waitMessage(t, "desk", sent.ID, st)
		s.hook.waitFor(t, hook, 0, "message.status "+string(st), messageEvent(core.EventMessageStatus, sent.ID, st))
	}

	// Receive: the reply is in the inbox and at the webhook.
	reply := "hi Alice, Bob here " + core.NewID()[:8]
	replyID, err := s.sim.Control.SendMessage(ctx(t), bob, alice, reply)
	if err != nil {
		t.Fatalf("Bob replies: %v", err)
	}
	s.hook.waitFor(t, hook, 0, "message.in of the reply", messageEvent(core.EventMessageIn, replyID, ""))
	inbox := s.api.Messages(t, "desk", core.DirectionIn)
	if len(inbox) != 1 || inbox[0].ID != replyID || inbox[0].Text != reply {
		t.Errorf("inbox %+v, want just the reply %q", inbox, reply)
	}
	all := s.api.Messages(t, "desk", "")
	ids := []string{}
	for i, m := range all {
		ids = append(ids, m.ID)
		if i > 0 && m.CreatedAt.After(all[i-1].CreatedAt) {
			t.Errorf("messages are not newest first: %s after %s", m.CreatedAt, all[i-1].CreatedAt)
		}
	}
	if len(all) != 2 || !slices.Contains(ids, replyID) || !slices.Contains(ids, sent.ID) {
		t.Errorf("all messages: %v, want the sent message and the reply", ids)
	}

	// Restart the connector: the session comes back on the stored keys, no QR.
	conn.Stop(t)
	mark := len(s.hook.at(hook))
	conn = s.startConnector(t, "conn-b")
	conn.WaitLog(t, linkTimeout, "session_connected", func(l logLine) bool { return l.Str("session") == "desk" })
	after := s.api.waitStatus(t, "desk", core.StatusConnected, linkTimeout)
	if after.JID != dev.JID {
		t.Errorf("after the restart the session is %q, want the same device %q", after.JID, dev.JID)
	}
	if qrs := conn.Find("session_qr", nil); len(qrs) > 0 {
		t.Errorf("the restarted connector showed %d QR codes, want none", len(qrs))
	}
	apitest.Eventually(t, linkTimeout, "the simulator to see the device connected", func() (bool, string) {
		c, ok := s.deviceConnected(t, dev.JID)
		return c && ok, "not connected"
	})
	if got := s.api.Messages(t, "desk", core.DirectionOut); len(got) != 1 || got[0].ID != sent.ID {
		t.Errorf("after the restart the outbox has %d messages, want the one sent before", len(got))
	}
	second := s.api.Send(t, "desk", bob, "after the restart")
	waitPhoneHas(t, s, bob, second.ID, "after the restart", alice)
	s.hook.waitFor(t, hook, mark, "session.status connected after the restart", sessionStatus("desk", core.StatusConnected))
	for _, d := range s.hook.at(hook)[mark:] {
		if st, ok := sessionOf(d.event, "desk"); ok && st.Status == core.StatusQR {
			t.Errorf("the restarted session asked for a QR code: %s", apitest.Describe(st))
		}
	}

	s.hook.checkEachOnce(t, hook)
	for name, out := range map[string]string{"devapi": s.devapi.Output(), "connector": conn.Output()} {
		for _, secret := range []string{tokenA, text, reply, webhookSecret} {
			if strings.Contains(out, secret) {
				t.Errorf("the %s logs contain %q", name, secret)
			}
		}
	}
}

// waitPhoneHas waits until phone received the message id with text from sender.
func waitPhoneHas(t testing.TB, s *stack, phone, id, text, sender string) {
	t.Helper()
	apitest.Eventually(t, eventTimeout, phone+" to receive "+id, func() (bool, string) {
		got, err := s.sim.Control.Messages(ctx(t), phone)
		if err != nil {
			return false, err.Error()
		}
		for _, m := range got {
			if m.ID == id {
				if m.Text != text || m.From != sender {
					t.Fatalf("%s received %q from %s, want %q from %s", phone, m.Text, m.From, text, sender)
				}
				return true, ""
			}
		}
		return false, summarize(got)
	})
}

// summarize lists the ids and texts a phone received, for failure messages.
func summarize(msgs []server.InboxMessage) string {
	if len(msgs) > 20 {
		return fmt.Sprintf("[%d messages]", len(msgs))
	}
	parts := make([]string, len(msgs))
	for i, m := range msgs {
		parts[i] = m.ID + "=" + m.Text
	}
	return "[" + strings.Join(parts, " ") + "]"
}
