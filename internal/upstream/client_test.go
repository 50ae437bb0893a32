package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/secret"
	"github.com/rs/zerolog"
	"golang.org/x/oauth2"
)

func sale(ref string, minor int64) PaymentRequest {
	return PaymentRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: ref},
		Amount: payment.NewMoney(minor, payment.TRY), Installment: 1, SalesType: SalesTypeSale}
}

func fail(status int, code, group string) func(http.ResponseWriter, *http.Request, []byte, int) {
	return func(w http.ResponseWriter, _ *http.Request, _ []byte, _ int) {
		writeJSON(w, status, map[string]any{"status": "FAILURE", "errorCode": code, "errorGroup": group,
			"errorMessage": "msg " + code, "consumerErrorMessage": "try again", "systemTime": 1743980400000})
	}
}

func wantClass(t *testing.T, err error, want Class) *Error {
	t.Helper()
	if got := classOf(err); got != want {
		t.Fatalf("class = %v, want %v (err: %v)", got, want, err)
	}
	var e *Error
	if err != nil && !errors.As(err, &e) {
		t.Fatalf("error %T is not an *upstream.Error", err)
	}
	return e
}

func TestPaymentApprovedExactAmounts(t *testing.T) {
	f := newFake(t)
	f.set(func(w http.ResponseWriter, _ *http.Request, _ []byte, _ int) {
		w.Header().Set("Content-Type", "application/json")
		// Amounts that float64 would mangle or reformat.
		_, _ = w.Write([]byte(`{"status":"SUCCESS","errorCode":"","paymentId":"pay-1","paymentDate":"20260406",
			"price":9999999999999.99,"currency":"TRY","installment":1,"systemTime":1743980400000,"authCode":"123456"}`))
	})
	h := start(t, f.srv.URL, nil)
	resp, err := h.c.Payment(context.Background(), sale("ref-1", 14990))
	wantClass(t, err, Approved)
	if resp.PaymentID != "pay-1" || resp.PaymentDate != "20260406" || resp.AuthCode != "123456" {
		t.Fatalf("response fields: %+v", resp)
	}
	m, err := resp.Amount()
	if err != nil || m.Minor() != 999999999999999 || m.Currency() != payment.TRY {
		t.Fatalf("amount = %v, %v; want 999999999999999 minor units exactly", m, err)
	}
	body := f.lastBody()
	if body["price"] != json.Number("149.90") || body["currency"] != "TRY" || body["locale"] != "tr" ||
		body["salesType"] != "SALE" || body["installment"] != json.Number("1") || body["conversationId"] == "" {
		t.Fatalf("request body = %v", body)
	}
	if _, ok := body["paymentId"]; ok {
		t.Fatal("empty paymentId was sent")
	}
}

func TestDeclinedCarriesIyzicoError(t *testing.T) {
	f := newFake(t)
	f.set(fail(200, "10051", "BANK_ERROR"))
	h := start(t, f.srv.URL, nil)
	resp, err := h.c.Payment(context.Background(), sale("ref-1", 100))
	e := wantClass(t, err, Declined)
	if e.HTTPStatus != 200 || e.Code != "10051" || e.Group != "BANK_ERROR" || e.Message != "msg 10051" ||
		e.ConsumerMessage != "try again" || e.Op != "payment" {
		t.Fatalf("error = %#v", e)
	}
	if resp == nil || resp.Status != "FAILURE" {
		t.Fatalf("the failure answer should be returned too: %+v", resp)
	}
	if !strings.Contains(err.Error(), "declined") || !strings.Contains(err.Error(), "BANK_ERROR 10051") {
		t.Fatalf("text: %s", err)
	}
}

func TestDeadlinePassesAfterSendIsUnknown(t *testing.T) {
	f := newFake(t)
	f.set(func(w http.ResponseWriter, r *http.Request, _ []byte, _ int) { <-r.Context().Done() })
	h := start(t, f.srv.URL, func(c *Config) { c.CardTimeout = 100 * time.Millisecond })
	_, err := h.c.Payment(context.Background(), sale("ref-1", 100))
	e := wantClass(t, err, Unknown)
	if e.Reason != ReasonTimeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("reason = %v, err = %v", e.Reason, err)
	}
	if c := f.counts(); c.service != 1 {
		t.Fatalf("service calls = %d, want 1 (never resend)", c.service)
	}
}

func TestConnectionCutAfterSendIsUnknown(t *testing.T) {
	f := newFake(t)
	f.set(func(w http.ResponseWriter, _ *http.Request, _ []byte, _ int) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	})
	h := start(t, f.srv.URL, nil)
	_, err := h.c.Payment(context.Background(), sale("ref-1", 100))
	if e := wantClass(t, err, Unknown); e.Reason != ReasonConnectionLost {
		t.Fatalf("reason = %v", e.Reason)
	}
	if c := f.counts(); c.service != 1 {
		t.Fatalf("service calls = %d, want 1", c.service)
	}
}

// deadServices sends terminal-host calls to an address nobody listens on and
// everything else (the login) to the real server.
type deadServices struct{ dead string }

