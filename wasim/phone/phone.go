// Package phone simulates WhatsApp primary phones: each has a Signal identity, a signed
// prekey and one-time prekeys, an in-memory libsignal store, and can sign companion
// devices during pairing (ADV), take part in pairing by code, and encrypt and decrypt
// 1:1 messages with linked devices and with other accounts' devices.
package phone

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
)

// PreKey is a one-time prekey as served in a bundle.
type PreKey struct {
	ID  uint32
	Pub [32]byte
}

// SignedPreKey is a signed prekey; Signature is XEdDSA by the identity over 0x05‖Pub.
type SignedPreKey struct {
	ID        uint32
	Pub       [32]byte
	Signature [64]byte
}

// Bundle is a device's public keys as the server hands them out on a prekey fetch.
// PreKey is nil when the device has no one-time prekeys left.
type Bundle struct {
	RegistrationID uint32
	IdentityKey    [32]byte
	PreKey         *PreKey
	SignedPreKey   SignedPreKey
}

// Address names a remote device in the phone's Signal store. It maps to the libsignal
// address Name:Device, exactly like whatsmeow's JID.SignalAddress.
type Address struct {
	Name   string
	Device uint32
}

// AddressOf is the Signal address whatsmeow uses for jid: the user part (with an
// "_<agent>" suffix for LID and hosted JIDs) and the device number.
func AddressOf(jid types.JID) Address {
	return Address{Name: jid.SignalAddressUser(), Device: uint32(jid.Device)}
}

// String is the libsignal form of the address, "name:device".
func (a Address) String() string { return fmt.Sprintf("%s:%d", a.Name, a.Device) }

// Phone is one simulated primary phone (device 0 of an account). Its methods are safe
// for concurrent use.
type Phone struct {
	Number string    // digits only, e.g. "15550001111"
	Name   string    // push name
	JID    types.JID // Number@s.whatsapp.net
	LID    types.JID // the account's LID, device 0

	identity *keys.KeyPair // immutable after New
	regID    uint32        // immutable after New
	signed   *keys.PreKey  // immutable after New

	mu    sync.Mutex
	store *memStore // guarded by mu
}

// New creates a phone with fresh keys: an identity key pair, a registration ID, a
// signed prekey and a pool of one-time prekeys.
func New(number, name string, lid types.JID) (*Phone, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("read registration id randomness: %w", err)
	}
	identity := keys.NewKeyPair()
	lid.Device = 0
	p := &Phone{
		Number:   number,
		Name:     name,
		JID:      types.NewJID(number, types.DefaultUserServer),
		LID:      lid,
		identity: identity,
		// Signal registration IDs are 1..16380.
		regID:  binary.BigEndian.Uint32(b[:])%16380 + 1,
		signed: identity.CreateSignedPreKey(1),
	}
	p.store = newMemStore(p.identity, p.regID, p.signed)
	return p, nil
}

// IdentityKey is the phone's identity public key (also the ADV account signature key).
func (p *Phone) IdentityKey() [32]byte { return *p.identity.Pub }

// RegistrationID is the phone's Signal registration ID.
func (p *Phone) RegistrationID() uint32 { return p.regID }

// Bundle returns the phone's bundle, consuming one one-time prekey per call. The
// served prekey stays usable until a pkmsg uses it or many newer prekeys have been
// served since (see maxServedPreKeys).
func (p *Phone) Bundle() Bundle {
	p.mu.Lock()
	pk := p.store.servePreKey()
	p.mu.Unlock()
	return Bundle{
		RegistrationID: p.regID,
		IdentityKey:    *p.identity.Pub,
		PreKey:         pk,
		SignedPreKey: SignedPreKey{
			ID:        p.signed.KeyID,
			Pub:       *p.signed.Pub,
			Signature: *p.signed.Signature,
		},
	}
}

// HasSession reports whether the phone has a Signal session with a remote device, that
// is whether Encrypt to it needs no bundle.
func (p *Phone) HasSession(a Address) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.store.sessions[a.String()]
	return ok
}

// DeleteSession forgets the session with a remote device, so that the next Encrypt
// to it starts over from a bundle (as after a retry receipt that carries keys).
func (p *Phone) DeleteSession(a Address) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.store.sessions, a.String())
}

// PreKeyCount is the number of one-time prekeys the phone still holds private keys
// for, served or not.
func (p *Phone) PreKeyCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.store.preKeys)
}
