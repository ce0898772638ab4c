package apigw

import (
	_ "embed"
	"io"
	"net/http"
)

// openAPIDoc is the OpenAPI 3.1 document of the API v1; tests check that it lists
// exactly the routes of the server and that real answers match it.
//
//go:embed openapi.json
var openAPIDoc string

// OpenAPI returns a copy of the OpenAPI 3.1 document served at /v1/openapi.json.
func OpenAPI() []byte { return []byte(openAPIDoc) }

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, openAPIDoc)
	return nil
}
