package diag

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/wagate/wagate/core"
)

// host runs the DNS, TCP and TLS checks of one host: both DNS checks in parallel, then
// both TCP checks in parallel, then TLS over the first TCP connection that worked
// (IPv4 first). TLS starts as soon as IPv4 connects; it does not wait for IPv6.
func (x *run) host(ctx context.Context, host string) ([]core.Check, hostState) {
	var a, aaaa dnsResult
	done := make(chan struct{})
	go func() {
		defer close(done)
		aaaa = x.checkDNS(ctx, host, core.CheckDNSAAAA)
	}()
	a = x.checkDNS(ctx, host, core.CheckDNSA)
	<-done

	c4, c6 := make(chan tcpResult, 1), make(chan tcpResult, 1)
	go func() { c4 <- x.checkTCP(ctx, host, core.CheckTCP4, a.addrs) }()
	go func() { c6 <- x.checkTCP(ctx, host, core.CheckTCP6, aaaa.addrs) }()

	tlsDone := make(chan core.Check, 1)
	startTLS := func(conn net.Conn) { go func() { tlsDone <- x.checkTLS(ctx, host, conn) }() }
	r4 := <-c4
	if r4.conn != nil {
		startTLS(r4.conn)
	}
	r6 := <-c6
	switch {
	case r4.conn != nil && r6.conn != nil:
		_ = r6.conn.Close()
	case r6.conn != nil:
		startTLS(r6.conn)
	}
	var tlsCheck core.Check
	if r4.conn != nil || r6.conn != nil {
		tlsCheck = <-tlsDone
	} else {
		tlsCheck = x.finish(ctx, skipped(core.CheckTLS, x.hostPort(host), "no TCP connection"))
	}
	state := hostState{tcpOK: r4.conn != nil || r6.conn != nil, tlsOK: tlsCheck.Outcome == core.OutcomeOK}
	return []core.Check{a.check, aaaa.check, r4.check, r6.check, tlsCheck}, state
}

// hostPort is host:Port, the target of the TCP and TLS checks.
func (x *run) hostPort(host string) string { return net.JoinHostPort(host, x.targets.Port) }

// dnsResult is a DNS check and the addresses it found.
type dnsResult struct {
	check core.Check
	addrs []netip.Addr
}

// checkDNS looks up the A or AAAA records of host. A host without AAAA records passes
// the AAAA check with AdviceNoIPv6; one without A records fails the A check.
func (x *run) checkDNS(ctx context.Context, host string, kind core.CheckKind) dnsResult {
	family, is := "ip4", netip.Addr.Is4
	if kind == core.CheckDNSAAAA {
		family, is = "ip6", func(a netip.Addr) bool { return a.Is6() && !a.Is4In6() }
	}
	if lit, err := netip.ParseAddr(host); err == nil {
		r := literalDNS(host, kind, lit.Unmap(), is)
		x.finish(ctx, r.check)
		return r
	}
	ctx, cancel := context.WithTimeout(ctx, x.timeout)
	defer cancel()
	start := x.now()
	found, err := x.resolver.LookupNetIP(ctx, family, host)
	c := core.Check{Kind: kind, Target: host, Outcome: core.OutcomeOK, DurationMS: ms(x.now().Sub(start))}
	var addrs []netip.Addr
	for _, a := range found {
		if a = a.Unmap(); is(a) {
			addrs = append(addrs, a)
		}
	}
	var dnsErr *net.DNSError
	notFound := err != nil && errors.As(err, &dnsErr) && dnsErr.IsNotFound
	switch {
	case kind == core.CheckDNSAAAA && (notFound || err == nil && len(addrs) == 0):
		c.Advice = AdviceNoIPv6
	case err != nil:
		c.Outcome, c.Error, c.Advice = core.OutcomeFail, shortError(ctx, err, x.timeout), AdviceDNS
	case len(addrs) == 0:
		c.Outcome, c.Error, c.Advice = core.OutcomeFail, "no A records", AdviceDNS
	default:
		c.Address = addrs[0].String()
	}
	x.finish(ctx, c)
	return dnsResult{check: c, addrs: addrs}
}

// literalDNS answers a DNS check for a target given as an IP address (a simulator or
// a pinned edge address): nothing to look up, so the family that matches passes with
// that address and the other is skipped.
func literalDNS(host string, kind core.CheckKind, lit netip.Addr, is func(netip.Addr) bool) dnsResult {
	if is(lit) {
		return dnsResult{
			check: core.Check{Kind: kind, Target: host, Outcome: core.OutcomeOK, Address: lit.String()},
			addrs: []netip.Addr{lit},
		}
	}
	return dnsResult{check: skipped(kind, host, "the target is an IP address of the other family")}
}

// tcpResult is a TCP check and, when it passed, its open connection.
type tcpResult struct {
	check core.Check
	conn  net.Conn
}

