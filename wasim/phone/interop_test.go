package phone_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/keys/prekey"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/session"
	"go.mau.fi/libsignal/util/optional"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/wasim/phone"
)

// memDeviceStore backs whatsmeow's own store.Device with maps, so that the companion
// in these tests runs whatsmeow's real libsignal adapter (store/signal.go). Identity
// trust is strict trust-on-first-use, like whatsmeow's SQL store.
type memDeviceStore struct {
	*store.NoopStore
	mu         sync.Mutex
	sessions   map[string][]byte
	identities map[string][32]byte
	preKeys    map[uint32]*keys.PreKey
}

func (m *memDeviceStore) GetSession(_ context.Context, addr string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessions[addr], nil
}

func (m *memDeviceStore) HasSession(_ context.Context, addr string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.sessions[addr]
	return ok, nil
}

func (m *memDeviceStore) PutSession(_ context.Context, addr string, sess []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions[addr] = sess
	return nil
}

func (m *memDeviceStore) PutIdentity(_ context.Context, addr string, key [32]byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.identities[addr] = key
	return nil
}

func (m *memDeviceStore) IsTrustedIdentity(_ context.Context, addr string, key [32]byte) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	known, ok := m.identities[addr]
	return !ok || known == key, nil
}

func (m *memDeviceStore) GetPreKey(_ context.Context, id uint32) (*keys.PreKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.preKeys[id], nil
}

func (m *memDeviceStore) RemovePreKey(_ context.Context, id uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.preKeys, id)
	return nil
}

// companion is a whatsmeow device: store.Device plus the encrypt/decrypt steps of
// send.go (encryptMessageForDevice) and message.go (decryptDM).
type companion struct {
	dev   *store.Device
	mem   *memDeviceStore
	jid   types.JID // PN AD-JID
	lid   types.JID // LID AD-JID
	nextK uint32
}

func newCompanion(tb testing.TB, p *phone.Phone, device uint8) *companion {
	tb.Helper()
	mem := &memDeviceStore{
		NoopStore:  &store.NoopStore{},
		sessions:   map[string][]byte{},
		identities: map[string][32]byte{},
		preKeys:    map[uint32]*keys.PreKey{},
	}
	ik := keys.NewKeyPair()
	jid := types.NewADJID(p.Number, 0, device)
	lid := types.NewADJID(p.LID.User, types.LIDDomain, device)
	dev := &store.Device{
		IdentityKey:    ik,
		SignedPreKey:   ik.CreateSignedPreKey(1),
		RegistrationID: 4242,
		ID:             &jid,
		LID:            lid,
		Identities:     mem,
		Sessions:       mem,
		PreKeys:        mem,
	}
	// handlePair stores the phone's identity under its LID, device 0.
	if err := mem.PutIdentity(context.Background(), phone.AddressOf(p.LID).String(), p.IdentityKey()); err != nil {
		tb.Fatal(err)
	}
	return &companion{dev: dev, mem: mem, jid: jid, lid: lid, nextK: 1}
}

// bundle is what the server would hand out for this companion on a prekey fetch.
func (c *companion) bundle() phone.Bundle {
	pk := keys.NewPreKey(c.nextK)
	c.nextK++
	c.mem.mu.Lock()
	c.mem.preKeys[pk.KeyID] = pk
	c.mem.mu.Unlock()
	return phone.Bundle{
		RegistrationID: c.dev.RegistrationID,
		IdentityKey:    *c.dev.IdentityKey.Pub,
		PreKey:         &phone.PreKey{ID: pk.KeyID, Pub: *pk.Pub},
		SignedPreKey: phone.SignedPreKey{
			ID: c.dev.SignedPreKey.KeyID, Pub: *c.dev.SignedPreKey.Pub, Signature: *c.dev.SignedPreKey.Signature,
		},
	}
}

// toSignal converts a bundle like whatsmeow's nodeToPreKeyBundle.
func toSignal(b phone.Bundle, device uint32) *prekey.Bundle {
	ik := identity.NewKey(ecc.NewDjbECPublicKey(b.IdentityKey))
	spk := ecc.NewDjbECPublicKey(b.SignedPreKey.Pub)
	if b.PreKey == nil {
		return prekey.NewBundle(b.RegistrationID, device, optional.NewEmptyUint32(), b.SignedPreKey.ID, nil, spk, b.SignedPreKey.Signature, ik)
	}
	return prekey.NewBundle(b.RegistrationID, device, optional.NewOptionalUint32(b.PreKey.ID), b.SignedPreKey.ID,
		ecc.NewDjbECPublicKey(b.PreKey.Pub), spk, b.SignedPreKey.Signature, ik)
}

