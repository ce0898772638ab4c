package phone_test

import (
	"testing"

	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/wasim/phone"
)

func BenchmarkNew(b *testing.B) {
	lid := types.NewJID("100000000000001", types.HiddenUserServer)
	for b.Loop() {
		if _, err := phone.New("15550001111", "Bench", lid); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBundle(b *testing.B) {
	p := newPhone(b, "15550001111", "100000000000001")
	for b.Loop() {
		p.Bundle()
	}
}

func BenchmarkMessageRoundTrip(b *testing.B) {
	x := newPhone(b, "15550001111", "100000000000001")
	y := newPhone(b, "15550002222", "100000000000002")
	xAddr, yAddr := phone.AddressOf(x.JID), phone.AddressOf(y.JID)
	send(b, x, y, xAddr, yAddr, "open")
	for b.Loop() {
		send(b, y, x, yAddr, xAddr, "ping")
		send(b, x, y, xAddr, yAddr, "pong")
	}
}

// BenchmarkDecryptInARow is one device sending many messages without a reply, as a
// whatsmeow client sending to a fake phone does: no ratchet step, only the chain.
func BenchmarkDecryptInARow(b *testing.B) {
	x := newPhone(b, "15550001111", "100000000000001")
	y := newPhone(b, "15550002222", "100000000000002")
	xAddr, yAddr := phone.AddressOf(x.JID), phone.AddressOf(y.JID)
	send(b, x, y, xAddr, yAddr, "open")
	send(b, y, x, yAddr, xAddr, "ack")
	const batch = 64
	cts := make([][]byte, batch)
	for b.Loop() {
		b.StopTimer()
		for i := range cts {
			_, ct, err := x.Encrypt(yAddr, nil, text("in a row"))
			if err != nil {
				b.Fatal(err)
			}
			cts[i] = ct
		}
		b.StartTimer()
		for _, ct := range cts {
			if _, err := y.Decrypt(xAddr, phone.EncTypeMsg, ct); err != nil {
				b.Fatal(err)
			}
		}
	}
}