func (d deadServices) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.URL.Path, "/v2/") {
		r = r.Clone(r.Context())
		r.URL.Host = d.dead
	}
	return http.DefaultTransport.RoundTrip(r)
}

func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func TestConnectionRefusedIsNotSent(t *testing.T) {
	f := newFake(t)
	h := start(t, f.srv.URL, func(c *Config) { c.HTTPClient = &http.Client{Transport: deadServices{deadAddr(t)}} })
	_, err := h.c.Payment(context.Background(), sale("ref-1", 100))
	if e := wantClass(t, err, NotSent); e.Reason != ReasonNotConnected {
		t.Fatalf("reason = %v", e.Reason)
	}
	if c := f.counts(); c.authorizes != 1 || c.service != 0 {
		t.Fatalf("counts = %+v", c)
	}
}

func TestHTTP5xxIsUnknownEvenWithADeclineBody(t *testing.T) {
	for _, status := range []int{500, 502, 503, 504} {
		f := newFake(t)
		f.set(fail(status, "10051", "BANK_ERROR"))
		h := start(t, f.srv.URL, nil)
		_, err := h.c.Payment(context.Background(), sale("ref-1", 100))
		if e := wantClass(t, err, Unknown); e.HTTPStatus != status {
			t.Fatalf("status = %d", e.HTTPStatus)
		}
		_, err = h.c.QueryTransactionStatus(context.Background(), QueryRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "ref-1"}})
		wantClass(t, err, Unknown)
		if c := f.counts(); c.service != 2 {
			t.Fatalf("service calls = %d, want 2", c.service)
		}
	}
}

func TestUnauthorizedRefreshesAndResendsOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reject func(http.ResponseWriter, *http.Request, []byte, int)
	}{
		{"http401", func(w http.ResponseWriter, _ *http.Request, _ []byte, _ int) { w.WriteHeader(401) }},
		{"100311 on 401", fail(401, "100311", "SYSTEM_ERROR")},
		{"100310 on 401", fail(401, "100310", "SYSTEM_ERROR")},
		{"gmu 100311 on 401", func(w http.ResponseWriter, _ *http.Request, _ []byte, _ int) {
			writeJSON(w, 401, map[string]any{"status": "failure", "errorCode": "100311", "errorMessage": "expired"})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.set(func(w http.ResponseWriter, r *http.Request, b []byte, n int) {
				if n == 1 {
					tc.reject(w, r, b, n)
					return
				}
				writeJSON(w, 200, map[string]any{"status": "SUCCESS", "paymentId": "p-2"})
			})
			h := start(t, f.srv.URL, nil)
			resp, err := h.c.Payment(context.Background(), sale("ref-1", 100))
			wantClass(t, err, Approved)
			if resp.PaymentID != "p-2" {
				t.Fatalf("resp = %+v", resp)
			}
			c := f.counts()
			if c.service != 2 || c.refreshes != 1 || c.authorizes != 1 {
				t.Fatalf("counts = %+v, want 2 service calls, 1 refresh, 1 login", c)
			}
			f.mu.Lock()
			first, second := f.auths[0], f.auths[1]
			same := string(f.bodies[0]) == string(f.bodies[1])
			f.mu.Unlock()
			if first == second || !same {
				t.Fatalf("resend must carry a new token and the same body")
			}
		})
	}
}

// TestUnauthorizedTwiceIsNeverAThirdSend: the resend after a 401 was
// refused with 401 too. No third send. A card call is Unknown (the copy's
// refusal says nothing of the first attempt, were that 401 a lie after a
// charge: a status query settles it); a read-only call is AuthFailed.
func TestUnauthorizedTwiceIsNeverAThirdSend(t *testing.T) {
	f := newFake(t)
	f.set(fail(401, "100311", "SYSTEM_ERROR"))
	h := start(t, f.srv.URL, nil)
	_, err := h.c.Payment(context.Background(), sale("ref-1", 100))
	if e := wantClass(t, err, Unknown); !e.Resent || e.Reason != ReasonRefusedAfterResend {
		t.Fatalf("card call after two 401s: %#v", e)
	}
	if c := f.counts(); c.service != 2 {
		t.Fatalf("service calls = %d, want exactly 2", c.service)
	}
	_, err = h.c.QueryTransactionStatus(context.Background(), QueryRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "ref-1"}})
	if e := wantClass(t, err, AuthFailed); !e.Resent {
		t.Fatalf("query after two 401s: %#v", e)
	}
	if c := f.counts(); c.service != 4 {
		t.Fatalf("service calls = %d, want exactly 4", c.service)
	}
}

func TestSessionTerminatedLogsInAgain(t *testing.T) {
	f := newFake(t)
	f.set(func(w http.ResponseWriter, r *http.Request, b []byte, n int) {
		if n == 1 {
			fail(401, "380204", "DEVICE_ERROR")(w, r, b, n)
			return
		}
		writeJSON(w, 200, map[string]any{"status": "SUCCESS", "paymentId": "p-2"})
	})
	h := start(t, f.srv.URL, nil)
	_, err := h.c.Payment(context.Background(), sale("ref-1", 100))
	wantClass(t, err, Approved)
	c := f.counts()
	if c.authorizes != 2 || c.codeGrants != 2 || c.refreshes != 0 || c.service != 2 {
		t.Fatalf("counts = %+v, want a second login, no refresh, 2 service calls", c)
	}
}

