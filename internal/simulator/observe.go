package simulator

import (
	"slices"
	"sync"
	"time"
)

// Request is the observation record of one request the simulator received. It
// never holds the Authorization header, a token, a credential or card data:
// only routing facts, the answer and the validation findings.
type Request struct {
	Time                   time.Time `json:"time"` // when it arrived, by the simulator clock
	Method                 string    `json:"method"`
	Path                   string    `json:"path"`
	Op                     string    `json:"op"` // an Op* constant; "" for an unknown path
	Device                 string    `json:"device,omitempty"`
	TransactionReferenceID string    `json:"transaction_reference_id,omitempty"`
	// Status is the HTTP status answered; 0 when no answer was sent.
	Status int `json:"status"`
	// Outcome says how the request ended: OutcomeAnswered, OutcomeReset,
	// OutcomeDropped or OutcomeAbandoned.
	Outcome   string    `json:"outcome"`
	ErrorCode string    `json:"error_code,omitempty"` // iyzico errorCode (or OAuth error) of the answer
	Faults    []string  `json:"faults,omitempty"`     // kinds of the faults applied to it
	Findings  []Finding `json:"findings"`
}

// Request outcomes.
const (
	OutcomeAnswered  = "answered"
	OutcomeReset     = "reset"     // FaultResetBeforeProcessing: connection cut, nothing processed
	OutcomeDropped   = "dropped"   // FaultCommitThenDrop: processed, then connection cut
	OutcomeAbandoned = "abandoned" // the client went away during the card wait; nothing processed
)

// Counters count the calls that matter for token handling.
type Counters struct {
	Authorize       int `json:"authorize"`        // calls to /authorize, successful or not
	TokenByCode     int `json:"token_by_code"`    // tokens issued by /token with grant_type=authorization_code
	TokenByRefresh  int `json:"token_by_refresh"` // tokens issued by /token with grant_type=refresh_token
	RefreshEndpoint int `json:"refresh_endpoint"` // tokens issued by /token/refresh
	OAuthFailures   int `json:"oauth_failures"`   // OAuth answers other than 200
	ServiceCalls    int `json:"service_calls"`    // calls to /v2/terminal-host/...
	TokenRejections int `json:"token_rejections"` // service calls refused with 100310, 100311 or 380204
}

// observer keeps what tests read back. It has its own lock so that reading the
// log never waits for the engine.
type observer struct {
	mu       sync.Mutex
	requests []Request
	charges  map[string]int
	total    int
	refunds  map[string]int
	refundN  int
	counters Counters
	notify   func(Request)
	secrets  []string // every token and code issued
}

func newObserver(notify func(Request)) *observer {
	return &observer{charges: map[string]int{}, refunds: map[string]int{}, notify: notify}
}

func (o *observer) record(r Request) {
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	o.mu.Lock()
	o.requests = append(o.requests, r)
	o.mu.Unlock()
	if o.notify != nil {
		o.notify(r)
	}
}

// charge counts one approved money movement under its reference.
func (o *observer) charge(ref string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.charges[ref]++
	o.total++
}

// refund counts one approved refund under its reference.
func (o *observer) refund(ref string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.refunds[ref]++
	o.refundN++
}

func (o *observer) count(f func(*Counters)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	f(&o.counters)
}

// secret notes an issued token or authorization code and returns it.
func (o *observer) secret(v string) string {
	o.mu.Lock()
	o.secrets = append(o.secrets, v)
	o.mu.Unlock()
	return v
}

// IssuedSecrets returns every access token, refresh token and authorization
// code issued so far: what a scan of the client's logs and answers must
// never find.
func (s *Sim) IssuedSecrets() []string {
	s.obs.mu.Lock()
	defer s.obs.mu.Unlock()
	return slices.Clone(s.obs.secrets)
}

// Requests returns a copy of every request received so far, oldest first.
// Requests to /_sim/ are not recorded.
func (s *Sim) Requests() []Request {
	s.obs.mu.Lock()
	defer s.obs.mu.Unlock()
	out := slices.Clone(s.obs.requests)
	for i := range out {
		out[i].Findings = slices.Clone(out[i].Findings)
		out[i].Faults = slices.Clone(out[i].Faults)
	}
	return out
}

// Findings returns every finding of every request, in arrival order.
func (s *Sim) Findings() []Finding {
	s.obs.mu.Lock()
	defer s.obs.mu.Unlock()
	var out []Finding
	for _, r := range s.obs.requests {
		out = append(out, r.Findings...)
	}
	return out
}

// Charges returns how many approved money movements (sales, pre-auth captures
// by POST_AUTH, VUK 507 card or cash sales and partial add-payments) were made
// under transactionReferenceID. Anything above 1 is a double charge.
// Add-payments sent without a reference are counted under their saleNumber.
func (s *Sim) Charges(transactionReferenceID string) int {
	s.obs.mu.Lock()
	defer s.obs.mu.Unlock()
	return s.obs.charges[transactionReferenceID]
}

// TotalCharges returns the number of approved money movements over all references.
func (s *Sim) TotalCharges() int {
	s.obs.mu.Lock()
	defer s.obs.mu.Unlock()
	return s.obs.total
}

// ChargesByReference returns a copy of the charge count of every reference.
func (s *Sim) ChargesByReference() map[string]int {
	s.obs.mu.Lock()
	defer s.obs.mu.Unlock()
	out := make(map[string]int, len(s.obs.charges))
	for k, v := range s.obs.charges {
		out[k] = v
	}
	return out
}

// Refunds returns how many approved refunds (VUK 509 or VUK 507, card or
// cash) were made under transactionReferenceID, the refund's own reference.
// Anything above 1 is a double refund (see also RefundsOf).
func (s *Sim) Refunds(transactionReferenceID string) int {
	s.obs.mu.Lock()
	defer s.obs.mu.Unlock()
	return s.obs.refunds[transactionReferenceID]
}

// TotalRefunds returns the number of approved refunds over all references.
func (s *Sim) TotalRefunds() int {
	s.obs.mu.Lock()
	defer s.obs.mu.Unlock()
	return s.obs.refundN
}

// RefundsOf returns how many approved refunds, under any reference, were made
// of the payment that the operation saleReference (on any device) made or
// acted on, and their total in decimal ("0.00" when none): a refund repeated
// under a new reference shows here.
func (s *Sim) RefundsOf(saleReference string) (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var p *payment
	for _, id := range s.cfg.Devices {
		if op := s.devices[id].ops[saleReference]; op != nil && op.payment != nil {
			p = op.payment
			break
		}
	}
	var n int
	var sum amount
	if p != nil {
		for _, op := range p.device.log {
			if op.kind == kindRefund && op.err == nil && op.payment == p {
				n++
				sum += op.amount
			}
		}
	}
	return n, sum.String()
}

// Counters returns the token and call counters.
func (s *Sim) Counters() Counters {
	s.obs.mu.Lock()
	defer s.obs.mu.Unlock()
	return s.obs.counters
}
