package upstream

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/bridgedpos/bridged/internal/payment"
)

// matchRefundLines finds, for each refund line, the refundable line of the
// sale it refunds, by content: the same name, the same unit price
// (totalPriceAmount = unit price × itemQuantity), at least as many items as
// are returned, and (when iyzico says what is left) enough left to return.
// A refund line carries the sale line's name, the number of items returned,
// the sale line's unit price and the amount returned (payment's refundLines).
//
// Exactly one line must match. Lines that are identical in everything iyzico
// reports of them (name, quantity, total, VAT, what is left) are
// interchangeable — refunding one or the other is the same fiscal act — and
// count as one match; each is used once. Anything else is an error: the
// refund is not sent rather than sent for a line chosen by guesswork.
func matchRefundLines(lines []payment.SaleLine, items []RefundableSaleItem, cur payment.Currency) ([]string, error) {
	used := make([]bool, len(items))
	ids := make([]string, len(lines))
	for i, l := range lines {
		var matches []int
		for j, it := range items {
			if !used[j] && lineMatches(l, it, cur) {
				matches = append(matches, j)
			}
		}
		what := fmt.Sprintf("refund line %d (%q, %d × %s)", i+1, l.Name, l.Quantity, l.UnitPrice.Decimal())
		if len(matches) == 0 {
			return nil, fmt.Errorf("%s matches none of the sale's %d refundable lines (name, unit price, quantity and what is left to return)", what, len(items))
		}
		key := itemKey(items[matches[0]], cur)
		for _, j := range matches[1:] {
			if itemKey(items[j], cur) != key {
				return nil, fmt.Errorf("%s matches %d different refundable lines of the sale; refusing to guess which", what, len(matches))
			}
		}
		j := matches[0]
		if items[j].ID <= 0 {
			return nil, fmt.Errorf("%s: the matching refundable line has no id", what)
		}
		used[j] = true
		ids[i] = strconv.FormatInt(int64(items[j].ID), 10)
	}
	return ids, nil
}

// lineMatches reports whether the refundable line it can be the sale line the
// refund line l refunds.
func lineMatches(l payment.SaleLine, it RefundableSaleItem, cur payment.Currency) bool {
	qty := int64(it.ItemQuantity)
	if strings.TrimSpace(it.Name) != strings.TrimSpace(l.Name) || qty <= 0 || int64(l.Quantity) > qty {
		return false
	}
	total, err := ParseAmount(it.TotalPriceAmount, cur)
	if err != nil || l.UnitPrice.Minor()*qty != total.Minor() {
		return false
	}
	if strings.TrimSpace(string(it.ReturnableAmount)) != "" {
		left, err := ParseAmount(it.ReturnableAmount, cur)
		if err != nil || left.Minor() < l.Total.Minor() || int64(it.ReturnableQuantity) < int64(l.Quantity) {
			return false
		}
	}
	return true
}

// itemKey is everything iyzico says of a refundable line except its id.
func itemKey(it RefundableSaleItem, cur payment.Currency) string {
	amt := func(n json.Number) string {
		if m, err := ParseAmount(n, cur); err == nil {
			return strconv.FormatInt(m.Minor(), 10)
		}
		return "?" + string(n)
	}
	return fmt.Sprintf("%s|%d|%s|%s|%d|%s", strings.TrimSpace(it.Name), it.ItemQuantity, amt(it.TotalPriceAmount),
		amt(it.VatAmount), it.ReturnableQuantity, amt(it.ReturnableAmount))
}
