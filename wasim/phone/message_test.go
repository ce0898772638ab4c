package phone_test

import (
	"bytes"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"testing"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/wasim/phone"
)

func newPhone(tb testing.TB, number, lid string) *phone.Phone {
	tb.Helper()
	p, err := phone.New(number, "Test "+number, types.NewJID(lid, types.HiddenUserServer))
	if err != nil {
		tb.Fatalf("new phone: %v", err)
	}
	return p
}

func text(s string) *waE2E.Message { return &waE2E.Message{Conversation: proto.String(s)} }

// send encrypts from → to (addressed as toAddr in from's store, fromAddr in to's store)
// and decrypts on the other side, checking the text survives.
func send(tb testing.TB, from, to *phone.Phone, fromAddr, toAddr phone.Address, body string) string {
	tb.Helper()
	var bundle *phone.Bundle
	if !from.HasSession(toAddr) {
		b := to.Bundle()
		bundle = &b
	}
	encType, ct, err := from.Encrypt(toAddr, bundle, text(body))
	if err != nil {
		tb.Fatalf("encrypt %q: %v", body, err)
	}
	got, err := to.Decrypt(fromAddr, encType, ct)
	if err != nil {
		tb.Fatalf("decrypt %q (%s): %v", body, encType, err)
	}
	if got.GetConversation() != body {
		tb.Fatalf("decrypted %q, want %q", got.GetConversation(), body)
	}
	return encType
}

func TestTwoPhonesConverse(t *testing.T) {
	a := newPhone(t, "15550001111", "100000000000001")
	b := newPhone(t, "15550002222", "100000000000002")
	aAddr, bAddr := phone.AddressOf(a.JID), phone.AddressOf(b.JID)

	if got := send(t, a, b, aAddr, bAddr, "hello b"); got != "pkmsg" {
		t.Fatalf("first message type %q, want pkmsg", got)
	}
	if got := send(t, a, b, aAddr, bAddr, "still unanswered"); got != "pkmsg" {
		t.Fatalf("second unanswered message type %q, want pkmsg", got)
	}
	if !b.HasSession(aAddr) {
		t.Fatal("b has no session with a after decrypting its pkmsg")
	}
	if got := send(t, b, a, bAddr, aAddr, "hello a"); got != "msg" {
		t.Fatalf("reply type %q, want msg (session came from a's pkmsg)", got)
	}
	if got := send(t, a, b, aAddr, bAddr, "after reply"); got != "msg" {
		t.Fatalf("message after reply type %q, want msg", got)
	}
	for i := range 100 {
		body := fmt.Sprintf("message %d", i)
		if i%2 == 0 {
			if got := send(t, a, b, aAddr, bAddr, body); got != "msg" {
				t.Fatalf("%s: type %q, want msg", body, got)
			}
		} else if got := send(t, b, a, bAddr, aAddr, body); got != "msg" {
			t.Fatalf("%s: type %q, want msg", body, got)
		}
	}
}

func TestOutOfOrderDelivery(t *testing.T) {
	a := newPhone(t, "15550001111", "100000000000001")
	b := newPhone(t, "15550002222", "100000000000002")
	aAddr, bAddr := phone.AddressOf(a.JID), phone.AddressOf(b.JID)
	send(t, a, b, aAddr, bAddr, "open")
	send(t, b, a, bAddr, aAddr, "ack")

	type sealed struct {
		encType string
		ct      []byte
	}
	var out []sealed
	for i := range 3 {
		encType, ct, err := a.Encrypt(bAddr, nil, text(fmt.Sprintf("n%d", i)))
		if err != nil {
			t.Fatalf("encrypt n%d: %v", i, err)
		}
		out = append(out, sealed{encType, ct})
	}
	for _, i := range []int{2, 0, 1} {
		got, err := b.Decrypt(aAddr, out[i].encType, out[i].ct)
		if err != nil {
			t.Fatalf("decrypt n%d out of order: %v", i, err)
		}
		if want := fmt.Sprintf("n%d", i); got.GetConversation() != want {
			t.Fatalf("decrypted %q, want %q", got.GetConversation(), want)
		}
	}
	if _, err := b.Decrypt(aAddr, out[1].encType, out[1].ct); err == nil {
		t.Fatal("decrypting the same message twice succeeded")
	}
}

func TestOutOfOrderPreKeyMessages(t *testing.T) {
	a := newPhone(t, "15550001111", "100000000000001")
	b := newPhone(t, "15550002222", "100000000000002")
	aAddr, bAddr := phone.AddressOf(a.JID), phone.AddressOf(b.JID)
	bundle := b.Bundle()
	t1, c1, err := a.Encrypt(bAddr, &bundle, text("first"))
	if err != nil {
		t.Fatalf("encrypt first: %v", err)
	}
	t2, c2, err := a.Encrypt(bAddr, nil, text("second"))
	if err != nil {
		t.Fatalf("encrypt second: %v", err)
	}
	if t1 != "pkmsg" || t2 != "pkmsg" {
		t.Fatalf("types %q, %q; want pkmsg twice", t1, t2)
	}
	for _, m := range []struct {
		typ  string
		ct   []byte
		want string
	}{{t2, c2, "second"}, {t1, c1, "first"}} {
		got, err := b.Decrypt(aAddr, m.typ, m.ct)
		if err != nil {
			t.Fatalf("decrypt %s: %v", m.want, err)
		}
		if got.GetConversation() != m.want {
			t.Fatalf("decrypted %q, want %q", got.GetConversation(), m.want)
		}
	}
}

