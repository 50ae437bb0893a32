package payment

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/bridgedpos/bridged/internal/idempotency"
)

// Caller identifies who asks and how long they wait; every money call has one.
type Caller struct {
	Client         string // the API key name: the idempotency scope
	IdempotencyKey string // the header; the body's reference serves when empty
	Wait           time.Duration
}

// SaleRequest is a sale, pre-auth or post-auth as the ECR asks for it.
// Amounts arrive as exact decimal strings.
type SaleRequest struct {
	Type        Kind // sale (default), pre_auth, post_auth
	Amount      string
	Currency    string
	Installment int
	Terminal    string
	Reference   string
	PaymentID   string // post_auth: iyzico's paymentId of the pre-auth

	// VUK 507.
	PaymentType  string // CARD (default) or CASH
	DocumentType string // "1" e-invoice or "9" expense voucher
	Items        []ItemRequest
	Buyer        *Buyer
}

// ItemRequest is one VUK 507 sale line.
type ItemRequest struct {
	Name         string
	Quantity     int
	UnitPrice    string
	Total        string
	UnitCode     string
	TaxGroupCode string
}

// ValidateSale reports every problem of a sale request without running it,
// so the API can list them together with its own decoding problems.
func (s *Service) ValidateSale(c Caller, r SaleRequest) error {
	_, err := s.validateSale(c, r)
	return err
}

// Pay runs a sale, pre-auth or post-auth.
func (s *Service) Pay(ctx context.Context, c Caller, r SaleRequest) (*Result, error) {
	op, err := s.validateSale(c, r)
	if err != nil {
		return nil, err
	}
	if op.Kind != KindPostAuth {
		return s.submit(ctx, submission{op: op, wait: c.Wait})
	}
	if res, err := s.replay(ctx, c, r.Reference, op.Fingerprint); res != nil || err != nil {
		return res, err
	}
	pre, err := s.preAuthOf(ctx, op)
	if err != nil {
		return nil, err
	}
	op.ParentID, op.ParentTransactionReferenceID = pre.ID, pre.TransactionReferenceID
	return s.submit(ctx, submission{op: op, wait: c.Wait, check: func(s *Service) error {
		cur, err := s.j.Get(ctx, pre.ID)
		if err != nil {
			return err
		}
		return capturable(cur, op.Amount)
	}})
}

// preAuthOf finds the pre-authorisation a post-auth captures, by the iyzico
// paymentId the ECR names: it must be a pre-auth approved through bridged,
// on the same terminal, so that bridged can hold the capture to the hold and
// the refunds to the capture.
func (s *Service) preAuthOf(ctx context.Context, post *Operation) (*Operation, error) {
	owners, err := s.j.ByPaymentID(ctx, post.PaymentID)
	if err != nil {
		return nil, err
	}
	for _, o := range owners {
		if o.Kind != KindPreAuth {
			continue
		}
		if o.Terminal != post.Terminal {
			return nil, &ValidationError{Problems: []FieldProblem{{Field: "terminal",
				Message: fmt.Sprintf("the pre-authorisation %s ran on terminal %s; capture it there", post.PaymentID, o.Terminal)}}}
		}
		return o, nil
	}
	return nil, ErrNotCapturable.Withf("payment_id %s is not a pre-authorisation approved through bridged", post.PaymentID)
}

// capturable says whether pre can be captured for amount now.
func capturable(pre *Operation, amount Money) error {
	switch {
	case pre.State != StateApproved:
		return ErrNotCapturable.Withf("it is %s, not approved", pre.State.Status())
	case pre.Voided:
		return ErrNotCapturable.Withf("it is voided")
	case pre.CapturedBy != "":
		return ErrNotCapturable.Withf("it was captured already by payment %s", pre.CapturedBy)
	case amount.Minor() > pre.Amount.Minor():
		return ErrNotCapturable.Withf("%s requested, %s held", amount.Decimal(), pre.Amount.Decimal())
	}
	return nil
}

