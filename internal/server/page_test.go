package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/bridgedpos/bridged/internal/health"
	"github.com/bridgedpos/bridged/internal/payment"
)

const hostile = `<script>alert(1)</script>`

// pageStub answers what the status page reads; any other call panics
// through the nil embedded interface.
type pageStub struct {
	Service
	mode      payment.Mode
	health    error
	terminals []payment.TerminalState
	ops       map[string]*payment.Operation
	recent    []*payment.Operation
	listErr   error
	eods      map[string]*payment.EndOfDayResult
	conflicts []*payment.Operation
}

func (p *pageStub) Conflicts() []*payment.Operation { return p.conflicts }

func (p *pageStub) Mode() payment.Mode                 { return p.mode }
func (p *pageStub) Health() error                      { return p.health }
func (p *pageStub) Terminals() []payment.TerminalState { return p.terminals }
func (p *pageStub) Get(_ context.Context, id string) (*payment.Operation, error) {
	if op, ok := p.ops[id]; ok {
		return op, nil
	}
	return nil, payment.ErrNotFound
}
func (p *pageStub) List(_ context.Context, f payment.Filter) ([]*payment.Operation, string, error) {
	for _, k := range f.Kinds {
		if k == payment.KindEndOfDay {
			return nil, "", errors.New("the page lists end of day as a transaction")
		}
	}
	if f.Limit < 1 || f.Limit > 100 {
		return nil, "", errors.New("unbounded list")
	}
	return p.recent, "", p.listErr
}
func (p *pageStub) LastEndOfDay(_ context.Context, terminal string) (*payment.EndOfDayResult, error) {
	if r, ok := p.eods[terminal]; ok {
		return r, nil
	}
	return nil, payment.ErrNotFound
}

func try(minor int64) payment.Money { return payment.NewMoney(minor, payment.TRY) }

// richStub has one terminal in each state and an operation in each status.
func richStub() *pageStub {
	now := time.Now()
	approved := &payment.Operation{ID: "op_approved", Kind: payment.KindSale, Terminal: "lane-1", Reference: "ECR-1",
		Amount: try(14990), State: payment.StateApproved, CreatedAt: now.Add(-3 * time.Minute),
		Card: &payment.Card{BIN: "552879", Last4: "0008", Type: "CREDIT_CARD"}, RefundedMinor: 1000}
	declined := &payment.Operation{ID: "op_declined", Kind: payment.KindSale, Terminal: "lane-1", Reference: hostile,
		Amount: try(1051), State: payment.StateDeclined, CreatedAt: now.Add(-2 * time.Minute),
		// A BIN field holding a whole card number must still show six digits only.
		Card:  &payment.Card{BIN: "4111111111111111", Last4: "99991111", Type: "DEBIT_CARD"},
		Error: &payment.UpstreamError{Code: "10051", Group: "BANK_ERROR", Message: `insufficient <b>funds</b>`}}
	unknown := &payment.Operation{ID: "op_unknown", Kind: payment.KindSale, Terminal: "lane-2", Reference: "ECR-U",
		Amount: try(4000), State: payment.StateUnknown, CreatedAt: now.Add(-time.Minute), Queries: 3}
	pending := &payment.Operation{ID: "op_pending", Kind: payment.KindRefund, Terminal: "lane-3", Reference: "ECR-P",
		Amount: try(500), State: payment.StateSending, CreatedAt: now.Add(-5 * time.Second)}
	eodOK := &payment.Operation{ID: "op_eod1", Kind: payment.KindEndOfDay, Terminal: "lane-1", State: payment.StateApproved,
		CreatedAt: now.Add(-time.Hour), Report: &payment.EndOfDayReport{BatchNo: "B-0042"}}
	eodBad := &payment.Operation{ID: "op_eod2", Kind: payment.KindEndOfDay, Terminal: "lane-3", State: payment.StateApproved,
		CreatedAt: now.Add(-2 * time.Hour), Report: &payment.EndOfDayReport{BatchNo: "B-0007"}}
	return &pageStub{
		mode: payment.VUK509,
		terminals: []payment.TerminalState{
			{ID: "lane-1", DeviceUniqueID: "DEV001", State: "idle", LastAnswer: now.Add(-2 * time.Minute), LastEndOfDay: eodOK.CreatedAt},
			{ID: "lane-2", DeviceUniqueID: "DEV002", State: "blocked", Unknown: []string{"op_unknown"}},
			{ID: "lane-3", DeviceUniqueID: "DEV003", State: "busy", BusyWith: "op_pending", BusySince: now.Add(-5 * time.Second)},
		},
		ops:    map[string]*payment.Operation{"op_unknown": unknown, "op_pending": pending},
		recent: []*payment.Operation{pending, unknown, declined, approved},
		eods: map[string]*payment.EndOfDayResult{
			"lane-1": {Op: eodOK, Report: eodOK.Report, Match: true,
				Journal: payment.Totals{Amount: try(8000), Count: 4}, Upstream: payment.Totals{Amount: try(8000), Count: 4}},
			"lane-3": {Op: eodBad, Report: eodBad.Report, Match: false,
				Journal: payment.Totals{Amount: try(8000), Count: 4}, Upstream: payment.Totals{Amount: try(9000), Count: 5}},
		},
	}
}

