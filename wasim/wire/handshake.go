package wire

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/coder/websocket"
	"go.mau.fi/whatsmeow/proto/waWa6"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/hkdf"
	"google.golang.org/protobuf/proto"
)

// noisePattern is the protocol name. It is exactly 32 bytes, so it is used as the
// initial hash and chaining key without hashing.
const noisePattern = "Noise_XX_25519_AESGCM_SHA256\x00\x00\x00\x00"

// Accept runs the server side of the handshake on an accepted websocket. raw, when not
// nil, is the underlying TCP connection, used by Drop. The handshake ends when ctx is
// done or after HandshakeTimeout, whichever comes first. On failure Accept closes the
// websocket and returns an error wrapping ErrBadHeader, ErrBadFrame, ErrHandshake or
// the read error.
func Accept(ctx context.Context, ws *websocket.Conn, raw net.Conn, id *Identity) (*Conn, error) {
	if ws == nil || id == nil {
		return nil, errors.New("wire: accept needs a websocket and an identity")
	}
	ws.SetReadLimit(MaxMessageSize)
	ctx, cancel := context.WithTimeout(ctx, HandshakeTimeout)
	defer cancel()
	c := &Conn{ws: ws, raw: raw, frames: &frameReader{r: ws}}
	if err := c.handshake(ctx, id); err != nil {
		_ = ws.CloseNow()
		return nil, fmt.Errorf("noise handshake: %w", err)
	}
	return c, nil
}

// handshake is the responder side of Noise XX as whatsmeow's doHandshake drives it:
// read the client hello, send the server hello, read the client finish, split.
func (c *Conn) handshake(ctx context.Context, id *Identity) error {
	var hello waWa6.HandshakeMessage
	frame, err := c.frames.next(ctx)
	if err != nil {
		return fmt.Errorf("read client hello: %w", err)
	}
	if err := proto.Unmarshal(frame, &hello); err != nil {
		return fmt.Errorf("%w: unmarshal client hello: %w", ErrHandshake, err)
	}
	clientEphemeral := hello.GetClientHello().GetEphemeral()
	if len(clientEphemeral) != 32 {
		return fmt.Errorf("%w: client ephemeral key has %d bytes, want 32", ErrHandshake, len(clientEphemeral))
	}

	var ephemeralPriv [32]byte
	if _, err := rand.Read(ephemeralPriv[:]); err != nil {
		return fmt.Errorf("generate ephemeral key: %w", err)
	}
	ephemeralPub, err := curve25519.X25519(ephemeralPriv[:], curve25519.Basepoint)
	if err != nil {
		return fmt.Errorf("derive ephemeral key: %w", err)
	}

	ns := newNoiseState()
	ns.authenticate(connHeader)
	ns.authenticate(clientEphemeral)
	ns.authenticate(ephemeralPub)
	if err := ns.mixDH(ephemeralPriv[:], clientEphemeral); err != nil {
		return err
	}
	encStatic := ns.encrypt(id.staticPub[:])
	if err := ns.mixDH(id.staticPriv[:], clientEphemeral); err != nil {
		return err
	}
	encCert := ns.encrypt(id.certChain)
	serverHello, err := proto.Marshal(&waWa6.HandshakeMessage{ServerHello: &waWa6.HandshakeMessage_ServerHello{
		Ephemeral: ephemeralPub,
		Static:    encStatic,
		Payload:   encCert,
	}})
	if err != nil {
		return fmt.Errorf("marshal server hello: %w", err)
	}
	if err := c.writeFrame(ctx, serverHello); err != nil {
		return fmt.Errorf("send server hello: %w", err)
	}

	var finish waWa6.HandshakeMessage
	frame, err = c.frames.next(ctx)
	if err != nil {
		return fmt.Errorf("read client finish: %w", err)
	}
	if err := proto.Unmarshal(frame, &finish); err != nil {
		return fmt.Errorf("%w: unmarshal client finish: %w", ErrHandshake, err)
	}
	encClientStatic := finish.GetClientFinish().GetStatic()
	encPayload := finish.GetClientFinish().GetPayload()
	if encClientStatic == nil || encPayload == nil {
		return fmt.Errorf("%w: client finish lacks static key or payload", ErrHandshake)
	}
	clientStatic, err := ns.decrypt(encClientStatic)
	if err != nil {
		return fmt.Errorf("%w: decrypt client static key: %w", ErrHandshake, err)
	}
	if len(clientStatic) != 32 {
		return fmt.Errorf("%w: client static key has %d bytes, want 32", ErrHandshake, len(clientStatic))
	}
	if err := ns.mixDH(ephemeralPriv[:], clientStatic); err != nil {
		return err
	}
	payloadBytes, err := ns.decrypt(encPayload)
	if err != nil {
		return fmt.Errorf("%w: decrypt client payload: %w", ErrHandshake, err)
	}
	var payload waWa6.ClientPayload
	if err := proto.Unmarshal(payloadBytes, &payload); err != nil {
		return fmt.Errorf("%w: unmarshal client payload: %w", ErrHandshake, err)
	}

	clientWrite, serverWrite, err := ns.split()
	if err != nil {
		return err
	}
	if c.readKey, err = newGCM(clientWrite); err != nil {
		return err
	}
	if c.writeKey, err = newGCM(serverWrite); err != nil {
		return err
	}
	copy(c.clientStatic[:], clientStatic)
	c.payload = &payload
	return nil
}