func (s *Service) validateSale(c Caller, r SaleRequest) (*Operation, error) {
	ve := &ValidationError{}
	kind := r.Type
	if kind == "" {
		kind = KindSale
	}
	switch kind {
	case KindSale:
	case KindPreAuth, KindPostAuth:
		if s.opt.Mode != VUK509 {
			return nil, ErrModeUnsupported.Withf("%s exists only in vuk509", kind)
		}
	default:
		ve.add("type", "%q is not sale, pre_auth or post_auth", kind)
	}
	terminal := s.terminalFor(r.Terminal, ve)
	amount := s.parseAmount("amount", r.Amount, r.Currency, ve)
	inst := r.Installment
	if inst == 0 {
		inst = 1
	}
	if inst < 1 || inst > 12 {
		ve.add("installment", "must be from 1 to 12")
	}
	if kind == KindPostAuth && r.PaymentID == "" {
		ve.add("payment_id", "is required for post_auth: the pre-auth's payment_id")
	}
	if kind != KindPostAuth && r.PaymentID != "" {
		ve.add("payment_id", "is used only with post_auth")
	}
	checkText(ve, "reference", r.Reference, 128)

	var lines []SaleLine
	if s.opt.Mode == VUK507 {
		lines = s.validateItems(r, amount, ve)
	} else if len(r.Items) > 0 || r.PaymentType != "" || r.DocumentType != "" || r.Buyer != nil {
		ve.add("items", "items, payment_type, document_type and buyer are used only in vuk507")
	}
	if err := ve.orNil(); err != nil {
		return nil, err
	}

	op, err := s.newOperation(kind, c.Client, c.IdempotencyKey, r.Reference, terminal)
	if err != nil {
		return nil, err
	}
	op.Amount, op.Installment = amount, inst
	op.PaymentID = r.PaymentID
	if s.opt.Mode == VUK507 {
		op.PaymentType = r.PaymentType
		if op.PaymentType == "" {
			op.PaymentType = "CARD"
		}
		op.DocumentType, op.Lines, op.Buyer = r.DocumentType, lines, r.Buyer
	}
	op.Fingerprint = fingerprint(op)
	return op, nil
}

func (s *Service) validateItems(r SaleRequest, amount Money, ve *ValidationError) []SaleLine {
	switch r.PaymentType {
	case "", "CARD", "CASH":
	default:
		ve.add("payment_type", "%q is not CARD or CASH", r.PaymentType)
	}
	switch r.DocumentType {
	case "1", "9":
	case "":
		ve.add("document_type", `is required in vuk507: "1" (e-invoice) or "9" (expense voucher)`)
	default:
		ve.add("document_type", `%q is not "1" (e-invoice) or "9" (expense voucher)`, r.DocumentType)
	}
	if r.Buyer != nil && r.Buyer.CustomerType != 1 && r.Buyer.CustomerType != 2 {
		ve.add("buyer.customer_type", "must be 1 (individual) or 2 (corporate)")
	}
	if len(r.Items) == 0 {
		ve.add("items", "at least one sale line is required in vuk507")
		return nil
	}
	if len(r.Items) > 200 {
		ve.add("items", "at most 200 sale lines")
		return nil
	}
	lines := make([]SaleLine, len(r.Items))
	var sum int64
	for i, it := range r.Items {
		f := fmt.Sprintf("items[%d]", i)
		checkText(ve, f+".name", it.Name, 128)
		if it.Name == "" {
			ve.add(f+".name", "is required")
		}
		if it.Quantity < 1 || it.Quantity > 100000 {
			ve.add(f+".quantity", "must be a whole number from 1 to 100000")
		}
		unit := s.parseAmount(f+".unit_price", it.UnitPrice, string(amount.Currency()), ve)
		total := s.parseAmount(f+".total", it.Total, string(amount.Currency()), ve)
		if unit.IsPositive() && total.IsPositive() && it.Quantity > 0 && unit.Minor()*int64(it.Quantity) != total.Minor() {
			ve.add(f+".total", "%s is not quantity %d × unit_price %s", total.Decimal(), it.Quantity, unit.Decimal())
		}
		unitCode := it.UnitCode
		if unitCode == "" {
			unitCode = "C62" // piece
		}
		if it.TaxGroupCode == "" {
			ve.add(f+".tax_group_code", "is required (the VAT group code configured on the fiscal device)")
		}
		sum += total.Minor()
		// Lines are numbered by position; upstream maps a position to
		// iyzico's own line id when a line is refunded.
		lines[i] = SaleLine{ID: strconv.Itoa(i + 1), Name: it.Name, Quantity: it.Quantity, UnitPrice: unit, Total: total,
			UnitCode: unitCode, TaxGroupCode: it.TaxGroupCode}
	}
	if amount.IsPositive() && sum != amount.Minor() {
		ve.add("items", "line totals add up to %s, not the amount %s", NewMoney(sum, amount.Currency()).Decimal(), amount.Decimal())
	}
	return lines
}