func getPage(t *testing.T, o Options, remote string) *httptest.ResponseRecorder {
	t.Helper()
	o.Logger = zerolog.Nop()
	o.Keys = []Key{{Name: "ecr", Key: []byte(testKey), Scopes: []Scope{ScopePayments}}, {Name: "ops", Key: []byte(opsKey), Scopes: []Scope{ScopeRead}}}
	req := httptest.NewRequest("GET", "http://127.0.0.1:8470/", nil)
	req.RemoteAddr = remote
	req.Header.Set("Authorization", "Bearer "+opsKey)
	rec := httptest.NewRecorder()
	New(o).ServeHTTP(rec, req)
	return rec
}

// section returns the HTML of the element carrying attr="value" up to the
// next element with the same attribute.
func section(t *testing.T, body, attr, value string) string {
	t.Helper()
	start := strings.Index(body, attr+`="`+value+`"`)
	if start < 0 {
		t.Fatalf("no %s=%q in the page", attr, value)
	}
	rest := body[start+1:]
	if end := strings.Index(rest, attr+`="`); end >= 0 {
		rest = rest[:end]
	}
	return rest
}

func TestStatusPageRendersEveryState(t *testing.T) {
	stub := richStub()
	rec := getPage(t, Options{Service: stub, CardTimeout: time.Minute, Version: "v1.2.3",
		Token:    tokenFunc(func() health.Token { return health.Token{Valid: true, Expiry: time.Now().Add(54 * time.Minute)} }),
		Upstream: upstreamFunc(func() health.Upstream { return health.Upstream{Reachable: true, LastAnswer: time.Now()} }),
	}, "127.0.0.1:50000")
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	for k, want := range map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("CSP %q", csp)
	}
	body := rec.Body.String()

	// Overall: a blocked terminal degrades the service, in words as well as colour.
	if o := section(t, body, "id", "overall"); !strings.Contains(o, `data-status="degraded"`) || !strings.Contains(o, "DEGRADED") {
		t.Errorf("overall: %s", o)
	}
	for _, want := range []string{"VUK 509", "v1.2.3", "logged in", "in 54 min", "reachable", `http-equiv="refresh"`} {
		if !strings.Contains(body, want) {
			t.Errorf("%q missing", want)
		}
	}
	terminals := []struct{ id, state, status, text string }{
		{"lane-1", "idle", "ok", "totals match"},
		{"lane-2", "blocked", "degraded", "1 unsettled"},
		{"lane-3", "busy", "ok", "totals DIFFER"},
	}
	for _, tt := range terminals {
		s := section(t, body, "data-terminal", tt.id)
		if !strings.Contains(s, `data-state="`+tt.state+`"`) || !strings.Contains(s, `data-status="`+tt.status+`"`) ||
			!strings.Contains(s, ">"+tt.state+"<") || !strings.Contains(s, tt.text) {
			t.Errorf("terminal %s: want %s/%s/%q in %s", tt.id, tt.state, tt.status, tt.text, s)
		}
	}

	open := body[strings.Index(body, `id="open"`):strings.Index(body, `id="recent"`)]
	for _, want := range []string{`data-op="op_unknown"`, `data-op="op_pending"`, "3 queries so far", "in progress for"} {
		if !strings.Contains(open, want) {
			t.Errorf("open transactions: %q missing", want)
		}
	}
	if strings.Contains(open, "op_approved") {
		t.Error("a final operation among the open ones")
	}
	recent := body[strings.Index(body, `id="recent"`):strings.Index(body, `id="eod"`)]
	for _, st := range []string{"approved", "declined", "unknown", "pending"} {
		if !strings.Contains(recent, `data-status="`+st+`"`) || !strings.Contains(recent, ">"+st+"</span>") {
			t.Errorf("recent: no %s row", st)
		}
	}
	for _, want := range []string{"149.90", "TRY", "552879******0008", "credit", "refunded 10.00 TRY", "10051"} {
		if !strings.Contains(recent, want) {
			t.Errorf("recent: %q missing", want)
		}
	}
	eod := body[strings.Index(body, `id="eod"`):]
	for _, want := range []string{"B-0042", "80.00 TRY (4)", "90.00 TRY (5)", "✓ match", "✕ DIFFER"} {
		if !strings.Contains(eod, want) {
			t.Errorf("end of day: %q missing", want)
		}
	}
}

