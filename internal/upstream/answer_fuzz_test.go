package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/bridgedpos/bridged/internal/payment"
)

// answerTransport answers every terminal-host call with one scripted HTTP
// answer and serves the login from the fake in process, so a fuzz input runs
// the client's real decoding and classification without a socket.
type answerTransport struct {
	login http.Handler

	mu     sync.Mutex
	status int
	body   []byte
	refs   []string // the transactionReferenceId of each terminal-host request, in order
}

func (a *answerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasPrefix(r.URL.Path, "/v2/terminal-host/") {
		rec := httptest.NewRecorder()
		a.login.ServeHTTP(rec, r)
		return rec.Result(), nil
	}
	var req struct {
		Ref string `json:"transactionReferenceId"`
	}
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &req)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refs = append(a.refs, req.Ref)
	return &http.Response{StatusCode: a.status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(a.body)), ContentLength: int64(len(a.body)), Request: r}, nil
}

func (a *answerTransport) answer(status int, body []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.status, a.body, a.refs = status, body, nil
}

func (a *answerTransport) sentRefs() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.refs...)
}

// fuzzCalls names the gateway calls FuzzAnswer drives; the fuzzer picks one by index.
var fuzzCalls = []struct {
	name  string
	mode  payment.Mode
	kind  payment.Kind
	query bool
}{
	{"509 sale", payment.VUK509, payment.KindSale, false},
	{"509 pre-auth", payment.VUK509, payment.KindPreAuth, false},
	{"509 post-auth", payment.VUK509, payment.KindPostAuth, false},
	{"509 void", payment.VUK509, payment.KindVoid, false},
	{"509 refund", payment.VUK509, payment.KindRefund, false},
	{"509 query", payment.VUK509, payment.KindSale, true},
	{"509 end of day", payment.VUK509, payment.KindEndOfDay, false},
	{"507 sale", payment.VUK507, payment.KindSale, false},
	{"507 split start", payment.VUK507, payment.KindSplitStart, false},
	{"507 split payment", payment.VUK507, payment.KindSplitPayment, false},
	{"507 split complete", payment.VUK507, payment.KindSplitComplete, false},
	{"507 void", payment.VUK507, payment.KindVoid, false},
	{"507 refund", payment.VUK507, payment.KindRefund, false},
	{"507 query", payment.VUK507, payment.KindSale, true},
	{"507 query split start", payment.VUK507, payment.KindSplitStart, true},
	{"507 end of day", payment.VUK507, payment.KindEndOfDay, false},
}

// fuzzOp is a journaled operation of kind k that passes every request check,
// so that the answer, not the request, decides the outcome.
func fuzzOp(k payment.Kind) *payment.Operation {
	op := &payment.Operation{Kind: k, DeviceUniqueID: testDevice, TransactionReferenceID: "brg-fuzz-1", ConversationID: "c-1",
		Amount: try(3000), Installment: 1, PaymentID: "P-1", PaymentDate: "20260406", PaymentType: "CARD", DocumentType: "1",
		SaleNumber: "S-1", ParentTransactionReferenceID: "brg-sale-1",
		Lines: []payment.SaleLine{line("1", "Tea", 2, 1000, 2000), line("2", "Cake", 1, 1000, 1000)}}
	if k == payment.KindEndOfDay {
		op.Amount = try(0)
	}
	return op
}

