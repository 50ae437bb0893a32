package config

import (
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/bridgedpos/bridged/internal/payment"
)

// Amount is a money amount as the config file writes it ("100000.00"),
// parsed once, when the file is read, by payment's exact parser: integer
// minor units, never a float. A text that is no amount keeps its error for
// Validate to report at its key path with every other problem. The
// currency is the section's own (payments.currency), joined by In; all of
// iyzico's currencies have two minor digits, so the minor units do not
// depend on it.
type Amount struct {
	text  string
	minor int64
	err   error
}

// ParseAmount parses a decimal amount of the config.
func ParseAmount(s string) Amount {
	m, err := payment.ParseMoney(s, "")
	return Amount{text: s, minor: m.Minor(), err: err}
}

// In is the amount in currency c, or why the text is no amount.
func (a Amount) In(c payment.Currency) (payment.Money, error) {
	switch {
	case a.err != nil:
		return payment.Money{}, a.err
	case a.text == "":
		return payment.Money{}, fmt.Errorf("%w: empty", payment.ErrInvalidAmount)
	}
	return payment.NewMoney(a.minor, c), nil
}

// String is the amount as the file wrote it.
func (a Amount) String() string { return a.text }

// MarshalYAML prints the amount as the file wrote it (check-config).
func (a Amount) MarshalYAML() (any, error) { return a.text, nil }

// UnmarshalYAML parses a scalar; a text that is no amount is kept, with its
// error, for Validate.
func (a *Amount) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: an amount must be a decimal such as 100000.00", n.Line)}}
	}
	*a = ParseAmount(n.Value)
	return nil
}