func TestStatusPageEscapesAndMasks(t *testing.T) {
	rec := getPage(t, Options{Service: richStub()}, "[::1]:50000")
	body := rec.Body.String()
	if strings.Contains(body, "<script") || strings.Contains(body, "<b>funds") {
		t.Fatal("a hostile string reached the page unescaped")
	}
	if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(body, "&lt;b&gt;funds") {
		t.Fatal("the hostile reference or message is not shown escaped")
	}
	if !strings.Contains(body, "411111******1111") {
		t.Error("the over-long card fields are not masked to six and four")
	}
	// No run of digits longer than six that could be part of a card number.
	for _, pan := range []string{"5528790", "4111111111", "99991111"} {
		if strings.Contains(body, pan) {
			t.Errorf("card digits %q on the page", pan)
		}
	}
	if strings.Contains(body, testKey) {
		t.Error("the API key on the page")
	}
}

func TestStatusPageFailing(t *testing.T) {
	stub := richStub()
	stub.health = errors.New("fsync: input/output error")
	stub.listErr = errors.New("bolt: database not open")
	rec := getPage(t, Options{Service: stub,
		Token: tokenFunc(func() health.Token { return health.Token{Failure: "auth_failed"} }),
		Upstream: upstreamFunc(func() health.Upstream {
			return health.Upstream{LastFailure: time.Now(), LastFailureReason: "connection refused"}
		}),
	}, "127.0.0.1:1")
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	body := rec.Body.String()
	if o := section(t, body, "id", "overall"); !strings.Contains(o, `data-status="fail"`) || !strings.Contains(o, "FAIL") {
		t.Errorf("overall: %s", o)
	}
	for _, part := range []string{"Journal (disk)", "iyzico login", "iyzico connection"} {
		if s := section(t, body, "data-part", part); !strings.Contains(s, `data-status="fail"`) {
			t.Errorf("%s not failing: %s", part, s)
		}
	}
	for _, want := range []string{"not logged in", "unreachable", "connection refused", "the journal could not be read"} {
		if !strings.Contains(body, want) {
			t.Errorf("%q missing", want)
		}
	}
	if strings.Contains(body, "input/output") || strings.Contains(body, "database not open") {
		t.Error("an internal error text on the page")
	}
}

func TestStatusPageEmptyAndOK(t *testing.T) {
	stub := &pageStub{mode: payment.VUK507, terminals: []payment.TerminalState{{ID: "lane-1", DeviceUniqueID: "DEV001", State: "idle"}}}
	body := getPage(t, Options{Service: stub}, "127.0.0.1:1").Body.String()
	if o := section(t, body, "id", "overall"); !strings.Contains(o, `data-status="ok"`) || !strings.Contains(o, "✓ OK") {
		t.Errorf("overall: %s", o)
	}
	for _, want := range []string{"VUK 507", "No transaction yet", "no payment is waiting", "No end of day has been run yet", "none yet"} {
		if !strings.Contains(body, want) {
			t.Errorf("%q missing", want)
		}
	}
}