// FuzzAnswer sends every gateway call an arbitrary iyzico answer (HTTP status
// and body) and checks what the classification may conclude from it: every
// call ends in a known class, and only an HTTP 200 whose body is one JSON
// object saying status success, with no error code and no other
// transaction's reference, is ever Approved.
func FuzzAnswer(f *testing.F) {
	f.Add(uint8(0), uint16(200), []byte(`{"status":"SUCCESS","errorCode":"","paymentId":"P-9","paymentDate":"20260406","price":30.0,"currency":"TRY","authCode":"123456"}`))
	f.Add(uint8(0), uint16(200), []byte(`{"status":"FAILURE","errorCode":"10051","errorGroup":"BANK_ERROR","errorMessage":"Insufficient funds"}`))
	f.Add(uint8(0), uint16(401), []byte(`{"status":"FAILURE","errorCode":"100310","errorGroup":"SYSTEM_ERROR"}`))
	f.Add(uint8(5), uint16(200), []byte(`{"status":"FAILURE","errorCode":"380108","errorGroup":"BUSINESS_ERROR","transactionReferenceId":"brg-fuzz-1"}`))
	f.Add(uint8(6), uint16(200), []byte(`{"status":"SUCCESS","batchNo":"0001","totals":[{"acquirerId":"1","totalTransactionAmount":"-20.00","totalTransactionCount":"3"}]}`))
	f.Add(uint8(7), uint16(200), []byte(`{"status":"success","errorCode":"0","paymentId":"P-9","paymentDate":20260406,"saleNumber":"S-9"}`))
	f.Add(uint8(8), uint16(200), []byte(`{"status":"success","errorCode":"0","saleNumber":"S-1","remainingPaymentAmount":30.00}`))
	f.Add(uint8(12), uint16(200), []byte(`{"status":"success","errorCode":"0","currency":"TRY","saleItems":[{"id":7,"name":"Tea","itemQuantity":2,"totalPriceAmount":20.00,"returnableQuantity":2,"returnableAmount":20.00},{"id":8,"name":"Cake","itemQuantity":1,"totalPriceAmount":10,"returnableQuantity":1,"returnableAmount":10}]}`))
	f.Add(uint8(13), uint16(200), []byte(`{"status":"success","errorCode":"0","transactionReferenceId":"another-ref","paymentId":"P-9"}`))
	f.Add(uint8(0), uint16(200), []byte(`<html>gateway</html>`))
	f.Add(uint8(0), uint16(502), []byte(`{"status":"SUCCESS"}`))

	fk := newFake(f)
	tr := &answerTransport{login: http.HandlerFunc(fk.serve)}
	var mu sync.Mutex
	var calls []CallRecord
	h := start(f, fk.srv.URL, func(c *Config) {
		c.HTTPClient = &http.Client{Transport: tr}
		c.Logger = zerolog.Nop() // a fuzz run makes millions of calls
		c.OnCall = func(r CallRecord) {
			mu.Lock()
			calls = append(calls, r)
			mu.Unlock()
		}
	})
	gateways := map[payment.Mode]payment.Gateway{
		payment.VUK509: NewGateway(h.c, payment.VUK509, SaleApp{Name: "bridged", Version: "1"}),
		payment.VUK507: NewGateway(h.c, payment.VUK507, SaleApp{Name: "bridged", Version: "1"}),
	}

	f.Fuzz(func(t *testing.T, which uint8, status uint16, body []byte) {
		call := fuzzCalls[int(which)%len(fuzzCalls)]
		code := 100 + int(status)%500 // what net/http can deliver
		tr.answer(code, body)
		mu.Lock()
		calls = nil
		mu.Unlock()

		gw, op := gateways[call.mode], fuzzOp(call.kind)
		var out payment.Outcome
		switch {
		case call.query:
			out = gw.Query(context.Background(), op)
		case call.kind == payment.KindEndOfDay:
			_, out = gw.EndOfDay(context.Background(), op)
		default:
			out = gw.Execute(context.Background(), op)
		}

		switch out.Class {
		case payment.Unknown, payment.Approved, payment.Declined, payment.NotSent, payment.NotFound:
		default:
			t.Fatalf("%s: outcome class %d is not a known class", call.name, out.Class)
		}
		mu.Lock()
		recs := append([]CallRecord(nil), calls...)
		mu.Unlock()
		refs := tr.sentRefs()
		for _, r := range recs {
			if r.Class < Unknown || r.Class > NotFound {
				t.Fatalf("%s: call %s ended in class %d, not a known class", call.name, r.Op, r.Class)
			}
		}
		if out.Class != payment.Approved {
			return
		}
		if len(refs) == 0 {
			t.Fatalf("%s: approved without asking iyzico", call.name)
		}
		// Every answer was the same; the last request is the one that approved.
		if why := notApprovable(code, body, refs[len(refs)-1]); why != "" {
			t.Fatalf("%s: HTTP %d %q was approved, but %s", call.name, code, body, why)
		}
	})
}

// notApprovable says why an answer cannot be evidence that an operation
// succeeded, or "" when it can be. It reads the body independently of the
// client: the last member named like "status" (encoding/json matches names
// case-insensitively, and the last duplicate wins) must be the string
// success, and so on.
func notApprovable(status int, body []byte, ref string) string {
	if status != http.StatusOK {
		return "the HTTP status is not 200"
	}
	if !json.Valid(body) {
		return "the body is not valid JSON"
	}
	members, ok := topMembers(body)
	if !ok {
		return "the body is not a JSON object"
	}
	// text reads a member as the client's Text does: a string, a number, or null.
	text := func(name string) (string, bool) {
		v, _ := lastMember(members, name)
		v = bytes.TrimSpace(v)
		switch {
		case len(v) == 0 || string(v) == "null":
			return "", true
		case v[0] == '"':
			var s string
			_ = json.Unmarshal(v, &s)
			return s, true
		case v[0] == '-' || v[0] >= '0' && v[0] <= '9':
			return string(v), true
		}
		return "", false
	}
	if v, _ := lastMember(members, "status"); len(bytes.TrimSpace(v)) == 0 || bytes.TrimSpace(v)[0] != '"' {
		return "it has no status string"
	}
	if st, _ := text("status"); strings.ToLower(strings.TrimSpace(st)) != statusSuccess {
		return "its status is not success"
	}
	if code, readable := text("errorCode"); !readable || (strings.TrimSpace(code) != "" && strings.TrimSpace(code) != "0") {
		return "it carries an error code"
	}
	echoed, readable := text("transactionReferenceId")
	if !readable {
		return "its transactionReferenceId cannot be read"
	}
	if e := strings.TrimSpace(echoed); e != "" && ref != "" && e != ref {
		return "it is about transaction " + e + ", not " + ref
	}
	return ""
}

