package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/bridgedpos/bridged/internal/payment"
)

// FileName is the journal's file name inside the data dir.
const FileName = "bridged.db"

// DefaultTimeout is how long Open waits for the file lock by default.
const DefaultTimeout = time.Second

// Options configures a Store. The zero value is usable.
type Options struct {
	// Timeout bounds the wait for the file lock held by another process
	// (or another Open in this one); default DefaultTimeout.
	Timeout time.Duration
	// Logger receives the store's few log lines (open, migration, write
	// failures), with component=store. Tokens and records are never logged.
	Logger zerolog.Logger
	// Now is the clock for journal entry times; default time.Now.
	Now func() time.Time
	// FailWrites is a test seam: when it returns an error, every write
	// transaction is rolled back and every write in it fails with it, as a
	// failed fsync would.
	FailWrites func() error
	// FailWrite is a finer test seam: it is asked about each write of a
	// transaction by name ("begin <op id>", "record <op id>", "update <op
	// id>", "save token", ...); an error fails the transaction as FailWrites does.
	FailWrite func(what string) error
	// OnCommit, when set, is told how long each durable commit took (metrics).
	// One commit may hold the writes of several callers (commit.go).
	OnCommit func(time.Duration)
	// OnGroup, when set, is told how many writes each durable commit held.
	OnGroup func(writes int)
	// NoFreelistSync opens bbolt without writing its freelist at each
	// commit (as etcd runs it); every open then rebuilds the freelist by
	// walking the whole file. Off by default: the bench measures both
	// (docs/benchmarks.md).
	NoFreelistSync bool
	// Fault is a test seam: it is called at named points in the middle of
	// a long step ("migration", "archive_written", "archive_removing",
	// "compaction"), where the failpoint build kills the process (the crash
	// matrix); an error returned fails the step there, as an I/O error would.
	Fault func(point string) error
	// ArchiveChunk is how many operations one write of an archived day's
	// removal holds; default 2000.
	ArchiveChunk int
}

// Store is the bbolt journal. It is safe for concurrent use. It implements
// payment.Journal.
type Store struct {
	// db is swapped only by an online compaction, which holds wmu and dbmu.
	db         *bolt.DB
	dbmu       sync.RWMutex // readers hold it shared; the compaction's swap, exclusively
	wmu        sync.Mutex   // held by every write transaction, and by a compaction
	dir        string
	path       string
	opts       Options
	log        zerolog.Logger
	now        func() time.Time
	failWrites func() error
	failWrite  func(what string) error
	onCommit   func(time.Duration)
	onGroup    func(int)
	fault      func(string) error

	mu       sync.Mutex
	writeErr error // the first write failure, sticky

	// Operations of a day being archived (archive.go): Begin refuses a
	// child of one.
	fmu    sync.Mutex
	frozen map[string]bool

	// Group commit (commit.go).
	gmu     sync.Mutex
	leading bool     // a leader is committing: new writes queue
	queue   []*write // waiting for the next commit, oldest first
	// queued is a test seam, told the queue's length after each write joins
	// it. It is called with gmu held: it must not block or call the store.
	queued func(n int)
}

var _ payment.Journal = (*Store)(nil)

// LockedError is returned by Open when another process (or another handle in
// this one) holds the database file. It unwraps to bbolt's ErrTimeout.
type LockedError struct {
	Path string
	Err  error
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("database %s is locked: another bridged process is using this data dir: %v", e.Path, e.Err)
}

func (e *LockedError) Unwrap() error { return e.Err }

