package store

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/bridgedpos/bridged/internal/payment"
)

// Archives. A closed business day older than the retention (the config's
// journal.retain_days) is written to <data_dir>/archive/YYYY/MM/DD.jsonl.gz
// and then removed from the journal, so that the file reaches a steady size
// (bbolt reuses the pages freed). A day is closed when every one of its
// operations is final, none needs attention (a watched settlement, an open
// conflict), none has a child that is not final, and none wrote the
// journal's last entry. A day that is not closed stays and is looked at
// again at the next run.
//
// An archive holds whole operations: each with every journal entry it ever
// had (an effect written on a later day included). It is gzip of JSON lines:
//
//	{"bridged_archive":1,"day":"20250103","part":1,"record_codec":2,"operations":N,"entries":M,
//	 "anchor":{"seq":S,"hash":"…"},"written_at":"…"}                                   the header
//	{"seq":1,"prev":"…","hash":"…","at":"…","op":"op_…","state":"sending","record_sha256":"…"}  entries, by seq
//	{"seqs":[1,5],"operation":{…the record's JSON (codec.go)…}}                       operations, by id
//
// where an entry's hash is the journal's (chain.go) and the anchor is the
// journal's head when the archive was written: "the hash-chain anchor of
// its day". An operation whose JSON does not give back its exact record
// (a string that is not UTF-8) also carries "record" (base64). The journal
// lists each archive (the archives bucket) with its sha256, so that
// VerifyArchives finds a changed line or a missing file; the entries left in
// the journal after one that was archived verify through the anchor kept in
// journal_gaps.
//
// Steps, each safe to cut by a crash:
//
//  1. freeze (one write): the day is checked closed, and its operations are
//     frozen: no child may be journaled on them from then on (Begin refuses
//     it as not found), so nothing changes them;
//  2. the file is written under a temporary name, synced, renamed, and the
//     directory synced; a crash leaves a file the journal does not list,
//     which the next run writes again;
//  3. removal, in writes of archiveChunk operations: the first lists the
//     archive (incomplete), the last marks it complete. A crash in between
//     leaves an incomplete listing, whose removal Open finishes before
//     anything else writes.

// archiveFormat is the archive's version (the header's bridged_archive).
const archiveFormat = 1

// archiveChunk is how many operations one removal write holds by default
// (Options.ArchiveChunk): short enough that the writes queued behind it
// wait a few tens of milliseconds.
const archiveChunk = 2000

// ArchiveDir is the archives' directory inside the data dir.
const ArchiveDir = "archive"

// ArchivedDay is one archive written by Archive.
type ArchivedDay struct {
	Day        string // YYYYMMDD
	File       string // relative to the archive directory: YYYY/MM/DD.jsonl.gz
	Operations int
	Entries    int
}

// archiveListing is the archives bucket's value for one file.
type archiveListing struct {
	Day        string `json:"day"`
	Part       int    `json:"part"`
	SHA256     string `json:"sha256"`
	Operations int    `json:"operations"`
	Entries    int    `json:"entries"`
	Complete   bool   `json:"complete"`
}

type archiveHeader struct {
	Format      int          `json:"bridged_archive"`
	Day         string       `json:"day"`
	Part        int          `json:"part"`
	RecordCodec int          `json:"record_codec"`
	Operations  int          `json:"operations"`
	Entries     int          `json:"entries"`
	Anchor      archiveEntry `json:"anchor"`
	WrittenAt   string       `json:"written_at"`
}

type archiveEntry struct {
	Seq          uint64 `json:"seq"`
	Prev         string `json:"prev,omitempty"`
	Hash         string `json:"hash"`
	At           string `json:"at,omitempty"`
	Op           string `json:"op,omitempty"`
	State        string `json:"state,omitempty"`
	RecordSHA256 string `json:"record_sha256,omitempty"`
}

type archiveOp struct {
	Seqs      []uint64        `json:"seqs"`
	Operation json.RawMessage `json:"operation"`
	Record    string          `json:"record,omitempty"`
}

// frozenErr is Begin's refusal of a child of an operation being archived.
func frozenErr(parent string) error {
	return fmt.Errorf("store: operation %s is being archived: %w", parent, payment.ErrNotFound)
}

// Archive moves every closed business day before `before` (YYYYMMDD, not
// included) out of the journal into its archive, oldest first, and returns
// what it wrote. Days that are not closed are skipped and named in held.
func (s *Store) Archive(ctx context.Context, before string) (done []ArchivedDay, held map[string]string, err error) {
	held = map[string]string{}
	for {
		if err := ctx.Err(); err != nil {
			return done, held, err
		}
		day, ids, err := s.nextDay(ctx, before, held)
		if err != nil || day == "" {
			return done, held, err
		}
		ad, why, err := s.archiveDay(ctx, day, ids)
		if err != nil {
			return done, held, fmt.Errorf("store: archive %s: %w", day, err)
		}
		if why != "" {
			held[day] = why
			continue
		}
		done = append(done, ad)
	}
}

