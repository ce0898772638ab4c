package phone_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"strings"
	"testing"

	"go.mau.fi/whatsmeow/util/hkdfutil"
	"go.mau.fi/whatsmeow/util/keys"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/pbkdf2"

	"github.com/wagate/wagate/wasim/phone"
)

// companionLink is the companion side of pairing by code, step by step as in
// whatsmeow's pair-code.go (generateCompanionEphemeralKey, handleCodePairNotification).
type companionLink struct {
	identity  *keys.KeyPair
	ephemeral *keys.KeyPair
	code      string // 8 characters, no dash
	hello     []byte // link_code_pairing_wrapped_companion_ephemeral_pub
}

func newCompanionLink(tb testing.TB) *companionLink {
	tb.Helper()
	eph := keys.NewKeyPair()
	salt, iv, raw := randomBytes(tb, 32), randomBytes(tb, 16), randomBytes(tb, 5)
	code := base32.NewEncoding("123456789ABCDEFGHJKLMNPQRSTVWXYZ").EncodeToString(raw)
	key := pbkdf2.Key([]byte(code), salt, 2<<16, 32, sha256.New)
	block, _ := aes.NewCipher(key)
	enc := bytes.Clone(eph.Pub[:])
	cipher.NewCTR(block, iv).XORKeyStream(enc, enc)
	hello := make([]byte, 80)
	copy(hello[0:32], salt)
	copy(hello[32:48], iv)
	copy(hello[48:80], enc)
	return &companionLink{identity: keys.NewKeyPair(), ephemeral: eph, code: code, hello: hello}
}

// display is the code as PairPhone returns it.
func (c *companionLink) display() string { return c.code[0:4] + "-" + c.code[4:] }

// finish handles the primary's notification and returns the companion_finish key
// bundle and the ADV secret the companion will check pair-success against.
func (c *companionLink) finish(tb testing.TB, wrappedPrimary, primaryIdentityPub []byte) (bundle, advSecret []byte) {
	tb.Helper()
	advRandom, salt, nonce := randomBytes(tb, 32), randomBytes(tb, 32), randomBytes(tb, 12)
	key := pbkdf2.Key([]byte(c.code), wrappedPrimary[0:32], 2<<16, 32, sha256.New)
	block, err := aes.NewCipher(key)
	if err != nil {
		tb.Fatal(err)
	}
	primaryPub := make([]byte, 32)
	cipher.NewCTR(block, wrappedPrimary[32:48]).XORKeyStream(primaryPub, wrappedPrimary[48:80])
	shared, err := curve25519.X25519(c.ephemeral.Priv[:], primaryPub)
	if err != nil {
		tb.Fatalf("ephemeral shared secret: %v", err)
	}
	bundleKey := hkdfutil.SHA256(shared, salt, []byte("link_code_pairing_key_bundle_encryption_key"), 32)
	bundleBlock, _ := aes.NewCipher(bundleKey)
	gcm, _ := cipher.NewGCM(bundleBlock)
	plain := append(append(bytes.Clone(c.identity.Pub[:]), primaryIdentityPub...), advRandom...)
	bundle = append(append(bytes.Clone(salt), nonce...), gcm.Seal(nil, nonce, plain, nil)...)
	identityShared, err := curve25519.X25519(c.identity.Priv[:], primaryIdentityPub)
	if err != nil {
		tb.Fatalf("identity shared secret: %v", err)
	}
	input := append(append(bytes.Clone(shared), identityShared...), advRandom...)
	return bundle, hkdfutil.SHA256(input, nil, []byte("adv_secret"), 32)
}

func randomBytes(tb testing.TB, n int) []byte {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestLinkCodeBothSidesAgree(t *testing.T) {
	p := newPhone(t, "15550001111", "100000000000001")
	for _, form := range []string{"display", "lower_no_dash"} {
		t.Run(form, func(t *testing.T) {
			c := newCompanionLink(t)
			code := c.display()
			if form == "lower_no_dash" {
				code = strings.ToLower(c.code)
			}
			wrapped, lc, err := p.EnterLinkCode(code, c.hello)
			if err != nil {
				t.Fatalf("enter link code: %v", err)
			}
			if len(wrapped) != 80 {
				t.Fatalf("wrapped primary ephemeral of %d bytes, want 80", len(wrapped))
			}
			id := p.IdentityKey()
			bundle, companionSecret := c.finish(t, wrapped, id[:])
			phoneSecret, companionID, err := lc.Finish(bundle)
			if err != nil {
				t.Fatalf("finish: %v", err)
			}
			if !bytes.Equal(phoneSecret, companionSecret) {
				t.Fatal("phone and companion derived different ADV secrets")
			}
			if companionID != *c.identity.Pub {
				t.Fatal("finish returned the wrong companion identity")
			}
			// The secret works end to end: the companion accepts pair-success.
			container, err := p.SignCompanion(companionID, phoneSecret, 1)
			if err != nil {
				t.Fatalf("sign companion: %v", err)
			}
			if _, _, err := clientHandlePair(container, companionSecret, c.identity); err != nil {
				t.Fatalf("companion rejects pair-success: %v", err)
			}
		})
	}
}

func TestLinkCodeWrongCode(t *testing.T) {
	p := newPhone(t, "15550001111", "100000000000001")
	c := newCompanionLink(t)
	wrong := []byte(c.code)
	wrong[3] = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"[(strings.IndexByte("123456789ABCDEFGHJKLMNPQRSTVWXYZ", wrong[3])+1)%32]
	wrapped, lc, err := p.EnterLinkCode(string(wrong), c.hello)
	if err != nil {
		t.Fatalf("enter link code: %v", err)
	}
	id := p.IdentityKey()
	bundle, _ := c.finish(t, wrapped, id[:])
	if _, _, err := lc.Finish(bundle); !errors.Is(err, phone.ErrLinkCodeMismatch) {
		t.Fatalf("finish with wrong code: err = %v, want ErrLinkCodeMismatch", err)
	}
}

func TestLinkCodeOtherPrimary(t *testing.T) {
	p := newPhone(t, "15550001111", "100000000000001")
	other := newPhone(t, "15550002222", "100000000000002")
	c := newCompanionLink(t)
	wrapped, lc, err := p.EnterLinkCode(c.display(), c.hello)
	if err != nil {
		t.Fatalf("enter link code: %v", err)
	}
	otherID := other.IdentityKey()
	bundle, _ := c.finish(t, wrapped, otherID[:])
	if _, _, err := lc.Finish(bundle); !errors.Is(err, phone.ErrWrongPrimary) {
		t.Fatalf("err = %v, want ErrWrongPrimary", err)
	}
}

func TestLinkCodeBadInput(t *testing.T) {
	p := newPhone(t, "15550001111", "100000000000001")
	c := newCompanionLink(t)
	for _, tc := range []struct {
		name  string
		code  string
		hello []byte
		want  error
	}{
		{"short_code", "ABCD-EFG", c.hello, phone.ErrInvalidLinkCode},
		{"bad_character", "ABCD-EFG0", c.hello, phone.ErrInvalidLinkCode},
		{"short_hello", c.display(), c.hello[:79], phone.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := p.EnterLinkCode(tc.code, tc.hello); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	_, lc, err := p.EnterLinkCode(c.display(), c.hello)
	if err != nil {
		t.Fatalf("enter link code: %v", err)
	}
	if _, _, err := lc.Finish(make([]byte, 100)); !errors.Is(err, phone.ErrMalformed) {
		t.Fatalf("short bundle: err = %v, want ErrMalformed", err)
	}
}
