package apigw_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/membus"
	"github.com/wagate/wagate/core/memstate"
	"github.com/wagate/wagate/functions/apigw"
)

// Tokens of the test tenants.
const (
	tokenA  = "token-a-0123456789"
	tokenB  = "token-b-9876543210"
	tenantA = "tenant-a"
	tenantB = "tenant-b"
)

// waitFor bounds every poll in the tests.
const waitFor = 10 * time.Second

// env is an API server on a loopback port with in-memory state and bus, the OpenAPI
// document to check requests and answers against, and the log it wrote.
type env struct {
	t      testing.TB
	state  *memstate.State
	bus    *membus.Bus
	sent   *recordingSender
	srv    *httptest.Server
	router routers.Router
	logs   *syncBuffer
	// validate checks well-formed requests against the OpenAPI document; answers
	// are always checked when their route is in the document.
	validate bool
}

// newEnv starts a server; opts adjust the Server before New.
func newEnv(t testing.TB, opts ...func(*apigw.Server)) *env {
	t.Helper()
	e := &env{t: t, state: memstate.New(), logs: &syncBuffer{}, validate: true}
	e.bus = membus.New(nil)
	t.Cleanup(func() { _ = e.bus.Close() })
	e.sent = &recordingSender{next: e.bus}
	auth, err := apigw.ParseTokens(tokenA + "=" + tenantA + "," + tokenB + "=" + tenantB)
	if err != nil {
		t.Fatal(err)
	}
	cfg := apigw.Server{
		State:    e.state,
		Commands: e.sent,
		Auth:     auth,
		Events:   e.bus,
		Logger:   slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Options:  apigw.Options{ResultWait: 2 * time.Second, AllowInsecureWebhooks: false},
	}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := apigw.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(s.Handler())
	t.Cleanup(e.srv.Close)
	e.router = openAPIRouter(t)
	return e
}

func openAPIRouter(t testing.TB) routers.Router {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(apigw.OpenAPI())
	if err != nil {
		t.Fatalf("load OpenAPI document: %v", err)
	}
	router, err := legacy.NewRouter(doc) // validates the document
	if err != nil {
		t.Fatalf("OpenAPI document: %v", err)
	}
	return router
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %d answer %q: %v", r.status, r.body, err)
	}
}

// errorCode returns error.code of an error answer, failing on another shape.
func (r response) errorCode(t testing.TB) string {
	t.Helper()
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Error.Code == "" || body.Error.Message == "" {
		t.Fatalf("answer %d is not an error body: %q (%v)", r.status, r.body, err)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error answer has Content-Type %q", ct)
	}
	return body.Error.Code
}

// req describes a request; token "" sends none.
type req struct {
	method, path, token, body string
	header                    map[string]string
	noValidate                bool // a deliberately bad request: do not check it against the document
}

// do sends rq and checks the request (if well-formed) and the answer against the
// OpenAPI document.
func (e *env) do(rq req) response {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	var body io.Reader
	if rq.body != "" {
		body = strings.NewReader(rq.body)
	}
	r, err := http.NewRequestWithContext(ctx, rq.method, e.srv.URL+rq.path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if rq.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if rq.token != "" {
		r.Header.Set("Authorization", "Bearer "+rq.token)
	}
	for k, v := range rq.header {
		r.Header.Set(k, v)
	}
	input := e.requestInput(r, rq)
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		e.t.Fatalf("%s %s: %v", rq.method, rq.path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if res.Header.Get("X-Request-Id") == "" {
		e.t.Errorf("%s %s: no X-Request-Id in the answer", rq.method, rq.path)
	}
	if input != nil {
		rvi := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: input, Status: res.StatusCode, Header: res.Header,
			Options: &openapi3filter.Options{IncludeResponseStatus: true},
		}
		rvi.SetBodyBytes(data)
		if err := openapi3filter.ValidateResponse(ctx, rvi); err != nil {
			e.t.Errorf("%s %s: answer %d does not match the OpenAPI document: %v\n%s", rq.method, rq.path, res.StatusCode, err, data)
		}
	}
	return response{status: res.StatusCode, header: res.Header, body: data}
}

// requestInput finds the documented operation of r and, for well-formed requests,
// checks r against it. It returns nil when the path or method is not documented.
func (e *env) requestInput(r *http.Request, rq req) *openapi3filter.RequestValidationInput {
	e.t.Helper()
	route, params, err := e.router.FindRoute(r)
	if err != nil || strings.HasSuffix(r.URL.Path, "/") { // the router ignores a trailing slash; the API does not
		return nil
	}
	input := &openapi3filter.RequestValidationInput{
		Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	if e.validate && !rq.noValidate {
		if err := openapi3filter.ValidateRequest(r.Context(), input); err != nil {
			e.t.Errorf("%s %s: request does not match the OpenAPI document: %v", rq.method, rq.path, err)
		}
		if rq.body != "" { // validation consumed the body
			r.Body = io.NopCloser(strings.NewReader(rq.body))
		}
	}
	return input
}

// expect fails unless the answer has status and, for errors, code.
func expect(t testing.TB, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if code != "" {
		if got := r.errorCode(t); got != code {
			t.Fatalf("error code %q, want %q; body %s", got, code, r.body)
		}
	}
}

// createSession creates a session of the tenant of token.
func (e *env) createSession(token, id string) core.Session {
	e.t.Helper()
	r := e.do(req{method: "PUT", path: "/v1/sessions/" + id, token: token, body: `{"displayName":"Support"}`})
	expect(e.t, r, http.StatusCreated, "")
	var s core.Session
	r.json(e.t, &s)
	return s
}

// setStatus plays the connector: it moves a session to status.
func (e *env) setStatus(tenant, id string, status core.Status, jid string) {
	e.t.Helper()
	_, err := e.state.UpdateSession(context.Background(), core.SessionKey{Tenant: tenant, ID: id}, func(s *core.Session) error {
		s.Status, s.JID = status, jid
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// heartbeat plays a connector that reported at at.
func (e *env) heartbeat(at time.Time) {
	e.t.Helper()
	h := core.Heartbeat{ConnectorID: "test-connector", Version: "test", Sessions: 1, StartedAt: at, At: at}
	if err := e.state.PutHeartbeat(context.Background(), h); err != nil {
		e.t.Fatal(err)
	}
}

// poll calls f until it reports done, failing after waitFor.
func poll(t testing.TB, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// recordingSender forwards commands to the bus and remembers them, so tests can
// count what was enqueued.
type recordingSender struct {
	next core.CommandSender
	mu   sync.Mutex
	cmds []core.Command
	fail error // when set, SendCommand fails with it instead
}

func (s *recordingSender) SendCommand(ctx context.Context, c core.Command) error {
	s.mu.Lock()
	fail := s.fail
	if fail == nil {
		s.cmds = append(s.cmds, c)
	}
	s.mu.Unlock()
	if fail != nil {
		return fail
	}
	return s.next.SendCommand(ctx, c)
}

func (s *recordingSender) setFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

// ofType returns the commands of type typ ("" for all) sent so far.
func (s *recordingSender) ofType(typ core.CommandType) []core.Command {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []core.Command
	for _, c := range s.cmds {
		if typ == "" || c.Type == typ {
			out = append(out, c)
		}
	}
	return out
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the JSON log records.
func (b *syncBuffer) lines(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}