// dayHorizon bounds how far past a day's last operation (in creation order)
// its stragglers are looked for: a clock set back by up to this much still
// finds them; one set back further leaves them for a second part.
const dayHorizon = 48 * time.Hour

// nextDay finds the oldest business day before `before` that is not held,
// and the ids of its operations.
func (s *Store) nextDay(ctx context.Context, before string, held map[string]string) (string, []string, error) {
	var day string
	var ids []string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		ops := tx.Bucket(bucketOps)
		c := tx.Bucket(bucketCreated).Cursor()
		var last time.Time
	walk:
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) < 8 {
				return errCorruptKey(bucketCreated, k)
			}
			at := createdKeyTime(k)
			if day != "" && at.Sub(last) > dayHorizon {
				break
			}
			v := ops.Get(k[8:])
			if v == nil {
				return fmt.Errorf("%w: creation index names missing operation %s", ErrCorrupt, k[8:])
			}
			op, _, err := decodeValue(v)
			if err != nil {
				return err
			}
			switch {
			case day == "" && op.BusinessDay >= before:
				break walk // creation order is business-day order: nothing older follows
			case day == "" && held[op.BusinessDay] != "":
			case day == "":
				day, last = op.BusinessDay, at
				ids = append(ids, op.ID)
			case op.BusinessDay == day:
				last = at
				ids = append(ids, op.ID)
			}
		}
		return nil
	})
	return day, ids, err
}

// archiveDay archives the operations ids of day: freeze, file, removal. A
// day that is not closed returns why.
func (s *Store) archiveDay(ctx context.Context, day string, ids []string) (ArchivedDay, string, error) {
	ad := ArchivedDay{Day: day}
	why, err := s.freeze(ctx, ids)
	if err != nil || why != "" {
		return ad, why, err
	}
	defer s.unfreeze()
	name, part, err := s.archiveName(ctx, day)
	if err != nil {
		return ad, "", err
	}
	ad.File = name
	sum, hdr, err := s.writeArchive(ctx, day, part, ids, filepath.Join(s.dir, ArchiveDir, filepath.FromSlash(name)))
	if err != nil {
		return ad, "", err
	}
	ad.Operations, ad.Entries = hdr.Operations, hdr.Entries
	if err := s.hit("archive_written"); err != nil {
		return ad, "", err
	}
	l := archiveListing{Day: day, Part: part, SHA256: hex.EncodeToString(sum[:]), Operations: hdr.Operations, Entries: hdr.Entries}
	if err := s.removeArchived(ctx, name, l, ids); err != nil {
		return ad, "", err
	}
	s.log.Info().Str("day", day).Str("file", name).Int("operations", ad.Operations).Int("entries", ad.Entries).
		Msg("business day archived and removed from the journal")
	return ad, "", nil
}

// freeze checks, in one write, that the operations make a closed day, and
// freezes them (Begin refuses a child of a frozen operation).
func (s *Store) freeze(ctx context.Context, ids []string) (string, error) {
	why := ""
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	err := s.update(ctx, "archive freeze", func(tx *bolt.Tx) error {
		why = ""
		s.setFrozen(nil)
		ops := tx.Bucket(bucketOps)
		head, err := readHead(tx.Bucket(bucketMeta))
		if err != nil {
			return err
		}
		for _, id := range ids {
			v := ops.Get([]byte(id))
			if v == nil {
				return reject(fmt.Errorf("store: operation %s: %w", id, payment.ErrNotFound))
			}
			op, val, err := decodeValue(v)
			if err != nil {
				return err
			}
			switch {
			case !op.State.Final():
				why = "operation " + id + " is not final"
			case op.Attention():
				why = "operation " + id + " needs attention"
			case val.last() == head.seq:
				why = "operation " + id + " wrote the journal's last entry"
			}
			if why != "" {
				return nil
			}
		}
		// A child that is not final will record an effect on its parent.
		err = tx.Bucket(bucketOpen).ForEach(func(k, _ []byte) error {
			op, err := getOp(tx, string(k))
			if err != nil {
				return err
			}
			if set[op.ParentID] {
				why = "operation " + op.ParentID + " has a child that is not final: " + op.ID
			}
			return nil
		})
		if err != nil || why != "" {
			return err
		}
		s.setFrozen(set)
		return nil
	})
	if err != nil {
		s.setFrozen(nil)
	}
	return why, err
}

