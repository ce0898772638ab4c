package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/functions/webhook"
)

var testSecret = []byte("test-secret-0123456789abcdef")

// resolver answers from a fixed table and never uses real DNS.
type resolver struct {
	mu      sync.Mutex
	hosts   map[string][]netip.Addr
	lookups int
}

func newResolver(hosts map[string]string) *resolver {
	r := &resolver{hosts: map[string][]netip.Addr{}}
	for h, addrs := range hosts {
		for _, a := range strings.Split(addrs, ",") {
			r.hosts[h] = append(r.hosts[h], netip.MustParseAddr(a))
		}
	}
	return r
}

func (r *resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lookups++
	if a, ok := r.hosts[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// delivery is one request a receiver got.
type delivery struct {
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint that records what it gets and answers status.
type receiver struct {
	mu     sync.Mutex
	got    []delivery
	status int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.got = append(rc.got, delivery{header: r.Header.Clone(), body: body})
	status := rc.status
	rc.mu.Unlock()
	if status == 0 {
		status = http.StatusNoContent
	}
	w.WriteHeader(status)
}

func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got...)
}

// tlsReceiver starts an https receiver on 127.0.0.1 (its certificate is valid for
// example.com) and returns the TLS config that trusts it.
func tlsReceiver(t *testing.T, h http.Handler) (*httptest.Server, *tls.Config) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return srv, &tls.Config{RootCAs: pool}
}

func port(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Port()
}

