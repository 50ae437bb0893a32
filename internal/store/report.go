package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/bridgedpos/bridged/internal/payment"
)

// End-of-day reports are stored as the caller's JSON, opaque to the store,
// behind a version byte, keyed by the id of their end_of_day operation. They
// are not part of the hash chain: the operation (with its state) is.
const reportV1 byte = 1

// Report is one saved end-of-day report with what its operation says about it.
type Report struct {
	OpID        string
	Terminal    string
	BusinessDay string
	CreatedAt   time.Time // of the end_of_day operation
	Data        []byte    // the JSON given to SaveReport
}

// SaveReport stores data (valid JSON) as the report of operation id, which
// must exist. Saving again replaces it.
func (s *Store) SaveReport(ctx context.Context, id string, data []byte) error {
	if !json.Valid(data) {
		return &payment.ValidationError{Problems: []payment.FieldProblem{{Field: "report", Message: "not valid JSON"}}}
	}
	v := append([]byte{reportV1}, data...)
	return s.update(ctx, "save report "+id, func(tx *bolt.Tx) error {
		if tx.Bucket(bucketOps).Get([]byte(id)) == nil {
			return reject(fmt.Errorf("store: report for operation %s: %w", id, payment.ErrNotFound))
		}
		return tx.Bucket(bucketReports).Put([]byte(id), v)
	})
}

// Report returns the report of operation id, or an error matching payment.ErrNotFound.
func (s *Store) Report(ctx context.Context, id string) ([]byte, error) {
	var out []byte
	err := s.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketReports).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("store: report for operation %s: %w", id, payment.ErrNotFound)
		}
		var err error
		out, err = reportData(v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// reportData copies the JSON out of a report value (which dies with its transaction).
func reportData(v []byte) ([]byte, error) {
	if len(v) == 0 || v[0] != reportV1 {
		return nil, fmt.Errorf("%w: report record version %d", ErrCorrupt, firstByte(v))
	}
	return bytes.Clone(v[1:]), nil
}

// Reports returns the saved reports of a terminal ("" for every terminal),
// newest first, at most limit (default 100, at most 1000).
func (s *Store) Reports(ctx context.Context, terminal string, limit int) ([]Report, error) {
	limit = clampLimit(limit)
	var out []Report
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketReports).ForEach(func(k, v []byte) error {
			op, err := getOp(tx, string(k))
			if err != nil {
				return err
			}
			if terminal != "" && op.Terminal != terminal {
				return nil
			}
			data, err := reportData(v)
			if err != nil {
				return err
			}
			out = append(out, Report{OpID: op.ID, Terminal: op.Terminal, BusinessDay: op.BusinessDay, CreatedAt: op.CreatedAt, Data: data})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Report) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return bytes.Compare([]byte(b.OpID), []byte(a.OpID))
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
