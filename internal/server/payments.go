package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/bridgedpos/bridged/internal/apitype"
	"github.com/bridgedpos/bridged/internal/idempotency"
	"github.com/bridgedpos/bridged/internal/payment"
)

// Service is what the handlers need from the payment core; *payment.Service
// implements it.
type Service interface {
	Mode() payment.Mode
	Pay(ctx context.Context, c payment.Caller, r payment.SaleRequest) (*payment.Result, error)
	ValidateSale(c payment.Caller, r payment.SaleRequest) error
	Void(ctx context.Context, c payment.Caller, r payment.AdjustRequest) (*payment.Result, error)
	Refund(ctx context.Context, c payment.Caller, r payment.AdjustRequest) (*payment.Result, error)
	Cancel(ctx context.Context, c payment.Caller, r payment.AdjustRequest) (*payment.Result, error)
	Resolve(ctx context.Context, id string) (*payment.Operation, error)
	Get(ctx context.Context, id string) (*payment.Operation, error)
	Wait(ctx context.Context, id string, wait time.Duration) (*payment.Operation, error)
	List(ctx context.Context, f payment.Filter) ([]*payment.Operation, string, error)
	StartSplit(ctx context.Context, c payment.Caller, r payment.SaleRequest) (*payment.Result, error)
	AddSplitPayment(ctx context.Context, c payment.Caller, r payment.SplitPaymentRequest) (*payment.Result, error)
	CompleteSplit(ctx context.Context, c payment.Caller, splitID, reference string) (*payment.Result, error)
	CancelSplit(ctx context.Context, c payment.Caller, splitID, reference string) (*payment.SplitCancelResult, error)
	EndOfDay(ctx context.Context, c payment.Caller, terminal string, o payment.EndOfDayOptions) (*payment.EndOfDayResult, error)
	Settle(ctx context.Context, r payment.SettleRequest) (*payment.Operation, error)
	AcknowledgeConflict(ctx context.Context, r payment.AcknowledgeRequest) (*payment.Operation, error)
	Conflicts() []*payment.Operation
	EndOfDays(ctx context.Context, terminal string, limit int) ([]*payment.EndOfDayResult, error)
	EndOfDayByID(ctx context.Context, id string) (*payment.EndOfDayResult, error)
	LastEndOfDay(ctx context.Context, terminal string) (*payment.EndOfDayResult, error)
	Terminals() []payment.TerminalState
	Events(ctx context.Context, afterSeq uint64, limit int) ([]payment.Event, error)
	Changed() <-chan struct{}
	Health() error
}

// maxWait caps Prefer: wait, so no request holds a connection for long.
const maxWait = 10 * time.Minute

// caller builds the idempotency scope and wait of a money call.
func (s *server) caller(r *http.Request) payment.Caller {
	wait := s.preferenceOf(r).wait
	name := ""
	if p := principalOf(r); p != nil {
		name = p.name
	}
	return payment.Caller{Client: name, IdempotencyKey: idempotencyKey(r), Wait: wait}
}

// referenceOrKey is a money call's reference: the body's, or else its
// Idempotency-Key header, so that every operation (a void keyed by header
// only among them) shows one and can be found by it.
func referenceOrKey(r *http.Request, ref string) string {
	if ref != "" {
		return ref
	}
	if k := idempotencyKey(r); idempotency.CheckKey(k) == nil {
		return k
	}
	return ""
}

// idempotencyKey reads the header, which the IETF draft makes a structured
// field string ("abc"); a bare token is accepted too. Only HTTP's own
// whitespace is trimmed: any other byte stays, for CheckKey to refuse, so
// that two different headers never name the same key.
func idempotencyKey(r *http.Request) string {
	k := strings.Trim(r.Header.Get("Idempotency-Key"), " \t")
	if len(k) >= 2 && k[0] == '"' && k[len(k)-1] == '"' {
		k = k[1 : len(k)-1]
	}
	return k
}

// preference is a request's RFC 7240 Prefer, read once (s.prefer): how
// long a money call waits, and what Preference-Applied says ("" when the
// request stated none).
type preference struct {
	wait    time.Duration
	applied string
}

// prefer reads Prefer once for every /v1 call; preferenceOf hands it out.
func (s *server) prefer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wait, applied := s.preferWait(r)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxPreference, preference{wait: wait, applied: applied})))
	})
}