// TestSessionTerminatedAndLoginFailsIsAuthFailed: iyzico ended the session
// with a 401 (nothing reached a device) and the login that follows is
// refused: AuthFailed, one service call.
func TestSessionTerminatedAndLoginFailsIsAuthFailed(t *testing.T) {
	f := newFake(t)
	f.set(func(w http.ResponseWriter, r *http.Request, b []byte, n int) {
		f.mu.Lock()
		f.password = "changed" // the merchant changed the password meanwhile
		f.mu.Unlock()
		fail(401, "380204", "DEVICE_ERROR")(w, r, b, n)
	})
	h := start(t, f.srv.URL, nil)
	_, err := h.c.Payment(context.Background(), sale("ref-1", 100))
	e := wantClass(t, err, AuthFailed)
	if e.Reason != ReasonCredentialsRejected {
		t.Fatalf("reason = %v", e.Reason)
	}
	if c := f.counts(); c.service != 1 || c.authorizes != 2 {
		t.Fatalf("counts = %+v, want 1 service call and a second login", c)
	}
	if st := h.c.TokenStatus(); st.LastErrorClass != AuthFailed || st.LastError == "" || st.LastErrorReason != ReasonCredentialsRejected {
		t.Fatalf("status = %+v", st)
	}
}

// TestSessionTerminatedOutside401IsUnknown: 380204 in an HTTP 200 answer may
// have followed a device action: Unknown, never resent. The next call logs in
// again first; when that login is refused it is AuthFailed and sends nothing.
func TestSessionTerminatedOutside401IsUnknown(t *testing.T) {
	f := newFake(t)
	f.set(func(w http.ResponseWriter, r *http.Request, b []byte, n int) {
		f.mu.Lock()
		f.password = "changed"
		f.mu.Unlock()
		fail(200, "380204", "DEVICE_ERROR")(w, r, b, n)
	})
	h := start(t, f.srv.URL, nil)
	_, err := h.c.Payment(context.Background(), sale("ref-1", 100))
	if e := wantClass(t, err, Unknown); e.Reason != ReasonSessionTerminated || e.Resent {
		t.Fatalf("err = %#v", e)
	}
	if c := f.counts(); c.service != 1 || c.authorizes != 1 || c.refreshes != 0 {
		t.Fatalf("counts = %+v, want exactly 1 service call and no renewal", c)
	}
	if st := h.c.TokenStatus(); st.Valid {
		t.Fatalf("status = %+v: a refused token is shown valid", st)
	}
	_, err = h.c.Payment(context.Background(), sale("ref-2", 100))
	if e := wantClass(t, err, AuthFailed); e.Reason != ReasonCredentialsRejected {
		t.Fatalf("reason = %v", e.Reason)
	}
	if c := f.counts(); c.service != 1 || c.authorizes != 2 {
		t.Fatalf("counts = %+v: the next call must log in again and send nothing", c)
	}
}

// chargingFake is a fake iyzico device: it charges every sale it is sent
// (counted by transactionReferenceId), answers with answer, and answers a
// status query with the charge it made.
func chargingFake(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, n int)) (*fake, func(ref string) int) {
	f := newFake(t)
	var mu sync.Mutex
	charges := map[string]int{}
	f.set(func(w http.ResponseWriter, r *http.Request, b []byte, n int) {
		var req struct {
			Ref string `json:"transactionReferenceId"`
		}
		_ = json.Unmarshal(b, &req)
		if r.URL.Path == PathQuery {
			mu.Lock()
			charged := charges[req.Ref] > 0
			mu.Unlock()
			if charged {
				writeJSON(w, 200, map[string]any{"status": "SUCCESS", "errorCode": "", "transactionReferenceId": req.Ref, "paymentId": "p-" + req.Ref})
			} else {
				fail(400, "380108", "BUSINESS_ERROR")(w, r, b, n)
			}
			return
		}
		mu.Lock()
		charges[req.Ref]++
		mu.Unlock()
		answer(w, r, n)
	})
	return f, func(ref string) int {
		mu.Lock()
		defer mu.Unlock()
		return charges[ref]
	}
}

