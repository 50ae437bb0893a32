package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/bridgedpos/bridged/internal/payment"
)

// The journal is hash-chained: every Begin, Record, Update and effect appends
// one entry naming the operation, its state and the hash of its record as
// committed (not a copy of the record: the record is kept once, in ops), and
//
//	hash(seq) = sha256(hash(seq-1) || body(seq)),  hash(0) = 32 zero bytes
//
// with the last seq and hash kept in meta's journal_head. Rewriting, removing
// or inserting an entry breaks the chain at that seq, and a record that is
// not the one its last entry names no longer matches its hash. This is
// tamper evidence, not proof: whoever can rewrite the file can recompute
// every hash, unless the head hash was recorded elsewhere (an archive's
// anchor, an end-of-day report, a log line).
//
// Entry value layout (version entryV2, schema v3):
//
//	[0]      entryV2
//	[1:33]   hash
//	[33:]    at int64 BE (Unix ns) | uvarint len | op id | uvarint len | state | sha256(record) (32)
//
// and body(seq) = seq uint64 BE || value[33:]. The previous hash is not
// stored: it is the entry before's, or, where that entry was archived, the
// anchor kept in journal_gaps.
const entryV2 byte = 2

// entryV1 is the entry of schema v1 and v2, which held the whole record:
// [0] entryV1 | [1:33] previous hash | [33:65] hash | body: seq | time |
// uvarint len, op id | uvarint len, state | record. Only the migration reads it.
const entryV1 byte = 1

const entryV1Header = 1 + 32 + 32

// ErrChainBroken is matched by every *ChainError.
var ErrChainBroken = errors.New("journal hash chain broken")

// ChainError says where a verification found the journal altered.
type ChainError struct {
	Seq    uint64 // the first entry that does not verify; 0 when only the records are off
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

// Event is one journal entry: an operation at one state change.
// The type belongs to payment, which serves the feed.
type Event = payment.Event

// entry is a parsed compact entry.
type entry struct {
	seq    uint64
	hash   [32]byte
	at     time.Time
	opID   string
	state  payment.State
	recSum [32]byte
}

// entryValue builds the value of entry seq (whose hash is computed from prev).
func entryValue(prev [32]byte, seq uint64, at time.Time, id string, state payment.State, recSum [32]byte) ([]byte, [32]byte) {
	v := make([]byte, 33, 33+8+2+len(id)+len(state)+32)
	v[0] = entryV2
	v = binary.BigEndian.AppendUint64(v, uint64(at.UnixNano()))
	v = binary.AppendUvarint(v, uint64(len(id)))
	v = append(v, id...)
	v = binary.AppendUvarint(v, uint64(len(state)))
	v = append(v, state...)
	v = append(v, recSum[:]...)
	h := entryHash(prev, seq, v[33:])
	copy(v[1:33], h[:])
	return v, h
}

// entryHash is sha256(prev || seq || rest).
func entryHash(prev [32]byte, seq uint64, rest []byte) [32]byte {
	var head [40]byte
	copy(head[:32], prev[:])
	binary.BigEndian.PutUint64(head[32:], seq)
	h := sha256.New()
	h.Write(head[:])
	h.Write(rest)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// parseEntry reads a compact entry; it copies what it keeps.
func parseEntry(seq uint64, v []byte) (entry, []byte, error) {
	e := entry{seq: seq}
	if len(v) < 33+8+2+32 || v[0] != entryV2 {
		return e, nil, fmt.Errorf("%w: journal entry %d of %d bytes, version %d", ErrCorrupt, seq, len(v), firstByte(v))
	}
	copy(e.hash[:], v[1:33])
	rest := v[33:]
	b := rest
	e.at = time.Unix(0, int64(binary.BigEndian.Uint64(b))).UTC()
	b = b[8:]
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
	if !ok1 || !ok2 || len(b) != 32 {
		return e, nil, fmt.Errorf("%w: journal entry %d: bad field length", ErrCorrupt, seq)
	}
	e.opID, e.state = id, payment.State(state)
	copy(e.recSum[:], b)
	return e, rest, nil
}

func firstByte(v []byte) int {
	if len(v) == 0 {
		return -1
	}
	return int(v[0])
}

// appendEntry adds one chained entry for a record inside tx, moves the head
// and returns the new seq.
func appendEntry(tx *bolt.Tx, at time.Time, id string, state payment.State, record []byte) (uint64, error) {
	meta, journal := tx.Bucket(bucketMeta), bucket(tx, bucketJournal)
	head, err := readHead(meta)
	if err != nil {
		return 0, err
	}
	if k, _ := journal.Cursor().Last(); k != nil && binary.BigEndian.Uint64(k) > head.seq {
		return 0, fmt.Errorf("%w: journal has entry %d after its head %d", ErrCorrupt, binary.BigEndian.Uint64(k), head.seq)
	}
	seq := head.seq + 1
	v, hash := entryValue(head.hash, seq, at, id, state, sha256.Sum256(record))
	if err := journal.Put(seqKey(seq), v); err != nil {
		return 0, err
	}
	return seq, writeHead(meta, journalHead{seq: seq, hash: hash})
}

// VerifyChain walks the journal, recomputing every hash, and checks that
// meta's head matches the last entry, that every operation's record is the
// one its last entry names, and that every entry's operation lists it. An
// entry whose predecessor was archived is linked through its anchor in
// journal_gaps; VerifyArchives checks those against the archives. It
// returns how many entries verified and, on the first problem, a *ChainError.
func (s *Store) VerifyChain(ctx context.Context) (int, error) {
	n := 0
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		n, err = verifyJournal(ctx, tx)
		return err
	})
	return n, err
}

