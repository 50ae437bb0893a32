package apitype

// Problem is an RFC 9457 problem document with bridged's stable code.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Code      string `json:"code"`
	RequestID string `json:"request_id,omitempty"`
}

// ValidationProblem is invalid_request with every invalid field.
type ValidationProblem struct {
	Problem
	Errors []FieldProblem `json:"errors"`
}

// FieldProblem is one invalid field: its path (items[0].total), a query
// parameter, body, or Idempotency-Key.
type FieldProblem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// BlockedProblem is terminal_blocked with the operations that block.
type BlockedProblem struct {
	Problem
	Terminal string   `json:"terminal"`
	Unknown  []string `json:"unknown"`
}
