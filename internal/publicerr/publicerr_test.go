package publicerr_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/bridgedpos/bridged/internal/publicerr"
)

var errRefused = publicerr.New("payment cannot be voided")

func TestWithfKeepsTheSentinelAndItsText(t *testing.T) {
	err := errRefused.Withf("it is %s, not approved", "declined")
	const want = "payment cannot be voided: it is declined, not approved"
	if msg, ok := publicerr.Message(err); !ok || msg != want {
		t.Fatalf("Message = %q, %v; want %q", msg, ok, want)
	}
	if err.Error() != want {
		t.Fatalf("Error = %q; want %q (as fmt.Errorf(%%w: ...) said before)", err.Error(), want)
	}
	if !errors.Is(err, errRefused) {
		t.Fatal("a detailed refusal does not match its sentinel")
	}
	// Wrapped again by a layer that adds text nobody declared public: the
	// public message is still the refusal's, without that text.
	outer := fmt.Errorf("lane secret-4111111111111111: %w", err)
	if msg, _ := publicerr.Message(outer); msg != want {
		t.Fatalf("Message through a wrapper = %q; want %q", msg, want)
	}
}

func TestTheCauseIsNeverPublic(t *testing.T) {
	cause := errors.New("open /var/lib/bridged/journal.db: client_secret=hunter2")
	for name, err := range map[string]*publicerr.Error{
		"Wrap":    publicerr.Wrap(cause, "storage failure"),
		"Because": publicerr.New("storage failure").Because(cause),
	} {
		msg, ok := publicerr.Message(err)
		if !ok || msg != "storage failure" || strings.Contains(msg, "hunter2") {
			t.Errorf("%s: Message = %q, %v", name, msg, ok)
		}
		if !errors.Is(err, cause) {
			t.Errorf("%s: the cause is not matched", name)
		}
		if !strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the log text %q lost the cause", name, err.Error())
		}
	}
	sentinel := publicerr.New("request cancelled")
	err := sentinel.Because(context.Canceled)
	if !errors.Is(err, sentinel) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Because matches only one of sentinel and cause: %v", err)
	}
}

func TestAnErrorWithoutAPublicPartShowsNothing(t *testing.T) {
	for _, err := range []error{nil, errors.New("password=hunter2"), fmt.Errorf("x: %w", context.DeadlineExceeded)} {
		if msg, ok := publicerr.Message(err); ok || msg != "" {
			t.Errorf("Message(%v) = %q, %v; want nothing", err, msg, ok)
		}
	}
}
