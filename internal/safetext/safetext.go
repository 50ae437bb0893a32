// Package safetext makes text that bridged did not write itself (an ECR's
// reference or item name, iyzico's messages) safe to show: in a terminal
// (`bridged tx list`, `tx show`), in a CSV a spreadsheet opens (`bridged
// export`), and on the status page. Control characters could move the
// cursor, end a row or a line; bidirectional controls could make a reference
// read backwards ("Trojan Source"); a cell beginning with = + - @ is run as a
// formula by spreadsheets.
package safetext

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape replaces every control character (C0, DEL, C1), every format
// character (bidirectional embeddings, overrides, isolates and marks,
// zero-width characters, BOM) and the line and paragraph separators with a
// visible <U+XXXX>, and an invalid byte with U+FFFD. Everything else, Turkish
// letters included, stays as it is.
func Escape(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteRune(unicode.ReplacementChar)
		case unsafeRune(r):
			fmt.Fprintf(&b, "<U+%04X>", r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || unsafeRune(r) {
			return true
		}
		i += n
	}
	return false
}

func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}

// CSVCell is Escape, then the OWASP rule against CSV injection: a cell that
// begins (after any spaces) with = + - @, or their full-width forms, gets a
// leading ' so that a spreadsheet shows it as text instead of running it. A
// plain number (-20.00) stays as it is: it cannot be a formula.
func CSVCell(s string) string {
	s = Escape(s)
	t := strings.TrimLeft(s, " ")
	if t == "" || isNumber(t) {
		return s
	}
	r, _ := utf8.DecodeRuneInString(t)
	switch r {
	case '=', '+', '-', '@', '＝', '＋', '－', '＠':
		return "'" + s
	}
	return s
}

// isNumber: an optional minus, digits, and an optional fraction.
func isNumber(s string) bool {
	s = strings.TrimPrefix(s, "-")
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || (dot && frac == "") {
		return false
	}
	for _, part := range []string{whole, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}
