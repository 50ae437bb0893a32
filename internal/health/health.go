package health

import "time"

// Token is the iyzico token's state. It holds no token.
type Token struct {
	Valid  bool
	Expiry time.Time
	// Failure is the last login's failure as a code (upstream's reason,
	// such as auth_failed or timeout), never its text: `bridged doctor`
	// shows iyzico's words to the operator.
	Failure string
}

// Upstream is what the calls made so far say about iyzico.
type Upstream struct {
	Reachable bool
	// ServerErrors: iyzico answers, but its latest answer was a 5xx (status ServerErrorStatus).
	ServerErrors      bool
	ServerErrorStatus int
	LastAnswer        time.Time
	LastSuccess       time.Time
	LastFailure       time.Time
	LastFailureReason string
}
