package opscli

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/apitype"
	"github.com/bridgedpos/bridged/internal/apiview"
	"github.com/bridgedpos/bridged/internal/payment"
)

var update = flag.Bool("update", false, "rewrite testdata/output.golden")

// TestOutputUnchanged: what the operator verbs print of operations and of
// /readyz (tx show and resolve, tx list's rows, the CSV and JSON-lines
// export, the status verb) is byte for byte what the verbs printed when
// they read the API's answers as untyped JSON (testdata/output.golden was
// written by that code, commit 7f652f3), for operations with every field
// the API shows, text that JSON escapes, and fields left empty. One change
// since, on purpose: the card column is payment.Card.Masked, as on the
// status page (an 8-digit BIN showed all eight digits and 18 characters).
func TestOutputUnchanged(t *testing.T) {
	loc := time.Local
	time.Local = time.FixedZone("TRT", 3*3600)
	t.Cleanup(func() { time.Local = loc })
	got := renderOutput(t)
	path := filepath.Join("testdata", "output.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("the verbs' output changed; got:\n%s", got)
	}
}

func renderOutput(t *testing.T) string {
	var b bytes.Buffer
	for _, rec := range outputRecords(t) {
		if err := printRecord(&b, rec); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "verdict: %s\nconflict: %s\nlist: %s\ncsv: %q\n", resolveVerdict(rec), conflictText(rec), listRow(rec), csvRow(rec))
		if err := writeJSONLine(&b, rec); err != nil {
			t.Fatal(err)
		}
	}
	for _, raw := range readyzAnswers {
		out, err := readinessOutput([]byte(raw))
		fmt.Fprintf(&b, "%s(err: %v)\n", out, err)
	}
	return b.String()
}

var readyzAnswers = []string{
	`{"status":"degraded","checked_at":"2026-11-23T10:00:00.5Z","store":{"status":"ok"},` +
		`"token":{"status":"ok","valid":true,"expiry":"2026-11-23T10:30:00Z","expires_in_seconds":1800},` +
		`"upstream":{"status":"ok","reachable":true,"last_answer":"2026-11-23T09:59:59Z","last_success":"2026-11-23T09:59:59Z","last_failure":null},` +
		`"conflicts":{"status":"degraded","detail":"1 operator settlement(s) contradicted","operations":["op_2"]},` +
		`"terminals":[{"status":"degraded","detail":"blocked by 1 operation(s) with an unknown outcome","id":"kasa-1","device_unique_id":"PAX-1","state":"blocked",` +
		`"unknown":["op_2"],"last_answer":null,"seconds_since_answer":null,"recent_errors":{"380103":2},"consecutive_timeouts":2,"last_end_of_day":null},` +
		`{"status":"ok","id":"kasa-2","device_unique_id":"PAX-2","state":"busy","busy_for_seconds":4,"unknown":[],"last_answer":"2026-11-23T09:59:00Z",` +
		`"seconds_since_answer":60,"recent_errors":{},"consecutive_timeouts":0,` +
		`"last_end_of_day":{"id":"op_9","at":"2026-11-22T23:00:00Z","status":"approved","match":true}}]}`,
	`{"status":"fail","checked_at":"2026-11-23T10:00:00Z","store":{"status":"fail","detail":"a journal write failed"},` +
		`"token":{"status":"fail","detail":"no iyzico token yet: bridged is logging in","valid":false,"expiry":null,"expires_in_seconds":0},` +
		`"upstream":{"status":"fail","detail":"iyzico did not answer","reachable":false,"last_answer":null,"last_success":null,` +
		`"last_failure":"2026-11-23T09:59:00Z","last_failure_reason":"timeout"},"conflicts":{"status":"ok","operations":[]},"terminals":null}`,
}

