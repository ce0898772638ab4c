package e2e

import (
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/wasim/server"
	"github.com/wagate/wagate/wasim/simtest"
)

// waitInbox polls a phone's inbox until it holds the message with that id.
func waitInbox(t testing.TB, sim *simtest.Sim, phone, id string) server.InboxMessage {
	t.Helper()
	deadline := time.Now().Add(wait)
	var msgs []server.InboxMessage
	var err error
	for time.Now().Before(deadline) {
		msgs, err = sim.Control.Messages(ctxFor(t), phone)
		if err != nil {
			t.Fatalf("messages of %s: %v", phone, err)
		}
		for _, m := range msgs {
			if m.ID == id {
				return m
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("phone %s never received %s; inbox: %+v", phone, id, msgs)
	return server.InboxMessage{}
}

func text(s string) *waE2E.Message { return &waE2E.Message{Conversation: proto.String(s)} }

func TestClientTextReachesPhoneAndReceiptsComeBack(t *testing.T) {
	sim := simtest.Start(t)
	createPhone(t, sim, "15550001111", "Alice")
	createPhone(t, sim, "15550002222", "Bob")
	alice := pairQR(t, sim, "15550001111")
	bob := types.NewJID("15550002222", types.DefaultUserServer)
	ctx := ctxFor(t)

	resp, err := alice.cli.SendMessage(ctx, bob, text("hello bob"))
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if resp.Timestamp.IsZero() {
		t.Fatal("send response has no server timestamp")
	}
	got := waitInbox(t, sim, "15550002222", resp.ID)
	if got.Text != "hello bob" || got.From != "15550001111" || got.FromJID != alice.jid.String() || got.Enc != "pkmsg" {
		t.Fatalf("bob's phone got %+v, want text %q from %s as pkmsg", got, "hello bob", alice.jid)
	}

	// Bob answers; Alice's next message then travels on the established session.
	mark := alice.rec.Mark()
	replyID, err := sim.Control.SendMessage(ctx, "15550002222", "15550001111", "hi alice")
	if err != nil {
		t.Fatalf("bob replies: %v", err)
	}
	simtest.WaitFor[*events.Message](t, alice.rec, mark, wait, func(m *events.Message) bool { return m.Info.ID == replyID })
	resp2, err := alice.cli.SendMessage(ctx, bob, text("second"))
	if err != nil {
		t.Fatalf("send second: %v", err)
	}
	if got := waitInbox(t, sim, "15550002222", resp2.ID); got.Text != "second" || got.Enc != "msg" {
		t.Fatalf("bob's phone got %+v, want text %q as msg", got, "second")
	}

	// Bob's phone marks the first message delivered, then read.
	for _, tc := range []struct {
		kind string
		want types.ReceiptType
	}{{"delivered", types.ReceiptTypeDelivered}, {"read", types.ReceiptTypeRead}} {
		mark := alice.rec.Mark()
		if err := sim.Control.Receipt(ctx, "15550002222", resp.ID, tc.kind); err != nil {
			t.Fatalf("%s receipt: %v", tc.kind, err)
		}
		r := simtest.WaitFor[*events.Receipt](t, alice.rec, mark, wait, func(r *events.Receipt) bool {
			return len(r.MessageIDs) > 0 && r.MessageIDs[0] == resp.ID
		})
		if r.Type != tc.want || r.Chat != bob || r.IsFromMe {
			t.Fatalf("%s receipt event = type %q chat %s fromMe %v; want type %q chat %s",
				tc.kind, r.Type, r.Chat, r.IsFromMe, tc.want, bob)
		}
	}
}

func TestPhoneTextReachesClientAndDeliveryIsRecorded(t *testing.T) {
	sim := simtest.Start(t)
	createPhone(t, sim, "15550001111", "Alice")
	createPhone(t, sim, "15550002222", "Bob")
	alice := pairQR(t, sim, "15550001111")
	ctx := ctxFor(t)

	mark := alice.rec.Mark()
	id, err := sim.Control.SendMessage(ctx, "15550002222", "15550001111", "hi from bob's phone")
	if err != nil {
		t.Fatalf("phone send: %v", err)
	}
	msg := simtest.WaitFor[*events.Message](t, alice.rec, mark, wait, func(m *events.Message) bool { return m.Info.ID == id })
	bob := types.NewJID("15550002222", types.DefaultUserServer)
	if msg.Message.GetConversation() != "hi from bob's phone" || msg.Info.Sender != bob || msg.Info.Chat != bob ||
		msg.Info.IsFromMe || msg.Info.PushName != "Bob" {
		t.Fatalf("message event = text %q sender %s chat %s fromMe %v push %q",
			msg.Message.GetConversation(), msg.Info.Sender, msg.Info.Chat, msg.Info.IsFromMe, msg.Info.PushName)
	}

	deadline := time.Now().Add(wait)
	for {
		sent, err := sim.Control.Sent(ctx, "15550002222")
		if err != nil {
			t.Fatalf("sent: %v", err)
		}
		if len(sent) == 1 && sent[0].ID == id && sent[0].Text == "hi from bob's phone" && sent[0].To == "15550001111" &&
			len(sent[0].Receipts) > 0 {
			r := sent[0].Receipts[0]
			if r.From != alice.jid.String() || r.Type != "delivered" {
				t.Fatalf("receipt = %+v, want delivered from %s", r, alice.jid)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no delivery receipt recorded; sent: %+v", sent)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestClientToClientTextAndOwnDeviceCopy(t *testing.T) {
	sim := simtest.Start(t)
	createPhone(t, sim, "15550001111", "Alice")
	createPhone(t, sim, "15550002222", "Bob")
	alice := pairQR(t, sim, "15550001111")
	aliceTablet := pairQR(t, sim, "15550001111")
	bob := pairQR(t, sim, "15550002222")
	bobJID := types.NewJID("15550002222", types.DefaultUserServer)
	ctx := ctxFor(t)

	markBob, markTablet, markAlice := bob.rec.Mark(), aliceTablet.rec.Mark(), alice.rec.Mark()
	resp, err := alice.cli.SendMessage(ctx, bobJID, text("from alice's laptop"))
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	got := simtest.WaitFor[*events.Message](t, bob.rec, markBob, wait, func(m *events.Message) bool { return m.Info.ID == resp.ID })
	if got.Message.GetConversation() != "from alice's laptop" || got.Info.Sender != alice.jid || got.Info.IsFromMe ||
		got.Info.PushName != "Alice" {
		t.Fatalf("bob got text %q from %s (fromMe %v, push %q)", got.Message.GetConversation(), got.Info.Sender,
			got.Info.IsFromMe, got.Info.PushName)
	}
	// Alice's other device sees her own message in the chat with Bob.
	own := simtest.WaitFor[*events.Message](t, aliceTablet.rec, markTablet, wait, func(m *events.Message) bool { return m.Info.ID == resp.ID })
	if !own.Info.IsFromMe || own.Info.Chat != bobJID || own.Message.GetConversation() != "from alice's laptop" {
		t.Fatalf("alice's tablet got fromMe %v chat %s text %q", own.Info.IsFromMe, own.Info.Chat, own.Message.GetConversation())
	}
	// Bob's phone has it too, and Bob's client's delivery receipt reaches Alice.
	waitInbox(t, sim, "15550002222", resp.ID)
	r := simtest.WaitFor[*events.Receipt](t, alice.rec, markAlice, wait, func(r *events.Receipt) bool {
		return len(r.MessageIDs) > 0 && r.MessageIDs[0] == resp.ID && r.Sender == bob.jid
	})
	if r.Type != types.ReceiptTypeDelivered {
		t.Fatalf("receipt type = %q, want delivered", r.Type)
	}
}

func TestOfflineMessagesArriveOnLogin(t *testing.T) {
	sim := simtest.Start(t)
	createPhone(t, sim, "15550001111", "Alice")
	createPhone(t, sim, "15550002222", "Bob")
	alice := pairQR(t, sim, "15550001111")
	waitDevice(t, sim, alice.jid.String(), func(d deviceView) bool { return d.Connected })
	l := alice.restart(t, sim)
	waitDevice(t, sim, alice.jid.String(), func(d deviceView) bool { return !d.Connected })

	ctx := ctxFor(t)
	var ids []string
	for _, body := range []string{"while you were away", "and another"} {
		id, err := sim.Control.SendMessage(ctx, "15550002222", "15550001111", body)
		if err != nil {
			t.Fatalf("phone send: %v", err)
		}
		ids = append(ids, id)
	}
	if err := l.cli.Connect(); err != nil {
		t.Fatalf("connect: %v", err)
	}
	for i, id := range ids {
		m := simtest.WaitFor[*events.Message](t, l.rec, 0, wait, func(m *events.Message) bool { return m.Info.ID == id })
		if want := []string{"while you were away", "and another"}[i]; m.Message.GetConversation() != want {
			t.Fatalf("offline message %d = %q, want %q", i, m.Message.GetConversation(), want)
		}
	}
	done := simtest.WaitFor[*events.OfflineSyncCompleted](t, l.rec, 0, wait, nil)
	if done.Count != 2 {
		t.Fatalf("OfflineSyncCompleted.Count = %d, want 2", done.Count)
	}
}

func TestNewlyLinkedDeviceIsAnnouncedToPeers(t *testing.T) {
	sim := simtest.Start(t)
	createPhone(t, sim, "15550001111", "Alice")
	createPhone(t, sim, "15550002222", "Bob")
	alice := pairQR(t, sim, "15550001111")
	bobLaptop := pairQR(t, sim, "15550002222")
	bobJID := types.NewJID("15550002222", types.DefaultUserServer)
	ctx := ctxFor(t)

	// Alice's client learns (and caches) Bob's devices with the first message.
	mark := bobLaptop.rec.Mark()
	first, err := alice.cli.SendMessage(ctx, bobJID, text("one"))
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	simtest.WaitFor[*events.Message](t, bobLaptop.rec, mark, wait, func(m *events.Message) bool { return m.Info.ID == first.ID })

	// Bob links a tablet; Alice's next message must reach it too.
	bobTablet := pairQR(t, sim, "15550002222")
	waitDevice(t, sim, alice.jid.String(), func(d deviceView) bool { return d.Connected })
	deadline := time.Now().Add(wait)
	for {
		n, err := sim.Server.Unacked(alice.jid.String())
		if err != nil {
			t.Fatalf("unacked: %v", err)
		}
		if n == 0 {
			break // Alice's client has processed the devices notification
		}
		if time.Now().After(deadline) {
			t.Fatal("alice never acknowledged the device notification")
		}
		time.Sleep(20 * time.Millisecond)
	}
	second, err := alice.cli.SendMessage(ctx, bobJID, text("two"))
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	got := simtest.WaitFor[*events.Message](t, bobTablet.rec, 0, wait, func(m *events.Message) bool { return m.Info.ID == second.ID })
	if got.Message.GetConversation() != "two" || got.Info.Sender != alice.jid {
		t.Fatalf("bob's tablet got %q from %s", got.Message.GetConversation(), got.Info.Sender)
	}
}
