package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/bridgedpos/bridged/internal/payment"
)

// ErrExists is returned by Begin for an operation id that is already journaled.
var ErrExists = errors.New("operation id already journaled")

// ErrImmutable is returned by Record and Update when the new state changes a
// field the indexes are built on (id, kind, client, key, reference, terminal,
// business day, parent, creation time). Such a change would make an index lie.
var ErrImmutable = errors.New("indexed field cannot change")

// Begin journals a new operation, its indexes and its first journal entry in
// one durable commit. When the idempotency key (Client, IdempotencyKey) is
// taken it writes nothing and returns the holder and payment.ErrDuplicateKey.
// An empty IdempotencyKey is not indexed (end of day has none). A zero
// CreatedAt is set to the store's clock, a zero UpdatedAt to CreatedAt; op
// itself is never modified, and the returned operation is the one stored.
func (s *Store) Begin(ctx context.Context, op *payment.Operation) (*payment.Operation, error) {
	if err := validate(op); err != nil {
		return nil, err
	}
	now := s.now()
	rec := *op // shallow: only read by encodeOp
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = now
	}
	if rec.UpdatedAt.IsZero() {
		rec.UpdatedAt = rec.CreatedAt
	}
	record, err := encodeOp(&rec)
	if err != nil {
		return nil, err
	}
	id := []byte(op.ID)
	var existing *payment.Operation
	err = s.update(ctx, "begin "+op.ID, func(tx *bolt.Tx) error {
		existing = nil // the function may run again (commit.go)
		ops := bucket(tx, bucketOps)
		if op.IdempotencyKey != "" {
			if holder := tx.Bucket(bucketIdem).Get(idemKey(op.Client, op.IdempotencyKey)); holder != nil {
				v := ops.Get(holder)
				if v == nil {
					return fmt.Errorf("%w: idempotency key points to missing operation %s", ErrCorrupt, holder)
				}
				var err error
				if existing, _, err = decodeValue(v); err != nil {
					return err
				}
				return reject(fmt.Errorf("%w: held by operation %s", payment.ErrDuplicateKey, existing.ID))
			}
		}
		if ops.Get(id) != nil {
			return reject(fmt.Errorf("store: %w: %s", ErrExists, op.ID))
		}
		if op.ParentID != "" {
			// A child is journaled only while its parent is: an effect on
			// a parent archived meanwhile could never be recorded.
			if s.isFrozen(op.ParentID) {
				return reject(frozenErr(op.ParentID))
			}
			if ops.Get([]byte(op.ParentID)) == nil {
				return reject(fmt.Errorf("store: parent operation %s of %s: %w", op.ParentID, op.ID, payment.ErrNotFound))
			}
		}
		// The entry's time is taken under the writer lock: entry times follow seq.
		seq, err := appendEntry(tx, s.now(), op.ID, rec.State, record)
		if err != nil {
			return err
		}
		if err := ops.Put(id, appendOpValue(make([]byte, 0, 4+len(record)), []uint64{seq}, record)); err != nil {
			return err
		}
		if err := putIndexes(tx, &rec); err != nil {
			return err
		}
		return noteMarks(tx, nil, &rec)
	})
	if err != nil {
		if errors.Is(err, payment.ErrDuplicateKey) {
			return existing, err
		}
		return nil, err
	}
	return decodeOp(record)
}

// putIndexes writes every index entry of a new operation.
func putIndexes(tx *bolt.Tx, op *payment.Operation) error {
	id := []byte(op.ID)
	if op.IdempotencyKey != "" {
		if err := bucket(tx, bucketIdem).Put(idemKey(op.Client, op.IdempotencyKey), id); err != nil {
			return err
		}
	}
	if op.Reference != "" {
		if err := bucket(tx, bucketRef).Put(refKey(op.Reference, op.ID), nil); err != nil {
			return err
		}
	}
	if err := bucket(tx, bucketCreated).Put(createdKey(op.CreatedAt, op.ID), createdValue(string(op.Kind), op.Terminal)); err != nil {
		return err
	}
	if op.ParentID != "" {
		if err := tx.Bucket(bucketParent).Put(parentKey(op.ParentID, op.ID), nil); err != nil {
			return err
		}
	}
	if err := syncOpen(tx, op); err != nil {
		return err
	}
	return syncAttention(tx, op)
}