// preferenceOf is the request's preference as s.prefer read it; a route
// outside /v1 (none takes money today) reads the header itself, so that it
// can never fall back to a wait of zero instead of api.default_wait.
func (s *server) preferenceOf(r *http.Request) preference {
	if p, ok := r.Context().Value(ctxPreference).(preference); ok {
		return p
	}
	wait, applied := s.preferWait(r)
	return preference{wait: wait, applied: applied}
}

// preferWait reads RFC 7240 Prefer: respond-async (answer at once) and
// wait=N (seconds). Without either, money calls wait api.default_wait. It
// also returns the preference it applied, for Preference-Applied.
func (s *server) preferWait(r *http.Request) (time.Duration, string) {
	wait, applied := s.defaultWait, ""
	for _, h := range r.Header.Values("Prefer") {
		for _, pref := range strings.Split(h, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(pref), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "respond-async":
				return 0, "respond-async"
			case "wait":
				if n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(val), `"`)); err == nil && n >= 0 {
					// Capped before the multiplication: a huge n would overflow into a negative wait.
					wait = time.Duration(min(n, int(maxWait/time.Second))) * time.Second
					applied = "wait=" + strconv.Itoa(int(wait/time.Second))
				}
			}
		}
	}
	return wait, applied
}

// result answers a money call: its error goes to the one writer (the
// handler returns it), its result to writeResult.
func (s *server) result(w http.ResponseWriter, r *http.Request, res *payment.Result, err error) error {
	if err != nil {
		return err
	}
	s.writeResult(w, r, res)
	return nil
}

// writeResult answers a money call: 201 when final, 202 with Location and
// Retry-After while pending or unknown. A replay says so.
func (s *server) writeResult(w http.ResponseWriter, r *http.Request, res *payment.Result) {
	if res.Busy() {
		// iyzico said the device was busy: nothing moved and the key was
		// given back; the same request, with the same key, comes again later.
		w.Header().Set("Retry-After", "3")
		writeProblem(w, r, http.StatusConflict, "terminal_busy", "Terminal busy",
			"the card terminal is busy with another operation (iyzico 380201); nothing was charged; send the same request again after Retry-After seconds")
		return
	}
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	if applied := s.preferenceOf(r).applied; applied != "" {
		w.Header().Set("Preference-Applied", applied)
	}
	loc := "/v1/payments/" + res.Op.ID
	w.Header().Set("Location", loc)
	if !res.Final {
		w.Header().Set("Retry-After", retryAfterFor(res.Op))
		writeJSON(w, http.StatusAccepted, viewOf(res.Op))
		return
	}
	writeJSON(w, http.StatusCreated, viewOf(res.Op))
}

func retryAfterFor(op *payment.Operation) string {
	if op.State == payment.StateUnknown {
		return "5" // bridged is querying iyzico; the answer may take a while
	}
	return "2"
}

// saleFields decodes the body of a sale or split start.
func saleFields(o *object) payment.SaleRequest {
	var req payment.SaleRequest
	var typ string
	o.str("type", &typ)
	req.Type = payment.Kind(typ)
	o.amount("amount", &req.Amount)
	o.str("currency", &req.Currency)
	o.integer("installment", &req.Installment)
	o.str("terminal", &req.Terminal)
	o.str("reference", &req.Reference)
	o.str("payment_id", &req.PaymentID)
	o.str("payment_type", &req.PaymentType)
	o.str("document_type", &req.DocumentType)
	o.array("items", func(_ int, c *object) {
		var it payment.ItemRequest
		c.str("name", &it.Name)
		c.integer("quantity", &it.Quantity)
		c.amount("unit_price", &it.UnitPrice)
		c.amount("total", &it.Total)
		c.str("unit_code", &it.UnitCode)
		c.str("tax_group_code", &it.TaxGroupCode)
		req.Items = append(req.Items, it)
	})
	o.objectField("buyer", func(c *object) {
		b := &payment.Buyer{}
		c.integer("customer_type", &b.CustomerType)
		c.str("first_name", &b.FirstName)
		c.str("middle_name", &b.MiddleName)
		c.str("family_name", &b.FamilyName)
		c.str("company_name", &b.CompanyName)
		c.str("tax_office_code", &b.TaxOfficeCode)
		c.str("tax_number", &b.TaxNumber)
		c.str("country", &b.Country)
		c.str("city", &b.City)
		c.str("district", &b.District)
		req.Buyer = b
	})
	o.done()
	return req
}

