package wire_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waWa6"
	"go.mau.fi/whatsmeow/socket"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/wasim/wire"
)

type acceptResult struct {
	conn *wire.Conn
	err  error
}

// serveHeld starts a server that hands every accepted connection to the test and
// keeps it open until the test ends.
func serveHeld(tb testing.TB) (string, <-chan acceptResult) {
	tb.Helper()
	results := make(chan acceptResult, 4)
	addr := startServer(tb, testIdentity(tb), 0, func(ctx context.Context, conn *wire.Conn, err error) {
		results <- acceptResult{conn, err}
		if err == nil {
			<-ctx.Done()
		}
	})
	return addr, results
}

func waitAccept(ctx context.Context, tb testing.TB, results <-chan acceptResult) acceptResult {
	tb.Helper()
	select {
	case r := <-results:
		return r
	case <-ctx.Done():
		tb.Fatal("Accept did not return")
		return acceptResult{}
	}
}

func testContext(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

func TestAcceptReportsClientKeyAndPayload(t *testing.T) {
	ctx := testContext(t)
	addr, results := serveHeld(t)
	nc, err := dialNoiseClient(ctx, t, addr, nil)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	r := waitAccept(ctx, t, results)
	if r.err != nil {
		t.Fatalf("Accept: %v", r.err)
	}
	if got := r.conn.ClientStatic(); got != *nc.noiseKey.Pub {
		t.Errorf("ClientStatic() = %x, want %x", got, *nc.noiseKey.Pub)
	}
	if got := r.conn.Payload().GetUsername(); got != 15550001111 {
		t.Errorf("Payload().Username = %d, want 15550001111", got)
	}
	if got := r.conn.Payload().GetDevice(); got != 3 {
		t.Errorf("Payload().Device = %d, want 3", got)
	}
}

func TestConcurrentWriteNodeDeliversEveryNodeInOrder(t *testing.T) {
	const writers, perWriter = 8, 200
	ctx := testContext(t)
	addr, results := serveHeld(t)
	nc, err := dialNoiseClient(ctx, t, addr, nil)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	r := waitAccept(ctx, t, results)
	if r.err != nil {
		t.Fatalf("Accept: %v", r.err)
	}

	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				n := waBinary.Node{Tag: "notification", Attrs: waBinary.Attrs{"id": fmt.Sprintf("w%d-%d", w, i), "type": "test"}}
				if err := r.conn.WriteNode(ctx, n); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("WriteNode: %v", err)
	}

	next := make([]int, writers)
	for range writers * perWriter {
		var node *waBinary.Node
		select {
		case node = <-nc.nodes:
		case <-ctx.Done():
			t.Fatalf("client decoded %d nodes, want %d", sum(next), writers*perWriter)
		}
		var w, i int
		if _, err := fmt.Sscanf(node.AttrGetter().String("id"), "w%d-%d", &w, &i); err != nil || w < 0 || w >= writers {
			t.Fatalf("unexpected node %s", node.XMLString())
		}
		if i != next[w] {
			t.Fatalf("writer %d: got node %d, want %d (lost or reordered)", w, i, next[w])
		}
		next[w]++
	}
}

func sum(xs []int) int {
	total := 0
	for _, x := range xs {
		total += x
	}
	return total
}

