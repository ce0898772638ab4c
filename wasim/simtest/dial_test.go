package simtest_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wagate/wagate/wasim/simtest"
)

// echoServer answers plain requests with "<host> <path>" and echoes one websocket
// message on /ws/chat, on a plain (non-TLS) loopback listener.
func echoServer(tb testing.TB) string {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ws/chat" {
			_, _ = io.WriteString(w, r.Host+" "+r.URL.Path)
			return
		}
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: []string{"web.whatsapp.com"}})
		if err != nil {
			return
		}
		defer ws.CloseNow()
		typ, msg, err := ws.Read(r.Context())
		if err != nil {
			return
		}
		_ = ws.Write(r.Context(), typ, msg)
		_, _, _ = ws.Read(r.Context())
	}))
	tb.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestHTTPClientReachesAddrForAnyHost(t *testing.T) {
	addr := echoServer(t)
	client := simtest.HTTPClient(addr)
	for _, url := range []string{"https://web.whatsapp.com/check", "http://mmg.whatsapp.net/check"} {
		resp, err := client.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			t.Fatalf("read body: %v", err)
		}
		host := strings.SplitN(strings.TrimPrefix(strings.TrimPrefix(url, "https://"), "http://"), "/", 2)[0]
		if want := host + " /check"; string(body) != want {
			t.Errorf("GET %s answered %q, want %q", url, body, want)
		}
	}
}

func TestHTTPClientDialsWhatsAppWebsocket(t *testing.T) {
	addr := echoServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The same dial whatsmeow's frame socket makes.
	ws, _, err := websocket.Dial(ctx, "wss://web.whatsapp.com/ws/chat", &websocket.DialOptions{
		HTTPClient: simtest.HTTPClient(addr),
		HTTPHeader: http.Header{"Origin": {"https://web.whatsapp.com"}},
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer ws.CloseNow()
	if err := ws.Write(ctx, websocket.MessageBinary, []byte("WA\x06\x03")); err != nil {
		t.Fatalf("write: %v", err)
	}
	_, got, err := ws.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if string(got) != "WA\x06\x03" {
		t.Errorf("echo = %q, want the message sent", got)
	}
}
