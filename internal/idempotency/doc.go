// Package idempotency owns the rules of the Idempotency-Key header: key
// checks and scoping, request fingerprints, the replay / join / conflict
// decision, and the in-flight table of the keys whose operation runs in this
// process (Table: claim, join, release). The journal is reached through the
// small Journal interface; payment supplies it and the lock that Table's
// doc asks of its caller (docs/decisions.md, "the service lock").
//
// It is pure logic: it must never import bbolt, chi, net/http, or another bridged package.
package idempotency
