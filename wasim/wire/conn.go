package wire

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/coder/websocket"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waWa6"
)

// flagCompressed in a frame's first plaintext byte means the rest is zlib-compressed.
const flagCompressed = 2

// maxInflated bounds the size of a decompressed frame.
const maxInflated = 1 << 24

// Conn is one client connection after a completed Noise handshake. WriteNode and
// WriteNodes are safe for concurrent use; ReadNode must be called from one goroutine.
//
// Cancelling the ctx of a pending ReadNode, WriteNode or WriteNodes closes the connection, as
// coder/websocket does for any interrupted read or write.
type Conn struct {
	ws     *websocket.Conn
	raw    net.Conn
	frames *frameReader

	readKey     cipher.AEAD
	readCounter uint32

	writeMu      sync.Mutex
	writeKey     cipher.AEAD
	writeCounter uint32
	writeNonce   [12]byte // counter big-endian in the last 4 bytes; guarded by writeMu

	clientStatic [32]byte
	payload      *waWa6.ClientPayload
}

// ClientStatic is the client's Noise static public key (whatsmeow's Store.NoiseKey).
func (c *Conn) ClientStatic() [32]byte { return c.clientStatic }

// Payload is the ClientPayload the client sent in its handshake finish message. It
// must not be modified.
func (c *Conn) Payload() *waWa6.ClientPayload { return c.payload }

// ReadNode reads and decrypts the next frame and decodes it into a node. A frame that
// fails to decrypt returns an error wrapping ErrDecrypt; one that is not a valid node
// returns ErrDecode or ErrBadFrame. After such errors the connection can still be read.
func (c *Conn) ReadNode(ctx context.Context) (*waBinary.Node, error) {
	frame, err := c.frames.next(ctx)
	if err != nil {
		return nil, err
	}
	plaintext, err := c.readKey.Open(nil, nonce(c.readCounter), frame, nil)
	c.readCounter++
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDecrypt, err)
	}
	return decodeNode(plaintext)
}

// WriteNode encodes, encrypts and sends one node as one frame in one websocket
// message. Nodes from concurrent callers are sent whole, in the order their frames
// are encrypted.
func (c *Conn) WriteNode(ctx context.Context, n waBinary.Node) error {
	if err := c.WriteNodes(ctx, []waBinary.Node{n}); err != nil {
		return fmt.Errorf("write node %s: %w", n.Tag, err)
	}
	return nil
}

// WriteNodes encodes and encrypts each node as its own frame and sends the frames
// back to back in one websocket message, or in a few when together they pass
// MaxBatchSize; a frame is never split across messages. whatsmeow reads every whole
// frame a message holds, so this costs the client nothing and saves a write per
// node. When a node cannot be encoded nothing is sent and the error wraps ErrDecode
// (or ErrFrameTooLarge); the connection stays usable. Batches from concurrent
// callers are not interleaved.
func (c *Conn) WriteNodes(ctx context.Context, nodes []waBinary.Node) error {
	if len(nodes) == 0 {
		return nil
	}
	plaintexts := make([][]byte, len(nodes))
	for i, n := range nodes {
		p, err := encodeNode(n)
		if err != nil {
			return err
		}
		if size := len(p) + c.writeKey.Overhead(); size > MaxFrameSize {
			return fmt.Errorf("%w: %s is %d bytes encrypted, max %d", ErrFrameTooLarge, n.Tag, size, MaxFrameSize)
		}
		plaintexts[i] = p
	}
	bufp := batchBuffers.Get().(*[]byte)
	defer func() {
		if cap(*bufp) <= 2*MaxBatchSize {
			batchBuffers.Put(bufp)
		}
	}()
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	buf := (*bufp)[:0]
	for _, p := range plaintexts {
		size := frameLengthSize + len(p) + c.writeKey.Overhead()
		if len(buf) > 0 && len(buf)+size > MaxBatchSize {
			if err := c.writeMessage(ctx, buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
		start := len(buf)
		buf = append(buf, 0, 0, 0)
		binary.BigEndian.PutUint32(c.writeNonce[8:], c.writeCounter)
		buf = c.writeKey.Seal(buf, c.writeNonce[:], p, nil)
		c.writeCounter++
		n := len(buf) - start - frameLengthSize
		buf[start], buf[start+1], buf[start+2] = byte(n>>16), byte(n>>8), byte(n)
	}
	*bufp = buf
	return c.writeMessage(ctx, buf)
}

// batchBuffers holds the buffers WriteNodes assembles its messages in.
var batchBuffers = sync.Pool{New: func() any { return new([]byte) }}

// writeFrame sends payload as one frame in one websocket message.
func (c *Conn) writeFrame(ctx context.Context, payload []byte) error {
	frame, err := encodeFrame(payload)
	if err != nil {
		return err
	}
	return c.writeMessage(ctx, frame)
}

// writeMessage sends frames, already length-prefixed, as one websocket message.
func (c *Conn) writeMessage(ctx context.Context, frames []byte) error {
	if err := c.ws.Write(ctx, websocket.MessageBinary, frames); err != nil {
		return fmt.Errorf("write websocket message: %w", err)
	}
	return nil
}

// Close closes the websocket cleanly with a normal-closure close frame. It waits up
// to a few seconds for the client to answer the close frame.
func (c *Conn) Close() error {
	if err := c.ws.Close(websocket.StatusNormalClosure, ""); err != nil {
		return fmt.Errorf("close websocket: %w", err)
	}
	return nil
}

// Drop closes the TCP connection abruptly, without a websocket close frame, the way a
// lost network does. Without a raw connection it closes the websocket without a close
// handshake.
func (c *Conn) Drop() {
	if c.raw != nil {
		if tcp, ok := c.raw.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0)
		}
		_ = c.raw.Close()
	}
	_ = c.ws.CloseNow()
}

// encodeNode marshals n with the leading flag byte 0 (uncompressed) that
// waBinary.Marshal already writes. The encoder panics on unsupported values, which
// becomes an ErrDecode error here.
func encodeNode(n waBinary.Node) (data []byte, err error) {
	if n.Tag == "" {
		return nil, fmt.Errorf("%w: node has no tag", ErrDecode)
	}
	defer func() {
		if r := recover(); r != nil {
			data, err = nil, fmt.Errorf("%w: marshal %s: %v", ErrDecode, n.Tag, r)
		}
	}()
	data, err = waBinary.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("%w: marshal %s: %w", ErrDecode, n.Tag, err)
	}
	return data, nil
}

// decodeNode reads the flag byte, inflates the rest when it is compressed and
// unmarshals the node.
func decodeNode(plaintext []byte) (node *waBinary.Node, err error) {
	if len(plaintext) == 0 {
		return nil, fmt.Errorf("%w: empty plaintext", ErrBadFrame)
	}
	flag, data := plaintext[0], plaintext[1:]
	if flag&flagCompressed != 0 {
		zr, err := zlib.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%w: open zlib stream: %w", ErrDecode, err)
		}
		data, err = io.ReadAll(io.LimitReader(zr, maxInflated+1))
		if err != nil {
			return nil, fmt.Errorf("%w: inflate frame: %w", ErrDecode, err)
		}
		if len(data) > maxInflated {
			return nil, fmt.Errorf("%w: inflated frame exceeds %d bytes", ErrDecode, maxInflated)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			node, err = nil, fmt.Errorf("%w: unmarshal: %v", ErrDecode, r)
		}
	}()
	node, err = waBinary.Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("%w: unmarshal: %w", ErrDecode, err)
	}
	return node, nil
}