// TestChargedThenTokenErrorIsUnknown: the device charged, then iyzico answered
// HTTP 200 with a token error. Resending it (the old rule) would charge twice
// or, against a duplicate check, report a false decline.
func TestChargedThenTokenErrorIsUnknown(t *testing.T) {
	for _, tc := range []struct {
		status      int
		code, group string
	}{
		{200, "380204", "DEVICE_ERROR"},
		{200, "100311", "SYSTEM_ERROR"},
		{400, "100310", "SYSTEM_ERROR"},
		{422, "380204", "DEVICE_ERROR"},
	} {
		t.Run(fmt.Sprintf("%d %s", tc.status, tc.code), func(t *testing.T) {
			f, charges := chargingFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				fail(tc.status, tc.code, tc.group)(w, r, nil, n)
			})
			h := start(t, f.srv.URL, nil)
			ctx := context.Background()
			_, err := h.c.Payment(ctx, sale("ref-1", 100))
			if e := wantClass(t, err, Unknown); e.Resent || e.Code != tc.code {
				t.Fatalf("err = %#v", e)
			}
			if n := charges("ref-1"); n != 1 {
				t.Fatalf("charged %d times", n)
			}
			if c := f.counts(); c.service != 1 || c.authorizes != 1 {
				t.Fatalf("counts = %+v: resent, or renewed before anyone needed it", c)
			}
			// The query with the same reference settles it, after a fresh login.
			resp, err := h.c.QueryTransactionStatus(ctx, QueryRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "ref-1"}})
			wantClass(t, err, Approved)
			if resp.PaymentID != "p-ref-1" || charges("ref-1") != 1 {
				t.Fatalf("query %+v, charges %d", resp, charges("ref-1"))
			}
			if c := f.counts(); c.authorizes != 2 || c.codeGrants != 2 {
				t.Fatalf("counts = %+v: the refused token was used again instead of logging in", c)
			}
			f.mu.Lock()
			first, last := f.auths[0], f.auths[len(f.auths)-1]
			f.mu.Unlock()
			if first == last {
				t.Fatal("the query used the refused token")
			}
		})
	}
}

// TestResentThenRefusedIsUnknown: iyzico answered 401 and the request was
// resent once; the resend is refused on its merits (here: "reference already
// used", as a lying 401 would cause). That proves nothing: Unknown, not Declined.
func TestResentThenRefusedIsUnknown(t *testing.T) {
	for _, tc := range []struct {
		name   string
		second func(w http.ResponseWriter, r *http.Request, n int)
	}{
		{"duplicate reference", func(w http.ResponseWriter, r *http.Request, n int) {
			fail(400, "389901", "BUSINESS_ERROR")(w, r, nil, n)
		}},
		{"validation", func(w http.ResponseWriter, r *http.Request, n int) {
			fail(400, "380104", "VALIDATION_ERROR")(w, r, nil, n)
		}},
		{"gmu-style without group", func(w http.ResponseWriter, r *http.Request, n int) {
			writeJSON(w, 400, map[string]any{"status": "FAILURE", "errorCode": "380112"})
		}},
		{"busy", func(w http.ResponseWriter, r *http.Request, n int) { fail(200, "380201", "DEVICE_ERROR")(w, r, nil, n) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, charges := chargingFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					w.WriteHeader(http.StatusUnauthorized) // and yet it charged
					return
				}
				tc.second(w, r, n)
			})
			h := start(t, f.srv.URL, nil)
			_, err := h.c.Payment(context.Background(), sale("ref-1", 100))
			if e := wantClass(t, err, Unknown); !e.Resent || e.Reason != ReasonRefusedAfterResend {
				t.Fatalf("err = %#v", e)
			}
			if c := f.counts(); c.service != 2 || charges("ref-1") != 2 {
				t.Fatalf("counts = %+v, charges %d", c, charges("ref-1"))
			}
		})
	}
}

func TestBadCredentialsNameTheProblemNotTheSecret(t *testing.T) {
	f := newFake(t)
	f.mu.Lock()
	f.password = "the-right-one"
	f.mu.Unlock()
	h := start(t, f.srv.URL, nil)
	_, err := h.c.Payment(context.Background(), sale("ref-1", 100))
	e := wantClass(t, err, AuthFailed)
	text := err.Error()
	if !strings.Contains(text, "rejected the credentials") || e.HTTPStatus != 401 {
		t.Fatalf("error does not name the problem: %s", text)
	}
	// The fake echoes the password in its description; neither it nor any
	// other secret may come out.
	for _, secret := range []string{testPassword, testSecret} {
		if strings.Contains(text, secret) {
			t.Fatalf("error text carries a secret: %s", text)
		}
		if strings.Contains(h.logs.String(), secret) {
			t.Fatalf("log carries a secret:\n%s", h.logs.String())
		}
	}
	if c := f.counts(); c.service != 0 {
		t.Fatalf("service calls = %d, want 0", c.service)
	}
	// A second call inside the backoff does not hammer the login.
	before := f.counts().authorizes
	_, err = h.c.Payment(context.Background(), sale("ref-2", 100))
	wantClass(t, err, AuthFailed)
	if after := f.counts().authorizes; after != before {
		t.Fatalf("login retried during backoff: %d → %d", before, after)
	}
}

func TestBusyIsNotSentAndNotRetried(t *testing.T) {
	f := newFake(t)
	f.set(fail(200, "380201", "DEVICE_ERROR"))
	h := start(t, f.srv.URL, nil)
	_, err := h.c.Payment(context.Background(), sale("ref-1", 100))
	if e := wantClass(t, err, NotSent); e.Reason != ReasonTerminalBusy {
		t.Fatalf("reason = %v", e.Reason)
	}
	if c := f.counts(); c.service != 1 {
		t.Fatalf("service calls = %d, want 1", c.service)
	}
}

