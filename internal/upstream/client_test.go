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
	"github.com/rs/zerolog"
	"golang.org/x/oauth2"
)

func sale(ref string, minor int64) PaymentRequest {
	return PaymentRequest{DeviceUniqueID: testDevice, TransactionReferenceID: ref,
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
	if got := ClassOf(err); got != want {
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
		_, err = h.c.QueryTransactionStatus(context.Background(), QueryRequest{DeviceUniqueID: testDevice, TransactionReferenceID: "ref-1"})
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
		{"100311 on 200", fail(200, "100311", "SYSTEM_ERROR")},
		{"100310 on 400", fail(400, "100310", "SYSTEM_ERROR")},
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

func TestUnauthorizedTwiceIsAuthFailedWithoutThirdSend(t *testing.T) {
	f := newFake(t)
	f.set(fail(401, "100311", "SYSTEM_ERROR"))
	h := start(t, f.srv.URL, nil)
	_, err := h.c.Payment(context.Background(), sale("ref-1", 100))
	if e := wantClass(t, err, AuthFailed); !e.Resent {
		t.Fatalf("Resent = false: %v", e)
	}
	if c := f.counts(); c.service != 2 {
		t.Fatalf("service calls = %d, want exactly 2", c.service)
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

func TestSessionTerminatedAndLoginFailsIsAuthFailed(t *testing.T) {
	f := newFake(t)
	f.set(func(w http.ResponseWriter, r *http.Request, b []byte, n int) {
		f.mu.Lock()
		f.password = "changed" // the merchant changed the password meanwhile
		f.mu.Unlock()
		fail(200, "380204", "DEVICE_ERROR")(w, r, b, n)
	})
	h := start(t, f.srv.URL, nil)
	_, err := h.c.Payment(context.Background(), sale("ref-1", 100))
	e := wantClass(t, err, AuthFailed)
	if e.Reason != ReasonCredentialsRejected {
		t.Fatalf("reason = %v", e.Reason)
	}
	if c := f.counts(); c.service != 1 {
		t.Fatalf("service calls = %d, want 1", c.service)
	}
	if st := h.c.TokenStatus(); st.LastErrorClass != AuthFailed || st.LastError == "" {
		t.Fatalf("status = %+v", st)
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
	_, err = h.c.GmuQueryTransactionStatus(ctx, GmuQueryRequest{TransactionReferenceID: "r"})
	wantClass(t, err, NotFound)
	_, err = h.c.GmuRefundableSaleInfo(ctx, GmuRefundableSaleInfoRequest{TransactionReferenceID: "r"})
	wantClass(t, err, NotFound)
	_, err = h.c.Void(ctx, VoidRequest{PaymentID: "p-x", PaymentDate: "20260406", DeviceUniqueID: testDevice, TransactionReferenceID: "v"})
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
	_, err = h.c.GmuVoid(ctx, GmuVoidRequest{DeviceUniqueID: testDevice, PaymentID: "p", PaymentDate: 2026046, TransactionReferenceID: "v"})
	wantClass(t, err, NotSent)
	_, err = h.c.QueryTransactionStatus(ctx, QueryRequest{DeviceUniqueID: testDevice})
	wantClass(t, err, NotSent)
	_, err = h.c.Payment(ctx, PaymentRequest{DeviceUniqueID: testDevice, TransactionReferenceID: "r", Amount: payment.NewMoney(100, payment.TRY), SalesType: SalesTypePostAuth})
	wantClass(t, err, NotSent)
	if c := f.counts(); c.service != 0 {
		t.Fatalf("service calls = %d, want 0", c.service)
	}
}

// TestConcurrentCallsShareOneRefresh: 100 calls find the token about to expire
// at once; exactly one refresh happens and all of them use its token.
func TestConcurrentCallsShareOneRefresh(t *testing.T) {
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
	gate := make(chan struct{})
	f.mu.Lock()
	f.refreshGate = gate
	f.mu.Unlock()
	clk.Advance(7199*time.Second - 2*time.Second) // less life left than CardTimeout
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Go(func() {
			_, err := h.c.Payment(ctx, sale("ref-"+string(rune('a'+i%26))+strings.Repeat("x", i/26), 100))
			errs <- err
		})
	}
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if c := f.counts(); c.refreshes != 1 || c.authorizes != 1 {
		t.Fatalf("counts = %+v, want exactly 1 refresh and 1 login", c)
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
	if _, err := h.c.QueryTransactionStatus(ctx, QueryRequest{PaymentID: "p"}); err != nil {
		t.Fatal(err)
	}
	first := h.c.TokenExpiry()
	clk.Advance(7199*time.Second - 100*time.Second) // 100 s left: fine for a query, not for a card
	if _, err := h.c.QueryTransactionStatus(ctx, QueryRequest{PaymentID: "p"}); err != nil {
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
	c, err := New(Config{BaseURL: f.srv.URL, Credentials: Credentials{ClientID: "a", ClientSecret: "b", Username: "c", Password: "d"}}, nil)
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
	c := Credentials{ClientID: "id", ClientSecret: testSecret, Username: "user", Password: testPassword}
	cfg := Config{Credentials: c}
	b, _ := json.Marshal(c)
	ar := AuthorizeRequest{ClientSecret: testSecret, Password: testPassword}
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
	c, err := New(Config{BaseURL: "https://sandbox-api.iyzipay.com/", Credentials: Credentials{"a", "b", "c", "d"}}, nil)
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
		Credentials: Credentials{ClientID: testClientID, ClientSecret: testSecret, Username: testUser, Password: testPassword}}, store)
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
