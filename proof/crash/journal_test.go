package crash

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/simulator"
	"github.com/bridgedpos/bridged/internal/simulator/simtest"
	"github.com/bridgedpos/bridged/internal/store"
	"github.com/bridgedpos/bridged/proof/harness"
)

// The journal's upkeep, cut short: the real failpoint build is stopped (a
// real kill -9, or the step's I/O failing) in the middle of the migration
// of a journal made by d63fd60, of an archive (its file written, or between
// two of its removal writes) and of an online compaction. The next life
// must start, take a sale, and leave a journal that passes bbolt's check
// and its hash chain with its archives, every operation in exactly one
// place.
var upkeep = []string{"journal_migration", "journal_archive", "journal_archive_removal", "journal_compaction"}

type upkeepTally struct {
	cases, applied, lost, twice, corrupt, restarts, refused atomic.Int64
}

func TestCrashJournalUpkeep(t *testing.T) {
	seeds := harness.EnvInt(t, "PROOF_CRASH_SEEDS", 1)
	bin := harness.Binary(t, "failpoint")
	var tl upkeepTally
	start := time.Now()
	t.Run("cases", func(t *testing.T) {
		for seed := 1; seed <= seeds; seed++ {
			for _, b := range upkeep {
				for _, f := range []string{"kill", "io_error"} {
					t.Run(fmt.Sprintf("%s/%s/%d", b, f, seed), func(t *testing.T) {
						t.Parallel()
						runUpkeep(t, bin, b, f, seed, &tl)
					})
				}
			}
		}
	})
	harness.Summary(t, fmt.Sprintf("journal upkeep crashes: %d cases (%d steps × kill, io_error × %d seeds) in %s; %d faults applied; "+
		"%d operations lost, %d in two places, %d journal check failures, %d lives that did not start, %d sales refused after",
		tl.cases.Load(), len(upkeep), seeds, time.Since(start).Round(time.Second), tl.applied.Load(),
		tl.lost.Load(), tl.twice.Load(), tl.corrupt.Load(), tl.restarts.Load(), tl.refused.Load()))
}

