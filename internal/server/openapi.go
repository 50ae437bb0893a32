package server

import (
	_ "embed"
	"net/http"
)

// openAPIDocument is the OpenAPI 3.1 document of this API. cmd/bridged's
// openapi_test.go validates real requests and responses against it, and
// .ci/openapi.sh lints it.
//
//go:embed openapi.yaml
var openAPIDocument []byte

// OpenAPI returns a copy of the API's OpenAPI 3.1 document (YAML).
func OpenAPI() []byte { return append([]byte(nil), openAPIDocument...) }

// handleOpenAPI serves the document to a key with the read or operate scope.
// Like every answer it carries Cache-Control: no-store.
func (s *server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPIDocument)
}
