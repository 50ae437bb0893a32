package payment

import "strings"

// NewCard keeps what bridged may keep of a card iyzico names: at most the
// first six digits of the BIN and the last four, whatever the fields hold,
// and the card type. Nil when neither holds a digit.
func NewCard(bin, last4, typ string) *Card {
	bin, last4 = firstDigits(bin, 6), lastDigits(last4, 4)
	if bin == "" && last4 == "" {
		return nil
	}
	return &Card{BIN: bin, Last4: last4, Type: typ}
}

// Masked shows at most the first six digits and the last four, whatever the
// fields hold, padded to the look of a 16-digit number: 552879******0008.
// Empty for a nil card or one without digits.
func (c *Card) Masked() string {
	if c == nil {
		return ""
	}
	bin, last := firstDigits(c.BIN, 6), lastDigits(c.Last4, 4)
	if bin == "" && last == "" {
		return ""
	}
	return bin + strings.Repeat("*", 16-len(bin)-len(last)) + last
}

// firstDigits is the first n digits of s, ignoring anything else.
func firstDigits(s string, n int) string {
	d := digits(s)
	return d[:min(n, len(d))]
}

// lastDigits is the last n digits of s, ignoring anything else.
func lastDigits(s string, n int) string {
	d := digits(s)
	return d[len(d)-min(n, len(d)):]
}

func digits(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}
