package e2e

import (
	"encoding/base64"
	"encoding/json"
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

// TestLinkByQRThenMessagesFlow walks the first thing a user does: create a session,
// connect, read the QR (as JSON and as an image), scan it with the phone, then send
// a message, follow its receipts and receive a reply, live on the event stream.
func TestLinkByQRThenMessagesFlow(t *testing.T) {
	e := start(t)
	alice, bob := e.phone(t, alicePhone, "Alice"), e.phone(t, bobPhone, "Bob")
	events := e.api.events(t)

	created := e.createSession(t, "desk")
	if created.Status != core.StatusNew || created.Tenant != "default" {
		t.Fatalf("new session: %s tenant=%q, want status new for tenant default", apitest.Describe(created), created.Tenant)
	}
	var accepted core.Session
	e.api.MustJSON(t, "POST", "/v1/sessions/desk/connect", nil, 202, &accepted)
	e.waitStatus(t, "desk", core.StatusQR, linkTimeout)

	code := e.qrCode(t, "desk")
	if !strings.HasPrefix(code, "2@") || strings.Count(code, ",") != 3 {
		t.Fatalf("QR code %q is not a WhatsApp linking code", code)
	}
	var qr core.QR
	e.api.MustJSON(t, "GET", "/v1/sessions/desk/qr", nil, 200, &qr)
	if !qr.ExpiresAt.After(time.Now()) {
		t.Errorf("QR expiresAt %s is not in the future", qr.ExpiresAt)
	}
	png, err := base64.StdEncoding.DecodeString(qr.PNG)
	if err != nil {
		t.Fatalf("QR png field is not base64: %v", err)
	}
	if got := apitest.DecodeQR(t, png); got != qr.Code {
		t.Errorf("the JSON answer's PNG encodes %q, want its code %q", got, qr.Code)
	}
	img := e.api.Do(t, "GET", "/v1/sessions/desk/qr", nil, "Accept", "image/png")
	if img.Status != 200 || img.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("QR as image: %d %s", img.Status, img.Header.Get("Content-Type"))
	}
	// Codes rotate: the image shows the code of its moment, the same or the next one.
	imgCode := apitest.DecodeQR(t, img.Body)
	if imgCode != qr.Code && imgCode != e.qrCode(t, "desk") {
		t.Errorf("the PNG encodes %q, which was never the session's code", imgCode)
	}

	dev, err := e.sim.Control.Scan(ctx(t), alice, e.qrCode(t, "desk"))
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	linked := e.waitStatus(t, "desk", core.StatusConnected, linkTimeout)
	if linked.JID != dev.JID || !strings.HasPrefix(linked.JID, alice+":") {
		t.Errorf("linked session jid %q, want the phone's new device %q", linked.JID, dev.JID)
	}
	if r := e.api.Do(t, "GET", "/v1/sessions/desk/qr", nil); r.Status != 409 || r.ErrorCode() != "wrong_state" {
		t.Errorf("QR of a connected session: %s, want 409 wrong_state", r)
	}
	events.waitFor(t, eventTimeout, "session.status qr", statusEvent("desk", core.StatusQR))
	events.waitFor(t, eventTimeout, "session.status connected", statusEvent("desk", core.StatusConnected))

	// Send: the phone gets exactly the text, with the id the API decided.
	text := "hello Bob, this is the front desk " + core.NewID()[:8]
	sent := e.api.Send(t, "desk", bob, text)
	if sent.Status != core.MessageQueued || sent.Direction != core.DirectionOut || sent.ID == "" {
		t.Fatalf("accepted message: %+v, want an outgoing queued message with an id", sent)
	}
	apitest.Eventually(t, eventTimeout, "Bob to receive the message", func() (bool, string) {
		got, err := e.sim.Control.Messages(ctx(t), bob)
		if err != nil {
			return false, err.Error()
		}
		for _, m := range got {
			if m.ID == sent.ID {
				if m.Text != text || m.From != alice {
					t.Fatalf("Bob received %q from %s, want %q from %s", m.Text, m.From, text, alice)
				}
				return true, ""
			}
		}
		return false, "not yet among " + summarize(got)
	})
	e.waitMessage(t, "desk", sent.ID, core.MessageSent)
	for _, st := range []core.MessageStatus{core.MessageDelivered, core.MessageRead} {
		if err := e.sim.Control.Receipt(ctx(t), bob, sent.ID, string(st)); err != nil {
			t.Fatalf("Bob sends a %s receipt: %v", st, err)
		}
		e.waitMessage(t, "desk", sent.ID, st)
		events.waitFor(t, eventTimeout, "message.status "+string(st), func(ev core.Event) bool {
			var m core.Message
			return ev.Type == core.EventMessageStatus && json.Unmarshal(ev.Data, &m) == nil &&
				m.ID == sent.ID && m.Status == st
		})
	}

	// Receive: the reply is in the inbox and on the event stream.
	reply := "hi Alice, Bob here " + core.NewID()[:8]
	replyID, err := e.sim.Control.SendMessage(ctx(t), bob, alice, reply)
	if err != nil {
		t.Fatalf("Bob replies: %v", err)
	}
	ev := events.waitFor(t, eventTimeout, "message.in of the reply", func(ev core.Event) bool {
		return ev.Type == core.EventMessageIn && ev.SessionID == "desk"
	})
	var in core.Message
	if err := json.Unmarshal(ev.Data, &in); err != nil {
		t.Fatalf("decode message.in: %v", err)
	}
	if in.ID != replyID || in.Text != reply || in.Direction != core.DirectionIn || !strings.HasPrefix(in.From, bob+"@") {
		t.Errorf("message.in %+v, want id %s text %q from %s", in, replyID, reply, bob)
	}
	inbox := e.api.Messages(t, "desk", core.DirectionIn)
	if len(inbox) != 1 || inbox[0].ID != replyID || inbox[0].Text != reply {
		t.Errorf("inbox %+v, want just the reply %q", inbox, reply)
	}
	// Both directions, newest first (an incoming message carries WhatsApp's timestamp).
	all := e.api.Messages(t, "desk", "")
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

	// Logs carry neither the token nor message text.
	logs := e.logs.String()
	for _, secret := range []string{e.api.Token, text, reply} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs contain %q", secret)
		}
	}
	if !strings.Contains(logs, "session=desk") || !strings.Contains(logs, "tenant=default") {
		t.Errorf("the logs lack the session and tenant of the session's lines")
	}
}

