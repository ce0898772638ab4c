package bench

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
	"net/http"
	"sync"

	"github.com/coder/websocket"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waWa6"
	"go.mau.fi/whatsmeow/util/keys"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/hkdf"
	"google.golang.org/protobuf/proto"
)

// noisePattern is Noise_XX_25519_AESGCM_SHA256 padded to 32 bytes, used unhashed as
// the initial hash and chaining key, as whatsmeow does.
const noisePattern = "Noise_XX_25519_AESGCM_SHA256\x00\x00\x00\x00"

// connHeader opens the client's first websocket message: "WA", magic 6, dictionary 3.
var connHeader = []byte{'W', 'A', 6, 3}

// noiseConn is the client side of a WhatsApp web socket after the Noise handshake:
// frames are AES-GCM with per-direction counters. WriteNode is safe for concurrent
// use; ReadNode must be called from one goroutine.
type noiseConn struct {
	ws *websocket.Conn

	readKey cipher.AEAD
	readCtr uint32
	buf     []byte // received bytes not yet split into frames

	writeMu  sync.Mutex
	writeKey cipher.AEAD
	writeCtr uint32
}

// dialNoise opens a websocket to the simulator at addr and runs the initiator side of
// the handshake with the static key and client payload given. The server's
// certificate chain is decrypted but not verified: the benchmark trusts its own
// child process.
func dialNoise(ctx context.Context, addr string, static *keys.KeyPair, payload *waWa6.ClientPayload) (*noiseConn, error) {
	ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws/chat", &websocket.DialOptions{
		HTTPHeader: http.Header{"Origin": {"https://web.whatsapp.com"}},
	})
	if err != nil {
		return nil, fmt.Errorf("dial websocket: %w", err)
	}
	ws.SetReadLimit(1 << 25)
	c := &noiseConn{ws: ws}
	if err := c.handshake(ctx, static, payload); err != nil {
		_ = ws.CloseNow()
		return nil, fmt.Errorf("noise handshake: %w", err)
	}
	return c, nil
}

func (c *noiseConn) handshake(ctx context.Context, static *keys.KeyPair, payload *waWa6.ClientPayload) error {
	ns := &noiseState{hash: []byte(noisePattern), ck: []byte(noisePattern)}
	ns.authenticate(connHeader)
	var ePriv [32]byte
	if _, err := rand.Read(ePriv[:]); err != nil {
		return fmt.Errorf("generate ephemeral key: %w", err)
	}
	ePub, err := curve25519.X25519(ePriv[:], curve25519.Basepoint)
	if err != nil {
		return fmt.Errorf("derive ephemeral key: %w", err)
	}
	ns.authenticate(ePub)
	hello, err := proto.Marshal(&waWa6.HandshakeMessage{ClientHello: &waWa6.HandshakeMessage_ClientHello{Ephemeral: ePub}})
	if err != nil {
		return fmt.Errorf("marshal client hello: %w", err)
	}
	if err := c.writeFrame(ctx, hello, true); err != nil {
		return err
	}

	frame, err := c.readFrame(ctx)
	if err != nil {
		return fmt.Errorf("read server hello: %w", err)
	}
	var msg waWa6.HandshakeMessage
	if err := proto.Unmarshal(frame, &msg); err != nil {
		return fmt.Errorf("unmarshal server hello: %w", err)
	}
	sh := msg.GetServerHello()
	if len(sh.GetEphemeral()) != 32 {
		return errors.New("server hello without a 32-byte ephemeral key")
	}
	ns.authenticate(sh.GetEphemeral())
	if err := ns.mixDH(ePriv[:], sh.GetEphemeral()); err != nil {
		return err
	}
	serverStatic, err := ns.decrypt(sh.GetStatic())
	if err != nil || len(serverStatic) != 32 {
		return fmt.Errorf("decrypt server static key: %v", err)
	}
	if err := ns.mixDH(ePriv[:], serverStatic); err != nil {
		return err
	}
	if _, err := ns.decrypt(sh.GetPayload()); err != nil {
		return fmt.Errorf("decrypt certificate chain: %w", err)
	}

	encStatic := ns.encrypt(static.Pub[:])
	if err := ns.mixDH(static.Priv[:], sh.GetEphemeral()); err != nil {
		return err
	}
	payloadBytes, err := proto.Marshal(payload)
	if err != nil {
		return fmt.Errorf("marshal client payload: %w", err)
	}
	finish, err := proto.Marshal(&waWa6.HandshakeMessage{ClientFinish: &waWa6.HandshakeMessage_ClientFinish{
		Static:  encStatic,
		Payload: ns.encrypt(payloadBytes),
	}})
	if err != nil {
		return fmt.Errorf("marshal client finish: %w", err)
	}
	if err := c.writeFrame(ctx, finish, false); err != nil {
		return err
	}
	write, read, err := expand(ns.ck, nil)
	if err != nil {
		return err
	}
	if c.writeKey, err = newGCM(write); err != nil {
		return err
	}
	c.readKey, err = newGCM(read)
	return err
}

