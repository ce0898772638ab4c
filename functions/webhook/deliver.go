package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/wagate/wagate/core"
)

// Header names of a delivery.
const (
	HeaderSignature = "X-Wagate-Signature" // sha256=<hex HMAC-SHA256 of the body>
	HeaderEvent     = "X-Wagate-Event"     // the event type
	HeaderDelivery  = "X-Wagate-Delivery"  // the event id: the same on every retry
)

// Defaults of Options.
const (
	DefaultTimeout = 10 * time.Second
	dialTimeout    = 5 * time.Second
	// MinSecretLen is the shortest secret New accepts.
	MinSecretLen = 16
	// maxDrain bounds how much of an answer is read (to reuse the connection).
	maxDrain = 64 << 10
)

// Resolver looks up a host's addresses; *net.Resolver implements it. Tests pass
// their own so they never use real DNS.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Options configure a Deliverer. Secret is required.
type Options struct {
	// Secret is the HMAC key of the signature header (at least MinSecretLen bytes).
	// It is never logged or put in an error.
	Secret []byte
	// AllowPrivate permits loopback, private and other non-public addresses (tests and
	// local use only).
	AllowPrivate bool
	// AllowHTTP permits http:// targets (local use only); otherwise only https.
	AllowHTTP bool
	// Timeout bounds one delivery, from dialing to the answer. DefaultTimeout when 0.
	Timeout time.Duration
	// Resolver resolves target hosts; net.DefaultResolver when nil.
	Resolver Resolver
	// TLSConfig is cloned for the client (tests use it to trust a test CA); when nil
	// the system roots are used. TLS 1.2 is the minimum either way.
	TLSConfig *tls.Config
	// UserAgent is sent with each delivery; "wagate-webhook/1" when empty.
	UserAgent string
}

// Deliverer signs and POSTs events to webhook targets. Build it with New; it is safe
// for concurrent use.
type Deliverer struct {
	secret    []byte
	opts      Options
	client    *http.Client
	checkAddr func(netip.Addr) error // the address policy, replaced in tests
}

// New returns a Deliverer for o.
func New(o Options) (*Deliverer, error) {
	if len(o.Secret) < MinSecretLen {
		return nil, fmt.Errorf("webhook deliverer: the secret must be at least %d bytes", MinSecretLen)
	}
	if o.Timeout < 0 {
		return nil, fmt.Errorf("webhook deliverer: negative timeout")
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	if o.UserAgent == "" {
		o.UserAgent = "wagate-webhook/1"
	}
	d := &Deliverer{secret: bytes.Clone(o.Secret), opts: o}
	d.opts.Secret = nil
	d.checkAddr = CheckAddr
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.TLSConfig != nil {
		tlsConfig = o.TLSConfig.Clone()
		if tlsConfig.MinVersion < tls.VersionTLS12 {
			tlsConfig.MinVersion = tls.VersionTLS12
		}
	}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would dial addresses we never checked
		DialContext:           d.dial,
		TLSClientConfig:       tlsConfig,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   dialTimeout,
		ResponseHeaderTimeout: o.Timeout,
		MaxIdleConns:          16,
		IdleConnTimeout:       60 * time.Second,
	}
	d.client = &http.Client{
		Transport: transport,
		Timeout:   o.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return d, nil
}

// Sign returns the signature header value of body: "sha256=" and the hex HMAC-SHA256
// of body keyed with the secret.
func (d *Deliverer) Sign(body []byte) string { return Sign(d.secret, body) }

// Sign returns "sha256=<hex HMAC-SHA256 of body keyed with secret>".
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether signature (the X-Wagate-Signature header) is the signature
// of body with secret. It compares in constant time; receivers use it.
func Verify(secret, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(signature))
}

// Deliver POSTs e as JSON to target once. It returns nil when the target answers
// 2xx; any other answer, a refused target (wrapping ErrBlocked), a timeout or a
// network error is an error. Errors name the target's host, never its path or query
// (which may hold a token).
func (d *Deliverer) Deliver(ctx context.Context, target string, e core.Event) error {
	u, err := url.Parse(target)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("%w: the webhook URL is not an absolute URL", ErrBlocked)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && d.opts.AllowHTTP:
	default:
		return fmt.Errorf("%w: webhook to %s: scheme %q is not allowed (https only)", ErrBlocked, u.Hostname(), u.Scheme)
	}
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode event %s: %w", e.ID, err)
	}
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook to %s: build request: %w", u.Hostname(), unwrapURLError(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", d.opts.UserAgent)
	req.Header.Set(HeaderSignature, d.Sign(body))
	req.Header.Set(HeaderEvent, string(e.Type))
	req.Header.Set(HeaderDelivery, e.ID)
	resp, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook to %s: %w", u.Hostname(), unwrapURLError(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fmt.Errorf("webhook to %s: answered %d; redirects are not followed, configure the final URL", u.Hostname(), resp.StatusCode)
	default:
		return fmt.Errorf("webhook to %s: answered %d", u.Hostname(), resp.StatusCode)
	}
}

// unwrapURLError drops *url.Error's wrapping, whose message repeats the whole URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// dial resolves the host, refuses it unless every address passes the policy, and
// connects to a checked address. The dialer's Control hook checks the address of the
// socket again, so nothing but a checked address is ever connected to.
func (d *Deliverer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		addrs, err = d.opts.Resolver.LookupNetIP(ctx, "ip", strings.TrimSuffix(host, "."))
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", host, err)
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("resolve %s: no addresses", host)
		}
	}
	for _, a := range addrs {
		if err := d.allowed(a); err != nil {
			return nil, fmt.Errorf("%s resolves to a refused address: %w", host, err)
		}
	}
	dialer := &net.Dialer{Timeout: dialTimeout, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: cannot parse dialed address %q", ErrBlocked, address)
		}
		return d.allowed(ap.Addr())
	}}
	var errs []error
	for _, a := range addrs {
		conn, err := dialer.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// allowed applies the address policy unless private targets are allowed.
func (d *Deliverer) allowed(a netip.Addr) error {
	if d.opts.AllowPrivate {
		return nil
	}
	return d.checkAddr(a)
}
