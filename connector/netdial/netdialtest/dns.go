// Package netdialtest provides loopback test doubles for code that resolves and dials:
// a tiny DNS server that answers A and AAAA queries from a fixed table, so tests never
// send a query off the machine.
package netdialtest

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// DNSServer is a UDP DNS server on 127.0.0.1 that answers from a fixed table.
// Names it does not know get NXDOMAIN; known names without a record of the asked
// type get an empty answer.
type DNSServer struct {
	conn    net.PacketConn
	records map[string][]netip.Addr

	mu      sync.Mutex
	queries []string
}

// StartDNS starts a DNSServer answering records (host name → addresses, IPv4 and IPv6
// mixed) and stops it when tb ends.
func StartDNS(tb testing.TB, records map[string][]netip.Addr) *DNSServer {
	tb.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen dns: %v", err)
	}
	s := &DNSServer{conn: conn, records: map[string][]netip.Addr{}}
	for name, addrs := range records {
		s.records[canonical(name)] = addrs
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.serve()
	}()
	tb.Cleanup(func() {
		_ = conn.Close()
		<-done
	})
	return s
}

// Addr is the server's UDP address.
func (s *DNSServer) Addr() string { return s.conn.LocalAddr().String() }

// Resolver returns a Go resolver that sends every query to s.
func (s *DNSServer) Resolver() *net.Resolver { return ResolverAt(s.Addr()) }

// Queries returns the questions answered so far, as "TYPE name" (e.g. "A web.test").
func (s *DNSServer) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

// ResolverAt returns a Go resolver that sends every query over UDP to addr, whatever
// the system configuration says. Pointed at a closed loopback port it is a resolver
// with no network.
func ResolverAt(addr string) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", addr)
		},
	}
}

// NoNetworkResolver returns a resolver whose every query goes to a closed loopback
// port: lookups fail at once, as they do on a machine without network, and a test that
// uses it can never query the system's DNS servers by mistake.
func NoNetworkResolver(tb testing.TB) *net.Resolver {
	tb.Helper()
	return ResolverAt(ClosedPort(tb, "udp"))
}

// ClosedPort returns a 127.0.0.1 address on network ("tcp" or "udp") where nothing
// listens: the port was bound and released, so connections there are refused.
func ClosedPort(tb testing.TB, network string) string {
	tb.Helper()
	var addr string
	switch network {
	case "udp":
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("listen udp: %v", err)
		}
		addr = c.LocalAddr().String()
		_ = c.Close()
	default:
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("listen tcp: %v", err)
		}
		addr = l.Addr().String()
		_ = l.Close()
	}
	return addr
}

// serve answers queries until the connection is closed.
func (s *DNSServer) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // a transient read error; the next read reports a close
		}
		if resp, ok := s.answer(buf[:n]); ok {
			_, _ = s.conn.WriteTo(resp, from)
		}
	}
}

// answer builds the response to one query; ok is false for a packet that is not a query.
func (s *DNSServer) answer(query []byte) ([]byte, bool) {
	var p dnsmessage.Parser
	hdr, err := p.Start(query)
	if err != nil || hdr.Response {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	name := canonical(q.Name.String())
	s.mu.Lock()
	s.queries = append(s.queries, strings.TrimPrefix(q.Type.String(), "Type")+" "+name)
	s.mu.Unlock()

	addrs, known := s.records[name]
	rh := dnsmessage.Header{ID: hdr.ID, Response: true, Authoritative: true, RecursionDesired: hdr.RecursionDesired, RecursionAvailable: true}
	if !known {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if b.StartQuestions() != nil || b.Question(q) != nil || b.StartAnswers() != nil {
		return nil, false
	}
	res := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
	for _, a := range addrs {
		var err error
		switch {
		case q.Type == dnsmessage.TypeA && a.Is4():
			err = b.AResource(res, dnsmessage.AResource{A: a.As4()})
		case q.Type == dnsmessage.TypeAAAA && a.Is6() && !a.Is4In6():
			err = b.AAAAResource(res, dnsmessage.AAAAResource{AAAA: a.As16()})
		}
		if err != nil {
			return nil, false
		}
	}
	resp, err := b.Finish()
	return resp, err == nil
}

// canonical lower-cases a DNS name and drops its trailing dot.
func canonical(name string) string {
	return strings.TrimSuffix(strings.ToLower(name), ".")
}
