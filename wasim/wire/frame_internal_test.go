package wire

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/coder/websocket"
)

// scriptedReader returns the given messages in order, then io.EOF.
type scriptedReader struct{ msgs [][]byte }

func (s *scriptedReader) Read(context.Context) (websocket.MessageType, []byte, error) {
	if len(s.msgs) == 0 {
		return 0, nil, io.EOF
	}
	m := s.msgs[0]
	s.msgs = s.msgs[1:]
	return websocket.MessageBinary, m, nil
}

func framed(payload string) []byte {
	f, err := encodeFrame([]byte(payload))
	if err != nil {
		panic(err)
	}
	return f
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestFrameReaderSplitsAndJoinsMessages(t *testing.T) {
	long := string(bytes.Repeat([]byte("x"), 70_000))
	cases := []struct {
		name string
		msgs [][]byte
		want []string
	}{
		{"one_frame_per_message", [][]byte{cat(connHeader, framed("hello")), framed("a"), framed("b")}, []string{"hello", "a", "b"}},
		{"several_frames_in_one_message", [][]byte{cat(connHeader, framed("hello"), framed("a"), framed("b"))}, []string{"hello", "a", "b"}},
		{"frame_split_across_messages", [][]byte{cat(connHeader, framed(long)[:1000]), framed(long)[1000:]}, []string{long}},
		{"length_split_across_messages", [][]byte{cat(connHeader, framed("abc")[:2]), framed("abc")[2:]}, []string{"abc"}},
		{"empty_frame", [][]byte{cat(connHeader, framed(""), framed("z"))}, []string{"", "z"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fr := &frameReader{r: &scriptedReader{msgs: tc.msgs}}
			var got []string
			for range tc.want {
				f, err := fr.next(context.Background())
				if err != nil {
					t.Fatalf("next after %d frames: %v", len(got), err)
				}
				got = append(got, string(f))
			}
			for i := range tc.want {
				if got[i] != tc.want[i] {
					t.Errorf("frame %d has %d bytes, want %d", i, len(got[i]), len(tc.want[i]))
				}
			}
			if _, err := fr.next(context.Background()); !errors.Is(err, io.EOF) {
				t.Errorf("next after the last frame = %v, want EOF", err)
			}
		})
	}
}

func TestFrameReaderRequiresHeaderOnFirstMessageOnly(t *testing.T) {
	fr := &frameReader{r: &scriptedReader{msgs: [][]byte{framed("hello")}}}
	if _, err := fr.next(context.Background()); !errors.Is(err, ErrBadHeader) {
		t.Errorf("first message without header: err = %v, want ErrBadHeader", err)
	}
	fr = &frameReader{r: &scriptedReader{msgs: [][]byte{cat(connHeader, framed("a")), cat(connHeader, framed("b"))}}}
	if _, err := fr.next(context.Background()); err != nil {
		t.Fatalf("first frame: %v", err)
	}
	// A second header is read as a frame length (0x574106), which never completes.
	if f, err := fr.next(context.Background()); err == nil {
		t.Errorf("second header accepted, got frame of %d bytes", len(f))
	}
}

func TestEncodeFrameLimits(t *testing.T) {
	if _, err := encodeFrame(make([]byte, MaxFrameSize)); err != nil {
		t.Errorf("encodeFrame(max) = %v, want nil", err)
	}
	if _, err := encodeFrame(make([]byte, MaxFrameSize+1)); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("encodeFrame(max+1) = %v, want ErrFrameTooLarge", err)
	}
	f, _ := encodeFrame([]byte("abc"))
	if !bytes.Equal(f, []byte{0, 0, 3, 'a', 'b', 'c'}) {
		t.Errorf("encodeFrame(abc) = % x", f)
	}
}