func testEvent(t *testing.T) core.Event {
	t.Helper()
	e, err := core.NewEvent(core.EventMessageIn, core.SessionKey{Tenant: "t1", ID: "s1"},
		time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), map[string]string{"text": "hello"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func newDeliverer(t *testing.T, o webhook.Options) *webhook.Deliverer {
	t.Helper()
	if o.Secret == nil {
		o.Secret = testSecret
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	d, err := webhook.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestDeliverSignsAndSendsOnce(t *testing.T) {
	rc := &receiver{}
	srv, tlsConfig := tlsReceiver(t, rc)
	res := newResolver(map[string]string{"example.com": "127.0.0.1"})
	d := newDeliverer(t, webhook.Options{AllowPrivate: true, Resolver: res, TLSConfig: tlsConfig})
	e := testEvent(t)

	if err := d.Deliver(context.Background(), "https://example.com:"+port(t, srv)+"/hooks/wa?x=1", e); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	got := rc.deliveries()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	mac := hmac.New(sha256.New, testSecret)
	mac.Write(got[0].body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if sig := got[0].header.Get("X-Wagate-Signature"); sig != want {
		t.Errorf("signature %q, want %q", sig, want)
	}
	if !webhook.Verify(testSecret, got[0].body, got[0].header.Get("X-Wagate-Signature")) {
		t.Error("Verify rejects the signature the receiver got")
	}
	if webhook.Verify([]byte("another-secret-0123456789"), got[0].body, got[0].header.Get("X-Wagate-Signature")) {
		t.Error("Verify accepts a signature made with another secret")
	}
	var back core.Event
	if err := json.Unmarshal(got[0].body, &back); err != nil {
		t.Fatalf("body is not an event: %v", err)
	}
	if back.ID != e.ID || back.Type != e.Type || back.SessionID != "s1" || back.Tenant != "t1" || string(back.Data) != string(e.Data) {
		t.Errorf("receiver got %+v, want %+v", back, e)
	}
	if ct := got[0].header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if got[0].header.Get("X-Wagate-Event") != "message.in" || got[0].header.Get("X-Wagate-Delivery") != e.ID {
		t.Errorf("event headers %v", got[0].header)
	}
	if res.lookups == 0 {
		t.Error("the host was not resolved through the configured resolver")
	}
}

func TestDeliverRefusesPrivateTargets(t *testing.T) {
	rc := &receiver{}
	srv, tlsConfig := tlsReceiver(t, rc)
	p := port(t, srv)
	res := newResolver(map[string]string{
		"example.com":       "127.0.0.1",
		"mixed.example.com": "127.0.0.1,10.0.0.1",
		"meta.example.com":  "169.254.169.254",
	})
	targets := []string{
		"https://example.com:" + p + "/",
		"https://127.0.0.1:" + p + "/",
		"https://[::1]:" + p + "/",
		"https://[::ffff:127.0.0.1]:" + p + "/",
		"https://mixed.example.com:" + p + "/",
		"https://meta.example.com:" + p + "/latest/meta-data/",
	}
	d := newDeliverer(t, webhook.Options{Resolver: res, TLSConfig: tlsConfig})
	// Count 127.0.0.1 as public, so only the other address of mixed.example.com
	// refuses it.
	strict := newDeliverer(t, webhook.Options{Resolver: res, TLSConfig: tlsConfig})
	webhook.SetAddressPolicy(strict, func(a netip.Addr) error {
		if a == netip.MustParseAddr("127.0.0.1") {
			return nil
		}
		return webhook.CheckAddr(a)
	})
	for _, target := range targets {
		if err := d.Deliver(context.Background(), target, testEvent(t)); !errors.Is(err, webhook.ErrBlocked) {
			t.Errorf("Deliver(%s) = %v, want ErrBlocked", target, err)
		}
	}
	if err := strict.Deliver(context.Background(), targets[4], testEvent(t)); !errors.Is(err, webhook.ErrBlocked) {
		t.Errorf("Deliver to a host with one private address = %v, want ErrBlocked", err)
	}
	if n := len(rc.deliveries()); n != 0 {
		t.Fatalf("receiver got %d requests from refused targets", n)
	}

	allowed := newDeliverer(t, webhook.Options{Resolver: res, TLSConfig: tlsConfig, AllowPrivate: true})
	if err := allowed.Deliver(context.Background(), targets[0], testEvent(t)); err != nil {
		t.Fatalf("Deliver with AllowPrivate: %v", err)
	}
	if n := len(rc.deliveries()); n != 1 {
		t.Fatalf("receiver got %d requests with AllowPrivate, want 1", n)
	}
}

func TestDeliverDoesNotFollowRedirects(t *testing.T) {
	inner := &receiver{}
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2 on this host: %v", err)
	}
	innerSrv := httptest.NewUnstartedServer(inner)
	innerSrv.Listener.Close()
	innerSrv.Listener = ln
	innerSrv.StartTLS()
	t.Cleanup(innerSrv.Close)
	innerURL := fmt.Sprintf("https://inside.example.com:%s/steal", port(t, innerSrv))

	outer := &receiver{}
	outerSrv, tlsConfig := tlsReceiver(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		outer.ServeHTTP(httptest.NewRecorder(), r)
		http.Redirect(w, r, innerURL, http.StatusTemporaryRedirect)
	}))
	tlsConfig.RootCAs.AddCert(innerSrv.Certificate())
	res := newResolver(map[string]string{"example.com": "127.0.0.1", "inside.example.com": "127.0.0.2"})

	// 127.0.0.1 plays a public address and 127.0.0.2 a private one.
	d := newDeliverer(t, webhook.Options{Resolver: res, TLSConfig: tlsConfig})
	webhook.SetAddressPolicy(d, func(a netip.Addr) error {
		if a == netip.MustParseAddr("127.0.0.1") {
			return nil
		}
		return webhook.CheckAddr(a)
	})
	open := newDeliverer(t, webhook.Options{Resolver: res, TLSConfig: tlsConfig, AllowPrivate: true})
	target := "https://example.com:" + port(t, outerSrv) + "/hook"
	for _, dl := range []*webhook.Deliverer{d, open} {
		err := dl.Deliver(context.Background(), target, testEvent(t))
		if err == nil || !contains(err.Error(), "307") {
			t.Errorf("Deliver to a redirecting target = %v, want a failure naming 307", err)
		}
	}
	if n := len(outer.deliveries()); n != 2 {
		t.Errorf("redirecting receiver got %d requests, want 2", n)
	}
	if n := len(inner.deliveries()); n != 0 {
		t.Errorf("redirect target got %d requests, want none", n)
	}
}

func TestDeliverSchemes(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	strict := newDeliverer(t, webhook.Options{AllowPrivate: true})
	for _, target := range []string{srv.URL + "/hook", "ftp://example.com/x", "/relative", "https:///nohost"} {
		if err := strict.Deliver(context.Background(), target, testEvent(t)); !errors.Is(err, webhook.ErrBlocked) {
			t.Errorf("Deliver(%q) = %v, want ErrBlocked", target, err)
		}
	}
	if n := len(rc.deliveries()); n != 0 {
		t.Fatalf("http receiver got %d requests without AllowHTTP", n)
	}
	local := newDeliverer(t, webhook.Options{AllowPrivate: true, AllowHTTP: true})
	if err := local.Deliver(context.Background(), srv.URL+"/hook", testEvent(t)); err != nil {
		t.Fatalf("Deliver over http with AllowHTTP: %v", err)
	}
	if n := len(rc.deliveries()); n != 1 {
		t.Fatalf("http receiver got %d requests, want 1", n)
	}
}

func TestDeliverFailures(t *testing.T) {
	rc := &receiver{status: http.StatusInternalServerError}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	d := newDeliverer(t, webhook.Options{AllowPrivate: true, AllowHTTP: true})
	err := d.Deliver(context.Background(), srv.URL+"/hook?token=query-token-value", testEvent(t))
	if err == nil || !contains(err.Error(), "500") {
		t.Fatalf("Deliver to a 500 receiver = %v, want an error naming 500", err)
	}
	if contains(err.Error(), "query-token-value") || contains(err.Error(), string(testSecret)) {
		t.Errorf("error leaks the URL query or the secret: %v", err)
	}

	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) }) // runs first: frees the handler so Close returns
	quick := newDeliverer(t, webhook.Options{AllowPrivate: true, AllowHTTP: true, Timeout: 200 * time.Millisecond})
	start := time.Now()
	if err := quick.Deliver(context.Background(), slow.URL+"/hook?token=query-token-value", testEvent(t)); err == nil {
		t.Fatal("Deliver to a receiver that never answers succeeded")
	} else if contains(err.Error(), "query-token-value") {
		t.Errorf("timeout error leaks the URL query: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Deliver took %v with a 200ms timeout", took)
	}

	unknown := newDeliverer(t, webhook.Options{Resolver: newResolver(nil)})
	if err := unknown.Deliver(context.Background(), "https://nowhere.example.com/hook", testEvent(t)); err == nil {
		t.Error("Deliver to a host that does not resolve succeeded")
	}
}

func TestNewChecksOptions(t *testing.T) {
	if _, err := webhook.New(webhook.Options{Secret: []byte("short")}); err == nil {
		t.Error("New accepted a 5-byte secret")
	} else if contains(err.Error(), "short") {
		t.Errorf("error repeats the secret: %v", err)
	}
	if _, err := webhook.New(webhook.Options{Secret: testSecret, Timeout: -time.Second}); err == nil {
		t.Error("New accepted a negative timeout")
	}
}