func TestNotFoundOnlyForReadOnlyCalls(t *testing.T) {
	f := newFake(t)
	f.set(fail(400, "380107", "BUSINESS_ERROR"))
	h := start(t, f.srv.URL, nil)
	ctx := context.Background()
	_, err := h.c.QueryTransactionStatus(ctx, QueryRequest{PaymentID: "p-x"})
	wantClass(t, err, NotFound)
	// A query by reference answered "not found by paymentId" is no evidence.
	_, err = h.c.GmuQueryTransactionStatus(ctx, GmuQueryRequest{Head: Head{TransactionReferenceID: "r"}})
	wantClass(t, err, Unknown)
	_, err = h.c.GmuRefundableSaleInfo(ctx, GmuRefundableSaleInfoRequest{Head: Head{TransactionReferenceID: "r"}})
	wantClass(t, err, NotFound)
	_, err = h.c.Void(ctx, VoidRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "v"}, PaymentID: "p-x", PaymentDate: "20260406"})
	wantClass(t, err, Declined)
}

func TestUnreadableAnswersAreUnknown(t *testing.T) {
	for name, body := range map[string]string{
		"html":        "<html>gateway</html>",
		"empty":       "",
		"no status":   `{"paymentId":"p"}`,
		"odd status":  `{"status":"PENDING"}`,
		"bad payload": `{"status":"SUCCESS","paymentId":{"nested":true},"price":"abc"}`,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t)
			f.set(func(w http.ResponseWriter, _ *http.Request, _ []byte, _ int) { _, _ = w.Write([]byte(body)) })
			h := start(t, f.srv.URL, nil)
			_, err := h.c.Payment(context.Background(), sale("ref-1", 100))
			wantClass(t, err, Unknown)
		})
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	f := newFake(t)
	f.set(func(w http.ResponseWriter, r *http.Request, _ []byte, _ int) {
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	})
	h := start(t, f.srv.URL, nil)
	_, err := h.c.Payment(context.Background(), sale("ref-1", 100))
	wantClass(t, err, Unknown)
	if c := f.counts(); c.service != 1 {
		t.Fatalf("service calls = %d: a redirect was followed", c.service)
	}
}

func TestInvalidRequestIsRefusedLocally(t *testing.T) {
	f := newFake(t)
	h := start(t, f.srv.URL, nil)
	ctx := context.Background()
	bad := sale("", 0)
	bad.SalesType = "REFUND"
	bad.Installment = 13
	_, err := h.c.Payment(ctx, bad)
	e := wantClass(t, err, NotSent)
	if !errors.Is(err, ErrInvalidRequest) || e.Reason != ReasonInvalidRequest {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"transactionReferenceId", "price", "installment", "salesType"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q not reported: %v", want, err)
		}
	}
	_, err = h.c.GmuVoid(ctx, GmuVoidRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "v"}, PaymentID: "p", PaymentDate: 2026046})
	wantClass(t, err, NotSent)
	_, err = h.c.QueryTransactionStatus(ctx, QueryRequest{Head: Head{DeviceUniqueID: testDevice}})
	wantClass(t, err, NotSent)
	_, err = h.c.Payment(ctx, PaymentRequest{Head: Head{DeviceUniqueID: testDevice, TransactionReferenceID: "r"},
		Amount: payment.NewMoney(100, payment.TRY), SalesType: SalesTypePostAuth})
	wantClass(t, err, NotSent)
	if c := f.counts(); c.service != 0 {
		t.Fatalf("service calls = %d, want 0", c.service)
	}
}

