package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wagate/wagate/functions/apigw"
)

// maxPayload is API Gateway's request payload limit.
const maxPayload = 10 << 20

// pageCSP keeps the admin page to its own origin (the same policy as the local binary).
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self' http: https:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// Invoker runs one invocation of a Lambda function: the event as JSON in, the
// function's answer as JSON out. An error wrapping errFunctionError means the
// function ran and failed (Lambda's "Unhandled" function error).
type Invoker interface {
	Invoke(ctx context.Context, fn Function, requestID string, event []byte) ([]byte, error)
}

// Gateway plays API Gateway's HTTP API for the routes of template.yaml: it turns
// each request under /v1 into a payload 2.0 event, with the claims a JWT authorizer
// would pass for routes that need one, invokes the function the route belongs to and
// writes the function's answer back. Everything else is the admin page.
type Gateway struct {
	Template *Template
	Invoker  Invoker
	// Auth stands in for the JWT authorizer: it maps a bearer token to a tenant, which
	// becomes the sub claim and the TenantClaim claim.
	Auth        apigw.Authenticator
	TenantClaim string
	// Page is the admin page served outside /v1; nil serves nothing there.
	Page   fs.FS
	Logger *slog.Logger
	Now    func() time.Time
}

// ServeHTTP serves the API under /v1 and the admin page elsewhere.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v1" || strings.HasPrefix(r.URL.Path, "/v1/") {
		g.serveAPI(w, r)
		return
	}
	g.servePage(w, r)
}

func (g *Gateway) serveAPI(w http.ResponseWriter, r *http.Request) {
	start := g.now()
	gatewayID := newGatewayRequestID()
	w.Header().Set("Apigw-Requestid", gatewayID)
	sw := &statusWriter{ResponseWriter: w}
	log := g.Logger.With("request_id", gatewayID, "method", r.Method, "path", r.URL.Path)
	route, params, ok := Match(g.Template.Routes, r.Method, r.URL.EscapedPath())
	fn := g.Template.Functions[route.Function]
	defer func() {
		attrs := []any{"status", sw.status, "duration_ms", float64(time.Since(start).Microseconds()) / 1000}
		if ok {
			attrs = append(attrs, "route", route.Key(), "function", fn.Name)
		}
		log.Info("gateway_request", attrs...)
	}()
	if !ok {
		writeGatewayError(sw, http.StatusNotFound, "Not Found")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(sw, r.Body, maxPayload))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeGatewayError(sw, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
			return
		}
		writeGatewayError(sw, http.StatusBadRequest, "Bad Request")
		return
	}
	var claims map[string]string
	if !route.Public {
		tenant, err := g.Auth.Tenant(r)
		if err != nil {
			sw.Header().Set("Www-Authenticate", "Bearer")
			writeGatewayError(sw, http.StatusUnauthorized, "Unauthorized")
			return
		}
		claims = g.claims(tenant, start)
	}
	ev := NewRequestEvent(r, body, route, params, claims, gatewayID, start)
	payload, err := json.Marshal(ev)
	if err != nil {
		log.Error("event_encode_failed", "error", err.Error())
		writeGatewayError(sw, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	// A client that goes away does not stop a Lambda invocation; the function's
	// timeout does.
	out, err := g.Invoker.Invoke(context.WithoutCancel(r.Context()), fn, newInvocationID(), payload)
	if err != nil {
		log.Error("invoke_failed", "function", fn.Name, "error", err.Error())
		writeGatewayError(sw, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	if err := WriteResponse(sw, out); err != nil {
		log.Error("bad_function_response", "function", fn.Name, "error", err.Error())
		writeGatewayError(sw, http.StatusInternalServerError, "Internal Server Error")
	}
}

// claims returns the claims a JWT of tenant would carry through the authorizer.
func (g *Gateway) claims(tenant string, now time.Time) map[string]string {
	c := map[string]string{
		"sub":       tenant,
		"iss":       "http://devapi.invalid",
		"token_use": "access",
		"iat":       strconv.FormatInt(now.Unix(), 10),
		"exp":       strconv.FormatInt(now.Add(time.Hour).Unix(), 10),
	}
	if g.TenantClaim != "" {
		c[g.TenantClaim] = tenant
	}
	return c
}

func (g *Gateway) servePage(w http.ResponseWriter, r *http.Request) {
	if g.Page == nil {
		writeGatewayError(w, http.StatusNotFound, "Not Found")
		return
	}
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
	h.Set("Cache-Control", "no-cache")
	http.FileServerFS(g.Page).ServeHTTP(w, r)
}

func (g *Gateway) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// statusWriter remembers the status of an answer for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

// WriteHeader records the status and passes it on.
func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Write passes on the body, recording an implicit 200.
func (s *statusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// newGatewayRequestID returns an id in the shape of API Gateway's request ids.
func newGatewayRequestID() string {
	var b [10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.StdEncoding.EncodeToString(b[:])
}

// newInvocationID returns a Lambda request id (a random UUID).
func newInvocationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
