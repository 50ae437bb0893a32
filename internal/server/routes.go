package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// routes is the one place that shows every endpoint.
func (s *server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.requestID, s.recoverer, s.guardHostOrigin)
	r.NotFound(s.notFound)
	r.MethodNotAllowed(s.methodNotAllowed)

	r.Get("/healthz", s.handleHealthz)

	r.Route("/v1", func(r chi.Router) {
		r.Use(s.authenticate)
		r.Get("/terminals", s.handleTerminals)
	})
	return r
}
