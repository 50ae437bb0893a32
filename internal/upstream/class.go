package upstream

// Class is what one call to iyzico proved about its outcome. Every call ends in
// exactly one class; docs/upstream.md has the full table of how an answer (or
// the lack of one) maps to a class and why.
//
// The zero value is Unknown on purpose: a Class that nobody set can never claim
// that money moved or that it did not.
type Class int

const (
	// Unknown: the request may have reached the device and nothing proves what
	// happened (timeout, cut connection after the request was written, 5xx,
	// an unreadable answer, 380103, 380202, 380203, 380205, a token error
	// outside an HTTP 401, an undocumented code, ...). Settle it with a
	// status query using the same transactionReferenceId; never resend.
	Unknown Class = iota
	// Approved: HTTP 2xx and status SUCCESS/success. For a status query it
	// means the queried transaction succeeded; for end of day and
	// refundable-sale-info that the call succeeded.
	Approved
	// Declined: positive evidence that the operation did not happen: an HTTP
	// answer with status FAILURE/failure and a bank, payment, business or
	// validation error (a documented decline code when VUK 507 gives no
	// group). For a status query: iyzico's record of the queried transaction
	// says it failed.
	Declined
	// NotSent: iyzico refused the request before any device could act on it
	// (no byte written, dial error, a token refused with HTTP 401, busy
	// terminal, unknown device, request invalid before sending). Nothing
	// moved; the caller may try again with a new reference.
	NotSent
	// AuthFailed: iyzico rejected bridged's credentials, or the session stayed
	// rejected after a fresh login. Nothing was sent to a device.
	AuthFailed
	// NotFound: a status query or refundable-sale-info answered that iyzico
	// has no such payment (380107, 380108, 380109). Only these read-only calls
	// produce it; the reconciler turns "not found after a grace period" into
	// declined.
	NotFound
)

var classNames = [...]string{
	Unknown:    "unknown",
	Approved:   "approved",
	Declined:   "declined",
	NotSent:    "not_sent",
	AuthFailed: "auth_failed",
	NotFound:   "not_found",
}

// String is the class's stable snake_case name, as logged.
func (c Class) String() string {
	if c < 0 || int(c) >= len(classNames) {
		return "unknown"
	}
	return classNames[c]
}

// MarshalText renders the class by name.
func (c Class) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// Sent reports whether the request may have been acted on by iyzico or the
// device: false only for NotSent and AuthFailed.
func (c Class) Sent() bool { return c != NotSent && c != AuthFailed }

// Final reports whether the class settles a money operation without a query:
// Approved, Declined, NotSent and AuthFailed. Unknown (and NotFound, which only
// read-only calls produce) are not final.
func (c Class) Final() bool {
	switch c {
	case Approved, Declined, NotSent, AuthFailed:
		return true
	}
	return false
}
