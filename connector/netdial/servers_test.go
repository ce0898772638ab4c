package netdial_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
)

// proxyLog records what a test proxy was asked to do.
type proxyLog struct {
	mu      sync.Mutex
	targets []string // host:port the client asked for, in order
	auth    []string // credentials the client sent ("user:password" or a Proxy-Authorization value)
}

func (l *proxyLog) add(target, auth string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.targets = append(l.targets, target)
	l.auth = append(l.auth, auth)
}

func (l *proxyLog) snapshot() (targets, auth []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.targets...), append([]string(nil), l.auth...)
}

// pipe copies both ways between a and b until either side ends, then closes both.
func pipe(a, b net.Conn) {
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go cp(a, b)
	go cp(b, a)
	<-done
	_ = a.Close()
	_ = b.Close()
	<-done
}

// serveConns accepts on l until it is closed, handling each connection in its own
// goroutine; it stops with the test and waits for its handlers.
func serveConns(t *testing.T, l net.Listener, handle func(net.Conn)) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return // listener closed
			}
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		for _, c := range open {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
}

// startSOCKS5 runs a minimal SOCKS5 server (RFC 1928, CONNECT only, no auth or
// user/password per RFC 1929) on loopback. It records the requested target and
// connects every request to backend instead.
func startSOCKS5(t *testing.T, backend string) (addr string, log *proxyLog) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen socks5: %v", err)
	}
	log = &proxyLog{}
	serveConns(t, l, func(c net.Conn) {
		defer c.Close()
		target, auth, err := socks5Handshake(c)
		if err != nil {
			return
		}
		log.add(target, auth)
		up, err := net.Dial("tcp", backend)
		if err != nil {
			_, _ = c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}) // connection refused
			return
		}
		if _, err := c.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0}); err != nil {
			_ = up.Close()
			return
		}
		pipe(c, up)
	})
	return l.Addr().String(), log
}

// socks5Handshake reads the greeting, optional authentication and CONNECT request.
func socks5Handshake(c net.Conn) (target, auth string, err error) {
	r := bufio.NewReader(c)
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil || hdr[0] != 5 {
		return "", "", errors.New("bad greeting")
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(r, methods); err != nil {
		return "", "", err
	}
	method := byte(0)
	for _, m := range methods {
		if m == 2 {
			method = 2 // prefer user/password when offered
		}
	}
	if _, err := c.Write([]byte{5, method}); err != nil {
		return "", "", err
	}
	if method == 2 {
		readField := func() string {
			n, _ := r.ReadByte()
			b := make([]byte, n)
			_, _ = io.ReadFull(r, b)
			return string(b)
		}
		if v, _ := r.ReadByte(); v != 1 {
			return "", "", errors.New("bad auth version")
		}
		user := readField()
		auth = user + ":" + readField()
		if _, err := c.Write([]byte{1, 0}); err != nil {
			return "", "", err
		}
	}
	var req [4]byte
	if _, err := io.ReadFull(r, req[:]); err != nil || req[1] != 1 {
		return "", "", errors.New("bad request")
	}
	var host string
	switch req[3] {
	case 1, 4: // IPv4, IPv6
		ip := make([]byte, map[byte]int{1: 4, 4: 16}[req[3]])
		if _, err := io.ReadFull(r, ip); err != nil {
			return "", "", err
		}
		host = net.IP(ip).String()
	case 3: // domain name
		n, _ := r.ReadByte()
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return "", "", err
		}
		host = string(b)
	default:
		return "", "", errors.New("bad address type")
	}
	var port [2]byte
	if _, err := io.ReadFull(r, port[:]); err != nil {
		return "", "", err
	}
	return net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(port[:])))), auth, nil
}

// connectProxy is an HTTP CONNECT proxy handler that records the target and tunnels
// every request to backend instead. It answers 407 when the client sends no
// Proxy-Authorization and requireAuth is set.
func connectProxy(backend string, requireAuth bool, log *proxyLog) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		auth := r.Header.Get("Proxy-Authorization")
		log.add(r.Host, auth)
		if requireAuth && auth == "" {
			w.WriteHeader(http.StatusProxyAuthRequired)
			return
		}
		up, err := net.Dial("tcp", backend)
		if err != nil {
			http.Error(w, "backend down", http.StatusBadGateway)
			return
		}
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			_ = up.Close()
			return
		}
		if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
			_ = up.Close()
			_ = c.Close()
			return
		}
		pipe(c, up)
	})
}

// startBackend runs a plain HTTP server that answers every request with the Host the
// client asked for, so a test can tell its request arrived.
func startBackend(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "backend saw host "+r.Host)
	}))
	t.Cleanup(srv.Close)
	return srv
}