func verifyJournal(ctx context.Context, tx *bolt.Tx) (int, error) {
	n := 0
	gaps, ops := tx.Bucket(bucketGaps), tx.Bucket(bucketOps)
	var prev [32]byte
	var prevSeq uint64
	c := tx.Bucket(bucketJournal).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
		if len(k) != 8 {
			return n, &ChainError{Seq: prevSeq + 1, Reason: fmt.Sprintf("malformed key %x", k)}
		}
		seq := binary.BigEndian.Uint64(k)
		if seq != prevSeq+1 || seq == 1 {
			var err error
			if prev, err = anchorBefore(gaps, k, seq, prevSeq); err != nil {
				return n, err
			}
		}
		e, rest, err := parseEntry(seq, v)
		if err != nil {
			return n, &ChainError{Seq: seq, Reason: err.Error()}
		}
		if entryHash(prev, seq, rest) != e.hash {
			return n, &ChainError{Seq: seq, OpID: e.opID, Reason: "hash does not match the entry's contents or the entry before"}
		}
		if err := entryListed(ops, e); err != nil {
			return n, err
		}
		prev, prevSeq = e.hash, seq
		n++
	}
	head, err := readHead(tx.Bucket(bucketMeta))
	if err != nil {
		return n, &ChainError{Seq: prevSeq + 1, Reason: err.Error()}
	}
	switch {
	case head.seq > prevSeq:
		return n, &ChainError{Seq: prevSeq + 1, Reason: fmt.Sprintf("journal ends at seq %d but its head says %d: entries removed", prevSeq, head.seq)}
	case head.seq < prevSeq:
		return n, &ChainError{Seq: head.seq + 1, Reason: fmt.Sprintf("entries after the head (seq %d)", head.seq)}
	case head.hash != prev:
		return n, &ChainError{Seq: head.seq, Reason: "head hash does not match the last entry"}
	}
	journal := tx.Bucket(bucketJournal)
	return n, ops.ForEach(func(k, v []byte) error { return recordNamed(journal, string(k), v) })
}

// anchorBefore is the hash before entry seq (at key k) when the entry
// before it is not in the journal: none for seq 1, else the archive anchor
// that stands for the archived entry.
func anchorBefore(gaps *bolt.Bucket, k []byte, seq, prevSeq uint64) ([32]byte, error) {
	var prev [32]byte
	switch a := gaps.Get(k); {
	case seq == 1:
	case a == nil:
		return prev, &ChainError{Seq: prevSeq + 1, Reason: fmt.Sprintf("entry missing (next entry is %d) and no archive anchor", seq)}
	case len(a) != 32:
		return prev, &ChainError{Seq: seq, Reason: "malformed archive anchor"}
	default:
		copy(prev[:], a)
	}
	return prev, nil
}

