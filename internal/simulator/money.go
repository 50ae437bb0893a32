package simulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
)

// amount is an exact sum of money in minor units (kuruş, cent). The simulator
// parses amounts itself instead of borrowing bridged's Money, so that a parsing
// bug in bridged cannot be mirrored here and go unnoticed.
type amount int64

// maxAmount bounds accepted amounts (10^13 minor units = 100 billion lira) so that
// sums over a whole batch cannot overflow int64.
const maxAmount = amount(1e13)

var (
	errNotPositive  = errors.New("must be greater than zero")
	errTooPrecise   = errors.New("has more than two decimal places")
	errTooLarge     = errors.New("is too large")
	errNotANumber   = errors.New("is not a decimal number")
	errNotAnInteger = errors.New("is not an integer")
)

// parseAmount reads a JSON number literal (or, where strings are allowed, a
// decimal string) exactly: "149.90", "149.9", "1.499e2" all mean 14990 kuruş.
// big.Rat keeps the value exact, so 0.1+0.2 problems cannot arise, and any
// value with a third decimal place is refused rather than rounded.
func parseAmount(lit string) (amount, error) {
	if !isJSONNumber(lit) {
		return 0, errNotANumber
	}
	r, ok := new(big.Rat).SetString(lit)
	if !ok {
		return 0, errNotANumber
	}
	if r.Sign() <= 0 {
		return 0, errNotPositive
	}
	minor := new(big.Rat).Mul(r, big.NewRat(100, 1))
	if !minor.IsInt() {
		return 0, errTooPrecise
	}
	n := minor.Num()
	if !n.IsInt64() || amount(n.Int64()) > maxAmount {
		return 0, errTooLarge
	}
	return amount(n.Int64()), nil
}

// isJSONNumber reports whether lit is a JSON number literal with a modest
// exponent. big.Rat alone would also take "1/2" or "0x10", and an exponent such
// as 1e999999999 would make it build a gigantic integer.
func isJSONNumber(lit string) bool {
	i := 0
	if i < len(lit) && lit[i] == '-' {
		i++
	}
	digits := func() int {
		start := i
		for i < len(lit) && lit[i] >= '0' && lit[i] <= '9' {
			i++
		}
		return i - start
	}
	if digits() == 0 {
		return false
	}
	if i < len(lit) && lit[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(lit) && (lit[i] == 'e' || lit[i] == 'E') {
		i++
		if i < len(lit) && (lit[i] == '+' || lit[i] == '-') {
			i++
		}
		if n := digits(); n == 0 || n > 2 {
			return false
		}
	}
	return i == len(lit)
}

// parseInteger reads a JSON number literal that must be a plain integer: "1" is
// an integer, "1.0" and "1e0" are not (iyzico's schema says int32).
func parseInteger(lit string) (int64, error) {
	n, err := strconv.ParseInt(lit, 10, 64)
	if err != nil {
		return 0, errNotAnInteger
	}
	return n, nil
}

// String renders the amount as a plain decimal with two fraction digits, the
// form used for EOD totals ("totalTransactionAmount") and the observation API.
func (a amount) String() string {
	sign := ""
	if a < 0 {
		sign, a = "-", -a
	}
	return fmt.Sprintf("%s%d.%02d", sign, a/100, a%100)
}

// decimal renders the amount as a JSON number with two fraction digits (149.90),
// as a Java BigDecimal of scale 2 would: the VUK 507 "decimal" fields.
func (a amount) decimal() json.Number { return json.Number(a.String()) }

// double renders the amount as the shortest JSON number (149.9, 150), as a Java
// double would: the VUK 509 "number (double)" fields. Emitting both forms makes
// bridged's response parsing face both shapes.
func (a amount) double() json.Number {
	s := a.String()
	for s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return json.Number(s)
}

// kurus is the fraction part (0-99) that scripts the card outcome (see card.go).
func (a amount) kurus() int64 { return int64(a % 100) }
