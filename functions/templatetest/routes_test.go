package templatetest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// route is one HttpApi event of a function.
type route struct {
	key      string // "GET /v1/sessions"
	function string
	public   bool // Auth.Authorizer NONE
	api      string
}

func routes(tp tmpl) []route {
	var out []route
	for _, id := range tp.ofType("AWS::Serverless::Function") {
		for _, ev := range asMap(tp.props(id)["Events"]) {
			if asMap(ev)["Type"] != "HttpApi" {
				continue
			}
			p := asMap(asMap(ev)["Properties"])
			out = append(out, route{
				key:      strings.ToUpper(p["Method"].(string)) + " " + p["Path"].(string),
				function: id,
				public:   asMap(p["Auth"])["Authorizer"] == "NONE",
				api:      target(p["ApiId"]),
			})
		}
	}
	return out
}

// apiRoutes returns the method and path of every operation of the API's OpenAPI
// document.
func apiRoutes(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "functions", "apigw", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for path, ops := range doc.Paths {
		for method := range ops {
			switch method {
			case "get", "put", "post", "delete", "patch":
				out = append(out, strings.ToUpper(method)+" "+path)
			}
		}
	}
	sort.Strings(out)
	return out
}

func TestRoutesNeedJWTExceptHealthAndOpenAPI(t *testing.T) {
	tp := load(t)
	apis := tp.ofType("AWS::Serverless::HttpApi")
	if len(apis) != 1 {
		t.Fatalf("HTTP APIs %v, want one", apis)
	}
	auth := asMap(tp.props(apis[0])["Auth"])
	def, _ := auth["DefaultAuthorizer"].(string)
	jwt := asMap(asMap(asMap(auth["Authorizers"])[def])["JwtConfiguration"])
	if def == "" || target(jwt["issuer"]) != "JwtIssuer" || target(jwt["audience"]) != "JwtAudience" {
		t.Errorf("default authorizer %q with %v, want a JWT authorizer on the JwtIssuer and JwtAudience parameters", def, jwt)
	}
	cors := asMap(tp.props(apis[0])["CorsConfiguration"])
	if origins := asList(cors["AllowOrigins"]); len(origins) != 1 || target(origins[0]) != "AdminOrigin" {
		t.Errorf("CORS AllowOrigins %v, want only the AdminOrigin parameter", cors["AllowOrigins"])
	}

	public := map[string]bool{"GET /v1/health": true, "GET /v1/openapi.json": true}
	seen := map[string]string{}
	for _, r := range routes(tp) {
		if r.api != apis[0] {
			t.Errorf("%s (%s) is on %q, not the HTTP API", r.key, r.function, r.api)
		}
		if prev, dup := seen[r.key]; dup {
			t.Errorf("%s is routed to %s and %s", r.key, prev, r.function)
		}
		seen[r.key] = r.function
		if r.public != public[r.key] {
			t.Errorf("%s (%s): without authorizer = %v, want %v", r.key, r.function, r.public, public[r.key])
		}
	}

	// Every operation of the API is routed, except the local event stream.
	for _, op := range apiRoutes(t) {
		if op == "GET /v1/events" {
			if seen[op] != "" {
				t.Errorf("%s is routed, but the event stream only exists locally (webhooks serve AWS)", op)
			}
			continue
		}
		if seen[op] == "" {
			t.Errorf("%s of the OpenAPI document has no route in template.yaml", op)
		}
		delete(seen, op)
	}
	for op, fn := range seen {
		t.Errorf("%s (%s) is routed but not in the OpenAPI document", op, fn)
	}
}
