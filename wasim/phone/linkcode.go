package phone

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"strings"

	"go.mau.fi/whatsmeow/util/keys"
	"golang.org/x/crypto/curve25519"
)

// Pairing by code, primary side. The companion's mirror image is whatsmeow's
// pair-code.go; every constant here must agree with it.
const (
	linkCodeAlphabet    = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"
	linkCodeIterations  = 2 << 16 // PBKDF2-SHA256 rounds over the 8-character code
	wrappedEphemeral    = 32 + 16 + 32
	keyBundlePlain      = 32 + 32 + 32
	wrappedKeyBundleLen = 32 + 12 + keyBundlePlain + 16
	keyBundleInfo       = "link_code_pairing_key_bundle_encryption_key"
	advSecretInfo       = "adv_secret"
)

// LinkCode is the phone's side of one pairing-by-code attempt. It is immutable, so
// Finish is safe to call from any goroutine.
type LinkCode struct {
	phone        *Phone
	ephemeral    *keys.KeyPair // E_p
	companionPub [32]byte      // E_c.pub as unwrapped with the entered code
}

// EnterLinkCode is the phone typing the 8-character code shown by the companion.
// wrappedCompanionEphemeral is the 80-byte blob from companion_hello. It returns the
// blob for link_code_pairing_wrapped_primary_ephemeral_pub (80 bytes) and the state
// needed to finish. The code may carry the dash and be in any case. A wrong code is
// not detectable here; it makes Finish fail. Each call runs PBKDF2 twice (131072
// rounds each), so it takes tens of milliseconds; it holds no lock meanwhile.
func (p *Phone) EnterLinkCode(code string, wrappedCompanionEphemeral []byte) (wrappedPrimaryEphemeral []byte, lc *LinkCode, err error) {
	norm, err := normalizeLinkCode(code)
	if err != nil {
		return nil, nil, err
	}
	if len(wrappedCompanionEphemeral) != wrappedEphemeral {
		return nil, nil, fmt.Errorf("wrapped companion ephemeral of %d bytes, want %d: %w",
			len(wrappedCompanionEphemeral), wrappedEphemeral, ErrMalformed)
	}
	w := wrappedCompanionEphemeral
	companionPub, err := linkCodeCTR(norm, w[0:32], w[32:48], w[48:80])
	if err != nil {
		return nil, nil, fmt.Errorf("unwrap companion ephemeral: %w", err)
	}

	eph := keys.NewKeyPair()
	saltIV := make([]byte, 48)
	if _, err := rand.Read(saltIV); err != nil {
		return nil, nil, fmt.Errorf("read wrapping randomness: %w", err)
	}
	enc, err := linkCodeCTR(norm, saltIV[:32], saltIV[32:], eph.Pub[:])
	if err != nil {
		return nil, nil, fmt.Errorf("wrap primary ephemeral: %w", err)
	}
	return append(saltIV, enc...), &LinkCode{phone: p, ephemeral: eph, companionPub: [32]byte(companionPub)}, nil
}

// Finish decrypts the companion_finish key bundle, checks it names this phone's
// identity, and derives the ADV secret the pair-success HMAC must use. It returns the
// companion identity key from the bundle too. A wrong code gives ErrLinkCodeMismatch.
func (lc *LinkCode) Finish(wrappedKeyBundle []byte) (advSecret []byte, companionIdentity [32]byte, err error) {
	if len(wrappedKeyBundle) != wrappedKeyBundleLen {
		return nil, companionIdentity, fmt.Errorf("wrapped key bundle of %d bytes, want %d: %w",
			len(wrappedKeyBundle), wrappedKeyBundleLen, ErrMalformed)
	}
	shared, err := curve25519.X25519(lc.ephemeral.Priv[:], lc.companionPub[:])
	if err != nil {
		// A low-order companion key: only a wrong code or a hostile peer produces one.
		return nil, companionIdentity, fmt.Errorf("ephemeral agreement: %w: %w", ErrLinkCodeMismatch, err)
	}
	salt, nonce, sealed := wrappedKeyBundle[0:32], wrappedKeyBundle[32:44], wrappedKeyBundle[44:]
	key, err := hkdf.Key(sha256.New, shared, salt, keyBundleInfo, 32)
	if err != nil {
		return nil, companionIdentity, fmt.Errorf("derive key bundle key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, companionIdentity, fmt.Errorf("key bundle cipher: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, companionIdentity, fmt.Errorf("key bundle gcm: %w", err)
	}
	plain, err := gcm.Open(nil, nonce, sealed, nil)
	if err != nil {
		return nil, companionIdentity, fmt.Errorf("open key bundle: %w", ErrLinkCodeMismatch)
	}
	companionIdentity = [32]byte(plain[0:32])
	primaryIdentity, advRandom := plain[32:64], plain[64:96]
	if !bytes.Equal(primaryIdentity, lc.phone.identity.Pub[:]) {
		return nil, [32]byte{}, ErrWrongPrimary
	}
	identityShared, err := curve25519.X25519(lc.phone.identity.Priv[:], companionIdentity[:])
	if err != nil {
		return nil, [32]byte{}, fmt.Errorf("identity agreement: %w: %w", ErrMalformed, err)
	}
	advSecret, err = hkdf.Key(sha256.New, concat(shared, identityShared, advRandom), nil, advSecretInfo, 32)
	if err != nil {
		return nil, [32]byte{}, fmt.Errorf("derive adv secret: %w", err)
	}
	return advSecret, companionIdentity, nil
}

// normalizeLinkCode turns "abcd-efgh" into "ABCDEFGH" and checks the alphabet.
func normalizeLinkCode(code string) (string, error) {
	norm := strings.ToUpper(strings.Replace(code, "-", "", 1))
	if len(norm) != 8 {
		return "", fmt.Errorf("code of %d characters: %w", len(norm), ErrInvalidLinkCode)
	}
	for _, r := range norm {
		if !strings.ContainsRune(linkCodeAlphabet, r) {
			return "", fmt.Errorf("character %q: %w", r, ErrInvalidLinkCode)
		}
	}
	return norm, nil
}

// linkCodeCTR is AES-256-CTR keyed by PBKDF2-SHA256(code, salt); it both wraps and
// unwraps an ephemeral public key.
func linkCodeCTR(code string, salt, iv, in []byte) ([]byte, error) {
	key, err := pbkdf2.Key(sha256.New, code, salt, linkCodeIterations, 32)
	if err != nil {
		return nil, fmt.Errorf("derive code key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("code cipher: %w", err)
	}
	out := make([]byte, len(in))
	cipher.NewCTR(block, iv).XORKeyStream(out, in)
	return out, nil
}
