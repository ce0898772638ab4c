package phone

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"google.golang.org/protobuf/proto"
)

// ADV signature prefixes, as in whatsmeow's pair.go.
var (
	advAccountSignaturePrefix = [2]byte{6, 0}
	advDeviceSignaturePrefix  = [2]byte{6, 1}
)

// SignCompanion builds the <device-identity> content of pair-success for a companion:
// a marshalled ADVSignedDeviceIdentityHMAC whose HMAC uses advSecret. The account
// signature is XEdDSA by the phone's identity over 06 00 ‖ ADVDeviceIdentity ‖
// companionIdentity, which is what whatsmeow's handlePair verifies.
func (p *Phone) SignCompanion(companionIdentity [32]byte, advSecret []byte, keyIndex uint32) ([]byte, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("read raw id randomness: %w", err)
	}
	details, err := proto.Marshal(&waAdv.ADVDeviceIdentity{
		RawID:       proto.Uint32(binary.BigEndian.Uint32(b[:])),
		Timestamp:   proto.Uint64(uint64(time.Now().Unix())),
		KeyIndex:    proto.Uint32(keyIndex),
		AccountType: waAdv.ADVEncryptionType_E2EE.Enum(),
		DeviceType:  waAdv.ADVEncryptionType_E2EE.Enum(),
	})
	if err != nil {
		return nil, fmt.Errorf("marshal device identity: %w", err)
	}
	sig := ecc.CalculateSignature(ecc.NewDjbECPrivateKey(*p.identity.Priv),
		concat(advAccountSignaturePrefix[:], details, companionIdentity[:]))
	signed, err := proto.Marshal(&waAdv.ADVSignedDeviceIdentity{
		Details:             details,
		AccountSignatureKey: bytes.Clone(p.identity.Pub[:]),
		AccountSignature:    sig[:],
	})
	if err != nil {
		return nil, fmt.Errorf("marshal signed device identity: %w", err)
	}
	mac := hmac.New(sha256.New, advSecret)
	mac.Write(signed)
	out, err := proto.Marshal(&waAdv.ADVSignedDeviceIdentityHMAC{
		Details:     signed,
		HMAC:        mac.Sum(nil),
		AccountType: waAdv.ADVEncryptionType_E2EE.Enum(),
	})
	if err != nil {
		return nil, fmt.Errorf("marshal device identity hmac: %w", err)
	}
	return out, nil
}

// VerifyCompanionSignature checks the ADVSignedDeviceIdentity a companion returns in
// pair-device-sign: the account signature must be this phone's signature for
// companionIdentity, and the device signature must be XEdDSA by companionIdentity over
// 06 01 ‖ details ‖ companionIdentity ‖ account signature key (this phone's identity).
// The reply normally omits the account signature key; if present it must be this
// phone's identity.
func (p *Phone) VerifyCompanionSignature(signed []byte, companionIdentity [32]byte) error {
	var sdi waAdv.ADVSignedDeviceIdentity
	if err := proto.Unmarshal(signed, &sdi); err != nil {
		return fmt.Errorf("parse signed device identity: %w: %w", ErrMalformed, err)
	}
	if k := sdi.GetAccountSignatureKey(); k != nil && !bytes.Equal(k, p.identity.Pub[:]) {
		return ErrWrongAccountKey
	}
	if len(sdi.GetAccountSignature()) != 64 {
		return fmt.Errorf("account signature of %d bytes: %w", len(sdi.GetAccountSignature()), ErrAccountSignature)
	}
	if len(sdi.GetDeviceSignature()) != 64 {
		return fmt.Errorf("device signature of %d bytes: %w", len(sdi.GetDeviceSignature()), ErrDeviceSignature)
	}
	accountMsg := concat(advAccountSignaturePrefix[:], sdi.GetDetails(), companionIdentity[:])
	if !ecc.VerifySignature(ecc.NewDjbECPublicKey(*p.identity.Pub), accountMsg, [64]byte(sdi.GetAccountSignature())) {
		return ErrAccountSignature
	}
	deviceMsg := concat(advDeviceSignaturePrefix[:], sdi.GetDetails(), companionIdentity[:], p.identity.Pub[:])
	if !ecc.VerifySignature(ecc.NewDjbECPublicKey(companionIdentity), deviceMsg, [64]byte(sdi.GetDeviceSignature())) {
		return ErrDeviceSignature
	}
	return nil
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
