package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// routes is the one place that shows every endpoint and who may call it.
// identify authenticates a request that carries a key; require(scopes...)
// states what a route needs (401 without a key, 403 forbidden_scope with a
// key that lacks them). Only /healthz, /readyz (its summary), the status
// page's login form and 404s answer without a key. s.handle adapts a
// handler that returns its error to the one writer (writeError).
func (s *server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.requestID, s.measure, s.recoverer, s.guardHostOrigin, s.identify)
	r.NotFound(s.notFound)
	r.MethodNotAllowed(s.methodNotAllowed)

	var (
		// money calls: the ECR's key
		pay = s.require(ScopePayments)
		// reads of /v1: any key
		read = s.require(ScopePayments, ScopeRead, ScopeOperate)
		// what the ECR and an operator both do: resolve now, end of day
		act = s.require(ScopePayments, ScopeOperate)
		// operations' views: not the ECR's key
		view = s.require(ScopeRead, ScopeOperate)
		// an operator's word on money: settle an unknown, acknowledge a
		// conflict (docs/operations.md); never the ECR's key
		op = s.require(ScopeOperate)
	)

	r.Get("/healthz", s.handleHealthz)
	r.Get("/readyz", s.handleReadyz)
	r.Get("/", s.handle(s.handleStatusPage))
	r.Post("/login", s.handle(s.handleLogin))
	r.Post("/logout", s.handleLogout)
	r.With(view).Get("/openapi.yaml", s.handleOpenAPI)
	if s.metrics != nil {
		r.With(view).Method(http.MethodGet, "/metrics", noStore(s.metrics.Handler()))
	}

	r.Route("/v1", func(r chi.Router) {
		r.Use(s.prefer)
		r.With(pay).Post("/payments", s.handle(s.handleCreatePayment))
		r.With(read).Get("/payments", s.handle(s.handleListPayments))
		r.With(read).Get("/payments/{id}", s.handle(s.handleGetPayment))
		r.With(pay).Post("/payments/{id}/void", s.handle(s.adjust(s.svc.Void, false)))
		r.With(pay).Post("/payments/{id}/refund", s.handle(s.adjust(s.svc.Refund, true)))
		r.With(pay).Post("/payments/{id}/cancel", s.handle(s.adjust(s.svc.Cancel, false)))
		r.With(act).Post("/payments/{id}/resolve", s.handle(s.handleResolve))

		r.With(op).Post("/payments/{id}/settle", s.handle(s.handleSettle))
		r.With(op).Post("/payments/{id}/acknowledge-conflict", s.handle(s.handleAcknowledgeConflict))

		// Split sales exist only in VUK 507 (payment.Mode.SplitsSupported):
		// any split call in VUK 509 is 409 mode_unsupported, whatever its body.
		split := r.With(pay, s.splitsOnly)
		split.Post("/split-sales", s.handle(s.handleStartSplit))
		split.Post("/split-sales/{id}/payments", s.handle(s.handleAddSplitPayment))
		split.Post("/split-sales/{id}/complete", s.handle(s.handleCompleteSplit))
		split.Post("/split-sales/{id}/cancel", s.handle(s.handleCancelSplit))

		r.With(read).Get("/terminals", s.handleTerminals)
		r.With(read).Get("/terminals/{id}", s.handle(s.handleTerminal))
		r.With(act).Post("/terminals/{id}/end-of-day", s.handle(s.handleEndOfDay))
		r.With(read).Get("/terminals/{id}/end-of-day", s.handle(s.handleEndOfDays))
		r.With(read).Get("/end-of-day/{id}", s.handle(s.handleEndOfDayByID))

		r.With(read).Get("/events", s.handle(s.handleEvents))

		// A backup holds the whole journal, and a compaction holds every
		// lane: both are the operator's.
		r.With(op).Get("/admin/backup", s.handle(s.handleBackup))
		r.With(op).Post("/admin/compact", s.handle(s.handleCompact))
	})
	return r
}

// splitsOnly answers a split call with payment's refusal in a mode without
// split sales, before its body is read.
func (s *server) splitsOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.svc.Mode().SplitsSupported(); err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// noStore adds Cache-Control: no-store, which every answer carries.
func noStore(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}
