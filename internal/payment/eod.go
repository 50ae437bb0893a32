package payment

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// EndOfDayResult is an end-of-day run with the comparison of iyzico's totals
// against the journal.
type EndOfDayResult struct {
	Op       *Operation
	Report   *EndOfDayReport // iyzico's totals, per acquirer
	Since    time.Time       // the previous end of day on this terminal (zero: none)
	Journal  Totals          // what the journal says the batch holds
	Upstream Totals          // the sum of iyzico's acquirer lines
	Match    bool
	// Lines are the journal's operations of the batch; when the totals differ
	// they are the list that explains the difference.
	Lines []BatchLine
	// Unconfirmed are earlier ends of day inside this batch whose answers
	// were lost: iyzico may have closed the batch at one of them. When
	// iyzico's totals match the journal from the latest of them on, Since is
	// that boundary and Boundary says it was confirmed; when they match the
	// whole span, it was not a boundary.
	Unconfirmed []string
	Boundary    string
	// Replayed: the answer of an earlier request with the same key.
	Replayed bool
	// Unknown are the batch's operations whose outcome is not settled (an
	// end of day run with AllowUnknown); UnknownCould is what they would add
	// to the journal's totals were they all approved. When the totals differ
	// by no more than that, Explained says the unknowns may be why.
	Unknown      []BatchLine
	UnknownCould Totals
	Explained    bool
}

// EndOfDayOptions are the choices of one end-of-day request.
type EndOfDayOptions struct {
	// AllowUnknown runs end of day although operations of the terminal are
	// unknown; the report lists them and what they could change.
	AllowUnknown bool
}

// Totals is a net amount and a transaction count.
type Totals struct {
	Amount Money
	Count  int
}

// BatchLine is one journal operation of the closed batch.
type BatchLine struct {
	OpID      string
	Kind      Kind
	State     State
	Amount    Money
	Signed    int64 // what it adds to the batch total in minor units
	Counted   bool
	Note      string
	PaymentID string
}

// EndOfDay resolves the terminal's unknown operations, runs iyzico's end of
// day, and compares iyzico's totals with the journal. It holds the terminal
// exclusively; a terminal whose unknowns cannot be resolved is refused, since
// the comparison could not be trusted.
func (s *Service) EndOfDay(ctx context.Context, c Caller, terminal string, o EndOfDayOptions) (*EndOfDayResult, error) {
	ve := &ValidationError{}
	terminal = s.terminalFor(terminal, ve)
	if err := ve.orNil(); err != nil {
		return nil, err
	}
	key := c.IdempotencyKey
	op, err := s.newOperation(KindEndOfDay, c.Client, key, "", terminal)
	if err != nil {
		return nil, err
	}
	op.Amount = NewMoney(0, s.opt.Currency)
	op.Fingerprint = fingerprint(op)
	c.Wait = s.opt.CardTimeout
	if key != "" {
		// The same end of day asked again gets its stored report at once,
		// before any status query of the terminal's unknowns.
		if res, err := s.replay(ctx, c, "", op.Fingerprint); res != nil || err != nil {
			if err != nil {
				return nil, err
			}
			out, err := s.compare(ctx, res.Op)
			if out != nil {
				out.Replayed = res.Replayed
			}
			return out, err
		}
	} else {
		// Running end of day twice is harmless, so it needs no key from the ECR.
		op.IdempotencyKey = "eod-" + op.ID
	}
	if left := s.ReconcileTerminal(ctx, terminal); left > 0 && !o.AllowUnknown {
		s.mu.Lock()
		ids := s.lanes[terminal].unknownIDs()
		s.mu.Unlock()
		return nil, &BusyError{Err: ErrTerminalBlocked, Terminal: terminal, RetryAfter: 30 * time.Second, Unknown: ids}
	}

	res, err := s.submit(ctx, submission{op: op, wait: c.Wait, allowUnknown: o.AllowUnknown})
	if err != nil {
		return nil, err
	}
	out, err := s.compare(ctx, res.Op)
	if out != nil {
		out.Replayed = res.Replayed
	}
	return out, err
}