func TestStatusPageLocalOnly(t *testing.T) {
	for _, remote := range []string{"192.168.1.20:50000", "[2001:db8::1]:443", "garbage"} {
		rec := getPage(t, Options{Service: richStub()}, remote)
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "forbidden_remote") {
			t.Errorf("%s: %d %s", remote, rec.Code, rec.Body)
		}
	}
}

// TestPageShowsConflictsAndSettlements: an open conflict is a banner naming
// the operation, both outcomes and the acknowledge verb; a settled operation
// says who settled it on what evidence; an unknown iyzico will never settle
// says how to settle it.
func TestPageShowsConflictsAndSettlements(t *testing.T) {
	now := time.Now()
	stub := richStub()
	settled := &payment.Operation{ID: "op_settled", Kind: payment.KindSale, Terminal: "lane-1", Reference: "ECR-S",
		Amount: try(3061), State: payment.StateDeclined, Resolution: payment.ResolvedOperator, CreatedAt: now.Add(-time.Hour),
		Settlement: &payment.Settlement{By: "Ayse <K.>", At: now.Add(-50 * time.Minute), Evidence: "no slip printed"},
		Conflict:   &payment.Conflict{At: now.Add(-10 * time.Minute), Settled: payment.StateDeclined, Upstream: payment.StateApproved}}
	never := &payment.Operation{ID: "op_never", Kind: payment.KindSale, Terminal: "lane-2", Reference: "ECR-N",
		Amount: try(1052), State: payment.StateUnknown, Reason: "queried_timeout", CreatedAt: now.Add(-20 * time.Minute)}
	stub.conflicts = []*payment.Operation{settled}
	stub.recent = append(stub.recent, settled, never)
	rec := getPage(t, Options{Service: stub}, "127.0.0.1:5000")
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	body := rec.Body.String()
	banner := section(t, body, "data-conflict", "op_settled")
	for _, want := range []string{"CONFLICT", "lane-1", "30.61", "settled <strong>declined</strong>", "Ayse &lt;K.&gt;",
		"iyzico said <strong>approved</strong>", "bridged tx acknowledge op_settled --by NAME --note TEXT"} {
		if !strings.Contains(banner, want) {
			t.Errorf("the conflict banner lacks %q:\n%s", want, banner)
		}
	}
	if !strings.Contains(body, "iyzico contradicts an operator&#39;s settlement") {
		t.Error("the headline does not say there is a conflict")
	}
	for _, want := range []string{"settled by Ayse &lt;K.&gt; (no slip printed)", "CONFLICT: iyzico says approved; not acknowledged yet",
		"iyzico will not settle it (queried_timeout)", "bridged tx settle op_never --outcome approved|declined"} {
		if !strings.Contains(body, want) {
			t.Errorf("the transactions lack %q", want)
		}
	}

	settled.Conflict.AcknowledgedBy, settled.Conflict.AcknowledgedAt = "Mehmet", now
	stub.conflicts = nil
	body = getPage(t, Options{Service: stub}, "127.0.0.1:5000").Body.String()
	if strings.Contains(body, `data-conflict=`) || !strings.Contains(body, "conflict (iyzico said approved) acknowledged by Mehmet") {
		t.Error("an acknowledged conflict is still a banner, or its note is missing")
	}
}

// TestReadyzShowsTheLoginFailureAsACode: /readyz names a failed login by its
// reason code, never by the error's text (which may quote iyzico's answer).
func TestReadyzShowsTheLoginFailureAsACode(t *testing.T) {
	o := Options{Logger: zerolog.Nop(), Service: richStub(), Keys: []Key{{Name: "ops", Key: []byte(opsKey), Scopes: []Scope{ScopeRead}}},
		Token: tokenFunc(func() health.Token { return health.Token{Failure: "credentials_rejected"} })}
	req := httptest.NewRequest("GET", "http://127.0.0.1:8470/readyz", nil)
	req.RemoteAddr = "127.0.0.1:1"
	req.Header.Set("Authorization", "Bearer "+opsKey)
	rec := httptest.NewRecorder()
	New(o).ServeHTTP(rec, req)
	if !strings.Contains(rec.Body.String(), `"detail":"cannot log in to iyzico (credentials_rejected): check upstream credentials`) {
		t.Fatalf("/readyz: %d %s", rec.Code, rec.Body.String())
	}
}
