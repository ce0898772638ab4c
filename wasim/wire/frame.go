package wire

import (
	"bytes"
	"context"
	"fmt"

	"github.com/coder/websocket"
)

// connHeader is what the client's first websocket message starts with: "WA", the
// magic value 6 and the binary dictionary version 3.
var connHeader = []byte{'W', 'A', 6, 3}

// frameLengthSize is the size of the big-endian length in front of every frame.
const frameLengthSize = 3

// messageReader is the read side of a websocket, as *websocket.Conn provides it.
type messageReader interface {
	Read(ctx context.Context) (websocket.MessageType, []byte, error)
}

// frameReader splits the client's websocket messages into frames. The client's first
// message starts with the connection header; after that every frame is a 3-byte
// big-endian length and the payload. A message may hold several frames, and a frame
// split across messages is reassembled.
type frameReader struct {
	r         messageReader
	sawHeader bool
	buf       []byte
}

// next returns the next frame payload. The returned slice stays valid after later
// calls.
func (fr *frameReader) next(ctx context.Context) ([]byte, error) {
	for {
		if len(fr.buf) >= frameLengthSize {
			n := int(fr.buf[0])<<16 | int(fr.buf[1])<<8 | int(fr.buf[2])
			if len(fr.buf) >= frameLengthSize+n {
				frame := fr.buf[frameLengthSize : frameLengthSize+n : frameLengthSize+n]
				fr.buf = fr.buf[frameLengthSize+n:]
				if len(fr.buf) == 0 {
					fr.buf = nil
				}
				return frame, nil
			}
		}
		typ, msg, err := fr.r.Read(ctx)
		if err != nil {
			return nil, fmt.Errorf("read websocket message: %w", err)
		}
		if typ != websocket.MessageBinary {
			return nil, fmt.Errorf("%w: got websocket message type %v, want binary", ErrBadFrame, typ)
		}
		if !fr.sawHeader {
			if !bytes.HasPrefix(msg, connHeader) {
				return nil, fmt.Errorf("%w: first message starts with % x", ErrBadHeader, msg[:min(len(msg), len(connHeader))])
			}
			fr.sawHeader = true
			msg = msg[len(connHeader):]
		}
		if fr.buf == nil {
			fr.buf = msg
		} else {
			fr.buf = append(fr.buf, msg...)
		}
	}
}

// encodeFrame prefixes payload with its 3-byte big-endian length. Server frames
// carry no connection header.
func encodeFrame(payload []byte) ([]byte, error) {
	if len(payload) > MaxFrameSize {
		return nil, fmt.Errorf("%w: %d bytes, max %d", ErrFrameTooLarge, len(payload), MaxFrameSize)
	}
	out := make([]byte, frameLengthSize+len(payload))
	n := len(payload)
	out[0], out[1], out[2] = byte(n>>16), byte(n>>8), byte(n)
	copy(out[frameLengthSize:], payload)
	return out, nil
}
