package store

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/bridgedpos/bridged/internal/payment"
)

func TestToken(t *testing.T) {
	ctx := context.Background()
	s := newTest(t)
	if tok, err := s.LoadToken(ctx); tok != nil || err != nil {
		t.Fatalf("LoadToken on a new store = %v, %v; want nil, nil", tok, err)
	}
	want := testToken()
	if err := s.SaveToken(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken != want.AccessToken || got.RefreshToken != want.RefreshToken || got.TokenType != want.TokenType ||
		!got.Expiry.Equal(want.Expiry) || got.ExpiresIn != want.ExpiresIn {
		t.Errorf("LoadToken = %+v, want %+v", got, want)
	}
	next := testToken()
	next.AccessToken = "rotated"
	if err := s.SaveToken(ctx, next); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.LoadToken(ctx); got.AccessToken != "rotated" {
		t.Errorf("after replace: %q", got.AccessToken)
	}
	if err := s.SaveToken(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if tok, err := s.LoadToken(ctx); tok != nil || err != nil {
		t.Errorf("after SaveToken(nil) = %v, %v", tok, err)
	}
}

func TestReports(t *testing.T) {
	ctx := context.Background()
	s := newTest(t)
	for _, r := range []struct{ id, terminal string }{{"e1", "lane-1"}, {"e2", "lane-2"}, {"e3", "lane-1"}} {
		op := &payment.Operation{ID: r.id, Kind: payment.KindEndOfDay, Terminal: r.terminal, State: payment.StateApproved, BusinessDay: "20261122"}
		mustBegin(t, s, op)
		js, _ := json.Marshal(map[string]string{"op": r.id})
		if err := s.SaveReport(ctx, r.id, js); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SaveReport(ctx, "missing", []byte(`{}`)); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("SaveReport for a missing operation = %v", err)
	}
	var ve *payment.ValidationError
	if err := s.SaveReport(ctx, "e1", []byte(`{`)); !errors.As(err, &ve) {
		t.Errorf("SaveReport of invalid JSON = %v", err)
	}
	if _, err := s.Report(ctx, "missing"); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("Report missing = %v", err)
	}

	data, err := s.Report(ctx, "e1")
	if err != nil || string(data) != `{"op":"e1"}` {
		t.Fatalf("Report = %s, %v", data, err)
	}
	data[2] = 'X'
	if again, _ := s.Report(ctx, "e1"); string(again) != `{"op":"e1"}` {
		t.Error("Report returned memory shared with the store")
	}

	tests := []struct {
		terminal string
		limit    int
		want     []string
	}{
		{"", 0, []string{"e3", "e2", "e1"}},
		{"lane-1", 0, []string{"e3", "e1"}},
		{"lane-1", 1, []string{"e3"}},
		{"lane-9", 0, nil},
	}
	for _, tt := range tests {
		rs, err := s.Reports(ctx, tt.terminal, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rs {
			got = append(got, r.OpID)
			if r.Terminal == "" || r.BusinessDay != "20261122" || r.CreatedAt.IsZero() || len(r.Data) == 0 {
				t.Errorf("report %+v", r)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Reports(%q, %d) = %v, want %v", tt.terminal, tt.limit, got, tt.want)
		}
	}
}
