package config

import (
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/bridgedpos/bridged/internal/payment"
)

// Amount is a money amount as the config file writes it ("100000.00"),
// parsed once, when the file is read, by payment's exact parser: integer
// minor units, never a float. The currency is the section's own
// (payments.currency), joined by In; all of iyzico's currencies have two
// minor digits, so the minor units do not depend on it.
type Amount struct{ parsed[int64] }

// ParseAmount parses a decimal amount of the config.
func ParseAmount(s string) Amount {
	m, err := payment.ParseMoney(s, "")
	return Amount{parsed[int64]{text: s, value: m.Minor(), err: err}}
}

// In is the amount in currency c, or why the text is no amount.
func (a Amount) In(c payment.Currency) (payment.Money, error) {
	switch {
	case a.err != nil:
		return payment.Money{}, a.err
	case a.text == "":
		return payment.Money{}, fmt.Errorf("%w: empty", payment.ErrInvalidAmount)
	}
	return payment.NewMoney(a.value, c), nil
}

// UnmarshalYAML parses a scalar.
func (a *Amount) UnmarshalYAML(n *yaml.Node) error {
	s, err := scalar(n, "an amount must be a decimal such as 100000.00")
	if err == nil {
		*a = ParseAmount(s)
	}
	return err
}
