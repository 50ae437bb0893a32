package server

import (
	"github.com/bridgedpos/bridged/internal/apitype"
	"github.com/bridgedpos/bridged/internal/apiview"
	"github.com/bridgedpos/bridged/internal/payment"
)

// viewOf is an operation as the ECR sees it (apiview owns the conversion,
// which the operator verbs share when they read the journal directly).
func viewOf(op *payment.Operation) apitype.Payment { return apiview.Payment(op) }

func terminalViewOf(t payment.TerminalState) apitype.Terminal {
	v := apitype.Terminal{ID: t.ID, DeviceUniqueID: t.DeviceUniqueID, State: t.State, BusyWith: t.BusyWith,
		Unknown: t.Unknown, Links: map[string]string{"end_of_day": "/v1/terminals/" + t.ID + "/end-of-day"}}
	if v.Unknown == nil {
		v.Unknown = []string{}
	}
	if !t.LastAnswer.IsZero() {
		at := t.LastAnswer.UTC()
		v.LastAnswer = &at
	}
	if !t.LastEndOfDay.IsZero() {
		at := t.LastEndOfDay.UTC()
		v.LastEndOfDay = &at
	}
	return v
}

func endOfDayViewOf(r *payment.EndOfDayResult) apitype.EndOfDay {
	op := r.Op
	v := apitype.EndOfDay{ID: op.ID, Terminal: op.Terminal, Status: string(op.State.Status()), CreatedAt: op.CreatedAt.UTC(),
		Match: r.Match, Journal: apitype.Totals{Amount: r.Journal.Amount.Decimal(), Count: r.Journal.Count},
		Upstream:  apitype.Totals{Amount: r.Upstream.Amount.Decimal(), Count: r.Upstream.Count},
		Acquirers: []apitype.Acquirer{}, Lines: []apitype.BatchLine{}, Unconfirmed: r.Unconfirmed, Boundary: r.Boundary}
	v.Error = apiview.Error(op.Error)
	if !r.Since.IsZero() {
		s := r.Since.UTC()
		v.Since = &s
	}
	if rep := r.Report; rep != nil {
		v.BatchNo, v.ResultMessage = rep.BatchNo, rep.ResultMessage
		for _, t := range rep.Totals {
			v.Acquirers = append(v.Acquirers, apitype.Acquirer{AcquirerID: t.AcquirerID, AcquirerName: t.AcquirerName,
				TerminalID: t.TerminalID, BatchNo: t.BatchNo, Amount: t.Amount.Decimal(), Count: t.Count, ResponseCode: t.ResponseCode})
		}
	}
	for _, l := range r.Lines {
		v.Lines = append(v.Lines, batchLineViewOf(l))
	}
	for _, l := range r.Unknown {
		v.Unknown = append(v.Unknown, batchLineViewOf(l))
	}
	if len(r.Unknown) > 0 {
		v.UnknownCould = &apitype.Totals{Amount: r.UnknownCould.Amount.Decimal(), Count: r.UnknownCould.Count}
		v.Explained = r.Explained
	}
	return v
}

func batchLineViewOf(l payment.BatchLine) apitype.BatchLine {
	return apitype.BatchLine{ID: l.OpID, Type: string(l.Kind), Status: string(l.State.Status()),
		Amount: l.Amount.Decimal(), Counted: l.Counted, Signed: payment.NewMoney(l.Signed, l.Amount.Currency()).Decimal(),
		Note: l.Note, PaymentID: l.PaymentID}
}

func splitCancelViewOf(r *payment.SplitCancelResult) apitype.SplitCancel {
	v := apitype.SplitCancel{Split: viewOf(r.Start), Parts: []apitype.SplitPart{}}
	switch {
	case !r.Final:
		v.Status = "pending"
	case r.Settled():
		v.Status = "cancelled"
	default:
		v.Status = "incomplete"
	}
	for _, p := range r.Parts {
		pv := apitype.SplitPart{Payment: viewOf(p.Part), Note: p.Note}
		if p.Void != nil {
			vv := viewOf(p.Void)
			pv.Void = &vv
		}
		v.Parts = append(v.Parts, pv)
	}
	return v
}

// fieldProblems are a validation error's problems as the API lists them.
func fieldProblems(ps []payment.FieldProblem) []apitype.FieldProblem {
	out := make([]apitype.FieldProblem, len(ps))
	for i, p := range ps {
		out[i] = apitype.FieldProblem{Field: p.Field, Message: p.Message}
	}
	return out
}