func wmPad(plaintext []byte) []byte {
	pad := make([]byte, 1)
	_, _ = rand.Read(pad)
	pad[0] &= 0xf
	if pad[0] == 0 {
		pad[0] = 0xf
	}
	return append(plaintext, bytes.Repeat(pad, int(pad[0]))...)
}

func wmUnpad(plaintext []byte) ([]byte, error) {
	if len(plaintext) == 0 {
		return nil, fmt.Errorf("plaintext is empty")
	}
	last := plaintext[len(plaintext)-1]
	if !bytes.HasSuffix(plaintext, bytes.Repeat([]byte{last}, int(last))) {
		return nil, fmt.Errorf("plaintext doesn't have expected padding")
	}
	return plaintext[:len(plaintext)-int(last)], nil
}

// encrypt follows encryptMessageForDevice; bundle may be nil when a session exists.
func (c *companion) encrypt(tb testing.TB, to types.JID, bundle *prekey.Bundle, msg *waE2E.Message) (string, []byte) {
	tb.Helper()
	ctx := context.Background()
	plaintext, err := proto.Marshal(msg)
	if err != nil {
		tb.Fatal(err)
	}
	builder := session.NewBuilderFromSignal(c.dev, to.SignalAddress(), store.SignalProtobufSerializer)
	if bundle != nil {
		if err := builder.ProcessBundle(ctx, bundle); err != nil {
			tb.Fatalf("whatsmeow: process bundle: %v", err)
		}
	}
	ct, err := session.NewCipher(builder, to.SignalAddress()).Encrypt(ctx, wmPad(plaintext))
	if err != nil {
		tb.Fatalf("whatsmeow: encrypt: %v", err)
	}
	if ct.Type() == protocol.PREKEY_TYPE {
		return "pkmsg", ct.Serialize()
	}
	return "msg", ct.Serialize()
}

// decrypt follows decryptDM.
func (c *companion) decrypt(tb testing.TB, from types.JID, encType string, content []byte) *waE2E.Message {
	tb.Helper()
	ctx := context.Background()
	ser := store.SignalProtobufSerializer
	builder := session.NewBuilderFromSignal(c.dev, from.SignalAddress(), ser)
	cipher := session.NewCipher(builder, from.SignalAddress())
	var plaintext []byte
	if encType == "pkmsg" {
		pkm, err := protocol.NewPreKeySignalMessageFromBytes(content, ser.PreKeySignalMessage, ser.SignalMessage)
		if err != nil {
			tb.Fatalf("whatsmeow: parse prekey message: %v", err)
		}
		if plaintext, err = cipher.DecryptMessage(ctx, pkm); err != nil {
			tb.Fatalf("whatsmeow: decrypt prekey message: %v", err)
		}
	} else {
		sm, err := protocol.NewSignalMessageFromBytes(content, ser.SignalMessage)
		if err != nil {
			tb.Fatalf("whatsmeow: parse message: %v", err)
		}
		if plaintext, err = cipher.Decrypt(ctx, sm); err != nil {
			tb.Fatalf("whatsmeow: decrypt message: %v", err)
		}
	}
	plaintext, err := wmUnpad(plaintext)
	if err != nil {
		tb.Fatalf("whatsmeow: unpad: %v", err)
	}
	var msg waE2E.Message
	if err := proto.Unmarshal(plaintext, &msg); err != nil {
		tb.Fatalf("whatsmeow: unmarshal: %v", err)
	}
	return &msg
}

