package store

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Online backup and compaction.
//
// A backup is a tar stream: bridged.db, copied inside one bbolt read
// transaction (a consistent snapshot, taken while writes go on), then every
// archive that snapshot lists (archive/YYYY/MM/DD.jsonl.gz; an archive is
// never changed once written). Restoring is extracting it into an empty data
// dir (Restore), and a restored journal verifies with its archives
// (VerifyArchives) like the original.
//
// Compaction rewrites the file without its free pages (bbolt's Compact)
// into bridged.db.compacting, syncs it, and renames it over bridged.db,
// while no write runs: writes queue behind it, reads go on until the swap.
// A stop before the rename leaves the old file in place (the next open
// removes the copy); after it, the new one.

// BackupInfo says what a backup holds.
type BackupInfo struct {
	JournalBytes int64
	Archives     int
	ArchiveBytes int64
	Head         uint64 // the journal's last seq in the snapshot
}

// Backup writes a backup of the journal and its archives to w as a tar
// stream. It holds one read transaction for as long as it writes.
func (s *Store) Backup(ctx context.Context, w io.Writer) (BackupInfo, error) {
	var info BackupInfo
	tw := tar.NewWriter(w)
	now := s.now()
	err := s.view(ctx, func(tx *bolt.Tx) error {
		head, err := readHead(tx.Bucket(bucketMeta))
		if err != nil {
			return err
		}
		info.Head = head.seq
		var names []string
		if err := tx.Bucket(bucketArchives).ForEach(func(k, _ []byte) error {
			names = append(names, string(k))
			return nil
		}); err != nil {
			return err
		}
		info.JournalBytes = tx.Size()
		if err := tw.WriteHeader(&tar.Header{Name: FileName, Mode: 0o600, Size: tx.Size(), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tx.WriteTo(tw); err != nil {
			return err
		}
		for _, name := range names {
			if err := ctx.Err(); err != nil {
				return err
			}
			n, err := addFile(tw, filepath.Join(s.dir, ArchiveDir, filepath.FromSlash(name)), path.Join(ArchiveDir, name), now)
			if err != nil {
				return fmt.Errorf("archive %s: %w", name, err)
			}
			info.Archives++
			info.ArchiveBytes += n
		}
		return nil
	})
	if err != nil {
		return info, fmt.Errorf("store: backup: %w", err)
	}
	return info, tw.Close()
}

func addFile(tw *tar.Writer, from, name string, now time.Time) (int64, error) {
	f, err := os.Open(from)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: fi.Size(), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
		return 0, err
	}
	return io.Copy(tw, f)
}

// ErrNotEmpty is returned by Restore for a data dir that has a journal.
var ErrNotEmpty = errors.New("the data dir already has a journal")

// Restore extracts a backup (Backup's tar stream) into dataDir, which must
// not hold a journal. It writes bridged.db and the archives only, each
// synced; nothing outside dataDir.
func Restore(r io.Reader, dataDir string) error {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dataDir, FileName)); err == nil {
		return fmt.Errorf("store: restore into %s: %w; move it away first", dataDir, ErrNotEmpty)
	}
	tr := tar.NewReader(r)
	sawJournal := false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("store: restore: not a bridged backup: %w", err)
		}
		name := h.Name
		clean := path.Clean(name)
		switch {
		case h.Typeflag != tar.TypeReg:
			return fmt.Errorf("store: restore: %s is not a regular file", name)
		case clean == FileName:
			sawJournal = true
		case strings.HasPrefix(clean, ArchiveDir+"/") && strings.HasSuffix(clean, ".jsonl.gz") && !strings.Contains(clean, ".."):
		default:
			return fmt.Errorf("store: restore: %s is not a journal or an archive", name)
		}
		dst := filepath.Join(dataDir, filepath.FromSlash(clean))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("store: restore %s: %w", name, err)
		}
	}
	if !sawJournal {
		return fmt.Errorf("store: restore: the backup holds no %s", FileName)
	}
	return syncDir(dataDir)
}

// FileStats is the journal file's size and how much of it is free pages.
type FileStats struct {
	FileBytes int64 // the file's size on disk
	UsedBytes int64 // pages up to bbolt's high-water mark
	FreeBytes int64 // free and pending pages below it (reused by new writes)
}

// FreeRatio is the share of the file in free pages: what compaction gives
// back (the tail that bbolt allocates ahead stays).
func (f FileStats) FreeRatio() float64 {
	if f.FileBytes == 0 {
		return 0
	}
	return float64(f.FreeBytes) / float64(f.FileBytes)
}

