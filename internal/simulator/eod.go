package simulator

import (
	"cmp"
	"slices"
	"strconv"
)

// End of day closes the device's open batch and reports one line per acquirer
// (and currency) with the batch's net card total:
//
//	totalTransactionAmount = Σ approved sales, captures (POST_AUTH) and partial
//	                         payments of the batch that were not voided
//	                       − Σ approved refunds made in the batch
//	totalTransactionCount  = number of those sales/captures/parts + number of those refunds
//
// Voided payments drop out of the batch entirely (a void is only possible within
// the batch). Uncaptured pre-auths, declined or failed operations and cash are
// not in it. A refund belongs to the batch it was made in, under the acquirer of
// the payment it refunds (for a split sale, that of its first card part). The
// next operation on the device goes into batch number + 1.

// eodTotal is TerminalEodTotalsItem (VUK 509 totals[]) and TailDto (VUK 507 tails[]).
type eodTotal struct {
	AcquirerID             string  `json:"acquirerId"`
	TerminalID             string  `json:"terminalId"`
	BankMerchantID         string  `json:"bankMerchantId"`
	TotalTransactionAmount string  `json:"totalTransactionAmount"`
	TotalTransactionCount  string  `json:"totalTransactionCount"`
	AcquirerName           string  `json:"acquirerName"`
	BatchNo                string  `json:"batchNo"`
	ResponseCode           string  `json:"responseCode"`
	InternalErrorCode      *string `json:"internalErrorCode"` // only on error: always null here
}

type totalKey struct{ acquirer, currency string }

type totalSum struct {
	acq   *acquirer
	sum   amount
	count int
}

// closeBatchLocked computes the totals of d's open batch, closes it and opens
// the next. It returns the closed batch number and its totals.
func (s *Sim) closeBatchLocked(d *device) (string, []eodTotal) {
	sums := map[totalKey]*totalSum{}
	add := func(acq *acquirer, currency string, a amount) {
		k := totalKey{acq.id, currency}
		if sums[k] == nil {
			sums[k] = &totalSum{acq: acq}
		}
		sums[k].sum += a
		sums[k].count++
	}
	for _, op := range d.log {
		if op.batch != d.batch || op.err != nil || op.payment == nil || op.payment.acq == nil {
			continue
		}
		switch op.kind {
		case kindSale, kindPostAuth, kindPartialAdd:
			if !op.payment.voided {
				add(op.payment.acq, op.currency, op.amount)
			}
		case kindRefund:
			add(op.payment.acq, op.currency, -op.amount)
		}
	}
	closed := d.batchNo(d.batch)
	keys := make([]totalKey, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b totalKey) int {
		return cmp.Or(cmp.Compare(a.acquirer, b.acquirer), cmp.Compare(a.currency, b.currency))
	})
	totals := make([]eodTotal, 0, len(sums))
	for _, k := range keys {
		t := sums[k]
		totals = append(totals, eodTotal{
			AcquirerID: t.acq.id, TerminalID: terminalID(d, t.acq), BankMerchantID: t.acq.merchantID,
			TotalTransactionAmount: t.sum.String(), TotalTransactionCount: strconv.Itoa(t.count),
			AcquirerName: t.acq.name, BatchNo: closed, ResponseCode: "00",
		})
	}
	d.batch++
	return closed, totals
}

func eodMessage(english bool) string {
	if english {
		return "End-of-day completed successfully"
	}
	return "Gün sonu başarıyla tamamlandı"
}

// CloseBatchOnDevice runs end of day on a device outside the API, as a store
// does from the terminal's own menu: the batch is closed, and a client that
// did not ask for it does not know. It reports whether the device exists.
func (s *Sim) CloseBatchOnDevice(device string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.devices[device]
	if d == nil {
		return false
	}
	s.closeBatchLocked(d)
	return true
}
