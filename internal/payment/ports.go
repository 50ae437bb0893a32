package payment

import (
	"context"
	"time"
)

// Journal is the durable record of every operation. internal/store implements
// it on bbolt. Every method that writes commits (fsync) before it returns; an
// error from a write means the write may not be durable, and the service stops
// taking new money operations (fail closed).
type Journal interface {
	// Begin journals a new operation (in state sending, with its intent) and
	// indexes it by (Client, IdempotencyKey), reference, terminal and day, in
	// one durable commit. If the idempotency key is already taken it writes
	// nothing and returns the existing operation and ErrDuplicateKey.
	Begin(ctx context.Context, op *Operation) (*Operation, error)
	// Record stores a new state of an existing operation and appends a journal
	// entry for it (hash-chained to the previous entry), and applies effects
	// to other operations (a void to its payment, a refund to its payment's
	// refunded amount, a capture to its pre-auth) in the same durable commit.
	// A stored final state is never overwritten: when the stored operation is
	// final already, Record writes nothing and returns a *FinalError holding
	// it, so an effect is applied exactly once. When op is approved with a
	// paymentId that another, unrelated operation owns already, Record writes
	// nothing and returns a *PaymentIDConflictError. When op.KeyReleased is
	// set, its idempotency key is forgotten in the same commit.
	Record(ctx context.Context, op *Operation, effects ...Effect) error
	// Update applies fn to the stored operation and records the result in one
	// durable commit (read-modify-write without a lost update).
	Update(ctx context.Context, id string, fn func(op *Operation) error) (*Operation, error)
	// Get returns one operation by id, or ErrNotFound.
	Get(ctx context.Context, id string) (*Operation, error)
	// ByPaymentID returns the operations that own iyzico's paymentId (their
	// own approval carried it: sales, pre- and post-auths, split parts and
	// completions; not the voids and refunds that name it), oldest first.
	ByPaymentID(ctx context.Context, paymentID string) ([]*Operation, error)
	// ByKey returns the operation holding an idempotency key, or ErrNotFound.
	ByKey(ctx context.Context, client, key string) (*Operation, error)
	// List returns operations matching f, newest first, and a cursor for the next page.
	List(ctx context.Context, f Filter) ([]*Operation, string, error)
	// Open returns every operation that is not final (accepted, sending, unknown).
	Open(ctx context.Context) ([]*Operation, error)
	// Attention returns every operation that needs attention beyond the
	// reconciler's queue (Operation.Attention): settlements still watched,
	// conflicts not acknowledged.
	Attention(ctx context.Context) ([]*Operation, error)
	// Events returns up to limit journal entries after seq afterSeq, oldest
	// first: the feed of server-sent events (afterSeq is the Last-Event-ID).
	Events(ctx context.Context, afterSeq uint64, limit int) ([]Event, error)
	// TerminalHistory returns what the journal keeps of a terminal's past
	// for a start, at the same cost at any journal size.
	TerminalHistory(ctx context.Context, terminal string) (*TerminalHistory, error)
	// PruneKeys forgets the idempotency keys of a terminal's final operations
	// created before t. It never touches an operation that is not final; the
	// operations themselves are kept.
	PruneKeys(ctx context.Context, terminal string, before time.Time) (int, error)
}

// TerminalHistory is what a start needs of a terminal's past (Recover).
type TerminalHistory struct {
	// LastEndOfDay is its latest approved end of day, by creation time.
	LastEndOfDay *Operation
	// MaybeClosed is the latest final end of day after LastEndOfDay whose
	// answer was lost (BatchMaybeClosed): a provisional batch boundary.
	MaybeClosed *Operation
	// LastApproved is its latest approved money operation (Kind.MovesMoney),
	// by creation time: the control of the not-found rule.
	LastApproved *Operation
}

