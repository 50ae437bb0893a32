package payment_test

import (
	"errors"
	"math"
	"math/big"
	"regexp"
	"strings"
	"testing"

	"github.com/bridgedpos/bridged/internal/payment"
)

// plainDecimal is the amount form docs/api.md promises: at most two
// decimals, no sign, no exponent, no leading zeros, no spaces.
var plainDecimal = regexp.MustCompile(`^(0|[1-9][0-9]*)(\.[0-9]{1,2})?$`)

// maxMinor is the largest amount ParseMoney accepts, 9999999999999.99: at
// most 13 whole digits. (Its own bound of 10^15 minor units is never reached.)
const maxMinor = int64(1e15) - 1

// FuzzParseMoney checks the parsing of amounts and currencies at the edge:
// only the documented plain decimal form is accepted, its value is exact, and
// an amount survives the round trip through the text bridged writes
// (Decimal, and String with its currency).
func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"149.90", "5", "0.5", "0", "0.00", "9999999999999.99", "10000000000000", "1e2", "-1", "+1",
		"1.001", "05", " 5", "5 ", "5.", ".5", "1,5", "١٢", "0x1F", "NaN", "Inf"} {
		f.Add(s, "TRY")
	}
	f.Add("20.10", "USD")
	f.Add("20.10", "try")
	f.Add("20.10", "")
	f.Fuzz(func(t *testing.T, s, currency string) {
		cur, err := payment.ParseCurrency(currency)
		switch {
		case err == nil && currency != "TRY" && currency != "USD" && currency != "EUR":
			t.Fatalf("ParseCurrency(%q) accepted a code iyzico does not take", currency)
		case err == nil && string(cur) != currency:
			t.Fatalf("ParseCurrency(%q) = %q", currency, cur)
		case err != nil && !errors.Is(err, payment.ErrInvalidAmount):
			t.Fatalf("ParseCurrency(%q): error %v is not ErrInvalidAmount", currency, err)
		case err != nil:
			cur = payment.TRY
		}

		m, err := payment.ParseMoney(s, cur)
		want, plain := exactMinor(s)
		if err != nil {
			if !errors.Is(err, payment.ErrInvalidAmount) {
				t.Fatalf("ParseMoney(%q): error %v is not ErrInvalidAmount", s, err)
			}
			if plain && want.IsInt64() && want.Int64() <= maxMinor {
				t.Fatalf("ParseMoney(%q) refused a plain amount within range: %v", s, err)
			}
			return
		}
		if !plain {
			t.Fatalf("ParseMoney(%q) = %v: accepted a form the API refuses (sign, exponent, spaces, leading zeros, >2 decimals)", s, m)
		}
		if !want.IsInt64() || m.Minor() != want.Int64() || m.Minor() < 0 || m.Minor() > maxMinor {
			t.Fatalf("ParseMoney(%q) = %d minor units, want %v (at most %d)", s, m.Minor(), want, maxMinor)
		}
		if m.Currency() != cur {
			t.Fatalf("ParseMoney(%q, %s) has currency %q", s, cur, m.Currency())
		}

		// parse → Decimal → parse is the identity, and Decimal is canonical.
		dec := m.Decimal()
		back, err := payment.ParseMoney(dec, cur)
		if err != nil || back != m {
			t.Fatalf("ParseMoney(%q) = %v; its Decimal %q parses to %v, %v", s, m, dec, back, err)
		}
		if _, frac, _ := strings.Cut(s, "."); len(frac) == 2 && dec != s {
			t.Fatalf("Decimal of %q is %q", s, dec)
		}
		// parse → String → parse, currency included.
		amount, code, ok := strings.Cut(m.String(), " ")
		if !ok || amount != dec {
			t.Fatalf("String of %v is %q", m, m.String())
		}
		c2, err := payment.ParseCurrency(code)
		if err != nil {
			t.Fatalf("String of %v names currency %q: %v", m, code, err)
		}
		if back, err := payment.ParseMoney(amount, c2); err != nil || back != m {
			t.Fatalf("String %q parses back to %v, %v; want %v", m.String(), back, err, m)
		}
	})
}

// FuzzMoneyDecimal checks Decimal for every int64 of minor units, negative
// ones included (end-of-day totals): the text is exact, and ParseMoney reads
// back exactly the amounts it accepts.
func FuzzMoneyDecimal(f *testing.F) {
	for _, n := range []int64{0, 1, 10, 99, 100, 14990, -1, -99, -100, -2000, maxMinor, maxMinor + 1, math.MaxInt64, math.MinInt64, math.MinInt64 + 1} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, minor int64) {
		m := payment.NewMoney(minor, payment.EUR)
		dec := m.Decimal()
		r, ok := new(big.Rat).SetString(dec)
		if !ok {
			t.Fatalf("Decimal of %d is %q, not a number", minor, dec)
		}
		if r.Mul(r, big.NewRat(100, 1)); !r.IsInt() || r.Num().Cmp(big.NewInt(minor)) != 0 {
			t.Fatalf("Decimal of %d is %q, worth %v minor units", minor, dec, r)
		}
		if _, frac, _ := strings.Cut(dec, "."); len(frac) != 2 {
			t.Fatalf("Decimal of %d is %q: not two decimals", minor, dec)
		}
		back, err := payment.ParseMoney(dec, payment.EUR)
		switch {
		case minor < 0 && err == nil:
			t.Fatalf("ParseMoney accepted the negative %q", dec)
		case minor >= 0 && minor <= maxMinor && (err != nil || back != m):
			t.Fatalf("Decimal %q of %d parses to %v, %v", dec, minor, back, err)
		case minor > maxMinor && err == nil:
			t.Fatalf("ParseMoney accepted %q, above its bound", dec)
		}
	})
}

// exactMinor is a plain decimal's value in minor units, and whether s is in
// the plain form at all.
func exactMinor(s string) (*big.Int, bool) {
	if !plainDecimal.MatchString(s) {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, false
	}
	r.Mul(r, big.NewRat(100, 1))
	return r.Num(), r.IsInt()
}