func (s *Store) setFrozen(set map[string]bool) {
	s.fmu.Lock()
	s.frozen = set
	s.fmu.Unlock()
}

func (s *Store) unfreeze() { s.setFrozen(nil) }

func (s *Store) isFrozen(id string) bool {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return s.frozen[id]
}

// archiveName picks the day's file: YYYY/MM/DD.jsonl.gz, or DD-N.jsonl.gz
// for a later part of a day archived before (stragglers).
func (s *Store) archiveName(ctx context.Context, day string) (string, int, error) {
	if len(day) != 8 {
		return "", 0, fmt.Errorf("%w: business day %q", ErrCorrupt, day)
	}
	base := day[:4] + "/" + day[4:6] + "/" + day[6:]
	part := 1
	err := s.view(ctx, func(tx *bolt.Tx) error {
		for tx.Bucket(bucketArchives).Get([]byte(partName(base, part))) != nil {
			part++
		}
		return nil
	})
	return partName(base, part), part, err
}

func partName(base string, part int) string {
	if part == 1 {
		return base + ".jsonl.gz"
	}
	return fmt.Sprintf("%s-%d.jsonl.gz", base, part)
}

// writeArchive writes the day's archive to path (through a temporary file,
// synced, renamed, directory synced) and returns its sha256 and header.
func (s *Store) writeArchive(ctx context.Context, day string, part int, ids []string, path string) ([32]byte, archiveHeader, error) {
	var sum [32]byte
	hdr := archiveHeader{Format: archiveFormat, Day: day, Part: part, RecordCodec: int(recordV2),
		WrittenAt: s.now().UTC().Format(time.RFC3339Nano)}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return sum, hdr, err
	}
	var entries []archiveEntry
	var opLines [][]byte
	err := s.view(ctx, func(tx *bolt.Tx) error {
		head, err := readHead(tx.Bucket(bucketMeta))
		if err != nil {
			return err
		}
		hdr.Anchor = archiveEntry{Seq: head.seq, Hash: hex.EncodeToString(head.hash[:])}
		entries, opLines, err = archiveContents(tx, ids)
		return err
	})
	if err != nil {
		return sum, hdr, err
	}
	slices.SortFunc(entries, func(a, b archiveEntry) int { return compareU64(a.Seq, b.Seq) })
	hdr.Operations, hdr.Entries = len(opLines), len(entries)
	sum, err = writeArchiveFile(path, hdr, entries, opLines)
	return sum, hdr, err
}

// archiveContents reads the frozen operations ids, in id order: each one's
// journal entries (each hash checked against its contents and the entry
// before) and its record line.
func archiveContents(tx *bolt.Tx, ids []string) ([]archiveEntry, [][]byte, error) {
	var entries []archiveEntry
	var opLines [][]byte
	ops := tx.Bucket(bucketOps)
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	for _, id := range sorted {
		v := ops.Get([]byte(id))
		if v == nil {
			return nil, nil, fmt.Errorf("%w: operation %s vanished while frozen", ErrCorrupt, id)
		}
		op, val, err := decodeValue(v)
		if err != nil {
			return nil, nil, err
		}
		if entries, err = appendArchiveEntries(entries, tx, id, val.seqs); err != nil {
			return nil, nil, err
		}
		line, err := archiveLine(op, val)
		if err != nil {
			return nil, nil, err
		}
		opLines = append(opLines, line)
	}
	return entries, opLines, nil
}

// appendArchiveEntries appends the journal entries seqs of operation id,
// each hash checked against its contents and the entry before.
func appendArchiveEntries(entries []archiveEntry, tx *bolt.Tx, id string, seqs []uint64) ([]archiveEntry, error) {
	journal := tx.Bucket(bucketJournal)
	for _, seq := range seqs {
		e, rest, err := parseEntry(seq, journal.Get(seqKey(seq)))
		if err != nil {
			return nil, err
		}
		prev, err := prevHash(tx, seq)
		if err != nil {
			return nil, err
		}
		if entryHash(prev, seq, rest) != e.hash {
			return nil, &ChainError{Seq: seq, OpID: id, Reason: "hash does not match the entry's contents or the entry before"}
		}
		entries = append(entries, archiveEntry{Seq: seq, Prev: hex.EncodeToString(prev[:]), Hash: hex.EncodeToString(e.hash[:]),
			At: e.at.Format(time.RFC3339Nano), Op: e.opID, State: string(e.state), RecordSHA256: hex.EncodeToString(e.recSum[:])})
	}
	return entries, nil
}