// entryListed checks that entry e's operation is in the records and lists e.
func entryListed(ops *bolt.Bucket, e entry) error {
	ov := ops.Get([]byte(e.opID))
	if ov == nil {
		return &ChainError{Seq: e.seq, OpID: e.opID, Reason: "operation in the journal is missing from the records"}
	}
	val, err := parseOpValue(ov)
	if err != nil {
		return &ChainError{Seq: e.seq, OpID: e.opID, Reason: err.Error()}
	}
	if !hasSeq(val.seqs, e.seq) {
		return &ChainError{Seq: e.seq, OpID: e.opID, Reason: "the operation does not list this entry"}
	}
	return nil
}

// recordNamed checks that operation id's entries are all in the journal and
// that its record (value v) is the one its last entry names.
func recordNamed(journal *bolt.Bucket, id string, v []byte) error {
	val, err := parseOpValue(v)
	if err != nil {
		return &ChainError{OpID: id, Reason: err.Error()}
	}
	for _, seq := range val.seqs {
		if journal.Get(seqKey(seq)) == nil {
			return &ChainError{Seq: seq, OpID: id, Reason: "operation lists an entry the journal does not have"}
		}
	}
	ev := journal.Get(seqKey(val.last()))
	e, _, err := parseEntry(val.last(), ev)
	if err != nil {
		return &ChainError{Seq: val.last(), OpID: id, Reason: err.Error()}
	}
	if e.opID != id {
		return &ChainError{Seq: val.last(), OpID: id, Reason: "operation lists an entry of operation " + e.opID}
	}
	if sha256.Sum256(val.record) != e.recSum {
		return &ChainError{Seq: e.seq, OpID: id, Reason: "operation record differs from the one its last journal entry names"}
	}
	return nil
}

func hasSeq(seqs []uint64, seq uint64) bool {
	_, ok := slices.BinarySearch(seqs, seq)
	return ok
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
// defaults to 100 and is capped at 1000. Each event carries the state of its
// entry and the operation as it is now (the journal keeps a record once);
// entries of archived days are no longer in the feed.
func (s *Store) Events(ctx context.Context, afterSeq uint64, limit int) ([]Event, error) {
	limit = clampLimit(limit)
	if afterSeq == math.MaxUint64 {
		return nil, nil
	}
	var out []Event
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketJournal).Cursor()
		ops := map[string]*payment.Operation{}
		for k, v := c.Seek(seqKey(afterSeq + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			e, _, err := parseEntry(binary.BigEndian.Uint64(k), v)
			if err != nil {
				return err
			}
			op := ops[e.opID]
			if op == nil {
				if op, err = getOp(tx, e.opID); err != nil {
					return fmt.Errorf("journal entry %d: %w", e.seq, err)
				}
				ops[e.opID] = op
			} else {
				op = op.Clone()
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

// v1Entry is an entry of schema v1 or v2 (migration only).
type v1Entry struct {
	prev, hash [32]byte
	body       []byte
	seq        uint64
	at         time.Time
	opID       string
	state      payment.State
	record     []byte // aliases body
}

func parseV1Entry(v []byte) (v1Entry, error) {
	var e v1Entry
	if len(v) < entryV1Header+16 || v[0] != entryV1 {
		return e, fmt.Errorf("%w: journal entry of %d bytes, version %d", ErrCorrupt, len(v), firstByte(v))
	}
	copy(e.prev[:], v[1:33])
	copy(e.hash[:], v[33:65])
	e.body = v[entryV1Header:]
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

// v1Hash is the chain hash of schema v1 and v2: sha256(prev || body).
func v1Hash(prev [32]byte, body []byte) [32]byte {
	h := sha256.New()
	h.Write(prev[:])
	h.Write(body)
	var out [32]byte
	h.Sum(out[:0])
	return out
}
