package opscli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/bridgedpos/bridged/internal/apitype"
	"github.com/bridgedpos/bridged/internal/config"
	"github.com/bridgedpos/bridged/internal/store"
)

// The journal's upkeep verbs: backup, restore, verify, compact. Each asks
// the running daemon first (its API holds the journal's lock) and works on
// the file directly when no daemon runs.

// Backup writes a verified backup: bridged backup -o FILE.
func (a *CLI) Backup(ctx context.Context, args []string) error {
	var path, out string
	if _, err := a.Flags("backup", args, func(fs *flag.FlagSet) {
		ConfigFlag(&path)(fs)
		fs.StringVar(&out, "o", "", "the backup file to write (a tar of the journal and its archives)")
	}); err != nil {
		return err
	}
	if out == "" {
		return UsageError{"backup: -o FILE is required"}
	}
	cfg, err := a.opsConfig(path)
	if err != nil {
		return err
	}
	tmp := out + ".partial"
	if err := a.takeBackup(ctx, cfg, tmp); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	rep, err := verifyBackup(ctx, tmp)
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("the backup does not verify, nothing was written to %s: %w", out, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "backup %s: journal head seq %d, %d archive(s), %d entries in the journal; verified (restore it with bridged restore -i %s)\n",
		out, rep.Head, rep.Archives, rep.Journal, out)
	return nil
}

// takeBackup writes a backup of cfg's journal to file: through the daemon
// when it runs, from the file otherwise.
func (a *CLI) takeBackup(ctx context.Context, cfg *config.Config, file string) error {
	f, err := os.OpenFile(file, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	running, err := daemonRunning(ctx, cfg)
	if err != nil {
		return err
	}
	if running {
		fmt.Fprintf(a.Stderr, "bridged is running: taking the backup through its API\n")
		err = streamBackup(ctx, newAPIClient(cfg), f)
	} else {
		fmt.Fprintf(a.Stderr, "bridged is not running: reading the journal in %s directly\n", cfg.DataDir)
		var st *store.Store
		if st, err = store.Open(cfg.DataDir, store.Options{Timeout: time.Second}); err == nil {
			_, err = st.Backup(ctx, f)
			err = errors.Join(err, st.Close())
		}
	}
	if err == nil {
		err = f.Sync()
	}
	return err
}

// daemonRunning reports whether a daemon answers on cfg's listen address.
func daemonRunning(ctx context.Context, cfg *config.Config) (bool, error) {
	_, err := newAPIClient(cfg).do(ctx, http.MethodGet, "/healthz", nil)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, errNotRunning):
		return false, nil
	}
	return false, err
}

// streamBackup copies GET /v1/admin/backup into w. A stream the daemon cut
// short fails here or in the tar reader of verifyBackup.
func streamBackup(ctx context.Context, c *apiClient, w io.Writer) error {
	return c.stream(ctx, http.MethodGet, "/v1/admin/backup", w)
}

