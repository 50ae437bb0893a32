package upstream

import "time"

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

// CallStatus says whether iyzico is reachable, from the calls made.
type CallStatus struct {
	// LastAnswer is when iyzico last answered a call (any HTTP status).
	LastAnswer time.Time `json:"last_answer"`
	// LastSuccess is when a call last succeeded.
	LastSuccess time.Time `json:"last_success"`
	// LastFailure and LastFailureReason describe the last call that got no
	// answer at all (connection refused, timeout, cut connection).
	LastFailure       time.Time `json:"last_failure"`
	LastFailureReason string    `json:"last_failure_reason,omitempty"`
	// LastServerError is when iyzico last answered with a 5xx, and its status:
	// iyzico is reachable but failing.
	LastServerError       time.Time `json:"last_server_error"`
	LastServerErrorStatus int       `json:"last_server_error_status,omitempty"`
	Calls                 int64     `json:"calls"`
}

// ServerErrors reports whether iyzico's latest answer was a 5xx.
func (s CallStatus) ServerErrors() bool {
	return !s.LastServerError.IsZero() && !s.LastSuccess.After(s.LastServerError)
}

// Reachable is false when the last call got no answer from iyzico.
func (s CallStatus) Reachable() bool {
	return s.LastFailure.IsZero() || s.LastAnswer.After(s.LastFailure)
}

// CallStatus reports what the calls made so far say about iyzico.
func (c *Client) CallStatus() CallStatus {
	c.callMu.Lock()
	defer c.callMu.Unlock()
	return c.calls
}

func (c *Client) observe(r CallRecord) {
	now := c.cfg.Now()
	c.callMu.Lock()
	c.calls.Calls++
	switch {
	case !r.Answered():
		c.calls.LastFailure = now
		c.calls.LastFailureReason = string(r.Reason)
	case r.HTTPStatus >= 500:
		c.calls.LastAnswer = now
		c.calls.LastServerError, c.calls.LastServerErrorStatus = now, r.HTTPStatus
	default:
		c.calls.LastAnswer = now
	}
	if r.Class == Approved {
		c.calls.LastSuccess = now
	}
	c.callMu.Unlock()
	if c.cfg.OnCall != nil {
		c.cfg.OnCall(r)
	}
}
