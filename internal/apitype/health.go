package apitype

import "time"

// Health is GET /healthz: the process answers.
type Health struct {
	Status string `json:"status"`
}

// Readiness is GET /readyz for a client with a key: each part bridged
// depends on, with a verdict (ok, degraded, fail) a store's IT person can act on.
type Readiness struct {
	Status    string              `json:"status"`
	CheckedAt time.Time           `json:"checked_at"`
	Store     Part                `json:"store"`
	Token     TokenPart           `json:"token"`
	Upstream  UpstreamPart        `json:"upstream"`
	Conflicts ConflictsPart       `json:"conflicts"`
	Terminals []TerminalReadiness `json:"terminals"`
}

// Part is one part's verdict and, when it is not plainly ok, what to do.
type Part struct {
	Status string `json:"status"` // ok, degraded, fail
	Detail string `json:"detail,omitempty"`
}

// TokenPart is the iyzico access token (never the token itself).
type TokenPart struct {
	Part
	Valid     bool       `json:"valid"`
	Expiry    *time.Time `json:"expiry"`
	ExpiresIn int64      `json:"expires_in_seconds"`
}

// UpstreamPart is what the calls made so far say about iyzico.
type UpstreamPart struct {
	Part
	Reachable         bool       `json:"reachable"`
	LastAnswer        *time.Time `json:"last_answer"`
	LastSuccess       *time.Time `json:"last_success"`
	LastFailure       *time.Time `json:"last_failure"`
	LastFailureReason string     `json:"last_failure_reason,omitempty"`
}

// ConflictsPart lists the operator settlements that iyzico contradicts:
// degraded (payments go on) until an operator acknowledges each.
type ConflictsPart struct {
	Part
	Operations []string `json:"operations"`
}

// TerminalReadiness is one terminal's verdict: unreachable, blocked, busy
// with a customer, or ok.
type TerminalReadiness struct {
	Part
	ID                  string         `json:"id"`
	DeviceUniqueID      string         `json:"device_unique_id"`
	State               string         `json:"state"`
	BusyForSeconds      int64          `json:"busy_for_seconds,omitempty"`
	Unknown             []string       `json:"unknown"`
	LastAnswer          *time.Time     `json:"last_answer"`
	SecondsSinceAnswer  *int64         `json:"seconds_since_answer"`
	RecentErrors        map[string]int `json:"recent_errors"`
	ConsecutiveTimeouts int            `json:"consecutive_timeouts"`
	LastEndOfDay        *EndOfDayPart  `json:"last_end_of_day"`
}

// EndOfDayPart is a terminal's last end of day.
type EndOfDayPart struct {
	ID     string    `json:"id"`
	At     time.Time `json:"at"`
	Status string    `json:"status"`
	Match  bool      `json:"match"`
}

// ReadinessSummary is GET /readyz for a client without a key: the verdicts
// only, nothing about payments.
type ReadinessSummary struct {
	Status    string     `json:"status"`
	CheckedAt time.Time  `json:"checked_at"`
	Store     StatusOnly `json:"store"`
	Token     StatusOnly `json:"token"`
	Upstream  StatusOnly `json:"upstream"`
	// Conflicts: why a keyless monitor may see "degraded" with every part ok.
	Conflicts StatusOnly        `json:"conflicts"`
	Terminals []TerminalSummary `json:"terminals"`
}

// StatusOnly is a part's verdict alone.
type StatusOnly struct {
	Status string `json:"status"`
}

// TerminalSummary is a terminal's verdict alone.
type TerminalSummary struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}