// TestRestartKeepsTheLink restarts the process on the same data folder: the session
// comes back connected on its own, without a new QR code, and messages still flow.
func TestRestartKeepsTheLink(t *testing.T) {
	e := start(t)
	alice, bob := e.phone(t, alicePhone, "Alice"), e.phone(t, bobPhone, "Bob")
	before := e.link(t, "desk", alice)
	first := e.api.Send(t, "desk", bob, "before the restart")
	e.waitMessage(t, "desk", first.ID, core.MessageSent)

	e.restart()
	events := e.api.events(t)
	after := e.waitStatus(t, "desk", core.StatusConnected, linkTimeout)
	if after.JID != before.JID {
		t.Errorf("after the restart the session is %q, want the same device %q", after.JID, before.JID)
	}
	for _, s := range events.statuses(t, "desk") {
		if s.Status == core.StatusQR {
			t.Errorf("the restarted session asked for a QR code: %s", apitest.Describe(s))
		}
	}
	apitest.Eventually(t, linkTimeout, "the simulator to see the device connected", func() (bool, string) {
		c, ok := e.deviceConnected(t, before.JID)
		return c && ok, "not connected"
	})
	if got := e.api.Messages(t, "desk", core.DirectionOut); len(got) != 1 || got[0].ID != first.ID {
		t.Errorf("after the restart the outbox has %d messages, want the one sent before", len(got))
	}
	second := e.api.Send(t, "desk", bob, "after the restart")
	apitest.Eventually(t, eventTimeout, "Bob to receive the message sent after the restart", func() (bool, string) {
		got, err := e.sim.Control.Messages(ctx(t), bob)
		if err != nil {
			return false, err.Error()
		}
		return slices.ContainsFunc(got, func(m server.InboxMessage) bool { return m.ID == second.ID }), summarize(got)
	})
}

// waitMessage polls a message until its status is want.
func (e *env) waitMessage(t testing.TB, id, msgID string, want core.MessageStatus) core.Message {
	t.Helper()
	var m core.Message
	apitest.Eventually(t, eventTimeout, "message "+msgID+" to be "+string(want), func() (bool, string) {
		e.api.MustJSON(t, "GET", "/v1/sessions/"+id+"/messages/"+msgID, nil, 200, &m)
		return m.Status == want, string(m.Status) + " " + m.Error
	})
	return m
}

// summarize lists the ids and texts a phone received, for failure messages.
func summarize(msgs []server.InboxMessage) string {
	parts := make([]string, len(msgs))
	for i, m := range msgs {
		parts[i] = m.ID + "=" + m.Text
	}
	return "[" + strings.Join(parts, " ") + "]"
}