// syncAttention keeps idx_attention equal to the set of operations that
// need attention (payment.Operation.Attention).
func syncAttention(tx *bolt.Tx, op *payment.Operation) error {
	b := tx.Bucket(bucketAttention)
	if op.Attention() {
		return b.Put([]byte(op.ID), nil)
	}
	return b.Delete([]byte(op.ID))
}

// Attention returns every operation that needs attention beyond the
// reconciler's queue (payment.Operation.Attention), oldest first.
func (s *Store) Attention(ctx context.Context) ([]*payment.Operation, error) {
	var out []*payment.Operation
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAttention).ForEach(func(k, _ []byte) error {
			op, err := getOp(tx, string(k))
			if err != nil {
				return err
			}
			out = append(out, op)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	sortOldestFirst(out)
	return out, nil
}

// syncOpen keeps idx_open equal to the set of operations that are not final.
func syncOpen(tx *bolt.Tx, op *payment.Operation) error {
	b := tx.Bucket(bucketOpen)
	if op.State.Final() {
		return b.Delete([]byte(op.ID))
	}
	return b.Put([]byte(op.ID), nil)
}

// Record stores a new state of an existing operation, appends a journal
// entry for it, and applies effects to other operations, each with its own
// journal entry, in one durable commit. A zero CreatedAt keeps the stored
// one; any other change to an indexed field is refused with ErrImmutable.
//
// A final state is never overwritten: when the stored operation is final,
// nothing is written and a *payment.FinalError with the stored operation is
// returned, so two resolutions of one unknown never both apply their effect.
// An approval whose paymentId another unrelated operation owns is refused
// with a *payment.PaymentIDConflictError (ownsPaymentID, related). When
// op.KeyReleased is set the idempotency key is forgotten in the same commit.
func (s *Store) Record(ctx context.Context, op *payment.Operation, effects ...payment.Effect) error {
	if err := validate(op); err != nil {
		return err
	}
	return s.update(ctx, "record "+op.ID, func(tx *bolt.Tx) error {
		prev, val, err := loadForWrite(tx, op.ID)
		if err != nil {
			return err
		}
		if prev.State.Final() {
			return reject(&payment.FinalError{Stored: prev})
		}
		if _, err := s.recordTx(tx, prev, val.seqs, op); err != nil {
			return err
		}
		if op.KeyReleased && op.IdempotencyKey != "" {
			idem := tx.Bucket(bucketIdem)
			k := idemKey(op.Client, op.IdempotencyKey)
			if string(idem.Get(k)) == op.ID {
				if err := idem.Delete(k); err != nil {
					return err
				}
			}
		}
		for _, e := range effects {
			if err := s.applyEffect(tx, e); err != nil {
				return err
			}
		}
		return nil
	})
}

// applyEffect runs one effect on a fresh copy of its operation and records it.
func (s *Store) applyEffect(tx *bolt.Tx, e payment.Effect) error {
	prev, val, err := loadForWrite(tx, e.ID)
	if err != nil {
		return err
	}
	next := prev.Clone()
	if err := e.Apply(next); err != nil {
		return reject(err)
	}
	if err := validate(next); err != nil {
		return reject(err)
	}
	_, err = s.recordTx(tx, prev, val.seqs, next)
	return err
}

// Update is a read-modify-write of one operation in a single transaction:
// fn gets a fresh copy of the stored operation and changes it; the result is
// recorded as by Record and returned. Two Updates of the same operation never
// interleave, which a Get then Record can (two refunds settling at once would
// lose one addition to the parent's RefundedMinor). fn runs under the
// journal's writer lock: it must be quick and must never wait on the network.
// fn may run more than once, on a fresh copy each time, when a write grouped
// with it fails (commit.go): it must change op and nothing else. An error
// from fn aborts without writing and is returned as is.
func (s *Store) Update(ctx context.Context, id string, fn func(op *payment.Operation) error) (*payment.Operation, error) {
	var record []byte
	err := s.update(ctx, "update "+id, func(tx *bolt.Tx) error {
		prev, val, err := loadForWrite(tx, id)
		if err != nil {
			return err
		}
		next := prev.Clone()
		if err := fn(next); err != nil {
			return reject(err)
		}
		if err := validate(next); err != nil {
			return reject(err)
		}
		record, err = s.recordTx(tx, prev, val.seqs, next)
		return err
	})
	if err != nil {
		return nil, err
	}
	return decodeOp(record)
}

func loadForWrite(tx *bolt.Tx, id string) (*payment.Operation, opValue, error) {
	v := tx.Bucket(bucketOps).Get([]byte(id))
	if v == nil {
		return nil, opValue{}, reject(fmt.Errorf("store: operation %s: %w", id, payment.ErrNotFound))
	}
	return decodeValue(v)
}

// recordTx writes next over prev (whose journal entries are seqs), keeps
// the indexes and the terminal's marks in step and appends the journal
// entry. It returns the record bytes written.
func (s *Store) recordTx(tx *bolt.Tx, prev *payment.Operation, seqs []uint64, next *payment.Operation) ([]byte, error) {
	if next.CreatedAt.IsZero() {
		c := *next
		c.CreatedAt = prev.CreatedAt
		next = &c
	}
	if err := sameIdentity(prev, next); err != nil {
		return nil, reject(err)
	}
	if err := indexPaymentID(tx, prev, next); err != nil {
		return nil, err
	}
	record, err := encodeOp(next)
	if err != nil {
		return nil, err
	}
	seq, err := appendEntry(tx, s.now(), next.ID, next.State, record)
	if err != nil {
		return nil, err
	}
	v := appendOpValue(make([]byte, 0, 2+2*len(seqs)+2+len(record)), append(seqs, seq), record)
	if err := bucket(tx, bucketOps).Put([]byte(next.ID), v); err != nil {
		return nil, err
	}
	if prev.State.Final() != next.State.Final() {
		if err := syncOpen(tx, next); err != nil {
			return nil, err
		}
	}
	if prev.Attention() || next.Attention() {
		if err := syncAttention(tx, next); err != nil {
			return nil, err
		}
	}
	if err := noteMarks(tx, prev, next); err != nil {
		return nil, err
	}
	return record, nil
}

// ownsPaymentID reports whether op is an approval that owns its paymentId.
func ownsPaymentID(op *payment.Operation) bool {
	return op.PaymentID != "" && op.State == payment.StateApproved && op.Kind.OwnsPaymentID()
}

// indexPaymentID keeps idx_payment_id and refuses a paymentId owned by an
// unrelated operation: the same iyzico payment approved for two operations
// means one of the answers was about another transaction.
func indexPaymentID(tx *bolt.Tx, prev, next *payment.Operation) error {
	idx := bucket(tx, bucketPaymentID)
	if ownsPaymentID(prev) && (!ownsPaymentID(next) || prev.PaymentID != next.PaymentID) {
		if err := idx.Delete(paymentIDKey(prev.PaymentID, prev.ID)); err != nil {
			return err
		}
	}
	if !ownsPaymentID(next) || (ownsPaymentID(prev) && prev.PaymentID == next.PaymentID) {
		return nil
	}
	prefix := paymentIDPrefix(next.PaymentID)
	var owners []string
	c := idx.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		other := string(k[len(prefix):])
		if other == next.ID {
			continue
		}
		o, err := getOp(tx, other)
		if err != nil {
			return err
		}
		if !related(next, o) {
			owners = append(owners, other)
		}
	}
	if owners != nil {
		return reject(&payment.PaymentIDConflictError{PaymentID: next.PaymentID, OpID: next.ID, Owners: owners})
	}
	return idx.Put(paymentIDKey(next.PaymentID, next.ID), nil)
}

