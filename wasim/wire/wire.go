// Package wire is the simulator's side of WhatsApp's transport: the "WA" connection
// header, 3-byte length-prefixed frames, the Noise_XX_25519_AESGCM_SHA256 handshake
// as responder, the certificate chain whatsmeow verifies against WACertPubKey, and
// binary node (un)marshalling of transport frames.
package wire

import (
	"context"
	"errors"
	"net"

	"github.com/coder/websocket"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waWa6"
)

// ErrNotImplemented is a placeholder while the package is being written.
var ErrNotImplemented = errors.New("wire: not implemented")

// Identity is the simulator's server identity: the root key a client must trust
// (whatsmeow.WACertPubKey), and the Noise static key with its certificate chain.
type Identity struct {
	rootPub [32]byte
}

// NewIdentity generates a fresh root key, intermediate and leaf certificate.
func NewIdentity() (*Identity, error) { return nil, ErrNotImplemented }

// RootPublicKey is the Curve25519 public key clients must pin as WACertPubKey.
func (id *Identity) RootPublicKey() [32]byte { return id.rootPub }

// Conn is one client connection after a completed Noise handshake. WriteNode is safe
// for concurrent use; ReadNode must be called from one goroutine.
type Conn struct{}

// Accept runs the server side of the handshake on an accepted websocket. raw, when not
// nil, is the underlying TCP connection, used by Drop.
func Accept(ctx context.Context, ws *websocket.Conn, raw net.Conn, id *Identity) (*Conn, error) {
	return nil, ErrNotImplemented
}

// ClientStatic is the client's Noise static public key (whatsmeow's Store.NoiseKey).
func (c *Conn) ClientStatic() [32]byte { return [32]byte{} }

// Payload is the ClientPayload the client sent in its handshake finish message.
func (c *Conn) Payload() *waWa6.ClientPayload { return nil }

// ReadNode reads and decrypts the next frame and decodes it into a node.
func (c *Conn) ReadNode(ctx context.Context) (*waBinary.Node, error) { return nil, ErrNotImplemented }

// WriteNode encodes, encrypts and sends one node as one frame.
func (c *Conn) WriteNode(ctx context.Context, n waBinary.Node) error { return ErrNotImplemented }

// Close closes the websocket cleanly.
func (c *Conn) Close() error { return ErrNotImplemented }

// Drop closes the TCP connection abruptly, without a websocket close frame.
func (c *Conn) Drop() {}
