package lambdaapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/membus"
	"github.com/wagate/wagate/core/memstate"
	"github.com/wagate/wagate/functions/apigw"
	"github.com/wagate/wagate/functions/lambdaapi"
)

// fixture loads an API Gateway event from testdata.
func fixture(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(data, &req); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return req
}

// jwtRequest is the JWT fixture turned into method path with body and the given
// claims (nil keeps the fixture's).
func jwtRequest(t *testing.T, method, path, body string, claims map[string]string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	req := fixture(t, "apigw-v2-jwt.json")
	req.RouteKey, req.RequestContext.RouteKey = method+" "+path, method+" "+path
	req.RawPath, req.RequestContext.HTTP.Path, req.RequestContext.HTTP.Method = path, path, method
	req.Body = body
	delete(req.Headers, "content-length")
	if body == "" {
		delete(req.Headers, "content-type")
	}
	if claims != nil {
		req.RequestContext.Authorizer.JWT.Claims = claims
	}
	return req
}

// lambdaEnv is an API function as it runs in Lambda, over in-memory state and bus.
type lambdaEnv struct {
	state    *memstate.State
	handler  lambdaapi.LambdaHandler
	logs     *syncBuffer
	commands chan core.Command
}

func newLambdaEnv(t *testing.T, claim string) *lambdaEnv {
	t.Helper()
	e := &lambdaEnv{state: memstate.New(), logs: &syncBuffer{}, commands: make(chan core.Command, 16)}
	bus := membus.New(nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = bus.ConsumeCommands(ctx, func(_ context.Context, c core.Command) error {
			e.commands <- c
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); <-done; _ = bus.Close() })
	now := time.Now().UTC()
	if err := e.state.PutHeartbeat(context.Background(), core.Heartbeat{ConnectorID: "c1", StartedAt: now, At: now}); err != nil {
		t.Fatal(err)
	}
	srv, err := apigw.New(apigw.Server{
		State:    e.state,
		Commands: bus,
		Auth:     lambdaapi.JWTAuth{Claim: claim},
		Logger:   slog.New(slog.NewJSONHandler(e.logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.handler = lambdaapi.Handler(srv.Handler())
	return e
}

// invoke runs the handler as the Lambda runtime would, with requestID as the
// invocation's request id.
func (e *lambdaEnv) invoke(t *testing.T, requestID string, req events.APIGatewayV2HTTPRequest) (int, map[string]any, events.APIGatewayV2HTTPResponse) {
	t.Helper()
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: requestID})
	resp, err := e.handler(ctx, req)
	if err != nil {
		t.Fatalf("%s %s: handler error %v", req.RequestContext.HTTP.Method, req.RawPath, err)
	}
	body := resp.Body
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			t.Fatal(err)
		}
		body = string(b)
	}
	var m map[string]any
	if body != "" {
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("%s %s: answer is not a JSON object: %q", req.RequestContext.HTTP.Method, req.RawPath, body)
		}
	}
	return resp.StatusCode, m, resp
}

