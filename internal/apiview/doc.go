// Package apiview turns the domain's operation into the API's wire type
// (internal/apitype): the server answers with it, and the operator verbs,
// reading the journal directly while the daemon is stopped, show an
// operation exactly as the API would. It owns that one conversion and the
// card type's one vocabulary; the server's other views stay in the server.
package apiview
