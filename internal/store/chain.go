package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/bridgedpos/bridged/internal/payment"
)

// The journal is append-only and hash-chained: every Begin and Record appends
// one entry holding the full record as it was committed, and
//
//	hash(seq) = sha256(hash(seq-1) || body(seq)),  hash(0) = 32 zero bytes
//
// with the last seq and hash kept in meta's journal_head. Rewriting, removing
// or inserting an entry breaks the chain at that seq. This is tamper
// evidence, not proof: whoever can rewrite the file can recompute every hash,
// unless the head hash was recorded elsewhere (an end-of-day report, a log).
//
// Entry value layout (version entryV1):
//
//	[0]      entryV1
//	[1:33]   previous hash
//	[33:65]  hash
//	[65:]    body: seq uint64 BE | time int64 BE (Unix ns) |
//	         uvarint len | op id | uvarint len | state | record bytes (codec.go)
const entryV1 byte = 1

const entryHeader = 1 + 32 + 32

// ErrChainBroken is matched by every *ChainError.
var ErrChainBroken = errors.New("journal hash chain broken")

// ChainError says where VerifyChain found the journal altered.
type ChainError struct {
	Seq    uint64 // the first entry that does not verify; 0 when only the ops bucket is off
	OpID   string // when the problem is tied to one operation
	Reason string
}

func (e *ChainError) Error() string {
	s := fmt.Sprintf("journal hash chain broken at seq %d: %s", e.Seq, e.Reason)
	if e.OpID != "" {
		s += " (operation " + e.OpID + ")"
	}
	return s
}

// Is makes every ChainError match ErrChainBroken.
func (e *ChainError) Is(target error) bool { return target == ErrChainBroken }

// Event is one journal entry: an operation as it was at one state change.
// The type belongs to payment, which serves the feed.
type Event = payment.Event

type entry struct {
	prev, hash [32]byte
	body       []byte // aliases the value it was parsed from
	seq        uint64
	at         time.Time
	opID       string
	state      payment.State
	record     []byte // aliases body
}

func entryBody(seq uint64, at time.Time, id string, state payment.State, rec []byte) []byte {
	b := make([]byte, 0, 16+2*binary.MaxVarintLen64+len(id)+len(state)+len(rec))
	b = binary.BigEndian.AppendUint64(b, seq)
	b = binary.BigEndian.AppendUint64(b, uint64(at.UnixNano()))
	b = binary.AppendUvarint(b, uint64(len(id)))
	b = append(b, id...)
	b = binary.AppendUvarint(b, uint64(len(state)))
	b = append(b, state...)
	return append(b, rec...)
}

func chainHash(prev [32]byte, body []byte) [32]byte {
	h := sha256.New()
	h.Write(prev[:])
	h.Write(body)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func parseEntry(v []byte) (entry, error) {
	var e entry
	if len(v) < entryHeader+16 || v[0] != entryV1 {
		return e, fmt.Errorf("%w: journal entry of %d bytes, version %d", ErrCorrupt, len(v), firstByte(v))
	}
	copy(e.prev[:], v[1:33])
	copy(e.hash[:], v[33:65])
	e.body = v[entryHeader:]
	b := e.body
	e.seq = binary.BigEndian.Uint64(b)
	e.at = time.Unix(0, int64(binary.BigEndian.Uint64(b[8:]))).UTC()
	b = b[16:]
	str := func() (string, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return "", false
		}
		s := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return s, true
	}
	id, ok1 := str()
	state, ok2 := str()
	if !ok1 || !ok2 {
		return e, fmt.Errorf("%w: journal entry %d: bad field length", ErrCorrupt, e.seq)
	}
	e.opID, e.state, e.record = id, payment.State(state), b
	return e, nil
}

func firstByte(v []byte) int {
	if len(v) == 0 {
		return -1
	}
	return int(v[0])
}

// appendEntry adds one chained entry for rec inside tx and moves the head.
func appendEntry(tx *bolt.Tx, at time.Time, id string, state payment.State, rec []byte) error {
	meta, journal := tx.Bucket(bucketMeta), tx.Bucket(bucketJournal)
	head, err := readHead(meta)
	if err != nil {
		return err
	}
	var last uint64
	if k, _ := journal.Cursor().Last(); k != nil {
		last = binary.BigEndian.Uint64(k)
	}
	if last != head.seq {
		return fmt.Errorf("%w: journal ends at seq %d but its head says %d", ErrCorrupt, last, head.seq)
	}
	seq := head.seq + 1
	body := entryBody(seq, at, id, state, rec)
	hash := chainHash(head.hash, body)
	v := make([]byte, 0, entryHeader+len(body))
	v = append(v, entryV1)
	v = append(v, head.hash[:]...)
	v = append(v, hash[:]...)
	v = append(v, body...)
	if err := journal.Put(seqKey(seq), v); err != nil {
		return err
	}
	return writeHead(meta, journalHead{seq: seq, hash: hash})
}