func TestEncryptWithoutSessionOrBundle(t *testing.T) {
	a := newPhone(t, "15550001111", "100000000000001")
	_, _, err := a.Encrypt(phone.Address{Name: "15550009999", Device: 3}, nil, text("x"))
	if !errors.Is(err, phone.ErrNoSession) {
		t.Fatalf("err = %v, want ErrNoSession", err)
	}
}

func TestBundleWithoutOneTimePreKey(t *testing.T) {
	a := newPhone(t, "15550001111", "100000000000001")
	b := newPhone(t, "15550002222", "100000000000002")
	aAddr, bAddr := phone.AddressOf(a.JID), phone.AddressOf(b.JID)
	bundle := b.Bundle()
	bundle.PreKey = nil
	encType, ct, err := a.Encrypt(bAddr, &bundle, text("signed prekey only"))
	if err != nil {
		t.Fatalf("encrypt: %v", err)
	}
	got, err := b.Decrypt(aAddr, encType, ct)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	if encType != "pkmsg" || got.GetConversation() != "signed prekey only" {
		t.Fatalf("got %s %q", encType, got.GetConversation())
	}
	if got := send(t, b, a, bAddr, aAddr, "reply"); got != "msg" {
		t.Fatalf("reply type %q, want msg", got)
	}
}

func TestBundleConsumesPreKeys(t *testing.T) {
	b := newPhone(t, "15550002222", "100000000000002")
	first := b.Bundle()
	signedMsg := append([]byte{ecc.DjbType}, first.SignedPreKey.Pub[:]...)
	if !ecc.VerifySignature(ecc.NewDjbECPublicKey(b.IdentityKey()), signedMsg, first.SignedPreKey.Signature) {
		t.Fatal("signed prekey signature does not verify over 05 ‖ pub with the identity key")
	}
	if first.IdentityKey != b.IdentityKey() || first.RegistrationID != b.RegistrationID() {
		t.Fatal("bundle identity or registration id differ from the phone's")
	}
	if id := first.RegistrationID; id < 1 || id > 16380 {
		t.Fatalf("registration id %d outside 1..16380", id)
	}
	seen := map[uint32]bool{first.PreKey.ID: true}
	for range 60 {
		bundle := b.Bundle()
		if bundle.PreKey == nil {
			t.Fatal("bundle without one-time prekey")
		}
		if seen[bundle.PreKey.ID] {
			t.Fatalf("prekey %d served twice", bundle.PreKey.ID)
		}
		seen[bundle.PreKey.ID] = true
	}
	// A served prekey is used up by the pkmsg that names it.
	a := newPhone(t, "15550001111", "100000000000001")
	bundle := b.Bundle()
	before := b.PreKeyCount()
	encType, ct, err := a.Encrypt(phone.AddressOf(b.JID), &bundle, text("x"))
	if err != nil {
		t.Fatalf("encrypt: %v", err)
	}
	if _, err := b.Decrypt(phone.AddressOf(a.JID), encType, ct); err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	if after := b.PreKeyCount(); after != before-1 {
		t.Fatalf("prekeys held %d after pkmsg, want %d", after, before-1)
	}
	// A second session from the same bundle cannot be opened: the prekey is gone.
	c := newPhone(t, "15550003333", "100000000000003")
	encType, ct, err = c.Encrypt(phone.AddressOf(b.JID), &bundle, text("y"))
	if err != nil {
		t.Fatalf("encrypt: %v", err)
	}
	if _, err := b.Decrypt(phone.AddressOf(c.JID), encType, ct); err == nil {
		t.Fatal("pkmsg naming a used prekey decrypted")
	}
}

func TestDecryptGarbage(t *testing.T) {
	a := newPhone(t, "15550001111", "100000000000001")
	b := newPhone(t, "15550002222", "100000000000002")
	aAddr, bAddr := phone.AddressOf(a.JID), phone.AddressOf(b.JID)
	bundle := b.Bundle()
	_, valid, err := a.Encrypt(bAddr, &bundle, text("valid"))
	if err != nil {
		t.Fatalf("encrypt: %v", err)
	}
	truncated := valid[:len(valid)/2]
	flipped := append([]byte(nil), valid...)
	flipped[len(flipped)-12] ^= 0x40
	cases := []struct {
		name    string
		encType string
		ct      []byte
	}{
		{"empty_pkmsg", "pkmsg", nil},
		{"empty_msg", "msg", []byte{}},
		{"version_byte_only", "msg", []byte{0x33}},
		{"random_pkmsg", "pkmsg", []byte("\x33this is not a signal message at all")},
		{"random_msg", "msg", []byte("\x33\x0a\x21garbage garbage garbage garbage!!")},
		{"truncated_pkmsg", "pkmsg", truncated},
		{"flipped_pkmsg", "pkmsg", flipped},
		{"pkmsg_as_msg", "msg", valid},
		{"unknown_type", "skmsg", valid},
		{"no_type", "", valid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg, err := b.Decrypt(aAddr, tc.encType, tc.ct)
			if err == nil {
				t.Fatalf("decrypt succeeded: %v", msg)
			}
			if tc.name == "unknown_type" || tc.name == "no_type" {
				if !errors.Is(err, phone.ErrUnknownEncType) {
					t.Fatalf("err = %v, want ErrUnknownEncType", err)
				}
			}
		})
	}
	// The valid message still decrypts after all that.
	got, err := b.Decrypt(aAddr, "pkmsg", valid)
	if err != nil {
		t.Fatalf("decrypt valid message after garbage: %v", err)
	}
	if got.GetConversation() != "valid" {
		t.Fatalf("decrypted %q", got.GetConversation())
	}
}

