package upstream

import (
	"time"

	"github.com/bridgedpos/bridged/internal/health"
)

// CallRecord is one finished call, as health and metrics see it. It carries
// no request data beyond the operation and device.
type CallRecord struct {
	Op         string
	Device     string
	Class      Class
	HTTPStatus int
	Code       string
	Group      string
	Reason     Reason
	Duration   time.Duration
}

// Answered reports whether iyzico answered at all (any HTTP status), as
// opposed to a connection that failed or timed out without an answer.
func (r CallRecord) Answered() bool { return r.HTTPStatus != 0 }

// callStatus is what the calls made so far say about iyzico.
type callStatus struct {
	// lastAnswer is when iyzico last answered a call (any HTTP status).
	lastAnswer time.Time
	// lastSuccess is when a call last succeeded.
	lastSuccess time.Time
	// lastFailure and lastFailureReason describe the last call that got no
	// answer at all (connection refused, timeout, cut connection).
	lastFailure       time.Time
	lastFailureReason string
	// lastServerError is when iyzico last answered with a 5xx, and its status:
	// iyzico is reachable but failing.
	lastServerError       time.Time
	lastServerErrorStatus int
}

// TokenHealth reports the token's state (server.TokenReporter): its
// failure as a reason code, never the text.
func (c *Client) TokenHealth() health.Token {
	s := c.TokenStatus()
	return health.Token{Valid: s.Valid, Expiry: s.Expiry, Failure: string(s.LastErrorReason)}
}

// UpstreamHealth reports what the calls made so far say about iyzico
// (server.UpstreamReporter): unreachable when the last call got no answer,
// failing when its latest answer was a 5xx.
func (c *Client) UpstreamHealth() health.Upstream {
	c.callMu.Lock()
	s := c.calls
	c.callMu.Unlock()
	return health.Upstream{
		Reachable:         s.lastFailure.IsZero() || s.lastAnswer.After(s.lastFailure),
		ServerErrors:      !s.lastServerError.IsZero() && !s.lastSuccess.After(s.lastServerError),
		ServerErrorStatus: s.lastServerErrorStatus,
		LastAnswer:        s.lastAnswer, LastSuccess: s.lastSuccess,
		LastFailure: s.lastFailure, LastFailureReason: s.lastFailureReason,
	}
}

func (c *Client) observe(r CallRecord) {
	now := c.cfg.Now()
	c.callMu.Lock()
	switch {
	case !r.Answered():
		c.calls.lastFailure = now
		c.calls.lastFailureReason = string(r.Reason)
	case r.HTTPStatus >= 500:
		c.calls.lastAnswer = now
		c.calls.lastServerError, c.calls.lastServerErrorStatus = now, r.HTTPStatus
	default:
		c.calls.lastAnswer = now
	}
	if r.Class == Approved {
		c.calls.lastSuccess = now
	}
	c.callMu.Unlock()
	if c.cfg.OnCall != nil {
		c.cfg.OnCall(r)
	}
}
