package upstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/bridgedpos/bridged/internal/payment"
)

// Envelope is the part every terminal-host answer shares: the outcome of the
// call. VUK 509 writes status SUCCESS/FAILURE, an empty errorCode on success,
// an errorGroup and, on failure, consumerErrorMessage. VUK 507 writes
// success/failure, errorCode "0" and no errorGroup.
type Envelope struct {
	Status               string `json:"status"`
	ErrorCode            Text   `json:"errorCode"`
	ErrorMessage         string `json:"errorMessage"`
	ErrorGroup           string `json:"errorGroup"`
	ConsumerErrorMessage string `json:"consumerErrorMessage"`
	SystemTime           Int    `json:"systemTime"`
}

// Text is a string field that iyzico might also write as a JSON number (an
// errorCode of 0, a paymentDate of 20260406). Both arrive as the same text.
type Text string

// UnmarshalJSON accepts a string, a number or null.
func (t *Text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*t = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = Text(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("upstream: %s is neither a string nor a number", b)
		}
		*t = Text(n)
	}
	return nil
}

// Int is an integer field that iyzico might also write as a numeric string
// (the VUK 507 paymentDate, systemTime, installment).
type Int int64

// UnmarshalJSON accepts a number, a numeric string, an empty string or null.
func (i *Int) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*i = 0
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s = strings.TrimSpace(s); s == "" {
			*i = 0
			return nil
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("upstream: %q is not an integer", s)
	}
	*i = Int(v)
	return nil
}

// amountNumber renders an amount as the exact JSON number iyzico expects
// ("149.90"), built from minor units, never through float64.
func amountNumber(m payment.Money) json.Number { return json.Number(m.Decimal()) }

// ParseAmount reads an amount iyzico wrote as a JSON number ("118", "149.9",
// "149.90", even "149.900") exactly, without float64. Fraction digits past the
// second must be zeros; exponents and signs are refused.
func ParseAmount(n json.Number, c payment.Currency) (payment.Money, error) {
	s := strings.TrimSpace(string(n))
	if whole, frac, ok := strings.Cut(s, "."); ok {
		frac = strings.TrimRight(frac, "0")
		if len(frac) > 2 {
			return payment.Money{}, fmt.Errorf("%w: %q has more than two significant decimals", payment.ErrInvalidAmount, s)
		}
		s = whole
		if frac != "" {
			s += "." + frac
		}
	}
	return payment.ParseMoney(s, c)
}

// currencyOr picks the currency iyzico named, or def when it named none.
func currencyOr(s string, def payment.Currency) (payment.Currency, error) {
	if s == "" {
		return def, nil
	}
	return payment.ParseCurrency(s)
}

// moneyOf combines an answer's amount and currency into Money.
func moneyOf(n json.Number, currency string, def payment.Currency) (payment.Money, error) {
	c, err := currencyOr(currency, def)
	if err != nil {
		return payment.Money{}, err
	}
	return ParseAmount(n, c)
}