// verifyBackup restores a backup into a temporary directory and verifies
// it: bbolt's check, and the journal with its archives.
func verifyBackup(ctx context.Context, file string) (store.ArchiveReport, error) {
	var rep store.ArchiveReport
	dir, err := os.MkdirTemp(filepath.Dir(file), ".bridged-verify-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(dir)
	f, err := os.Open(file)
	if err != nil {
		return rep, err
	}
	defer f.Close()
	if err := store.Restore(f, dir); err != nil {
		return rep, err
	}
	return verifyDir(ctx, dir)
}

func verifyDir(ctx context.Context, dir string) (store.ArchiveReport, error) {
	st, err := store.Open(dir, store.Options{Timeout: time.Second})
	if err != nil {
		return store.ArchiveReport{}, err
	}
	defer st.Close()
	if err := st.Check(ctx); err != nil {
		return store.ArchiveReport{}, err
	}
	return st.VerifyArchives(ctx)
}

// Restore extracts a backup into the data dir: bridged restore -i FILE.
func (a *CLI) Restore(ctx context.Context, args []string) error {
	var path, in, dataDir string
	if _, err := a.Flags("restore", args, func(fs *flag.FlagSet) {
		ConfigFlag(&path)(fs)
		fs.StringVar(&in, "i", "", "the backup file (from bridged backup)")
		fs.StringVar(&dataDir, "data-dir", "", "restore here instead of the config's data_dir")
	}); err != nil {
		return err
	}
	if in == "" {
		return UsageError{"restore: -i FILE is required"}
	}
	if dataDir == "" {
		cfg, err := a.opsConfig(path)
		if err != nil {
			return err
		}
		running, err := daemonRunning(ctx, cfg)
		if err != nil {
			return err
		}
		if running {
			return errors.New("bridged is running: stop it before restoring its journal")
		}
		dataDir = cfg.DataDir
	}
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := store.Restore(f, dataDir); err != nil {
		return err
	}
	rep, err := verifyDir(ctx, dataDir)
	if err != nil {
		return fmt.Errorf("restored into %s, but it does not verify: %w", dataDir, err)
	}
	fmt.Fprintf(a.Stdout, "restored %s into %s: journal head seq %d, %d archive(s); verified\n", in, dataDir, rep.Head, rep.Archives)
	return nil
}

// Verify checks the journal and its archives together: bridged verify.
func (a *CLI) Verify(ctx context.Context, args []string) error {
	var path, backup string
	if _, err := a.Flags("verify", args, func(fs *flag.FlagSet) {
		ConfigFlag(&path)(fs)
		fs.StringVar(&backup, "backup", "", "verify this backup file instead of the data dir")
	}); err != nil {
		return err
	}
	var rep store.ArchiveReport
	var err error
	what := backup
	switch {
	case backup != "":
		rep, err = verifyBackup(ctx, backup)
	default:
		cfg, cerr := a.opsConfig(path)
		if cerr != nil {
			return cerr
		}
		running, rerr := daemonRunning(ctx, cfg)
		if rerr != nil {
			return rerr
		}
		what = cfg.DataDir
		if !running {
			rep, err = verifyDir(ctx, cfg.DataDir)
			break
		}
		// The daemon holds the file: verify a copy it takes now.
		fmt.Fprintf(a.Stderr, "bridged is running: verifying a copy of its journal taken now\n")
		tmp, terr := os.CreateTemp("", "bridged-verify-*.tar")
		if terr != nil {
			return terr
		}
		_ = tmp.Close()
		defer os.Remove(tmp.Name())
		if err = a.takeBackup(ctx, cfg, tmp.Name()); err == nil {
			rep, err = verifyBackup(ctx, tmp.Name())
		}
	}
	if err != nil {
		return fmt.Errorf("%s does not verify: %w", what, err)
	}
	fmt.Fprintf(a.Stdout, "%s verifies: the chain from seq 1 to %d, %d entries in the journal and %d in %d archive(s) (%d operations)\n",
		what, rep.Head, rep.Journal, rep.Entries, rep.Archives, rep.Operations)
	for _, u := range rep.Unlisted {
		fmt.Fprintf(a.Stdout, "note: %s is in the archive directory but the journal does not list it (a stop before its day was removed); it can be deleted\n", u)
	}
	return nil
}

// Compact rewrites the journal's file without its free pages.
func (a *CLI) Compact(ctx context.Context, args []string) error {
	var path string
	var force bool
	if _, err := a.Flags("compact", args, func(fs *flag.FlagSet) {
		ConfigFlag(&path)(fs)
		fs.BoolVar(&force, "force", false, fmt.Sprintf("compact even when less than %.0f%% of the file is free", 100*compactMinFree))
	}); err != nil {
		return err
	}
	cfg, err := a.opsConfig(path)
	if err != nil {
		return err
	}
	running, err := daemonRunning(ctx, cfg)
	if err != nil {
		return err
	}
	var res apitype.CompactResult
	if running {
		fmt.Fprintf(a.Stderr, "bridged is running: it compacts the journal with every terminal held meanwhile\n")
		c := newAPIClient(cfg)
		c.http.Timeout = 0 // a big journal takes a while; the daemon bounds nothing here either
		q := ""
		if force {
			q = "?force=true"
		}
		_, err = c.do(ctx, http.MethodPost, "/v1/admin/compact"+q, &res)
	} else {
		var st *store.Store
		if st, err = store.Open(cfg.DataDir, store.Options{Timeout: time.Second}); err == nil {
			res, err = CompactJournal(ctx, st, force, func(_ context.Context, fn func() error) error { return fn() })
			err = errors.Join(err, st.Close())
		}
	}
	if err != nil {
		return err
	}
	if !res.Compacted {
		fmt.Fprintf(a.Stdout, "not compacted: %s\n", res.Reason)
		return nil
	}
	fmt.Fprintf(a.Stdout, "compacted: %.1f MiB -> %.1f MiB (%.0f%% was free) in %d ms\n",
		float64(res.BeforeBytes)/(1<<20), float64(res.AfterBytes)/(1<<20), 100*res.FreeRatio, res.TookMS)
	return nil
}
