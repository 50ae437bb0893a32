package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/bridgedpos/bridged/internal/payment"
)

// routes is the one place that shows every endpoint.
func (s *server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.requestID, s.measure, s.recoverer, s.guardHostOrigin)
	r.NotFound(s.notFound)
	r.MethodNotAllowed(s.methodNotAllowed)

	r.Get("/healthz", s.handleHealthz)
	r.Get("/readyz", s.handleReadyz)
	r.Get("/", s.handleStatusPage)
	r.Get("/openapi.yaml", s.handleOpenAPI)
	if s.metrics != nil {
		r.Method(http.MethodGet, "/metrics", s.metrics.Handler())
	}

	r.Route("/v1", func(r chi.Router) {
		r.Use(s.authenticate)

		r.Post("/payments", s.handleCreatePayment)
		r.Get("/payments", s.handleListPayments)
		r.Get("/payments/{id}", s.handleGetPayment)
		r.Post("/payments/{id}/void", s.adjust(s.svc.Void, false))
		r.Post("/payments/{id}/refund", s.adjust(s.svc.Refund, true))
		r.Post("/payments/{id}/cancel", s.adjust(s.svc.Cancel, false))
		r.Post("/payments/{id}/resolve", s.handleResolve)
		r.Post("/payments/{id}/settle", s.handleSettle)
		r.Post("/payments/{id}/acknowledge-conflict", s.handleAcknowledgeConflict)

		r.Post("/split-sales", s.modeOnly(payment.VUK507, s.handleStartSplit))
		r.Post("/split-sales/{id}/payments", s.modeOnly(payment.VUK507, s.handleAddSplitPayment))
		r.Post("/split-sales/{id}/complete", s.modeOnly(payment.VUK507, s.handleCompleteSplit))
		r.Post("/split-sales/{id}/cancel", s.modeOnly(payment.VUK507, s.handleCancelSplit))

		r.Get("/terminals", s.handleTerminals)
		r.Get("/terminals/{id}", s.handleTerminal)
		r.Post("/terminals/{id}/end-of-day", s.handleEndOfDay)
		r.Get("/terminals/{id}/end-of-day", s.handleEndOfDays)
		r.Get("/end-of-day/{id}", s.handleEndOfDayByID)

		r.Get("/events", s.handleEvents)

		r.Get("/admin/backup", s.handleBackup)
		r.Post("/admin/compact", s.handleCompact)
	})
	return r
}
