package netdial_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wagate/wagate/connector/netdial"
	"github.com/wagate/wagate/connector/netdial/netdialtest"
)

// testTimeout bounds every blocking step of these tests; it is a safety net, not a goal.
const testTimeout = 10 * time.Second

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func mustNew(t *testing.T, opts netdial.Options) *netdial.Dialer {
	t.Helper()
	d, err := netdial.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}

// get fetches url with d's HTTP client and returns the body.
func get(t *testing.T, d *netdial.Dialer, url string) string {
	t.Helper()
	client := d.HTTPClient()
	t.Cleanup(client.CloseIdleConnections)
	req, err := http.NewRequestWithContext(testContext(t), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(body)
}

// acceptLog accepts connections on l and reports the local address of each.
func acceptLog(t *testing.T, l net.Listener) <-chan string {
	t.Helper()
	seen := make(chan string, 8)
	serveConns(t, l, func(c net.Conn) {
		seen <- c.LocalAddr().String()
		_ = c.Close()
	})
	return seen
}

func TestPreferIPv4(t *testing.T) {
	dns := netdialtest.StartDNS(t, map[string][]netip.Addr{
		"dual.wagate.test": {netip.MustParseAddr("::1"), netip.MustParseAddr("127.0.0.1")},
	})

	t.Run("picks_the_ipv4_address_of_a_dual_stack_name", func(t *testing.T) {
		l4, l6, port := netdialtest.ListenDualStack(t)
		seen4, seen6 := acceptLog(t, l4), acceptLog(t, l6)
		d := mustNew(t, netdial.Options{PreferIPv4: true, Resolver: dns.Resolver()})
		conn, err := d.DialContext(testContext(t), "tcp", net.JoinHostPort("dual.wagate.test", port))
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer conn.Close()
		if got := conn.RemoteAddr().String(); got != "127.0.0.1:"+port {
			t.Errorf("connected to %s, want 127.0.0.1:%s", got, port)
		}
		select {
		case addr := <-seen4:
			if addr != "127.0.0.1:"+port {
				t.Errorf("v4 listener saw %s", addr)
			}
		case addr := <-seen6:
			t.Fatalf("connection went to the IPv6 listener (%s)", addr)
		case <-time.After(testTimeout):
			t.Fatal("no listener saw the connection")
		}
	})

	t.Run("falls_back_to_ipv6_when_ipv4_refuses", func(t *testing.T) {
		l4, l6, port := netdialtest.ListenDualStack(t)
		_ = l4.Close() // IPv4 now refuses on this port
		seen6 := acceptLog(t, l6)
		d := mustNew(t, netdial.Options{PreferIPv4: true, Resolver: dns.Resolver()})
		conn, err := d.DialContext(testContext(t), "tcp", net.JoinHostPort("dual.wagate.test", port))
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer conn.Close()
		select {
		case addr := <-seen6:
			if addr != "[::1]:"+port {
				t.Errorf("v6 listener saw %s", addr)
			}
		case <-time.After(testTimeout):
			t.Fatal("the IPv6 listener saw no connection")
		}
	})

	t.Run("reports_a_name_that_does_not_resolve", func(t *testing.T) {
		d := mustNew(t, netdial.Options{PreferIPv4: true, Resolver: dns.Resolver()})
		_, err := d.DialContext(testContext(t), "tcp", "missing.wagate.test:443")
		if err == nil || !strings.Contains(err.Error(), "missing.wagate.test") {
			t.Fatalf("err = %v, want a resolve error naming the host", err)
		}
	})
}

func TestSOCKS5Proxy(t *testing.T) {
	backend := startBackend(t)
	proxyAddr, log := startSOCKS5(t, backend.Listener.Addr().String())
	// The proxy resolves the name; a local lookup would fail on the dead resolver.
	d := mustNew(t, netdial.Options{ProxyURL: "socks5://alice:s3cret@" + proxyAddr, Resolver: netdialtest.NoNetworkResolver(t)})

	body := get(t, d, "http://web.wagate.test:8443/ws/chat")
	if body != "backend saw host web.wagate.test:8443" {
		t.Errorf("body = %q", body)
	}
	targets, auth := log.snapshot()
	if len(targets) != 1 || targets[0] != "web.wagate.test:8443" {
		t.Errorf("proxy targets = %v, want [web.wagate.test:8443] (the name, resolved by the proxy)", targets)
	}
	if len(auth) != 1 || auth[0] != "alice:s3cret" {
		t.Errorf("proxy credentials = %v, want [alice:s3cret]", auth)
	}
}

func TestHTTPConnectProxy(t *testing.T) {
	backend := startBackend(t).Listener.Addr().String()

	t.Run("http_proxy_with_credentials", func(t *testing.T) {
		log := &proxyLog{}
		px := httptest.NewServer(connectProxy(backend, true, log))
		t.Cleanup(px.Close)
		d := mustNew(t, netdial.Options{ProxyURL: "http://bob:pa55@" + px.Listener.Addr().String(), Resolver: netdialtest.NoNetworkResolver(t)})
		if body := get(t, d, "http://edge.wagate.test:5222/"); body != "backend saw host edge.wagate.test:5222" {
			t.Errorf("body = %q", body)
		}
		targets, auth := log.snapshot()
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte("bob:pa55"))
		if len(targets) != 1 || targets[0] != "edge.wagate.test:5222" || auth[0] != want {
			t.Errorf("proxy saw targets %v auth %v, want [edge.wagate.test:5222] [%s]", targets, auth, want)
		}
	})

	t.Run("https_proxy", func(t *testing.T) {
		log := &proxyLog{}
		px := httptest.NewTLSServer(connectProxy(backend, false, log))
		t.Cleanup(px.Close)
		d := mustNew(t, netdial.Options{
			ProxyURL:       "https://" + px.Listener.Addr().String(),
			ProxyTLSConfig: px.Client().Transport.(*http.Transport).TLSClientConfig,
			Resolver:       netdialtest.NoNetworkResolver(t),
		})
		if body := get(t, d, "http://mmg.wagate.test/"); body != "backend saw host mmg.wagate.test" {
			t.Errorf("body = %q", body)
		}
		if targets, _ := log.snapshot(); len(targets) != 1 || targets[0] != "mmg.wagate.test:80" {
			t.Errorf("proxy targets = %v, want [mmg.wagate.test:80]", targets)
		}
	})

	t.Run("refused_authentication_says_so", func(t *testing.T) {
		px := httptest.NewServer(connectProxy(backend, true, &proxyLog{}))
		t.Cleanup(px.Close)
		d := mustNew(t, netdial.Options{ProxyURL: "http://" + px.Listener.Addr().String()})
		_, err := d.DialContext(testContext(t), "tcp", "web.wagate.test:443")
		if err == nil || !strings.Contains(err.Error(), "proxy authentication required") {
			t.Fatalf("err = %v, want proxy authentication required", err)
		}
	})

	t.Run("silent_proxy_times_out", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		serveConns(t, l, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }) // never answers
		d := mustNew(t, netdial.Options{ProxyURL: "http://" + l.Addr().String(), ConnectTimeout: 200 * time.Millisecond})
		_, err = d.DialContext(testContext(t), "tcp", "web.wagate.test:443")
		if err == nil {
			t.Fatal("dial through a silent proxy succeeded")
		}
	})
}

