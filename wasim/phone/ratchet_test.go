package phone

import (
	"bytes"
	"fmt"
	"maps"
	mrand "math/rand/v2"
	"slices"
	"testing"

	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/whatsmeow/proto/waE2E"
	waStore "go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// twin is a copy of p whose store is independent of p's: what p would be had it not
// decrypted the next message.
func twin(t *testing.T, p *Phone) *Phone {
	t.Helper()
	s := p.store
	cp := &memStore{
		identity: s.identity, regID: s.regID, signed: s.signed,
		preKeys:    maps.Clone(s.preKeys),
		unserved:   slices.Clone(s.unserved),
		served:     slices.Clone(s.served),
		nextPreKey: s.nextPreKey,
		sessions:   maps.Clone(s.sessions),
		identities: maps.Clone(s.identities),
	}
	for addr, rec := range cp.sessions {
		c, err := copySession(rec)
		if err != nil {
			t.Fatalf("copy session %s: %v", addr, err)
		}
		cp.sessions[addr] = c
	}
	return &Phone{Number: p.Number, identity: p.identity, regID: p.regID, signed: p.signed, store: cp}
}

// TestInChainMatchesLibsignal runs a conversation with skipped, reordered, replayed
// and corrupted messages. Every message is encrypted twice, on the phone (the
// in-chain path first) and on a twin with libsignal's session cipher only, and every
// delivery decrypted twice the same way. Both must agree on the outcome, the
// ciphertext or plaintext, and where the in-chain path did the work, the session
// records must serialize to the same bytes (ratchet steps and new sessions, which
// draw random keys, go through libsignal on both sides).
func TestInChainMatchesLibsignal(t *testing.T) {
	mk := func(number, lid string) *Phone {
		p, err := New(number, "", types.NewJID(lid, types.HiddenUserServer))
		if err != nil {
			t.Fatalf("new phone: %v", err)
		}
		return p
	}
	a, b := mk("15550001111", "100000000000001"), mk("15550002222", "100000000000002")
	aAddr, bAddr := AddressOf(a.JID), AddressOf(b.JID)
	rng := mrand.New(mrand.NewPCG(3, 5))
	var inChain, fallback, failed int

	type sealed struct {
		typ  string
		ct   []byte
		body string
	}
	// seal encrypts on from, and on its twin with libsignal only: with a session
	// already there, both must produce the same bytes and the same record.
	var sealedInChain int
	seal := func(from, to *Phone, toAddr Address, body string) sealed {
		t.Helper()
		var bundle *Bundle
		had := from.HasSession(toAddr)
		if !had {
			bn := to.Bundle()
			bundle = &bn
		}
		plaintext, err := proto.Marshal(&waE2E.Message{Conversation: proto.String(body)})
		if err != nil {
			t.Fatal(err)
		}
		padded, err := padMessage(plaintext)
		if err != nil {
			t.Fatal(err)
		}
		other := twin(t, from)
		want, err := other.encryptLocked(toAddr, bundle, padded, false)
		if err != nil {
			t.Fatalf("libsignal encrypt %q: %v", body, err)
		}
		got, err := from.encryptLocked(toAddr, bundle, padded, true)
		if err != nil {
			t.Fatalf("encrypt %q: %v", body, err)
		}
		if had {
			sealedInChain++
			key := protocol.NewSignalAddress(toAddr.Name, toAddr.Device).String()
			if got.Type() != want.Type() || !bytes.Equal(got.Serialize(), want.Serialize()) ||
				!bytes.Equal(from.store.sessions[key].Serialize(), other.store.sessions[key].Serialize()) ||
				!maps.Equal(from.store.identities, other.store.identities) {
				t.Fatalf("encrypt %q: message or session differs from libsignal's", body)
			}
		}
		typ := EncTypeMsg
		if got.Type() == protocol.PREKEY_TYPE {
			typ = EncTypePreKey
		}
		return sealed{typ, got.Serialize(), body}
	}
	// deliver decrypts m on to (from fromAddr) and on its twin and compares.
	deliver := func(to *Phone, fromAddr Address, m sealed) {
		t.Helper()
		other := twin(t, to)
		addr := protocol.NewSignalAddress(fromAddr.Name, fromAddr.Device)
		wantPT, wantErr := other.decryptLocked(addr, m.typ, m.ct, false)

		before := len(to.store.identities)
		gotPT, fast := func() ([]byte, bool) {
			defer func() { _ = recover() }() // a panic is libsignal's to raise, on the full path
			st := to.store
			switch m.typ {
			case EncTypePreKey:
				pkm, err := protocol.NewPreKeySignalMessageFromBytes(m.ct, waStore.SignalProtobufSerializer.PreKeySignalMessage, waStore.SignalProtobufSerializer.SignalMessage)
				if err != nil {
					return nil, false
				}
				return st.decryptPreKeyInChain(addr, pkm)
			default:
				sm, err := protocol.NewSignalMessageFromBytes(m.ct, waStore.SignalProtobufSerializer.SignalMessage)
				if err != nil {
					return nil, false
				}
				return st.decryptInChain(addr, sm)
			}
		}()
		var gotErr error
		if fast {
			inChain++
		} else {
			if len(to.store.identities) != before {
				t.Fatal("the in-chain path changed the store and then gave up")
			}
			fallback++
			gotPT, gotErr = func() (pt []byte, err error) {
				defer recoverInto(&err, "decrypt")
				return to.decryptLocked(addr, m.typ, m.ct, true)
			}()
		}
		if (gotErr == nil) != (wantErr == nil) || !bytes.Equal(gotPT, wantPT) {
			t.Fatalf("%q (%s): phone got (%x, %v), libsignal alone (%x, %v)", m.body, m.typ, gotPT, gotErr, wantPT, wantErr)
		}
		if gotErr != nil {
			failed++
			return
		}
		if !fast {
			return
		}
		got, want := to.store.sessions[addr.String()].Serialize(), other.store.sessions[addr.String()].Serialize()
		if !bytes.Equal(got, want) {
			t.Fatalf("%q (%s): session record differs from libsignal's after the same message", m.body, m.typ)
		}
		if !maps.Equal(to.store.identities, other.store.identities) || !maps.Equal(to.store.preKeys, other.store.preKeys) {
			t.Fatalf("%q (%s): identities or prekeys differ from libsignal's", m.body, m.typ)
		}
	}
	corrupt := func(m sealed) sealed {
		c := bytes.Clone(m.ct)
		for range rng.IntN(3) + 1 {
			c[rng.IntN(len(c))] ^= byte(rng.IntN(255) + 1)
		}
		return sealed{m.typ, c, m.body + " (corrupted)"}
	}

	for round := range 60 {
		// One side sends a burst; the other receives it shuffled within a small
		// window, with replays and corrupted copies mixed in.
		from, to, fromAddr, toAddr := a, b, aAddr, bAddr
		if round%3 == 2 {
			from, to, fromAddr, toAddr = b, a, bAddr, aAddr
		}
		var burst []sealed
		for k := range rng.IntN(8) + 1 {
			burst = append(burst, seal(from, to, toAddr, fmt.Sprintf("round %d text %d", round, k)))
		}
		for i := 0; i+1 < len(burst); i += 2 {
			if rng.IntN(3) == 0 {
				burst[i], burst[i+1] = burst[i+1], burst[i]
			}
		}
		for _, m := range burst {
			if rng.IntN(4) == 0 {
				deliver(to, fromAddr, corrupt(m))
			}
			deliver(to, fromAddr, m)
			if rng.IntN(6) == 0 {
				deliver(to, fromAddr, m) // a replay
			}
		}
	}
	t.Logf("deliveries: %d in chain, %d through libsignal, %d failed on both; %d sealed in chain",
		inChain, fallback, failed, sealedInChain)
	if inChain < 100 || fallback < 20 || failed < 20 || sealedInChain < 100 {
		t.Fatalf("the conversation did not exercise every path: %d in chain, %d through libsignal, %d failed",
			inChain, fallback, failed)
	}
}