func TestDecryptMutatedMessages(t *testing.T) {
	a := newPhone(t, "15550001111", "100000000000001")
	b := newPhone(t, "15550002222", "100000000000002")
	aAddr, bAddr := phone.AddressOf(a.JID), phone.AddressOf(b.JID)
	send(t, a, b, aAddr, bAddr, "open")
	send(t, b, a, bAddr, aAddr, "ack")
	seal := func(body string) []byte {
		encType, ct, err := a.Encrypt(bAddr, nil, text(body))
		if err != nil || encType != "msg" {
			t.Fatalf("encrypt: %q %v", encType, err)
		}
		return ct
	}
	valid := seal("the real one")
	rng := mrand.New(mrand.NewPCG(7, 11))
	for i := range 3000 {
		c := bytes.Clone(valid)
		for range rng.IntN(4) + 1 {
			c[rng.IntN(len(c))] ^= byte(rng.IntN(255) + 1)
		}
		if rng.IntN(3) == 0 {
			c = c[:rng.IntN(len(c))]
		}
		for _, typ := range []string{"pkmsg", "msg"} {
			m, err := b.Decrypt(aAddr, typ, c)
			if err != nil {
				continue
			}
			// libsignal authenticates the re-serialized message, so a change it
			// does not read (the low nibble of the version byte) still decrypts;
			// what must hold is that the content is the sender's.
			if m.GetConversation() != "the real one" {
				t.Fatalf("mutation %d decrypted as %s to forged content %v", i, typ, m)
			}
			valid = seal("the real one")
		}
	}
	if got := send(t, a, b, aAddr, bAddr, "after the noise"); got != "msg" {
		t.Fatalf("type %q after mutations, want msg", got)
	}
}

func TestDeleteSessionStartsOver(t *testing.T) {
	a := newPhone(t, "15550001111", "100000000000001")
	b := newPhone(t, "15550002222", "100000000000002")
	aAddr, bAddr := phone.AddressOf(a.JID), phone.AddressOf(b.JID)
	send(t, a, b, aAddr, bAddr, "open")
	send(t, b, a, bAddr, aAddr, "ack")
	a.DeleteSession(bAddr)
	if a.HasSession(bAddr) {
		t.Fatal("session still there after DeleteSession")
	}
	if _, _, err := a.Encrypt(bAddr, nil, text("x")); !errors.Is(err, phone.ErrNoSession) {
		t.Fatalf("err = %v, want ErrNoSession", err)
	}
	if got := send(t, a, b, aAddr, bAddr, "fresh start"); got != "pkmsg" {
		t.Fatalf("type %q after reset, want pkmsg", got)
	}
	if got := send(t, b, a, bAddr, aAddr, "fresh ack"); got != "msg" {
		t.Fatalf("type %q, want msg", got)
	}
}

func TestOldServedPreKeysAreForgotten(t *testing.T) {
	a := newPhone(t, "15550001111", "100000000000001")
	b := newPhone(t, "15550002222", "100000000000002")
	aAddr, bAddr := phone.AddressOf(a.JID), phone.AddressOf(b.JID)
	old := b.Bundle()
	recent := old
	for range 1000 {
		recent = b.Bundle()
	}
	if n := b.PreKeyCount(); n > 1000+25 {
		t.Fatalf("phone holds %d prekeys; served prekeys are not bounded", n)
	}
	encType, ct, err := a.Encrypt(bAddr, &old, text("too late"))
	if err != nil {
		t.Fatalf("encrypt: %v", err)
	}
	if _, err := b.Decrypt(aAddr, encType, ct); err == nil {
		t.Fatal("pkmsg on a forgotten prekey decrypted")
	}
	c := newPhone(t, "15550003333", "100000000000003")
	encType, ct, err = c.Encrypt(bAddr, &recent, text("in time"))
	if err != nil {
		t.Fatalf("encrypt: %v", err)
	}
	if m, err := b.Decrypt(phone.AddressOf(c.JID), encType, ct); err != nil || m.GetConversation() != "in time" {
		t.Fatalf("pkmsg on a recent prekey: %v", err)
	}
}
