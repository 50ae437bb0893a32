// Package idempotency owns the rules of the Idempotency-Key header: key scoping,
// request fingerprints, and the replay / join / conflict decisions.
//
// It is pure logic: it must never import bbolt, chi, net/http, or another bridged package.
package idempotency
