package opscli

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// TestSettleArgs: tx settle and acknowledge take the id before or after
// their flags, name every missing flag at once as a usage mistake, and send
// only the fields given.
func TestSettleArgs(t *testing.T) {
	tests := []struct {
		verb    string
		args    []string
		wantErr string // "" when the request is built
		body    map[string]string
	}{
		{"settle", []string{"op_1"}, "tx settle: --by, --outcome, --evidence required", nil},
		{"acknowledge", []string{"op_1", "--by", "ayse"}, "tx acknowledge: --note required", nil},
		{"settle", []string{"--by", "ayse"}, "tx settle: want exactly one operation id", nil},
		{"settle", []string{"op_1", "op_2"}, "tx settle: want exactly one operation id", nil},
		{"settle", []string{"--by", "ayse", "--outcome", "declined", "--evidence", "slip", "op_1"}, "",
			map[string]string{"by": "ayse", "outcome": "declined", "evidence": "slip"}},
		{"settle", []string{"op_1", "--by", "ayse", "--outcome", "approved", "--evidence", "slip", "--payment-id", "27"}, "",
			map[string]string{"by": "ayse", "outcome": "approved", "evidence": "slip", "payment_id": "27"}},
		{"acknowledge", []string{"op_1", "--by", "ayse", "--note", "refunded in cash"}, "",
			map[string]string{"by": "ayse", "note": "refunded in cash"}},
	}
	for _, tt := range tests {
		sa := settleArgs{verb: tt.verb}
		err := sa.parse(tt.args, io.Discard)
		var endpoint string
		var raw []byte
		if err == nil {
			endpoint, raw, err = sa.request()
		}
		if tt.wantErr != "" {
			var ue UsageError
			if !errors.As(err, &ue) || ue.Msg != tt.wantErr {
				t.Errorf("%s %q: %v, want the usage error %q", tt.verb, tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %q: %v", tt.verb, tt.args, err)
			continue
		}
		var body map[string]string
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatal(err)
		}
		wantEndpoint := map[string]string{"settle": "/settle", "acknowledge": "/acknowledge-conflict"}[tt.verb]
		if sa.id != "op_1" || endpoint != wantEndpoint || len(body) != len(tt.body) {
			t.Errorf("%s %q: id %q, endpoint %q, body %v", tt.verb, tt.args, sa.id, endpoint, body)
		}
		for k, v := range tt.body {
			if body[k] != v {
				t.Errorf("%s %q: %s = %q, want %q", tt.verb, tt.args, k, body[k], v)
			}
		}
	}
}

// TestExportRange: the last 30 days by default, a day's end included, and a
// range that holds nothing is a usage mistake.
func TestExportRange(t *testing.T) {
	now := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	q, err := exportRange("", "", now)
	if err != nil || !q.From.Equal(now.AddDate(0, 0, -30)) || !q.To.After(now) {
		t.Errorf("default range %v to %v, %v", q.From, q.To, err)
	}
	q, err = exportRange("2026-11-01T00:00:00Z", "2026-11-30T00:00:00Z", now)
	if err != nil || q.From.Format(time.RFC3339) != "2026-11-01T00:00:00Z" || q.To.Format(time.RFC3339) != "2026-11-30T00:00:00Z" {
		t.Errorf("RFC 3339 range %v to %v, %v", q.From, q.To, err)
	}
	q, err = exportRange("2026-11-10", "2026-11-10", now)
	if err != nil || q.To.Sub(q.From) != 24*time.Hour {
		t.Errorf("one day: %v to %v, %v", q.From, q.To, err)
	}
	for _, tt := range []struct{ from, to, want string }{
		{"2026-11-30T00:00:00Z", "2026-11-01T00:00:00Z", "is not before --to"},
		{"yesterday", "", "export --from:"},
		{"", "30.11.2026", "export --to:"},
	} {
		var ue UsageError
		if _, err := exportRange(tt.from, tt.to, now); !errors.As(err, &ue) || !strings.Contains(ue.Msg, tt.want) {
			t.Errorf("--from %q --to %q: %v, want a usage error with %q", tt.from, tt.to, err, tt.want)
		}
	}
}
