package manager_test

import (
	"testing"
	"time"

	"github.com/wagate/wagate/core"
)

func TestQRScanConnectsWithThePhonesJID(t *testing.T) {
	h := newHarness(t)
	h.start(h.config("c1"), nil)
	p := h.phone("15550001111", "Alice")
	key := h.createSession("main")
	h.command(core.CmdConnect, key, nil)

	qr := h.waitQR(key)
	if left := time.Until(qr.ExpiresAt); left < 10*time.Second || left > 61*time.Second {
		t.Errorf("first QR code expires in %v, want about 60s", left)
	}
	if _, err := h.sim.Control.Scan(ctxT(t), p.Phone, qr.Code); err != nil {
		t.Fatalf("scan: %v", err)
	}
	s := h.waitStatus(key, core.StatusConnected)
	if userOf(s.JID) != p.JID || s.ConnectedAt == nil || s.LastError != nil || !s.Desired {
		t.Errorf("connected session = %s connectedAt=%v; want jid of %s", describe(s), s.ConnectedAt, p.JID)
	}
	if d, ok := h.device(s.JID); !ok || !d.Connected {
		t.Errorf("simulator lists device %s as %+v (found %v), want connected", s.JID, d, ok)
	}
	if _, err := h.state.GetQR(ctxT(t), key); !core.IsCode(err, core.CodeNotFound) {
		t.Errorf("QR after connect: %v, want not_found", err)
	}
	seen := map[core.Status]bool{}
	for _, e := range h.eventsOf(key, core.EventSessionStatus) {
		var got core.Session
		mustJSON(t, e.Data, &got)
		seen[got.Status] = true
	}
	for _, st := range []core.Status{core.StatusConnecting, core.StatusQR, core.StatusConnected} {
		if !seen[st] {
			t.Errorf("no session.status event with status %s (saw %v)", st, seen)
		}
	}
}

// queueMessage stores an outgoing message as the API does when it accepts a send,
// and returns the message.send command payload.
func (h *harness) queueMessage(key core.SessionKey, to, text string) core.SendPayload {
	h.t.Helper()
	now := time.Now().UTC()
	m := core.Message{ID: core.NewMessageID(), Tenant: key.Tenant, SessionID: key.ID, Direction: core.DirectionOut,
		To: to, Text: text, Status: core.MessageQueued, CreatedAt: now, UpdatedAt: now}
	if err := h.state.PutMessage(ctxT(h.t), m); err != nil {
		h.t.Fatal(err)
	}
	return core.SendPayload{MessageID: m.ID, To: to, Text: text}
}

// waitMessage waits until the stored message has status st.
func (h *harness) waitMessage(key core.SessionKey, id string, st core.MessageStatus) core.Message {
	h.t.Helper()
	var m core.Message
	eventually(h.t, "message "+id+" "+string(st), func() string {
		var err error
		if m, err = h.state.GetMessage(ctxT(h.t), key, id); err != nil {
			return err.Error()
		}
		if m.Status != st {
			return "status " + string(m.Status) + " " + m.Error
		}
		return ""
	})
	return m
}

// received returns how many messages with id the phone received, and their text.
func (h *harness) received(phone, id string) (int, string) {
	h.t.Helper()
	msgs, err := h.sim.Control.Messages(ctxT(h.t), phone)
	if err != nil {
		h.t.Fatal(err)
	}
	n, text := 0, ""
	for _, m := range msgs {
		if m.ID == id {
			n, text = n+1, m.Text
		}
	}
	return n, text
}

func TestSendReachesThePhoneAndFollowsReceipts(t *testing.T) {
	h := newHarness(t)
	h.start(h.config("c1"), nil)
	alice := h.phone("15550001111", "Alice")
	bob := h.phone("15550002222", "Bob")
	s := h.link("main", alice)
	key := s.Key()

	const text = "Hello Bob — ✅ exact text, with emoji"
	p := h.queueMessage(key, bob.JID, text)
	h.command(core.CmdSendMessage, key, p)

	h.waitMessage(key, p.MessageID, core.MessageSent)
	eventually(t, "bob receives the message", func() string {
		if n, got := h.received(bob.Phone, p.MessageID); n != 1 || got != text {
			return "not yet"
		}
		return ""
	})
	if err := h.sim.Control.Receipt(ctxT(t), bob.Phone, p.MessageID, "delivered"); err != nil {
		t.Fatal(err)
	}
	h.waitMessage(key, p.MessageID, core.MessageDelivered)
	if err := h.sim.Control.Receipt(ctxT(t), bob.Phone, p.MessageID, "read"); err != nil {
		t.Fatal(err)
	}
	h.waitMessage(key, p.MessageID, core.MessageRead)
	// A late delivered receipt never moves a read message back.
	if err := h.sim.Control.Receipt(ctxT(t), bob.Phone, p.MessageID, "delivered"); err != nil {
		t.Fatal(err)
	}
	marker := h.queueMessage(key, bob.JID, "marker")
	h.command(core.CmdSendMessage, key, marker)
	h.waitMessage(key, marker.MessageID, core.MessageSent)
	if m, _ := h.state.GetMessage(ctxT(t), key, p.MessageID); m.Status != core.MessageRead {
		t.Errorf("status after a late delivered receipt = %s, want read", m.Status)
	}
	var statuses []core.MessageStatus
	for _, e := range h.eventsOf(key, core.EventMessageStatus) {
		var m core.Message
		mustJSON(t, e.Data, &m)
		if m.ID == p.MessageID {
			statuses = append(statuses, m.Status)
		}
	}
	want := []core.MessageStatus{core.MessageSent, core.MessageDelivered, core.MessageRead}
	if len(statuses) != len(want) {
		t.Fatalf("message.status events %v, want %v", statuses, want)
	}
	for i := range want {
		if statuses[i] != want[i] {
			t.Errorf("message.status events %v, want %v", statuses, want)
		}
	}
}

