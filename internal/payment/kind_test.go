package payment

import "testing"

// TestKindPredicates pins which kinds each predicate names: every place that
// asks "is this a payment" asks these.
func TestKindPredicates(t *testing.T) {
	all := append(TransactionKinds(), KindEndOfDay)
	want := map[Kind][5]bool{ // IsSale, IsPayment, OwnsPaymentID, MovesMoney, Charges
		KindSale:          {true, true, true, true, true},
		KindPreAuth:       {true, true, true, true, false},
		KindPostAuth:      {true, true, true, true, true},
		KindVoid:          {false, false, false, true, false},
		KindRefund:        {false, false, false, true, false},
		KindSplitStart:    {false, false, false, false, false},
		KindSplitPayment:  {false, false, true, true, true},
		KindSplitComplete: {false, true, true, true, false},
		KindEndOfDay:      {false, false, false, false, false},
	}
	if len(all) != len(want) {
		t.Fatalf("TransactionKinds and end of day are %d kinds, want %d", len(all), len(want))
	}
	for _, k := range all {
		got := [5]bool{k.IsSale(), k.IsPayment(), k.OwnsPaymentID(), k.MovesMoney(), k.Charges()}
		if got != want[k] {
			t.Errorf("%s: IsSale, IsPayment, OwnsPaymentID, MovesMoney, Charges = %v, want %v", k, got, want[k])
		}
	}
}

// TestStatus pins what the ECR sees of each state, and the filter's words.
func TestStatus(t *testing.T) {
	for st, want := range map[State]Status{StateAccepted: StatusPending, StateSending: StatusPending,
		StateApproved: StatusApproved, StateDeclined: StatusDeclined, StateUnknown: StatusUnknown} {
		if got := st.Status(); got != want || !got.Valid() {
			t.Errorf("%s.Status() = %q (valid %v), want %q", st, got, got.Valid(), want)
		}
	}
	for _, s := range []Status{"", "accepted", "sending", "APPROVED", "settled"} {
		if s.Valid() {
			t.Errorf("Status(%q).Valid() = true", s)
		}
	}
}