// checkTCP connects to Port on addrs in turn until one answers, all within one timeout.
func (x *run) checkTCP(ctx context.Context, host string, kind core.CheckKind, addrs []netip.Addr) tcpResult {
	network, family := "tcp4", "IPv4"
	if kind == core.CheckTCP6 {
		network, family = "tcp6", "IPv6"
	}
	target := x.hostPort(host)
	if len(addrs) == 0 {
		return tcpResult{check: x.finish(ctx, skipped(kind, target, "no "+family+" address from DNS"))}
	}
	ctx, cancel := context.WithTimeout(ctx, x.timeout)
	defer cancel()
	start := x.now()
	var err error
	for _, a := range addrs {
		addr := net.JoinHostPort(a.String(), x.targets.Port)
		var conn net.Conn
		conn, err = x.dial(ctx, network, addr)
		if err == nil {
			c := core.Check{Kind: kind, Target: target, Outcome: core.OutcomeOK, Address: addr, DurationMS: ms(x.now().Sub(start))}
			return tcpResult{check: x.finish(ctx, c), conn: conn}
		}
		if ctx.Err() != nil {
			break
		}
	}
	c := core.Check{Kind: kind, Target: target, Outcome: core.OutcomeFail, DurationMS: ms(x.now().Sub(start)),
		Address: net.JoinHostPort(addrs[0].String(), x.targets.Port), Error: shortError(ctx, err, x.timeout), Advice: AdviceTCP}
	return tcpResult{check: x.finish(ctx, c)}
}

// checkTLS does a TLS handshake with SNI host over conn, then closes conn.
func (x *run) checkTLS(ctx context.Context, host string, conn net.Conn) core.Check {
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, x.timeout)
	defer cancel()
	start := x.now()
	err := tls.Client(conn, x.tlsConfig(host)).HandshakeContext(ctx)
	c := core.Check{Kind: core.CheckTLS, Target: x.hostPort(host), Outcome: core.OutcomeOK,
		Address: conn.RemoteAddr().String(), DurationMS: ms(x.now().Sub(start))}
	if err != nil {
		c.Outcome, c.Error, c.Advice = core.OutcomeFail, shortError(ctx, err, x.timeout), AdviceTLS
	}
	return x.finish(ctx, c)
}

// tlsConfig is the Runner's TLS configuration (or the default) for serverName,
// HTTP/1.1 only.
func (x *run) tlsConfig(serverName string) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if x.r.TLSConfig != nil {
		cfg = x.r.TLSConfig.Clone()
	}
	cfg.ServerName = serverName
	cfg.NextProtos = []string{"http/1.1"}
	return cfg
}

// checkWebSocket asks WebSocketURL for a WebSocket upgrade and checks for 101 Switching
// Protocols with the right Sec-WebSocket-Accept. It speaks nothing after the upgrade.
func (x *run) checkWebSocket(ctx context.Context) core.Check {
	target := x.targets.WebSocketURL
	ctx, cancel := context.WithTimeout(ctx, x.timeout)
	defer cancel()
	start := x.now()
	addr, advice, err := x.upgrade(ctx, target)
	c := core.Check{Kind: core.CheckWebSocket, Target: target, Outcome: core.OutcomeOK, Address: addr, DurationMS: ms(x.now().Sub(start))}
	if err != nil {
		c.Outcome, c.Error, c.Advice = core.OutcomeFail, shortError(ctx, err, x.timeout), advice
	}
	return x.finish(ctx, c)
}

// upgrade does the WebSocket handshake. It returns the address it reached and, on
// failure, the advice that fits the step that failed.
func (x *run) upgrade(ctx context.Context, target string) (addr, advice string, err error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Hostname() == "" {
		return "", "check the diagnostics WebSocket URL", fmt.Errorf("invalid WebSocket URL (want ws:// or wss://)")
	}
	conn, err := x.dial(ctx, "tcp", net.JoinHostPort(u.Hostname(), portOf(u)))
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) {
			return "", AdviceDNS, fmt.Errorf("connect: %w", err)
		}
		return "", AdviceTCP, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	addr = conn.RemoteAddr().String()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	rw, scheme := conn, "http"
	if u.Scheme == "wss" {
		tc := tls.Client(conn, x.tlsConfig(u.Hostname()))
		if err := tc.HandshakeContext(ctx); err != nil {
			return addr, AdviceTLS, fmt.Errorf("tls: %w", err)
		}
		rw, scheme = tc, "https"
	}
	var nonce [16]byte
	_, _ = rand.Read(nonce[:]) // never fails: crypto/rand.Read documents that it always fills nonce
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+u.Host+u.RequestURI(), nil)
	if err != nil {
		return addr, "check the diagnostics WebSocket URL", fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Key", key)
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Origin", Origin)
	req.Header.Set("User-Agent", "wagate-diagnostics")
	if err := req.Write(rw); err != nil {
		return addr, AdviceWebSocket, fmt.Errorf("send upgrade: %w", err)
	}
	// The body of a refusal is not read: the connection is closed right after.
	resp, err := http.ReadResponse(bufio.NewReader(rw), req)
	if err != nil {
		return addr, AdviceWebSocket, fmt.Errorf("read upgrade response: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return addr, AdviceWebSocket, fmt.Errorf("server answered %s, want 101 Switching Protocols", resp.Status)
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != acceptKey(key) {
		return addr, AdviceWebSocket, fmt.Errorf("wrong Sec-WebSocket-Accept in the 101 answer")
	}
	return addr, "", nil
}

// acceptKey is the Sec-WebSocket-Accept a server must answer to key (RFC 6455 §4.2.2).
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}
