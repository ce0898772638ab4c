package wire_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.mau.fi/whatsmeow/proto/waWa6"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/wasim/wire"
)

var waHeader = []byte{'W', 'A', 6, 3}

// lengthPrefixed frames payload the way the client does.
func lengthPrefixed(payload []byte) []byte {
	n := len(payload)
	return append([]byte{byte(n >> 16), byte(n >> 8), byte(n)}, payload...)
}

func helloWith(tb testing.TB, ephemeral []byte) []byte {
	tb.Helper()
	b, err := proto.Marshal(&waWa6.HandshakeMessage{ClientHello: &waWa6.HandshakeMessage_ClientHello{Ephemeral: ephemeral}})
	if err != nil {
		tb.Fatalf("marshal hello: %v", err)
	}
	return b
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestAcceptRejectsMalformedClientStart(t *testing.T) {
	const acceptTimeout = 500 * time.Millisecond
	cases := []struct {
		name string
		typ  websocket.MessageType
		msg  []byte
		// closeAfter closes the client right after sending.
		closeAfter bool
		wantErr    error
	}{
		{"no_header", websocket.MessageBinary, []byte("GET /ws/chat HTTP/1.1"), false, wire.ErrBadHeader},
		{"wrong_dictionary_version", websocket.MessageBinary, concat([]byte{'W', 'A', 6, 2}, lengthPrefixed(helloWith(t, make([]byte, 32)))), false, wire.ErrBadHeader},
		{"text_message", websocket.MessageText, concat(waHeader, lengthPrefixed([]byte("hi"))), false, wire.ErrBadFrame},
		{"hello_not_protobuf", websocket.MessageBinary, concat(waHeader, lengthPrefixed([]byte{0xff, 0xff, 0xff, 0xff})), false, wire.ErrHandshake},
		{"hello_without_ephemeral", websocket.MessageBinary, concat(waHeader, lengthPrefixed(nil)), false, wire.ErrHandshake},
		{"short_ephemeral", websocket.MessageBinary, concat(waHeader, lengthPrefixed(helloWith(t, make([]byte, 16)))), false, wire.ErrHandshake},
		{"low_order_ephemeral", websocket.MessageBinary, concat(waHeader, lengthPrefixed(helloWith(t, make([]byte, 32)))), false, wire.ErrHandshake},
		{"truncated_hello_then_close", websocket.MessageBinary, concat(waHeader, []byte{0, 0, 100}, make([]byte, 10)), true, nil},
		{"truncated_hello_then_silence", websocket.MessageBinary, concat(waHeader, []byte{0, 0, 100}, make([]byte, 10)), false, context.DeadlineExceeded},
		{"header_only_then_silence", websocket.MessageBinary, waHeader, false, context.DeadlineExceeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			results := make(chan acceptResult, 1)
			addr := startServer(t, testIdentity(t), acceptTimeout, func(_ context.Context, conn *wire.Conn, err error) {
				results <- acceptResult{conn, err}
			})
			ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws/chat", nil)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer ws.CloseNow()
			if err := ws.Write(ctx, tc.typ, tc.msg); err != nil {
				t.Fatalf("write: %v", err)
			}
			if tc.closeAfter {
				_ = ws.CloseNow()
			}
			start := time.Now()
			r := waitAccept(ctx, t, results)
			if r.err == nil {
				t.Fatal("Accept succeeded on a malformed client start")
			}
			t.Logf("Accept() error: %v", r.err)
			if tc.wantErr != nil && !errors.Is(r.err, tc.wantErr) {
				t.Errorf("Accept() error = %v, want %v", r.err, tc.wantErr)
			}
			if waited := time.Since(start); waited > acceptTimeout+5*time.Second {
				t.Errorf("Accept returned after %v, want within its %v deadline", waited, acceptTimeout)
			}
		})
	}
}
