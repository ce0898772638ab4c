package diag_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wagate/wagate/connector/netdial/netdialtest"
)

// testHosts are the names the tests check; .test names never resolve outside the tests.
var testHosts = []string{"web.wagate.test", "edge.wagate.test", "mmg.wagate.test"}

// selfSigned returns a certificate for testHosts and loopback, and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "wagate diagnostics test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              testHosts,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// waServer is a stand-in for WhatsApp's TLS front: it accepts WebSocket upgrades on
// /ws/chat from the WhatsApp Web origin and refuses everything else.
type waServer struct {
	port  string
	roots *x509.CertPool

	mu       sync.Mutex
	upgrades int
}

func (s *waServer) upgradeCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.upgrades
}

// startWAServer serves TLS on 127.0.0.1 and, with dualStack, on ::1 at the same port.
func startWAServer(t *testing.T, dualStack bool) *waServer {
	t.Helper()
	cert, roots := selfSigned(t)
	s := &waServer{roots: roots}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ws/chat" {
			http.NotFound(w, r)
			return
		}
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: []string{"web.whatsapp.com"}})
		if err != nil {
			return // Accept has answered the refusal
		}
		s.mu.Lock()
		s.upgrades++
		s.mu.Unlock()
		_ = c.CloseNow()
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes the checks abandon on purpose
	var l6 net.Listener
	if dualStack {
		var l4 net.Listener
		l4, l6, s.port = netdialtest.ListenDualStack(t)
		srv.Listener = l4
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	if l6 != nil {
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = srv.Config.Serve(tls.NewListener(l6, srv.TLS))
		}()
		t.Cleanup(func() {
			_ = l6.Close()
			<-done
		})
	}
	_, s.port, _ = net.SplitHostPort(srv.Listener.Addr().String())
	return s
}

// startSilent accepts TCP connections on 127.0.0.1 and never says anything.
func startSilent(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return // closed by the cleanup
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}
