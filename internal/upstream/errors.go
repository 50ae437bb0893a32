package upstream

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Reason is a short, stable, machine-readable cause inside a Class. It is our
// own vocabulary (never iyzico text), so it is safe to log and to show.
type Reason string

// The reasons a call can end with.
const (
	// ReasonAnswered: iyzico answered with a readable body; Code and Group say more.
	ReasonAnswered Reason = "answered"
	// ReasonInvalidRequest: the request broke the spec and was not sent.
	ReasonInvalidRequest Reason = "invalid_request"
	// ReasonNotConnected: no byte of the request was written (dial error,
	// connection refused, TLS failure, or the context ended first).
	ReasonNotConnected Reason = "not_connected"
	// ReasonTimeout: the deadline passed after the request was written.
	ReasonTimeout Reason = "timeout"
	// ReasonCanceled: the caller's context was canceled after the request was written.
	ReasonCanceled Reason = "canceled"
	// ReasonConnectionLost: the connection broke after the request was written.
	ReasonConnectionLost Reason = "connection_lost"
	// ReasonHTTPStatus: an HTTP status without a usable iyzico answer (5xx, 3xx, ...).
	ReasonHTTPStatus Reason = "http_status"
	// ReasonUnparseable: the answer's body could not be read as iyzico JSON.
	ReasonUnparseable Reason = "unparseable_body"
	// ReasonInconsistent: a success status that its own answer contradicts
	// (an HTTP status other than 200, or an errorCode on a success).
	ReasonInconsistent Reason = "inconsistent_answer"
	// ReasonReferenceMismatch: the answer names a transactionReferenceId (or,
	// for a query, a paymentId) other than the request's, or one that is
	// neither a string nor a number: it is (or may be) about something else,
	// and proves nothing about this request.
	ReasonReferenceMismatch Reason = "reference_mismatch"
	// ReasonUnauthorized: the access token was refused (HTTP 401, 100310,
	// 100311). On HTTP 401 the request is resent once; in any other answer the
	// device may have acted, so the class is Unknown and nothing is resent.
	ReasonUnauthorized Reason = "unauthorized"
	// ReasonSessionTerminated: 380204, iyzico ended the login session. As for
	// ReasonUnauthorized, only an HTTP 401 answer is resent.
	ReasonSessionTerminated Reason = "session_terminated"
	// ReasonRefusedAfterResend: after the one resend, iyzico refused the request
	// on its merits (BUSINESS_ERROR, VALIDATION_ERROR, e.g. "reference already
	// used") or as busy. The refusal may be about the first attempt having been
	// seen after all, so it proves nothing: Unknown.
	ReasonRefusedAfterResend Reason = "refused_after_resend"
	// ReasonNotFoundByOtherKey: a status query by transactionReferenceId was
	// answered "not found" by paymentId (380107) or orderId (380109), or with
	// a 380108 that does not name the reference asked for: it is no evidence
	// that iyzico lacks the transaction. Unknown.
	ReasonNotFoundByOtherKey Reason = "not_found_by_other_key"
	// ReasonUnknownCode: a BANK_ERROR or PAYMENT_ERROR answer with a code that
	// is not on the list of codes known to mean a refusal (declineCodes): the
	// exchange with the bank may not have completed. Unknown.
	ReasonUnknownCode Reason = "unknown_decline_code"
	// ReasonWrittenTwice: the request was written to the connection more
	// than once by a layer below bridged's single retry (an HTTP/2 stream
	// retry): whatever the answer, it may be about either copy. Unknown.
	ReasonWrittenTwice Reason = "written_twice"
	// ReasonTerminalBusy: 380201, the terminal is still running another operation.
	ReasonTerminalBusy Reason = "terminal_busy"
	// ReasonDeviceAppNotStarted: 380202, the device's payment application could
	// not start (known only by paraphrase: Unknown on the call itself; a query
	// that finds it recorded settles it as declined).
	ReasonDeviceAppNotStarted Reason = "device_app_not_started"
	// ReasonQueriedTimeout: a status query found the transaction recorded as
	// 380103: iyzico stopped waiting for the device, which may still have
	// approved. It stays Unknown until iyzico records more, or an operator
	// resolves it.
	ReasonQueriedTimeout Reason = "queried_timeout"
	// ReasonQueriedDeviceError: a status query found the transaction recorded
	// as 380203 or 380205 (the device's answer was empty or could not be
	// read): the device may have approved. It stays Unknown as for
	// ReasonQueriedTimeout.
	ReasonQueriedDeviceError Reason = "queried_device_error"
	// ReasonDeviceNotAllowed: 380101/380102, the device is unknown to or not
	// allowed for this login.
	ReasonDeviceNotAllowed Reason = "device_not_allowed"
	// ReasonCredentialsRejected: login refused the configured credentials.
	ReasonCredentialsRejected Reason = "credentials_rejected"
	// ReasonNoToken: no access token could be obtained (login unreachable, or
	// the token owner, Run, is not running).
	ReasonNoToken Reason = "no_token"
)

