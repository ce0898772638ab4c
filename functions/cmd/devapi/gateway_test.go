package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/skip2/go-qrcode"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/membus"
	"github.com/wagate/wagate/core/memstate"
	"github.com/wagate/wagate/functions/apigw"
	"github.com/wagate/wagate/functions/lambdaapi"
	"github.com/wagate/wagate/web"
)

const (
	testToken  = "dev-token-0123456789"
	testTenant = "acme"
	otherToken = "dev-token-other-0123"
)

// memHandlers builds every API function of the template as lambdaapi.Handler over
// one in-memory state and bus and returns the makers of their instances, each
// wrapped by lambda.NewHandler as lambda.Start does.
func memHandlers(t testing.TB, tmpl *Template, state *memstate.State) map[string]func() lambda.Handler {
	t.Helper()
	bus := membus.New(nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { // drain the commands like a connector would
		defer close(done)
		_ = bus.ConsumeCommands(ctx, func(context.Context, core.Command) error { return nil })
	}()
	t.Cleanup(func() { cancel(); <-done; _ = bus.Close() })
	now := time.Now()
	if err := state.PutHeartbeat(ctx, core.Heartbeat{ConnectorID: "c1", StartedAt: now, At: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	hs := map[string]func() lambda.Handler{}
	for id, fn := range tmpl.Functions {
		if fn.Queue != nil {
			continue
		}
		srv, err := apigw.New(apigw.Server{State: state, Commands: bus, Auth: lambdaapi.JWTAuth{Claim: "sub"},
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		h := lambdaapi.Handler(srv.Handler())
		hs[id] = func() lambda.Handler { return lambda.NewHandler(h) }
	}
	return hs
}

// newTestGateway serves a Gateway over in-memory functions.
func newTestGateway(t *testing.T, invoker Invoker) (*httptest.Server, *memstate.State) {
	t.Helper()
	tmpl := loadRepoTemplate(t)
	state := memstate.New()
	if invoker == nil {
		invoker = &LocalInvoker{Instances: memHandlers(t, tmpl, state)}
	}
	auth, err := apigw.ParseTokens(testToken + "=" + testTenant + "," + otherToken + "=globex")
	if err != nil {
		t.Fatal(err)
	}
	gw := &Gateway{Template: tmpl, Invoker: invoker, Auth: auth, TenantClaim: "sub",
		Page: web.Files(), Logger: slog.New(slog.DiscardHandler)}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return srv, state
}

func call(t *testing.T, method, url, token, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

func TestGatewayServesTheAPIThroughLambdaEvents(t *testing.T) {
	srv, state := newTestGateway(t, nil)

	resp, body := call(t, "PUT", srv.URL+"/v1/sessions/desk", testToken, `{"displayName":"Front desk"}`)
	var s core.Session
	if resp.StatusCode != 201 || json.Unmarshal(body, &s) != nil || s.Tenant != testTenant || s.ID != "desk" {
		t.Fatalf("PUT session: %d %s, want 201 for tenant %s", resp.StatusCode, body, testTenant)
	}
	if resp.Header.Get("Apigw-Requestid") == "" || resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("answer headers %v lack the gateway's and the invocation's request ids", resp.Header)
	}
	// The tenant comes from the token's claims: another tenant does not see it.
	if resp, body := call(t, "GET", srv.URL+"/v1/sessions/desk", otherToken, ""); resp.StatusCode != 404 {
		t.Errorf("another tenant: %d %s, want 404", resp.StatusCode, body)
	}
	for _, token := range []string{"", "not-a-token"} {
		resp, body := call(t, "GET", srv.URL+"/v1/sessions", token, "")
		if resp.StatusCode != 401 || strings.TrimSpace(string(body)) != `{"message":"Unauthorized"}` {
			t.Errorf("token %q: %d %s, want the authorizer's 401", token, resp.StatusCode, body)
		}
	}
	if resp, body := call(t, "GET", srv.URL+"/v1/health", "", ""); resp.StatusCode != 200 || !strings.Contains(string(body), `"status"`) {
		t.Errorf("public health route: %d %s", resp.StatusCode, body)
	}
	if resp, body := call(t, "GET", srv.URL+"/v1/events", testToken, ""); resp.StatusCode != 404 || strings.TrimSpace(string(body)) != `{"message":"Not Found"}` {
		t.Errorf("GET /v1/events: %d %s, want the gateway's 404 (no such route in template.yaml)", resp.StatusCode, body)
	}
	// The function's own errors come through as the function wrote them.
	if resp, body := call(t, "PUT", srv.URL+"/v1/sessions/desk", testToken, `{"nope":1}`); resp.StatusCode != 400 || !strings.Contains(string(body), "invalid_request") {
		t.Errorf("bad settings: %d %s, want 400 invalid_request", resp.StatusCode, body)
	}

	// A binary answer (the QR image) is base64 in the function's response and bytes
	// on the wire.
	key := core.SessionKey{Tenant: testTenant, ID: "desk"}
	if _, err := state.UpdateSession(context.Background(), key, func(s *core.Session) error { s.Status = core.StatusQR; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := state.PutQR(context.Background(), key, core.QR{Code: "2@abc,def,ghi,jkl", ExpiresAt: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	resp, body = call(t, "GET", srv.URL+"/v1/sessions/desk/qr", testToken, "", "Accept", "image/png")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || !bytes.HasPrefix(body, []byte("\x89PNG")) {
		t.Errorf("QR image: %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}

	// The admin page is served beside the API.
	resp, body = call(t, "GET", srv.URL+"/", "", "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Messenger Settings") || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("admin page: %d %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
}

// recorder is an Invoker that records the event and answers with a canned payload.
type recorder struct {
	event  events.APIGatewayV2HTTPRequest
	fn     Function
	answer []byte
	err    error
}

func (r *recorder) Invoke(_ context.Context, fn Function, _ string, event []byte) ([]byte, error) {
	r.fn, r.event = fn, events.APIGatewayV2HTTPRequest{}
	if err := json.Unmarshal(event, &r.event); err != nil {
		return nil, err
	}
	return r.answer, r.err
}

func TestGatewayBuildsThePayload2Event(t *testing.T) {
	rec := &recorder{answer: []byte(`{"statusCode":204}`)}
	srv, _ := newTestGateway(t, rec)
	req, err := http.NewRequest("POST", srv.URL+"/v1/sessions/desk/messages?x=1&x=2&y=3", bytes.NewReader([]byte{0xff, 0x00, 0x01}))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Add("X-Multi", "a")
	req.Header.Add("X-Multi", "b")
	req.Header.Set("Cookie", "c1=v1; c2=v2")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Fatalf("status %d, want the function's 204", resp.StatusCode)
	}
	ev := rec.event
	if rec.fn.Name != "api-messages" || ev.Version != "2.0" || ev.RouteKey != "POST /v1/sessions/{id}/messages" ||
		ev.RequestContext.RouteKey != ev.RouteKey || ev.RawPath != "/v1/sessions/desk/messages" {
		t.Errorf("function %s, event version %q route %q path %q", rec.fn.Name, ev.Version, ev.RouteKey, ev.RawPath)
	}
	if ev.RawQueryString != "x=1&x=2&y=3" || ev.QueryStringParameters["x"] != "1,2" || ev.QueryStringParameters["y"] != "3" {
		t.Errorf("query %q %v", ev.RawQueryString, ev.QueryStringParameters)
	}
	if ev.PathParameters["id"] != "desk" || ev.Headers["x-multi"] != "a,b" || ev.Headers["authorization"] != "Bearer "+testToken {
		t.Errorf("path parameters %v, headers %v", ev.PathParameters, ev.Headers)
	}
	if len(ev.Cookies) != 2 || ev.Cookies[0] != "c1=v1" || ev.Headers["cookie"] != "" {
		t.Errorf("cookies %v (header %q), want them in their own list", ev.Cookies, ev.Headers["cookie"])
	}
	body, _ := base64.StdEncoding.DecodeString(ev.Body)
	if !ev.IsBase64Encoded || !bytes.Equal(body, []byte{0xff, 0x00, 0x01}) {
		t.Errorf("binary body %q base64=%v", ev.Body, ev.IsBase64Encoded)
	}
	a := ev.RequestContext.Authorizer
	if a == nil || a.JWT == nil || a.JWT.Claims["sub"] != testTenant || ev.RequestContext.HTTP.Method != "POST" || ev.RequestContext.RequestID == "" {
		t.Errorf("request context %+v", ev.RequestContext)
	}

	// Public routes carry no authorizer.
	call(t, "GET", srv.URL+"/v1/health", "", "")
	if rec.event.RequestContext.Authorizer != nil {
		t.Errorf("the public health route got claims: %+v", rec.event.RequestContext.Authorizer)
	}
}

func TestGatewayAnswersForFailedFunctions(t *testing.T) {
	rec := &recorder{err: errors.New("boom")}
	srv, _ := newTestGateway(t, rec)
	resp, body := call(t, "GET", srv.URL+"/v1/sessions", testToken, "")
	if resp.StatusCode != 500 || strings.TrimSpace(string(body)) != `{"message":"Internal Server Error"}` {
		t.Errorf("failed invocation: %d %s, want API Gateway's 500", resp.StatusCode, body)
	}
	rec.err, rec.answer = nil, []byte(`{"statusCode":"not a number"}`)
	if resp, _ := call(t, "GET", srv.URL+"/v1/sessions", testToken, ""); resp.StatusCode != 500 {
		t.Errorf("malformed answer: %d, want 500", resp.StatusCode)
	}
	rec.answer = []byte(`{"sessions":[]}`)
	if resp, body := call(t, "GET", srv.URL+"/v1/sessions", testToken, ""); resp.StatusCode != 200 || string(body) != `{"sessions":[]}` ||
		resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("an answer without statusCode: %d %s, want it as a 200 JSON body", resp.StatusCode, body)
	}
	big := strings.Repeat("x", maxPayload+1)
	if resp, _ := call(t, "POST", srv.URL+"/v1/sessions/desk/messages", testToken, big); resp.StatusCode != 413 {
		t.Errorf("an 10 MB body: %d, want 413", resp.StatusCode)
	}
}

func TestWriteResponse(t *testing.T) {
	png, err := qrcode.Encode("hello", qrcode.Low, 64)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(events.APIGatewayV2HTTPResponse{
		StatusCode:        201,
		Headers:           map[string]string{"Content-Type": "image/png", "X-One": "1"},
		MultiValueHeaders: map[string][]string{"X-Many": {"a", "b"}},
		Cookies:           []string{"a=1; Path=/", "b=2"},
		Body:              base64.StdEncoding.EncodeToString(png),
		IsBase64Encoded:   true,
	})
	w := httptest.NewRecorder()
	if err := WriteResponse(w, payload); err != nil {
		t.Fatal(err)
	}
	h := w.Result().Header
	if w.Code != 201 || !bytes.Equal(w.Body.Bytes(), png) || h.Get("X-One") != "1" || len(h.Values("X-Many")) != 2 || len(h.Values("Set-Cookie")) != 2 {
		t.Errorf("status %d, headers %v, %d body bytes", w.Code, h, w.Body.Len())
	}
	if err := WriteResponse(httptest.NewRecorder(), []byte("not json")); err == nil {
		t.Errorf("a non-JSON answer was written")
	}
}

func TestLocalInvokerTurnsPanicsAndTimeoutsIntoFunctionErrors(t *testing.T) {
	slow := lambda.NewHandler(func(ctx context.Context) (string, error) {
		<-ctx.Done()
		return "", ctx.Err()
	})
	panics := lambda.NewHandler(func() (string, error) { panic("bad") })
	inv := &LocalInvoker{Instances: map[string]func() lambda.Handler{
		"Slow": func() lambda.Handler { return slow }, "Panics": func() lambda.Handler { return panics },
	}}
	_, err := inv.Invoke(context.Background(), Function{LogicalID: "Slow", Name: "slow", Timeout: 50 * time.Millisecond}, "r1", []byte(`{}`))
	if !errors.Is(err, errFunctionError) || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("slow function: %v, want a timeout function error", err)
	}
	_, err = inv.Invoke(context.Background(), Function{LogicalID: "Panics", Name: "panics", Timeout: time.Second}, "r2", []byte(`{}`))
	if !errors.Is(err, errFunctionError) || !strings.Contains(err.Error(), "panic") {
		t.Errorf("panicking function: %v, want a function error", err)
	}
}

// TestLocalInvokerKeepsConcurrentAnswersApart: many invocations of one function at
// once each get their own answer. lambda.NewHandler's wrapper reuses the buffer of
// its answer for its next invocation, so invocations that shared a wrapper could
// receive another invocation's answer (seen as a 202 naming another request's
// message in the split burst test).
func TestLocalInvokerKeepsConcurrentAnswersApart(t *testing.T) {
	type echo struct {
		N   int
		Pad string
	}
	pad := strings.Repeat("x", 4096)
	inv := &LocalInvoker{Instances: map[string]func() lambda.Handler{
		"Echo": func() lambda.Handler {
			return lambda.NewHandler(func(in echo) (echo, error) { return echo{N: in.N, Pad: pad}, nil })
		},
	}}
	fn := Function{LogicalID: "Echo", Name: "echo", Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	var wrong atomic.Int64
	for g := range 32 {
		wg.Go(func() {
			for i := range 200 {
				n := g*1000 + i
				out, err := inv.Invoke(context.Background(), fn, fmt.Sprintf("r%d", n), []byte(fmt.Sprintf(`{"N":%d}`, n)))
				var got echo
				if err != nil || json.Unmarshal(out, &got) != nil || got.N != n {
					wrong.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := wrong.Load(); n > 0 {
		t.Fatalf("%d of %d concurrent invocations got an answer that was not theirs", n, 32*200)
	}
}
