package server

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/bridgedpos/bridged/internal/apitype"
	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/publicerr"
)

// handlerFunc is a handler that returns its error instead of answering it
// (as Caddy's AdminHandlerFunc): s.handle hands every such error to
// writeError, the one place that turns an error into an answer.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts h to net/http: an error h returns is answered by writeError.
// A handler returns an error only before it has written anything.
func (s *server) handle(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}
}

// writeError is the one mapping from domain errors to HTTP status and problem
// code. The client gets a fixed detail or the error's public part
// (publicerr), never its text; the log gets the cause.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ve *payment.ValidationError
	var be *payment.BusyError
	switch {
	case errors.As(err, &ve):
		writeInvalid(w, r, ve)
		return
	case errors.As(err, &be):
		writeBusy(w, r, err, be)
		return
	}
	for _, rf := range refusals {
		if !errors.Is(err, rf.err) {
			continue
		}
		if rf.logMsg != "" {
			s.log.Error().Err(err).Str("request_id", requestIDOf(r)).Msg(rf.logMsg)
		}
		if rf.retryAfter != "" {
			w.Header().Set("Retry-After", rf.retryAfter)
		}
		detail := rf.detail
		if detail == "" {
			detail = publicDetail(err, rf.title)
		}
		writeProblem(w, r, rf.status, rf.code, rf.title, detail)
		return
	}
	s.log.Error().Err(err).Str("request_id", requestIDOf(r)).Str("path", r.URL.Path).Msg("unexpected error")
	writeProblem(w, r, http.StatusInternalServerError, "internal_error", "Internal error", "bridged failed to handle the request; see its log")
}

// publicDetail is the public part of err (publicerr), never its text: an
// error that carries no public part shows only the refusal's title.
func publicDetail(err error, title string) string {
	if msg, ok := publicerr.Message(err); ok {
		return msg
	}
	return title
}

// refusal is the answer to an error that is (or wraps) err. An empty detail
// shows the error's public part (publicerr): payment builds its refusals as
// public errors from amounts, states, durations, dates and ids, and hides
// any lower layer's error as their cause.
type refusal struct {
	err        error
	status     int
	code       string
	title      string
	detail     string
	retryAfter string // seconds, when a retry makes sense
	logMsg     string // when set, the cause goes to the log with this message
}

