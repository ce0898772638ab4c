package apigw_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/functions/apigw"
)

// TestOpenAPIMatchesRoutes checks that the document lists exactly the routes the
// server serves, that it is a valid OpenAPI 3.1 document, and that it is served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(apigw.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("invalid document: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() || doc.OpenAPI != "3.1.0" {
		t.Fatalf("document version %q, want 3.1.0", doc.OpenAPI)
	}
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	e := newEnv(t)
	s, err := apigw.New(apigw.Server{State: e.state, Commands: e.bus, Auth: mustAuth(t)})
	if err != nil {
		t.Fatal(err)
	}
	served := apigw.Routes(s)
	slices.Sort(documented)
	slices.Sort(served)
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in the OpenAPI document", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(served, d) {
			t.Errorf("the OpenAPI document lists %s, which the server does not serve", d)
		}
	}

	// The document's session id pattern is the one core validates.
	p := doc.Components.Parameters["SessionID"].Value.Schema.Value.Pattern
	if p != core.SessionIDPattern {
		t.Errorf("SessionID pattern %q, core validates %q", p, core.SessionIDPattern)
	}

	r := e.do(req{method: "GET", path: "/v1/openapi.json"})
	expect(t, r, http.StatusOK, "")
	if string(r.body) != string(apigw.OpenAPI()) || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /v1/openapi.json served %d bytes of %q", len(r.body), r.header.Get("Content-Type"))
	}
}

func mustAuth(t testing.TB) *apigw.TokenAuth {
	t.Helper()
	a, err := apigw.ParseTokens(tokenA + "=" + tenantA)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
