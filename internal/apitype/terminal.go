package apitype

import "time"

// Terminal is a configured terminal and what bridged knows of it now.
type Terminal struct {
	ID             string            `json:"id"`
	DeviceUniqueID string            `json:"device_unique_id"`
	State          string            `json:"state"`
	BusyWith       string            `json:"busy_with,omitempty"`
	Unknown        []string          `json:"unknown"`
	LastAnswer     *time.Time        `json:"last_answer"`
	LastEndOfDay   *time.Time        `json:"last_end_of_day"`
	Links          map[string]string `json:"links"`
}

// TerminalList is GET /v1/terminals: the mode and every terminal (its
// fields in the order of their names, as it has always been sent).
type TerminalList struct {
	Items []Terminal `json:"items"`
	Mode  string     `json:"mode"`
}

// EndOfDay is an end-of-day run and the comparison of iyzico's totals with
// the journal.
type EndOfDay struct {
	ID            string      `json:"id"`
	Terminal      string      `json:"terminal"`
	Status        string      `json:"status"`
	Error         *Error      `json:"error"`
	BatchNo       string      `json:"batch_no,omitempty"`
	ResultMessage string      `json:"result_message,omitempty"`
	Since         *time.Time  `json:"since"`
	CreatedAt     time.Time   `json:"created_at"`
	Match         bool        `json:"match"`
	Journal       Totals      `json:"journal"`
	Upstream      Totals      `json:"upstream"`
	Acquirers     []Acquirer  `json:"acquirers"`
	Lines         []BatchLine `json:"lines"`
	// Unconfirmed lists earlier ends of day inside this batch whose answers
	// were lost; Boundary says what this report makes of them.
	Unconfirmed []string `json:"unconfirmed_ends_of_day,omitempty"`
	Boundary    string   `json:"boundary,omitempty"`
	// Unknown lists the batch's operations whose outcome is not settled (an
	// end of day with allow_unknown); UnknownCould is what they would add
	// were they approved, and Explained whether that would close the gap.
	Unknown      []BatchLine `json:"unknown,omitempty"`
	UnknownCould *Totals     `json:"unknown_could_add,omitempty"`
	Explained    bool        `json:"difference_within_unknown,omitempty"`
}

// Totals is an amount (a decimal string) and a count.
type Totals struct {
	Amount string `json:"amount"`
	Count  int    `json:"count"`
}

// Acquirer is one acquirer's totals in iyzico's end-of-day report.
type Acquirer struct {
	AcquirerID   string `json:"acquirer_id"`
	AcquirerName string `json:"acquirer_name,omitempty"`
	TerminalID   string `json:"terminal_id,omitempty"`
	BatchNo      string `json:"batch_no,omitempty"`
	Amount       string `json:"amount"`
	Count        int    `json:"count"`
	ResponseCode string `json:"response_code,omitempty"`
}

// BatchLine is one journaled operation of the batch an end of day closed.
type BatchLine struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Status    string `json:"status"`
	Amount    string `json:"amount"`
	Counted   bool   `json:"counted"`
	Signed    string `json:"signed_amount"`
	Note      string `json:"note,omitempty"`
	PaymentID string `json:"payment_id,omitempty"`
}

// EndOfDayList is GET /v1/terminals/{id}/end-of-day, newest first.
type EndOfDayList struct {
	Items []EndOfDay `json:"items"`
}

// CompactResult is what POST /v1/admin/compact answers.
type CompactResult struct {
	Compacted   bool    `json:"compacted"`
	Reason      string  `json:"reason,omitempty"`
	FreeRatio   float64 `json:"free_ratio"`
	BeforeBytes int64   `json:"before_bytes"`
	AfterBytes  int64   `json:"after_bytes,omitempty"`
	TookMS      int64   `json:"took_ms,omitempty"`
}
