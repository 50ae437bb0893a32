package publicerr

import (
	"errors"
	"fmt"
)

// Error is an error whose public message is safe to show to a client. Its
// parent (the refusal it details) and its cause (what went wrong below)
// are wrapped: errors.Is and errors.As find them, and the cause's text is
// never part of the public message.
type Error struct {
	public string
	parent *Error // its public message begins this one's
	cause  error  // hidden from clients; shown by Error, for the log
}

// New returns a public error with a fixed message: a refusal's sentinel.
func New(public string) *Error { return &Error{public: public} }

// Wrap returns a public error saying public, which hides cause: cause's
// text goes to the log (Error), never to a client (Message).
func Wrap(cause error, public string) *Error { return &Error{public: public, cause: cause} }

// Withf details e: the public message is e's, a colon, and the formatted
// detail, and the result matches e with errors.Is. The arguments are the
// domain's own values (amounts, states, dates, ids): never an error, whose
// text nobody declared public.
func (e *Error) Withf(format string, args ...any) *Error {
	return &Error{public: e.public + ": " + fmt.Sprintf(format, args...), parent: e}
}

// Because is e caused by cause: the same public message, and the result
// matches both e and cause with errors.Is, while cause's text stays hidden.
func (e *Error) Because(cause error) *Error {
	return &Error{public: e.public, parent: e, cause: cause}
}

// Error is for the log: the public message, then the hidden cause's text.
func (e *Error) Error() string {
	if e.cause == nil {
		return e.public
	}
	return e.public + ": " + e.cause.Error()
}

// Unwrap returns the parent and the cause, so that errors.Is and errors.As
// match either.
func (e *Error) Unwrap() []error {
	var out []error
	if e.parent != nil {
		out = append(out, e.parent)
	}
	if e.cause != nil {
		out = append(out, e.cause)
	}
	return out
}

// Message is the public message of the first public error in err's chain,
// or false when err holds none: then nothing of err may be shown.
func Message(err error) (string, bool) {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.public, true
	}
	return "", false
}