// Stats returns the file's sizes.
func (s *Store) Stats(ctx context.Context) (FileStats, error) {
	var st FileStats
	err := s.view(ctx, func(tx *bolt.Tx) error {
		st.UsedBytes = tx.Size()
		return nil
	})
	if err != nil {
		return st, err
	}
	s.dbmu.RLock()
	bs := s.db.Stats()
	page := int64(s.db.Info().PageSize)
	s.dbmu.RUnlock()
	st.FreeBytes = int64(bs.FreePageN+bs.PendingPageN) * page
	fi, err := os.Stat(s.path)
	if err != nil {
		return st, err
	}
	st.FileBytes = fi.Size()
	return st, nil
}

// CompactResult is what a compaction did.
type CompactResult struct {
	Before, After FileStats
	Took          time.Duration
}

// compactTxSize bounds one transaction of the copy.
const compactTxSize = 64 << 20

// Compact rewrites the journal file without its free pages. Writes wait
// for it (they queue, and go on in the new file); reads go on until the
// swap. The caller decides when it is worth it (FileStats.FreeRatio) and
// holds the lanes (payment.Service.Hold) so that no sale waits on it.
func (s *Store) Compact(ctx context.Context) (CompactResult, error) {
	var res CompactResult
	start := time.Now()
	before, err := s.Stats(ctx)
	if err != nil {
		return res, err
	}
	res.Before = before
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := ctx.Err(); err != nil {
		return res, err
	}
	tmp := s.path + compactingSuffix
	_ = os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second, NoSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return res, err
	}
	fail := func(err error) (CompactResult, error) {
		_ = dst.Close()
		_ = os.Remove(tmp)
		return res, fmt.Errorf("store: compact: %w", err)
	}
	s.dbmu.RLock()
	err = bolt.Compact(dst, s.db, compactTxSize)
	s.dbmu.RUnlock()
	if err != nil {
		return fail(err)
	}
	if err := dst.Sync(); err != nil {
		return fail(err)
	}
	if err := dst.Close(); err != nil {
		return fail(err)
	}
	if err := s.hit("compaction"); err != nil {
		_ = os.Remove(tmp)
		return res, err
	}
	if err := s.swap(tmp); err != nil {
		return res, err
	}
	res.After, err = s.Stats(ctx)
	res.Took = time.Since(start)
	s.log.Info().Int64("before_bytes", res.Before.FileBytes).Int64("after_bytes", res.After.FileBytes).
		Dur("took", res.Took).Msg("journal compacted")
	return res, err
}

// swap puts the file at tmp in place of the journal and opens it; no
// reader holds the old file meanwhile. The caller holds wmu.
func (s *Store) swap(tmp string) error {
	s.dbmu.Lock()
	defer s.dbmu.Unlock()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: compact: close: %w", err)
	}
	renameErr := os.Rename(tmp, s.path)
	if renameErr == nil {
		renameErr = syncDir(s.dir)
	}
	db, err := s.openDB(s.path)
	if err != nil {
		// The journal cannot be opened again: fail closed, as a failed write does.
		s.mu.Lock()
		if s.writeErr == nil {
			s.writeErr = &WriteError{Op: "compact", Err: err}
		}
		s.mu.Unlock()
		return fmt.Errorf("store: compact: reopen: %w", err)
	}
	s.db = db
	if renameErr != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("store: compact: put the copy in place: %w", renameErr)
	}
	return nil
}

// MaintainOptions configures Maintain.
type MaintainOptions struct {
	// RetainDays is how many business days stay in the journal; older
	// closed days are archived. 0 archives nothing.
	RetainDays int
	// Location is the business days' time zone; default time.Local.
	Location *time.Location
	// Interval is how often it looks; default one hour.
	Interval time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Maintain archives the closed business days older than RetainDays, once
// at once and then every Interval, until ctx ends. A failed run is logged
// and tried again at the next; a held day is logged each time.
func (s *Store) Maintain(ctx context.Context, o MaintainOptions) error {
	if o.RetainDays <= 0 {
		<-ctx.Done()
		return nil
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Interval <= 0 {
		o.Interval = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	t := time.NewTicker(o.Interval)
	defer t.Stop()
	for {
		before := o.Now().In(o.Location).AddDate(0, 0, -o.RetainDays).Format("20060102")
		_, held, err := s.Archive(ctx, before)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			s.log.Error().Err(err).Msg("archiving the journal's old days failed; trying again later")
		}
		for day, why := range held {
			s.log.Warn().Str("day", day).Str("reason", why).Msg("a business day past retention stays in the journal: it is not closed")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