// Open opens (creating when needed) dir/bridged.db and brings its schema up
// to date: a new file is laid out at the current version in one
// transaction; a file of an older version is migrated by copy (migrate.go),
// the old file kept beside it as the backup. dir is created with mode 0700,
// the file with 0600.
func Open(dir string, o Options) (*Store, error) {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ArchiveChunk <= 0 {
		o.ArchiveChunk = archiveChunk
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data dir: %w", err)
	}
	path := filepath.Join(dir, FileName)
	s := &Store{
		dir:        dir,
		path:       path,
		opts:       o,
		log:        o.Logger.With().Str("component", "store").Logger(),
		now:        o.Now,
		failWrites: o.FailWrites,
		failWrite:  o.FailWrite,
		onCommit:   o.OnCommit,
		onGroup:    o.OnGroup,
		fault:      o.Fault,
	}
	db, err := s.openDB(path)
	if err != nil {
		return nil, err
	}
	s.db = db
	// Leftovers of a migration or a compaction that a crash cut short: the
	// file in place was never touched by them.
	for _, tmp := range []string{path + migratingSuffix, path + compactingSuffix} {
		if err := os.Remove(tmp); err == nil {
			s.log.Warn().Str("path", tmp).Msg("removed an unfinished copy left by a stop in the middle of a migration or compaction")
		}
	}
	if runtime.GOOS != "windows" {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			s.log.Warn().Str("path", path).Str("mode", fi.Mode().Perm().String()).
				Msg("journal file is readable by other users; it holds the upstream token: chmod 600 it")
		}
	}
	var from uint64
	if err := db.View(func(tx *bolt.Tx) error {
		var err error
		from, err = readVersion(tx)
		return err
	}); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	switch {
	case from > schemaVersion:
		_ = db.Close()
		return nil, fmt.Errorf("%w: database %s has schema version %d, this bridged reads up to %d: upgrade bridged or restore a backup made by this version",
			ErrSchemaTooNew, path, from, schemaVersion)
	case from == 0:
		err = s.update(context.Background(), "open", func(tx *bolt.Tx) error { return createSchema(tx, s.now()) })
	case from < schemaVersion:
		err = s.migrate(from)
	default:
		err = db.View(checkSchema)
	}
	if err == nil {
		// An archive whose removal a stop cut short is finished before
		// anything else writes.
		err = s.finishArchives(context.Background())
	}
	if err != nil {
		_ = s.db.Close()
		return nil, err
	}
	return s, nil
}

// openDB opens the bbolt file with the store's options.
func (s *Store) openDB(path string) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: s.opts.Timeout, FreelistType: bolt.FreelistMapType,
		NoFreelistSync: s.opts.NoFreelistSync})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, &LockedError{Path: path, Err: err}
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return db, nil
}

// hit calls the Fault seam at point.
func (s *Store) hit(point string) error {
	if s.fault != nil {
		return s.fault(point)
	}
	return nil
}

// Close closes the file. It waits for running transactions.
func (s *Store) Close() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.dbmu.Lock()
	defer s.dbmu.Unlock()
	return s.db.Close()
}

// Dir is the data dir.
func (s *Store) Dir() string { return s.dir }

// Path is the database file's path.
func (s *Store) Path() string { return s.path }

// Healthy returns nil, or the first write failure since Open. It stays set:
// after a failed write the journal may be missing an acknowledged step, and
// only an operator (restart after fixing the disk) clears it.
func (s *Store) Healthy() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writeErr
}

// Check runs bbolt's consistency check over the whole file and returns the
// first problem. It holds the writer lock while it runs (bbolt's check reads
// the freelist, which only the writer may touch), so writes wait for it.
func (s *Store) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.dbmu.RLock()
	defer s.dbmu.RUnlock()
	tx, err := s.db.Begin(true)
	if err != nil {
		return fmt.Errorf("store: check: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var first error
	for err := range tx.Check() { // drain: the checker goroutine sends every problem
		if first == nil {
			first = err
		}
	}
	if first != nil {
		return fmt.Errorf("%w: bbolt check: %w", ErrCorrupt, first)
	}
	return nil
}

// rejection is an expected refusal (duplicate key, not found, invalid input)
// returned from inside a write transaction: it rolls back like any error but
// is not a storage failure.
type rejection struct{ err error }

func (r *rejection) Error() string { return r.err.Error() }

func reject(err error) error { return &rejection{err: err} }

// WriteError is a failed write: the transaction was rolled back, or its
// commit or fsync failed. It matches payment.ErrStorageFailure with errors.Is.
type WriteError struct {
	Op  string
	Err error
}

func (e *WriteError) Error() string { return "store: " + e.Op + ": " + e.Err.Error() }

func (e *WriteError) Unwrap() error { return e.Err }

// Is makes every write failure a payment.ErrStorageFailure.
func (e *WriteError) Is(target error) bool { return target == payment.ErrStorageFailure }

// view runs fn in a read transaction.
func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.dbmu.RLock()
	defer s.dbmu.RUnlock()
	return s.db.View(fn)
}
