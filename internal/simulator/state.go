package simulator

import (
	"fmt"
	"strconv"
	"time"
)

// The state iyzico holds, per device: the operations by reference, the payments
// they made, and the open batch. Everything here is guarded by Sim.mu; a device
// is additionally held (device.busy) for the whole of one operation, card wait
// included, so that one device runs one operation at a time.

type device struct {
	id    string
	index int // position in Config.Devices: stable bank terminal ids
	busy  bool
	batch int                   // the open batch; end of day closes it and opens the next
	ops   map[string]*operation // the latest operation under each transactionReferenceId
	log   []*operation          // every operation, in order: end of day reads it
}

func newDevice(id string, index int) *device {
	return &device{id: id, index: index, batch: 1, ops: map[string]*operation{}}
}

// opKind is what an operation did.
type opKind int

const (
	kindSale            opKind = iota + 1 // VUK 509 SALE, VUK 507 sale
	kindPreAuth                           // VUK 509 PRE_AUTH: holds, charges nothing yet
	kindPostAuth                          // VUK 509 POST_AUTH: captures a pre-auth
	kindVoid                              // both APIs
	kindRefund                            // both APIs
	kindPartialStart                      // VUK 507 partial payment
	kindPartialAdd                        // VUK 507: one card part of a split sale
	kindPartialComplete                   // VUK 507: the split sale's fiscal record
)

func (k opKind) String() string {
	switch k {
	case kindSale:
		return "sale"
	case kindPreAuth:
		return "pre_auth"
	case kindPostAuth:
		return "post_auth"
	case kindVoid:
		return "void"
	case kindRefund:
		return "refund"
	case kindPartialStart:
		return "partial_start"
	case kindPartialAdd:
		return "partial_payment"
	case kindPartialComplete:
		return "split_sale"
	}
	return "unknown"
}

// operation is one call that reached the device (or was refused by business
// rules after taking it), as a later query by its reference finds it.
type operation struct {
	kind        opKind
	fam         family
	ref         string
	device      *device
	at          time.Time
	batch       int
	err         *apiError // nil: approved
	amount      amount    // its own amount: sale, capture, void, refund, part
	currency    string
	installment int64
	payment     *payment // the payment it made or acted on; nil for a declined sale
	split       *split   // partial-payment steps
	auth        hostAuth // approval data of this operation (approved only)
	vat         amount   // VUK 507 refund
	invoiceNo   string   // VUK 507 refund
	reply       reply    // the answer given, replayed under DuplicateReplay
	hidden      bool     // .61: charged, but its record shows the 380103 answered (recordLocked)
}

// hostAuth is the bank's approval data of one operation.
type hostAuth struct{ authCode, hostRef, stan string }

// payment is what a paymentId names.
type payment struct {
	id          string
	fam         family
	kind        opKind // kindSale, kindPreAuth, kindPartialAdd (a part), kindPartialComplete (a split sale)
	device      *device
	origin      *operation // the operation that made it: a query by paymentId alone shows it
	date        string     // paymentDate, YYYYMMDD
	amount      amount     // charged; for an uncaptured pre-auth, held
	currency    string
	installment int64
	cash        bool  // VUK 507 paymentType CASH: no card, no acquirer
	card        *card // nil for cash
	acq         *acquirer
	auth        hostAuth
	captured    bool   // a pre-auth closed by POST_AUTH
	batch       int    // batch of its last money movement
	movedOn     string // date of that movement: the same-day void rule
	voided      bool
	cancelRef   string // host reference of the void
	refunded    amount
	refundRef   string // host reference of the latest refund
	lines       []*line
	saleNumber  string
	saleUID     string
	parts       []*payment // a split sale's card parts
	split       *split     // a part's flow
}

// refundable is what is left to refund.
func (p *payment) refundable() amount {
	if p.voided {
		return 0
	}
	return p.amount - p.refunded
}

// line is one VUK 507 sale line with what has been returned of it.
type line struct {
	id                           int // the refundable-sale-info "id": unique in the Sim, not a position
	name, unitCode, taxGroupCode string
	generic                      bool
	quantity                     int64
	unitPrice, grossPrice, total amount
	returnedQty                  int64
	returned                     amount
}

// split is a VUK 507 partial-payment flow, from start to complete.
type split struct {
	saleNumber  string
	device      *device
	price       amount
	remaining   amount
	currency    string
	installment int64
	lines       []*line
	parts       []*payment
	start       *operation
	sale        *payment // set by complete
}

// record stores an operation under its reference (when it has one).
func (d *device) record(op *operation) {
	if op.ref != "" {
		d.ops[op.ref] = op
	}
	d.log = append(d.log, op)
}

func (d *device) batchNo(n int) string { return fmt.Sprintf("%04d", n) }

// nextLocked draws the next sequence number; ids are deterministic per Sim.
func (s *Sim) nextLocked() int64 {
	s.seq++
	return s.seq
}

func (s *Sim) newPaymentIDLocked() string { return strconv.FormatInt(40000000+s.nextLocked(), 10) }

func (s *Sim) hostAuthLocked() hostAuth {
	n := s.nextLocked()
	return hostAuth{
		authCode: fmt.Sprintf("%06d", (n*7919)%1000000),
		hostRef:  fmt.Sprintf("%012d", 600000000000+n),
		stan:     fmt.Sprintf("%06d", n%1000000),
	}
}

func dateOf(t time.Time) string { return t.Format("20060102") }