// noiseState is the symmetric state of the handshake: the running hash h, the
// chaining key ck, and the current cipher with its nonce counter.
type noiseState struct {
	hash    []byte
	ck      []byte
	key     cipher.AEAD
	counter uint32
}

func newNoiseState() *noiseState {
	h := []byte(noisePattern)
	return &noiseState{hash: h, ck: h}
}

func (ns *noiseState) authenticate(data []byte) {
	sum := sha256.Sum256(append(append([]byte(nil), ns.hash...), data...))
	ns.hash = sum[:]
}

// mixDH mixes the X25519 shared secret of priv and pub into the chaining key and
// resets the cipher. A low-order public key is an error.
func (ns *noiseState) mixDH(priv, pub []byte) error {
	secret, err := curve25519.X25519(priv, pub)
	if err != nil {
		return fmt.Errorf("%w: key agreement: %w", ErrHandshake, err)
	}
	ck, key, err := expand(ns.ck, secret)
	if err != nil {
		return err
	}
	ns.ck = ck
	ns.counter = 0
	ns.key, err = newGCM(key)
	return err
}

func (ns *noiseState) encrypt(plaintext []byte) []byte {
	ciphertext := ns.key.Seal(nil, nonce(ns.counter), plaintext, ns.hash)
	ns.counter++
	ns.authenticate(ciphertext)
	return ciphertext
}

func (ns *noiseState) decrypt(ciphertext []byte) ([]byte, error) {
	plaintext, err := ns.key.Open(nil, nonce(ns.counter), ciphertext, ns.hash)
	ns.counter++
	if err != nil {
		return nil, err
	}
	ns.authenticate(ciphertext)
	return plaintext, nil
}

// split derives the transport keys: the first is the client's write key, the second
// the server's.
func (ns *noiseState) split() (clientWrite, serverWrite []byte, err error) {
	return expand(ns.ck, nil)
}

// expand is HKDF-SHA256 with salt ck, returning two 32-byte keys.
func expand(ck, ikm []byte) (first, second []byte, err error) {
	r := hkdf.New(sha256.New, ikm, ck, nil)
	out := make([]byte, 64)
	if _, err := io.ReadFull(r, out); err != nil {
		return nil, nil, fmt.Errorf("expand keys: %w", err)
	}
	return out[:32], out[32:], nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("create aes cipher: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("create gcm: %w", err)
	}
	return gcm, nil
}

// nonce is the 12-byte AES-GCM nonce with the counter big-endian in the last 4 bytes.
func nonce(counter uint32) []byte {
	iv := make([]byte, 12)
	binary.BigEndian.PutUint32(iv[8:], counter)
	return iv
}