// runEndOfDay is execute's branch for end of day: the report is kept on the
// operation so a past report can be read back.
func (s *Service) runEndOfDay(ctx context.Context, op *Operation) Outcome {
	s.mu.Lock()
	since := s.lanes[op.Terminal].lastEOD
	s.mu.Unlock()
	op.BatchSince = since
	rep, out := s.gw.EndOfDay(ctx, op)
	if out.Class == Approved && rep != nil {
		op.Report = rep
		op.BatchNo = rep.BatchNo
	}
	if out.Class == Unknown {
		// End of day cannot be queried, and running it again is harmless;
		// but iyzico may have closed the batch. Declined, safe to run again,
		// and a provisional batch boundary that the next end of day settles.
		out.Class = Declined
		op.BatchMaybeClosed = true
		if out.Error == nil {
			out.Error = &UpstreamError{Code: "eod_unknown", Message: "end of day did not answer; iyzico may have closed the batch; run it again"}
		}
	}
	return out
}

// compare builds the result of a stored end-of-day operation.
func (s *Service) compare(ctx context.Context, op *Operation) (*EndOfDayResult, error) {
	res := &EndOfDayResult{Op: op, Report: op.Report, Since: op.BatchSince}
	cur := s.opt.Currency
	res.Journal.Amount, res.Upstream.Amount = NewMoney(0, cur), NewMoney(0, cur)
	if op.State != StateApproved || op.Report == nil {
		return res, nil
	}
	for _, t := range op.Report.Totals {
		res.Upstream.Amount = NewMoney(res.Upstream.Amount.Minor()+t.Amount.Minor(), cur)
		res.Upstream.Count += t.Count
	}
	ops, err := s.batchOperations(ctx, op)
	if err != nil {
		return nil, err
	}
	res.Lines, res.Journal = batchTotals(ops, cur)
	res.Match = res.Journal == res.Upstream
	defer res.explain(cur)
	var provisional *Operation
	for _, o := range ops {
		if o.Kind == KindEndOfDay && o.BatchMaybeClosed && o.State.Final() {
			res.Unconfirmed = append(res.Unconfirmed, o.ID)
			provisional = o // ops are oldest first: the latest wins
		}
	}
	if provisional == nil {
		return res, nil
	}
	var after []*Operation
	for _, o := range ops {
		if o.CreatedAt.After(provisional.CreatedAt) {
			after = append(after, o)
		}
	}
	lines, since := batchTotals(after, cur)
	switch {
	case since == res.Upstream && !res.Match:
		res.Lines, res.Journal, res.Match, res.Since = lines, since, true, provisional.CreatedAt
		res.Boundary = "the end of day " + provisional.ID + " closed the batch although its answer was lost"
	case res.Match:
		res.Boundary = "the end of day " + provisional.ID + " did not close the batch (its answer was lost)"
	default:
		res.Boundary = "the batch spans an end of day whose answer was lost (" + provisional.ID + "): iyzico's totals match neither the span before it nor after it"
	}
	return res, nil
}

