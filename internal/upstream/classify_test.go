package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/bridgedpos/bridged/internal/payment"
)

func env(status, code, group string) *Envelope {
	return &Envelope{Status: status, ErrorCode: Text(code), ErrorGroup: group}
}

// TestClassifyAnswer is the table of docs/upstream.md, row by row.
func TestClassifyAnswer(t *testing.T) {
	const ref = "R-1"
	card := func(status int, e *Envelope) exchange {
		return exchange{kind: kindCard, status: status, env: e, ref: ref}
	}
	gmu := func(status int, e *Envelope) exchange {
		return exchange{kind: kindCard, gmu: true, status: status, env: e, ref: ref}
	}
	resent := func(x exchange) exchange { x.resent = true; return x }
	echoed := func(x exchange, r string) exchange { x.echo.Ref = Text(r); return x }
	// query: a status query by device and reference; a record of the
	// queried transaction repeats the reference.
	query := func(status int, e *Envelope, echoRef string) exchange {
		return exchange{kind: kindQuery, status: status, env: e, ref: ref, echo: echo{Ref: Text(echoRef)}}
	}
	gmuQuery := func(status int, e *Envelope, echoRef string) exchange {
		x := query(status, e, echoRef)
		x.gmu = true
		return x
	}
	kindOf := func(k kind, status int, e *Envelope) exchange {
		return exchange{kind: k, status: status, env: e, ref: ref}
	}
	type row struct {
		x      exchange
		want   Class
		reason Reason // "" = not checked
		auth   authAction
	}
	rows := []row{
		// Success: HTTP 200, status success in any case, no error code.
		{card(200, env("SUCCESS", "", "")), Approved, ReasonAnswered, authNone},
		{card(200, env("Success", "", "")), Approved, "", authNone},
		{gmu(200, env("success", "0", "")), Approved, "", authNone},
		{gmu(200, env("success", "", "")), Approved, "", authNone},
		{card(201, env("SUCCESS", "", "")), Unknown, ReasonInconsistent, authNone},
		{card(202, env("success", "", "")), Unknown, ReasonInconsistent, authNone},
		{card(400, env("SUCCESS", "", "")), Unknown, ReasonInconsistent, authNone},
		{card(200, env("SUCCESS", "0", "")), Unknown, ReasonInconsistent, authNone}, // VUK 509 success has an empty code
		{card(200, env("SUCCESS", "10051", "")), Unknown, ReasonInconsistent, authNone},
		{gmu(200, env("success", "380103", "")), Unknown, ReasonInconsistent, authNone},
		// HTTP-level.
		{card(401, nil), NotSent, ReasonUnauthorized, authRefresh},
		{card(401, env("FAILURE", "100311", "SYSTEM_ERROR")), NotSent, ReasonUnauthorized, authRefresh},
		{card(401, env("FAILURE", "380204", "DEVICE_ERROR")), NotSent, ReasonSessionTerminated, authRelogin},
		{gmu(401, env("failure", "100310", "")), NotSent, ReasonUnauthorized, authRefresh},
		{card(500, env("FAILURE", "10051", "BANK_ERROR")), Unknown, ReasonHTTPStatus, authNone},
		{card(502, nil), Unknown, ReasonHTTPStatus, authNone},
		{query(503, nil, ""), Unknown, ReasonHTTPStatus, authNone},
		{card(200, nil), Unknown, ReasonUnparseable, authNone},
		{card(404, nil), Unknown, ReasonHTTPStatus, authNone},
		{card(307, nil), Unknown, ReasonHTTPStatus, authNone},
		{card(429, nil), Unknown, ReasonHTTPStatus, authNone},
		{card(200, env("PENDING", "", "")), Unknown, ReasonUnparseable, authNone},
		// A token error outside an HTTP 401 may have followed a device
		// action: Unknown, never resent; the token is dropped.
		{card(200, env("FAILURE", "100310", "SYSTEM_ERROR")), Unknown, ReasonUnauthorized, authDrop},
		{card(400, env("FAILURE", "100311", "SYSTEM_ERROR")), Unknown, ReasonUnauthorized, authDrop},
		{card(200, env("FAILURE", "380204", "DEVICE_ERROR")), Unknown, ReasonSessionTerminated, authDrop},
		{gmu(200, env("failure", "100311", "")), Unknown, ReasonUnauthorized, authDrop},
		{gmu(400, env("failure", "380204", "")), Unknown, ReasonSessionTerminated, authDrop},
		{kindOf(kindEOD, 200, env("FAILURE", "380204", "DEVICE_ERROR")), Unknown, ReasonSessionTerminated, authDrop},
		{query(400, env("FAILURE", "100311", "SYSTEM_ERROR"), ""), Unknown, ReasonAnswered, authDrop},
		// Refused before the device.
		{card(200, env("FAILURE", "380201", "DEVICE_ERROR")), NotSent, ReasonTerminalBusy, authNone},
		{gmu(400, env("failure", "380201", "")), NotSent, ReasonTerminalBusy, authNone},
		{card(400, env("FAILURE", "380101", "BUSINESS_ERROR")), NotSent, ReasonDeviceNotAllowed, authNone},
		{card(400, env("FAILURE", "380102", "SYSTEM_ERROR")), NotSent, ReasonDeviceNotAllowed, authNone},
		// The device may have acted.
		{card(200, env("FAILURE", "380202", "DEVICE_ERROR")), Unknown, ReasonDeviceAppNotStarted, authNone},
		{gmu(400, env("failure", "380202", "")), Unknown, ReasonDeviceAppNotStarted, authNone},
		{card(200, env("FAILURE", "380103", "TIMEOUT_ERROR")), Unknown, ReasonAnswered, authNone},
		{card(200, env("FAILURE", "380203", "DEVICE_ERROR")), Unknown, ReasonAnswered, authNone},
		{card(200, env("FAILURE", "380205", "DEVICE_ERROR")), Unknown, ReasonAnswered, authNone},
		{gmu(200, env("failure", "380103", "")), Unknown, ReasonAnswered, authNone},
		{card(200, env("FAILURE", "", "SYSTEM_ERROR")), Unknown, ReasonAnswered, authNone},
		{card(200, env("FAILURE", "999999", "DEVICE_ERROR")), Unknown, ReasonAnswered, authNone},
		{card(200, env("FAILURE", "", "")), Unknown, ReasonAnswered, authNone},
		{gmu(200, env("failure", "0", "")), Unknown, ReasonAnswered, authNone},
		{gmu(400, env("failure", "389901", "")), Unknown, ReasonAnswered, authNone},
		{card(200, env("FAILURE", "X", "NEW_GROUP")), Unknown, ReasonAnswered, authNone},
		// VUK 507 failures without a group: only the documented refusals decline.
		{gmu(400, env("failure", "10051", "")), Declined, ReasonAnswered, authNone},
		{gmu(400, env("failure", "10012", "")), Declined, "", authNone},
		{gmu(400, env("failure", "10005", "")), Declined, "", authNone},
		{gmu(400, env("failure", "10227", "")), Declined, "", authNone},
		{gmu(400, env("failure", "51", "")), Unknown, ReasonAnswered, authNone}, // a bare ISO code: nobody documents it here
		{gmu(400, env("failure", "99", "")), Unknown, ReasonAnswered, authNone},
		{gmu(400, env("failure", "10219", "")), Unknown, "", authNone}, // request to the bank timed out
		{gmu(400, env("failure", "10214", "")), Unknown, "", authNone}, // communication error
		{gmu(400, env("failure", "10204", "")), Unknown, "", authNone},
		{gmu(400, env("failure", "10220", "")), Unknown, "", authNone},
		{gmu(400, env("failure", "12345", "")), Unknown, "", authNone},
		{gmu(400, env("failure", "380104", "")), Declined, "", authNone}, // group from the spec's code table
		{gmu(400, env("failure", "380105", "")), Declined, "", authNone},
		{gmu(400, env("failure", "380112", "")), Declined, "", authNone},
		{gmu(400, env("failure", "380107", "")), Declined, "", authNone},
		// Declines with a group.
		{card(200, env("FAILURE", "10051", "BANK_ERROR")), Declined, ReasonAnswered, authNone},
		// A bank or payment-service answer is a decline only with a code known
		// to mean a refusal (declineCodes); any other code may be a bank-side
		// timeout (10240 "TIMEOUT" in another client's list): unknown.
		{card(200, env("FAILURE", "", "BANK_ERROR")), Unknown, ReasonUnknownCode, authNone},
		{card(400, env("FAILURE", "10012", "PAYMENT_ERROR")), Declined, "", authNone},
		{card(400, env("FAILURE", "51", "BANK_ERROR")), Unknown, ReasonUnknownCode, authNone},
		{card(400, env("FAILURE", "99999", "PAYMENT_ERROR")), Unknown, ReasonUnknownCode, authNone},
		{card(400, env("FAILURE", "10240", "BANK_ERROR")), Unknown, ReasonAnswered, authNone},
		{card(400, env("FAILURE", "10246", "PAYMENT_ERROR")), Unknown, ReasonAnswered, authNone},
		{card(400, env("FAILURE", "10219", "BANK_ERROR")), Unknown, "", authNone}, // filed as a bank error, but a timeout
		{card(400, env("FAILURE", "10214", "PAYMENT_ERROR")), Unknown, "", authNone},
		{card(400, env("FAILURE", "380104", "VALIDATION_ERROR")), Declined, "", authNone},
		{card(422, env("FAILURE", "380112", "BUSINESS_ERROR")), Declined, "", authNone},
		{card(400, env("FAILURE", "389901", "BUSINESS_ERROR")), Declined, "", authNone},
		{card(400, env("FAILURE", "380107", "BUSINESS_ERROR")), Declined, "", authNone},
		{kindOf(kindEOD, 400, env("FAILURE", "380105", "VALIDATION_ERROR")), Declined, "", authNone},
		// After the one resend (the first answer was a 401), a refusal on the
		// merits or busy proves nothing: the first attempt may have been seen.
		{resent(card(400, env("FAILURE", "389901", "BUSINESS_ERROR"))), Unknown, ReasonRefusedAfterResend, authNone},
		{resent(gmu(400, env("failure", "380104", ""))), Unknown, ReasonRefusedAfterResend, authNone},
		{resent(card(400, env("FAILURE", "380112", "BUSINESS_ERROR"))), Unknown, ReasonRefusedAfterResend, authNone},
		{resent(card(200, env("FAILURE", "380201", "DEVICE_ERROR"))), Unknown, ReasonRefusedAfterResend, authNone},
		// A bank decline of the copy may be because the first copy took the money.
		{resent(card(200, env("FAILURE", "10051", "BANK_ERROR"))), Unknown, ReasonRefusedAfterResend, authNone},
		{resent(card(200, env("SUCCESS", "", ""))), Approved, "", authNone},
		{resent(card(200, env("FAILURE", "380204", "DEVICE_ERROR"))), Unknown, ReasonSessionTerminated, authDrop},
		{resent(card(401, nil)), NotSent, ReasonUnauthorized, authRefresh}, // call() turns a second 401 into AuthFailed
		{resent(kindOf(kindInfo, 400, env("failure", "380108", ""))), NotFound, "", authNone},
		// An answer about another transaction proves nothing about this one.
		{echoed(card(200, env("SUCCESS", "", "")), "OTHER"), Unknown, ReasonReferenceMismatch, authNone},
		{echoed(card(200, env("FAILURE", "10051", "BANK_ERROR")), "OTHER"), Unknown, ReasonReferenceMismatch, authNone},
		{echoed(gmu(400, env("failure", "100311", "")), "OTHER"), Unknown, ReasonReferenceMismatch, authDrop},
		{echoed(card(200, env("SUCCESS", "", "")), ref), Approved, "", authNone},
		{exchange{kind: kindQuery, status: 200, env: env("SUCCESS", "", ""), pid: "P1", echo: echo{PaymentID: "P2"}}, Unknown, ReasonReferenceMismatch, authNone},
		{exchange{kind: kindQuery, status: 200, env: env("SUCCESS", "", ""), pid: "P1", echo: echo{PaymentID: "P1"}}, Approved, "", authNone},
		// Queries: not found.
		// Only "not found" by the key the query asked by counts: a query by
		// reference answered 380107 (by paymentId) or 380109 (by orderId), or
		// a 380108 that does not name the reference, is no evidence.
		{query(400, env("FAILURE", "380107", "BUSINESS_ERROR"), ""), Unknown, ReasonNotFoundByOtherKey, authNone},
		{gmuQuery(400, env("failure", "380107", ""), ""), Unknown, ReasonNotFoundByOtherKey, authNone},
		{gmuQuery(400, env("failure", "380108", ""), ref), NotFound, "", authNone},
		{query(400, &Envelope{Status: "FAILURE", ErrorCode: "380108", ErrorGroup: "BUSINESS_ERROR", ErrorMessage: "Payment not found with id: " + ref}, ""), NotFound, ReasonAnswered, authNone},
		{query(400, &Envelope{Status: "FAILURE", ErrorCode: "380108", ErrorGroup: "BUSINESS_ERROR", ErrorMessage: "Payment not found with id: null"}, ""), Unknown, ReasonNotFoundByOtherKey, authNone},
		{query(400, env("FAILURE", "380109", "BUSINESS_ERROR"), ""), Unknown, ReasonNotFoundByOtherKey, authNone},
		{gmuQuery(400, env("failure", "380109", ""), ref), Unknown, ReasonNotFoundByOtherKey, authNone},
		{exchange{kind: kindQuery, status: 400, env: env("FAILURE", "380107", "BUSINESS_ERROR"), pid: "P1", echo: echo{PaymentID: "P1"}}, NotFound, "", authNone},
		{kindOf(kindInfo, 400, env("failure", "380108", "")), NotFound, "", authNone},
		{query(200, env("SUCCESS", "", ""), ref), Approved, "", authNone},
		// Queries refused as queries (no echo, not HTTP 200, or 380111): they
		// say nothing about the queried transaction.
		{query(200, env("FAILURE", "10051", "BANK_ERROR"), ""), Unknown, ReasonAnswered, authNone},
		{query(400, env("FAILURE", "10051", "BANK_ERROR"), ref), Unknown, ReasonAnswered, authNone},
		{query(400, env("FAILURE", "380111", "VALIDATION_ERROR"), ""), Unknown, ReasonAnswered, authNone},
		{query(200, env("FAILURE", "380111", "VALIDATION_ERROR"), ref), Unknown, ReasonAnswered, authNone},
		{query(400, env("FAILURE", "380104", "VALIDATION_ERROR"), ""), Unknown, ReasonAnswered, authNone},
		{gmuQuery(400, env("failure", "380104", ""), ref), Unknown, ReasonAnswered, authNone},
		{query(400, env("FAILURE", "389904", "BUSINESS_ERROR"), ""), Unknown, ReasonAnswered, authNone},
		{query(200, env("FAILURE", "380103", "TIMEOUT_ERROR"), ""), Unknown, ReasonAnswered, authNone},
		// Queries answering iyzico's record of the queried transaction: the
		// card rules, with the device's report now a settled record.
		{query(200, env("FAILURE", "10051", "BANK_ERROR"), ref), Declined, ReasonAnswered, authNone},
		{query(200, env("FAILURE", "10012", "PAYMENT_ERROR"), ref), Declined, "", authNone},
		{query(200, env("FAILURE", "380112", "BUSINESS_ERROR"), ref), Declined, "", authNone},
		{query(200, env("FAILURE", "380104", "VALIDATION_ERROR"), ref), Declined, "", authNone},
		{query(200, env("FAILURE", "380201", "DEVICE_ERROR"), ref), Declined, ReasonTerminalBusy, authNone},
		{query(200, env("FAILURE", "380202", "DEVICE_ERROR"), ref), Declined, ReasonDeviceAppNotStarted, authNone},
		{gmuQuery(200, env("failure", "380202", ""), ref), Declined, ReasonDeviceAppNotStarted, authNone},
		{query(200, env("FAILURE", "380101", "BUSINESS_ERROR"), ref), Declined, ReasonDeviceNotAllowed, authNone},
		{query(200, env("FAILURE", "380103", "TIMEOUT_ERROR"), ref), Unknown, ReasonQueriedTimeout, authNone},
		{gmuQuery(200, env("failure", "380103", ""), ref), Unknown, ReasonQueriedTimeout, authNone},
		{query(200, env("FAILURE", "380203", "DEVICE_ERROR"), ref), Unknown, ReasonQueriedDeviceError, authNone},
		{query(200, env("FAILURE", "380205", "DEVICE_ERROR"), ref), Unknown, ReasonQueriedDeviceError, authNone},
		{query(200, env("FAILURE", "380204", "DEVICE_ERROR"), ref), Unknown, ReasonAnswered, authNone},
		{gmuQuery(200, env("failure", "10051", ""), ref), Declined, "", authNone},
		{gmuQuery(200, env("failure", "99", ""), ref), Unknown, ReasonAnswered, authNone},
		{query(200, env("FAILURE", "10219", "BANK_ERROR"), ref), Unknown, ReasonAnswered, authNone},
		{exchange{kind: kindQuery, status: 200, env: env("FAILURE", "10051", "BANK_ERROR"), pid: "P1", echo: echo{PaymentID: "P1"}}, Declined, "", authNone},
		{exchange{kind: kindQuery, status: 200, env: env("FAILURE", "10051", "BANK_ERROR"), pid: "P1"}, Unknown, "", authNone},
		// refundable-sale-info refused on its merits.
		{kindOf(kindInfo, 400, env("FAILURE", "380104", "VALIDATION_ERROR")), Declined, "", authNone},
	}
	for i, r := range rows {
		v := classifyAnswer(r.x)
		if v.class != r.want || v.auth != r.auth || (r.reason != "" && v.reason != r.reason) {
			t.Errorf("row %d (kind %d, gmu %v, HTTP %d, %+v, echo %+v, resent %v): got %v/%v/%v, want %v/%v/%v",
				i, r.x.kind, r.x.gmu, r.x.status, r.x.env, r.x.echo, r.x.resent, v.class, v.reason, v.auth, r.want, r.reason, r.auth)
		}
	}
}

