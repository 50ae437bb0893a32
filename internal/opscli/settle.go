package opscli

import (
	"errors"
	"fmt"

	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/safetext"
)

// offlineSettleError says what the journal's own answer means, in the
// words (and codes) the API would have used.
func offlineSettleError(verb string, err error) error {
	var refusal *payment.SettleRefusal
	switch {
	case errors.As(err, &refusal):
		return fmt.Errorf("not_settleable: %s", safetext.Escape(refusal.Reason))
	case errors.Is(err, payment.ErrNotFound):
		return errors.New("not_found: no operation with that id in the journal (tx list shows the ids)")
	}
	return fmt.Errorf("tx %s: %w", verb, err)
}
