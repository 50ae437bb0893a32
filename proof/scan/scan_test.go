package scan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestScanCaptures is the scanner of issue 9: after the other suites ran with
// PROOF_CAPTURE_DIR set, it scans everything they captured. Without the
// variable there is nothing to scan and it skips.
func TestScanCaptures(t *testing.T) {
	dir := os.Getenv("PROOF_CAPTURE_DIR")
	if dir == "" {
		t.Skip("PROOF_CAPTURE_DIR is not set")
	}
	r, err := Dir(dir, "sim-secret", "sim-password")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Findings {
		t.Error(f)
	}
	if r.Files == 0 {
		t.Fatalf("%s holds no captured files: the suites did not capture", dir)
	}
	t.Log(r.Summary())
	if path := os.Getenv("PROOF_SUMMARY"); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(r.Summary() + "\n"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFindsWhatMustNotBeThere(t *testing.T) {
	const (
		token  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKLMNOPQRST"
		apiKey = "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	)
	tests := []struct {
		name, text, kind string
	}{
		{"visa in a log line", `{"level":"info","card":"4111111111111111"}`, "card_number"},
		{"troy 16 digits", `pan=9792030000000000 ok`, "card_number"},
		{"amex 15 digits", `x 378282246310005 y`, "card_number"},
		{"19 digits", `6304000000000000000`, "card_number"},
		{"grouped with spaces", `card 4111 1111 1111 1111 read`, "card_number"},
		{"grouped with dashes", `card 5555-5555-5555-4444 read`, "card_number"},
		{"a listed token", `{"msg":"got ` + token + `"}`, "secret"},
		{"the api key", `Authorization header was ` + apiKey, "secret"},
		{"a bearer header", `Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abcdefgh`, "bearer_token"},
		{"a token field", `{"access_token":"abcdefghijkl"}`, "token_field"},
		{"a refresh form value", `grant_type=refresh_token&refresh_token=abcdefghijkl`, "token_field"},
		{"a password field", `{"password":"hunter22"}`, "credential_field"},
		{"a client secret form value", `client_id=a&client_secret=s3cr3tvalue`, "credential_field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Bytes("f", []byte(tt.text), []string{token, apiKey})
			for _, f := range got {
				if f.Kind == tt.kind {
					for _, secret := range []string{token, apiKey, "4111111111111111", "hunter22", "s3cr3tvalue"} {
						if strings.Contains(f.String(), secret) {
							t.Fatalf("the finding repeats the secret: %s", f)
						}
					}
					return
				}
			}
			t.Fatalf("no %s finding in %q: %v", tt.kind, tt.text, got)
		})
	}
}

func TestLeavesHonestTextAlone(t *testing.T) {
	for _, text := range []string{
		`{"card":{"masked_pan":"552879******0001","bin":"552879","last_four":"0001"}}`,
		`{"amount":"149.90","payment_id":"28911573","time":"2026-11-23T10:00:00.123456789+03:00"}`,
		`{"password":"***","client_secret":"***"}`,
		`Authorization: Bearer ***`,
		`4111111111111112`,     // fails Luhn
		`41111111111111110000`, // 20 digits: not a card number
		`device PAV860047264 lane-1 reference ECR-000123`,
		`{"id":"op_01a2097cf12d7dbc8e2978381234561433f"}`, // digits inside a hex id
		`{"message":"ready","listen":"127.0.0.1:41234"}`,
	} {
		if got := Bytes("f", []byte(text), []string{"not-in-here"}); len(got) > 0 {
			t.Errorf("%q: %v", text, got)
		}
	}
}

func TestDirReadsNeedlesAndSkipsTheirFiles(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "case-1")
	if err := os.MkdirAll(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(sub, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(NeedlesFile, "refresh-token-value-123\n\nab\n")
	write("daemon.log", "{\"msg\":\"ok\"}\n{\"msg\":\"refresh-token-value-123\"}\n")
	write("answers.jsonl", "{\"status\":\"approved\"}\n")
	r, err := Dir(root, "sim-secret")
	if err != nil {
		t.Fatal(err)
	}
	if r.Files != 2 || r.Needles != 2 {
		t.Fatalf("files %d needles %d, want 2 and 2 (the needle file skipped, a 2-char needle ignored)", r.Files, r.Needles)
	}
	if len(r.Findings) != 1 || r.Findings[0].File != filepath.Join("case-1", "daemon.log") || r.Findings[0].Line != 2 {
		t.Fatalf("findings %v, want one at case-1/daemon.log:2", r.Findings)
	}
}