// ErrInvalidRequest is wrapped by every error about a request that was refused
// locally because it breaks the spec (a missing required field, a bad enum).
var ErrInvalidRequest = errors.New("invalid request")

// ErrNotRunning is wrapped when a call needed a token and the token owner (Run)
// did not answer before the call's deadline.
var ErrNotRunning = errors.New("token owner is not running")

// Error is the outcome of every call that is not Approved. It carries what
// iyzico said (HTTP status, errorCode, errorGroup, errorMessage) and what it
// means (Class). Its text never contains a credential, a code or a token.
//
// Read it with var e *upstream.Error; errors.As(err, &e).
type Error struct {
	// Op is the operation, e.g. "payment", "gmu.refund", "login".
	Op string
	// Class is what the call proved; see Class.
	Class Class
	// Reason is our own short cause inside the class.
	Reason Reason
	// HTTPStatus is the status of iyzico's answer; 0 when there was none.
	HTTPStatus int
	// Code is iyzico's errorCode ("" when none).
	Code string
	// Group is iyzico's errorGroup ("" when none; VUK 507 answers have none).
	Group string
	// Message is iyzico's errorMessage. iyzico documents it as fit to show.
	Message string
	// ConsumerMessage is iyzico's consumerErrorMessage (VUK 509 failures), the
	// end-user wording, when present.
	ConsumerMessage string
	// Resent reports that the request was sent a second time after iyzico
	// refused the first attempt's token (never after a possible device action).
	Resent bool
	// Err is the underlying cause, when there is one (a transport error, a
	// context error, ErrInvalidRequest).
	Err error
}

// Error renders the outcome for logs and operators, e.g.
// "upstream payment: declined (HTTP 200, BANK_ERROR 10051): Insufficient funds".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("upstream ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(e.Class.String())
	var details []string
	if e.HTTPStatus != 0 {
		details = append(details, "HTTP "+strconv.Itoa(e.HTTPStatus))
	}
	if code := strings.TrimSpace(e.Group + " " + e.Code); code != "" {
		details = append(details, code)
	}
	if e.Reason != "" && e.Reason != ReasonAnswered {
		details = append(details, string(e.Reason))
	}
	if len(details) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(details, ", "))
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// invalid builds the error for a request refused locally.
func invalid(op, format string, args ...any) *Error {
	return &Error{
		Op:     op,
		Class:  NotSent,
		Reason: ReasonInvalidRequest,
		Err:    fmt.Errorf("%w: "+format, append([]any{ErrInvalidRequest}, args...)...),
	}
}

// safeError is a cause whose text was scrubbed of secrets; it still unwraps to
// the original error so errors.Is(err, context.DeadlineExceeded) works.
type safeError struct {
	msg string
	err error
}

func (s *safeError) Error() string { return s.msg }
func (s *safeError) Unwrap() error { return s.err }