// outputOps are operations with every field the API shows, and some with
// few.
func outputOps() []*payment.Operation {
	at := time.Date(2026, 11, 23, 7, 30, 15, 120000000, time.UTC)
	try := func(minor int64) payment.Money { return payment.NewMoney(minor, payment.TRY) }
	sale := &payment.Operation{ID: "op_1", Kind: payment.KindSale, Reference: "R-1 <&>", Terminal: "kasa-1", Amount: try(12550),
		Installment: 3, State: payment.StateApproved, Resolution: payment.ResolvedDirect, PaymentID: "27", PaymentDate: "20261123",
		AuthCode: "A1", Card: &payment.Card{BIN: "45438787", Last4: "1234", Type: "credit"}, RefundedMinor: 550,
		TransactionReferenceID: "tx-1", PaymentType: "CARD", DocumentType: "9", SaleNumber: "S-7",
		Buyer: &payment.Buyer{CustomerType: 2, CompanyName: "Acme & \"Sons\"", TaxNumber: "123"},
		Lines: []payment.SaleLine{{ID: "L1", Name: "Su <0,5 l>", Quantity: 2, UnitPrice: try(500), Total: try(1000), UnitCode: "C62",
			TaxGroupCode: "KDV10", RefundedQuantity: 1, RefundedMinor: 500}, {Name: "Ekmek", Quantity: 1, UnitPrice: try(11550),
			Total: try(11550), UnitCode: "C62", TaxGroupCode: "KDV1"}},
		CreatedAt: at, UpdatedAt: at.Add(time.Second)}
	unknown := &payment.Operation{ID: "op_2", Kind: payment.KindRefund, ParentID: "op_1", Terminal: "kasa-1", Amount: try(550),
		State: payment.StateUnknown, Reason: "queried_timeout", TransactionReferenceID: "tx-2",
		Lines:     []payment.SaleLine{{RelatedLineID: "L1", Name: "Su", Quantity: 1, UnitPrice: try(500), Total: try(500), UnitCode: "C62", TaxGroupCode: "KDV10"}},
		CreatedAt: at.Add(time.Minute), UpdatedAt: at.Add(2 * time.Minute)}
	settled := &payment.Operation{ID: "op_3", Kind: payment.KindSale, Reference: "R-3", Terminal: "kasa-2", Amount: try(100),
		State: payment.StateDeclined, Resolution: payment.ResolvedOperator, Error: &payment.UpstreamError{Code: "380103"},
		Settlement: &payment.Settlement{By: "ayşe", At: at.Add(time.Hour), Evidence: "slip, \"declined\"", WatchUntil: at.Add(10 * time.Hour)},
		Conflict: &payment.Conflict{At: at.Add(2 * time.Hour), Settled: payment.StateDeclined, Upstream: payment.StateApproved,
			UpstreamPaymentID: "28", AcknowledgedBy: "mehmet", AcknowledgedAt: at.Add(3 * time.Hour), AcknowledgedNote: "refunded in cash"},
		CreatedAt: at.Add(time.Hour), UpdatedAt: at.Add(3 * time.Hour)}
	split := &payment.Operation{ID: "op_4", Kind: payment.KindSplitStart, Reference: "R-4", Terminal: "kasa-2", Amount: try(20000),
		State: payment.StateApproved, Closed: true, Settlement: &payment.Settlement{By: "ali", At: at, Evidence: "list", PaymentID: "29", Confirmed: true},
		Conflict:  &payment.Conflict{At: at, Settled: payment.StateApproved, Upstream: payment.StateDeclined},
		CreatedAt: at, UpdatedAt: at}
	declined := &payment.Operation{ID: "op_5", Kind: payment.KindPreAuth, Terminal: "kasa-1", Amount: try(1),
		State: payment.StateDeclined, Error: &payment.UpstreamError{Code: "10051", Group: "NOT_SUFFICIENT_FUNDS", Message: "Yetersiz bakiye"},
		Card: &payment.Card{Last4: "9"}, CreatedAt: at, UpdatedAt: at}
	pending := &payment.Operation{ID: "op_6", Kind: payment.KindEndOfDay, Terminal: "kasa-1", State: payment.StateSending,
		BatchMaybeClosed: true, CapturedBy: "op_7", SafeToRetry: true, CreatedAt: at, UpdatedAt: at}
	return []*payment.Operation{sale, unknown, settled, split, declined, pending}
}

// mustJSON is v as the daemon sends it.
func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// outputRecords are outputOps as the daemon answers them (decoded from its
// JSON), each followed by the same operation read from the journal with the
// daemon stopped: both must print the same.
func outputRecords(t *testing.T) []apitype.Payment {
	var out []apitype.Payment
	for _, op := range outputOps() {
		var rec apitype.Payment
		if err := json.Unmarshal(mustJSON(t, apiview.Payment(op)), &rec); err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
	return out
}

func readinessOutput(raw []byte) (string, error) {
	var rd apitype.Readiness
	if err := json.Unmarshal(raw, &rd); err != nil {
		return "", err
	}
	var b bytes.Buffer
	err := printReadiness(&b, rd)
	return b.String(), err
}

// TestJournalRecordsPrintAlike: an operation read from the journal (the
// daemon stopped) prints as the daemon's answer about it does.
func TestJournalRecordsPrintAlike(t *testing.T) {
	for i, op := range outputOps() {
		api := outputRecords(t)[i]
		var a, b bytes.Buffer
		if err := printRecord(&a, api); err != nil {
			t.Fatal(err)
		}
		if err := printRecord(&b, apiview.Payment(op)); err != nil {
			t.Fatal(err)
		}
		if err := writeJSONLine(&a, api); err != nil {
			t.Fatal(err)
		}
		if err := writeJSONLine(&b, apiview.Payment(op)); err != nil {
			t.Fatal(err)
		}
		if a.String() != b.String() || strings.Join(csvRow(api), ",") != strings.Join(csvRow(apiview.Payment(op)), ",") {
			t.Errorf("%s from the API:\n%s\nfrom the journal:\n%s", op.ID, a.String(), b.String())
		}
	}
}
