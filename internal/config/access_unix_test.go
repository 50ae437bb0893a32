//go:build !windows

package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckAccess: a config other users can read or change, or a data dir
// they can open, is a problem that says how to fix it; owner-only is none.
func TestCheckAccess(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "bridged.yaml")
	data := filepath.Join(dir, "data")
	if err := os.WriteFile(cfgPath, []byte(validYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if ps := CheckAccess(cfgPath, data); len(ps) != 0 {
		t.Fatalf("owner-only files: %v", ps)
	}
	if ps := CheckAccess(cfgPath, filepath.Join(dir, "not-yet")); len(ps) != 0 {
		t.Fatalf("a data dir still to create: %v", ps)
	}
	tests := []struct {
		name       string
		file, data os.FileMode
		want       string
	}{
		{"world-readable config", 0o644, 0o700, "every user of this machine can read"},
		{"world-writable config", 0o666, 0o700, "other users can change it"},
		{"open data dir", 0o600, 0o777, "data_dir: " + data + " is mode 0777"},
		{"group-readable data dir", 0o600, 0o750, "data_dir: " + data + " is mode 0750"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.Chmod(cfgPath, tt.file); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(data, tt.data); err != nil {
				t.Fatal(err)
			}
			ps := CheckAccess(cfgPath, data)
			if len(ps) == 0 || !strings.Contains(ps.Error(), tt.want) || !strings.Contains(ps.Error(), "allow_open_permissions") {
				t.Fatalf("want %q with the opt-out named, got %v", tt.want, ps)
			}
		})
	}
	// A group-readable config is fine when the group is the process's own
	// (the packaged 0640 root:bridged, read by the service).
	if err := os.Chmod(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(cfgPath, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(cfgPath, -1, os.Getegid()); err != nil {
		t.Fatal(err)
	}
	if ps := CheckAccess(cfgPath, data); len(ps) != 0 {
		t.Fatalf("0640 with the process's group: %v", ps)
	}
	// A config in a directory others can write can be replaced.
	open := filepath.Join(dir, "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	inOpen := filepath.Join(open, "bridged.yaml")
	if err := os.WriteFile(inOpen, []byte(validYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	if ps := CheckAccess(inOpen, ""); len(ps) == 0 || !strings.Contains(ps.Error(), "can replace the config") {
		t.Fatalf("config in a world-writable directory: %v", ps)
	}
}
