package server

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/bridgedpos/bridged/internal/payment"
)

// blockedProblem is terminal_blocked with the operations that block.
type blockedProblem struct {
	problem
	Terminal string   `json:"terminal"`
	Unknown  []string `json:"unknown"`
}

// problemWithErrors is a problem document that lists invalid fields.
type problemWithErrors struct {
	problem
	Errors []payment.FieldProblem `json:"errors"`
}

// writeError is the one mapping from domain errors to HTTP status and problem
// code. The client gets a safe message; the log gets the cause.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ve *payment.ValidationError
	var be *payment.BusyError
	switch {
	case errors.As(err, &ve):
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusBadRequest)
		writeBody(w, problemWithErrors{
			problem: problem{Type: problemType("invalid_request"), Title: "Invalid request", Status: http.StatusBadRequest,
				Detail: "the request has " + strconv.Itoa(len(ve.Problems)) + " problem(s); see errors", Code: "invalid_request",
				RequestID: requestIDOf(r)},
			Errors: ve.Problems,
		})
	case errors.Is(err, errTooLarge):
		writeProblem(w, r, http.StatusRequestEntityTooLarge, "payload_too_large", "Request body too large",
			"the body must be at most 64 KiB")
	case errors.Is(err, errMediaType):
		writeProblem(w, r, http.StatusUnsupportedMediaType, "unsupported_media_type", "Unsupported media type",
			"send Content-Type: application/json")
	case errors.As(err, &be):
		secs := int(be.RetryAfter.Seconds())
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		if errors.Is(err, payment.ErrTerminalBlocked) {
			w.Header().Set("Content-Type", "application/problem+json")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusConflict)
			writeBody(w, blockedProblem{
				problem: problem{Type: problemType("terminal_blocked"), Title: "Terminal blocked by an unknown outcome", Status: http.StatusConflict,
					Detail: "terminal " + be.Terminal + " has " + strconv.Itoa(len(be.Unknown)) + " operation(s) whose outcome iyzico has not confirmed (listed in unknown); " +
						"bridged keeps asking iyzico and the terminal takes new operations once they are settled. If iyzico cannot settle one (its reason says so), " +
						"check the terminal's slip or transaction list and settle it: bridged tx settle ID --outcome approved|declined --evidence TEXT --by NAME " +
						"(POST /v1/payments/{id}/settle with an operate key)",
					Code: "terminal_blocked", RequestID: requestIDOf(r)},
				Terminal: be.Terminal,
				Unknown:  append([]string{}, be.Unknown...),
			})
			return
		}
		writeProblem(w, r, http.StatusConflict, "terminal_busy", "Terminal busy",
			"terminal "+be.Terminal+" is running another operation; try again after Retry-After seconds")
	case errors.Is(err, payment.ErrKeyRequired):
		writeProblem(w, r, http.StatusBadRequest, "idempotency_key_required", "Idempotency key required",
			"send an Idempotency-Key header, or a reference in the body, so that a retry can never charge twice")
	case errors.Is(err, payment.ErrIdempotencyKeyReused):
		writeProblem(w, r, http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency key reused",
			"this key was already used for a different request; use a new key for a new operation")
	case errors.Is(err, payment.ErrStorageFailure):
		s.log.Error().Err(err).Str("request_id", requestIDOf(r)).Msg("storage failure")
		writeProblem(w, r, http.StatusServiceUnavailable, "storage_failure", "Storage failure",
			"bridged cannot write its journal and has stopped taking money operations; see /readyz and the log")
	case errors.Is(err, payment.ErrNotFound):
		writeProblem(w, r, http.StatusNotFound, "not_found", "Not found", "no payment or report with that id")
	case errors.Is(err, payment.ErrUnknownTerminal):
		writeProblem(w, r, http.StatusNotFound, "unknown_terminal", "Unknown terminal", "no terminal with that id is configured")
	// The messages of these errors are built by payment from amounts, states
	// and dates only, never from a lower layer's error, so they are safe to show.
	case errors.Is(err, payment.ErrModeUnsupported):
		writeProblem(w, r, http.StatusConflict, "mode_unsupported", "Not supported in this mode", err.Error())
	case errors.Is(err, payment.ErrNotVoidable):
		writeProblem(w, r, http.StatusConflict, "not_voidable", "Payment cannot be voided", err.Error())
	case errors.Is(err, payment.ErrNotRefundable):
		writeProblem(w, r, http.StatusConflict, "not_refundable", "Payment cannot be refunded", err.Error())
	case errors.Is(err, payment.ErrRefundExceeds):
		writeProblem(w, r, http.StatusUnprocessableEntity, "refund_exceeds", "Refund exceeds the refundable amount", err.Error())
	case errors.Is(err, payment.ErrAmountOutOfRange):
		writeProblem(w, r, http.StatusUnprocessableEntity, "amount_out_of_range", "Amount out of range", err.Error())
	case errors.Is(err, payment.ErrCancelled):
		// The caller went away before its intent was journaled: nothing
		// happened, and the store is fine. Whoever still listens may retry.
		w.Header().Set("Retry-After", "1")
		writeProblem(w, r, http.StatusServiceUnavailable, "cancelled", "Request cancelled",
			"the request ended before bridged journaled it; nothing was sent; send it again with the same key")
	case errors.Is(err, payment.ErrNotSettleable):
		// The refusal's reason is built by payment from states and durations only.
		writeProblem(w, r, http.StatusConflict, "not_settleable", "Cannot be settled by an operator", err.Error())
	case errors.Is(err, payment.ErrSplitClosed):
		writeProblem(w, r, http.StatusConflict, "split_sale_closed", "Split sale not open", err.Error())
	case errors.Is(err, payment.ErrNotCapturable):
		writeProblem(w, r, http.StatusConflict, "not_capturable", "Pre-authorisation cannot be captured", err.Error())
	case errors.Is(err, payment.ErrShuttingDown):
		w.Header().Set("Retry-After", "5")
		writeProblem(w, r, http.StatusServiceUnavailable, "shutting_down", "Shutting down", "bridged is stopping; try again shortly")
	default:
		s.log.Error().Err(err).Str("request_id", requestIDOf(r)).Str("path", r.URL.Path).Msg("unexpected error")
		writeProblem(w, r, http.StatusInternalServerError, "internal_error", "Internal error", "bridged failed to handle the request; see its log")
	}
}
