package upstream

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/bridgedpos/bridged/internal/payment"
)

// gateway507 is the VUK 507 gateway: fiscal sales with lines, split sales,
// voids, and refunds by line.
type gateway507 struct {
	gatewayBase
	app SaleApp
}

var _ payment.Gateway = (*gateway507)(nil)

// Execute sends a money operation or a split step.
func (g *gateway507) Execute(ctx context.Context, op *payment.Operation) payment.Outcome {
	switch op.Kind {
	case payment.KindSale:
		resp, err := g.c.GmuPayment(ctx, g.gmuSale(op))
		if err != nil {
			return fromError(err)
		}
		return g.outcome507(op.Kind, resp, "", "")
	case payment.KindSplitStart:
		resp, err := g.c.GmuPartialStart(ctx, g.gmuSale(op))
		if err != nil {
			return fromError(err)
		}
		if strings.TrimSpace(resp.SaleNumber) == "" {
			// Without it the split sale cannot go on, and nobody could tell
			// which sale iyzico opened: not usable evidence.
			return unusable(op, "the partial-payment start was answered success without a saleNumber")
		}
		out := payment.Outcome{Class: payment.Approved, SaleNumber: resp.SaleNumber}
		if m, err := ParseAmount(resp.RemainingPaymentAmount, op.Amount.Currency()); err == nil {
			out.Remaining = &m
		}
		return out
	case payment.KindSplitPayment:
		resp, err := g.c.GmuPartialAdd(ctx, GmuPartialAddRequest{Head: headOf(op),
			SaleNumber: op.SaleNumber, Installment: op.Installment, Price: op.Amount})
		if err != nil {
			return fromError(err)
		}
		return g.outcome507(op.Kind, resp, "", "")
	case payment.KindSplitComplete:
		resp, err := g.c.GmuPartialComplete(ctx, GmuPartialCompleteRequest{Head: headOf(op), SaleNumber: op.SaleNumber})
		if err != nil {
			return fromError(err)
		}
		return g.outcome507(op.Kind, &resp.GmuPaymentResponse, "", "")
	case payment.KindVoid:
		date, err := strconv.Atoi(op.PaymentDate)
		if err != nil {
			return notSent(fmt.Errorf("payment date %q is not YYYYMMDD", op.PaymentDate))
		}
		resp, err := g.c.GmuVoid(ctx, GmuVoidRequest{Head: headOf(op), PaymentID: op.PaymentID, PaymentDate: date})
		if err != nil {
			return fromError(err)
		}
		// GmuVoidResponse: hostReference is the sale's, cancelHostReference the void's own.
		return payment.Outcome{Class: payment.Approved, PaymentID: strings.TrimSpace(string(resp.PaymentID)), AuthCode: resp.AuthCode,
			HostRef: resp.CancelHostReference, PaymentDate: dateText(int64(resp.PaymentDate))}
	case payment.KindRefund:
		return g.refund507(ctx, op)
	}
	return notSent(fmt.Errorf("%s is not a vuk507 operation", op.Kind))
}

// gmuSale builds the VUK 507 sale (and split start) request.
func (g *gateway507) gmuSale(op *payment.Operation) GmuPaymentRequest {
	items := make([]SaleItem, len(op.Lines))
	for i, l := range op.Lines {
		items[i] = SaleItem{Name: l.Name, Generic: l.Generic, UnitCode: l.UnitCode, TaxGroupCode: l.TaxGroupCode,
			ItemQuantity: l.Quantity, UnitPriceAmount: l.UnitPrice, GrossPriceAmount: l.Total, TotalPriceAmount: l.Total}
	}
	r := GmuPaymentRequest{Head: headOf(op), PaymentType: PaymentType(op.PaymentType),
		Installment: op.Installment, SaleAppName: g.app.Name, SaleAppVersion: g.app.Version,
		SaleDocumentType: DocumentType(op.DocumentType), SaleItems: items, Price: op.Amount, PaidPrice: op.Amount}
	if b := op.Buyer; b != nil {
		r.BuyerInfo = &BuyerInfo{CustomerType: CustomerType(b.CustomerType), FirstName: b.FirstName, MiddleName: b.MiddleName,
			FamilyName: b.FamilyName, CompanyName: b.CompanyName, TaxOfficeCode: b.TaxOfficeCode, TaxNumber: b.TaxNumber,
			Country: b.Country, City: b.City, District: b.District}
	}
	return r
}