// Effect is a change that a recorded state makes to another operation,
// committed with it. Apply gets a fresh copy of the stored operation; it may
// run more than once (group commit), so it must only change the operation.
type Effect struct {
	ID    string
	Apply func(op *Operation) error
}

// Filter selects operations for List. Zero fields do not filter. From is
// inclusive, To exclusive; an unknown Status or a bad Cursor is a ValidationError.
type Filter struct {
	Kinds     []Kind
	Status    Status
	Terminal  string
	Reference string
	ParentID  string
	From, To  time.Time
	Cursor    string
	Limit     int
}

// Event is one journal entry: an operation as it was at one state change.
type Event struct {
	Seq   uint64
	At    time.Time
	OpID  string
	State State
	Op    *Operation
}

// Gateway sends operations to iyzico. internal/upstream implements it. Each
// call returns an Outcome; it never resends on its own after the request may
// have reached the device.
type Gateway interface {
	// Execute sends op (a money operation or a split step) upstream.
	Execute(ctx context.Context, op *Operation) Outcome
	// Query asks iyzico for the state of op by its device and transactionReferenceId.
	Query(ctx context.Context, op *Operation) Outcome
	// EndOfDay runs iyzico's end of day on a device.
	EndOfDay(ctx context.Context, op *Operation) (*EndOfDayReport, Outcome)
}

// Class is what an upstream answer proves.
type Class int

// The classes of upstream outcomes.
const (
	// Unknown: sent, and nothing proves what happened (timeout, cut
	// connection, 5xx after send, unparseable answer, device timeout).
	Unknown Class = iota
	// Approved: iyzico answered success.
	Approved
	// Declined: iyzico answered failure with a bank, payment, business or validation error.
	Declined
	// NotSent: refused before the device could act (connection refused,
	// auth failure on the request, terminal busy); certainly not charged.
	NotSent
	// NotFound: a query found no operation with that reference.
	NotFound
)

func (c Class) String() string {
	switch c {
	case Approved:
		return "approved"
	case Declined:
		return "declined"
	case NotSent:
		return "not_sent"
	case NotFound:
		return "not_found"
	}
	return "unknown"
}

// Outcome is the classified answer to one upstream call.
type Outcome struct {
	Class Class
	// Error is iyzico's error when it gave one (declines, refusals, some unknowns).
	Error *UpstreamError
	// Busy is set when a NotSent refusal was the device being busy (380201).
	Busy bool
	// Cause is the transport or protocol problem behind an Unknown or NotSent,
	// for the log only: it is never shown to the ECR.
	Cause error
	// Reason is upstream's own short, stable word for the class (timeout,
	// queried_timeout, refused_after_resend, ...): safe to show.
	Reason string
	// Named reports, for a query, whether the answer repeated the queried
	// transactionReferenceId. An answer that does not name it is believed only
	// when what it says matches the operation (Amount, Device).
	Named bool
	// Amount and Device are what a query's answer says of the transaction
	// (its price and deviceUniqueId), when it says it.
	Amount *Money
	Device string

	PaymentID   string
	PaymentDate string
	AuthCode    string
	HostRef     string
	BatchNo     string
	Card        *Card
	SaleNumber  string
	Lines       []SaleLine // VUK 507: the lines as iyzico recorded them, with their ids
	// Remaining is the unpaid part of a VUK 507 split sale, when known.
	Remaining *Money
	// Voided and Refunded come from queries of a sale.
	Voided bool
}

// EndOfDayReport is iyzico's end of day, per acquirer.
type EndOfDayReport struct {
	BatchNo       string
	ResultMessage string
	Totals        []AcquirerTotal
}

// AcquirerTotal is one acquirer's line of an end-of-day report.
type AcquirerTotal struct {
	AcquirerID   string
	AcquirerName string
	TerminalID   string
	BatchNo      string
	Amount       Money
	Count        int
	ResponseCode string
}

// Clock is the service's time source; tests inject their own.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now.
func (SystemClock) Now() time.Time { return time.Now() }
