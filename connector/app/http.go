package app

import (
	"io/fs"
	"net/http"
	"strings"
	"time"
)

// HTTP server limits.
const (
	readHeaderTimeout = 10 * time.Second
	bodyReadTimeout   = 30 * time.Second // request bodies are at most 64 KiB
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
)

// pageCSP keeps the admin page to its own origin: no inline scripts, no third
// parties. connect-src allows other origins because the page may be pointed at
// another API base URL (#api=...).
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self' http: https:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// routes serves the API under /v1/ and the admin page everywhere else.
func routes(api http.Handler, page fs.FS) http.Handler {
	files := http.FileServerFS(page)
	mux := http.NewServeMux()
	mux.Handle("/v1/", readDeadline(api))
	mux.Handle("/v1", readDeadline(api))
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", pageCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		// The page is small and changes with the binary: always revalidate.
		if r.URL.Path == "/" || strings.HasSuffix(r.URL.Path, ".html") || strings.HasSuffix(r.URL.Path, ".js") {
			h.Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	}))
	return mux
}

// readDeadline bounds how long reading a request may take, except for the event
// stream, which stays open. (A server-wide ReadTimeout would also end event streams:
// the connection's read deadline outlives the request line and headers.)
func readDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/events" {
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyReadTimeout))
		}
		next.ServeHTTP(w, r)
	})
}

// newHTTPServer returns the server of the API and the page with wagate's limits.
// Write timeouts are left to the handlers: the event stream is long-lived.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}
