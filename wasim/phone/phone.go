// Package phone simulates WhatsApp primary phones: each has a Signal identity, a signed
// prekey and one-time prekeys, an in-memory libsignal store, and can sign companion
// devices during pairing (ADV), take part in pairing by code, and encrypt and decrypt
// 1:1 messages with linked devices and with other accounts' devices.
package phone

import (
	"errors"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
)

// ErrNotImplemented is a placeholder while the package is being written.
var ErrNotImplemented = errors.New("phone: not implemented")

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

// Address names a remote device in the phone's Signal store.
type Address struct {
	Name   string
	Device uint32
}

// Phone is one simulated primary phone (device 0 of an account). Its methods are safe
// for concurrent use.
type Phone struct {
	Number string    // digits only, e.g. "15550001111"
	Name   string    // push name
	JID    types.JID // Number@s.whatsapp.net
	LID    types.JID // the account's LID, device 0
}

// New creates a phone with fresh keys.
func New(number, name string, lid types.JID) (*Phone, error) { return nil, ErrNotImplemented }

// IdentityKey is the phone's identity public key (also the ADV account signature key).
func (p *Phone) IdentityKey() [32]byte { return [32]byte{} }

// Bundle returns the phone's bundle, consuming one one-time prekey per call.
func (p *Phone) Bundle() Bundle { return Bundle{} }

// SignCompanion builds the <device-identity> content of pair-success for a companion:
// a marshalled ADVSignedDeviceIdentityHMAC whose HMAC uses advSecret.
func (p *Phone) SignCompanion(companionIdentity [32]byte, advSecret []byte, keyIndex uint32) ([]byte, error) {
	return nil, ErrNotImplemented
}

// VerifyCompanionSignature checks the ADVSignedDeviceIdentity a companion returns in
// pair-device-sign (its deviceSignature over the account signature).
func (p *Phone) VerifyCompanionSignature(signed []byte, companionIdentity [32]byte) error {
	return ErrNotImplemented
}

// Encrypt encrypts msg (padded as whatsmeow does) for a remote device. bundle is used
// only when no session exists yet. encType is "pkmsg" or "msg".
func (p *Phone) Encrypt(to Address, bundle *Bundle, msg *waE2E.Message) (encType string, ciphertext []byte, err error) {
	return "", nil, ErrNotImplemented
}

// Decrypt decrypts a "pkmsg" or "msg" from a remote device and unpads it.
func (p *Phone) Decrypt(from Address, encType string, ciphertext []byte) (*waE2E.Message, error) {
	return nil, ErrNotImplemented
}

// LinkCode is the phone's side of one pairing-by-code attempt.
type LinkCode struct{}

// EnterLinkCode is the phone typing the 8-character code shown by the companion.
// wrappedCompanionEphemeral is the 80-byte blob from companion_hello. It returns the
// blob for link_code_pairing_wrapped_primary_ephemeral_pub (80 bytes) and the state
// needed to finish.
func (p *Phone) EnterLinkCode(code string, wrappedCompanionEphemeral []byte) (wrappedPrimaryEphemeral []byte, lc *LinkCode, err error) {
	return nil, nil, ErrNotImplemented
}

// Finish decrypts the companion_finish key bundle, checks it names this phone's
// identity, and derives the ADV secret the pair-success HMAC must use. It returns the
// companion identity key from the bundle too.
func (lc *LinkCode) Finish(wrappedKeyBundle []byte) (advSecret []byte, companionIdentity [32]byte, err error) {
	return nil, [32]byte{}, ErrNotImplemented
}
