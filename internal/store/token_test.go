package store

import (
	"context"
	"testing"
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