// saleRequest decodes a sale body. When decoding finds problems, the
// domain's own checks run too, so the answer lists every problem at once.
func (s *server) saleRequest(w http.ResponseWriter, r *http.Request) (payment.SaleRequest, error) {
	o, err := readObject(w, r)
	if err != nil {
		return payment.SaleRequest{}, err
	}
	req := saleFields(o)
	req.Reference = referenceOrKey(r, req.Reference)
	derr := o.err()
	if derr == nil {
		return req, nil
	}
	decoded := map[string]bool{}
	for _, p := range *o.problems {
		decoded[p.Field] = true
	}
	var ve *payment.ValidationError
	if errors.As(s.svc.ValidateSale(s.caller(r), req), &ve) {
		for _, p := range ve.Problems {
			if !decoded[p.Field] {
				*o.problems = append(*o.problems, p)
			}
		}
	}
	return req, o.err()
}

func (s *server) handleCreatePayment(w http.ResponseWriter, r *http.Request) error {
	req, err := s.saleRequest(w, r)
	if err != nil {
		return err
	}
	res, err := s.svc.Pay(r.Context(), s.caller(r), req)
	return s.result(w, r, res, err)
}

func (s *server) handleGetPayment(w http.ResponseWriter, r *http.Request) error {
	pref := s.preferenceOf(r)
	wait := pref.wait
	if pref.applied == "" {
		wait = 0 // a GET waits only when asked to (long poll)
	} else {
		w.Header().Set("Preference-Applied", pref.applied)
	}
	op, err := s.svc.Wait(r.Context(), chi.URLParam(r, "id"), wait)
	if err != nil {
		return err
	}
	if !op.State.Final() {
		w.Header().Set("Retry-After", retryAfterFor(op))
	}
	writeJSON(w, http.StatusOK, viewOf(op))
	return nil
}

func (s *server) handleListPayments(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := payment.Filter{Status: payment.Status(q.Get("status")), Terminal: q.Get("terminal"), Reference: q.Get("reference"), Cursor: q.Get("cursor")}
	ve := &payment.ValidationError{}
	for _, k := range []string{"status", "terminal", "reference", "cursor", "from", "to", "limit", "type"} {
		if len(q[k]) > 1 {
			ve.Problems = append(ve.Problems, payment.FieldProblem{Field: k, Message: "may be given once"})
		}
	}
	for k := range q {
		switch k {
		case "status", "terminal", "reference", "cursor", "from", "to", "limit", "type":
		default:
			ve.Problems = append(ve.Problems, payment.FieldProblem{Field: k, Message: "is not a known query parameter"})
		}
	}
	parseTime := func(name string, dst *time.Time) {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				ve.Problems = append(ve.Problems, payment.FieldProblem{Field: name, Message: "must be an RFC 3339 time like 2026-11-23T10:00:00Z"})
			}
			*dst = t
		}
	}
	parseTime("from", &f.From)
	parseTime("to", &f.To)
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			ve.Problems = append(ve.Problems, payment.FieldProblem{Field: "limit", Message: "must be from 1 to 1000"})
		}
		f.Limit = n
	}
	if v := q.Get("type"); v != "" {
		f.Kinds = []payment.Kind{payment.Kind(v)}
	}
	if len(ve.Problems) > 0 {
		return ve
	}
	ops, next, err := s.svc.List(r.Context(), f)
	if err != nil {
		return err
	}
	list := apitype.PaymentList{Items: make([]apitype.Payment, len(ops)), NextCursor: next}
	for i, op := range ops {
		list.Items[i] = viewOf(op)
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

// adjustFields decodes a void, refund or cancel body.
func (s *server) adjustFields(w http.ResponseWriter, r *http.Request, allowAmount bool) (payment.AdjustRequest, error) {
	req := payment.AdjustRequest{PaymentID: chi.URLParam(r, "id")}
	err := decodeObject(w, r, func(o *object) {
		o.str("reference", &req.Reference)
		o.str("reason", &req.Reason)
		if allowAmount {
			o.amount("amount", &req.Amount)
			o.array("lines", func(_ int, c *object) {
				var l payment.RefundLineRequest
				c.str("line_id", &l.LineID)
				c.integer("quantity", &l.Quantity)
				c.amount("amount", &l.Amount)
				req.Lines = append(req.Lines, l)
			})
		}
	})
	req.Reference = referenceOrKey(r, req.Reference)
	return req, err
}

func (s *server) adjust(fn func(context.Context, payment.Caller, payment.AdjustRequest) (*payment.Result, error), allowAmount bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		req, err := s.adjustFields(w, r, allowAmount)
		if err != nil {
			return err
		}
		res, err := fn(r.Context(), s.caller(r), req)
		return s.result(w, r, res, err)
	}
}