// related reports whether two operations may share a paymentId: a post-auth
// captures its pre-auth under the pre-auth's paymentId.
func related(a, b *payment.Operation) bool {
	return (a.Kind == payment.KindPostAuth && a.ParentID == b.ID) || (b.Kind == payment.KindPostAuth && b.ParentID == a.ID)
}

// ByPaymentID returns the operations owning an iyzico paymentId, oldest first.
func (s *Store) ByPaymentID(ctx context.Context, paymentID string) ([]*payment.Operation, error) {
	var out []*payment.Operation
	if paymentID == "" || strings.Contains(paymentID, sep) {
		return nil, nil
	}
	prefix := paymentIDPrefix(paymentID)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketPaymentID).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			op, err := getOp(tx, string(k[len(prefix):]))
			if err != nil {
				return err
			}
			out = append(out, op)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortOldestFirst(out)
	return out, nil
}

func sameIdentity(prev, next *payment.Operation) error {
	fields := []struct {
		name     string
		old, new string
	}{
		{"id", prev.ID, next.ID},
		{"kind", string(prev.Kind), string(next.Kind)},
		{"client", prev.Client, next.Client},
		{"idempotency_key", prev.IdempotencyKey, next.IdempotencyKey},
		{"reference", prev.Reference, next.Reference},
		{"terminal", prev.Terminal, next.Terminal},
		{"business_day", prev.BusinessDay, next.BusinessDay},
		{"parent_id", prev.ParentID, next.ParentID},
	}
	for _, f := range fields {
		if f.old != f.new {
			return fmt.Errorf("store: operation %s: %w: %s %q -> %q", prev.ID, ErrImmutable, f.name, f.old, f.new)
		}
	}
	if !prev.CreatedAt.Equal(next.CreatedAt) {
		return fmt.Errorf("store: operation %s: %w: created_at", prev.ID, ErrImmutable)
	}
	return nil
}