// refund507 refunds by line. iyzico's own line ids come from
// refundable-sale-info, asked first; each refund line is matched to the one
// refundable line with its content (matchRefundLines), never by position. If
// that question fails, or no single line matches, the refund itself is never
// sent.
func (g *gateway507) refund507(ctx context.Context, op *payment.Operation) payment.Outcome {
	date, err := strconv.Atoi(op.PaymentDate)
	if err != nil {
		return notSent(fmt.Errorf("payment date %q is not YYYYMMDD", op.PaymentDate))
	}
	sale := headOf(op)
	sale.TransactionReferenceID = op.ParentTransactionReferenceID
	info, err := g.c.GmuRefundableSaleInfo(ctx, GmuRefundableSaleInfoRequest{Head: sale})
	if err != nil {
		out := fromError(err)
		out.Class, out.Busy = payment.NotSent, false
		return out
	}
	cur, err := currencyOr(info.Currency, op.Amount.Currency())
	if err != nil {
		return notSent(fmt.Errorf("refundable-sale-info: %w", err))
	}
	ids, err := matchRefundLines(op.Lines, info.SaleItems, cur)
	if err != nil {
		return notSent(err)
	}
	items := make([]SaleItem, 0, len(op.Lines))
	for i, l := range op.Lines {
		items = append(items, SaleItem{RelatedSaleItemID: ids[i],
			Name: l.Name, UnitCode: l.UnitCode, TaxGroupCode: l.TaxGroupCode, ItemQuantity: l.Quantity,
			UnitPriceAmount: l.UnitPrice, GrossPriceAmount: l.Total, TotalPriceAmount: l.Total, ReturnAmount: l.Total})
	}
	resp, err := g.c.GmuRefund(ctx, GmuRefundRequest{Head: headOf(op), PaymentID: op.PaymentID, PaymentDate: date,
		SaleAppName: g.app.Name, SaleAppVersion: g.app.Version, SaleItems: items})
	if err != nil {
		return fromError(err)
	}
	// GmuRefundResponse: hostReference is the refund's own.
	return payment.Outcome{Class: payment.Approved, AuthCode: resp.AuthCode, HostRef: resp.HostReference, BatchNo: resp.BatchNo,
		Card: payment.NewCard(resp.BinNumber, resp.LastFourDigits, "")}
}

// Query asks for an operation by device and its own transactionReferenceId.
// Its classes are about the queried operation: Approved and Declined settle
// it (a recorded 380201/380202 is Declined: nothing happened on the device),
// NotFound starts the grace period, anything else leaves it unknown.
func (g *gateway507) Query(ctx context.Context, op *payment.Operation) payment.Outcome {
	resp, err := g.c.GmuQueryTransactionStatus(ctx, GmuQueryRequest{Head: headOf(op)})
	if err != nil {
		out := fromError(err)
		// The client classifies a failed query as a record of the
		// queried transaction only when it repeats its reference.
		out.Named = out.Class == payment.Declined
		return out
	}
	if op.Kind == payment.KindSplitStart && strings.TrimSpace(resp.SaleNumber) == "" {
		return unusable(op, "the partial-payment start was queried success without a saleNumber")
	}
	out := g.outcome507(op.Kind, &resp.GmuPaymentResponse, resp.CancelHostReference, resp.RefundHostReference)
	out.Voided = op.Kind.IsPayment() && resp.CancelHostReference != ""
	describe(&out, op, resp.TransactionReferenceID, resp.DeviceUniqueID, resp.Price, resp.Currency)
	return out
}

// EndOfDay runs iyzico's end of day on the operation's device.
func (g *gateway507) EndOfDay(ctx context.Context, op *payment.Operation) (*payment.EndOfDayReport, payment.Outcome) {
	resp, err := g.c.GmuEndOfDay(ctx, GmuEODRequest{Head: eodHead(op)})
	if err != nil {
		return nil, fromError(err)
	}
	return endOfDayReport(op, resp.BatchNo, resp.ResultMessage, resp.Tails)
}

// add-payment or complete, or a query of any operation, whose void and
// refund host references are passed apart) for an operation of kind k.
func (g *gateway507) outcome507(k payment.Kind, resp *GmuPaymentResponse, cancelRef, refundRef string) payment.Outcome {
	out := payment.Outcome{Class: payment.Approved, PaymentID: strings.TrimSpace(string(resp.PaymentID)),
		PaymentDate: dateText(int64(resp.PaymentDate)), AuthCode: resp.AuthCode,
		HostRef: hostRef(k, resp.HostReference, cancelRef, refundRef), BatchNo: resp.BatchNo, SaleNumber: resp.SaleNumber,
		Card: payment.NewCard(resp.BinNumber, resp.LastFourDigits, resp.CardType)}
	g.checkPaymentID(k, out.PaymentID)
	return out
}
