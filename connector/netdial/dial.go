package netdial

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"time"
)

// minAttemptTimeout is the least time one address gets when PreferIPv4 shares the
// connect timeout among a host's addresses.
const minAttemptTimeout = 2 * time.Second

// dialDirect connects to addr without a proxy. With PreferIPv4 it resolves the host
// itself and tries every A record, then every AAAA record, one at a time, each attempt
// with its share of the remaining time (at least minAttemptTimeout): a host whose IPv6
// route is black-holed still connects over IPv4 at once.
func (d *Dialer) dialDirect(ctx context.Context, network, addr string) (net.Conn, error) {
	nd := &net.Dialer{Resolver: d.opts.Resolver}
	if !d.opts.PreferIPv4 {
		return nd.DialContext(ctx, network, addr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("split address: %w", err)
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nd.DialContext(ctx, network, addr) // a literal address: nothing to prefer
	}
	ips, err := d.lookup(ctx, network, host)
	if err != nil {
		return nil, err
	}
	var errs []error
	for i, ip := range ips {
		attempt, cancel := context.WithTimeout(ctx, attemptTimeout(ctx, len(ips)-i))
		conn, err := nd.DialContext(attempt, network, net.JoinHostPort(ip.String(), port))
		cancel()
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break // the whole dial has run out of time
		}
	}
	return nil, errors.Join(errs...)
}

// lookup resolves host to the addresses network allows, IPv4 first, keeping the
// resolver's order within each family.
func (d *Dialer) lookup(ctx context.Context, network, host string) ([]netip.Addr, error) {
	family := map[string]string{"tcp": "ip", "tcp4": "ip4", "tcp6": "ip6"}[network]
	ips, err := d.opts.Resolver.LookupNetIP(ctx, family, host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	for i := range ips {
		ips[i] = ips[i].Unmap()
	}
	slices.SortStableFunc(ips, func(a, b netip.Addr) int {
		switch {
		case a.Is4() == b.Is4():
			return 0
		case a.Is4():
			return -1
		default:
			return 1
		}
	})
	if len(ips) == 0 {
		return nil, fmt.Errorf("resolve %s: no addresses", host)
	}
	return ips, nil
}

// attemptTimeout shares the time left in ctx among the remaining attempts.
func attemptTimeout(ctx context.Context, remaining int) time.Duration {
	deadline, ok := ctx.Deadline()
	if !ok {
		return DefaultConnectTimeout
	}
	left := time.Until(deadline)
	share := left / time.Duration(remaining)
	if share < minAttemptTimeout {
		share = min(minAttemptTimeout, left)
	}
	return share
}

// dialConnect reaches addr through the HTTP(S) proxy with a CONNECT request.
func (d *Dialer) dialConnect(ctx context.Context, addr string) (net.Conn, error) {
	conn, err := d.dialDirect(ctx, "tcp", d.proxy.Host)
	if err != nil {
		return nil, fmt.Errorf("http proxy %s: %w", d.proxy.Host, err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	// Cancelling ctx unblocks the handshake's reads and writes.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	tunnel, err := d.connectHandshake(ctx, conn, addr)
	if !stop() && err == nil {
		err = ctx.Err() // the deadline was already forced: the connection is unusable
	}
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("http proxy %s: %w", d.proxy.Host, err)
	}
	_ = conn.SetDeadline(time.Time{})
	return tunnel, nil
}

// connectHandshake does TLS with an https:// proxy, then asks the proxy to open a
// tunnel to addr. It returns the tunnel, which may be a TLS connection to the proxy.
func (d *Dialer) connectHandshake(ctx context.Context, conn net.Conn, addr string) (net.Conn, error) {
	if d.proxy.Scheme == "https" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if d.opts.ProxyTLSConfig != nil {
			cfg = d.opts.ProxyTLSConfig.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = d.proxy.Hostname()
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("tls handshake: %w", err)
		}
		conn = tc
	}
	req := &http.Request{
		Method: http.MethodConnect,
		Host:   addr,
		Header: http.Header{},
	}
	msg := "CONNECT " + addr + " HTTP/1.1\r\nHost: " + addr + "\r\n"
	if u := d.proxy.User; u != nil {
		pw, _ := u.Password()
		cred := base64.StdEncoding.EncodeToString([]byte(u.Username() + ":" + pw))
		msg += "Proxy-Authorization: Basic " + cred + "\r\n"
	}
	if _, err := io.WriteString(conn, msg+"\r\n"); err != nil {
		return nil, fmt.Errorf("send connect: %w", err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, fmt.Errorf("read connect response: %w", err)
	}
	// The body of a CONNECT response is the tunnel itself: it is not read or closed here.
	switch {
	case resp.StatusCode == http.StatusProxyAuthRequired:
		return nil, fmt.Errorf("proxy authentication required (check the user and password in proxyURL)")
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("connect refused: %s", resp.Status)
	}
	if br.Buffered() > 0 {
		return &bufferedConn{Conn: conn, r: br}, nil
	}
	return conn, nil
}

// bufferedConn is a connection whose first bytes were already read into r.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

// Read reads the buffered bytes first, then the connection.
func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