// explain lists the batch's unknown operations and what they could add were
// they approved, and says whether that would close the gap.
func (res *EndOfDayResult) explain(cur Currency) {
	var could int64
	n := 0
	res.Unknown = nil
	for _, l := range res.Lines {
		if l.State != StateUnknown {
			continue
		}
		res.Unknown = append(res.Unknown, l)
		if l.Kind == KindRefund {
			could -= l.Amount.Minor()
		} else if l.Kind.Charges() {
			could += l.Amount.Minor()
		} else {
			continue
		}
		n++
	}
	res.UnknownCould = Totals{Amount: NewMoney(could, cur), Count: n}
	if !res.Match && len(res.Unknown) > 0 {
		diff := res.Upstream.Amount.Minor() - res.Journal.Amount.Minor()
		dn := res.Upstream.Count - res.Journal.Count
		res.Explained = dn >= 0 && dn <= n && (diff == 0 || (diff > 0) == (could > 0)) && abs(diff) <= abs(could)
	}
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// batchTotals sums what each operation adds to the card batch.
func batchTotals(ops []*Operation, cur Currency) ([]BatchLine, Totals) {
	var lines []BatchLine
	var sum int64
	count := 0
	for _, o := range ops {
		if o.Kind == KindEndOfDay {
			continue
		}
		l := batchLine(o)
		if l.Counted {
			sum += l.Signed
			count++
		}
		lines = append(lines, l)
	}
	return lines, Totals{Amount: NewMoney(sum, cur), Count: count}
}

// batchOperations lists the terminal's operations between the previous end
// of day and this one.
func (s *Service) batchOperations(ctx context.Context, eod *Operation) ([]*Operation, error) {
	var out []*Operation
	f := Filter{Terminal: eod.Terminal, From: eod.BatchSince, To: eod.CreatedAt, Limit: 1000}
	for {
		page, next, err := s.j.List(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, o := range page {
			if o.ID == eod.ID || !o.CreatedAt.After(eod.BatchSince) || o.CreatedAt.After(eod.CreatedAt) {
				continue
			}
			out = append(out, o)
		}
		if next == "" {
			slices.SortFunc(out, func(a, b *Operation) int { return a.CreatedAt.Compare(b.CreatedAt) })
			return out, nil
		}
		f.Cursor = next
	}
}

// batchLine says what an operation adds to the batch, the way the acquirer
// counts it: approved card sales, captures and split parts that were not
// voided, less approved refunds. Cash, pre-auths, voids themselves and
// anything not approved add nothing.
func batchLine(o *Operation) BatchLine {
	l := BatchLine{OpID: o.ID, Kind: o.Kind, State: o.State, Amount: o.Amount, PaymentID: o.PaymentID}
	switch {
	case o.State != StateApproved:
		l.Note = "not approved: " + string(o.State.Status())
		if o.State == StateUnknown {
			l.Note = "unknown: outcome not settled"
		}
	case o.Kind == KindSale && o.PaymentType == "CASH":
		l.Note = "cash: not in the card batch"
	case o.Kind.Charges():
		if o.Voided {
			l.Note = "voided"
			break
		}
		l.Signed, l.Counted = o.Amount.Minor(), true
	case o.Kind == KindRefund && o.PaymentType == "CASH":
		l.Note = "refund of a cash sale: not in the card batch"
	case o.Kind == KindRefund:
		l.Signed, l.Counted = -o.Amount.Minor(), true
	case o.Kind == KindPreAuth:
		l.Note = "pre-auth: not captured"
	case o.Kind == KindSplitComplete:
		l.Note = "split sale completion: counted through its parts"
	default:
		l.Note = fmt.Sprintf("%s: moves no batch money", o.Kind)
	}
	return l
}

// LastEndOfDay returns the most recent end-of-day result of a terminal.
func (s *Service) LastEndOfDay(ctx context.Context, terminal string) (*EndOfDayResult, error) {
	ops, _, err := s.j.List(ctx, Filter{Terminal: terminal, Kinds: []Kind{KindEndOfDay}, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		return nil, ErrNotFound
	}
	return s.compare(ctx, ops[0])
}

// EndOfDays returns a terminal's past end-of-day results, newest first.
func (s *Service) EndOfDays(ctx context.Context, terminal string, limit int) ([]*EndOfDayResult, error) {
	ops, _, err := s.j.List(ctx, Filter{Terminal: terminal, Kinds: []Kind{KindEndOfDay}, Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]*EndOfDayResult, 0, len(ops))
	for _, op := range ops {
		r, err := s.compare(ctx, op)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// EndOfDayByID returns one stored end-of-day result.
func (s *Service) EndOfDayByID(ctx context.Context, id string) (*EndOfDayResult, error) {
	op, err := s.j.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if op.Kind != KindEndOfDay {
		return nil, ErrNotFound.Withf("%s is not an end of day", id)
	}
	return s.compare(ctx, op)
}
