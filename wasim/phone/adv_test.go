package phone_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/util/keys"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/wasim/phone"
)

// clientHandlePair repeats the checks of whatsmeow's handlePair (pair.go) on the
// pair-success device identity and, like the client, returns the reply it would send
// in pair-device-sign (the signed identity without the account signature key).
func clientHandlePair(container []byte, advSecret []byte, companion *keys.KeyPair) (reply []byte, keyIndex uint32, err error) {
	var c waAdv.ADVSignedDeviceIdentityHMAC
	if err := proto.Unmarshal(container, &c); err != nil {
		return nil, 0, fmt.Errorf("500 internal-error: %w", err)
	}
	h := hmac.New(sha256.New, advSecret)
	if c.GetAccountType() == waAdv.ADVEncryptionType_HOSTED {
		h.Write([]byte{6, 5})
	}
	h.Write(c.Details)
	if !bytes.Equal(h.Sum(nil), c.HMAC) {
		return nil, 0, errors.New("401 hmac-mismatch")
	}
	var sdi waAdv.ADVSignedDeviceIdentity
	if err := proto.Unmarshal(c.Details, &sdi); err != nil {
		return nil, 0, fmt.Errorf("500 internal-error: %w", err)
	}
	var details waAdv.ADVDeviceIdentity
	if err := proto.Unmarshal(sdi.Details, &details); err != nil {
		return nil, 0, fmt.Errorf("500 internal-error: %w", err)
	}
	if len(sdi.AccountSignatureKey) != 32 || len(sdi.AccountSignature) != 64 {
		return nil, 0, errors.New("401 signature-mismatch")
	}
	prefix := []byte{6, 0}
	if details.GetDeviceType() == waAdv.ADVEncryptionType_HOSTED {
		prefix = []byte{6, 5}
	}
	msg := append(append(append([]byte{}, prefix...), sdi.Details...), companion.Pub[:]...)
	if !ecc.VerifySignature(ecc.NewDjbECPublicKey([32]byte(sdi.AccountSignatureKey)), msg, [64]byte(sdi.AccountSignature)) {
		return nil, 0, errors.New("401 signature-mismatch")
	}
	devMsg := append(append(append([]byte{6, 1}, sdi.Details...), companion.Pub[:]...), sdi.AccountSignatureKey...)
	sig := ecc.CalculateSignature(ecc.NewDjbECPrivateKey(*companion.Priv), devMsg)
	sdi.DeviceSignature = sig[:]
	sdi.AccountSignatureKey = nil
	reply, err = proto.Marshal(&sdi)
	if err != nil {
		return nil, 0, err
	}
	return reply, details.GetKeyIndex(), nil
}

