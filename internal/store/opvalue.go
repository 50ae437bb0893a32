package store

import (
	"encoding/binary"
	"fmt"

	"github.com/bridgedpos/bridged/internal/payment"
)

// An op value (the ops bucket, schema v3) is the operation's current record
// with the seqs of its journal entries in front:
//
//	uvarint n | uvarint seq[0] | uvarint seq[i]-seq[i-1] ... | record (record.go)
//
// The seqs name every entry of the operation, so that an archive can move an
// operation out with its entries and a verifier can find the entry whose
// hash the record must match (the last) without reading the journal.
type opValue struct {
	seqs   []uint64
	record []byte // aliases the value it was parsed from
}

func (v opValue) last() uint64 { return v.seqs[len(v.seqs)-1] }

// parseOpValue splits an ops value; record aliases b.
func parseOpValue(b []byte) (opValue, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n == 0 || n > uint64(len(b)) {
		return opValue{}, fmt.Errorf("%w: operation value without its journal seqs", ErrCorrupt)
	}
	b = b[k:]
	v := opValue{seqs: make([]uint64, n)}
	var prev uint64
	for i := range v.seqs {
		d, k := binary.Uvarint(b)
		if k <= 0 || (i > 0 && d == 0) {
			return opValue{}, fmt.Errorf("%w: operation value: bad journal seq", ErrCorrupt)
		}
		prev += d
		v.seqs[i] = prev
		b = b[k:]
	}
	v.record = b
	return v, nil
}

// appendOpValue encodes seqs (ascending) and record.
func appendOpValue(dst []byte, seqs []uint64, record []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(seqs)))
	var prev uint64
	for _, s := range seqs {
		dst = binary.AppendUvarint(dst, s-prev)
		prev = s
	}
	return append(dst, record...)
}

// decodeValue decodes the operation of an ops value.
func decodeValue(b []byte) (*payment.Operation, opValue, error) {
	v, err := parseOpValue(b)
	if err != nil {
		return nil, v, err
	}
	op, err := decodeOp(v.record)
	return op, v, err
}