// VerifyChain walks the whole journal, recomputing every hash, and checks
// that meta's head matches the last entry and that every operation's current
// record is the one its last journal entry holds. It returns how many entries
// verified and, on the first problem, a *ChainError.
func (s *Store) VerifyChain(ctx context.Context) (int, error) {
	n := 0
	err := s.view(ctx, func(tx *bolt.Tx) error {
		type last struct {
			seq uint64
			sum [32]byte
		}
		latest := map[string]last{}
		var prev [32]byte
		expected := uint64(1)
		c := tx.Bucket(bucketJournal).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if len(k) != 8 {
				return &ChainError{Seq: expected, Reason: fmt.Sprintf("malformed key %x", k)}
			}
			if seq := binary.BigEndian.Uint64(k); seq != expected {
				return &ChainError{Seq: expected, Reason: fmt.Sprintf("entry missing (next entry is %d)", seq)}
			}
			e, err := parseEntry(v)
			if err != nil {
				return &ChainError{Seq: expected, Reason: err.Error()}
			}
			switch {
			case e.seq != expected:
				return &ChainError{Seq: expected, OpID: e.opID, Reason: fmt.Sprintf("entry claims seq %d", e.seq)}
			case e.prev != prev:
				return &ChainError{Seq: expected, OpID: e.opID, Reason: "previous hash does not match the entry before"}
			case chainHash(prev, e.body) != e.hash:
				return &ChainError{Seq: expected, OpID: e.opID, Reason: "hash does not match the entry's contents"}
			}
			latest[e.opID] = last{seq: e.seq, sum: sha256.Sum256(e.record)}
			prev = e.hash
			expected++
			n++
		}
		head, err := readHead(tx.Bucket(bucketMeta))
		if err != nil {
			return &ChainError{Seq: expected, Reason: err.Error()}
		}
		switch {
		case head.seq > uint64(n):
			return &ChainError{Seq: uint64(n) + 1, Reason: fmt.Sprintf("journal ends at seq %d but its head says %d: entries removed", n, head.seq)}
		case head.seq < uint64(n):
			return &ChainError{Seq: head.seq + 1, Reason: fmt.Sprintf("entries after the head (seq %d)", head.seq)}
		case head.hash != prev:
			return &ChainError{Seq: head.seq, Reason: "head hash does not match the last entry"}
		}
		ops := tx.Bucket(bucketOps)
		seen := 0
		err = ops.ForEach(func(k, v []byte) error {
			l, ok := latest[string(k)]
			if !ok {
				return &ChainError{OpID: string(k), Reason: "operation has no journal entry"}
			}
			if sha256.Sum256(v) != l.sum {
				return &ChainError{Seq: l.seq, OpID: string(k), Reason: "operation record differs from its last journal entry"}
			}
			seen++
			return nil
		})
		if err != nil {
			return err
		}
		if seen != len(latest) {
			for id, l := range latest {
				if ops.Get([]byte(id)) == nil {
					return &ChainError{Seq: l.seq, OpID: id, Reason: "operation in the journal is missing from the records"}
				}
			}
		}
		return nil
	})
	return n, err
}

// Head returns the last journal seq and its hash (hex), for anchoring the
// chain outside the file (a log line, an end-of-day report). 0 and "" when
// the journal is empty.
func (s *Store) Head(ctx context.Context) (uint64, string, error) {
	var h journalHead
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		h, err = readHead(tx.Bucket(bucketMeta))
		return err
	})
	if err != nil || h.seq == 0 {
		return 0, "", err
	}
	return h.seq, hex.EncodeToString(h.hash[:]), nil
}

// Events returns up to limit journal entries after afterSeq, oldest first:
// the feed of server-sent events, where afterSeq is the Last-Event-ID. limit
// defaults to 100 and is capped at 1000.
func (s *Store) Events(ctx context.Context, afterSeq uint64, limit int) ([]Event, error) {
	limit = clampLimit(limit)
	if afterSeq == math.MaxUint64 {
		return nil, nil
	}
	var out []Event
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketJournal).Cursor()
		for k, v := c.Seek(seqKey(afterSeq + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			e, err := parseEntry(v)
			if err != nil {
				return err
			}
			op, err := decodeOp(e.record)
			if err != nil {
				return fmt.Errorf("journal entry %d: %w", e.seq, err)
			}
			out = append(out, Event{Seq: e.seq, At: e.at, OpID: e.opID, State: e.state, Op: op})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: events after %d: %w", afterSeq, err)
	}
	return out, nil
}
