// Package scan looks through what the proof suites captured (daemon logs,
// journal exports, every HTTP answer) for what must never appear there: a
// full card number, the client secret, a password, an access or refresh
// token, an API key. A finding names the file, the line and the kind, never
// the value itself.
package scan

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// NeedlesFile is the name of the file, in any folder of a capture, that
// lists one secret per line for the scan to look for. The scan never looks
// inside these files.
const NeedlesFile = "needles.txt"

// minNeedle is the shortest secret worth looking for: shorter values (a test
// password like "x") would match by accident.
const minNeedle = 6

// Finding is one thing found where it must not be.
type Finding struct {
	File string
	Line int
	Kind string // "card_number", "secret", "bearer_token", "token_field", "credential_field"
	Hint string // a masked excerpt: never the value
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d: %s (%s)", f.File, f.Line, f.Kind, f.Hint)
}

// Report is the result of a scan.
type Report struct {
	Files, Bytes int64
	Needles      int
	Findings     []Finding
}

// Summary is the one line a suite prints.
func (r Report) Summary() string {
	return fmt.Sprintf("scan: %d files, %.1f MB, %d secrets looked for, %d findings",
		r.Files, float64(r.Bytes)/1e6, r.Needles, len(r.Findings))
}

var (
	// digitRun is a run of 13–19 digits, or four-digit groups split by one
	// space or dash as printed on a receipt; the borders are checked apart.
	digitRun = regexp.MustCompile(`\d{13,19}|\d{4}[ -]\d{4}[ -]\d{4}[ -]\d{1,7}`)
	bearer   = regexp.MustCompile(`(?i)bearer[ :=]+([A-Za-z0-9._~+/-]{16,}=*)`)
	// tokenField is a token's JSON field or form parameter with a value.
	tokenField = regexp.MustCompile(`(?i)"?(access_token|refresh_token|accessToken|refreshToken|id_token)"?\s*[:=]\s*"?([^"&\s,}]{8,})`)
	// credField is a credential's JSON field or form parameter with a value.
	credField = regexp.MustCompile(`(?i)"?(client_secret|clientSecret|password|api_key|apiKey)"?\s*[:=]\s*"?([^"&\s,}]{4,})`)
)

// masked values a field may carry without leaking anything.
var maskedValues = []string{"***", "[redacted]", "redacted", "REDACTED", "<redacted>"}

// Dir scans every regular file under root (NeedlesFile excepted), looking for
// the secrets listed in every NeedlesFile found there plus extra.
func Dir(root string, extra ...string) (Report, error) {
	needles, err := collectNeedles(root, extra)
	if err != nil {
		return Report{}, err
	}
	r := Report{Needles: len(needles)}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() || d.Name() == NeedlesFile {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		r.Files++
		r.Bytes += int64(len(data))
		r.Findings = append(r.Findings, Bytes(rel, data, needles)...)
		return nil
	})
	return r, err
}

func collectNeedles(root string, extra []string) ([]string, error) {
	set := map[string]bool{}
	for _, n := range extra {
		if len(n) >= minNeedle {
			set[n] = true
		}
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.Name() != NeedlesFile {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, n := range strings.Split(string(data), "\n") {
			if n = strings.TrimSpace(n); len(n) >= minNeedle {
				set[n] = true
			}
		}
		return nil
	})
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	slices.Sort(out)
	return out, err
}

// Bytes scans one file's content; name labels its findings.
func Bytes(name string, data []byte, needles []string) []Finding {
	var out []Finding
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for n := 1; sc.Scan(); n++ {
		out = append(out, line(name, n, sc.Text(), needles)...)
	}
	return out
}

func line(name string, n int, s string, needles []string) []Finding {
	var out []Finding
	add := func(kind, hint string) { out = append(out, Finding{File: name, Line: n, Kind: kind, Hint: hint}) }
	for _, loc := range digitRun.FindAllStringIndex(s, -1) {
		if loc[0] > 0 && isWord(s[loc[0]-1]) || loc[1] < len(s) && isWord(s[loc[1]]) {
			continue // part of a longer number, or of an id or a hash (op_01a2…)
		}
		digits := strings.NewReplacer(" ", "", "-", "").Replace(s[loc[0]:loc[1]])
		if len(digits) >= 13 && len(digits) <= 19 && Luhn(digits) {
			add("card_number", MaskPAN(digits))
		}
	}
	for _, nd := range needles {
		if strings.Contains(s, nd) {
			add("secret", fmt.Sprintf("a listed secret of %d characters", len(nd)))
		}
	}
	for _, m := range bearer.FindAllStringSubmatch(s, -1) {
		if !isMasked(m[1]) {
			add("bearer_token", fmt.Sprintf("Bearer value of %d characters", len(m[1])))
		}
	}
	for _, m := range tokenField.FindAllStringSubmatch(s, -1) {
		if !isMasked(m[2]) {
			add("token_field", fmt.Sprintf("%s with a value of %d characters", m[1], len(m[2])))
		}
	}
	for _, m := range credField.FindAllStringSubmatch(s, -1) {
		if !isMasked(m[2]) {
			add("credential_field", fmt.Sprintf("%s with a value of %d characters", m[1], len(m[2])))
		}
	}
	return out
}

func isMasked(v string) bool {
	v = strings.Trim(v, `"'`)
	return slices.Contains(maskedValues, v) || strings.Trim(v, "*xX•") == ""
}

func isWord(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_'
}

// Luhn reports whether a string of digits passes the Luhn check.
func Luhn(digits string) bool {
	sum, double := 0, false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// MaskPAN keeps the first six and last four digits, as receipts do.
func MaskPAN(digits string) string {
	if len(digits) < 10 {
		return strings.Repeat("*", len(digits))
	}
	return digits[:6] + strings.Repeat("*", len(digits)-10) + digits[len(digits)-4:]
}
