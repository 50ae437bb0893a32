// Package payment owns bridged's domain: exact money, the states and outcomes of a
// money operation, the domain errors, and the service that journals an operation,
// forwards it upstream and records its outcome, with per-terminal lanes and the
// reconciler that settles unknown outcomes.
//
// It defines the interfaces that store and upstream implement. It must never
// import bbolt, chi, net/http or any other bridged package except idempotency,
// backoff and publicerr (its refusals are public errors: text safe to show).
package payment