// oldDays journals three business days a month back (40 approved sales
// each on lane-1) and one sale of today, with the store's own API, and
// returns their ids.
func oldDays(t *testing.T, dataDir string, seed int) []string {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(dataDir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ids []string
	now := time.Now()
	for d, back := range []int{30, 29, 28, 0} {
		y, m, day := now.AddDate(0, 0, -back).Date()
		midnight := time.Date(y, m, day, 0, 0, 0, 0, time.Local)
		n := 40
		if back == 0 {
			n = 1
		}
		for i := range n {
			id := fmt.Sprintf("op_old%d%02d%03d%03d", seed, d, i, back)
			op := &payment.Operation{ID: id, Kind: payment.KindSale, Client: "ecr", IdempotencyKey: id, Reference: id,
				Terminal: "lane-1", DeviceUniqueID: device, Amount: payment.NewMoney(int64(100+i), payment.TRY), Installment: 1,
				TransactionReferenceID: "brg-" + id, State: payment.StateSending, BusinessDay: midnight.Format("20060102"),
				CreatedAt: midnight.Add(10*time.Hour + time.Duration(i)*time.Minute)}
			got, err := st.Begin(ctx, op)
			if err != nil {
				t.Fatal(err)
			}
			got.State, got.Resolution, got.PaymentID = payment.StateApproved, payment.ResolvedDirect, "pay-"+id
			if err := st.Record(ctx, got); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
	}
	return ids
}

func runUpkeep(t *testing.T, bin, boundary, fault string, seed int, tl *upkeepTally) {
	tl.cases.Add(1)
	_, srv := simtest.Start(t, simulator.Config{Devices: []string{device}})
	capture := harness.NewCapture(t, "upkeep")
	capture.Secret(harness.DefaultKey, harness.OpsKey, "sim-secret", "sim-password")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := harness.WriteConfig(t, dir, harness.Config{UpstreamURL: srv.URL, Terminals: []harness.Terminal{{ID: "lane-1", Device: device}},
		Extra: "journal:\n  retain_days: 7\n"})
	ctx := context.Background()
	var ids []string
	var fixture []byte
	if boundary == "journal_migration" {
		// A journal of schema v1, made by d63fd60 (internal/store/testdata).
		fixture = gunzip(t, filepath.Join("..", "..", "internal", "store", "testdata", "v1.db.gz"))
		if err := os.MkdirAll(data, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(data, store.FileName), fixture, 0o600); err != nil {
			t.Fatal(err)
		}
	} else {
		ids = oldDays(t, data, seed)
	}
	if boundary == "journal_compaction" {
		// The old days archived first: the file has free pages to give back.
		st, err := store.Open(data, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.Archive(ctx, time.Now().AddDate(0, 0, -7).Format("20060102")); err != nil {
			t.Fatal(err)
		}
		st.Close()
	}

	// First life: the fault fires once, in the middle of the step.
	env := []string{"BRIDGED_FAILPOINT=" + boundary + "=" + fault, "BRIDGED_FAILPOINT_TIMINGS=" + harness.Timings}
	d, err := harness.Start(t, bin, cfg, env, capture, "life-1.log")
	switch {
	case boundary == "journal_migration":
		// The migration runs before ready: the daemon stops there.
		if err == nil {
			t.Fatalf("the daemon got ready with the migration's %s armed", fault)
		}
	case err != nil:
		t.Fatal(err)
	case boundary == "journal_compaction":
		// Compaction is the operator's (scope operate), never the ECR's.
		operator := harness.NewECR(t, d.Addr, harness.OpsKey, capture, 30*time.Second)
		a := operator.Do("POST", "/v1/admin/compact?force=true", "", nil, 0)
		if fault == "io_error" && a.HTTP != 503 {
			t.Errorf("compaction with its I/O failing answered %v", a)
		}
	}
	if d == nil || !d.WaitFailpoint(boundary+" "+fault+" applied", 30*time.Second) {
		if d != nil {
			d.Kill()
			t.Fatalf("the fault never took effect (failpoint lines %q):\n%s", d.Failpoints(), d.Tail())
		}
		t.Fatalf("no daemon: %v", err)
	}
	tl.applied.Add(1)
	if fault == "kill" {
		<-d.Exited()
	}
	d.Kill()
	if boundary == "journal_migration" {
		if got, err := os.ReadFile(filepath.Join(data, store.FileName)); err != nil || string(got) != string(fixture) {
			t.Fatalf("the v1 journal changed under a migration cut short (%v)", err)
		}
	}

	// Second life: a plain start, a sale.
	d2, err := harness.Start(t, bin, cfg, []string{"BRIDGED_FAILPOINT_TIMINGS=" + harness.Timings}, capture, "life-2.log")
	if err != nil {
		tl.restarts.Add(1)
		t.Fatalf("the next life did not start: %v", err)
	}
	ecr := harness.NewECR(t, d2.Addr, harness.DefaultKey, capture, 3*time.Second)
	key := fmt.Sprintf("UPKEEP-%s-%s-%d", boundary, fault, seed)
	if a := ecr.Do("POST", "/v1/payments", key, saleBody("vuk509", "149.90", key), 5); a.Status != "approved" {
		tl.refused.Add(1)
		t.Errorf("a sale after the restart: %v %s", a, a.Raw)
	}
	if err := d2.Stop(10 * time.Second); err != nil {
		t.Error(err)
	}

	// The journal, and everything in exactly one place.
	st, problem := harness.OpenJournal(t, dir)
	if problem != nil {
		tl.corrupt.Add(1)
		t.Error(problem)
	}
	if _, _, err := st.Archive(ctx, time.Now().AddDate(0, 0, -7).Format("20060102")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.VerifyArchives(ctx); err != nil {
		tl.corrupt.Add(1)
		t.Errorf("journal and archives: %v", err)
	}
	where := map[string]int{}
	var f payment.Filter
	f.Limit = 1000
	for {
		page, next, err := st.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range page {
			where[op.ID]++
		}
		if next == "" {
			break
		}
		f.Cursor = next
	}
	files, err := store.ArchiveFiles(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		ops, err := store.ReadArchive(file)
		if err != nil {
			tl.corrupt.Add(1)
			t.Errorf("archive %s: %v", file, err)
		}
		for _, op := range ops {
			where[op.ID]++
		}
	}
	if boundary == "journal_migration" {
		if len(where) != 700+1 {
			tl.lost.Add(1)
			t.Errorf("%d operations after the migration, want the fixture's 700 and the new sale", len(where))
		}
		if baks, _ := filepath.Glob(filepath.Join(data, store.FileName+".schema1-*.bak")); len(baks) != 1 {
			t.Errorf("backups of the v1 journal: %v", baks)
		}
	}
	for _, id := range ids {
		switch where[id] {
		case 0:
			tl.lost.Add(1)
			t.Errorf("operation %s is neither in the journal nor in an archive", id)
		case 1:
		default:
			tl.twice.Add(1)
			t.Errorf("operation %s is in %d places", id, where[id])
		}
	}
	if _, err := st.ByKey(ctx, "ecr", key); err != nil {
		tl.lost.Add(1)
		t.Errorf("the sale after the restart: %v", err)
	}
	if strings.Contains(boundary, "archive") && len(files) != 3 {
		t.Errorf("%d archives, want the 3 old days'", len(files))
	}
}

func gunzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
