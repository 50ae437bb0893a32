package server

import (
	"net/http/httptest"
	"testing"
	"time"
)

// TestPreferenceOutsideV1ReadsTheHeader: a handler the prefer middleware did
// not run for still gets api.default_wait, or the wait the request asks for,
// never a silent zero.
func TestPreferenceOutsideV1ReadsTheHeader(t *testing.T) {
	s := &server{defaultWait: 7 * time.Second}
	r := httptest.NewRequest("POST", "/elsewhere", nil)
	if p := s.preferenceOf(r); p.wait != 7*time.Second || p.applied != "" {
		t.Fatalf("no Prefer: %+v", p)
	}
	r.Header.Set("Prefer", "wait=3")
	if p := s.preferenceOf(r); p.wait != 3*time.Second || p.applied != "wait=3" {
		t.Fatalf("Prefer: wait=3: %+v", p)
	}
}
