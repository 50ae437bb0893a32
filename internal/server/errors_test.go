package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/bridgedpos/bridged/internal/apitype"
	"github.com/bridgedpos/bridged/internal/health"
	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/publicerr"
)

// refusingService answers a resolve with err: the one writer turns it into
// the answer.
type refusingService struct {
	stubService
	err error
}

func (s refusingService) Resolve(context.Context, string) (*payment.Operation, error) {
	return nil, s.err
}

// answerTo sends a resolve that fails with err through the whole handler
// chain (s.handle, writeError) and returns the problem and the log.
func answerTo(t *testing.T, err error) (int, apitype.Problem, string) {
	t.Helper()
	var logs strings.Builder
	h := New(Options{
		Logger:  zerolog.New(&logs),
		Keys:    []Key{{Name: "ecr", Key: []byte(testKey), Scopes: []Scope{ScopePayments}}},
		Service: refusingService{err: err},
	})
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8470/v1/payments/op_1/resolve", nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var p apitype.Problem
	if jerr := json.Unmarshal(rec.Body.Bytes(), &p); jerr != nil {
		t.Fatalf("%v: not a problem document: %v\n%s", err, jerr, rec.Body.String())
	}
	if rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("%v: Content-Type %q", err, rec.Header().Get("Content-Type"))
	}
	return rec.Code, p, rec.Body.String() + "\n" + logs.String()
}

// TestNonPublicTextNeverReachesTheClient: only an error's public part
// (publicerr) is ever shown; any other text goes to the log.
func TestNonPublicTextNeverReachesTheClient(t *testing.T) {
	const secret = "client_secret=hunter2-4111111111111111"
	tests := []struct {
		name   string
		err    error
		status int
		code   string
		detail string
	}{
		{"plain error", fmt.Errorf("token refresh: %s: %w", secret, io.ErrUnexpectedEOF),
			500, "internal_error", "bridged failed to handle the request; see its log"},
		{"public error with no code", publicerr.Wrap(errors.New(secret), "words without a code"),
			500, "internal_error", "bridged failed to handle the request; see its log"},
		{"refusal wrapped in internal text", fmt.Errorf("lane %s: %w", secret, payment.ErrNotVoidable.Withf("it is %s, not approved", "declined")),
			409, "not_voidable", "payment cannot be voided: it is declined, not approved"},
		{"refusal with a hidden cause", payment.ErrStorageFailure.Because(errors.New("fsync journal.db: " + secret)),
			503, "storage_failure", "bridged cannot write its journal and has stopped taking money operations; see /readyz and the log"},
		{"cancelled with the context's error", payment.ErrCancelled.Because(fmt.Errorf("%s: %w", secret, context.Canceled)),
			503, "cancelled", "the request ended before bridged journaled it; nothing was sent; send it again with the same key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, p, all := answerTo(t, tt.err)
			if status != tt.status || p.Code != tt.code || p.Detail != tt.detail {
				t.Fatalf("answered %d %s %q; want %d %s %q", status, p.Code, p.Detail, tt.status, tt.code, tt.detail)
			}
			body, logs, _ := strings.Cut(all, "\n")
			if strings.Contains(body, "hunter2") || strings.Contains(body, "4111") {
				t.Fatalf("the client saw hidden text: %s", body)
			}
			if tt.status == 500 && !strings.Contains(logs, "hunter2") {
				t.Fatalf("the cause did not reach the log: %s", logs)
			}
		})
	}
}

