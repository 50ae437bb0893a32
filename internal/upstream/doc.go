// Package upstream is bridged's only door to the iyzico Terminal API: a typed
// request and response per endpoint, the OAuth2 token lifecycle (the token
// owner, a type of its own beside the Client that asks it for tokens), and the
// classification of every answer (approved, declined, unknown, not sent, auth).
// The credentials arrive as secret.Values and are revealed only where the
// authorize form and the Basic header are built.
//
// It implements interfaces defined by payment. It must never import server, store,
// simulator or chi.
package upstream
