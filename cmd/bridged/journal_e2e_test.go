package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bridgedpos/bridged/internal/store"
)

// TestBackupDuring64LaneLoad: bridged backup, taken through the running
// daemon while 64 lanes make sales, restores (bridged restore) into a
// journal that verifies (bridged verify) and holds every sale the ECRs were
// told was approved before the backup began; bridged compact then runs with
// the lanes held, and the verbs work on the stopped daemon's file too.
func TestBackupDuring64LaneLoad(t *testing.T) {
	e := startE2E(t, e2eOpts{terminals: 64})
	cfgPath := configFile(t, e.cfg)
	var mu sync.Mutex
	var approved []string
	stop := make(chan struct{})
	warm := make(chan struct{})
	var wg sync.WaitGroup
	var count atomic.Int64
	for lane := 1; lane <= 64; lane++ {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("L%d-%d", lane, i)
				r := e.pay(key, fmt.Sprintf(`{"amount":"1.%02d","reference":%q,"terminal":"lane-%d"}`, i%100, key, lane))
				if r.status != 201 || r.str("status") != "approved" {
					t.Errorf("sale %s: %d %s", key, r.status, r.raw)
					return
				}
				mu.Lock()
				approved = append(approved, r.str("id"))
				mu.Unlock()
				if count.Add(1) == 128 {
					close(warm)
				}
			}
		})
	}
	<-warm // the lanes are selling
	mu.Lock()
	before := append([]string(nil), approved...)
	mu.Unlock()
	file := filepath.Join(t.TempDir(), "bridged.tar")
	out, err := runCLI(t, "backup", "-c", cfgPath, "-o", file)
	close(stop)
	wg.Wait()
	if err != nil || !strings.Contains(out, "verified") {
		t.Fatalf("backup during the load: %v\n%s", err, out)
	}
	restored := filepath.Join(t.TempDir(), "data")
	if out, err := runCLI(t, "restore", "-i", file, "--data-dir", restored); err != nil || !strings.Contains(out, "verified") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	st, err := store.Open(restored, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range before {
		if op, err := st.Get(context.Background(), id); err != nil || op.State != "approved" {
			t.Fatalf("sale %s, approved before the backup, in the restored journal: %+v, %v", id, op, err)
		}
	}
	_ = st.Close()
	t.Logf("%d sales approved before the backup, %d in all", len(before), len(approved))
	if out, err := runCLI(t, "verify", "--backup", file); err != nil || !strings.Contains(out, "verifies") {
		t.Fatalf("verify --backup: %v\n%s", err, out)
	}
	if out, err := runCLI(t, "verify", "-c", cfgPath); err != nil || !strings.Contains(out, "verifies") {
		t.Fatalf("verify of the running daemon: %v\n%s", err, out)
	}
	if out, err := runCLI(t, "compact", "-c", cfgPath, "--force"); err != nil || !strings.Contains(out, "compacted:") {
		t.Fatalf("compact of the running daemon: %v\n%s", err, out)
	}
	expect(t, e.pay("after-compact", `{"amount":"2.00","reference":"AC","terminal":"lane-1"}`), 201, "status", "approved")
	// The daemon stopped: the verbs open the file themselves.
	e.stop()
	cfg := *e.cfg
	cfg.Listen = deadAddr(t)
	stopped := configFile(t, &cfg)
	if out, err := runCLI(t, "verify", "-c", stopped); err != nil || !strings.Contains(out, "verifies") {
		t.Fatalf("verify of the stopped daemon's journal: %v\n%s", err, out)
	}
	if out, err := runCLI(t, "compact", "-c", stopped); err != nil || !strings.Contains(out, "not compacted") {
		t.Fatalf("compact of a file with little free: %v\n%s", err, out)
	}
	if out, err := runCLI(t, "backup", "-c", stopped, "-o", file+"2"); err != nil || !strings.Contains(out, "verified") {
		t.Fatalf("backup of the stopped daemon's journal: %v\n%s", err, out)
	}
	if out, err := runCLI(t, "restore", "-c", stopped, "-i", file); err == nil {
		t.Fatalf("restore over a journal succeeded:\n%s", out)
	}
	if _, err := runCLI(t, "backup", "-c", stopped); err == nil {
		t.Fatal("backup without -o succeeded")
	}
}
