package payment

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Currency is an ISO 4217 code accepted by the iyzico Terminal API.
type Currency string

// The currencies iyzico lists for the Terminal API. All three have two minor digits.
const (
	TRY Currency = "TRY"
	USD Currency = "USD"
	EUR Currency = "EUR"
)

// ParseCurrency accepts one of the supported codes, case-sensitively as iyzico does.
func ParseCurrency(s string) (Currency, error) {
	switch c := Currency(s); c {
	case TRY, USD, EUR:
		return c, nil
	}
	return "", fmt.Errorf("%w: currency %q is not one of TRY, USD, EUR", ErrInvalidAmount, s)
}

// ErrInvalidAmount is the class of every amount that cannot be parsed or is out of range.
var ErrInvalidAmount = errors.New("invalid amount")

// Money is an exact amount: integer minor units (kuruş, cent) and a currency.
// It never passes through float64; decimal strings exist only at the edges.
type Money struct {
	minor    int64
	currency Currency
}

// maxMinor bounds what ParseMoney accepts before any configured limit applies:
// 10^15 minor units leaves head-room for sums without overflow.
const maxMinor = int64(1e15)

// NewMoney builds an amount from minor units.
func NewMoney(minor int64, c Currency) Money { return Money{minor: minor, currency: c} }

// ParseMoney parses a plain decimal string ("149.90", "5", "0.5") exactly.
// It accepts at most two fraction digits, no sign, no exponent, no spaces, and
// no leading zeros beyond a single "0" before the point. Zero is accepted here;
// callers that need a positive amount check IsPositive.
func ParseMoney(s string, c Currency) (Money, error) {
	if s == "" {
		return Money{}, fmt.Errorf("%w: empty", ErrInvalidAmount)
	}
	whole, frac, hasPoint := strings.Cut(s, ".")
	if whole == "" || (hasPoint && frac == "") {
		return Money{}, fmt.Errorf("%w: %q is not a decimal number", ErrInvalidAmount, s)
	}
	if !allDigits(whole) || !allDigits(frac) {
		return Money{}, fmt.Errorf("%w: %q is not a plain decimal number", ErrInvalidAmount, s)
	}
	if len(whole) > 1 && whole[0] == '0' {
		return Money{}, fmt.Errorf("%w: %q has leading zeros", ErrInvalidAmount, s)
	}
	if len(frac) > 2 {
		return Money{}, fmt.Errorf("%w: %q has more than two decimals", ErrInvalidAmount, s)
	}
	if len(whole) > 13 {
		return Money{}, fmt.Errorf("%w: %q is too large", ErrInvalidAmount, s)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return Money{}, fmt.Errorf("%w: %q: %w", ErrInvalidAmount, s, err)
	}
	var f int64
	if frac != "" {
		f, _ = strconv.ParseInt(frac, 10, 64) // digits only, at most two: cannot fail
		if len(frac) == 1 {
			f *= 10
		}
	}
	minor := w*100 + f
	if minor > maxMinor {
		return Money{}, fmt.Errorf("%w: %q is too large", ErrInvalidAmount, s)
	}
	return Money{minor: minor, currency: c}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Minor returns the amount in minor units.
func (m Money) Minor() int64 { return m.minor }

// Currency returns the amount's currency.
func (m Money) Currency() Currency { return m.currency }

// IsZero reports whether the amount is zero.
func (m Money) IsZero() bool { return m.minor == 0 }

// IsPositive reports whether the amount is greater than zero.
func (m Money) IsPositive() bool { return m.minor > 0 }

// Decimal renders the amount as a decimal string with two fraction digits: "149.90".
func (m Money) Decimal() string {
	sign := ""
	v := m.minor
	if v < 0 {
		sign = "-"
		if v == math.MinInt64 {
			return "-92233720368547758.08"
		}
		v = -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// String is Decimal followed by the currency: "149.90 TRY".
func (m Money) String() string { return m.Decimal() + " " + string(m.currency) }

// Cmp compares the minor units of two amounts of the same currency: -1, 0 or +1.
func (m Money) Cmp(o Money) int {
	switch {
	case m.minor < o.minor:
		return -1
	case m.minor > o.minor:
		return 1
	}
	return 0
}
