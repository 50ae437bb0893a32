package idempotency

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckKey(t *testing.T) {
	for k, ok := range map[string]bool{
		"ECR-000123":             true,
		"a":                      true,
		strings.Repeat("k", 128): true,
		"":                       false,
		strings.Repeat("k", 129): false,
		"tab\there":              false,
		"ünïcode":                false,
		"newline\n":              false,
	} {
		err := CheckKey(k)
		if (err == nil) != ok {
			t.Errorf("CheckKey(%q) = %v", k, err)
		}
		if err != nil && !errors.Is(err, ErrInvalidKey) {
			t.Errorf("error not ErrInvalidKey: %v", err)
		}
	}
}

func TestFingerprintSeparatesFields(t *testing.T) {
	a := NewFingerprint().Add("x", "ab").Add("y", "c").Sum()
	b := NewFingerprint().Add("x", "a").Add("y", "bc").Sum()
	c := NewFingerprint().Add("x", "ab").Add("y", "c").Sum()
	if a == b {
		t.Error("field boundaries not part of the fingerprint")
	}
	if a != c {
		t.Error("fingerprint not deterministic")
	}
	if NewFingerprint().AddInt("amount", 14990).Sum() == NewFingerprint().AddInt("amount", 14991).Sum() {
		t.Error("amount not part of the fingerprint")
	}
}

func TestDecide(t *testing.T) {
	tests := []struct {
		name     string
		found    bool
		stored   string
		fp       string
		inFlight bool
		want     Decision
	}{
		{"unused key", false, "", "f1", false, New},
		{"done, same request", true, "f1", "f1", false, Replay},
		{"in flight, same request", true, "f1", "f1", true, Join},
		{"different request", true, "f1", "f2", false, Conflict},
		{"different request while in flight", true, "f1", "f2", true, Conflict},
	}
	for _, tt := range tests {
		if got := Decide(tt.found, tt.stored, tt.fp, tt.inFlight); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
