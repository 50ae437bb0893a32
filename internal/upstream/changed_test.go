package upstream

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/bridgedpos/bridged/internal/secret"
)

// TestTokenChangedWakesOnLoginAndOnFailure: whoever waits for the token's
// health (doctor's login check) is woken by the owner's login, and by a
// refused login, instead of polling TokenStatus.
func TestTokenChangedWakesOnLoginAndOnFailure(t *testing.T) {
	for _, tt := range []struct {
		name     string
		password string
		check    func(TokenStatus) bool
	}{
		{"login", testPassword, func(st TokenStatus) bool { return st.Valid && st.Logins == 1 }},
		{"refused", "not-the-password", func(st TokenStatus) bool { return !st.Valid && st.LastErrorClass == AuthFailed }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			c, err := New(Config{BaseURL: f.srv.URL, Logger: zerolog.Nop(), LoginTimeout: 5 * time.Second,
				Credentials: Credentials{ClientID: testClientID, ClientSecret: secret.New(testSecret), Username: testUser, Password: secret.New(tt.password)}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			changed := c.TokenChanged()
			if st := c.TokenStatus(); st.Valid || st.LastError != "" {
				t.Fatalf("before the owner runs: %+v", st)
			}
			runTokenOwner(t, c)
			select {
			case <-changed:
			case <-time.After(30 * time.Second): // a hang guard, not a timing assertion
				t.Fatal("TokenChanged was not closed by the owner's first renewal")
			}
			if st := c.TokenStatus(); !tt.check(st) {
				t.Fatalf("after the change: %+v", st)
			}
			if c.TokenChanged() == changed {
				t.Fatal("TokenChanged handed out the closed channel again")
			}
		})
	}
}
