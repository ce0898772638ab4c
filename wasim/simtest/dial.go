// Package simtest starts wasim in-process for tests and gives whatsmeow clients an
// HTTP client that reaches it instead of WhatsApp.
package simtest

import (
	"context"
	"net"
	"net/http"
	"time"
)

// HTTPClient returns an *http.Client whose transport dials addr (host:port, normally
// a loopback listener) for every request, whatever host the URL names. Both plain and
// TLS dials return a plain TCP connection, so Go's transport treats an https or wss
// URL as already past TLS and speaks HTTP/1.1 to a plain server, which can then
// upgrade to a websocket. Pass it to whatsmeow's SetPreLoginHTTPClient and
// SetWebsocketHTTPClient.
func HTTPClient(addr string) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, "tcp", addr)
	}
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         dial,
		DialTLSContext:      dial,
		ForceAttemptHTTP2:   false,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}}
}
