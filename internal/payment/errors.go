package payment

import (
	"errors"
	"fmt"
	"time"

	"github.com/bridgedpos/bridged/internal/publicerr"
)

// Domain errors. server maps each to one HTTP status and problem code.
//
// The refusals are public errors (publicerr): their text, and the detail
// each refusal adds with Withf (amounts, states, durations, dates and ids,
// never a lower layer's error), is what the client reads; a lower layer's
// error rides along with Because, hidden. The rest are internal: the server
// never shows their text.
var (
	ErrNotFound             = publicerr.New("not found")
	ErrIdempotencyKeyReused = publicerr.New("idempotency key reused with a different request")
	ErrKeyRequired          = publicerr.New("an Idempotency-Key header or a reference is required")
	ErrTerminalBusy         = publicerr.New("terminal is busy with another operation")
	ErrTerminalBlocked      = publicerr.New("terminal has an unresolved unknown operation")
	ErrUnknownTerminal      = publicerr.New("unknown terminal")
	ErrStorageFailure       = publicerr.New("storage failure: bridged has stopped taking money operations")
	ErrModeUnsupported      = publicerr.New("operation not supported in this mode")
	ErrNotVoidable          = publicerr.New("payment cannot be voided")
	ErrNotRefundable        = publicerr.New("payment cannot be refunded")
	ErrRefundExceeds        = publicerr.New("refund exceeds the refundable amount")
	// ErrAmountOutOfRange: a split sale's part of more than remains to be
	// paid, while something remains (a smaller amount would do).
	ErrAmountOutOfRange = publicerr.New("amount out of range")
	ErrSplitClosed      = publicerr.New("split sale is not open")
	// ErrSplitUnpaid: a split sale completed while an amount remains to be
	// paid; a state of the split sale, not a wrong amount.
	ErrSplitUnpaid = publicerr.New("split sale not fully paid")
	// ErrSplitPaid: a part added to a split sale with nothing left to pay;
	// a state of the split sale (no amount would do), not a wrong amount.
	ErrSplitPaid     = publicerr.New("split sale fully paid")
	ErrNotCapturable = publicerr.New("pre-authorisation cannot be captured")
	ErrShuttingDown  = publicerr.New("bridged is shutting down")
	// ErrCancelled is a money call whose caller went away (hung up, timed
	// out) before its intent was journaled: nothing was written or sent.
	ErrCancelled = publicerr.New("request cancelled before it was journaled")
)

// Internal errors: the server answers them internal_error.
var (
	ErrDuplicateKey = errors.New("idempotency key already used")
	// ErrAlreadyFinal matches a *FinalError: a final state is never overwritten.
	ErrAlreadyFinal = errors.New("operation is final already")
	// ErrPaymentIDConflict matches a *PaymentIDConflictError.
	ErrPaymentIDConflict = errors.New("iyzico paymentId is owned by another operation")
)

// FinalError is Record's refusal to overwrite a final state; Stored is the
// operation as the journal holds it.
type FinalError struct {
	Stored *Operation
}

func (e *FinalError) Error() string {
	return fmt.Sprintf("operation %s is %s already", e.Stored.ID, e.Stored.State)
}

// Is makes a FinalError match ErrAlreadyFinal.
func (e *FinalError) Is(target error) bool { return target == ErrAlreadyFinal }

// PaymentIDConflictError is Record's refusal to record an approval whose
// iyzico paymentId another operation owns: one of the two answers is about
// another transaction.
type PaymentIDConflictError struct {
	PaymentID string
	OpID      string
	Owners    []string // the other operations holding it
}

func (e *PaymentIDConflictError) Error() string {
	return fmt.Sprintf("paymentId %s of operation %s is owned by %v already", e.PaymentID, e.OpID, e.Owners)
}

// Is makes a PaymentIDConflictError match ErrPaymentIDConflict.
func (e *PaymentIDConflictError) Is(target error) bool { return target == ErrPaymentIDConflict }

// CodeDeviceTimeout is iyzico's TIMEOUT_ERROR: the device did not answer in time.
const CodeDeviceTimeout = "380103"

// CodeNoAnswer is how terminal health files an upstream call that got no
// answer at all (cut connection, timeout): it is not iyzico's code.
const CodeNoAnswer = "no_answer"

// ValidationError lists every problem with a request, by field.
type ValidationError struct {
	Problems []FieldProblem
}

// FieldProblem is one invalid field.
type FieldProblem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid request: %d problem(s), first %s: %s", len(e.Problems), e.Problems[0].Field, e.Problems[0].Message)
}

func (e *ValidationError) add(field, format string, args ...any) {
	e.Problems = append(e.Problems, FieldProblem{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (e *ValidationError) orNil() error {
	if e == nil || len(e.Problems) == 0 {
		return nil
	}
	return e
}

// BusyError carries when a busy or blocked terminal is worth asking again.
type BusyError struct {
	Err        error // ErrTerminalBusy or ErrTerminalBlocked
	Terminal   string
	RetryAfter time.Duration
	// Unknown names the operations that block the terminal (ErrTerminalBlocked).
	Unknown []string
}

func (e *BusyError) Error() string { return fmt.Sprintf("terminal %s: %v", e.Terminal, e.Err) }
func (e *BusyError) Unwrap() error { return e.Err }