// validate refuses what the key layouts cannot hold.
func validate(op *payment.Operation) error {
	if op == nil {
		return errors.New("store: nil operation")
	}
	var problems []payment.FieldProblem
	add := func(field, msg string) {
		problems = append(problems, payment.FieldProblem{Field: field, Message: msg})
	}
	if op.ID == "" {
		add("id", "required")
	}
	if op.Kind == "" {
		add("kind", "required")
	}
	if op.State == "" {
		add("state", "required")
	}
	for _, f := range []struct{ name, v string }{
		{"id", op.ID}, {"kind", string(op.Kind)}, {"client", op.Client},
		{"idempotency_key", op.IdempotencyKey}, {"reference", op.Reference},
		{"terminal", op.Terminal}, {"business_day", op.BusinessDay}, {"parent_id", op.ParentID},
		{"payment_id", op.PaymentID},
	} {
		if strings.Contains(f.v, sep) {
			add(f.name, "must not contain a NUL byte")
		}
	}
	if problems != nil {
		return &payment.ValidationError{Problems: problems}
	}
	return nil
}

// Get returns one operation by id, or an error matching payment.ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (*payment.Operation, error) {
	var op *payment.Operation
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		op, err = getOp(tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return op, nil
}

func getOp(tx *bolt.Tx, id string) (*payment.Operation, error) {
	v := tx.Bucket(bucketOps).Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("store: operation %s: %w", id, payment.ErrNotFound)
	}
	op, _, err := decodeValue(v)
	if err != nil {
		return nil, fmt.Errorf("store: operation %s: %w", id, err)
	}
	return op, nil
}