// archiveLine is an operation's line: its seqs and its JSON mirror, plus the
// record itself where the mirror would not give it back byte for byte.
func archiveLine(op *payment.Operation, val opValue) ([]byte, error) {
	js, err := encodeJSON(op)
	if err != nil {
		return nil, err
	}
	ao := archiveOp{Seqs: val.seqs, Operation: js}
	if back, err := recordOfJSON(js); err != nil || !bytes.Equal(back, val.record) {
		ao.Record = base64.StdEncoding.EncodeToString(val.record)
	}
	return json.Marshal(ao)
}

// writeArchiveFile writes the archive (header, entries, operation lines,
// gzipped) to path through a temporary file, synced, renamed, directory
// synced, and returns its sha256.
func writeArchiveFile(path string, hdr archiveHeader, entries []archiveEntry, opLines [][]byte) ([32]byte, error) {
	var sum [32]byte
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return sum, err
	}
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, h), 256<<10)
	zw := gzip.NewWriter(bw)
	enc := json.NewEncoder(zw)
	werr := enc.Encode(hdr)
	for i := 0; i < len(entries) && werr == nil; i++ {
		werr = enc.Encode(entries[i])
	}
	for i := 0; i < len(opLines) && werr == nil; i++ {
		if _, werr = zw.Write(opLines[i]); werr == nil {
			_, werr = zw.Write([]byte{'\n'})
		}
	}
	for _, step := range []func() error{zw.Close, bw.Flush, f.Sync} {
		if werr == nil {
			werr = step()
		}
	}
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr == nil {
		werr = syncDir(filepath.Dir(path))
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return sum, fmt.Errorf("write %s: %w", path, werr)
	}
	h.Sum(sum[:0])
	return sum, nil
}

func compareU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// recordOfJSON is the record an archive's operation line stands for.
func recordOfJSON(js []byte) ([]byte, error) {
	op, err := decodeJSON(js)
	if err != nil {
		return nil, err
	}
	return encodeRecord(op)
}

// prevHash is the hash of the entry before seq: that entry's, or its
// anchor when it was archived, or zeros before the first.
func prevHash(tx *bolt.Tx, seq uint64) ([32]byte, error) {
	var h [32]byte
	if seq <= 1 {
		return h, nil
	}
	if v := tx.Bucket(bucketJournal).Get(seqKey(seq - 1)); v != nil {
		e, _, err := parseEntry(seq-1, v)
		return e.hash, err
	}
	a := tx.Bucket(bucketGaps).Get(seqKey(seq))
	if len(a) != 32 {
		return h, &ChainError{Seq: seq, Reason: "entry before was archived and no anchor stands for it"}
	}
	copy(h[:], a)
	return h, nil
}

// removeArchived removes the archived operations from the journal in
// chunks: their records, entries and index entries, keeping an anchor for
// every entry left whose predecessor goes. The first chunk lists the
// archive, incomplete; the last completes it.
func (s *Store) removeArchived(ctx context.Context, name string, l archiveListing, ids []string) error {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	n := s.opts.ArchiveChunk
	for start := 0; start < len(sorted) || start == 0; start += n {
		chunk := sorted[start:min(start+n, len(sorted))]
		last := start+n >= len(sorted)
		err := s.update(ctx, "archive remove "+name, func(tx *bolt.Tx) error {
			if err := removeOps(tx, chunk); err != nil {
				return err
			}
			l.Complete = last
			v, err := json.Marshal(l)
			if err != nil {
				return err
			}
			return tx.Bucket(bucketArchives).Put([]byte(name), v)
		})
		if err != nil {
			return err
		}
		if !last {
			if err := s.hit("archive_removing"); err != nil {
				return err
			}
		}
	}
	return nil
}