// terminalFor resolves the terminal, defaulting to the only one configured.
func (s *Service) terminalFor(id string, ve *ValidationError) string {
	if id == "" {
		if len(s.opt.Terminals) == 1 {
			return s.opt.Terminals[0].ID
		}
		ve.add("terminal", "is required: %d terminals are configured", len(s.opt.Terminals))
		return ""
	}
	if _, ok := s.lanes[id]; !ok {
		ve.add("terminal", "%q is not a configured terminal", id)
	}
	return id
}

// parseAmount parses an exact positive amount within the configured maximum.
func (s *Service) parseAmount(field, v, currency string, ve *ValidationError) Money {
	if currency == "" {
		currency = string(s.opt.Currency)
	}
	cur, err := ParseCurrency(currency)
	if err != nil {
		ve.add("currency", "%q is not TRY, USD or EUR", currency)
		return Money{}
	}
	if v == "" {
		ve.add(field, "is required, as a decimal string like \"149.90\"")
		return Money{}
	}
	m, err := ParseMoney(v, cur)
	if err != nil {
		ve.add(field, "%q is not an amount with at most two decimals", truncate(v, 32))
		return Money{}
	}
	if !m.IsPositive() {
		ve.add(field, "must be greater than zero")
		return Money{}
	}
	if max := s.opt.MaxAmount; max.IsPositive() && m.Cmp(max) > 0 {
		ve.add(field, "%s exceeds the maximum of %s", m.Decimal(), max.Decimal())
		return Money{}
	}
	return m
}

func checkText(ve *ValidationError, field, v string, max int) {
	if len(v) > max {
		ve.add(field, "is longer than %d characters", max)
		return
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			ve.add(field, "contains control characters")
			return
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// fingerprint covers the money-relevant fields: a retry with the same key
// and a different amount, terminal or target is a conflict, not a replay.
func fingerprint(op *Operation) string {
	f := idempotency.NewFingerprint().
		Add("kind", string(op.Kind)).
		Add("terminal", op.Terminal).
		AddInt("amount", op.Amount.Minor()).
		Add("currency", string(op.Amount.Currency())).
		AddInt("installment", int64(op.Installment)).
		Add("reference", op.Reference).
		Add("payment_id", op.PaymentID).
		Add("parent", op.ParentID).
		Add("payment_type", op.PaymentType).
		Add("document_type", op.DocumentType).
		Add("sale_number", op.SaleNumber)
	for _, l := range op.Lines {
		f.Add("line", l.Name).AddInt("qty", int64(l.Quantity)).AddInt("unit", l.UnitPrice.Minor()).
			AddInt("total", l.Total.Minor()).Add("tax", l.TaxGroupCode).Add("related", l.RelatedLineID)
	}
	return f.Sum()
}
