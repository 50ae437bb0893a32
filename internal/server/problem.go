package server

import (
	"encoding/json"
	"net/http"

	"github.com/bridgedpos/bridged/internal/apitype"
)

// writeProblem answers with a problem document. detail must be safe to show:
// never an err.Error() from below, which may carry internals.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, code, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	writeBody(w, apitype.Problem{
		Type:      problemType(code),
		Title:     title,
		Status:    status,
		Detail:    detail,
		Code:      code,
		RequestID: requestIDOf(r),
	})
}

func problemType(code string) string { return "urn:bridged:problem:" + code }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	writeBody(w, v)
}

// writeBody encodes v; a failure here is a client that went away.
func writeBody(w http.ResponseWriter, v any) {
	_ = json.NewEncoder(w).Encode(v)
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	writeProblem(w, r, http.StatusNotFound, "not_found", "Not found", "no such endpoint: see /openapi.yaml")
}

func (s *server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeProblem(w, r, http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed", r.Method+" is not allowed here")
}
