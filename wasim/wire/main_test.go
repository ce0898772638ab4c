package wire_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.mau.fi/whatsmeow"

	"github.com/wagate/wagate/wasim/wire"
)

// testSeed is the seed of the identity every test server uses unless a test wants a
// foreign root; whatsmeow.WACertPubKey is pinned to its root in TestMain.
var testSeed = []byte("wasim wire tests")

func TestMain(m *testing.M) {
	id, err := wire.NewIdentityFromSeed(testSeed)
	if err != nil {
		panic(err)
	}
	whatsmeow.WACertPubKey = id.RootPublicKey()
	whatsmeow.KeepAliveIntervalMin = 50 * time.Millisecond
	whatsmeow.KeepAliveIntervalMax = 100 * time.Millisecond
	whatsmeow.KeepAliveResponseDeadline = 2 * time.Second
	os.Exit(m.Run())
}

// testIdentity returns an identity whose root is the one the tests pin.
func testIdentity(tb testing.TB) *wire.Identity {
	tb.Helper()
	id, err := wire.NewIdentityFromSeed(testSeed)
	if err != nil {
		tb.Fatalf("NewIdentityFromSeed: %v", err)
	}
	return id
}

type rawConnKey struct{}

// handler serves one accepted connection; conn is nil when err is not.
type handler func(ctx context.Context, conn *wire.Conn, err error)

// startServer serves the chat websocket on a loopback port, runs wire.Accept (bounded
// by acceptTimeout when it is positive) and passes the result to handle. It returns the listen address. Cleanup stops every handler and waits for it.
func startServer(tb testing.TB, id *wire.Identity, acceptTimeout time.Duration, handle handler) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	base, cancel := context.WithCancel(context.Background())
	var (
		mu      sync.Mutex
		stopped bool
		wg      sync.WaitGroup
	)
	srv := &http.Server{
		BaseContext: func(net.Listener) context.Context { return base },
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, rawConnKey{}, c)
		},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			if stopped {
				mu.Unlock()
				return
			}
			wg.Add(1)
			mu.Unlock()
			defer wg.Done()
			raw, _ := r.Context().Value(rawConnKey{}).(net.Conn)
			ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: []string{"web.whatsapp.com"}})
			if err != nil {
				return
			}
			ctx := r.Context()
			actx := ctx
			if acceptTimeout > 0 {
				var acancel context.CancelFunc
				actx, acancel = context.WithTimeout(ctx, acceptTimeout)
				defer acancel()
			}
			conn, err := wire.Accept(actx, ws, raw, id)
			handle(ctx, conn, err)
			if conn != nil {
				conn.Drop()
			}
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() {
		mu.Lock()
		stopped = true
		mu.Unlock()
		cancel()
		_ = srv.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// dialClient is an HTTP client that reaches addr for any URL, TLS or not.
func dialClient(addr string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	return &http.Client{Transport: &http.Transport{DialContext: dial, DialTLSContext: dial}}
}