// TestConcurrentCallsShareOneRefresh: 100 calls find the token about to expire
// at once; exactly one refresh happens and all of them use its token. The
// refresh is held until all 100 are waiting for the token owner, so they are
// proven concurrent.
func TestConcurrentCallsShareOneRefresh(t *testing.T) {
	const calls = 100
	f := newFake(t)
	clk := newClock()
	h := start(t, f.srv.URL, func(c *Config) {
		c.Now = clk.Now
		c.RefreshAhead = time.Second // the owner's own timer stays out of the way
	})
	ctx := context.Background()
	if _, err := h.c.Payment(ctx, sale("warm", 100)); err != nil {
		t.Fatal(err)
	}
	// Hold the refresh until every call is waiting for it.
	gate, entered := make(chan struct{}), make(chan struct{}, 1)
	f.mu.Lock()
	f.refreshGate, f.refreshEntered = gate, entered
	f.mu.Unlock()
	waiting := make(chan struct{}, calls)
	h.c.tok.onAsk = func() { waiting <- struct{}{} }
	clk.Advance(7199*time.Second - 2*time.Second) // less life left than CardTimeout
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for i := range calls {
		wg.Go(func() {
			_, err := h.c.Payment(ctx, sale(fmt.Sprint("ref-", i), 100))
			errs <- err
		})
	}
	deadline := time.After(30 * time.Second) // a deadline, not a wait
	for range calls {
		select {
		case <-waiting:
		case <-deadline:
			t.Fatal("not every call asked the owner for a token")
		}
	}
	select {
	case <-entered: // the one refresh is at iyzico, held
	case <-deadline:
		t.Fatal("no refresh reached iyzico")
	}
	if c := f.counts(); c.service != 1 || c.refreshes != 1 {
		t.Fatalf("counts = %+v: a call went ahead before the refresh", c)
	}
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if c := f.counts(); c.refreshes != 1 || c.authorizes != 1 || c.service != calls+1 {
		t.Fatalf("counts = %+v, want exactly 1 refresh, 1 login and %d service calls", c, calls+1)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.auths[1:] {
		if a != "Bearer access-token-2-xyz" {
			t.Fatalf("a call used %q, not the refreshed token", a)
		}
	}
}

func TestCardOperationRefreshesFirstWhenTokenTooShort(t *testing.T) {
	f := newFake(t)
	clk := newClock()
	h := start(t, f.srv.URL, func(c *Config) {
		c.Now = clk.Now
		c.CardTimeout = 180 * time.Second
		c.RefreshAhead = time.Second
	})
	ctx := context.Background()
	if _, err := h.c.QueryTransactionStatus(ctx, QueryRequest{PaymentID: "p-1"}); err != nil {
		t.Fatal(err)
	}
	first := h.c.TokenExpiry()
	clk.Advance(7199*time.Second - 100*time.Second) // 100 s left: fine for a query, not for a card
	if _, err := h.c.QueryTransactionStatus(ctx, QueryRequest{PaymentID: "p-1"}); err != nil {
		t.Fatal(err)
	}
	if c := f.counts(); c.refreshes != 0 {
		t.Fatalf("a query refreshed with 100 s left: %+v", c)
	}
	if _, err := h.c.Payment(ctx, sale("ref-1", 100)); err != nil {
		t.Fatal(err)
	}
	if c := f.counts(); c.refreshes != 1 {
		t.Fatalf("refreshes = %d, want 1 before the card operation", c.refreshes)
	}
	f.mu.Lock()
	last := f.auths[len(f.auths)-1]
	f.mu.Unlock()
	if !strings.Contains(last, "access-token-2") || !h.c.TokenExpiry().After(first) {
		t.Fatalf("card operation used %q", last)
	}
}

func TestRefreshFailureFallsBackToLogin(t *testing.T) {
	f := newFake(t)
	clk := newClock()
	h := start(t, f.srv.URL, func(c *Config) { c.Now = clk.Now; c.RefreshAhead = time.Second })
	ctx := context.Background()
	if _, err := h.c.Payment(ctx, sale("warm", 100)); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.refreshes = map[string]bool{} // every refresh token refused
	f.mu.Unlock()
	clk.Advance(7199 * time.Second)
	if _, err := h.c.Payment(ctx, sale("ref-1", 100)); err != nil {
		t.Fatal(err)
	}
	if c := f.counts(); c.authorizes != 2 || c.codeGrants != 2 {
		t.Fatalf("counts = %+v, want a second login", c)
	}
	if st := h.c.TokenStatus(); st.Logins != 2 || !st.Valid || st.LastError != "" {
		t.Fatalf("status = %+v", st)
	}
}

func TestSavedTokenAvoidsLogin(t *testing.T) {
	f := newFake(t)
	h := start(t, f.srv.URL, nil)
	if _, err := h.c.Payment(context.Background(), sale("ref-1", 100)); err != nil {
		t.Fatal(err)
	}
	if h.store.Saves() != 1 {
		t.Fatalf("saves = %d", h.store.Saves())
	}
	// A restart with the same store.
	c2, err := New(h.c.cfg, h.store)
	if err != nil {
		t.Fatal(err)
	}
	runTokenOwner(t, c2)
	if _, err := c2.Payment(context.Background(), sale("ref-2", 100)); err != nil {
		t.Fatal(err)
	}
	if c := f.counts(); c.authorizes != 1 || c.refreshes != 0 {
		t.Fatalf("counts = %+v: the restart logged in again", c)
	}
}

func TestProactiveRefreshByOwner(t *testing.T) {
	f := newFake(t)
	f.expiresIn = 2
	refreshed := make(chan struct{}, 1)
	f.onRefresh = refreshed
	h := start(t, f.srv.URL, func(c *Config) {
		c.CardTimeout = 100 * time.Millisecond
		c.QueryTimeout = 100 * time.Millisecond
		c.RefreshAhead = 1500 * time.Millisecond // fires at half life: 1 s
	})
	select {
	case <-refreshed:
	case <-time.After(10 * time.Second):
		t.Fatal("the owner did not refresh ahead of expiry")
	}
	if c := f.counts(); c.service != 0 || c.refreshes < 1 {
		t.Fatalf("counts = %+v", c)
	}
	_ = h
}

func TestNoOwnerMeansNotSent(t *testing.T) {
	f := newFake(t)
	c, err := New(Config{BaseURL: f.srv.URL, Credentials: Credentials{ClientID: "a", ClientSecret: secret.New("b"), Username: "c", Password: secret.New("d")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = c.Payment(ctx, sale("ref-1", 100))
	if e := wantClass(t, err, NotSent); e.Reason != ReasonNoToken || !errors.Is(err, ErrNotRunning) {
		t.Fatalf("err = %v", err)
	}
}

func TestLoginUnreachableIsNotSent(t *testing.T) {
	h := start(t, "http://"+deadAddr(t), nil)
	_, err := h.c.Payment(context.Background(), sale("ref-1", 100))
	if e := wantClass(t, err, NotSent); e.Reason != ReasonNotConnected {
		t.Fatalf("reason = %v (%v)", e.Reason, err)
	}
}

func TestTokensNeverLogged(t *testing.T) {
	f := newFake(t)
	f.set(func(w http.ResponseWriter, r *http.Request, b []byte, n int) {
		switch n {
		case 1:
			fail(401, "100311", "SYSTEM_ERROR")(w, r, b, n)
		case 2:
			fail(200, "10051", "BANK_ERROR")(w, r, b, n)
		default:
			// An error message that quotes the bearer token it got.
			writeJSON(w, 400, map[string]any{"status": "FAILURE", "errorCode": "380104", "errorGroup": "VALIDATION_ERROR",
				"errorMessage": "bad header " + r.Header.Get("Authorization")})
		}
	})
	h := start(t, f.srv.URL, nil)
	_, _ = h.c.Payment(context.Background(), sale("ref-1", 100))
	_, err := h.c.Payment(context.Background(), sale("ref-2", 100))
	wantClass(t, err, Declined)
	f.mu.Lock()
	tokens := append([]string{}, f.auths...)
	f.mu.Unlock()
	logs := h.logs.String()
	for _, a := range tokens {
		tok := strings.TrimPrefix(a, "Bearer ")
		if strings.Contains(logs, tok) || strings.Contains(err.Error(), tok) {
			t.Fatalf("token %q leaked:\nlog: %s\nerr: %s", tok, logs, err)
		}
	}
	for _, s := range []string{"refresh-token-", testSecret, testPassword, "code-1", "Authorization", "Basic "} {
		if strings.Contains(logs, s) {
			t.Fatalf("log carries %q:\n%s", s, logs)
		}
	}
	if !strings.Contains(logs, `"component":"upstream"`) || !strings.Contains(logs, `"transactionReferenceId":"ref-2"`) {
		t.Fatalf("log lacks the allow-listed fields:\n%s", logs)
	}
}

func TestCredentialsRedacted(t *testing.T) {
	c := Credentials{ClientID: "id", ClientSecret: secret.New(testSecret), Username: "user", Password: secret.New(testPassword)}
	cfg := Config{Credentials: c}
	b, _ := json.Marshal(c)
	ar := AuthorizeRequest{ClientSecret: secret.New(testSecret), Password: secret.New(testPassword)}
	for _, s := range []string{
		c.String(), c.GoString(), string(b),
		fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%s", c), fmt.Sprintf("%q", c),
		fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", &cfg),
		fmt.Sprintf("%v", ar), fmt.Sprintf("%#v", ar),
	} {
		if strings.Contains(s, testSecret) || strings.Contains(s, testPassword) {
			t.Fatalf("secret in %q", s)
		}
	}
	logs := &syncBuffer{}
	l := zerolog.New(logs)
	l.Info().Object("creds", c).Interface("iface", c).Msg("x")
	if strings.Contains(logs.String(), testSecret) || strings.Contains(logs.String(), testPassword) || !strings.Contains(logs.String(), `"client_id":"id"`) {
		t.Fatalf("zerolog: %s", logs.String())
	}
}

func TestConfigValidation(t *testing.T) {
	_, err := New(Config{BaseURL: "https://u:" + testPassword + "@host", Locale: "de"}, nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"user info", "ClientID", "ClientSecret", "Username", "Password", "Locale"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q not reported: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), testPassword) {
		t.Fatal("config error repeats a secret")
	}
	c, err := New(Config{BaseURL: "https://sandbox-api.iyzipay.com/", Credentials: Credentials{"a", secret.New("b"), "c", secret.New("d")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.CardTimeout != 180*time.Second || c.cfg.QueryTimeout != 15*time.Second || c.cfg.EODTimeout != 120*time.Second ||
		c.cfg.LoginTimeout != 15*time.Second || c.cfg.RefreshAhead != 210*time.Second || c.cfg.Locale != "tr" ||
		c.cfg.BaseURL != "https://sandbox-api.iyzipay.com" {
		t.Fatalf("defaults: %+v", c.cfg)
	}
}

func TestSavedTokenWithoutAccessTokenIsRenewedFirst(t *testing.T) {
	f := newFake(t)
	clk := newClock()
	store := NewMemoryTokenStore(&oauth2.Token{RefreshToken: "unknown-refresh-token", Expiry: clk.Now().Add(time.Hour)})
	c, err := New(Config{BaseURL: f.srv.URL, Now: clk.Now,
		Credentials: Credentials{ClientID: testClientID, ClientSecret: secret.New(testSecret), Username: testUser, Password: secret.New(testPassword)}}, store)
	if err != nil {
		t.Fatal(err)
	}
	runTokenOwner(t, c)
	if _, err := c.Payment(context.Background(), sale("ref-1", 100)); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	first := f.auths[0]
	f.mu.Unlock()
	if first == "Bearer " || first == "" {
		t.Fatalf("sent an empty bearer token")
	}
	if cnt := f.counts(); cnt.authorizes != 1 || cnt.service != 1 {
		t.Fatalf("counts = %+v", cnt)
	}
	if err := c.Run(context.Background()); err == nil {
		t.Fatal("a second Run was accepted")
	}
}

// TestShortLivedTokenDoesNotRenewPerCall: iyzico issues a token shorter-lived
// than the card timeout; a fresh one is used instead of renewing on every call.
func TestShortLivedTokenDoesNotRenewPerCall(t *testing.T) {
	f := newFake(t)
	f.expiresIn = 3 // < CardTimeout of 5 s
	clk := newClock()
	h := start(t, f.srv.URL, func(c *Config) { c.Now = clk.Now; c.RefreshAhead = time.Second })
	for i := range 3 {
		if _, err := h.c.Payment(context.Background(), sale(fmt.Sprint("ref-", i), 100)); err != nil {
			t.Fatal(err)
		}
	}
	if c := f.counts(); c.authorizes != 1 || c.refreshes != 0 {
		t.Fatalf("counts = %+v", c)
	}
	clk.Advance(time.Second) // no longer fresh, too short for a card: renew
	if _, err := h.c.Payment(context.Background(), sale("ref-x", 100)); err != nil {
		t.Fatal(err)
	}
	if c := f.counts(); c.refreshes != 1 {
		t.Fatalf("counts = %+v", c)
	}
}

// TestSavedTokenNearExpiryIsNotUsedForACard: a token loaded from the store with
// 100 s left is not taken for a fresh one: a card operation refreshes first.
func TestSavedTokenNearExpiryIsNotUsedForACard(t *testing.T) {
	f := newFake(t)
	clk := newClock()
	h := start(t, f.srv.URL, func(c *Config) { c.Now = clk.Now; c.RefreshAhead = time.Second })
	if _, err := h.c.Payment(context.Background(), sale("warm", 100)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(7199*time.Second - 100*time.Second)
	cfg := h.c.cfg
	cfg.CardTimeout = 180 * time.Second
	c2, err := New(cfg, h.store)
	if err != nil {
		t.Fatal(err)
	}
	runTokenOwner(t, c2)
	if _, err := c2.Payment(context.Background(), sale("ref-1", 100)); err != nil {
		t.Fatal(err)
	}
	if c := f.counts(); c.refreshes != 1 || c.authorizes != 1 {
		t.Fatalf("counts = %+v, want one refresh before the card operation", c)
	}
}

// TestScrubTokenSentAndJWTs: an error message that quotes the token this call
// sent is scrubbed even after a renewal replaced the held token meanwhile, and
// anything shaped like a JWT is scrubbed too.
func TestScrubTokenSentAndJWTs(t *testing.T) {
	const jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtZXJjaGFudCJ9.c2lnbmF0dXJl"
	f := newFake(t)
	arrived, release := make(chan struct{}), make(chan struct{})
	f.set(func(w http.ResponseWriter, r *http.Request, b []byte, n int) {
		var req struct {
			Ref string `json:"transactionReferenceId"`
		}
		_ = json.Unmarshal(b, &req)
		switch {
		case req.Ref == "slow":
			close(arrived)
			<-release
			writeJSON(w, 400, map[string]any{"status": "FAILURE", "errorCode": "380104", "errorGroup": "VALIDATION_ERROR",
				"errorMessage":         "bad header " + r.Header.Get("Authorization") + " (session " + jwt + ")",
				"consumerErrorMessage": "token " + strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")})
		case req.Ref == "renew" && n == 2:
			w.WriteHeader(http.StatusUnauthorized)
		default:
			writeJSON(w, 200, map[string]any{"status": "SUCCESS", "errorCode": "", "paymentId": "p"})
		}
	})
	h := start(t, f.srv.URL, nil)
	ctx := context.Background()
	done := make(chan error, 1)
	go func() { _, err := h.c.Payment(ctx, sale("slow", 100)); done <- err }()
	<-arrived
	// Meanwhile another call is refused with 401: the token is renewed.
	if _, err := h.c.Payment(ctx, sale("renew", 100)); err != nil {
		t.Fatal(err)
	}
	if c := f.counts(); c.refreshes != 1 {
		t.Fatalf("counts %+v", c)
	}
	close(release)
	err := <-done
	e := wantClass(t, err, Declined)
	for _, s := range []string{"access-token-1-xyz", "eyJ", "signature"} {
		if strings.Contains(err.Error(), s) || strings.Contains(e.ConsumerMessage, s) || strings.Contains(h.logs.String(), s) {
			t.Fatalf("%q leaked:\nerr: %v\nconsumer: %s\nlog: %s", s, err, e.ConsumerMessage, h.logs.String())
		}
	}
	if !strings.Contains(e.Message, "bad header Bearer "+masked) {
		t.Fatalf("message %q", e.Message)
	}
	// And directly.
	got := h.c.tok.scrub("sent sent-token-123 and "+jwt+" and eyJhbGciOiJub25lIn0", &oauth2.Token{AccessToken: "sent-token-123"})
	if strings.Contains(got, "sent-token-123") || strings.Contains(got, "eyJ") {
		t.Fatalf("scrub: %q", got)
	}
}