// removeOps deletes operations (present or already gone) with their entries
// and index entries, anchoring what is left of the chain.
func removeOps(tx *bolt.Tx, ids []string) error {
	ops, journal, gaps := bucket(tx, bucketOps), bucket(tx, bucketJournal), tx.Bucket(bucketGaps)
	var seqs []uint64
	for _, id := range ids {
		v := ops.Get([]byte(id))
		if v == nil {
			continue // removed by a run a crash cut short
		}
		op, val, err := decodeValue(v)
		if err != nil {
			return err
		}
		seqs = append(seqs, val.seqs...)
		if err := ops.Delete([]byte(id)); err != nil {
			return err
		}
		if op.IdempotencyKey != "" {
			idem := tx.Bucket(bucketIdem)
			if k := idemKey(op.Client, op.IdempotencyKey); string(idem.Get(k)) == op.ID {
				if err := idem.Delete(k); err != nil {
					return err
				}
			}
		}
		dels := []struct {
			b []byte
			k []byte
		}{{bucketCreated, createdKey(op.CreatedAt, op.ID)}, {bucketOpen, []byte(op.ID)}, {bucketAttention, []byte(op.ID)}}
		if op.Reference != "" {
			dels = append(dels, struct{ b, k []byte }{bucketRef, refKey(op.Reference, op.ID)})
		}
		if op.ParentID != "" {
			dels = append(dels, struct{ b, k []byte }{bucketParent, parentKey(op.ParentID, op.ID)})
		}
		if ownsPaymentID(op) {
			dels = append(dels, struct{ b, k []byte }{bucketPaymentID, paymentIDKey(op.PaymentID, op.ID)})
		}
		for _, d := range dels {
			if err := bucket(tx, d.b).Delete(d.k); err != nil {
				return err
			}
		}
	}
	slices.Sort(seqs)
	for _, seq := range seqs {
		k := seqKey(seq)
		v := journal.Get(k)
		if v == nil {
			return fmt.Errorf("%w: journal entry %d listed by an archived operation is missing", ErrCorrupt, seq)
		}
		e, _, err := parseEntry(seq, v)
		if err != nil {
			return err
		}
		if err := journal.Delete(k); err != nil {
			return err
		}
		if err := gaps.Delete(k); err != nil {
			return err
		}
		if journal.Get(seqKey(seq+1)) != nil {
			if err := gaps.Put(seqKey(seq+1), e.hash[:]); err != nil {
				return err
			}
		}
	}
	return nil
}