func TestClassifyTransport(t *testing.T) {
	refused := &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, tc := range []struct {
		err    error
		wrote  bool
		class  Class
		reason Reason
	}{
		{refused, false, NotSent, ReasonNotConnected},
		{context.DeadlineExceeded, false, NotSent, ReasonNotConnected},
		{context.Canceled, false, NotSent, ReasonNotConnected},
		{context.DeadlineExceeded, true, Unknown, ReasonTimeout},
		{fmt.Errorf("wrapped: %w", context.Canceled), true, Unknown, ReasonCanceled},
		{errors.New("connection reset by peer"), true, Unknown, ReasonConnectionLost},
		{refused, true, Unknown, ReasonConnectionLost},
	} {
		v := classifyTransport(tc.err, tc.wrote)
		if v.class != tc.class || v.reason != tc.reason {
			t.Errorf("%v wrote=%v: got %v/%v, want %v/%v", tc.err, tc.wrote, v.class, v.reason, tc.class, tc.reason)
		}
	}
}

// classOf is the class of a call's error: Approved for nil, the Error's
// class when err wraps an *Error, and Unknown for anything else.
func classOf(err error) Class {
	if err == nil {
		return Approved
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return Unknown
}

func TestParseAmount(t *testing.T) {
	for in, want := range map[string]int64{"118": 11800, "149.9": 14990, "149.90": 14990, "149.900": 14990, "0.01": 1, "0": 0, "9999999999999.99": 999999999999999} {
		m, err := ParseAmount(json.Number(in), payment.TRY)
		if err != nil || m.Minor() != want {
			t.Errorf("%s: %v %v, want %d", in, m.Minor(), err, want)
		}
	}
	for _, in := range []string{"", "1.001", "1e2", "-1", "abc", "1.2.3", " "} {
		if _, err := ParseAmount(json.Number(in), payment.TRY); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestLenientFields(t *testing.T) {
	var v struct {
		A Text `json:"a"`
		B Text `json:"b"`
		C Int  `json:"c"`
		D Int  `json:"d"`
		E Text `json:"e"`
		F Int  `json:"f"`
	}
	if err := json.Unmarshal([]byte(`{"a":0,"b":"380103","c":"20260406","d":20260406,"e":null,"f":""}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != "0" || v.B != "380103" || v.C != 20260406 || v.D != 20260406 || v.E != "" || v.F != 0 {
		t.Fatalf("%+v", v)
	}
	if err := json.Unmarshal([]byte(`{"c":"x"}`), &v); err == nil {
		t.Fatal("non-integer accepted")
	}
}

func TestZeroClassIsUnknown(t *testing.T) {
	var zero Class
	if zero != Unknown || zero.Final() || Class(99).String() != "unknown" {
		t.Fatal("zero class must be Unknown")
	}
	for c, sent := range map[Class]bool{Approved: true, Declined: true, Unknown: true, NotFound: true, NotSent: false, AuthFailed: false} {
		if c.Sent() != sent {
			t.Errorf("%v.Sent() = %v", c, c.Sent())
		}
	}
}