// WriteNode marshals, encrypts and sends one node in one websocket message.
func (c *noiseConn) WriteNode(ctx context.Context, n waBinary.Node) error {
	plaintext, err := waBinary.Marshal(n)
	if err != nil {
		return fmt.Errorf("marshal %s: %w", n.Tag, err)
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	ciphertext := c.writeKey.Seal(nil, nonce(c.writeCtr), plaintext, nil)
	c.writeCtr++
	return c.writeFrame(ctx, ciphertext, false)
}

// ReadNode reads, decrypts and unmarshals the next frame.
func (c *noiseConn) ReadNode(ctx context.Context) (*waBinary.Node, error) {
	frame, err := c.readFrame(ctx)
	if err != nil {
		return nil, err
	}
	plaintext, err := c.readKey.Open(frame[:0], nonce(c.readCtr), frame, nil)
	c.readCtr++
	if err != nil {
		return nil, fmt.Errorf("decrypt frame: %w", err)
	}
	data, err := waBinary.Unpack(plaintext)
	if err != nil {
		return nil, fmt.Errorf("unpack frame: %w", err)
	}
	n, err := waBinary.Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("unmarshal frame: %w", err)
	}
	return n, nil
}

// Close closes the websocket without waiting for the server's close frame.
func (c *noiseConn) Close() { _ = c.ws.CloseNow() }

func (c *noiseConn) writeFrame(ctx context.Context, payload []byte, first bool) error {
	var out []byte
	if first {
		out = append(out, connHeader...)
	}
	n := len(payload)
	out = append(out, byte(n>>16), byte(n>>8), byte(n))
	out = append(out, payload...)
	if err := c.ws.Write(ctx, websocket.MessageBinary, out); err != nil {
		return fmt.Errorf("write websocket message: %w", err)
	}
	return nil
}

// readFrame returns the next 3-byte-length-prefixed frame; a websocket message may
// hold several.
func (c *noiseConn) readFrame(ctx context.Context) ([]byte, error) {
	for {
		if len(c.buf) >= 3 {
			n := int(c.buf[0])<<16 | int(c.buf[1])<<8 | int(c.buf[2])
			if len(c.buf) >= 3+n {
				frame := c.buf[3 : 3+n : 3+n]
				c.buf = c.buf[3+n:]
				return frame, nil
			}
		}
		_, msg, err := c.ws.Read(ctx)
		if err != nil {
			return nil, fmt.Errorf("read websocket message: %w", err)
		}
		if len(c.buf) == 0 {
			c.buf = msg
		} else {
			c.buf = append(c.buf, msg...)
		}
	}
}

// noiseState is the handshake's symmetric state.
type noiseState struct {
	hash, ck []byte
	key      cipher.AEAD
	counter  uint32
}

func (ns *noiseState) authenticate(data []byte) {
	sum := sha256.Sum256(append(append([]byte(nil), ns.hash...), data...))
	ns.hash = sum[:]
}

func (ns *noiseState) mixDH(priv, pub []byte) error {
	secret, err := curve25519.X25519(priv, pub)
	if err != nil {
		return fmt.Errorf("key agreement: %w", err)
	}
	ck, key, err := expand(ns.ck, secret)
	if err != nil {
		return err
	}
	ns.ck, ns.counter = ck, 0
	ns.key, err = newGCM(key)
	return err
}

func (ns *noiseState) encrypt(plaintext []byte) []byte {
	ct := ns.key.Seal(nil, nonce(ns.counter), plaintext, ns.hash)
	ns.counter++
	ns.authenticate(ct)
	return ct
}

func (ns *noiseState) decrypt(ct []byte) ([]byte, error) {
	pt, err := ns.key.Open(nil, nonce(ns.counter), ct, ns.hash)
	ns.counter++
	if err != nil {
		return nil, err
	}
	ns.authenticate(ct)
	return pt, nil
}

func expand(salt, ikm []byte) (first, second []byte, err error) {
	out := make([]byte, 64)
	if _, err := io.ReadFull(hkdf.New(sha256.New, ikm, salt, nil), out); err != nil {
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

func nonce(counter uint32) []byte {
	iv := make([]byte, 12)
	binary.BigEndian.PutUint32(iv[8:], counter)
	return iv
}
