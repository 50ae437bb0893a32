package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/bridgedpos/bridged/internal/payment"
)

// marks are what the journal keeps of a terminal's past so that a start
// reads O(terminals), not O(history) (the terminals bucket): kept in step by
// every write that records a final end of day or an approved money
// operation, in the same transaction.
type marks struct {
	LastEOD      mark      // latest approved end of day, by creation time
	MaybeClosed  mark      // latest final end of day after LastEOD whose answer was lost
	LastApproved mark      // latest approved money operation (Kind.MovesMoney), by creation time
	KeysFloor    time.Time // PruneKeys has looked at every operation created before this
}

// mark names one operation and its creation time.
type mark struct {
	ID string
	At time.Time
}

func (m mark) before(t time.Time) bool { return m.ID == "" || m.At.Before(t) }

const marksV1 byte = 1

// Field numbers of a marks value (the codec of record.go).
const (
	mkLastEODID = iota + 1
	mkLastEODAt
	mkMaybeClosedID
	mkMaybeClosedAt
	mkLastApprovedID
	mkLastApprovedAt
	mkKeysFloor
)

func encodeMarks(m marks) []byte {
	e := &enc{b: []byte{marksV1}}
	e.str(mkLastEODID, m.LastEOD.ID)
	e.time(mkLastEODAt, m.LastEOD.At)
	e.str(mkMaybeClosedID, m.MaybeClosed.ID)
	e.time(mkMaybeClosedAt, m.MaybeClosed.At)
	e.str(mkLastApprovedID, m.LastApproved.ID)
	e.time(mkLastApprovedAt, m.LastApproved.At)
	e.time(mkKeysFloor, m.KeysFloor)
	return e.b
}

func decodeMarks(b []byte) (marks, error) {
	var m marks
	if len(b) == 0 || b[0] != marksV1 {
		return m, fmt.Errorf("%w: terminal marks version %d", ErrCorrupt, firstByte(b))
	}
	d := &dec{b: b[1:], what: "terminal marks"}
	for n, w, ok := d.next(); ok; n, w, ok = d.next() {
		switch n {
		case mkLastEODID:
			m.LastEOD.ID = d.str(w)
		case mkLastEODAt:
			m.LastEOD.At = d.time(w)
		case mkMaybeClosedID:
			m.MaybeClosed.ID = d.str(w)
		case mkMaybeClosedAt:
			m.MaybeClosed.At = d.time(w)
		case mkLastApprovedID:
			m.LastApproved.ID = d.str(w)
		case mkLastApprovedAt:
			m.LastApproved.At = d.time(w)
		case mkKeysFloor:
			m.KeysFloor = d.time(w)
		default:
			d.unknown(n)
		}
	}
	return m, d.err
}

func readMarks(tx *bolt.Tx, terminal string) (marks, error) {
	v := tx.Bucket(bucketTerminals).Get([]byte(terminal))
	if v == nil {
		return marks{}, nil
	}
	return decodeMarks(v)
}

func writeMarks(tx *bolt.Tx, terminal string, m marks) error {
	return tx.Bucket(bucketTerminals).Put([]byte(terminal), encodeMarks(m))
}

// advance applies one operation as it is now to a terminal's marks and
// reports whether they changed. It is the whole rule (noteMarks, and the
// migration, which replays every record through it).
func (m *marks) advance(op *payment.Operation) bool {
	changed := false
	switch {
	case op.Kind == payment.KindEndOfDay && op.State == payment.StateApproved:
		if m.LastEOD.before(op.CreatedAt) {
			m.LastEOD, changed = mark{ID: op.ID, At: op.CreatedAt}, true
			if m.MaybeClosed.ID != "" && !m.MaybeClosed.At.After(op.CreatedAt) {
				m.MaybeClosed = mark{}
			}
		}
	case op.Kind == payment.KindEndOfDay && op.State.Final() && op.BatchMaybeClosed:
		if m.LastEOD.before(op.CreatedAt) && m.MaybeClosed.before(op.CreatedAt) && m.MaybeClosed.ID != op.ID {
			m.MaybeClosed, changed = mark{ID: op.ID, At: op.CreatedAt}, true
		}
	case op.Kind.MovesMoney() && op.State == payment.StateApproved:
		if m.LastApproved.before(op.CreatedAt) && m.LastApproved.ID != op.ID {
			m.LastApproved, changed = mark{ID: op.ID, At: op.CreatedAt}, true
		}
	}
	return changed
}

// noteMarks keeps the terminal's marks in step with a write of next (prev is
// nil for a new operation). Only a change that can move a mark reads them.
func noteMarks(tx *bolt.Tx, prev, next *payment.Operation) error {
	if next.Terminal == "" || (prev != nil && prev.State == next.State && prev.BatchMaybeClosed == next.BatchMaybeClosed) {
		return nil
	}
	switch {
	case next.Kind == payment.KindEndOfDay && next.State.Final():
	case next.Kind.MovesMoney() && next.State == payment.StateApproved:
	default:
		return nil
	}
	m, err := readMarks(tx, next.Terminal)
	if err != nil {
		return err
	}
	if !m.advance(next) {
		return nil
	}
	return writeMarks(tx, next.Terminal, m)
}

// TerminalHistory returns what the journal keeps of a terminal's past for a
// start (payment.Service.Recover): its last approved end of day, the latest
// final end of day after it whose answer was lost, and its latest approved
// money operation. It reads the terminal's marks and those operations: the
// same cost at any journal size. An operation archived since is left out.
func (s *Store) TerminalHistory(ctx context.Context, terminal string) (*payment.TerminalHistory, error) {
	h := &payment.TerminalHistory{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		m, err := readMarks(tx, terminal)
		if err != nil {
			return err
		}
		for _, x := range []struct {
			m   mark
			dst **payment.Operation
		}{{m.LastEOD, &h.LastEndOfDay}, {m.MaybeClosed, &h.MaybeClosed}, {m.LastApproved, &h.LastApproved}} {
			if x.m.ID == "" {
				continue
			}
			op, err := getOp(tx, x.m.ID)
			if errors.Is(err, payment.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			*x.dst = op
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}