// finishArchives completes the removal of an archive that a crash
// interrupted (Open runs it, before anything else writes).
func (s *Store) finishArchives(ctx context.Context) error {
	type pending struct {
		name string
		l    archiveListing
	}
	var todo []pending
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketArchives).ForEach(func(k, v []byte) error {
			var l archiveListing
			if err := json.Unmarshal(v, &l); err != nil {
				return fmt.Errorf("%w: archive listing %s: %w", ErrCorrupt, k, err)
			}
			if !l.Complete {
				todo = append(todo, pending{string(k), l})
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, p := range todo {
		a, err := readArchive(filepath.Join(s.dir, ArchiveDir, filepath.FromSlash(p.name)))
		if err != nil {
			return fmt.Errorf("store: finish archiving %s: %w", p.name, err)
		}
		if hex.EncodeToString(a.sum[:]) != p.l.SHA256 {
			return fmt.Errorf("store: finish archiving %s: the file differs from the one listed", p.name)
		}
		ids := make([]string, 0, len(a.ops))
		for _, o := range a.ops {
			ids = append(ids, o.id)
		}
		s.log.Warn().Str("file", p.name).Int("operations", len(ids)).Msg("finishing the removal of an archived day that a stop interrupted")
		if err := s.removeArchived(ctx, p.name, p.l, ids); err != nil {
			return err
		}
	}
	return nil
}

// readArchiveHeader reads an archive's first line.
func readArchiveHeader(path string) (archiveHeader, error) {
	var h archiveHeader
	f, err := os.Open(path)
	if err != nil {
		return h, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return h, err
	}
	line, err := bufio.NewReader(zr).ReadBytes('\n')
	if err != nil {
		return h, err
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil || h.Format != archiveFormat {
		return h, fmt.Errorf("%w: not a bridged archive header (%v)", ErrCorrupt, err)
	}
	return h, nil
}

// archiveFile is a parsed archive.
type archiveFile struct {
	sum     [32]byte
	header  archiveHeader
	entries []archiveEntryParsed
	ops     []archiveOpParsed
}

type archiveEntryParsed struct {
	entry
	prev [32]byte
}

type archiveOpParsed struct {
	id     string
	seqs   []uint64
	record []byte
}

// readArchive reads and parses an archive file; every line must parse.
func readArchive(path string) (*archiveFile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	a := &archiveFile{sum: sha256.Sum256(raw)}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	line := 0
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: archive %s line %d: %s", ErrCorrupt, path, line, fmt.Sprintf(format, args...))
	}
	for sc.Scan() {
		line++
		b := sc.Bytes()
		switch {
		case line == 1:
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&a.header); err != nil || a.header.Format != archiveFormat {
				return nil, bad("not a bridged archive header (%v)", err)
			}
		case bytes.HasPrefix(b, []byte(`{"seq":`)):
			var ae archiveEntry
			if err := json.Unmarshal(b, &ae); err != nil {
				return nil, bad("%v", err)
			}
			e, err := parseArchiveEntry(ae)
			if err != nil {
				return nil, bad("%v", err)
			}
			a.entries = append(a.entries, e)
		default:
			var ao archiveOp
			if err := json.Unmarshal(b, &ao); err != nil {
				return nil, bad("%v", err)
			}
			var rec []byte
			if ao.Record != "" {
				rec, err = base64.StdEncoding.DecodeString(ao.Record)
			} else {
				rec, err = recordOfJSON(ao.Operation)
			}
			if err != nil {
				return nil, bad("%v", err)
			}
			op, err := decodeRecord(rec)
			if err != nil || len(ao.Seqs) == 0 {
				return nil, bad("operation: %v", err)
			}
			a.ops = append(a.ops, archiveOpParsed{id: op.ID, seqs: ao.Seqs, record: rec})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if line == 0 {
		return nil, bad("empty")
	}
	return a, nil
}

func parseArchiveEntry(ae archiveEntry) (archiveEntryParsed, error) {
	var e archiveEntryParsed
	e.seq, e.opID, e.state = ae.Seq, ae.Op, payment.State(ae.State)
	at, err := time.Parse(time.RFC3339Nano, ae.At)
	if err != nil {
		return e, err
	}
	e.at = at.UTC()
	for _, x := range []struct {
		s   string
		dst *[32]byte
	}{{ae.Prev, &e.prev}, {ae.Hash, &e.hash}, {ae.RecordSHA256, &e.recSum}} {
		b, err := hex.DecodeString(x.s)
		if err != nil || len(b) != 32 {
			return e, fmt.Errorf("entry %d: bad hash %q", ae.Seq, x.s)
		}
		copy(x.dst[:], b)
	}
	return e, nil
}

// rest is the part of a compact entry after its hash, as the chain hashes it.
func (e archiveEntryParsed) rest() []byte {
	v, _ := entryValue([32]byte{}, e.seq, e.at, e.opID, e.state, e.recSum)
	return v[33:]
}

// ArchiveReport is what VerifyArchives checked.
type ArchiveReport struct {
	Archives   int    // files listed and verified
	Operations int    // operations in them
	Entries    int    // journal entries in them
	Journal    int    // entries still in the journal
	Head       uint64 // the chain's last seq, verified from 1 through the archives and the journal
	Unlisted   []string
}

// VerifyArchives verifies the journal (VerifyChain) and its archives
// together: every archive the journal lists is there with its sha256, each
// line parses, each entry's hash follows from its contents and the entry
// before, each archived record is the one its last entry names, and the
// entries of the archives and of the journal make one chain from seq 1 to
// the head, each seq once, every archive's anchor on it. A changed line, a
// missing day or a removed entry is a *ChainError or a listing error.
// Files in the archive directory that the journal does not list (left by a
// stop before the removal began) are reported, not failed.
func (s *Store) VerifyArchives(ctx context.Context) (ArchiveReport, error) {
	var rep ArchiveReport
	n, err := s.VerifyChain(ctx)
	if err != nil {
		return rep, err
	}
	rep.Journal = n
	v := &archiveCheck{rep: &rep, listed: map[string]archiveListing{}, anchors: map[uint64][32]byte{}}
	if err := s.view(ctx, v.readJournal); err != nil {
		return rep, err
	}
	if err := v.readAnchors(filepath.Join(s.dir, ArchiveDir)); err != nil {
		return rep, err
	}
	if err := s.view(ctx, v.anchorsInJournal); err != nil {
		return rep, err
	}
	for _, name := range v.names {
		if err := v.checkArchive(filepath.Join(s.dir, ArchiveDir), name); err != nil {
			return rep, err
		}
	}
	if err := v.checkTiling(); err != nil {
		return rep, err
	}
	rep.Unlisted = unlistedArchives(filepath.Join(s.dir, ArchiveDir), v.listed)
	return rep, nil
}

// chainRun is a run of consecutive entries, in the journal or an archive.
type chainRun struct {
	first, last         uint64
	prevFirst, hashLast [32]byte
	where               string
}

// archiveCheck is VerifyArchives in progress.
type archiveCheck struct {
	rep     *ArchiveReport
	listed  map[string]archiveListing // the journal's listing, by name
	names   []string                  // the listed names, sorted
	runs    []chainRun
	anchors map[uint64][32]byte // seq -> hash the anchors say, until found on the chain
}

// readJournal reads the archive listing, the head and the journal's runs of
// consecutive entries.
func (v *archiveCheck) readJournal(tx *bolt.Tx) error {
	if err := tx.Bucket(bucketArchives).ForEach(func(k, val []byte) error {
		var l archiveListing
		if err := json.Unmarshal(val, &l); err != nil {
			return fmt.Errorf("%w: archive listing %s: %w", ErrCorrupt, k, err)
		}
		v.listed[string(k)] = l
		return nil
	}); err != nil {
		return err
	}
	head, err := readHead(tx.Bucket(bucketMeta))
	if err != nil {
		return err
	}
	v.rep.Head = head.seq
	c := tx.Bucket(bucketJournal).Cursor()
	var cur *chainRun
	for k, val := c.First(); k != nil; k, val = c.Next() {
		seq := binary.BigEndian.Uint64(k)
		e, _, err := parseEntry(seq, val)
		if err != nil {
			return err
		}
		if cur == nil || seq != cur.last+1 {
			prev, err := prevHash(tx, seq)
			if err != nil {
				return err
			}
			v.runs = append(v.runs, chainRun{first: seq, prevFirst: prev, where: "the journal"})
			cur = &v.runs[len(v.runs)-1]
		}
		cur.last, cur.hashLast = seq, e.hash
	}
	return nil
}

// readAnchors reads every listed archive's anchor (from its header): each
// must be on the chain, its seq somewhere, with that hash.
func (v *archiveCheck) readAnchors(dir string) error {
	v.names = make([]string, 0, len(v.listed))
	for name := range v.listed {
		v.names = append(v.names, name)
	}
	slices.Sort(v.names)
	for _, name := range v.names {
		h, err := readArchiveHeader(filepath.Join(dir, filepath.FromSlash(name)))
		if errors.Is(err, os.ErrNotExist) {
			return &ChainError{Reason: fmt.Sprintf("archive %s: listed in the journal but missing (day %s)", name, v.listed[name].Day)}
		}
		if err != nil {
			return &ChainError{Reason: fmt.Sprintf("archive %s: %v", name, err)}
		}
		ah, err := hex.DecodeString(h.Anchor.Hash)
		if err != nil || len(ah) != 32 {
			return &ChainError{Reason: fmt.Sprintf("archive %s: bad anchor", name)}
		}
		v.anchors[h.Anchor.Seq] = [32]byte(ah)
	}
	return nil
}

// anchorsInJournal checks the anchors whose entries are still in the journal.
func (v *archiveCheck) anchorsInJournal(tx *bolt.Tx) error {
	journal := tx.Bucket(bucketJournal)
	for seq := range v.anchors {
		if val := journal.Get(seqKey(seq)); val != nil {
			e, _, err := parseEntry(seq, val)
			if err != nil {
				return err
			}
			if e.hash != v.anchors[seq] {
				return &ChainError{Seq: seq, Reason: "an archive's anchor does not match the journal's entry"}
			}
			delete(v.anchors, seq)
		}
	}
	return nil
}

// checkArchive verifies one listed archive: there with its sha256, its
// header and listing true to its contents, its entries chained, its records
// the ones their last entries name.
func (v *archiveCheck) checkArchive(dir, name string) error {
	l := v.listed[name]
	fail := archiveFailure(name)
	a, err := readArchive(filepath.Join(dir, filepath.FromSlash(name)))
	if errors.Is(err, os.ErrNotExist) {
		return fail(0, "", "listed in the journal but missing (day %s)", l.Day)
	}
	if err != nil {
		return fail(0, "", "%v", err)
	}
	if hex.EncodeToString(a.sum[:]) != l.SHA256 {
		return fail(0, "", "the file's sha256 is %x, the journal lists %s: it was changed", a.sum, l.SHA256)
	}
	h := a.header
	if h.Day != l.Day || h.Part != l.Part || h.Operations != len(a.ops) || h.Entries != len(a.entries) ||
		l.Operations != len(a.ops) || l.Entries != len(a.entries) {
		return fail(0, "", "header or listing does not match the file's contents")
	}
	byOp, sums, err := v.chainEntries(a, name)
	if err != nil {
		return err
	}
	for _, o := range a.ops {
		if !slices.Equal(o.seqs, byOp[o.id]) {
			return fail(o.seqs[0], o.id, "the operation's entries are not the ones its line lists")
		}
		delete(byOp, o.id)
		if sha256.Sum256(o.record) != sums[o.seqs[len(o.seqs)-1]] {
			return fail(o.seqs[len(o.seqs)-1], o.id, "operation record differs from the one its last entry names")
		}
	}
	for id, seqs := range byOp {
		return fail(seqs[0], id, "entry of an operation the archive does not hold")
	}
	v.rep.Archives++
	v.rep.Operations += len(a.ops)
	v.rep.Entries += len(a.entries)
	return nil
}

// chainEntries checks an archive's entries (in order, each hash true, each
// chained to the one before in the file) and adds their runs; it returns
// each operation's seqs and each entry's record sha256.
func (v *archiveCheck) chainEntries(a *archiveFile, name string) (map[string][]uint64, map[uint64][32]byte, error) {
	fail := archiveFailure(name)
	byOp := map[string][]uint64{}
	sums := map[uint64][32]byte{}
	var cur *chainRun
	for i, e := range a.entries {
		if i > 0 && e.seq <= a.entries[i-1].seq {
			return nil, nil, fail(e.seq, e.opID, "entries out of order")
		}
		if entryHash(e.prev, e.seq, e.rest()) != e.hash {
			return nil, nil, fail(e.seq, e.opID, "hash does not match the entry's contents")
		}
		if cur != nil && e.seq == cur.last+1 {
			if e.prev != cur.hashLast {
				return nil, nil, fail(e.seq, e.opID, "previous hash does not match the entry before")
			}
		} else {
			v.runs = append(v.runs, chainRun{first: e.seq, prevFirst: e.prev, where: "archive " + name})
			cur = &v.runs[len(v.runs)-1]
		}
		cur.last, cur.hashLast = e.seq, e.hash
		if want, ok := v.anchors[e.seq]; ok {
			if want != e.hash {
				return nil, nil, fail(e.seq, e.opID, "an archive's anchor does not match this entry")
			}
			delete(v.anchors, e.seq)
		}
		byOp[e.opID] = append(byOp[e.opID], e.seq)
		sums[e.seq] = e.recSum
	}
	return byOp, sums, nil
}

// archiveFailure returns the *ChainError maker of archive name.
func archiveFailure(name string) func(seq uint64, op, format string, args ...any) error {
	return func(seq uint64, op, format string, args ...any) error {
		return &ChainError{Seq: seq, OpID: op, Reason: fmt.Sprintf("archive %s: %s", name, fmt.Sprintf(format, args...))}
	}
}

// checkTiling checks that the runs make one chain from 1 to the head, each
// linked to the one before, and that every anchor was found on it.
func (v *archiveCheck) checkTiling() error {
	slices.SortFunc(v.runs, func(a, b chainRun) int { return compareU64(a.first, b.first) })
	var prev [32]byte
	var next uint64 = 1
	for _, r := range v.runs {
		switch {
		case r.first > next:
			return &ChainError{Seq: next, Reason: fmt.Sprintf("entries %d to %d are neither in the journal nor in an archive", next, r.first-1)}
		case r.first < next:
			return &ChainError{Seq: r.first, Reason: "entry " + fmt.Sprint(r.first) + " is twice: in " + r.where + " and elsewhere"}
		case r.prevFirst != prev:
			return &ChainError{Seq: r.first, Reason: "the entry before, in the journal or an archive, has another hash than " + r.where + " says"}
		}
		prev, next = r.hashLast, r.last+1
	}
	if next != v.rep.Head+1 && v.rep.Head != 0 {
		return &ChainError{Seq: next, Reason: fmt.Sprintf("the chain ends at %d, its head is %d", next-1, v.rep.Head)}
	}
	for seq := range v.anchors {
		return &ChainError{Seq: seq, Reason: "an archive's anchor names an entry that is nowhere"}
	}
	return nil
}

// unlistedArchives lists the files under dir that are not listed.
func unlistedArchives(dir string, listed map[string]archiveListing) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return nil
		}
		if _, ok := listed[filepath.ToSlash(rel)]; !ok && strings.HasSuffix(rel, ".jsonl.gz") {
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

// ReadArchive returns the operations of one archive file, each as the
// journal held it when its day was archived. It checks the file's lines
// (each parses, each record is the one its line stands for) but not its
// place in the chain: VerifyArchives does that, with the journal.
func ReadArchive(path string) ([]*payment.Operation, error) {
	a, err := readArchive(path)
	if err != nil {
		return nil, err
	}
	out := make([]*payment.Operation, 0, len(a.ops))
	for _, o := range a.ops {
		op, err := decodeRecord(o.record)
		if err != nil {
			return nil, err
		}
		out = append(out, op)
	}
	return out, nil
}

// ArchiveFiles lists the archive files under a data dir, oldest day first.
func ArchiveFiles(dataDir string) ([]string, error) {
	var out []string
	root := filepath.Join(dataDir, ArchiveDir)
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if errors.Is(err, os.ErrNotExist) && p == root {
			return filepath.SkipDir
		}
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".jsonl.gz") {
			out = append(out, p)
		}
		return nil
	})
	slices.Sort(out)
	return out, err
}
