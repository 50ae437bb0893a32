// Package health holds the two reports the iyzico client gives of itself to
// the local API (/readyz, the status page): the token's state and what the
// calls made so far say about iyzico. upstream.Client gives both; the server
// asks for them through its TokenReporter and UpstreamReporter and builds its
// answers from them, so that the wiring hands the client over instead of
// copying its fields. It imports nothing of bridged: neither upstream nor the
// server imports the other.
package health
