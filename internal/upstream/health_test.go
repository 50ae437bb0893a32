package upstream

import (
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/secret"
)

// TestUpstreamHealthFollowsTheCalls: what the server shows of iyzico is
// the calls' record: no call yet is reachable; a call without an answer
// makes it unreachable until one is answered; a 5xx answer is reachable but
// failing until a call succeeds.
func TestUpstreamHealthFollowsTheCalls(t *testing.T) {
	clk := newClock()
	c, err := New(Config{BaseURL: "https://sandbox-api.iyzipay.com", Now: clk.Now,
		Credentials: Credentials{ClientID: testClientID, ClientSecret: secret.New(testSecret), Username: testUser, Password: secret.New(testPassword)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h := c.UpstreamHealth(); !h.Reachable || h.ServerErrors || !h.LastAnswer.IsZero() {
		t.Fatalf("before any call: %+v", h)
	}
	c.observe(CallRecord{Op: "payment", Reason: "timeout"})
	failed := clk.Now()
	if h := c.UpstreamHealth(); h.Reachable || h.LastFailure != failed || h.LastFailureReason != "timeout" {
		t.Fatalf("after a call without an answer: %+v", h)
	}
	clk.Advance(time.Second)
	c.observe(CallRecord{Op: "payment", HTTPStatus: 503})
	if h := c.UpstreamHealth(); !h.Reachable || !h.ServerErrors || h.ServerErrorStatus != 503 || h.LastAnswer != clk.Now() {
		t.Fatalf("after a 503: %+v", h)
	}
	clk.Advance(time.Second)
	c.observe(CallRecord{Op: "payment", HTTPStatus: 200, Class: Approved})
	if h := c.UpstreamHealth(); !h.Reachable || h.ServerErrors || h.LastSuccess != clk.Now() || h.LastFailure != failed {
		t.Fatalf("after a success: %+v", h)
	}
}
