package payment_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/publicerr"
)

func TestEndOfDayComparesTotals(t *testing.T) {
	h := newHarness(t, payment.VUK509)
	ctx := context.Background()
	var eodReport *payment.EndOfDayReport
	h.gw.eod = func(*payment.Operation) (*payment.EndOfDayReport, payment.Outcome) {
		return eodReport, payment.Outcome{Class: payment.Approved}
	}
	s1, _ := h.svc.Pay(ctx, caller("a"), sale("100.00"))
	s2, _ := h.svc.Pay(ctx, caller("b"), sale("50.00"))
	_, _ = h.svc.Pay(ctx, caller("c"), sale("20.00"))
	if _, err := h.svc.Void(ctx, caller("v"), payment.AdjustRequest{PaymentID: s2.Op.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Refund(ctx, caller("r"), payment.AdjustRequest{PaymentID: s1.Op.ID, Amount: "30.00"}); err != nil {
		t.Fatal(err)
	}
	h.gw.set(func(*payment.Operation) payment.Outcome {
		return payment.Outcome{Class: payment.Declined, Error: &payment.UpstreamError{Code: "10051"}}
	})
	_, _ = h.svc.Pay(ctx, caller("d"), sale("7.00"))

	// Journal: 100 + 20 - 30 = 90.00 over 3 transactions (sales a, c and the refund).
	eodReport = &payment.EndOfDayReport{BatchNo: "0001", Totals: []payment.AcquirerTotal{
		{AcquirerID: "46", Amount: payment.NewMoney(9000, payment.TRY), Count: 3, ResponseCode: "00"}}}
	h.clock.Advance(time.Minute)
	res, err := h.svc.EndOfDay(ctx, payment.Caller{Client: "ecr"}, "lane-1", payment.EndOfDayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Match || res.Journal.Amount.Decimal() != "90.00" || res.Journal.Count != 3 || res.Upstream.Amount.Decimal() != "90.00" {
		t.Fatalf("comparison: match=%v journal=%v/%d upstream=%v/%d", res.Match, res.Journal.Amount, res.Journal.Count, res.Upstream.Amount, res.Upstream.Count)
	}
	if len(res.Lines) != 6 {
		t.Fatalf("%d batch lines, want 6 (3 sales, void, refund, declined)", len(res.Lines))
	}
	// After end of day a payment of that batch can no longer be voided.
	if _, err := h.svc.Void(ctx, caller("v2"), payment.AdjustRequest{PaymentID: s1.Op.ID}); !errors.Is(err, payment.ErrNotVoidable) {
		t.Fatalf("void after end of day: %v", err)
	}
	// A mismatch is reported with the lines that explain it.
	s5, _ := h.svc.Pay(ctx, caller("e"), payment.SaleRequest{Amount: "5.00", Reference: "e"})
	_ = s5
	h.gw.set(func(*payment.Operation) payment.Outcome { return approved() })
	s6, _ := h.svc.Pay(ctx, caller("f"), payment.SaleRequest{Amount: "6.00", Reference: "f"})
	eodReport = &payment.EndOfDayReport{BatchNo: "0002"}
	h.clock.Advance(time.Minute)
	res, err = h.svc.EndOfDay(ctx, payment.Caller{Client: "ecr"}, "", payment.EndOfDayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Match || res.Journal.Amount.Decimal() != "6.00" || res.Since.IsZero() {
		t.Fatalf("mismatch not reported: %+v", res)
	}
	found := false
	for _, l := range res.Lines {
		found = found || (l.OpID == s6.Op.ID && l.Counted)
	}
	if !found {
		t.Fatal("the sale that explains the difference is not listed")
	}
	last, err := h.svc.LastEndOfDay(ctx, "lane-1")
	if err != nil || last.Op.ID != res.Op.ID {
		t.Fatalf("last end of day: %v", err)
	}
	// The last end of day survives a restart (voidability depends on it).
	h.restart(payment.VUK509)
	if _, err := h.svc.Void(ctx, caller("v3"), payment.AdjustRequest{PaymentID: s6.Op.ID}); !errors.Is(err, payment.ErrNotVoidable) {
		t.Fatalf("void after end of day and restart: %v", err)
	}
}

func TestEndOfDayResolvesUnknownsFirst(t *testing.T) {
	h := newHarness(t, payment.VUK509)
	ctx := context.Background()
	h.gw.set(func(*payment.Operation) payment.Outcome { return payment.Outcome{Class: payment.Unknown} })
	r, _ := h.svc.Pay(ctx, caller("u"), sale("10.00"))
	h.gw.eod = func(*payment.Operation) (*payment.EndOfDayReport, payment.Outcome) {
		return &payment.EndOfDayReport{Totals: []payment.AcquirerTotal{{Amount: payment.NewMoney(1000, payment.TRY), Count: 1}}}, payment.Outcome{Class: payment.Approved}
	}
	// Unresolvable: refused, the comparison could not be trusted.
	h.gw.setQuery(func(*payment.Operation) payment.Outcome { return payment.Outcome{Class: payment.Unknown} })
	if _, err := h.svc.EndOfDay(ctx, payment.Caller{Client: "ecr"}, "lane-1", payment.EndOfDayOptions{}); !errors.Is(err, payment.ErrTerminalBlocked) {
		t.Fatalf("end of day with an unknown: %v", err)
	}
	h.gw.setQuery(func(*payment.Operation) payment.Outcome { return approved() })
	res, err := h.svc.EndOfDay(ctx, payment.Caller{Client: "ecr"}, "lane-1", payment.EndOfDayOptions{})
	if err != nil || !res.Match {
		t.Fatalf("end of day after resolving: %+v %v", res, err)
	}
	if op, _ := h.svc.Get(ctx, r.Op.ID); op.State != payment.StateApproved {
		t.Fatalf("unknown not resolved first: %s", op.State)
	}
}

func TestSplitSale(t *testing.T) {
	h := newHarness(t, payment.VUK507)
	ctx := context.Background()
	h.gw.set(func(op *payment.Operation) payment.Outcome {
		out := approved()
		if op.Kind == payment.KindSplitStart {
			out.SaleNumber = "SN-1"
		}
		return out
	})
	req := payment.SaleRequest{Amount: "100.00", Reference: "split-1", DocumentType: "1",
		Items: []payment.ItemRequest{{Name: "Tea", Quantity: 2, UnitPrice: "50.00", Total: "100.00", TaxGroupCode: "1"}}}
	start, err := h.svc.StartSplit(ctx, caller("s"), req)
	if err != nil || start.Op.State != payment.StateApproved || start.Op.SaleNumber != "SN-1" {
		t.Fatalf("start: %+v %v", start, err)
	}
	add := func(key, amount string) (*payment.Result, error) {
		return h.svc.AddSplitPayment(ctx, caller(key), payment.SplitPaymentRequest{SplitID: start.Op.ID, Amount: amount})
	}
	if _, err := h.svc.CompleteSplit(ctx, caller("c0"), start.Op.ID, ""); !errors.Is(err, payment.ErrSplitUnpaid) {
		t.Fatalf("complete before paid: %v", err)
	}
	if r, err := add("p1", "60.00"); err != nil || r.Op.State != payment.StateApproved || r.Op.SaleNumber != "SN-1" {
		t.Fatalf("first part: %+v %v", r, err)
	}
	if _, err := add("p2", "40.01"); !errors.Is(err, payment.ErrAmountOutOfRange) {
		t.Fatalf("part beyond the remainder: %v", err)
	}
	if _, err := add("p3", "40.00"); err != nil {
		t.Fatal(err)
	}
	done, err := h.svc.CompleteSplit(ctx, caller("c1"), start.Op.ID, "")
	if err != nil || done.Op.State != payment.StateApproved || done.Op.Amount.Decimal() != "100.00" || len(done.Op.Lines) != 1 {
		t.Fatalf("complete: %+v %v", done, err)
	}
	if _, err := h.svc.CompleteSplit(ctx, caller("c2"), start.Op.ID, ""); !errors.Is(err, payment.ErrSplitClosed) {
		t.Fatalf("second completion: %v", err)
	}
	// Split sales do not exist in VUK 509.
	h509 := newHarness(t, payment.VUK509)
	if _, err := h509.svc.StartSplit(ctx, caller("x"), req); !errors.Is(err, payment.ErrModeUnsupported) {
		t.Fatalf("split in vuk509: %v", err)
	}
}

func TestVUK507SaleAndLineRefund(t *testing.T) {
	h := newHarness(t, payment.VUK507)
	ctx := context.Background()
	req := payment.SaleRequest{Amount: "30.00", Reference: "g1", DocumentType: "9",
		Items: []payment.ItemRequest{
			{Name: "Bread", Quantity: 2, UnitPrice: "5.00", Total: "10.00", TaxGroupCode: "1"},
			{Name: "Cheese", Quantity: 1, UnitPrice: "20.00", Total: "20.00", TaxGroupCode: "1"}}}
	bad := req
	bad.Items = append([]payment.ItemRequest(nil), req.Items...)
	bad.Items[1].Total = "21.00"
	var ve *payment.ValidationError
	if _, err := h.svc.Pay(ctx, caller("bad"), bad); !errors.As(err, &ve) {
		t.Fatalf("lines that do not add up: %v", err)
	}
	r, err := h.svc.Pay(ctx, caller("g1"), req)
	if err != nil || r.Op.State != payment.StateApproved || r.Op.Lines[1].ID != "2" || r.Op.PaymentType != "CARD" {
		t.Fatalf("sale: %+v %v", r, err)
	}
	h.clock.Advance(24 * time.Hour)
	ref, err := h.svc.Refund(ctx, caller("rf"), payment.AdjustRequest{PaymentID: r.Op.ID,
		Lines: []payment.RefundLineRequest{{LineID: "2", Amount: "20.00"}}})
	if err != nil || ref.Op.Amount.Decimal() != "20.00" || ref.Op.Lines[0].RelatedLineID != "2" || ref.Op.ParentTransactionReferenceID != r.Op.TransactionReferenceID {
		t.Fatalf("line refund: %+v %v", ref, err)
	}
	if _, err := h.svc.Refund(ctx, caller("rf2"), payment.AdjustRequest{PaymentID: r.Op.ID,
		Lines: []payment.RefundLineRequest{{LineID: "9", Amount: "1.00"}}}); !errors.As(err, &ve) {
		t.Fatalf("refund of a line that does not exist: %v", err)
	}
	if _, err := h.svc.Pay(ctx, caller("pre"), payment.SaleRequest{Type: payment.KindPreAuth, Amount: "1.00"}); !errors.Is(err, payment.ErrModeUnsupported) {
		t.Fatalf("pre-auth in vuk507: %v", err)
	}
}

// TestSplitStepsGatedByMode: each split-sale step refuses in VUK 509 before
// anything else is checked (a taken key, a missing reference, an unknown
// split id): the one mode gate, which the HTTP layer answers 409
// mode_unsupported.
func TestSplitStepsGatedByMode(t *testing.T) {
	h := newHarness(t, payment.VUK509)
	ctx := context.Background()
	if _, err := h.svc.Pay(ctx, caller("k"), payment.SaleRequest{Amount: "1.00"}); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("r", 200)
	steps := map[string]func() error{
		"start": func() error {
			_, err := h.svc.StartSplit(ctx, caller("k"), payment.SaleRequest{Amount: "1.00"})
			return err
		},
		"add": func() error {
			_, err := h.svc.AddSplitPayment(ctx, caller("k"), payment.SplitPaymentRequest{SplitID: "op_none", Amount: "1.00"})
			return err
		},
		"complete": func() error {
			_, err := h.svc.CompleteSplit(ctx, caller("k"), "op_none", long)
			return err
		},
		"cancel": func() error {
			_, err := h.svc.CancelSplit(ctx, payment.Caller{Client: "ecr"}, "op_none", "")
			return err
		},
	}
	for name, step := range steps {
		if err := step(); !errors.Is(err, payment.ErrModeUnsupported) || !strings.Contains(err.Error(), "vuk507") {
			t.Errorf("%s in vuk509: %v, want ErrModeUnsupported naming vuk507", name, err)
		}
	}
}

// TestSplitFullyPaidIsAState: a part added to a split sale with nothing left
// to pay is ErrSplitPaid (409 split_sale_paid), a state of the sale, not
// ErrAmountOutOfRange (no amount would do); a part of more than remains,
// while something remains, is still ErrAmountOutOfRange.
func TestSplitFullyPaidIsAState(t *testing.T) {
	h := newHarness(t, payment.VUK507)
	ctx := context.Background()
	h.gw.set(func(op *payment.Operation) payment.Outcome {
		out := approved()
		if op.Kind == payment.KindSplitStart {
			out.SaleNumber = "SN-2"
		}
		return out
	})
	start, err := h.svc.StartSplit(ctx, caller("s"), payment.SaleRequest{Amount: "10.00", Reference: "split-2", DocumentType: "1",
		Items: []payment.ItemRequest{{Name: "Tea", Quantity: 1, UnitPrice: "10.00", Total: "10.00", TaxGroupCode: "1"}}})
	if err != nil || start.Op.State != payment.StateApproved {
		t.Fatalf("start: %+v %v", start, err)
	}
	add := func(key, amount string) error {
		_, err := h.svc.AddSplitPayment(ctx, caller(key), payment.SplitPaymentRequest{SplitID: start.Op.ID, Amount: amount})
		return err
	}
	if err := add("p1", "10.01"); !errors.Is(err, payment.ErrAmountOutOfRange) || errors.Is(err, payment.ErrSplitPaid) {
		t.Fatalf("a part beyond what remains: %v", err)
	}
	if err := add("p2", "10.00"); err != nil {
		t.Fatal(err)
	}
	err = add("p3", "0.01")
	if !errors.Is(err, payment.ErrSplitPaid) || errors.Is(err, payment.ErrAmountOutOfRange) {
		t.Fatalf("a part with nothing left to pay: %v", err)
	}
	if msg, _ := publicerr.Message(err); msg != "split sale fully paid: nothing remains to be paid; complete the split sale" {
		t.Fatalf("public detail %q", msg)
	}
	if _, err := h.svc.CompleteSplit(ctx, caller("c"), start.Op.ID, ""); err != nil {
		t.Fatalf("complete after the refused part: %v", err)
	}
}
