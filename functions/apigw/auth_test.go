package apigw_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/functions/apigw"
)

func TestParseTokens(t *testing.T) {
	good := []struct {
		spec    string
		tokens  map[string]string // token → tenant
		refused []string
	}{
		{"tokenA=tenantA", map[string]string{"tokenA": "tenantA"}, []string{"tokenB", "tokena", "tokenA2", "tenantA"}},
		{" tokenA=tenantA , tokenB=tenantB ", map[string]string{"tokenA": "tenantA", "tokenB": "tenantB"}, []string{"tokenAtokenB"}},
		{"t1=shared,t2=shared", map[string]string{"t1": "shared", "t2": "shared"}, []string{"t3"}},
	}
	for _, tc := range good {
		a, err := apigw.ParseTokens(tc.spec)
		if err != nil {
			t.Fatalf("ParseTokens(%q): %v", tc.spec, err)
		}
		for token, tenant := range tc.tokens {
			if got, err := a.Tenant(bearer(token)); err != nil || got != tenant {
				t.Errorf("%q: token %q gave %q, %v; want %q", tc.spec, token, got, err, tenant)
			}
		}
		for _, token := range tc.refused {
			if got, err := a.Tenant(bearer(token)); !core.IsCode(err, core.CodeUnauthorized) {
				t.Errorf("%q: token %q accepted as %q (%v)", tc.spec, token, got, err)
			}
		}
	}

	bad := []struct {
		spec, mentions string
	}{
		{"", "entry 1"},
		{"tokenA=tenantA,", "entry 2"},
		{"tokenA=tenantA,tokenB", "entry 2"},
		{"tokenA=tenantA,=tenantB", "entry 2"},
		{"tokenA=", "entry 1"},
		{"tokenA=tenantA,tokenA=tenantB", "entry 2"},
		{"tokenA=a/b", "entry 1"},
		{"tok en=tenantA", "entry 1"},
	}
	for _, tc := range bad {
		_, err := apigw.ParseTokens(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.mentions) {
			t.Errorf("ParseTokens(%q) = %v; want an error naming %s", tc.spec, err, tc.mentions)
			continue
		}
		if strings.Contains(err.Error(), "tokenA") {
			t.Errorf("ParseTokens(%q) error shows a token: %v", tc.spec, err)
		}
	}
}

func TestTokenAuthHeaderForms(t *testing.T) {
	a, err := apigw.ParseTokens("secret-token=tenant")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"Bearer secret-token", "bearer secret-token", "BEARER  secret-token"} {
		r := httptest.NewRequest("GET", "/v1/sessions", nil)
		r.Header.Set("Authorization", h)
		if got, err := a.Tenant(r); err != nil || got != "tenant" {
			t.Errorf("%q: %q, %v", h, got, err)
		}
	}
	for _, h := range []string{"", "secret-token", "Basic secret-token", "Bearer", "Token secret-token", "Bearer secret-token2"} {
		r := httptest.NewRequest("GET", "/v1/sessions", nil)
		if h != "" {
			r.Header.Set("Authorization", h)
		}
		if got, err := a.Tenant(r); !core.IsCode(err, core.CodeUnauthorized) {
			t.Errorf("%q accepted as %q (%v)", h, got, err)
		}
	}
	// A token in the query string is not a credential.
	r := httptest.NewRequest("GET", "/v1/sessions?access_token=secret-token", nil)
	if _, err := a.Tenant(r); !core.IsCode(err, core.CodeUnauthorized) {
		t.Error("query-string token accepted")
	}
}

func bearer(token string) *http.Request {
	r := httptest.NewRequest("GET", "/v1/sessions", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}
