package simulator

import "slices"

// Ledger is a snapshot of all the money iyzico holds, for an oracle that
// compares it with a client's records: every operation that reached a device
// (by reference), and every payment with what happened to it since.
type Ledger struct {
	Ops      []LedgerOp      `json:"ops"`
	Payments []LedgerPayment `json:"payments"`
}

// LedgerOp is one operation that reached a device (approved or failed), in
// the order the device ran them. A refusal before the device (validation,
// authentication, busy, duplicate reference, business rules checked first)
// is not an operation: see Requests.
type LedgerOp struct {
	Device                 string `json:"device"`
	TransactionReferenceID string `json:"transaction_reference_id"`
	API                    string `json:"api"`  // vuk509 or vuk507
	Kind                   string `json:"kind"` // as PaymentView.Kind
	Approved               bool   `json:"approved"`
	ErrorCode              string `json:"error_code,omitempty"`
	Amount                 string `json:"amount"` // its own amount
	AmountMinor            int64  `json:"amount_minor"`
	Batch                  int    `json:"batch"`
	PaymentID              string `json:"payment_id,omitempty"` // the payment it made or acted on
	SaleNumber             string `json:"sale_number,omitempty"`
	// Latest says whether a query by this reference finds this operation
	// (a later operation under the same reference replaces it only under
	// DuplicateCharge).
	Latest bool `json:"latest"`
}

// LedgerPayment is one payment (what a paymentId names) as iyzico holds it now.
type LedgerPayment struct {
	ID     string `json:"id"`
	Device string `json:"device"`
	API    string `json:"api"`
	Kind   string `json:"kind"` // sale, pre_auth, partial_payment (a split part), split_sale
	// Reference is the transactionReferenceId of the operation that made it.
	Reference string `json:"reference"`
	// AmountMinor is what was charged (held, for an uncaptured pre-auth;
	// captured, once a POST_AUTH closed it).
	AmountMinor   int64  `json:"amount_minor"`
	Captured      bool   `json:"captured,omitempty"`
	Cash          bool   `json:"cash,omitempty"`
	Voided        bool   `json:"voided"`
	RefundedMinor int64  `json:"refunded_minor"`
	Refunds       int    `json:"refunds"` // approved refunds of it
	Batch         int    `json:"batch"`
	SaleNumber    string `json:"sale_number,omitempty"`
	// Parts are the payment ids of a split sale's card parts.
	Parts []string `json:"parts,omitempty"`
	// Lines are a VUK 507 sale's lines with what is returned of each.
	Lines []LedgerLine `json:"lines,omitempty"`
}

// LedgerLine is one VUK 507 sale line and its returns.
type LedgerLine struct {
	ID               int   `json:"id"`
	Quantity         int64 `json:"quantity"`
	TotalMinor       int64 `json:"total_minor"`
	ReturnedQuantity int64 `json:"returned_quantity"`
	ReturnedMinor    int64 `json:"returned_minor"`
}

// Charged reports whether the payment moved money (a sale, a capture, a part;
// not an uncaptured hold, not the split sale's fiscal record).
func (p LedgerPayment) Charged() bool {
	return p.Kind != "split_sale" && (p.Kind != "pre_auth" || p.Captured)
}

// Ledger returns a snapshot of every operation and payment, devices in
// configuration order.
func (s *Sim) Ledger() Ledger {
	s.mu.Lock()
	defer s.mu.Unlock()
	var l Ledger
	seen := map[*payment]bool{}
	var pays []*payment
	for _, id := range s.cfg.Devices {
		d := s.devices[id]
		for _, op := range d.log {
			lo := LedgerOp{Device: d.id, TransactionReferenceID: op.ref, API: op.fam.api(), Kind: op.kind.String(),
				Approved: op.err == nil, Amount: op.amount.String(), AmountMinor: int64(op.amount), Batch: op.batch,
				Latest: op.ref != "" && d.ops[op.ref] == op}
			if op.err != nil {
				lo.ErrorCode = op.err.code
			}
			if op.split != nil {
				lo.SaleNumber = op.split.saleNumber
			}
			if p := op.payment; p != nil {
				lo.PaymentID = p.id
				if !seen[p] {
					seen[p] = true
					pays = append(pays, p)
				}
			}
			if op.split != nil && op.split.sale != nil && !seen[op.split.sale] {
				seen[op.split.sale] = true
				pays = append(pays, op.split.sale)
			}
			l.Ops = append(l.Ops, lo)
		}
	}
	for _, p := range pays {
		lp := LedgerPayment{ID: p.id, Device: p.device.id, API: p.fam.api(), Kind: p.kind.String(),
			AmountMinor: int64(p.amount), Captured: p.captured, Cash: p.cash, Voided: p.voided,
			RefundedMinor: int64(p.refunded), Batch: p.batch, SaleNumber: p.saleNumber}
		if p.origin != nil {
			lp.Reference = p.origin.ref
		}
		for _, part := range p.parts {
			lp.Parts = append(lp.Parts, part.id)
		}
		for _, ln := range p.lines {
			lp.Lines = append(lp.Lines, LedgerLine{ID: ln.id, Quantity: ln.quantity, TotalMinor: int64(ln.total),
				ReturnedQuantity: ln.returnedQty, ReturnedMinor: int64(ln.returned)})
		}
		for _, op := range p.device.log {
			if op.kind == kindRefund && op.err == nil && op.payment == p {
				lp.Refunds++
			}
		}
		l.Payments = append(l.Payments, lp)
	}
	slices.SortStableFunc(l.Payments, func(a, b LedgerPayment) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return l
}

// Op returns the ledger's operation under ref (the one a query finds), if any.
func (l Ledger) Op(ref string) (LedgerOp, bool) {
	for _, op := range l.Ops {
		if op.TransactionReferenceID == ref && op.Latest {
			return op, true
		}
	}
	return LedgerOp{}, false
}

// Payment returns the ledger's payment with that id, if any.
func (l Ledger) Payment(id string) (LedgerPayment, bool) {
	for _, p := range l.Payments {
		if p.ID == id {
			return p, true
		}
	}
	return LedgerPayment{}, false
}

func (f family) api() string {
	if f == fam507 {
		return "vuk507"
	}
	return "vuk509"
}
