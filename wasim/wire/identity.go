package wire

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/whatsmeow/proto/waCert"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/hkdf"
	"google.golang.org/protobuf/proto"
)

// Certificate serials. whatsmeow checks that the intermediate's issuer serial is 0
// and that the leaf's issuer serial equals the intermediate's serial.
const (
	intermediateSerial = 1
	leafSerial         = 2
)

// Identity is the simulator's server identity: the root key a client must trust
// (whatsmeow.WACertPubKey), and the Noise static key with its certificate chain.
// An Identity is immutable and safe for concurrent use.
type Identity struct {
	rootPub    [32]byte
	staticPriv [32]byte
	staticPub  [32]byte
	certChain  []byte
}

// NewIdentity generates a fresh root key, intermediate and leaf certificate.
func NewIdentity() (*Identity, error) {
	seed := make([]byte, 32)
	if _, err := rand.Read(seed); err != nil {
		return nil, fmt.Errorf("read random seed: %w", err)
	}
	return NewIdentityFromSeed(seed)
}

// NewIdentityFromSeed derives every key deterministically from seed, so simulators
// started with the same seed share one root key (whatsmeow.WACertPubKey is a process
// global, so all simulators in one test process must use the same root). Certificate
// signatures are randomised, so the chain bytes differ between calls; the keys do not.
// It returns ErrEmptySeed when seed is empty.
func NewIdentityFromSeed(seed []byte) (*Identity, error) {
	if len(seed) == 0 {
		return nil, ErrEmptySeed
	}
	rootPriv, rootPub, err := deriveKeyPair(seed, "root")
	if err != nil {
		return nil, err
	}
	interPriv, interPub, err := deriveKeyPair(seed, "intermediate")
	if err != nil {
		return nil, err
	}
	staticPriv, staticPub, err := deriveKeyPair(seed, "noise static")
	if err != nil {
		return nil, err
	}
	intermediate, err := signedCert(rootPriv, &waCert.CertChain_NoiseCertificate_Details{
		Serial:       proto.Uint32(intermediateSerial),
		IssuerSerial: proto.Uint32(0),
		Key:          interPub[:],
	})
	if err != nil {
		return nil, fmt.Errorf("sign intermediate certificate: %w", err)
	}
	leaf, err := signedCert(interPriv, &waCert.CertChain_NoiseCertificate_Details{
		Serial:       proto.Uint32(leafSerial),
		IssuerSerial: proto.Uint32(intermediateSerial),
		Key:          staticPub[:],
	})
	if err != nil {
		return nil, fmt.Errorf("sign leaf certificate: %w", err)
	}
	chain, err := proto.Marshal(&waCert.CertChain{Leaf: leaf, Intermediate: intermediate})
	if err != nil {
		return nil, fmt.Errorf("marshal certificate chain: %w", err)
	}
	return &Identity{rootPub: rootPub, staticPriv: staticPriv, staticPub: staticPub, certChain: chain}, nil
}

// RootPublicKey is the Curve25519 public key clients must pin as WACertPubKey.
func (id *Identity) RootPublicKey() [32]byte { return id.rootPub }

// StaticPublicKey is the server's Noise static public key, the key of the leaf
// certificate.
func (id *Identity) StaticPublicKey() [32]byte { return id.staticPub }

// CertChain returns a copy of the marshalled waCert.CertChain sent in the server hello.
func (id *Identity) CertChain() []byte { return append([]byte(nil), id.certChain...) }

// deriveKeyPair derives a clamped Curve25519 key pair from seed with HKDF-SHA256,
// using label to separate the keys.
func deriveKeyPair(seed []byte, label string) (priv, pub [32]byte, err error) {
	r := hkdf.New(sha256.New, seed, []byte("wasim identity v1"), []byte(label))
	if _, err = io.ReadFull(r, priv[:]); err != nil {
		return priv, pub, fmt.Errorf("derive %s key: %w", label, err)
	}
	priv[0] &= 248
	priv[31] &= 127
	priv[31] |= 64
	p, err := curve25519.X25519(priv[:], curve25519.Basepoint)
	if err != nil {
		return priv, pub, fmt.Errorf("derive %s public key: %w", label, err)
	}
	copy(pub[:], p)
	return priv, pub, nil
}

// signedCert marshals details and signs the raw bytes with XEdDSA, as whatsmeow's
// verifyServerCert expects.
func signedCert(signer [32]byte, details *waCert.CertChain_NoiseCertificate_Details) (*waCert.CertChain_NoiseCertificate, error) {
	raw, err := proto.Marshal(details)
	if err != nil {
		return nil, fmt.Errorf("marshal certificate details: %w", err)
	}
	sig := ecc.CalculateSignature(ecc.NewDjbECPrivateKey(signer), raw)
	return &waCert.CertChain_NoiseCertificate{Details: raw, Signature: sig[:]}, nil
}
