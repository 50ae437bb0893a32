package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/bridgedpos/bridged/internal/apitype"
	"github.com/bridgedpos/bridged/internal/publicerr"
)

// Journal is the journal's upkeep that the API offers an operator (the
// bridged backup and compact verbs while the daemon runs). The server knows
// nothing of the store: the daemon fills these in.
type Journal struct {
	// Backup writes a backup (a tar of a consistent copy of the journal and
	// its archives) to w.
	Backup func(ctx context.Context, w io.Writer) error
	// Compact rewrites the journal's file without its free pages, the
	// terminals held meanwhile, when at least a share of the file is free or
	// force is set.
	Compact func(ctx context.Context, force bool) (apitype.CompactResult, error)
}

// errNoUpkeep is a server without journal upkeep (a test's, or one whose
// daemon gave it none); errBadForce a force that is not true or false;
// errCompaction a compaction that failed, its cause for the log only.
var (
	errNoUpkeep   = errors.New("no journal upkeep here")
	errBadForce   = errors.New("force is neither true nor false")
	errCompaction = errors.New("journal compaction failed")
)

// handleBackup streams a backup. A failure after the first byte cuts the
// connection, so that the client never takes a truncated stream for a backup.
func (s *server) handleBackup(w http.ResponseWriter, r *http.Request) error {
	if s.journal.Backup == nil {
		return publicerr.Wrap(errNoUpkeep, "this server has no journal to back up")
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", `attachment; filename="bridged-backup-`+time.Now().UTC().Format("20060102T150405Z")+`.tar"`)
	// Stream: a signed answer's signature then covers the status alone (the
	// body is a journal, checked by its own hash chain when restored), and
	// the journal is never held in memory whole.
	_ = http.NewResponseController(w).Flush()
	if err := s.journal.Backup(r.Context(), w); err != nil {
		s.log.Error().Err(err).Msg("backup failed; the client's copy is cut short")
		panic(http.ErrAbortHandler)
	}
	s.log.Info().Str("client", s.caller(r).Client).Msg("journal backed up")
	return nil
}

// handleCompact compacts the journal (?force=true: whatever its free share).
func (s *server) handleCompact(w http.ResponseWriter, r *http.Request) error {
	if s.journal.Compact == nil {
		return publicerr.Wrap(errNoUpkeep, "this server has no journal to compact")
	}
	var force bool
	switch f := r.URL.Query().Get("force"); f {
	case "", "false":
	case "true":
		force = true
	default:
		return errBadForce
	}
	res, err := s.journal.Compact(r.Context(), force)
	if err != nil {
		return fmt.Errorf("%w: %w", errCompaction, err)
	}
	s.log.Info().Str("client", s.caller(r).Client).Bool("compacted", res.Compacted).Int64("before", res.BeforeBytes).
		Int64("after", res.AfterBytes).Msg("journal compaction asked for")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(res)
	return nil
}