func randomSecret(tb testing.TB) []byte {
	tb.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestSignCompanionPassesClientChecks(t *testing.T) {
	p := newPhone(t, "15550001111", "100000000000001")
	companion := keys.NewKeyPair()
	secret := randomSecret(t)

	container, err := p.SignCompanion(*companion.Pub, secret, 7)
	if err != nil {
		t.Fatalf("sign companion: %v", err)
	}
	reply, keyIndex, err := clientHandlePair(container, secret, companion)
	if err != nil {
		t.Fatalf("client rejects pair-success: %v", err)
	}
	if keyIndex != 7 {
		t.Fatalf("key index %d, want 7", keyIndex)
	}
	var c waAdv.ADVSignedDeviceIdentityHMAC
	var sdi waAdv.ADVSignedDeviceIdentity
	if err := proto.Unmarshal(container, &c); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(c.Details, &sdi); err != nil {
		t.Fatal(err)
	}
	if id := p.IdentityKey(); !bytes.Equal(sdi.AccountSignatureKey, id[:]) {
		t.Fatal("account signature key is not the phone identity")
	}
	if err := p.VerifyCompanionSignature(reply, *companion.Pub); err != nil {
		t.Fatalf("verify companion reply: %v", err)
	}
}

func TestSignCompanionTamperingFails(t *testing.T) {
	p := newPhone(t, "15550001111", "100000000000001")
	companion := keys.NewKeyPair()
	secret := randomSecret(t)
	container, err := p.SignCompanion(*companion.Pub, secret, 1)
	if err != nil {
		t.Fatalf("sign companion: %v", err)
	}

	t.Run("wrong_adv_secret", func(t *testing.T) {
		_, _, err := clientHandlePair(container, randomSecret(t), companion)
		if err == nil || err.Error() != "401 hmac-mismatch" {
			t.Fatalf("err = %v, want hmac-mismatch", err)
		}
	})
	t.Run("other_companion", func(t *testing.T) {
		_, _, err := clientHandlePair(container, secret, keys.NewKeyPair())
		if err == nil || err.Error() != "401 signature-mismatch" {
			t.Fatalf("err = %v, want signature-mismatch", err)
		}
	})
	t.Run("every_byte_flipped", func(t *testing.T) {
		for i := range container {
			bad := bytes.Clone(container)
			bad[i] ^= 0x01
			if _, _, err := clientHandlePair(bad, secret, companion); err == nil {
				t.Fatalf("client accepted container with byte %d flipped", i)
			}
		}
	})
	t.Run("details_resigned_without_account_key", func(t *testing.T) {
		// A valid HMAC over tampered details still fails the account signature.
		var c waAdv.ADVSignedDeviceIdentityHMAC
		var sdi waAdv.ADVSignedDeviceIdentity
		if err := proto.Unmarshal(container, &c); err != nil {
			t.Fatal(err)
		}
		if err := proto.Unmarshal(c.Details, &sdi); err != nil {
			t.Fatal(err)
		}
		sdi.Details = append(bytes.Clone(sdi.Details), 0x18, 0x09) // keyIndex = 9 appended
		c.Details, _ = proto.Marshal(&sdi)
		h := hmac.New(sha256.New, secret)
		h.Write(c.Details)
		c.HMAC = h.Sum(nil)
		bad, _ := proto.Marshal(&c)
		_, _, err := clientHandlePair(bad, secret, companion)
		if err == nil || err.Error() != "401 signature-mismatch" {
			t.Fatalf("err = %v, want signature-mismatch", err)
		}
	})
}

func TestVerifyCompanionSignatureRejects(t *testing.T) {
	p := newPhone(t, "15550001111", "100000000000001")
	companion := keys.NewKeyPair()
	secret := randomSecret(t)
	container, err := p.SignCompanion(*companion.Pub, secret, 2)
	if err != nil {
		t.Fatalf("sign companion: %v", err)
	}
	reply, _, err := clientHandlePair(container, secret, companion)
	if err != nil {
		t.Fatalf("client rejects pair-success: %v", err)
	}
	var sdi waAdv.ADVSignedDeviceIdentity
	if err := proto.Unmarshal(reply, &sdi); err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(*waAdv.ADVSignedDeviceIdentity)) []byte {
		c := proto.Clone(&sdi).(*waAdv.ADVSignedDeviceIdentity)
		f(c)
		b, err := proto.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	other := newPhone(t, "15550002222", "100000000000002")
	otherID := other.IdentityKey()
	ownID := p.IdentityKey()
	cases := []struct {
		name      string
		signed    []byte
		companion [32]byte
		want      error
	}{
		{"device_signature_flipped", mutate(func(s *waAdv.ADVSignedDeviceIdentity) { s.DeviceSignature[5] ^= 1 }), *companion.Pub, phone.ErrDeviceSignature},
		{"device_signature_missing", mutate(func(s *waAdv.ADVSignedDeviceIdentity) { s.DeviceSignature = nil }), *companion.Pub, phone.ErrDeviceSignature},
		{"account_signature_flipped", mutate(func(s *waAdv.ADVSignedDeviceIdentity) { s.AccountSignature[0] ^= 1 }), *companion.Pub, phone.ErrAccountSignature},
		{"details_changed", mutate(func(s *waAdv.ADVSignedDeviceIdentity) { s.Details = append(s.Details, 0x18, 0x01) }), *companion.Pub, phone.ErrAccountSignature},
		{"other_companion_key", reply, *keys.NewKeyPair().Pub, phone.ErrAccountSignature},
		{"foreign_account_key", mutate(func(s *waAdv.ADVSignedDeviceIdentity) { s.AccountSignatureKey = otherID[:] }), *companion.Pub, phone.ErrWrongAccountKey},
		{"not_a_proto", []byte{0xff, 0xff, 0xff}, *companion.Pub, phone.ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := p.VerifyCompanionSignature(tc.signed, tc.companion)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("own_account_key_present", func(t *testing.T) {
		signed := mutate(func(s *waAdv.ADVSignedDeviceIdentity) { s.AccountSignatureKey = ownID[:] })
		if err := p.VerifyCompanionSignature(signed, *companion.Pub); err != nil {
			t.Fatalf("reply carrying the phone's own account key rejected: %v", err)
		}
	})
	t.Run("other_phone", func(t *testing.T) {
		if err := other.VerifyCompanionSignature(reply, *companion.Pub); err == nil {
			t.Fatal("another phone accepted this phone's companion")
		}
	})
}