func TestReadNodeDecodesFramesAndSurvivesBadOnes(t *testing.T) {
	ctx := testContext(t)
	addr, results := serveHeld(t)
	nc, err := dialNoiseClient(ctx, t, addr, nil)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	r := waitAccept(ctx, t, results)
	if r.err != nil {
		t.Fatalf("Accept: %v", r.err)
	}
	plain := waBinary.Node{Tag: "iq", Attrs: waBinary.Attrs{"id": "plain", "type": "get", "xmlns": "w:p"}}
	big := make([]byte, 40_000)
	for i := range big {
		big[i] = byte(i)
	}
	compressed := waBinary.Node{Tag: "iq", Attrs: waBinary.Attrs{"id": "zipped", "type": "set"},
		Content: []waBinary.Node{{Tag: "list", Content: big}}}

	steps := []struct {
		name    string
		send    func() error
		wantID  string
		wantErr error
	}{
		{"plain_node", func() error { return nc.sendNode(ctx, plain) }, "plain", nil},
		{"empty_plaintext", func() error { return nc.ns.SendFrame(ctx, []byte{}) }, "", wire.ErrBadFrame},
		{"not_a_node", func() error { return nc.ns.SendFrame(ctx, []byte{0, 0xf8, 0xff, 0xff}) }, "", wire.ErrDecode},
		{"bad_zlib", func() error { return nc.ns.SendFrame(ctx, []byte{2, 1, 2, 3}) }, "", wire.ErrDecode},
		{"compressed_large_node", func() error { return nc.sendCompressed(ctx, compressed) }, "zipped", nil},
		{"plain_after_errors", func() error { return nc.sendNode(ctx, plain) }, "plain", nil},
	}
	for _, s := range steps {
		if err := s.send(); err != nil {
			t.Fatalf("%s: send: %v", s.name, err)
		}
		node, err := r.conn.ReadNode(ctx)
		if s.wantErr != nil {
			if !errors.Is(err, s.wantErr) {
				t.Errorf("%s: ReadNode() error = %v, want %v", s.name, err, s.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: ReadNode: %v", s.name, err)
		}
		if got := node.AttrGetter().String("id"); got != s.wantID {
			t.Errorf("%s: node id = %q, want %q", s.name, got, s.wantID)
		}
		if s.wantID == "zipped" {
			list, ok := node.GetOptionalChildByTag("list")
			if b, _ := list.Content.([]byte); !ok || len(b) != len(big) || b[len(b)-1] != big[len(big)-1] {
				t.Errorf("%s: list content lost in decompression", s.name)
			}
		}
	}
}

func TestWriteNodeRejectsUnencodableNodeWithoutBreakingTheStream(t *testing.T) {
	ctx := testContext(t)
	addr, results := serveHeld(t)
	nc, err := dialNoiseClient(ctx, t, addr, nil)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	r := waitAccept(ctx, t, results)
	if r.err != nil {
		t.Fatalf("Accept: %v", r.err)
	}
	bad := []waBinary.Node{
		{Tag: ""},
		{Tag: "iq", Attrs: waBinary.Attrs{"id": struct{}{}}},
		{Tag: "iq", Content: map[string]int{}},
	}
	for _, n := range bad {
		if err := r.conn.WriteNode(ctx, n); !errors.Is(err, wire.ErrDecode) {
			t.Errorf("WriteNode(%#v) error = %v, want ErrDecode", n, err)
		}
	}
	if err := r.conn.WriteNode(ctx, waBinary.Node{Tag: "ib", Attrs: waBinary.Attrs{"id": "after"}}); err != nil {
		t.Fatalf("WriteNode: %v", err)
	}
	select {
	case node := <-nc.nodes:
		if node.Tag != "ib" || node.AttrGetter().String("id") != "after" {
			t.Errorf("client got %s, want <ib id=after>", node.XMLString())
		}
	case <-ctx.Done():
		t.Fatal("client never decoded the node written after the rejected ones")
	}
}

func TestCloseAndDropEndTheConnection(t *testing.T) {
	for _, tc := range []struct {
		name  string
		close func(*wire.Conn) error
	}{
		{"close", func(c *wire.Conn) error { return c.Close() }},
		{"drop", func(c *wire.Conn) error { c.Drop(); return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			addr, results := serveHeld(t)
			nc, err := dialNoiseClient(ctx, t, addr, nil)
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			r := waitAccept(ctx, t, results)
			if r.err != nil {
				t.Fatalf("Accept: %v", r.err)
			}
			// One round trip first, as on any real connection.
			if err := nc.sendNode(ctx, waBinary.Node{Tag: "presence", Attrs: waBinary.Attrs{"type": "available"}}); err != nil {
				t.Fatalf("send: %v", err)
			}
			if _, err := r.conn.ReadNode(ctx); err != nil {
				t.Fatalf("ReadNode: %v", err)
			}
			if err := tc.close(r.conn); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if _, err := r.conn.ReadNode(ctx); err == nil {
				t.Error("ReadNode succeeded on a closed connection")
			}
			select {
			case <-nc.disconnected:
			case <-ctx.Done():
				t.Fatal("client never noticed the connection ended")
			}
		})
	}
}

func TestAcceptRejectsBadClientFinish(t *testing.T) {
	cases := []struct {
		name   string
		finish finishFunc
	}{
		{"not_protobuf", func(*socket.NoiseHandshake, [32]byte) ([]byte, error) {
			return []byte{0xff, 0xff, 0xff}, nil
		}},
		{"missing_payload", func(nh *socket.NoiseHandshake, _ [32]byte) ([]byte, error) {
			return proto.Marshal(&waWa6.HandshakeMessage{ClientFinish: &waWa6.HandshakeMessage_ClientFinish{Static: nh.Encrypt(make([]byte, 32))}})
		}},
		{"static_not_encrypted", func(*socket.NoiseHandshake, [32]byte) ([]byte, error) {
			return proto.Marshal(&waWa6.HandshakeMessage{ClientFinish: &waWa6.HandshakeMessage_ClientFinish{
				Static: make([]byte, 48), Payload: make([]byte, 20)}})
		}},
		{"payload_under_wrong_key", func(nh *socket.NoiseHandshake, _ [32]byte) ([]byte, error) {
			static := nh.Encrypt(make([]byte, 32))
			return proto.Marshal(&waWa6.HandshakeMessage{ClientFinish: &waWa6.HandshakeMessage_ClientFinish{
				Static: static, Payload: nh.Encrypt([]byte("payload"))}})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			addr, results := serveHeld(t)
			if _, err := dialNoiseClient(ctx, t, addr, tc.finish); err != nil {
				t.Fatalf("client side of handshake: %v", err)
			}
			r := waitAccept(ctx, t, results)
			if !errors.Is(r.err, wire.ErrHandshake) {
				t.Errorf("Accept() error = %v, want ErrHandshake", r.err)
			}
		})
	}
}