// withDevice runs fn while holding the device: 380101 for an unknown device,
// 380201 when it is busy with another operation (or a FaultDeviceBusy says so).
func (s *Sim) withDevice(c *call, id string, fn func(*device) reply) reply {
	s.mu.Lock()
	d := s.devices[id]
	s.mu.Unlock()
	if d == nil {
		return s.fail(c, errDeviceNotFound(c.user))
	}
	if f, ok := s.faults.take(FaultDeviceBusy, c.op, id); ok {
		c.faults = append(c.faults, string(f.Kind))
		return s.fail(c, errDeviceBusy())
	}
	s.mu.Lock()
	if d.busy {
		s.mu.Unlock()
		return s.fail(c, errDeviceBusy())
	}
	d.busy = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		d.busy = false
		s.mu.Unlock()
	}()
	return fn(d)
}

// cardStep runs an operation on a device that may wait for a card, on the
// device as withDevice holds it. Under the lock, a reference already used on
// the device answers as before (duplicateLocked), then check says whether the
// operation may go on; wait runs without the lock (the card, or nothing) and
// reports false when the caller went away; apply runs under the lock and
// answers.
func (s *Sim) cardStep(c *call, deviceID, ref string, check func(d *device) *apiError, wait func(d *device) bool, apply func(d *device) reply) reply {
	return s.withDevice(c, deviceID, func(d *device) reply {
		s.mu.Lock()
		if rep, done := s.duplicateLocked(c, d, ref); done {
			s.mu.Unlock()
			return rep
		}
		e := check(d)
		s.mu.Unlock()
		if e != nil {
			return s.fail(c, e)
		}
		if !wait(d) {
			return reply{abandoned: true}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return apply(d)
	})
}

// duplicateLocked applies Config.DuplicateReferences when ref was used on d
// before. It reports whether the call is answered.
func (s *Sim) duplicateLocked(c *call, d *device, ref string) (reply, bool) {
	prev := d.ops[ref]
	if ref == "" || prev == nil {
		return reply{}, false
	}
	switch s.cfg.DuplicateReferences {
	case DuplicateReplay:
		return prev.reply, true
	case DuplicateCharge:
		return reply{}, false
	}
	return s.fail(c, errDuplicateReference(ref)), true
}

// findOpLocked resolves a query: by paymentId (its creating operation, or with a
// reference the operation of that payment named by it), or by reference on a
// device (or on any device when none is named and the reference is unambiguous).
func (s *Sim) findOpLocked(fam family, paymentID, deviceID, ref string, user string) (*operation, *apiError) {
	if deviceID != "" && s.devices[deviceID] == nil {
		return nil, errDeviceNotFound(user)
	}
	if paymentID != "" {
		p := s.payments[paymentID]
		if p == nil || p.fam != fam || (deviceID != "" && p.device.id != deviceID) {
			return nil, errPaymentNotFound(paymentID)
		}
		if ref == "" {
			return p.origin, nil
		}
		op := p.device.ops[ref]
		if op == nil || !op.concerns(p) {
			return nil, errReferenceNotFound(ref)
		}
		return op, nil
	}
	var found []*operation
	for _, d := range s.devices {
		if deviceID != "" && d.id != deviceID {
			continue
		}
		if op := d.ops[ref]; op != nil && op.fam == fam {
			found = append(found, op)
		}
	}
	switch len(found) {
	case 0:
		return nil, errReferenceNotFound(ref)
	case 1:
		return found[0], nil
	}
	return nil, errValidation("deviceUniqueId: required, transactionReferenceId " + ref + " is used on several devices")
}

// concerns reports whether op acted on p (or on the split sale p belongs to).
func (op *operation) concerns(p *payment) bool {
	if op.payment == p {
		return true
	}
	return op.split != nil && op.split.sale == p
}

// lookupLocked finds the payment a void or refund names: same API, same device,
// same paymentDate; anything else is "not found" (380107), as a (paymentId,
// paymentDate) pair that does not match is, for iyzico, no payment at all.
func (s *Sim) lookupLocked(fam family, d *device, paymentID, date string) (*payment, *apiError) {
	p := s.payments[paymentID]
	if p == nil || p.fam != fam || p.device != d || p.date != date {
		return nil, errPaymentNotFound(paymentID)
	}
	return p, nil
}

// voidableLocked applies the void rules: the whole payment, same day and same
// batch (before end of day), not voided or refunded before.
func (s *Sim) voidableLocked(p *payment) *apiError {
	today := dateOf(s.now())
	switch {
	case p.kind == kindPartialAdd && (p.split == nil || p.split.sale != nil):
		// A part of a completed split sale is voided with its sale. A part of
		// one never completed can be voided alone (open question 14's
		// reading: an abandoned split sale's money must be returnable).
		return errNotAllowed("a partial payment is voided with its sale (saleNumber " + p.saleNumber + ")")
	case p.voided:
		return errAmountNotAvailable("payment " + p.id + " is already voided")
	case p.refunded > 0:
		return errNotAllowed("payment " + p.id + " has refunds; refund the rest instead")
	case p.batch != p.device.batch:
		return errVoidNotAllowed("end of day has closed its batch")
	case p.movedOn != today:
		return errVoidNotAllowed("it was not made today")
	}
	for _, part := range p.parts {
		if part.batch != p.device.batch {
			return errVoidNotAllowed("end of day has closed the batch of one of its payments")
		}
	}
	return nil
}

// voidLocked marks p (and a split sale's parts) voided.
func (p *payment) voidLocked(hostRef string) {
	p.voided, p.cancelRef = true, hostRef
	for _, part := range p.parts {
		part.voided, part.cancelRef = true, hostRef
	}
}
