package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/bridgedpos/bridged/internal/payment"
)

// Page sizes for List and Events.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

func clampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// cursorV1 prefixes a cursor: it is base64url(cursorV1 || createdKey) of the
// last operation of a page; the next page starts strictly after it in
// (CreatedAt, ID) descending order, so operations created meanwhile never
// shift a page.
const cursorV1 byte = 1

func encodeCursor(op *payment.Operation) string {
	k := createdKey(op.CreatedAt, op.ID)
	return base64.RawURLEncoding.EncodeToString(append([]byte{cursorV1}, k...))
}

func decodeCursor(s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 1+8 || b[0] != cursorV1 {
		return nil, &payment.ValidationError{Problems: []payment.FieldProblem{{Field: "cursor", Message: "not a cursor returned by this API"}}}
	}
	return b[1:], nil
}

// List returns the operations matching f, newest first (by CreatedAt, then
// id), at most f.Limit of them (default 100, at most 1000), and a cursor for
// the next page ("" on the last). From is inclusive, To exclusive. A
// Reference or ParentID filter reads its index; otherwise List walks the
// creation-time index from the cursor (or To) down to From, filtering kind
// and terminal before decoding a record.
func (s *Store) List(ctx context.Context, f payment.Filter) ([]*payment.Operation, string, error) {
	limit := clampLimit(f.Limit)
	if f.Status != "" && !f.Status.Valid() {
		return nil, "", &payment.ValidationError{Problems: []payment.FieldProblem{{Field: "status", Message: "must be one of pending, approved, declined, unknown"}}}
	}
	var upper []byte // exclusive upper bound in idx_created order
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		upper = c
	}
	if !f.To.IsZero() {
		if to := createdKey(f.To, ""); upper == nil || bytes.Compare(to, upper) < 0 {
			upper = to
		}
	}
	var out []*payment.Operation
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		switch {
		case f.Reference != "":
			out, err = listByPrefix(tx, bucketRef, []byte(f.Reference+sep), f, upper)
		case f.ParentID != "":
			out, err = listByPrefix(tx, bucketParent, parentPrefix(f.ParentID), f, upper)
		default:
			out, err = listByTime(tx, f, upper, limit+1)
		}
		return err
	})
	if err != nil {
		return nil, "", err
	}
	if len(out) > limit {
		out = out[:limit]
		return out, encodeCursor(out[limit-1]), nil
	}
	return out, "", nil
}

// listByTime walks idx_created downwards from upper and stops at want matches.
func listByTime(tx *bolt.Tx, f payment.Filter, upper []byte, want int) ([]*payment.Operation, error) {
	var out []*payment.Operation
	var from []byte
	if !f.From.IsZero() {
		from = createdKey(f.From, "")
	}
	c := tx.Bucket(bucketCreated).Cursor()
	var k, v []byte
	if upper == nil {
		k, v = c.Last()
	} else if k, _ = c.Seek(upper); k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	for ; k != nil && len(out) < want; k, v = c.Prev() {
		if from != nil && bytes.Compare(k, from) < 0 {
			break
		}
		kind, terminal := parseCreatedValue(v)
		if f.Terminal != "" && terminal != f.Terminal {
			continue
		}
		if len(f.Kinds) > 0 && !slices.Contains(f.Kinds, payment.Kind(kind)) {
			continue
		}
		if len(k) < 8 {
			return nil, errCorruptKey(bucketCreated, k)
		}
		op, err := getOp(tx, string(k[8:]))
		if err != nil {
			return nil, err
		}
		if match(op, f, upper) {
			out = append(out, op)
		}
	}
	return out, nil
}

// listByPrefix reads the ids under prefix in an index, filters and sorts them.
// These sets are small (one reference, the children of one payment).
func listByPrefix(tx *bolt.Tx, bucket, prefix []byte, f payment.Filter, upper []byte) ([]*payment.Operation, error) {
	var out []*payment.Operation
	c := tx.Bucket(bucket).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		op, err := getOp(tx, string(k[len(prefix):]))
		if err != nil {
			return nil, err
		}
		if match(op, f, upper) {
			out = append(out, op)
		}
	}
	slices.SortFunc(out, func(a, b *payment.Operation) int {
		return bytes.Compare(createdKey(b.CreatedAt, b.ID), createdKey(a.CreatedAt, a.ID))
	})
	return out, nil
}

// match applies every filter of f, and the page bound upper, to op.
func match(op *payment.Operation, f payment.Filter, upper []byte) bool {
	switch {
	case len(f.Kinds) > 0 && !slices.Contains(f.Kinds, op.Kind),
		f.Status != "" && op.State.Status() != f.Status,
		f.Terminal != "" && op.Terminal != f.Terminal,
		f.Reference != "" && op.Reference != f.Reference,
		f.ParentID != "" && op.ParentID != f.ParentID,
		!f.From.IsZero() && op.CreatedAt.Before(f.From),
		!f.To.IsZero() && !op.CreatedAt.Before(f.To),
		upper != nil && bytes.Compare(createdKey(op.CreatedAt, op.ID), upper) >= 0:
		return false
	}
	return true
}

func errCorruptKey(bucket, k []byte) error {
	return fmt.Errorf("%w: bucket %s: malformed key %x", ErrCorrupt, bucket, k)
}