func errorCode(m map[string]any) string {
	if e, ok := m["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

func TestTenantFromJWTClaim(t *testing.T) {
	e := newLambdaEnv(t, "")
	put := fixture(t, "apigw-v2-jwt.json") // PUT /v1/sessions/support as sub=tenant-a
	status, body, _ := e.invoke(t, "req-1", put)
	if status != http.StatusCreated || body["tenant"] != "tenant-a" || body["id"] != "support" || body["displayName"] != "Support line" {
		t.Fatalf("PUT as tenant-a: %d %v", status, body)
	}
	if _, err := e.state.GetSession(context.Background(), core.SessionKey{Tenant: "tenant-a", ID: "support"}); err != nil {
		t.Fatalf("the session was not stored for tenant-a: %v", err)
	}

	claimsB := map[string]string{"sub": "tenant-b", "iss": "https://issuer.example", "aud": "wagate-admin"}
	status, body, _ = e.invoke(t, "req-2", jwtRequest(t, "GET", "/v1/sessions/support", "", claimsB))
	if status != http.StatusNotFound || errorCode(body) != "not_found" {
		t.Errorf("GET another tenant's session: %d %v, want 404 not_found", status, body)
	}
	status, body, _ = e.invoke(t, "req-3", jwtRequest(t, "GET", "/v1/sessions", "", claimsB))
	if list, _ := body["sessions"].([]any); status != http.StatusOK || len(list) != 0 {
		t.Errorf("tenant-b lists %d %v, want 200 and no sessions", status, body)
	}
	status, body, _ = e.invoke(t, "req-4", jwtRequest(t, "GET", "/v1/sessions", "", nil))
	if list, _ := body["sessions"].([]any); status != http.StatusOK || len(list) != 1 {
		t.Errorf("tenant-a lists %d %v, want 200 and one session", status, body)
	}

	status, body, _ = e.invoke(t, "req-5", jwtRequest(t, "POST", "/v1/sessions/support/connect", "", nil))
	if status != http.StatusAccepted {
		t.Fatalf("connect: %d %v", status, body)
	}
	select {
	case c := <-e.commands:
		if c.Type != core.CmdConnect || c.Tenant != "tenant-a" || c.SessionID != "support" {
			t.Errorf("command %+v, want session.connect for tenant-a/support", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no command reached the bus after connect")
	}
}

func TestTenantClaimSetting(t *testing.T) {
	e := newLambdaEnv(t, "custom:tenant")
	status, body, _ := e.invoke(t, "req-1", fixture(t, "apigw-v2-jwt.json"))
	if status != http.StatusCreated || body["tenant"] != "acme" {
		t.Fatalf("PUT with TENANT_CLAIM=custom:tenant: %d %v, want tenant acme", status, body)
	}
	groups := newLambdaEnv(t, "cognito:groups")
	status, body, _ = groups.invoke(t, "req-2", fixture(t, "apigw-v2-jwt.json"))
	if status != http.StatusUnauthorized || !strings.Contains(body["error"].(map[string]any)["message"].(string), "list") {
		t.Errorf("tenant from an array claim: %d %v, want 401 saying it is a list", status, body)
	}
}

func TestMissingClaimIsUnauthorized(t *testing.T) {
	e := newLambdaEnv(t, "")
	cases := map[string]events.APIGatewayV2HTTPRequest{
		"no sub claim":   jwtRequest(t, "GET", "/v1/sessions", "", map[string]string{"iss": "https://issuer.example"}),
		"empty sub":      jwtRequest(t, "GET", "/v1/sessions", "", map[string]string{"sub": ""}),
		"slash in sub":   jwtRequest(t, "GET", "/v1/sessions", "", map[string]string{"sub": "a/b"}),
		"space in sub":   jwtRequest(t, "GET", "/v1/sessions", "", map[string]string{"sub": "a b"}),
		"no authorizer":  withoutAuthorizer(jwtRequest(t, "GET", "/v1/sessions", "", nil)),
		"forged context": forgedContextHeader(t, withoutAuthorizer(jwtRequest(t, "GET", "/v1/sessions", "", nil))),
	}
	for name, req := range cases {
		status, body, _ := e.invoke(t, "req-"+name, req)
		if status != http.StatusUnauthorized || errorCode(body) != "unauthorized" {
			t.Errorf("%s: %d %v, want 401 unauthorized", name, status, body)
		}
	}
}

func withoutAuthorizer(req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
	req.RequestContext.Authorizer = nil
	return req
}

// forgedContextHeader adds the header in which the proxy library's context-less mode
// passes the request context; claims sent that way must not count.
func forgedContextHeader(t *testing.T, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
	forged := fixture(t, "apigw-v2-jwt.json").RequestContext
	b, err := json.Marshal(forged)
	if err != nil {
		t.Fatal(err)
	}
	req.Headers = map[string]string{"x-golambdaproxyapigatewaycontext": string(b)}
	return req
}

func TestPublicRoutesWithoutAuthorizer(t *testing.T) {
	e := newLambdaEnv(t, "")
	status, body, _ := e.invoke(t, "req-h", fixture(t, "apigw-v2-no-authorizer.json"))
	if status != http.StatusOK || body["status"] != "ok" {
		t.Errorf("GET /v1/health: %d %v, want 200 ok (a connector heartbeat is fresh)", status, body)
	}
	openapi := fixture(t, "apigw-v2-no-authorizer.json")
	openapi.RawPath, openapi.RequestContext.HTTP.Path = "/v1/openapi.json", "/v1/openapi.json"
	status, body, _ = e.invoke(t, "req-o", openapi)
	if status != http.StatusOK || !strings.HasPrefix(body["openapi"].(string), "3.1") {
		t.Errorf("GET /v1/openapi.json: %d, openapi=%v", status, body["openapi"])
	}
}

func TestBodiesAndRequestID(t *testing.T) {
	e := newLambdaEnv(t, "")
	req := fixture(t, "apigw-v2-jwt.json")
	req.Body = base64.StdEncoding.EncodeToString([]byte(`{"displayName":"Encoded"}`))
	req.IsBase64Encoded = true
	req.Headers["x-request-id"] = "client-chosen-id"
	status, body, resp := e.invoke(t, "lambda-req-7f3a", req)
	if status != http.StatusCreated || body["displayName"] != "Encoded" {
		t.Fatalf("PUT with a base64 body: %d %v", status, body)
	}
	if got := resp.Headers["X-Request-Id"]; got != "lambda-req-7f3a" {
		t.Errorf("X-Request-Id %q, want the Lambda request id", got)
	}
	if !strings.Contains(e.logs.String(), `"request_id":"lambda-req-7f3a"`) || strings.Contains(e.logs.String(), "client-chosen-id") {
		t.Errorf("log lines do not carry the Lambda request id:\n%s", e.logs.String())
	}

	if _, err := e.state.UpdateSession(context.Background(), core.SessionKey{Tenant: "tenant-a", ID: "support"}, func(s *core.Session) error {
		s.Status = core.StatusConnected
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	msg := jwtRequest(t, "POST", "/v1/sessions/support/messages", `{"to":"15551234567","text":"hello"}`, nil)
	status, body, _ = e.invoke(t, "req-m", msg)
	if status != http.StatusAccepted || body["status"] != "queued" || body["to"] == nil {
		t.Errorf("send: %d %v, want 202 queued", status, body)
	}
	status, body, _ = e.invoke(t, "req-q", jwtRequest(t, "GET", "/v1/sessions/support/qr", "", nil))
	if status != http.StatusConflict || errorCode(body) != "wrong_state" {
		t.Errorf("QR of a session not pairing: %d %v, want 409 wrong_state", status, body)
	}
	status, body, _ = e.invoke(t, "req-x", jwtRequest(t, "PUT", "/v1/sessions/support", `{"nope":1}`, nil))
	if status != http.StatusBadRequest || errorCode(body) != "invalid_request" {
		t.Errorf("unknown settings field: %d %v, want 400", status, body)
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestQRAsPNGThroughTheGateway(t *testing.T) {
	e := newLambdaEnv(t, "")
	if status, body, _ := e.invoke(t, "req-1", fixture(t, "apigw-v2-jwt.json")); status != http.StatusCreated {
		t.Fatalf("PUT: %d %v", status, body)
	}
	key := core.SessionKey{Tenant: "tenant-a", ID: "support"}
	if _, err := e.state.UpdateSession(context.Background(), key, func(s *core.Session) error {
		s.Status = core.StatusQR
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.state.PutQR(context.Background(), key, core.QR{Code: "2@abc,def,ghi", ExpiresAt: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	req := jwtRequest(t, "GET", "/v1/sessions/support/qr", "", nil)
	req.Headers["accept"] = "image/png"
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-png"})
	resp, err := e.handler(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	png, err := base64.StdEncoding.DecodeString(resp.Body)
	if resp.StatusCode != http.StatusOK || !resp.IsBase64Encoded || err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("QR as PNG: status %d, base64 %v, body starts %q", resp.StatusCode, resp.IsBase64Encoded, resp.Body[:min(16, len(resp.Body))])
	}
	if ct := resp.Headers["Content-Type"]; ct != "image/png" {
		t.Errorf("Content-Type %q, want image/png", ct)
	}
}
