package payment

import (
	"regexp"
	"testing"
)

// TestMaskedCard moved here from the status page's tests with its table.
func TestMaskedCard(t *testing.T) {
	tests := []struct {
		card *Card
		want string
	}{
		{nil, ""},
		{&Card{}, ""},
		{&Card{BIN: "552879", Last4: "0008"}, "552879******0008"},
		{&Card{BIN: "55287912", Last4: "0008"}, "552879******0008"},
		{&Card{BIN: "5528790000000008", Last4: "5528790000000008"}, "552879******0008"},
		{&Card{BIN: "<b>55</b>", Last4: "x1"}, "55*************1"},
		{&Card{Last4: "0008"}, "************0008"},
	}
	longRun := regexp.MustCompile(`[0-9]{7,}`)
	for _, tt := range tests {
		got := tt.card.Masked()
		if got != tt.want || longRun.MatchString(got) {
			t.Errorf("Masked(%+v) = %q, want %q", tt.card, got, tt.want)
		}
	}
}

// TestNewCard: what upstream keeps of iyzico's card fields is what the mask shows.
func TestNewCard(t *testing.T) {
	tests := []struct {
		bin, last4 string
		want       *Card
	}{
		{"", "", nil},
		{"abc", "x", nil},
		{"552879", "0008", &Card{BIN: "552879", Last4: "0008", Type: "CREDIT"}},
		{"55287912", "0008", &Card{BIN: "552879", Last4: "0008", Type: "CREDIT"}},
		{"5528790000000008", "5528790000000008", &Card{BIN: "552879", Last4: "0008", Type: "CREDIT"}},
		{"", "****0008", &Card{Last4: "0008", Type: "CREDIT"}},
	}
	for _, tt := range tests {
		got := NewCard(tt.bin, tt.last4, "CREDIT")
		if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
			t.Errorf("NewCard(%q, %q) = %+v, want %+v", tt.bin, tt.last4, got, tt.want)
		}
	}
}
