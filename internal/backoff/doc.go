// Package backoff owns one rule: how long to wait after failures in a row. A
// delay doubles from a minimum to a maximum, optionally scaled by a random
// factor so that many waiters do not retry in lockstep. The reconciler's
// status queries and the upstream token owner's renewals and logins use it.
//
// It is a leaf: it must never import bbolt, chi, net/http, or another bridged package.
package backoff