// TestEveryPaymentErrorMapsToItsDocumentedCode drives each of payment's
// errors through the one writer and finds its code, with its status, in
// the OpenAPI document's table of codes. A new Err variable in payment
// fails here until it is mapped (or listed as internal).
func TestEveryPaymentErrorMapsToItsDocumentedCode(t *testing.T) {
	tests := map[string]struct {
		err    error
		status int
		code   string
	}{
		"ErrNotFound":             {payment.ErrNotFound, 404, "not_found"},
		"ErrIdempotencyKeyReused": {payment.ErrIdempotencyKeyReused, 422, "idempotency_key_reused"},
		"ErrKeyRequired":          {payment.ErrKeyRequired, 400, "idempotency_key_required"},
		"ErrTerminalBusy":         {&payment.BusyError{Err: payment.ErrTerminalBusy, Terminal: "lane-1", RetryAfter: time.Second}, 409, "terminal_busy"},
		"ErrTerminalBlocked":      {&payment.BusyError{Err: payment.ErrTerminalBlocked, Terminal: "lane-1", Unknown: []string{"op_1"}}, 409, "terminal_blocked"},
		"ErrUnknownTerminal":      {payment.ErrUnknownTerminal, 404, "unknown_terminal"},
		"ErrStorageFailure":       {payment.ErrStorageFailure.Because(errors.New("disk full")), 503, "storage_failure"},
		"ErrModeUnsupported":      {payment.VUK509.SplitsSupported(), 409, "mode_unsupported"},
		"ErrNotVoidable":          {payment.ErrNotVoidable.Withf("it is voided already"), 409, "not_voidable"},
		"ErrNotRefundable":        {payment.ErrNotRefundable.Withf("it is voided"), 409, "not_refundable"},
		"ErrRefundExceeds":        {payment.ErrRefundExceeds.Withf("%s requested, %s refundable", "9.00", "5.00"), 422, "refund_exceeds"},
		"ErrAmountOutOfRange":     {payment.ErrAmountOutOfRange.Withf("%s requested, %s remains to be paid", "60.00", "40.00"), 422, "amount_out_of_range"},
		"ErrSplitClosed":          {payment.ErrSplitClosed.Withf("the split sale was cancelled"), 409, "split_sale_closed"},
		"ErrSplitUnpaid":          {payment.ErrSplitUnpaid.Withf("%s remains to be paid before the sale can be completed", "40.00"), 409, "split_sale_unpaid"},
		"ErrSplitPaid":            {payment.ErrSplitPaid.Withf("nothing remains to be paid; complete the split sale"), 409, "split_sale_paid"},
		"ErrNotCapturable":        {payment.ErrNotCapturable.Withf("it is voided"), 409, "not_capturable"},
		"ErrShuttingDown":         {payment.ErrShuttingDown, 503, "shutting_down"},
		"ErrCancelled":            {payment.ErrCancelled.Because(context.Canceled), 503, "cancelled"},
		"ErrNotSettleable":        {&payment.SettleRefusal{Reason: "it has no open conflict"}, 409, "not_settleable"},
		"ErrInvalidAmount":        {&payment.ValidationError{Problems: []payment.FieldProblem{{Field: "amount", Message: "is not a decimal number"}}}, 400, "invalid_request"},
		// Internal: never a refusal a client gets.
		"ErrDuplicateKey":      {payment.ErrDuplicateKey, 500, "internal_error"},
		"ErrAlreadyFinal":      {&payment.FinalError{Stored: &payment.Operation{ID: "op_1", State: payment.StateApproved}}, 500, "internal_error"},
		"ErrPaymentIDConflict": {&payment.PaymentIDConflictError{PaymentID: "p1", OpID: "op_1", Owners: []string{"op_2"}}, 500, "internal_error"},
	}
	for _, name := range paymentErrorVars(t) {
		if _, ok := tests[name]; !ok {
			t.Errorf("payment.%s has no expected code here: map it in errors.go's refusals and add it", name)
		}
	}
	spec := string(openAPIDocument)
	for name, tt := range tests {
		status, p, _ := answerTo(t, tt.err)
		if status != tt.status || p.Code != tt.code || p.Status != tt.status {
			t.Errorf("%s: answered %d %s; want %d %s", name, status, p.Code, tt.status, tt.code)
		}
		if row := fmt.Sprintf("| `%s` | %d |", tt.code, tt.status); !strings.Contains(spec, row) {
			t.Errorf("%s: openapi.yaml's table of codes has no row %q", name, row)
		}
		// A refusal with no fixed detail shows its public part, byte for byte.
		if msg, ok := publicerr.Message(tt.err); ok && showsPublicPart(tt.err) && p.Detail != msg {
			t.Errorf("%s: detail %q; want the public part %q", name, p.Detail, msg)
		}
	}
}