type member struct {
	name  string
	value json.RawMessage
}

// topMembers lists a JSON object's members in order, duplicates included.
func topMembers(body []byte) ([]member, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		out = append(out, member{name, v})
	}
	return out, true
}

// lastMember is the value encoding/json decodes into a field named name: it
// matches names case-insensitively, and the last duplicate wins.
func lastMember(ms []member, name string) (json.RawMessage, bool) {
	var v json.RawMessage
	found := false
	for _, m := range ms {
		if strings.EqualFold(m.name, name) {
			v, found = m.value, true
		}
	}
	return v, found
}

// plainAmount is what ParseAmount may accept: digits, at most one point, no
// sign and no exponent.
var plainAmount = regexp.MustCompile(`^(0|[1-9][0-9]*)(\.[0-9]*)?$`)

// FuzzParseAmount checks the reading of amounts iyzico writes as JSON
// numbers (and end-of-day totals, which may be negative): exact, never an
// exponent or a sign, and a round trip through the form bridged sends.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"118", "149.9", "149.90", "149.900", "0", "0.01", "9999999999999.99", "1e2", "1.5e2",
		"-5", "+5", "149.901", "05", " 5 ", "5.", ".5", "1.0e0", "10000000000000", "NaN", "0x10", "1_000", "١٢٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseAmount(json.Number(s), payment.TRY)
		trimmed := strings.TrimSpace(s)
		if err != nil {
			if !errors.Is(err, payment.ErrInvalidAmount) {
				t.Fatalf("ParseAmount(%q): error %v is not ErrInvalidAmount", s, err)
			}
			if want, ok := exactMinor(trimmed); ok && want.IsInt64() && want.Int64() <= 1e15 && significantDecimals(trimmed) <= 2 &&
				len(strings.SplitN(trimmed, ".", 2)[0]) <= 13 {
				t.Fatalf("ParseAmount(%q) refused a plain amount: %v", s, err)
			}
		} else {
			if !plainAmount.MatchString(trimmed) {
				t.Fatalf("ParseAmount(%q) = %v: accepted a sign, an exponent or another form", s, m)
			}
			want, ok := exactMinor(trimmed)
			if !ok || !want.IsInt64() || want.Int64() != m.Minor() {
				t.Fatalf("ParseAmount(%q) = %d minor units, want %v", s, m.Minor(), want)
			}
			back, err := ParseAmount(amountNumber(m), payment.TRY)
			if err != nil || back != m {
				t.Fatalf("round trip of %q through %q: %v, %v", s, amountNumber(m), back, err)
			}
		}

		signed, err := parseSignedAmount(s, payment.TRY)
		unsigned := strings.TrimPrefix(s, "-")
		plain, perr := ParseAmount(json.Number(unsigned), payment.TRY)
		switch {
		case (err == nil) != (perr == nil):
			t.Fatalf("parseSignedAmount(%q): %v, but the amount %q: %v", s, err, unsigned, perr)
		case err == nil && strings.HasPrefix(s, "-") && signed.Minor() != -plain.Minor():
			t.Fatalf("parseSignedAmount(%q) = %d, want %d", s, signed.Minor(), -plain.Minor())
		case err == nil && !strings.HasPrefix(s, "-") && signed.Minor() != plain.Minor():
			t.Fatalf("parseSignedAmount(%q) = %d, want %d", s, signed.Minor(), plain.Minor())
		}
	})
}

// exactMinor is a plain decimal's value in minor units, when it is whole.
func exactMinor(s string) (*big.Int, bool) {
	if !plainAmount.MatchString(s) {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(strings.TrimSuffix(s, "."))
	if !ok {
		return nil, false
	}
	r.Mul(r, big.NewRat(100, 1))
	if !r.IsInt() {
		return nil, false
	}
	return r.Num(), true
}

// significantDecimals counts the fraction digits before trailing zeros.
func significantDecimals(s string) int {
	_, frac, _ := strings.Cut(s, ".")
	return len(strings.TrimRight(frac, "0"))
}
