// Package upstream is bridged's only door to the iyzico Terminal API: a typed
// request and response per endpoint, the OAuth2 token lifecycle, and the
// classification of every answer (approved, declined, unknown, not sent, auth).
//
// It implements interfaces defined by payment. It must never import server, store,
// simulator or chi.
package upstream
