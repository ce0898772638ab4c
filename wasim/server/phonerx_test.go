package server

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/wasim/phone"
)

// companion is a linked device of an account, logged in on a connection whose
// output only queues, with its own Signal identity to encrypt as the client would.
type companion struct {
	dev    *device
	conn   *conn
	signal *phone.Phone
}

func newCompanion(t *testing.T, s *Server, number string) *companion {
	t.Helper()
	if _, _, err := s.CreatePhone(context.Background(), number, ""); err != nil {
		t.Fatalf("create phone %s: %v", number, err)
	}
	a := s.account(number)
	id := a.allocDeviceID()
	d := &device{acct: a, id: id,
		jid: types.JID{User: number, Device: id, Server: types.DefaultUserServer},
		lid: types.JID{User: a.lid.User, Device: id, Server: types.HiddenUserServer}}
	a.addCompanion(d)
	ctx, cancel := context.WithCancel(s.ctx)
	t.Cleanup(cancel)
	c := &conn{srv: s, ctx: ctx, cancel: cancel, outSig: make(chan struct{}, 1)}
	c.dev.Store(d)
	c.state.Store(stateLoggedIn)
	signal, err := phone.New(number, "", a.lid)
	if err != nil {
		t.Fatalf("device keys: %v", err)
	}
	return &companion{dev: d, conn: c, signal: signal}
}

// sendText sends a text to the primary phone of to, as a whatsmeow client does: the
// message is handled on the sender's connection like any node it reads.
func (cp *companion) sendText(t *testing.T, s *Server, to *account, id, body string) {
	t.Helper()
	addr := phone.AddressOf(to.jid)
	var bundle *phone.Bundle
	if !cp.signal.HasSession(addr) {
		b := to.phone.Bundle()
		bundle = &b
	}
	encType, ct, err := cp.signal.Encrypt(addr, bundle, &waE2E.Message{Conversation: proto.String(body)})
	if err != nil {
		t.Fatalf("encrypt %s: %v", id, err)
	}
	cp.send(s, to, id, encType, ct)
}

func (cp *companion) send(s *Server, to *account, id, encType string, ct []byte) {
	s.handleNode(cp.conn, &waBinary.Node{Tag: "message", Attrs: waBinary.Attrs{"id": id, "to": to.jid, "type": "text"},
		Content: []waBinary.Node{{Tag: "participants", Content: []waBinary.Node{{
			Tag: "to", Attrs: waBinary.Attrs{"jid": to.jid},
			Content: []waBinary.Node{{Tag: "enc", Attrs: waBinary.Attrs{"v": "2", "type": encType}, Content: ct}},
		}}}}})
}

// acked reports whether the connection queued the ack for message id.
func (cp *companion) acked(id string) bool {
	cp.conn.outMu.Lock()
	defer cp.conn.outMu.Unlock()
	for _, it := range cp.conn.out {
		if it.node.Tag == "ack" && it.node.Attrs["id"] == id {
			return true
		}
	}
	return false
}

// TestPhoneListsEveryAckedMessage checks what a client relies on: once the server
// has acked a message to a fake phone, the phone's inbox lists it, in the order each
// sender sent, even though phones decrypt in the background; and a copy the phone
// cannot decrypt is a violation as soon as the violations are read.
func TestPhoneListsEveryAckedMessage(t *testing.T) {
	s, err := New(WithStrict(true))
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	const perSender = maxPhoneRx + 50 // more than a phone queues: senders must wait, not fail
	senders := []*companion{newCompanion(t, s, "15550001111"), newCompanion(t, s, "15550002222")}
	if _, _, err := s.CreatePhone(context.Background(), "15550003333", ""); err != nil {
		t.Fatalf("create phone: %v", err)
	}
	to := s.account("15550003333")

	var wg sync.WaitGroup
	for i, cp := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range perSender {
				cp.sendText(t, s, to, fmt.Sprintf("S%dM%d", i, k), fmt.Sprintf("text %d from %d", k, i))
			}
		}()
	}
	wg.Wait()
	for i, cp := range senders {
		if id := fmt.Sprintf("S%dM%d", i, perSender-1); !cp.acked(id) {
			t.Fatalf("sender %d: no ack queued for %s", i, id)
		}
	}

	msgs, err := s.Messages("15550003333")
	if err != nil {
		t.Fatalf("messages: %v", err)
	}
	if len(msgs) != len(senders)*perSender {
		t.Fatalf("inbox lists %d messages right after the last ack, want %d", len(msgs), len(senders)*perSender)
	}
	next := make([]int, len(senders))
	for _, m := range msgs {
		var i, k int
		if _, err := fmt.Sscanf(m.ID, "S%dM%d", &i, &k); err != nil || i < 0 || i >= len(senders) {
			t.Fatalf("unexpected inbox entry %+v", m)
		}
		if k != next[i] || m.Text != fmt.Sprintf("text %d from %d", k, i) || m.From != senders[i].dev.acct.number {
			t.Fatalf("sender %d: inbox entry %+v, want message %d (lost, reordered or garbled)", i, m, next[i])
		}
		next[i]++
	}
	if vs := s.Violations(); len(vs) != 0 {
		t.Fatalf("violations after valid messages: %v", vs)
	}

	senders[0].send(s, to, "GARBAGE", phone.EncTypeMsg, []byte("\x33not a signal message"))
	vs := s.TakeViolations()
	if len(vs) != 1 || !strings.Contains(vs[0].Reason, "cannot decrypt message GARBAGE") ||
		vs[0].Device != senders[0].dev.jid.String() {
		t.Fatalf("violations right after an undecryptable message = %v, want one naming it and its sender", vs)
	}
}
