package server

import (
	"fmt"
	"strings"
	"time"

	"github.com/bridgedpos/bridged/internal/payment"
	"github.com/bridgedpos/bridged/internal/safetext"
)

// The status page's formatters: labels, colours and times as the page shows
// them. Every one returns text for the template, which escapes it.

func errorText(e *payment.UpstreamError) string {
	if e.Message == "" {
		return safetext.Escape(e.Code)
	}
	return safetext.Escape(e.Code + " " + e.Message)
}

func cardTypeLabel(t string) string {
	switch t {
	case "CREDIT_CARD":
		return "credit"
	case "DEBIT_CARD":
		return "debit"
	case "PREPAID_CARD":
		return "prepaid"
	}
	return strings.ToLower(strings.ReplaceAll(t, "_", " "))
}

func kindLabel(k payment.Kind) string {
	switch k {
	case payment.KindSale:
		return "Sale"
	case payment.KindPreAuth:
		return "Pre-auth"
	case payment.KindPostAuth:
		return "Post-auth"
	case payment.KindVoid:
		return "Void"
	case payment.KindRefund:
		return "Refund"
	case payment.KindSplitStart:
		return "Split sale"
	case payment.KindSplitPayment:
		return "Split part"
	case payment.KindSplitComplete:
		return "Split complete"
	case payment.KindEndOfDay:
		return "End of day"
	}
	return string(k)
}

func modeLabel(m payment.Mode) string {
	switch m {
	case payment.VUK509:
		return "VUK 509"
	case payment.VUK507:
		return "VUK 507"
	}
	return string(m)
}

// txClass is the colour of an operation's status; the status word is always
// printed beside it.
func txClass(status payment.Status) string {
	switch status {
	case payment.StatusApproved:
		return "ok"
	case payment.StatusDeclined:
		return "declined"
	case payment.StatusUnknown:
		return "degraded"
	}
	return "pending"
}

func verdictOf(status string) verdictView {
	switch status {
	case "ok":
		return verdictView{Class: "ok", Label: "OK", Icon: "✓"}
	case "degraded":
		return verdictView{Class: "degraded", Label: "DEGRADED", Icon: "!"}
	}
	return verdictView{Class: "fail", Label: "FAIL", Icon: "✕"}
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

func timeOrNever(t *time.Time, now time.Time) timeView {
	if t == nil {
		return timeView{Text: "never"}
	}
	return timeOf(*t, now)
}

// timeOf shows a time in the machine's zone (the store's), with its age.
func timeOf(t, now time.Time) timeView {
	if t.IsZero() {
		return timeView{Text: "never"}
	}
	return timeView{Text: clockText(t, now) + " (" + agoText(now.Sub(t)) + ")", Title: t.UTC().Format(time.RFC3339)}
}

func clockText(t, now time.Time) string {
	lt, ln := t.In(now.Location()), now
	if lt.Year() == ln.Year() && lt.YearDay() == ln.YearDay() {
		return lt.Format("15:04:05")
	}
	return lt.Format("2006-01-02 15:04")
}

func agoText(d time.Duration) string {
	if d < time.Second {
		return "just now"
	}
	return durationText(d) + " ago"
}

func untilText(d time.Duration) string {
	if d < 0 {
		return "expired " + durationText(-d) + " ago"
	}
	return "in " + durationText(d)
}

func durationText(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %d min", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
}
