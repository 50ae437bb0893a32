package payment

import (
	"errors"
	"fmt"
	"time"
)

// Domain errors. server maps each to one HTTP status and problem code.
var (
	ErrNotFound             = errors.New("not found")
	ErrDuplicateKey         = errors.New("idempotency key already used")
	ErrIdempotencyKeyReused = errors.New("idempotency key reused with a different request")
	ErrKeyRequired          = errors.New("an Idempotency-Key header or a reference is required")
	ErrTerminalBusy         = errors.New("terminal is busy with another operation")
	ErrTerminalBlocked      = errors.New("terminal has an unresolved unknown operation")
	ErrUnknownTerminal      = errors.New("unknown terminal")
	ErrStorageFailure       = errors.New("storage failure: bridged has stopped taking money operations")
	ErrModeUnsupported      = errors.New("operation not supported in this mode")
	ErrNotVoidable          = errors.New("payment cannot be voided")
	ErrNotRefundable        = errors.New("payment cannot be refunded")
	ErrRefundExceeds        = errors.New("refund exceeds the refundable amount")
	ErrAmountOutOfRange     = errors.New("amount out of range")
	ErrShuttingDown         = errors.New("bridged is shutting down")
)

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
}

func (e *BusyError) Error() string { return fmt.Sprintf("terminal %s: %v", e.Terminal, e.Err) }
func (e *BusyError) Unwrap() error { return e.Err }