func TestPhoneMessageLandsInTheInboxWithAnEvent(t *testing.T) {
	h := newHarness(t)
	h.start(h.config("c1"), nil)
	alice := h.phone("15550001111", "Alice")
	bob := h.phone("15550002222", "Bob")
	key := h.link("main", alice).Key()

	id, err := h.sim.Control.SendMessage(ctxT(t), bob.Phone, alice.Phone, "hi from Bob")
	if err != nil {
		t.Fatal(err)
	}
	var got core.Message
	eventually(t, "the message in the inbox", func() string {
		page, err := h.state.ListMessages(ctxT(t), key, core.MessageQuery{Direction: core.DirectionIn})
		if err != nil {
			return err.Error()
		}
		for _, m := range page.Messages {
			if m.ID == id {
				got = m
				return ""
			}
		}
		return "not yet"
	})
	if got.Text != "hi from Bob" || got.From != bob.JID || got.Status != core.MessageDelivered || got.Direction != core.DirectionIn {
		t.Errorf("stored message = %+v", got)
	}
	eventually(t, "a message.in event", func() string {
		for _, e := range h.eventsOf(key, core.EventMessageIn) {
			var m core.Message
			mustJSON(t, e.Data, &m)
			if m.ID == id && m.Text == "hi from Bob" {
				return ""
			}
		}
		return "none"
	})
}

func TestRedeliveredSendNeverSendsTwice(t *testing.T) {
	h := newHarness(t)
	c := h.start(h.config("c1"), nil)
	alice := h.phone("15550001111", "Alice")
	bob := h.phone("15550002222", "Bob")
	key := h.link("main", alice).Key()

	p := h.queueMessage(key, bob.JID, "only once")
	cmd, err := core.NewCommand(core.CmdSendMessage, key, time.Now(), p)
	if err != nil {
		t.Fatal(err)
	}
	// The bus redelivers a command whose ack was lost: the same command, twice in a
	// row, then once more after it was sent; the API may also send a duplicate.
	for range 2 {
		if err := c.mgr.HandleCommand(ctxT(t), cmd); err != nil {
			t.Fatal(err)
		}
	}
	h.waitMessage(key, p.MessageID, core.MessageSent)
	if err := c.mgr.HandleCommand(ctxT(t), cmd); err != nil {
		t.Fatal(err)
	}
	h.command(core.CmdSendMessage, key, p)
	// Sends are serial: once a later message arrived, any duplicate would have too.
	marker := h.queueMessage(key, bob.JID, "marker")
	h.command(core.CmdSendMessage, key, marker)
	eventually(t, "the marker reaches bob", func() string {
		if n, _ := h.received(bob.Phone, marker.MessageID); n != 1 {
			return "not yet"
		}
		return ""
	})
	if n, _ := h.received(bob.Phone, p.MessageID); n != 1 {
		t.Errorf("bob received the message %d times, want once", n)
	}
}

func TestSendsArePacedPerSession(t *testing.T) {
	h := newHarness(t)
	cfg := h.config("c1")
	cfg.Session.SendInterval = 400 * time.Millisecond
	h.start(cfg, nil)
	alice := h.phone("15550001111", "Alice")
	bob := h.phone("15550002222", "Bob")
	key := h.link("main", alice).Key()

	var ids []string
	for i := range 3 {
		p := h.queueMessage(key, bob.JID, "paced "+string(rune('1'+i)))
		ids = append(ids, p.MessageID)
		h.command(core.CmdSendMessage, key, p)
	}
	var sentAt []time.Time
	for _, id := range ids {
		sentAt = append(sentAt, h.waitMessage(key, id, core.MessageSent).UpdatedAt)
	}
	for i := 1; i < len(sentAt); i++ {
		if gap := sentAt[i].Sub(sentAt[i-1]); gap < cfg.Session.SendInterval*9/10 {
			t.Errorf("send %d followed the previous one after %v, want at least %v", i+1, gap, cfg.Session.SendInterval)
		}
	}
}
