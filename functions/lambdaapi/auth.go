package lambdaapi

import (
	"net/http"
	"strings"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	wcore "github.com/wagate/wagate/core"
	"github.com/wagate/wagate/functions/apigw"
)

// DefaultTenantClaim is the claim that names the tenant when TENANT_CLAIM is unset.
const DefaultTenantClaim = "sub"

// maxTenantLen bounds a tenant name taken from a claim.
const maxTenantLen = 128

// JWTAuth takes the tenant of a request from a claim of the JWT that API Gateway's
// JWT authorizer verified. It reads the claims from the request context that Handler
// sets from the Lambda event, never from a header, so a client cannot forge them.
type JWTAuth struct {
	// Claim is the name of the claim holding the tenant; DefaultTenantClaim when empty.
	Claim string
}

var _ apigw.Authenticator = JWTAuth{}

// Tenant returns the value of the tenant claim. It fails with CodeUnauthorized when
// the request did not pass a JWT authorizer, when the claim is missing or empty, when
// it holds a list (API Gateway flattens array claims into one string like
// "[Admin Ops]"), or when it is not 1-128 printable ASCII characters without spaces
// and "/" (the tenant is part of every session key).
func (a JWTAuth) Tenant(r *http.Request) (string, error) {
	claim := a.Claim
	if claim == "" {
		claim = DefaultTenantClaim
	}
	rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
	if !ok || rc.Authorizer == nil || rc.Authorizer.JWT == nil {
		return "", wcore.Errorf(wcore.CodeUnauthorized, "send Authorization: Bearer <JWT>")
	}
	tenant, ok := rc.Authorizer.JWT.Claims[claim]
	switch {
	case !ok || tenant == "":
		return "", wcore.Errorf(wcore.CodeUnauthorized, "the token has no %q claim to name the tenant", claim)
	case strings.HasPrefix(tenant, "[") && strings.HasSuffix(tenant, "]"):
		return "", wcore.Errorf(wcore.CodeUnauthorized, "the token's %q claim is a list; the tenant claim must hold one value", claim)
	case !validTenant(tenant):
		return "", wcore.Errorf(wcore.CodeUnauthorized, "the token's %q claim is not a valid tenant name (1-128 printable characters without spaces or \"/\")", claim)
	}
	return tenant, nil
}

func validTenant(t string) bool {
	if t == "" || len(t) > maxTenantLen {
		return false
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; c < 0x21 || c > 0x7e || c == '/' {
			return false
		}
	}
	return true
}