func TestInteropCompanionWritesFirst(t *testing.T) {
	p := newPhone(t, "15550001111", "100000000000001")
	c := newCompanion(t, p, 7)
	phoneLID := p.LID // whatsmeow addresses its own phone by LID, device 0
	companionAddr := phone.AddressOf(c.lid)

	encType, ct := c.encrypt(t, phoneLID, toSignal(p.Bundle(), 0), text("from whatsmeow"))
	if encType != "pkmsg" {
		t.Fatalf("whatsmeow first message %q, want pkmsg", encType)
	}
	got, err := p.Decrypt(companionAddr, encType, ct)
	if err != nil {
		t.Fatalf("phone decrypts whatsmeow pkmsg: %v", err)
	}
	if got.GetConversation() != "from whatsmeow" {
		t.Fatalf("phone got %q", got.GetConversation())
	}
	for i := range 10 {
		body := fmt.Sprintf("phone reply %d", i)
		encType, ct, err := p.Encrypt(companionAddr, nil, text(body))
		if err != nil {
			t.Fatalf("phone encrypt: %v", err)
		}
		if encType != "msg" {
			t.Fatalf("phone reply type %q, want msg", encType)
		}
		if m := c.decrypt(t, phoneLID, encType, ct); m.GetConversation() != body {
			t.Fatalf("whatsmeow got %q, want %q", m.GetConversation(), body)
		}
		body = fmt.Sprintf("whatsmeow again %d", i)
		encType, ct = c.encrypt(t, phoneLID, nil, text(body))
		if encType != "msg" {
			t.Fatalf("whatsmeow type after reply %q, want msg", encType)
		}
		if m, err := p.Decrypt(companionAddr, encType, ct); err != nil || m.GetConversation() != body {
			t.Fatalf("phone decrypt: %v %q", err, m.GetConversation())
		}
	}
}

func TestInteropPhoneWritesFirst(t *testing.T) {
	p := newPhone(t, "15550001111", "100000000000001")
	c := newCompanion(t, p, 3)
	phoneLID := p.LID
	companionAddr := phone.AddressOf(c.lid)

	b := c.bundle()
	sent := &waE2E.Message{DeviceSentMessage: &waE2E.DeviceSentMessage{
		DestinationJID: proto.String("15550002222@s.whatsapp.net"),
		Message:        &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("sent from the phone")}},
	}}
	encType, ct, err := p.Encrypt(companionAddr, &b, sent)
	if err != nil {
		t.Fatalf("phone encrypt: %v", err)
	}
	if encType != "pkmsg" {
		t.Fatalf("phone first message %q, want pkmsg", encType)
	}
	got := c.decrypt(t, phoneLID, encType, ct)
	if !proto.Equal(got, sent) {
		t.Fatalf("whatsmeow got %v, want %v", got, sent)
	}
	if _, ok := c.mem.preKeys[b.PreKey.ID]; ok {
		t.Fatal("whatsmeow kept the prekey the phone's pkmsg used")
	}
	encType, ct = c.encrypt(t, phoneLID, nil, text("ack"))
	if encType != "msg" {
		t.Fatalf("whatsmeow reply %q, want msg", encType)
	}
	if m, err := p.Decrypt(companionAddr, encType, ct); err != nil || m.GetConversation() != "ack" {
		t.Fatalf("phone decrypt reply: %v %q", err, m.GetConversation())
	}
	if encType, _, err := p.Encrypt(companionAddr, nil, text("next")); err != nil || encType != "msg" {
		t.Fatalf("phone after reply: %q %v, want msg", encType, err)
	}
}

func TestInteropOtherAccountByPN(t *testing.T) {
	// A companion of account B talks to phone A, addressing it by phone number as
	// whatsmeow does before any LID migration.
	a := newPhone(t, "15550001111", "100000000000001")
	b := newPhone(t, "15550002222", "100000000000002")
	c := newCompanion(t, b, 4)
	companionAddr := phone.AddressOf(c.jid)

	encType, ct := c.encrypt(t, a.JID, toSignal(a.Bundle(), 0), text("hi a"))
	if m, err := a.Decrypt(companionAddr, encType, ct); err != nil || m.GetConversation() != "hi a" {
		t.Fatalf("phone a decrypt: %v", err)
	}
	encType, ct, err := a.Encrypt(companionAddr, nil, text("hi companion"))
	if err != nil {
		t.Fatalf("phone a encrypt: %v", err)
	}
	if m := c.decrypt(t, a.JID, encType, ct); m.GetConversation() != "hi companion" {
		t.Fatalf("companion got %q", m.GetConversation())
	}
}
