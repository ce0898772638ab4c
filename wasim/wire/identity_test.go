package wire_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/whatsmeow/proto/waCert"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/wasim/wire"
)

func TestNewIdentityFromSeedIsDeterministic(t *testing.T) {
	a, err := wire.NewIdentityFromSeed([]byte("seed one"))
	if err != nil {
		t.Fatalf("NewIdentityFromSeed: %v", err)
	}
	b, err := wire.NewIdentityFromSeed([]byte("seed one"))
	if err != nil {
		t.Fatalf("NewIdentityFromSeed: %v", err)
	}
	c, err := wire.NewIdentityFromSeed([]byte("seed two"))
	if err != nil {
		t.Fatalf("NewIdentityFromSeed: %v", err)
	}
	if a.RootPublicKey() != b.RootPublicKey() || a.StaticPublicKey() != b.StaticPublicKey() {
		t.Error("same seed gave different keys")
	}
	if a.RootPublicKey() == c.RootPublicKey() || a.StaticPublicKey() == c.StaticPublicKey() {
		t.Error("different seeds gave the same keys")
	}
	if a.RootPublicKey() == a.StaticPublicKey() {
		t.Error("root and static keys are equal; want keys derived separately")
	}
	if _, err := wire.NewIdentityFromSeed(nil); !errors.Is(err, wire.ErrEmptySeed) {
		t.Errorf("NewIdentityFromSeed(nil) error = %v, want ErrEmptySeed", err)
	}
}

func TestNewIdentityIsRandom(t *testing.T) {
	a, err := wire.NewIdentity()
	if err != nil {
		t.Fatalf("NewIdentity: %v", err)
	}
	b, err := wire.NewIdentity()
	if err != nil {
		t.Fatalf("NewIdentity: %v", err)
	}
	if a.RootPublicKey() == b.RootPublicKey() {
		t.Error("two random identities share a root key")
	}
}

// TestCertChainVerifiesUnderRoot checks the chain the way whatsmeow's verifyServerCert
// does, so a failure here names the broken link.
func TestCertChainVerifiesUnderRoot(t *testing.T) {
	id := testIdentity(t)
	var chain waCert.CertChain
	if err := proto.Unmarshal(id.CertChain(), &chain); err != nil {
		t.Fatalf("unmarshal chain: %v", err)
	}
	inter, leaf := chain.GetIntermediate(), chain.GetLeaf()
	if len(inter.GetSignature()) != 64 || len(leaf.GetSignature()) != 64 {
		t.Fatalf("signature lengths %d, %d; want 64", len(inter.GetSignature()), len(leaf.GetSignature()))
	}
	if !ecc.VerifySignature(ecc.NewDjbECPublicKey(id.RootPublicKey()), inter.GetDetails(), [64]byte(inter.GetSignature())) {
		t.Fatal("intermediate signature does not verify under the root key")
	}
	var interDetails, leafDetails waCert.CertChain_NoiseCertificate_Details
	if err := proto.Unmarshal(inter.GetDetails(), &interDetails); err != nil {
		t.Fatalf("unmarshal intermediate details: %v", err)
	}
	if interDetails.GetIssuerSerial() != 0 || len(interDetails.GetKey()) != 32 {
		t.Fatalf("intermediate issuer serial %d, key %d bytes; want 0 and 32", interDetails.GetIssuerSerial(), len(interDetails.GetKey()))
	}
	if !ecc.VerifySignature(ecc.NewDjbECPublicKey([32]byte(interDetails.GetKey())), leaf.GetDetails(), [64]byte(leaf.GetSignature())) {
		t.Fatal("leaf signature does not verify under the intermediate key")
	}
	if err := proto.Unmarshal(leaf.GetDetails(), &leafDetails); err != nil {
		t.Fatalf("unmarshal leaf details: %v", err)
	}
	if leafDetails.GetIssuerSerial() != interDetails.GetSerial() {
		t.Errorf("leaf issuer serial %d, want the intermediate serial %d", leafDetails.GetIssuerSerial(), interDetails.GetSerial())
	}
	static := id.StaticPublicKey()
	if !bytes.Equal(leafDetails.GetKey(), static[:]) {
		t.Error("leaf key is not the Noise static key")
	}
}

func BenchmarkHandshake(b *testing.B) {
	addr := startServer(b, testIdentity(b), 0, func(ctx context.Context, conn *wire.Conn, err error) {
		for err == nil {
			_, err = conn.ReadNode(ctx)
		}
	})
	ctx := testContext(b)
	for b.Loop() {
		nc, err := dialNoiseClient(ctx, b, addr, nil)
		if err != nil {
			b.Fatalf("handshake: %v", err)
		}
		nc.fs.Close(0)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
}
