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
	type row struct {
		k      kind
		status int
		env    *Envelope
		want   Class
		auth   authAction
	}
	rows := []row{
		// Success.
		{kindCard, 200, env("SUCCESS", "", ""), Approved, authNone},
		{kindCard, 200, env("success", "0", ""), Approved, authNone},
		{kindCard, 201, env("Success", "", ""), Approved, authNone},
		{kindCard, 400, env("SUCCESS", "", ""), Unknown, authNone}, // contradiction
		// HTTP-level.
		{kindCard, 401, nil, NotSent, authRefresh},
		{kindCard, 401, env("FAILURE", "100311", "SYSTEM_ERROR"), NotSent, authRefresh},
		{kindCard, 401, env("FAILURE", "380204", "DEVICE_ERROR"), NotSent, authRelogin},
		{kindCard, 500, env("FAILURE", "10051", "BANK_ERROR"), Unknown, authNone},
		{kindCard, 502, nil, Unknown, authNone},
		{kindQuery, 503, nil, Unknown, authNone},
		{kindCard, 200, nil, Unknown, authNone},
		{kindCard, 404, nil, Unknown, authNone},
		{kindCard, 307, nil, Unknown, authNone},
		{kindCard, 429, nil, Unknown, authNone},
		{kindCard, 200, env("PENDING", "", ""), Unknown, authNone},
		// Auth codes in the body.
		{kindCard, 200, env("FAILURE", "100310", "SYSTEM_ERROR"), NotSent, authRefresh},
		{kindCard, 400, env("FAILURE", "100311", "SYSTEM_ERROR"), NotSent, authRefresh},
		{kindCard, 200, env("FAILURE", "380204", "DEVICE_ERROR"), NotSent, authRelogin},
		{kindCard, 200, env("failure", "100311", ""), NotSent, authRefresh},
		// Refused before the device.
		{kindCard, 200, env("FAILURE", "380201", "DEVICE_ERROR"), NotSent, authNone},
		{kindCard, 200, env("FAILURE", "380202", "DEVICE_ERROR"), NotSent, authNone},
		{kindCard, 400, env("FAILURE", "380101", "BUSINESS_ERROR"), NotSent, authNone},
		{kindCard, 400, env("FAILURE", "380102", "SYSTEM_ERROR"), NotSent, authNone},
		{kindCard, 200, env("failure", "380201", ""), NotSent, authNone},
		// The device may have acted.
		{kindCard, 200, env("FAILURE", "380103", "TIMEOUT_ERROR"), Unknown, authNone},
		{kindCard, 200, env("FAILURE", "380203", "DEVICE_ERROR"), Unknown, authNone},
		{kindCard, 200, env("FAILURE", "380205", "DEVICE_ERROR"), Unknown, authNone},
		{kindCard, 200, env("failure", "380103", ""), Unknown, authNone},
		{kindCard, 200, env("FAILURE", "", "SYSTEM_ERROR"), Unknown, authNone},
		{kindCard, 200, env("FAILURE", "999999", "DEVICE_ERROR"), Unknown, authNone},
		{kindCard, 200, env("FAILURE", "", ""), Unknown, authNone},
		{kindCard, 200, env("failure", "0", ""), Unknown, authNone},
		{kindCard, 200, env("failure", "389901", ""), Unknown, authNone},
		{kindCard, 200, env("FAILURE", "X", "NEW_GROUP"), Unknown, authNone},
		// Declines.
		{kindCard, 200, env("FAILURE", "10051", "BANK_ERROR"), Declined, authNone},
		{kindCard, 200, env("FAILURE", "", "BANK_ERROR"), Declined, authNone},
		{kindCard, 400, env("FAILURE", "10012", "PAYMENT_ERROR"), Declined, authNone},
		{kindCard, 400, env("FAILURE", "380104", "VALIDATION_ERROR"), Declined, authNone},
		{kindCard, 422, env("FAILURE", "380112", "BUSINESS_ERROR"), Declined, authNone},
		{kindCard, 400, env("FAILURE", "389901", "BUSINESS_ERROR"), Declined, authNone},
		{kindCard, 400, env("failure", "380104", ""), Declined, authNone}, // 507: group from the code table
		{kindCard, 200, env("failure", "10051", ""), Declined, authNone},  // 507: forwarded bank code
		{kindCard, 200, env("failure", "51", ""), Declined, authNone},
		{kindCard, 400, env("FAILURE", "380107", "BUSINESS_ERROR"), Declined, authNone},
		{kindEOD, 400, env("FAILURE", "380105", "VALIDATION_ERROR"), Declined, authNone},
		// Read-only calls.
		{kindQuery, 400, env("FAILURE", "380107", "BUSINESS_ERROR"), NotFound, authNone},
		{kindQuery, 400, env("failure", "380108", ""), NotFound, authNone},
		{kindQuery, 400, env("FAILURE", "380109", "BUSINESS_ERROR"), NotFound, authNone},
		{kindInfo, 400, env("failure", "380108", ""), NotFound, authNone},
		{kindQuery, 200, env("FAILURE", "10051", "BANK_ERROR"), Declined, authNone},
		{kindQuery, 200, env("FAILURE", "380112", "BUSINESS_ERROR"), Declined, authNone},
		{kindQuery, 400, env("FAILURE", "380111", "VALIDATION_ERROR"), Unknown, authNone},
		{kindQuery, 400, env("FAILURE", "380104", "VALIDATION_ERROR"), Unknown, authNone},
		{kindQuery, 400, env("FAILURE", "389904", "BUSINESS_ERROR"), Unknown, authNone},
		{kindQuery, 200, env("FAILURE", "380103", "TIMEOUT_ERROR"), Unknown, authNone},
		{kindInfo, 400, env("FAILURE", "380104", "VALIDATION_ERROR"), Declined, authNone},
	}
	for i, r := range rows {
		v := classifyAnswer(r.k, r.status, r.env)
		if v.class != r.want || v.auth != r.auth {
			t.Errorf("row %d (kind %d, HTTP %d, %+v): got %v/%v, want %v/%v", i, r.k, r.status, r.env, v.class, v.auth, r.want, r.auth)
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

func TestClassOf(t *testing.T) {
	if ClassOf(nil) != Approved || ClassOf(errors.New("x")) != Unknown {
		t.Fatal("nil or foreign errors")
	}
	e := fmt.Errorf("wrapped: %w", &Error{Class: Declined})
	if ClassOf(e) != Declined {
		t.Fatal("wrapped error")
	}
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
