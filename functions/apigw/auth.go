package apigw

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	"github.com/wagate/wagate/core"
)

// TokenAuth authenticates requests by static bearer tokens, each bound to a tenant
// (the local deployment's WAGATE_TOKENS). Build it with ParseTokens or NewTokenAuth.
type TokenAuth struct {
	tokens []tokenEntry
}

type tokenEntry struct {
	hash   [sha256.Size]byte
	tenant string
}

var _ Authenticator = (*TokenAuth)(nil)

// ParseTokens parses the WAGATE_TOKENS format "tokenA=tenantA,tokenB=tenantB".
// Spaces around entries are ignored. An error names the bad entry by position and
// tenant, never by its token.
func ParseTokens(spec string) (*TokenAuth, error) {
	tokens := map[string]string{}
	for i, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		token, tenant, ok := strings.Cut(entry, "=")
		token, tenant = strings.TrimSpace(token), strings.TrimSpace(tenant)
		switch {
		case entry == "":
			return nil, fmt.Errorf("parse tokens: entry %d is empty", i+1)
		case !ok:
			return nil, fmt.Errorf("parse tokens: entry %d has no \"=\" (want token=tenant)", i+1)
		case token == "":
			return nil, fmt.Errorf("parse tokens: entry %d (tenant %q) has an empty token", i+1, tenant)
		}
		if _, dup := tokens[token]; dup {
			return nil, fmt.Errorf("parse tokens: entry %d (tenant %q) repeats an earlier token", i+1, tenant)
		}
		if err := checkToken(token, tenant); err != nil {
			return nil, fmt.Errorf("parse tokens: entry %d: %w", i+1, err)
		}
		tokens[token] = tenant
	}
	return NewTokenAuth(tokens)
}

// NewTokenAuth returns a TokenAuth accepting each token of tokens (token → tenant).
func NewTokenAuth(tokens map[string]string) (*TokenAuth, error) {
	if len(tokens) == 0 {
		return nil, fmt.Errorf("token auth: no tokens")
	}
	a := &TokenAuth{}
	for token, tenant := range tokens {
		if err := checkToken(token, tenant); err != nil {
			return nil, fmt.Errorf("token auth: %w", err)
		}
		a.tokens = append(a.tokens, tokenEntry{hash: sha256.Sum256([]byte(token)), tenant: tenant})
	}
	return a, nil
}

// checkToken rejects tokens that cannot travel in a header and tenant names that
// would make a session key ("tenant/id") ambiguous.
func checkToken(token, tenant string) error {
	if token == "" || !printable(token) {
		return fmt.Errorf("tenant %q: token must be non-empty printable ASCII without spaces", tenant)
	}
	if tenant == "" || len(tenant) > 128 || !printable(tenant) || strings.ContainsAny(tenant, "/,=") {
		return fmt.Errorf("tenant %q must be 1-128 printable characters without spaces, \"/\", \",\" or \"=\"", tenant)
	}
	return nil
}

// Tenant returns the tenant of the request's "Authorization: Bearer <token>". Tokens
// are compared in constant time (as SHA-256 digests, so length does not leak either),
// and every configured token is compared on every request.
func (a *TokenAuth) Tenant(r *http.Request) (string, error) {
	token, ok := bearerToken(r)
	if !ok {
		return "", core.Errorf(core.CodeUnauthorized, "send Authorization: Bearer <token>")
	}
	sum := sha256.Sum256([]byte(token))
	tenant := ""
	for _, e := range a.tokens {
		if subtle.ConstantTimeCompare(sum[:], e.hash[:]) == 1 {
			tenant = e.tenant
		}
	}
	if tenant == "" {
		return "", core.Errorf(core.CodeUnauthorized, "the bearer token is not valid")
	}
	return tenant, nil
}

// bearerToken extracts the token of an "Authorization: Bearer <token>" header; the
// scheme name is case-insensitive.
func bearerToken(r *http.Request) (string, bool) {
	values := r.Header.Values("Authorization")
	if len(values) != 1 {
		return "", false
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(values[0]), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}
