// Package server owns bridged's local HTTP surface: the chi route tree, handlers,
// middleware (auth, host/origin guard, limits, request id, logging) and the one
// mapping from domain errors to problem responses (writeError, which handlers
// return their errors to through handle, and which shows an error's public
// part only).
//
// Handlers call payment; they must never import store, upstream, simulator or bbolt.
package server
