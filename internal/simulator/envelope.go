package simulator

import (
	"crypto/rand"
	"fmt"
	"net/http"
)

// Status values of the two answer conventions (spec §5).
const (
	status509OK   = "SUCCESS"
	status509Fail = "FAILURE"
	status507OK   = "success"
	status507Fail = "failure"
	errorCode507  = "0" // VUK 507 errorCode on success; VUK 509 sends ""
)

// failure509 is VUK 509's TerminalFailureResponse, field for field.
type failure509 struct {
	Status               string `json:"status"`
	ErrorCode            string `json:"errorCode"`
	ErrorMessage         string `json:"errorMessage"`
	ErrorGroup           string `json:"errorGroup"`
	SystemTime           int64  `json:"systemTime"`
	ConsumerErrorMessage string `json:"consumerErrorMessage"`
}

// envelope507 opens every VUK 507 answer: status, errorCode ("0" on success),
// errorMessage, conversationId (generated when the request had none) and
// systemTime in epoch milliseconds. No errorGroup, unless Config.GmuErrorGroup.
type envelope507 struct {
	Status         string `json:"status"`
	ErrorCode      string `json:"errorCode"`
	ErrorMessage   string `json:"errorMessage"`
	ErrorGroup     string `json:"errorGroup,omitempty"`
	ConversationID string `json:"conversationId"`
	SystemTime     int64  `json:"systemTime"`
}

// failure507 is a VUK 507 failure: the envelope of the operation's response
// schema (400 "returns the same schema as 200") with the echoes iyzico knows.
type failure507 struct {
	envelope507
	DeviceUniqueID         string `json:"deviceUniqueId,omitempty"`
	TransactionReferenceID string `json:"transactionReferenceId,omitempty"`
}

// ok507 is the envelope of a VUK 507 success.
func (s *Sim) ok507(c *call) envelope507 {
	return envelope507{Status: status507OK, ErrorCode: errorCode507, ConversationID: c.conversationID, SystemTime: s.now().UnixMilli()}
}

// failed507 is the envelope of a VUK 507 failure.
func (s *Sim) failed507(c *call, e *apiError) envelope507 {
	env := envelope507{Status: status507Fail, ErrorCode: e.code, ErrorMessage: e.message(c.english()),
		ConversationID: c.conversationID, SystemTime: s.now().UnixMilli()}
	if s.cfg.GmuErrorGroup {
		env.ErrorGroup = e.group // "" for an error without a group (.59)
	}
	return env
}

// fail renders an iyzico failure in the convention of the call's family. HTTP
// status: 401 for authentication failures; VUK 509 void 422, other VUK 509 and
// all VUK 507 failures 400 (spec §5).
func (s *Sim) fail(c *call, e *apiError) reply {
	status := http.StatusBadRequest
	switch {
	case e.auth:
		status = http.StatusUnauthorized
	case c.op == OpVoid:
		status = http.StatusUnprocessableEntity
	}
	en := c.english()
	if c.fam == fam507 {
		f := failure507{envelope507: s.failed507(c, e), DeviceUniqueID: c.device, TransactionReferenceID: c.ref}
		return reply{status: status, body: f, errorCode: e.code}
	}
	return reply{status: status, errorCode: e.code, body: failure509{
		Status: status509Fail, ErrorCode: e.code, ErrorMessage: e.message(en), ErrorGroup: e.group,
		SystemTime: s.now().UnixMilli(), ConsumerErrorMessage: e.consumerMessage(en),
	}}
}

// ok wraps a success body.
func ok(v any) reply { return reply{status: http.StatusOK, body: v} }

// newUUID returns a random version 4 UUID (saleUid, generated conversationIds).
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