func (s *server) handleResolve(w http.ResponseWriter, r *http.Request) error {
	op, err := s.svc.Resolve(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewOf(op))
	return nil
}

// handleSettle settles an unknown on an operator's evidence (operate scope).
func (s *server) handleSettle(w http.ResponseWriter, r *http.Request) error {
	req := payment.SettleRequest{ID: chi.URLParam(r, "id")}
	if err := decodeObject(w, r, func(o *object) {
		o.str("outcome", &req.Outcome)
		o.str("evidence", &req.Evidence)
		o.str("by", &req.By)
		o.str("payment_id", &req.PaymentID)
		o.str("payment_date", &req.PaymentDate)
	}); err != nil {
		return err
	}
	op, err := s.svc.Settle(r.Context(), req)
	if err != nil {
		return err
	}
	s.log.Warn().Str("op_id", op.ID).Str("client", s.caller(r).Client).Str("by", req.By).Str("outcome", req.Outcome).
		Str("request_id", requestIDOf(r)).Msg("operator settlement")
	writeJSON(w, http.StatusOK, viewOf(op))
	return nil
}

// handleAcknowledgeConflict closes a conflict (operate scope).
func (s *server) handleAcknowledgeConflict(w http.ResponseWriter, r *http.Request) error {
	req := payment.AcknowledgeRequest{ID: chi.URLParam(r, "id")}
	if err := decodeObject(w, r, func(o *object) {
		o.str("by", &req.By)
		o.str("note", &req.Note)
	}); err != nil {
		return err
	}
	op, err := s.svc.AcknowledgeConflict(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewOf(op))
	return nil
}

func (s *server) handleStartSplit(w http.ResponseWriter, r *http.Request) error {
	req, err := s.saleRequest(w, r)
	if err != nil {
		return err
	}
	res, err := s.svc.StartSplit(r.Context(), s.caller(r), req)
	return s.result(w, r, res, err)
}

func (s *server) handleAddSplitPayment(w http.ResponseWriter, r *http.Request) error {
	req := payment.SplitPaymentRequest{SplitID: chi.URLParam(r, "id")}
	if err := decodeObject(w, r, func(o *object) {
		o.amount("amount", &req.Amount)
		o.integer("installment", &req.Installment)
		o.str("reference", &req.Reference)
	}); err != nil {
		return err
	}
	req.Reference = referenceOrKey(r, req.Reference)
	res, err := s.svc.AddSplitPayment(r.Context(), s.caller(r), req)
	return s.result(w, r, res, err)
}

func (s *server) handleCompleteSplit(w http.ResponseWriter, r *http.Request) error {
	reference, err := referenceField(w, r)
	if err != nil {
		return err
	}
	res, err := s.svc.CompleteSplit(r.Context(), s.caller(r), chi.URLParam(r, "id"), referenceOrKey(r, reference))
	return s.result(w, r, res, err)
}

// handleCancelSplit gives back the money of a split sale never completed.
func (s *server) handleCancelSplit(w http.ResponseWriter, r *http.Request) error {
	reference, err := referenceField(w, r)
	if err != nil {
		return err
	}
	res, err := s.svc.CancelSplit(r.Context(), s.caller(r), chi.URLParam(r, "id"), reference)
	if err != nil {
		return err
	}
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Location", "/v1/payments/"+res.Start.ID)
	status := http.StatusCreated
	if !res.Final {
		status = http.StatusAccepted
		w.Header().Set("Retry-After", "5")
	}
	writeJSON(w, status, splitCancelViewOf(res))
	return nil
}

// referenceField decodes a body whose one field is reference (complete and
// cancel a split sale).
func referenceField(w http.ResponseWriter, r *http.Request) (string, error) {
	var reference string
	err := decodeObject(w, r, func(o *object) { o.str("reference", &reference) })
	return reference, err
}

// decodeObject reads the body and decodes its fields with fields: every
// problem (an unknown field, a wrong type) comes back as one error.
func decodeObject(w http.ResponseWriter, r *http.Request, fields func(o *object)) error {
	o, err := readObject(w, r)
	if err != nil {
		return err
	}
	fields(o)
	o.done()
	return o.err()
}