// showsPublicPart reports whether err is answered by a refusal of the
// table that has no fixed detail.
func showsPublicPart(err error) bool {
	var ve *payment.ValidationError
	var be *payment.BusyError
	if errors.As(err, &ve) || errors.As(err, &be) {
		return false
	}
	for _, rf := range refusals {
		if errors.Is(err, rf.err) {
			return rf.detail == ""
		}
	}
	return false
}

// paymentErrorVars lists the package-level Err variables of payment's
// non-test code.
func paymentErrorVars(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "payment", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				for _, n := range spec.(*ast.ValueSpec).Names {
					if strings.HasPrefix(n.Name, "Err") {
						names = append(names, n.Name)
					}
				}
			}
		}
	}
	sort.Strings(names)
	if len(names) < 20 {
		t.Fatalf("found only %d Err variables in payment: %v", len(names), names)
	}
	return names
}

// TestReadyzShowsReasonCodesNotErrorText: each failing part of /readyz says
// what failed by a fixed sentence or a reason code (the wiring hands in
// upstream's Reason codes); the store's error text never reaches the report.
func TestReadyzShowsReasonCodesNotErrorText(t *testing.T) {
	const secret = "client_secret=hunter2"
	stub := richStub()
	stub.health = errors.New("fsync /var/lib/bridged/journal.db: " + secret)
	o := Options{Logger: zerolog.Nop(), Service: stub, Keys: []Key{{Name: "ops", Key: []byte(opsKey), Scopes: []Scope{ScopeRead}}},
		Token:    tokenFunc(func() health.Token { return health.Token{Failure: "credentials_rejected"} }),
		Upstream: upstreamFunc(func() health.Upstream { return health.Upstream{LastFailureReason: "timeout", LastFailure: time.Now()} })}
	req := httptest.NewRequest("GET", "http://127.0.0.1:8470/readyz", nil)
	req.Header.Set("Authorization", "Bearer "+opsKey)
	rec := httptest.NewRecorder()
	New(o).ServeHTTP(rec, req)
	body := rec.Body.String()
	if rec.Code != http.StatusServiceUnavailable || strings.Contains(body, "hunter2") || strings.Contains(body, "fsync") {
		t.Fatalf("/readyz %d shows error text: %s", rec.Code, body)
	}
	for _, want := range []string{"a journal write failed; bridged refuses new money operations", "cannot log in to iyzico (credentials_rejected)",
		"iyzico did not answer the last call (timeout)", `"last_failure_reason":"timeout"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/readyz lacks %q: %s", want, body)
		}
	}
}

// TestAdminRefusalsGoThroughTheWriter: the journal upkeep's refusals keep
// their codes and details, and a failed compaction's cause stays in the log.
func TestAdminRefusalsGoThroughTheWriter(t *testing.T) {
	call := func(o Options, method, target string) (int, apitype.Problem, string) {
		var logs strings.Builder
		o.Logger = zerolog.New(&logs)
		o.Keys = []Key{{Name: "ops", Key: []byte(opsKey), Scopes: []Scope{ScopeOperate}}}
		o.Service = stubService{}
		req := httptest.NewRequest(method, "http://127.0.0.1:8470"+target, nil)
		req.Header.Set("Authorization", "Bearer "+opsKey)
		rec := httptest.NewRecorder()
		New(o).ServeHTTP(rec, req)
		var p apitype.Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatalf("%s %s: %v %s", method, target, err, rec.Body.String())
		}
		return rec.Code, p, rec.Body.String() + logs.String()
	}
	failing := Options{Journal: Journal{Compact: func(context.Context, bool) (apitype.CompactResult, error) {
		return apitype.CompactResult{}, errors.New("rename /var/lib/bridged/journal.db: hunter2")
	}}}
	for _, tt := range []struct {
		o              Options
		method, target string
		status         int
		code, detail   string
	}{
		{Options{}, "GET", "/v1/admin/backup", 503, "unavailable", "this server has no journal to back up"},
		{Options{}, "POST", "/v1/admin/compact", 503, "unavailable", "this server has no journal to compact"},
		{failing, "POST", "/v1/admin/compact?force=yes", 400, "invalid_request", "force is true or false"},
		{failing, "POST", "/v1/admin/compact", 503, "unavailable", "the journal was not compacted; see bridged's log"},
	} {
		status, p, all := call(tt.o, tt.method, tt.target)
		if status != tt.status || p.Code != tt.code || p.Detail != tt.detail {
			t.Errorf("%s %s: %d %s %q; want %d %s %q", tt.method, tt.target, status, p.Code, p.Detail, tt.status, tt.code, tt.detail)
		}
		if tt.status == 503 && tt.o.Journal.Compact != nil {
			body, logs, _ := strings.Cut(all, "}")
			if strings.Contains(body, "hunter2") || !strings.Contains(logs, "hunter2") || !strings.Contains(logs, "journal compaction failed") {
				t.Errorf("the compaction's cause: body %s, log %s", body, logs)
			}
		}
	}
}

// TestPageLoginAndEventsRefusalsGoThroughTheWriter: the status page, its
// login and the event stream return their refusals to the one writer, with
// the codes and details they always answered.
func TestPageLoginAndEventsRefusalsGoThroughTheWriter(t *testing.T) {
	o := Options{Logger: zerolog.Nop(), Service: richStub(), Keys: []Key{
		{Name: "ecr", Key: []byte(testKey), Scopes: []Scope{ScopePayments}},
		{Name: "ops", Key: []byte(opsKey), Scopes: []Scope{ScopeRead}}}}
	h := New(o)
	for _, tt := range []struct {
		name, method, target, remote string
		header                       map[string]string
		status                       int
		code, detail                 string
	}{
		{"page from afar", "GET", "/", "192.0.2.7:4000", nil, 403, "forbidden_remote",
			"open the status page on the machine that runs bridged; /readyz and /metrics serve monitoring"},
		{"page with the ECR's key", "GET", "/", "127.0.0.1:4000", map[string]string{"Authorization": "Bearer " + testKey}, 403, "forbidden_scope",
			"the status page needs a key with the scope read or operate; key ecr has payments (api.keys[].scopes)"},
		{"login from afar", "POST", "/login", "192.0.2.7:4000", nil, 403, "forbidden_remote",
			"log in to the status page on the machine that runs bridged"},
		{"login not a form", "POST", "/login", "127.0.0.1:4000", map[string]string{"Content-Type": "application/json"}, 415, "unsupported_media_type",
			"post the login form (application/x-www-form-urlencoded)"},
		{"events from a bad id", "GET", "/v1/events", "127.0.0.1:4000", map[string]string{"Authorization": "Bearer " + opsKey, "Last-Event-ID": "x"}, 400,
			"invalid_request", "Last-Event-ID must be an event id this feed sent"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "http://127.0.0.1:8470"+tt.target, nil)
			req.RemoteAddr = tt.remote
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var p apitype.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
				t.Fatalf("%d, not a problem: %s", rec.Code, rec.Body.String())
			}
			if rec.Code != tt.status || p.Code != tt.code || p.Detail != tt.detail {
				t.Fatalf("%d %s %q, want %d %s %q", rec.Code, p.Code, p.Detail, tt.status, tt.code, tt.detail)
			}
		})
	}
}
