package simulator

// PaymentView is an operation as iyzico holds it, for tests: the operation named
// by a reference (a sale, a void, a refund, a partial-payment step) with the
// latest state of the payment it made or acted on.
type PaymentView struct {
	Device                 string `json:"device"`
	TransactionReferenceID string `json:"transaction_reference_id"`
	API                    string `json:"api"`    // "vuk509" or "vuk507"
	Kind                   string `json:"kind"`   // sale, pre_auth, post_auth, void, refund, partial_start, partial_payment, split_sale
	Status                 string `json:"status"` // "approved" or "failed"
	ErrorCode              string `json:"error_code,omitempty"`
	ErrorGroup             string `json:"error_group,omitempty"`
	Amount                 string `json:"amount"` // this operation's own amount
	Currency               string `json:"currency"`
	BatchNo                string `json:"batch_no"`
	AuthCode               string `json:"auth_code,omitempty"` // this operation's own approval
	HostReference          string `json:"host_reference,omitempty"`

	// The payment's latest state (empty for a declined sale).
	PaymentID              string `json:"payment_id,omitempty"`
	PaymentDate            string `json:"payment_date,omitempty"`
	PaymentAmount          string `json:"payment_amount,omitempty"` // charged (held, for an uncaptured pre-auth)
	Captured               bool   `json:"captured,omitempty"`
	Voided                 bool   `json:"voided"`
	Refunded               string `json:"refunded"`
	CancelHostReference    string `json:"cancel_host_reference,omitempty"`
	RefundHostReference    string `json:"refund_host_reference,omitempty"`
	Cash                   bool   `json:"cash,omitempty"`
	BinNumber              string `json:"bin_number,omitempty"`
	LastFourDigits         string `json:"last_four_digits,omitempty"`
	AcquirerID             string `json:"acquirer_id,omitempty"`
	SaleNumber             string `json:"sale_number,omitempty"`
	RemainingPaymentAmount string `json:"remaining_payment_amount,omitempty"` // partial-payment steps
}

// Payment returns the operation named by transactionReferenceID on device (on
// the first device that has one, in Config.Devices order, when device is ""),
// as iyzico holds it now.
func (s *Sim) Payment(device, transactionReferenceID string) (PaymentView, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var op *operation
	for _, id := range s.cfg.Devices { // in configuration order: the first match wins
		if device == "" || id == device {
			if op = s.devices[id].ops[transactionReferenceID]; op != nil {
				break
			}
		}
	}
	if op == nil {
		return PaymentView{}, false
	}
	v := PaymentView{
		Device: op.device.id, TransactionReferenceID: op.ref, Kind: op.kind.String(), Status: "approved",
		Amount: op.amount.String(), Currency: op.currency, BatchNo: op.device.batchNo(op.batch),
		AuthCode: op.auth.authCode, HostReference: op.auth.hostRef, Refunded: amount(0).String(),
		API: "vuk509",
	}
	if op.fam == fam507 {
		v.API = "vuk507"
	}
	if op.err != nil {
		v.Status, v.ErrorCode, v.ErrorGroup = "failed", op.err.code, op.err.group
	}
	if op.split != nil {
		v.SaleNumber, v.RemainingPaymentAmount = op.split.saleNumber, op.split.remaining.String()
	}
	if p := op.payment; p != nil {
		v.PaymentID, v.PaymentDate, v.PaymentAmount = p.id, p.date, p.amount.String()
		v.Captured, v.Voided, v.Refunded = p.captured, p.voided, p.refunded.String()
		v.CancelHostReference, v.RefundHostReference, v.Cash = p.cancelRef, p.refundRef, p.cash
		if p.saleNumber != "" {
			v.SaleNumber = p.saleNumber
		}
		if p.card != nil && !p.cash {
			v.BinNumber, v.LastFourDigits = p.card.bin, p.card.last4
		}
		if p.acq != nil && !p.cash {
			v.AcquirerID = p.acq.id
		}
	}
	return v, true
}
