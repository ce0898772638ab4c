package e2e

import (
	"testing"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/wasim/simtest"
)

// BenchmarkPhoneToLinkedClient measures a phone's text until the linked whatsmeow
// client dispatches it as an event.
func BenchmarkPhoneToLinkedClient(b *testing.B) {
	sim := simtest.Start(b)
	createPhone(b, sim, "15550001111", "Alice")
	createPhone(b, sim, "15550002222", "Bob")
	alice := pairQR(b, sim, "15550001111")
	ctx := ctxFor(b)
	for b.Loop() {
		mark := alice.rec.Mark()
		id, err := sim.Server.SendMessage(ctx, "15550002222", "15550001111", "ping")
		if err != nil {
			b.Fatalf("send: %v", err)
		}
		simtest.WaitFor[*events.Message](b, alice.rec, mark, wait, func(m *events.Message) bool { return m.Info.ID == id })
	}
}

// BenchmarkClientToPhone measures whatsmeow's SendMessage to a phone (encrypt, relay,
// server ack) once the session exists.
func BenchmarkClientToPhone(b *testing.B) {
	sim := simtest.Start(b)
	createPhone(b, sim, "15550001111", "Alice")
	createPhone(b, sim, "15550002222", "Bob")
	alice := pairQR(b, sim, "15550001111")
	bob := types.NewJID("15550002222", types.DefaultUserServer)
	ctx := ctxFor(b)
	if _, err := alice.cli.SendMessage(ctx, bob, text("warm up")); err != nil {
		b.Fatalf("send: %v", err)
	}
	for b.Loop() {
		if _, err := alice.cli.SendMessage(ctx, bob, text("ping")); err != nil {
			b.Fatalf("send: %v", err)
		}
	}
}

// BenchmarkLinkDevice measures QR pairing of a new client through to Connected
// (including whatsmeow's generation and upload of 812 prekeys).
func BenchmarkLinkDevice(b *testing.B) {
	sim := simtest.Start(b)
	createPhone(b, sim, "15550001111", "Alice")
	for b.Loop() {
		l := pairQR(b, sim, "15550001111")
		simtest.Quiesce(sim, l.jid, wait)
		l.cli.Disconnect()
	}
}
