// Package publicerr owns "safe to show": an error type whose message is
// public (a client may read it) and whose wrapped cause never is. payment
// builds its refusals with it; the server's one error writer
// (server.writeError) reads only Message, never Error, so text that no one
// declared public cannot reach a client. The idea is Tailscale's
// util/vizerror; the shape is bridged's: a refusal is a sentinel (New), a
// sentinel with a public detail (Withf), or a sentinel with a hidden cause
// (Because), and errors.Is and errors.As see through each.
//
// It is a leaf: the standard library only (archtest holds it to that).
package publicerr
