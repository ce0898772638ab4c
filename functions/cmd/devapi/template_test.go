package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// loadRepoTemplate reads the repository's template.yaml.
func loadRepoTemplate(t testing.TB) *Template {
	t.Helper()
	p, err := FindTemplate(".")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := LoadTemplate(p)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func TestTemplateFunctions(t *testing.T) {
	tmpl := loadRepoTemplate(t)
	if len(tmpl.Functions) < 5 {
		t.Fatalf("%d functions, want the four API functions and the events function", len(tmpl.Functions))
	}
	queues := 0
	for id, fn := range tmpl.Functions {
		// Each function's name is the cmd directory its bootstrap is built from.
		if _, err := os.Stat(filepath.Join("..", fn.Name, "main.go")); err != nil {
			t.Errorf("%s: name %q is not a cmd directory: %v", id, fn.Name, err)
		}
		if fn.Timeout < time.Second || fn.MemoryMB < 128 {
			t.Errorf("%s: timeout %s, memory %d MB; want the template's settings", id, fn.Timeout, fn.MemoryMB)
		}
		names := map[string]bool{}
		for _, v := range fn.Env {
			names[v.Name] = true
		}
		if !names["WAGATE_STATE_TABLE"] {
			t.Errorf("%s: no WAGATE_STATE_TABLE from Globals", id)
		}
		if fn.Queue != nil {
			queues++
			if !fn.Queue.ReportBatchItemFailures || fn.Queue.BatchSize != 10 || !names["WAGATE_EVENTS_QUEUE_URL"] {
				t.Errorf("%s: queue event %+v, env %v", id, *fn.Queue, names)
			}
		} else if !names["WAGATE_COMMANDS_QUEUE_URL"] || !names["TENANT_CLAIM"] {
			t.Errorf("%s: an API function without the commands queue or the tenant claim: %v", id, names)
		}
	}
	if queues != 1 {
		t.Errorf("%d functions consume a queue, want the events function alone", queues)
	}
}

func TestFunctionName(t *testing.T) {
	for id, want := range map[string]string{
		"ApiSessionsFunction":    "api-sessions",
		"ApiQrFunction":          "api-qr",
		"EventsConsumerFunction": "events-consumer",
	} {
		if got := functionName(id); got != want {
			t.Errorf("functionName(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestMatch(t *testing.T) {
	routes := loadRepoTemplate(t).Routes
	tests := []struct {
		name, method, path string
		wantKey            string // "" for no route
		wantFn             string
		wantParams         map[string]string
		wantPublic         bool
	}{
		{"list", "GET", "/v1/sessions", "GET /v1/sessions", "ApiSessionsFunction", nil, false},
		{"one_session", "GET", "/v1/sessions/desk", "GET /v1/sessions/{id}", "ApiSessionsFunction", map[string]string{"id": "desk"}, false},
		{"qr", "GET", "/v1/sessions/desk/qr", "GET /v1/sessions/{id}/qr", "ApiQrFunction", map[string]string{"id": "desk"}, false},
		{"pair_code_poll", "GET", "/v1/sessions/desk/pair-code/c1", "GET /v1/sessions/{id}/pair-code/{commandId}", "ApiQrFunction",
			map[string]string{"id": "desk", "commandId": "c1"}, false},
		{"send", "POST", "/v1/sessions/desk/messages", "POST /v1/sessions/{id}/messages", "ApiMessagesFunction", map[string]string{"id": "desk"}, false},
		{"decoded_param", "GET", "/v1/sessions/a%2Fb/messages/m1", "GET /v1/sessions/{id}/messages/{messageId}", "ApiMessagesFunction",
			map[string]string{"id": "a/b", "messageId": "m1"}, false},
		{"health_public", "GET", "/v1/health", "GET /v1/health", "ApiDiagnosticsFunction", nil, true},
		{"openapi_public", "GET", "/v1/openapi.json", "GET /v1/openapi.json", "ApiDiagnosticsFunction", nil, true},
		{"no_event_stream", "GET", "/v1/events", "", "", nil, false},
		{"wrong_method", "PATCH", "/v1/sessions/desk", "", "", nil, false},
		{"head_is_not_get", "HEAD", "/v1/health", "", "", nil, false},
		{"trailing_slash", "GET", "/v1/sessions/", "", "", nil, false},
		{"empty_param", "GET", "/v1/sessions//qr", "", "", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, params, ok := Match(routes, tt.method, tt.path)
			if tt.wantKey == "" {
				if ok {
					t.Fatalf("%s %s matched %s, want no route", tt.method, tt.path, r.Key())
				}
				return
			}
			if !ok || r.Key() != tt.wantKey || r.Function != tt.wantFn || r.Public != tt.wantPublic {
				t.Fatalf("%s %s: %s → %s public=%v (ok=%v), want %s → %s public=%v", tt.method, tt.path,
					r.Key(), r.Function, r.Public, ok, tt.wantKey, tt.wantFn, tt.wantPublic)
			}
			if len(params) != len(tt.wantParams) {
				t.Fatalf("params %v, want %v", params, tt.wantParams)
			}
			for k, v := range tt.wantParams {
				if params[k] != v {
					t.Errorf("param %s = %q, want %q", k, params[k], v)
				}
			}
		})
	}
}

func TestMatchPrefersLiteralSegments(t *testing.T) {
	routes := []Route{
		newRoute("GET", "/v1/things/{id}", "Param", false),
		newRoute("GET", "/v1/things/special", "Literal", false),
	}
	if r, _, _ := Match(routes, "GET", "/v1/things/special"); r.Function != "Literal" {
		t.Errorf("/v1/things/special went to %s, want the literal route", r.Function)
	}
	if r, p, _ := Match(routes, "GET", "/v1/things/other"); r.Function != "Param" || p["id"] != "other" {
		t.Errorf("/v1/things/other went to %s %v, want the parameter route", r.Function, p)
	}
}

func TestFunctionEnv(t *testing.T) {
	fn := Function{Name: "api-x", Env: []EnvVar{
		{Name: "WAGATE_STATE_TABLE", Ref: "StateTable"},
		{Name: "LITERAL", Value: "as written"},
		{Name: "NEW_THING", Ref: "SomethingNew"},
	}}
	host := map[string]string{"AWS_REGION": "us-east-1", "WAGATE_TOKENS": "secret=tenant"}
	getenv := func(k string) string { return host[k] }
	_, err := FunctionEnv(fn, map[string]string{"WAGATE_STATE_TABLE": "t"}, getenv)
	if err == nil || !strings.Contains(err.Error(), "NEW_THING") {
		t.Fatalf("a reference devapi cannot resolve: %v, want an error naming NEW_THING", err)
	}
	fn.Env = fn.Env[:2]
	env, err := FunctionEnv(fn, map[string]string{"WAGATE_STATE_TABLE": "t"}, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if env["WAGATE_STATE_TABLE"] != "t" || env["LITERAL"] != "as written" || env["AWS_REGION"] != "us-east-1" {
		t.Errorf("environment %v", env)
	}
	if _, leaked := env["WAGATE_TOKENS"]; leaked {
		t.Errorf("devapi's own settings reached a function: %v", env)
	}
}

func TestParseTemplateRejectsAliases(t *testing.T) {
	doc := "Resources:\n  A: &a {Type: AWS::Serverless::Function}\n  B: *a\n"
	if _, err := ParseTemplate([]byte(doc)); err == nil || !strings.Contains(err.Error(), "aliases") {
		t.Errorf("a template with aliases: %v, want an error", err)
	}
}
