// Package netdial is how the connector reaches WhatsApp: a dialer that can prefer IPv4,
// go through an HTTP(S) CONNECT or SOCKS5 proxy, or (in tests and demos) send every
// connection to the simulator, and the *http.Client built on it that whatsmeow's
// websocket and media requests use.
//
// The incident that wagate grew out of was fixed by resolving IPv4 first; Options.PreferIPv4
// is that setting, per session.
package netdial

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/proxy"
)

// DefaultConnectTimeout is the ConnectTimeout used when Options leaves it zero.
const DefaultConnectTimeout = 20 * time.Second

// tlsHandshakeTimeout bounds the TLS handshake of the HTTP client's transport.
const tlsHandshakeTimeout = 10 * time.Second

// Options are the network settings of one session.
type Options struct {
	// PreferIPv4 resolves the host itself and tries its A records before its AAAA records.
	PreferIPv4 bool
	// ProxyURL is an optional proxy: http://, https:// or socks5://, with optional user:password.
	ProxyURL string
	// Override is the host:port of the simulator (WAGATE_WA_DIAL); test and demo only.
	// When set, every connection goes there whatever host was asked for (through the
	// proxy, if one is set), and the HTTP client's TLS dials return the plain TCP
	// connection because the simulator speaks plain websocket.
	Override string
	// Resolver resolves host names; nil means net.DefaultResolver.
	Resolver *net.Resolver
	// ConnectTimeout bounds one dial, proxy handshake included; zero means DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// ProxyTLSConfig is the TLS configuration for an https:// proxy; nil verifies the proxy's
	// certificate against the system roots.
	ProxyTLSConfig *tls.Config
}

// Dialer dials connections according to Options. It is safe for concurrent use.
type Dialer struct {
	opts  Options
	proxy *url.URL            // nil without a proxy
	socks proxy.ContextDialer // set for socks5 proxies
}

// New validates opts and returns a Dialer. The errors name the bad setting
// (proxyURL, override or connectTimeout) and never include proxy credentials.
func New(opts Options) (*Dialer, error) {
	if opts.ConnectTimeout < 0 {
		return nil, fmt.Errorf("netdial: connectTimeout must not be negative, got %s", opts.ConnectTimeout)
	}
	if opts.ConnectTimeout == 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	d := &Dialer{opts: opts}
	if opts.Override != "" {
		if err := validHostPort(opts.Override); err != nil {
			return nil, fmt.Errorf("netdial: override %q: %w", opts.Override, err)
		}
	}
	if opts.ProxyURL != "" {
		u, err := parseProxyURL(opts.ProxyURL)
		if err != nil {
			return nil, fmt.Errorf("netdial: proxyURL: %w", err)
		}
		d.proxy = u
		if u.Scheme == "socks5" {
			var auth *proxy.Auth
			if u.User != nil {
				pw, _ := u.User.Password()
				auth = &proxy.Auth{User: u.User.Username(), Password: pw}
			}
			px, err := proxy.SOCKS5("tcp", u.Host, auth, directDialer{d})
			if err != nil {
				return nil, fmt.Errorf("netdial: proxyURL: %w", err)
			}
			cd, ok := px.(proxy.ContextDialer)
			if !ok {
				return nil, fmt.Errorf("netdial: proxyURL: socks5 dialer cannot take a context")
			}
			d.socks = cd
		}
	}
	return d, nil
}

// parseProxyURL checks the scheme and host of a proxy URL. Its errors quote the URL
// with the password redacted.
func parseProxyURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("not a URL")
	}
	switch u.Scheme {
	case "http", "https", "socks5":
	default:
		return nil, fmt.Errorf("unsupported scheme %q in %q (want http, https or socks5)", u.Scheme, u.Redacted())
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("no host in %q", u.Redacted())
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return nil, fmt.Errorf("unexpected path or query in %q", u.Redacted())
	}
	if u.Port() == "" {
		port := map[string]string{"http": "80", "https": "443", "socks5": "1080"}[u.Scheme]
		u.Host = net.JoinHostPort(u.Hostname(), port)
	}
	return u, nil
}

// validHostPort reports whether s is host:port with a non-empty host and a port in 1..65535.
func validHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("want host:port")
	}
	if host == "" || strings.ContainsAny(host, "/ ") {
		return fmt.Errorf("want host:port with a host")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("want host:port with a port number")
	}
	return nil
}

// DialContext connects to addr on network ("tcp", "tcp4" or "tcp6"). With Override set
// it connects to Override instead of addr; with a proxy it asks the proxy to connect;
// otherwise it dials directly, A records first when PreferIPv4 is set. The whole dial,
// proxy handshake included, is bounded by ConnectTimeout.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("netdial: unsupported network %q", network)
	}
	if d.opts.Override != "" {
		addr = d.opts.Override
	}
	ctx, cancel := context.WithTimeout(ctx, d.opts.ConnectTimeout)
	defer cancel()
	var (
		conn net.Conn
		err  error
	)
	switch {
	case d.proxy == nil:
		conn, err = d.dialDirect(ctx, network, addr)
	case d.socks != nil:
		conn, err = d.socks.DialContext(ctx, network, addr)
		if err != nil {
			err = fmt.Errorf("socks5 proxy %s: %w", d.proxy.Host, err)
		}
	default:
		conn, err = d.dialConnect(ctx, addr)
	}
	if err != nil {
		return nil, fmt.Errorf("netdial: dial %s: %w", addr, err)
	}
	return conn, nil
}

// dialTLSOverride is the HTTP transport's TLS dialer when Override is set: it returns the plain TCP connection to the simulator, which speaks plain websocket.
func (d *Dialer) dialTLSOverride(ctx context.Context, network, addr string) (net.Conn, error) {
	return d.DialContext(ctx, network, addr)
}

// HTTPClient returns a new *http.Client whose transport dials through d: give it to
// whatsmeow (SetWebsocketHTTPClient, SetPreLoginHTTPClient, SetMediaHTTPClient). It speaks
// HTTP/1.1 only (websocket upgrades need it), ignores proxy environment variables (the
// session's ProxyURL is the only proxy) and has no overall timeout, which would cut long-lived
// websockets; contexts bound each request instead.
func (d *Dialer) HTTPClient() *http.Client {
	t := &http.Transport{
		DialContext:           d.DialContext,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		ForceAttemptHTTP2:     false,
		MaxIdleConns:          10,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	if d.opts.Override != "" {
		t.DialTLSContext = d.dialTLSOverride
	}
	return &http.Client{Transport: t}
}

// directDialer lets the SOCKS5 client reach the proxy with the Dialer's direct dial
// (PreferIPv4 and Resolver apply to the proxy's own address).
type directDialer struct{ d *Dialer }

// Dial dials without a context; the SOCKS5 client uses DialContext.
func (dd directDialer) Dial(network, addr string) (net.Conn, error) {
	return dd.DialContext(context.Background(), network, addr)
}

// DialContext dials addr directly.
func (dd directDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return dd.d.dialDirect(ctx, network, addr)
}
