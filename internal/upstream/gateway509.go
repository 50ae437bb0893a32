package upstream

import (
	"context"
	"fmt"
	"strings"

	"github.com/bridgedpos/bridged/internal/payment"
)

// gateway509 is the VUK 509 gateway: sales, pre- and post-authorisations,
// voids and refunds by amount.
type gateway509 struct {
	gatewayBase
}

var _ payment.Gateway = (*gateway509)(nil)

// Execute sends a money operation.
func (g *gateway509) Execute(ctx context.Context, op *payment.Operation) payment.Outcome {
	switch op.Kind {
	case payment.KindSale, payment.KindPreAuth, payment.KindPostAuth:
		st := map[payment.Kind]SalesType{payment.KindSale: SalesTypeSale, payment.KindPreAuth: SalesTypePreAuth, payment.KindPostAuth: SalesTypePostAuth}[op.Kind]
		r := PaymentRequest{Head: headOf(op), Installment: op.Installment, SalesType: st, Amount: op.Amount}
		if op.Kind == payment.KindPostAuth {
			r.PaymentID = op.PaymentID
		}
		resp, err := g.c.Payment(ctx, r)
		return g.outcome509(op.Kind, resp, err)
	case payment.KindVoid:
		resp, err := g.c.Void(ctx, VoidRequest{Head: headOf(op), PaymentID: op.PaymentID, PaymentDate: op.PaymentDate})
		return g.outcome509(op.Kind, resp, err)
	case payment.KindRefund:
		resp, err := g.c.Refund(ctx, RefundRequest{Head: headOf(op), PaymentID: op.PaymentID,
			PaymentDate: op.PaymentDate, Amount: op.Amount})
		return g.outcome509(op.Kind, resp, err)
	}
	return notSent(fmt.Errorf("%s is not a vuk509 operation", op.Kind))
}

// Query asks for an operation by device and its own transactionReferenceId.
// Its classes are about the queried operation: Approved and Declined settle
// it (a recorded 380201/380202 is Declined: nothing happened on the device),
// NotFound starts the grace period, anything else leaves it unknown.
func (g *gateway509) Query(ctx context.Context, op *payment.Operation) payment.Outcome {
	resp, err := g.c.QueryTransactionStatus(ctx, QueryRequest{Head: headOf(op)})
	out := g.outcome509(op.Kind, resp, err)
	if out.Class == payment.Approved && resp != nil {
		out.Voided = op.Kind.IsPayment() && resp.CancelHostReference != ""
		describe(&out, op, resp.TransactionReferenceID, resp.DeviceUniqueID, resp.Price, resp.Currency)
	}
	if out.Class == payment.Declined {
		// The client classifies a failed query as a record of the queried
		// transaction (Declined) only when it repeats its reference.
		out.Named = true
	}
	return out
}

// EndOfDay runs iyzico's end of day on the operation's device.
func (g *gateway509) EndOfDay(ctx context.Context, op *payment.Operation) (*payment.EndOfDayReport, payment.Outcome) {
	resp, err := g.c.EndOfDay(ctx, EODRequest{Head: eodHead(op)})
	if err != nil {
		return nil, fromError(err)
	}
	return endOfDayReport(op, resp.BatchNo, resp.ResultMessage, resp.Totals)
}

// outcome509 maps a VUK 509 answer (payment, void, refund, or a query of one)
// for an operation of kind k.
func (g *gateway509) outcome509(k payment.Kind, resp *PaymentResponse, err error) payment.Outcome {
	if err != nil {
		return fromError(err)
	}
	out := payment.Outcome{Class: payment.Approved, PaymentID: strings.TrimSpace(string(resp.PaymentID)),
		PaymentDate: string(resp.PaymentDate), AuthCode: resp.AuthCode,
		HostRef: hostRef(k, resp.HostReference, resp.CancelHostReference, resp.RefundHostReference),
		BatchNo: resp.BatchNo, Card: payment.NewCard(resp.BinNumber, resp.LastFourDigits, resp.CardType)}
	g.checkPaymentID(k, out.PaymentID)
	return out
}

// outcome507 maps an approved VUK 507 GmuPaymentResponse (sale, partial