// refusals are checked in order; the first that matches answers.
var refusals = []refusal{
	{err: errNoStreaming, status: http.StatusInternalServerError, code: "internal_error", title: "Streaming unsupported", detail: "this connection cannot stream"},
	{err: errLastEventID, status: http.StatusBadRequest, code: "invalid_request", title: "Invalid Last-Event-ID",
		detail: "Last-Event-ID must be an event id this feed sent"},
	{err: errPageRemote, status: http.StatusForbidden, code: "forbidden_remote", title: "Status page is local only",
		detail: "open the status page on the machine that runs bridged; /readyz and /metrics serve monitoring"},
	{err: errLoginRemote, status: http.StatusForbidden, code: "forbidden_remote", title: "Status page is local only",
		detail: "log in to the status page on the machine that runs bridged"},
	{err: errLoginMediaType, status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", title: "Unsupported media type",
		detail: "post the login form (application/x-www-form-urlencoded)"},
	{err: errPageScope, status: http.StatusForbidden, code: "forbidden_scope", title: "Scope read or operate required"},
	{err: errPageRender, status: http.StatusInternalServerError, code: "internal_error", title: "Internal error",
		detail: "bridged failed to render the status page; see its log", logMsg: "render status page"},
	{err: errNoUpkeep, status: http.StatusServiceUnavailable, code: "unavailable", title: "No journal upkeep here"},
	{err: errBadForce, status: http.StatusBadRequest, code: "invalid_request", title: "Invalid force", detail: "force is true or false"},
	{err: errCompaction, status: http.StatusServiceUnavailable, code: "unavailable", title: "Compaction failed",
		detail: "the journal was not compacted; see bridged's log", logMsg: "journal compaction failed"},
	{err: errTooLarge, status: http.StatusRequestEntityTooLarge, code: "payload_too_large", title: "Request body too large",
		detail: "the body must be at most 64 KiB"},
	{err: errMediaType, status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", title: "Unsupported media type",
		detail: "send Content-Type: application/json"},
	{err: payment.ErrKeyRequired, status: http.StatusBadRequest, code: "idempotency_key_required", title: "Idempotency key required",
		detail: "send an Idempotency-Key header, or a reference in the body, so that a retry can never charge twice"},
	{err: payment.ErrIdempotencyKeyReused, status: http.StatusUnprocessableEntity, code: "idempotency_key_reused", title: "Idempotency key reused",
		detail: "this key was already used for a different request; use a new key for a new operation"},
	{err: payment.ErrStorageFailure, status: http.StatusServiceUnavailable, code: "storage_failure", title: "Storage failure",
		detail: "bridged cannot write its journal and has stopped taking money operations; see /readyz and the log", logMsg: "storage failure"},
	{err: payment.ErrNotFound, status: http.StatusNotFound, code: "not_found", title: "Not found", detail: "no payment or report with that id"},
	{err: payment.ErrUnknownTerminal, status: http.StatusNotFound, code: "unknown_terminal", title: "Unknown terminal",
		detail: "no terminal with that id is configured"},
	{err: payment.ErrModeUnsupported, status: http.StatusConflict, code: "mode_unsupported", title: "Not supported in this mode"},
	{err: payment.ErrNotVoidable, status: http.StatusConflict, code: "not_voidable", title: "Payment cannot be voided"},
	{err: payment.ErrNotRefundable, status: http.StatusConflict, code: "not_refundable", title: "Payment cannot be refunded"},
	{err: payment.ErrRefundExceeds, status: http.StatusUnprocessableEntity, code: "refund_exceeds", title: "Refund exceeds the refundable amount"},
	{err: payment.ErrAmountOutOfRange, status: http.StatusUnprocessableEntity, code: "amount_out_of_range", title: "Amount out of range"},
	// The caller went away before its intent was journaled: nothing
	// happened, and the store is fine. Whoever still listens may retry.
	{err: payment.ErrCancelled, status: http.StatusServiceUnavailable, code: "cancelled", title: "Request cancelled",
		detail: "the request ended before bridged journaled it; nothing was sent; send it again with the same key", retryAfter: "1"},
	{err: payment.ErrNotSettleable, status: http.StatusConflict, code: "not_settleable", title: "Cannot be settled by an operator"},
	{err: payment.ErrSplitClosed, status: http.StatusConflict, code: "split_sale_closed", title: "Split sale not open"},
	{err: payment.ErrSplitUnpaid, status: http.StatusConflict, code: "split_sale_unpaid", title: "Split sale not fully paid"},
	{err: payment.ErrSplitPaid, status: http.StatusConflict, code: "split_sale_paid", title: "Split sale fully paid"},
	{err: payment.ErrNotCapturable, status: http.StatusConflict, code: "not_capturable", title: "Pre-authorisation cannot be captured"},
	{err: payment.ErrShuttingDown, status: http.StatusServiceUnavailable, code: "shutting_down", title: "Shutting down",
		detail: "bridged is stopping; try again shortly", retryAfter: "5"},
}

// writeInvalid answers a validation error with every field problem.
func writeInvalid(w http.ResponseWriter, r *http.Request, ve *payment.ValidationError) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusBadRequest)
	writeBody(w, apitype.ValidationProblem{
		Problem: apitype.Problem{Type: problemType("invalid_request"), Title: "Invalid request", Status: http.StatusBadRequest,
			Detail: "the request has " + strconv.Itoa(len(ve.Problems)) + " problem(s); see errors", Code: "invalid_request",
			RequestID: requestIDOf(r)},
		Errors: fieldProblems(ve.Problems),
	})
}

// writeBusy answers a terminal that is running another operation, or is
// blocked by unknown outcomes (listed), with a Retry-After.
func writeBusy(w http.ResponseWriter, r *http.Request, err error, be *payment.BusyError) {
	secs := int(be.RetryAfter.Seconds())
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	if !errors.Is(err, payment.ErrTerminalBlocked) {
		writeProblem(w, r, http.StatusConflict, "terminal_busy", "Terminal busy",
			"terminal "+be.Terminal+" is running another operation; try again after Retry-After seconds")
		return
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusConflict)
	writeBody(w, apitype.BlockedProblem{
		Problem: apitype.Problem{Type: problemType("terminal_blocked"), Title: "Terminal blocked by an unknown outcome", Status: http.StatusConflict,
			Detail: "terminal " + be.Terminal + " has " + strconv.Itoa(len(be.Unknown)) + " operation(s) whose outcome iyzico has not confirmed (listed in unknown); " +
				"bridged keeps asking iyzico and the terminal takes new operations once they are settled. If iyzico cannot settle one (its reason says so), " +
				"check the terminal's slip or transaction list and settle it: bridged tx settle ID --outcome approved|declined --evidence TEXT --by NAME " +
				"(POST /v1/payments/{id}/settle with an operate key)",
			Code: "terminal_blocked", RequestID: requestIDOf(r)},
		Terminal: be.Terminal,
		Unknown:  append([]string{}, be.Unknown...),
	})
}