func TestOverride(t *testing.T) {
	backend := startBackend(t)
	// Nothing may be resolved: the requested names must never be looked up.
	d := mustNew(t, netdial.Options{Override: backend.Listener.Addr().String(), PreferIPv4: true, Resolver: netdialtest.NoNetworkResolver(t)})

	for _, url := range []string{
		"https://web.wagate.test/ws/chat", // TLS dial: plain TCP to the simulator
		"http://mmg.wagate.test:8080/upload",
	} {
		host := strings.SplitN(url, "/", 4)[2]
		if body := get(t, d, url); body != "backend saw host "+host {
			t.Errorf("GET %s: body = %q", url, body)
		}
	}

	t.Run("websocket_over_wss_reaches_the_plain_simulator", func(t *testing.T) {
		ws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: []string{"web.whatsapp.com"}})
			if err != nil {
				return
			}
			defer c.CloseNow()
			_ = c.Write(r.Context(), websocket.MessageText, []byte("hello "+r.Host+r.URL.Path))
		}))
		t.Cleanup(ws.Close)
		d := mustNew(t, netdial.Options{Override: ws.Listener.Addr().String(), Resolver: netdialtest.NoNetworkResolver(t)})
		client := d.HTTPClient()
		t.Cleanup(client.CloseIdleConnections)
		ctx := testContext(t)
		c, _, err := websocket.Dial(ctx, "wss://web.whatsapp.test/ws/chat", &websocket.DialOptions{
			HTTPClient: client,
			HTTPHeader: http.Header{"Origin": {"https://web.whatsapp.com"}},
		})
		if err != nil {
			t.Fatalf("websocket dial: %v", err)
		}
		defer c.CloseNow()
		_, msg, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if string(msg) != "hello web.whatsapp.test/ws/chat" {
			t.Errorf("message = %q", msg)
		}
	})
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    netdial.Options
		setting string
	}{
		{"unsupported_proxy_scheme", netdial.Options{ProxyURL: "ftp://proxy.example:21"}, "proxyURL"},
		{"proxy_without_host", netdial.Options{ProxyURL: "socks5://"}, "proxyURL"},
		{"proxy_not_a_url", netdial.Options{ProxyURL: "http://[::1"}, "proxyURL"},
		{"proxy_with_path", netdial.Options{ProxyURL: "http://user:hunter2@proxy.example/path"}, "proxyURL"},
		{"override_without_port", netdial.Options{Override: "127.0.0.1"}, "override"},
		{"override_port_out_of_range", netdial.Options{Override: "127.0.0.1:70000"}, "override"},
		{"override_without_host", netdial.Options{Override: ":7070"}, "override"},
		{"negative_timeout", netdial.Options{ConnectTimeout: -time.Second}, "connectTimeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := netdial.New(tc.opts)
			if err == nil {
				t.Fatal("New accepted bad options")
			}
			if !strings.Contains(err.Error(), tc.setting) {
				t.Errorf("error %q does not name %s", err, tc.setting)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q leaks the proxy password", err)
			}
		})
	}
	for _, ok := range []netdial.Options{
		{},
		{PreferIPv4: true, ProxyURL: "socks5://u:p@127.0.0.1:1080"},
		{ProxyURL: "https://proxy.example"},
		{Override: "127.0.0.1:7070"},
		{Override: "[::1]:7070"},
	} {
		if _, err := netdial.New(ok); err != nil {
			t.Errorf("New(%+v): %v", ok, err)
		}
	}
}

func TestFetchSimulatorKey(t *testing.T) {
	key := [32]byte{1, 2, 3, 31: 0xff}
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		wantErr string
	}{
		{"valid_key", http.StatusOK, fmt.Sprintf(`{"publicKey":%q}`, base64.StdEncoding.EncodeToString(key[:])), ""},
		{"short_key", http.StatusOK, `{"publicKey":"AQID"}`, "has 3 bytes, want 32"},
		{"not_base64", http.StatusOK, `{"publicKey":"***"}`, "not base64"},
		{"not_json", http.StatusOK, `<html>`, "decode"},
		{"server_error", http.StatusInternalServerError, `{}`, "500"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/_sim/cert" {
					http.NotFound(w, r)
					return
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			got, err := netdial.FetchSimulatorKey(testContext(t), srv.Listener.Addr().String())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("FetchSimulatorKey: %v", err)
			}
			if got != key {
				t.Errorf("key = %x, want %x", got, key)
			}
		})
	}
}