// ByKey returns the operation holding an idempotency key, or an error
// matching payment.ErrNotFound (also after PruneKeys forgot the key).
func (s *Store) ByKey(ctx context.Context, client, key string) (*payment.Operation, error) {
	var op *payment.Operation
	err := s.view(ctx, func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketIdem).Get(idemKey(client, key))
		if id == nil || key == "" {
			return fmt.Errorf("store: idempotency key of client %q: %w", client, payment.ErrNotFound)
		}
		var err error
		op, err = getOp(tx, string(id))
		if errors.Is(err, payment.ErrNotFound) {
			return fmt.Errorf("%w: idempotency key points to missing operation %s", ErrCorrupt, id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return op, nil
}

// Open returns every operation that is not final, oldest first.
func (s *Store) Open(ctx context.Context) ([]*payment.Operation, error) {
	var out []*payment.Operation
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOpen).ForEach(func(k, _ []byte) error {
			op, err := getOp(tx, string(k))
			if errors.Is(err, payment.ErrNotFound) {
				return fmt.Errorf("%w: open index names missing operation %s", ErrCorrupt, k)
			}
			if err != nil {
				return err
			}
			out = append(out, op)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	sortOldestFirst(out)
	return out, nil
}

func sortOldestFirst(ops []*payment.Operation) {
	slices.SortFunc(ops, func(a, b *payment.Operation) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// PruneKeys forgets the idempotency keys of the final operations of a
// terminal created before t, in one commit, and returns how many it forgot.
// Keys of operations that are not final are kept whatever their age, and
// the operations themselves are kept. The terminal's marks remember how far
// it got (the oldest operation it had to keep, or t), so that each call
// reads only what was created since: the cost of a day, not of the history.
func (s *Store) PruneKeys(ctx context.Context, terminal string, before time.Time) (int, error) {
	done := false
	if err := s.view(ctx, func(tx *bolt.Tx) error {
		m, err := readMarks(tx, terminal)
		done = !m.KeysFloor.IsZero() && !m.KeysFloor.Before(before)
		return err
	}); err != nil || done {
		return 0, err // pruned that far already: no write at all
	}
	n := 0
	err := s.update(ctx, "prune keys "+terminal, func(tx *bolt.Tx) error {
		n = 0
		m, err := readMarks(tx, terminal)
		if err != nil {
			return err
		}
		if !m.KeysFloor.IsZero() && !m.KeysFloor.Before(before) {
			return nil
		}
		idem, ops := tx.Bucket(bucketIdem), tx.Bucket(bucketOps)
		end := createdKey(before, "")
		floor := before
		c := tx.Bucket(bucketCreated).Cursor()
		var k, v []byte
		if m.KeysFloor.IsZero() {
			k, v = c.First()
		} else {
			k, v = c.Seek(createdKey(m.KeysFloor, ""))
		}
		var doomed [][]byte
		for ; k != nil && bytes.Compare(k, end) < 0; k, v = c.Next() {
			if _, t := parseCreatedValue(v); t != terminal || len(k) < 8 {
				continue
			}
			ov := ops.Get(k[8:])
			if ov == nil {
				continue // for VerifyChain and the operator, not for pruning
			}
			op, _, err := decodeValue(ov)
			if err != nil {
				return err
			}
			if !op.State.Final() {
				if op.CreatedAt.Before(floor) {
					floor = op.CreatedAt
				}
				continue
			}
			if op.IdempotencyKey == "" {
				continue
			}
			if ik := idemKey(op.Client, op.IdempotencyKey); string(idem.Get(ik)) == op.ID {
				doomed = append(doomed, ik)
			}
		}
		for _, k := range doomed {
			if err := idem.Delete(k); err != nil {
				return err
			}
		}
		n = len(doomed)
		m.KeysFloor = floor
		return writeMarks(tx, terminal, m)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
