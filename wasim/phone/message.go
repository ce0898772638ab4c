package phone

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/keys/prekey"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/session"
	"go.mau.fi/libsignal/util/optional"
	"go.mau.fi/whatsmeow/proto/waE2E"
	waStore "go.mau.fi/whatsmeow/store"
	"google.golang.org/protobuf/proto"
)

// Encrypt types, as in the type attribute of <enc>.
const (
	EncTypePreKey = "pkmsg" // serialized PreKeySignalMessage
	EncTypeMsg    = "msg"   // serialized SignalMessage
)

// Encrypt encrypts msg (padded as whatsmeow does) for a remote device. bundle is used
// only when no session exists yet. encType is "pkmsg" or "msg": it stays "pkmsg" until
// a message from that device has been decrypted, as in any Signal session.
func (p *Phone) Encrypt(to Address, bundle *Bundle, msg *waE2E.Message) (encType string, ciphertext []byte, err error) {
	plaintext, err := proto.Marshal(msg)
	if err != nil {
		return "", nil, fmt.Errorf("marshal message: %w", err)
	}
	padded, err := padMessage(plaintext)
	if err != nil {
		return "", nil, err
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	defer recoverInto(&err, "encrypt")
	out, err := p.encryptLocked(to, bundle, padded, true)
	if err != nil {
		return "", nil, err
	}
	if out.Type() == protocol.PREKEY_TYPE {
		return EncTypePreKey, out.Serialize(), nil
	}
	return EncTypeMsg, out.Serialize(), nil
}

// encryptLocked encrypts padded with p.mu held: on the existing session's sending
// chain when inChain is set (see encryptInChain), else with libsignal's session
// builder and cipher.
func (p *Phone) encryptLocked(to Address, bundle *Bundle, padded []byte, inChain bool) (protocol.CiphertextMessage, error) {
	ctx := context.Background()
	addr := protocol.NewSignalAddress(to.Name, to.Device)
	if inChain {
		if out, ok := p.store.encryptInChain(addr, padded); ok {
			return out, nil
		}
	}
	builder := session.NewBuilder(p.store, p.store, p.store, p.store, addr, waStore.SignalProtobufSerializer)
	if _, ok := p.store.sessions[addr.String()]; !ok {
		if bundle == nil {
			return nil, fmt.Errorf("encrypt for %s: %w", addr, ErrNoSession)
		}
		if err := builder.ProcessBundle(ctx, bundle.signal(to.Device)); err != nil {
			return nil, fmt.Errorf("process bundle of %s: %w", addr, err)
		}
	}
	out, err := session.NewCipher(builder, addr).Encrypt(ctx, padded)
	if err != nil {
		return nil, fmt.Errorf("encrypt for %s: %w", addr, err)
	}
	return out, nil
}

// Decrypt decrypts a "pkmsg" or "msg" from a remote device and unpads it. A pkmsg
// creates (or replaces) the session with that device and uses up the one-time prekey
// it names.
func (p *Phone) Decrypt(from Address, encType string, ciphertext []byte) (msg *waE2E.Message, err error) {
	plaintext, err := p.decryptRaw(from, encType, ciphertext)
	if err != nil {
		return nil, err
	}
	plaintext, err = unpadMessage(plaintext)
	if err != nil {
		return nil, fmt.Errorf("unpad message from %s: %w", from, err)
	}
	msg = &waE2E.Message{}
	if err := proto.Unmarshal(plaintext, msg); err != nil {
		return nil, fmt.Errorf("unmarshal message from %s: %w", from, err)
	}
	return msg, nil
}

func (p *Phone) decryptRaw(from Address, encType string, ciphertext []byte) (plaintext []byte, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer recoverInto(&err, "decrypt")
	return p.decryptLocked(protocol.NewSignalAddress(from.Name, from.Device), encType, ciphertext, true)
}

// decryptLocked decrypts with p.mu held: first in the current receiving chain when
// inChain is set and the message allows (see decryptInChain), else with libsignal's
// session cipher.
func (p *Phone) decryptLocked(addr *protocol.SignalAddress, encType string, ciphertext []byte, inChain bool) (plaintext []byte, err error) {
	ctx := context.Background()
	ser := waStore.SignalProtobufSerializer
	builder := session.NewBuilder(p.store, p.store, p.store, p.store, addr, ser)
	cipher := session.NewCipher(builder, addr)
	switch encType {
	case EncTypePreKey:
		pkm, err := protocol.NewPreKeySignalMessageFromBytes(ciphertext, ser.PreKeySignalMessage, ser.SignalMessage)
		if err != nil {
			return nil, fmt.Errorf("parse prekey message from %s: %w", addr, err)
		}
		if inChain {
			if pt, ok := p.store.decryptPreKeyInChain(addr, pkm); ok {
				return pt, nil
			}
		}
		plaintext, err = cipher.DecryptMessage(ctx, pkm)
		if err != nil {
			return nil, fmt.Errorf("decrypt prekey message from %s: %w", addr, err)
		}
	case EncTypeMsg:
		sm, err := protocol.NewSignalMessageFromBytes(ciphertext, ser.SignalMessage)
		if err != nil {
			return nil, fmt.Errorf("parse message from %s: %w", addr, err)
		}
		if inChain {
			if pt, ok := p.store.decryptInChain(addr, sm); ok {
				return pt, nil
			}
		}
		plaintext, err = cipher.Decrypt(ctx, sm)
		if err != nil {
			return nil, fmt.Errorf("decrypt message from %s: %w", addr, err)
		}
	default:
		return nil, fmt.Errorf("decrypt %q from %s: %w", encType, addr, ErrUnknownEncType)
	}
	return plaintext, nil
}

// signal converts a bundle to libsignal's form, as whatsmeow's nodeToPreKeyBundle does.
func (b *Bundle) signal(device uint32) *prekey.Bundle {
	ik := identity.NewKey(ecc.NewDjbECPublicKey(b.IdentityKey))
	spk := ecc.NewDjbECPublicKey(b.SignedPreKey.Pub)
	if b.PreKey == nil {
		return prekey.NewBundle(b.RegistrationID, device, optional.NewEmptyUint32(), b.SignedPreKey.ID,
			nil, spk, b.SignedPreKey.Signature, ik)
	}
	return prekey.NewBundle(b.RegistrationID, device, optional.NewOptionalUint32(b.PreKey.ID), b.SignedPreKey.ID,
		ecc.NewDjbECPublicKey(b.PreKey.Pub), spk, b.SignedPreKey.Signature, ik)
}

// recoverInto turns a panic inside libsignal (it has a few on malformed input) into an
// error for the caller.
func recoverInto(err *error, op string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s: %w: libsignal panicked: %v", op, ErrMalformed, r)
	}
}

// padMessage appends 1 to 15 bytes, each equal to the pad length, like whatsmeow.
func padMessage(plaintext []byte) ([]byte, error) {
	var b [1]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("read padding randomness: %w", err)
	}
	n := b[0] & 0xf
	if n == 0 {
		n = 0xf
	}
	return append(bytes.Clone(plaintext), bytes.Repeat([]byte{n}, int(n))...), nil
}

// unpadMessage strips whatsmeow's padding with whatsmeow's own checks.
func unpadMessage(plaintext []byte) ([]byte, error) {
	if len(plaintext) == 0 {
		return nil, fmt.Errorf("empty plaintext: %w", ErrBadPadding)
	}
	last := plaintext[len(plaintext)-1]
	if !bytes.HasSuffix(plaintext, bytes.Repeat([]byte{last}, int(last))) {
		return nil, fmt.Errorf("padding byte %d: %w", last, ErrBadPadding)
	}
	return plaintext[:len(plaintext)-int(last)], nil
}
