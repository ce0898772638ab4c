package apigw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/wagate/wagate/core"
)

// Authenticator tells which tenant a request acts for. It returns an error with
// core.CodeUnauthorized when the request carries no acceptable credentials.
// TokenAuth implements it for static bearer tokens; a JWT-claims implementation
// serves the API Gateway deployment.
type Authenticator interface {
	Tenant(r *http.Request) (string, error)
}

// EventSource streams a tenant's events to GET /v1/events (local deployment only).
// SubscribeEvents returns a channel that receives the tenant's events, buffered up to
// buffer, and a function that ends the subscription; the channel is closed when the
// subscription ends.
type EventSource interface {
	SubscribeEvents(tenant string, buffer int) (<-chan core.Event, func())
}

// SendGate admits outgoing messages before they are queued. AdmitSend returns a
// *core.RetryAfterError with core.CodeRateLimited when the session's send queue is
// full. It only checks: it must not reserve capacity, because a request that is
// admitted may still be answered from an idempotency record.
type SendGate interface {
	AdmitSend(ctx context.Context, key core.SessionKey) error
}

// Options tune the handlers. Zero values take the documented defaults.
type Options struct {
	// AllowInsecureWebhooks permits http:// webhook URLs in settings (local use).
	AllowInsecureWebhooks bool
	// ResultWait is how long pair-code and diagnostics requests wait for the
	// connector's result before answering 202 with a poll location. Default 10 s.
	ResultWait time.Duration
	// HeartbeatMaxAge is how recent a connector heartbeat must be for endpoints that
	// need the connector; older or none gives 503 connector_unavailable. Default 30 s.
	HeartbeatMaxAge time.Duration
	// LocalDiagnostics makes POST /v1/diagnostics wait for the report and answer 200;
	// otherwise it answers 202 at once.
	LocalDiagnostics bool
	// EventsHeartbeat is the interval of keep-alive comments on GET /v1/events.
	// Default 15 s.
	EventsHeartbeat time.Duration
}

// Default option values.
const (
	DefaultResultWait      = 10 * time.Second
	DefaultHeartbeatMaxAge = 30 * time.Second
	DefaultEventsHeartbeat = 15 * time.Second
)

// Server holds the dependencies of the API handlers. Set the fields, then call New.
// State, Commands and Auth are required; Events and SendGate are optional.
type Server struct {
	State    core.State
	Commands core.CommandSender
	Auth     Authenticator
	// Events enables GET /v1/events when set.
	Events EventSource
	// SendGate, when set, is asked before each outgoing message is accepted.
	SendGate SendGate
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger receives one line per request and every internal error; discarded when nil.
	Logger  *slog.Logger
	Options Options

	handler http.Handler
	alive   *liveUntil
}

// New checks cfg's dependencies, fills in defaults and builds the routes. It returns
// an error naming every missing dependency or bad option.
func New(cfg Server) (*Server, error) {
	s := cfg
	if err := s.init(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Handler returns the HTTP handler of the API. On a Server not made by New it checks
// the configuration first; if that fails, every request is answered with 500 internal
// and the problem is logged, so call New to see configuration errors at start.
func (s *Server) Handler() http.Handler {
	if s.handler != nil {
		return s.handler
	}
	if err := s.init(); err != nil {
		log := s.Logger
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			log.Error("server_misconfigured", "event", "server_misconfigured", "outcome", "fail", "error", err.Error())
			writeErrorBody(w, http.StatusInternalServerError, core.CodeInternal, core.ErrorMessage(err))
		})
	}
	return s.handler
}

func (s *Server) init() error {
	var problems []string
	if s.State == nil {
		problems = append(problems, "State is required")
	}
	if s.Commands == nil {
		problems = append(problems, "Commands is required")
	}
	if s.Auth == nil {
		problems = append(problems, "Auth is required")
	}
	o := &s.Options
	if o.ResultWait < 0 || o.HeartbeatMaxAge < 0 || o.EventsHeartbeat < 0 {
		problems = append(problems, "Options durations must not be negative")
	}
	if len(problems) > 0 {
		return fmt.Errorf("apigw server: %s", strings.Join(problems, "; "))
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ResultWait == 0 {
		o.ResultWait = DefaultResultWait
	}
	if o.HeartbeatMaxAge == 0 {
		o.HeartbeatMaxAge = DefaultHeartbeatMaxAge
	}
	if o.EventsHeartbeat == 0 {
		o.EventsHeartbeat = DefaultEventsHeartbeat
	}
	s.alive = &liveUntil{}
	s.handler = s.middleware(s.mux())
	return nil
}

// reqInfo is what the middleware and the handlers learn about a request, for logs.
type reqInfo struct {
	id      string
	tenant  string
	session string
}

type reqInfoKey struct{}

func infoFrom(ctx context.Context) *reqInfo {
	if i, ok := ctx.Value(reqInfoKey{}).(*reqInfo); ok {
		return i
	}
	return &reqInfo{}
}

// tenantOf returns the tenant that authenticated the request.
func tenantOf(r *http.Request) string { return infoFrom(r.Context()).tenant }

// middleware sets the request id, recovers panics and logs one line per request.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &reqInfo{id: requestID(r)}
		w.Header().Set("X-Request-Id", info.id)
		rw := &recorder{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), reqInfoKey{}, info))
		defer func() {
			if v := recover(); v != nil {
				if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(v)
				}
				s.log(r.Context()).Error("handler_panic", "event", "handler_panic", "outcome", "fail", "panic", fmt.Sprint(v), "method", r.Method, "path", r.URL.Path)
				if !rw.wroteHeader {
					writeErrorBody(rw, http.StatusInternalServerError, core.CodeInternal, core.ErrorMessage(errors.New("panic")))
				}
			}
			level, outcome := slog.LevelInfo, "ok"
			if r.URL.Path == "/v1/health" && rw.status < 500 {
				level = slog.LevelDebug
			}
			if rw.status >= 500 {
				outcome = "fail"
			}
			s.log(r.Context()).Log(r.Context(), level, "http_request", "event", "http_request", "outcome", outcome,
				"method", r.Method, "path", r.URL.Path, "status", rw.status,
				"bytes", rw.bytes, "duration_ms", float64(time.Since(start).Microseconds())/1000)
		}()
		next.ServeHTTP(rw, r)
	})
}

// requestID returns the caller's X-Request-Id when it is short and printable, or a
// fresh id.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 128 && printable(id) {
		return id
	}
	return core.NewID()
}

func printable(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x21 || v[i] > 0x7e {
			return false
		}
	}
	return true
}

// recorder remembers the status and size of a response for the request log.
type recorder struct {
	http.ResponseWriter
	status      int
	bytes       int
	wroteHeader bool
}

func (w *recorder) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (flush, deadlines).
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
