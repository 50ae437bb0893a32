package main

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestUntarWritesFilesAndRefusesEscapes(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, body string) {
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	add(&tar.Header{Name: "cmd/", Typeflag: tar.TypeDir, Mode: 0o755}, "")
	add(&tar.Header{Name: "cmd/main.go", Typeflag: tar.TypeReg, Mode: 0o644}, "package main\n")
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := untar(bytes.NewReader(buf.Bytes()), dir); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "cmd", "main.go"))
	if err != nil || string(got) != "package main\n" {
		t.Fatalf("cmd/main.go = %q, %v", got, err)
	}

	buf.Reset()
	tw = tar.NewWriter(&buf)
	add(&tar.Header{Name: "../evil", Typeflag: tar.TypeReg, Mode: 0o644}, "x")
	_ = tw.Close()
	if err := untar(bytes.NewReader(buf.Bytes()), t.TempDir()); err == nil || !strings.Contains(err.Error(), "leaves the directory") {
		t.Fatalf("an entry outside the directory: err = %v", err)
	}
}

func TestBaselineMarkdownMediansAndRatios(t *testing.T) {
	sc := func(p50 time.Duration, tput float64) scenario {
		return scenario{Target: targetBridged, Concurrency: 1, Latency: dist{N: 10, P50: p50, P99: 2 * p50}, Throughput: tput,
			CPU: &saleCPU{User: p50 / 2}}
	}
	r := &report{Baseline: &baselineRun{Rev: "v1", Commit: "0123456789abcdef", Rounds: 3, Rows: []baselineRow{{
		Concurrency: 1,
		Baseline:    []scenario{sc(2*time.Millisecond, 500), sc(4*time.Millisecond, 250), sc(3*time.Millisecond, 300)},
		Current:     []scenario{sc(3*time.Millisecond, 330), sc(3*time.Millisecond, 330), sc(3*time.Millisecond, 330)},
	}}}}
	w := &mdWriter{}
	r.mdBaseline(w)
	md := w.b.String()
	for _, want := range []string{
		"`v1` (0123456789ab)",
		"| 1 | p50 | 3.00 ms | 3.00 ms | 1.00× | 0.75, 1.00, 1.50 |",
		"| 1 | sales/s | 300 | 330 | 1.10× | 0.66, 1.10, 1.32 |",
		"| 1 | bridged CPU per sale | 1.50 ms | 1.50 ms | 1.00× |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}
