package simulator

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		lit  string
		want amount
		err  error
	}{
		{"149.90", 14990, nil},
		{"149.9", 14990, nil},
		{"150", 15000, nil},
		{"0.01", 1, nil},
		{"1.499e2", 14990, nil},
		{"1E+2", 10000, nil},
		{"0.1", 10, nil},
		{"100000000000", 10000000000000, nil},
		{"100000000000.01", 0, errTooLarge},
		{"1.001", 0, errTooPrecise},
		{"0.005", 0, errTooPrecise},
		{"0", 0, errNotPositive},
		{"-1", 0, errNotPositive},
		{"1/2", 0, errNotANumber},
		{"0x10", 0, errNotANumber},
		{"1e999", 0, errNotANumber},
		{"", 0, errNotANumber},
		{" 1", 0, errNotANumber},
		{"1.", 0, errNotANumber},
		{".5", 0, errNotANumber},
	}
	for _, tt := range tests {
		got, err := parseAmount(tt.lit)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("parseAmount(%q) = %d, %v; want %d, %v", tt.lit, got, err, tt.want, tt.err)
		}
	}
}

func TestAmountRendering(t *testing.T) {
	tests := []struct {
		a        amount
		str, dbl string
	}{
		{14990, "149.90", "149.9"},
		{15000, "150.00", "150"},
		{1, "0.01", "0.01"},
		{-1525, "-15.25", "-15.25"},
	}
	for _, tt := range tests {
		if tt.a.String() != tt.str || tt.a.decimal().String() != tt.str || tt.a.double().String() != tt.dbl {
			t.Errorf("%d: %s %s %s", tt.a, tt.a.String(), tt.a.decimal(), tt.a.double())
		}
	}
	if amount(1051).kurus() != 51 {
		t.Error("kurus")
	}
}

func TestVATOf(t *testing.T) {
	tests := []struct {
		gross amount
		code  string
		want  amount
	}{
		{10000, "20", 1667}, // 100.00 incl. 20 % → 16.67
		{5000, "20", 833},
		{2345, "10", 213},
		{10000, "1", 99},
		{10000, "0", 0},
		{10000, "KDV20", 0},
	}
	for _, tt := range tests {
		if got := vatOf(tt.gross, tt.code); got != tt.want {
			t.Errorf("vatOf(%d, %q) = %d, want %d", tt.gross, tt.code, got, tt.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero config: %v", err)
	}
	bad := Config{Devices: []string{"", "A", "A", string(make([]byte, 65))}, TokenTTL: -1, CardWait: -1, DuplicateReferences: 9}
	err := bad.Validate()
	if err == nil {
		t.Fatal("bad config passed")
	}
	for _, want := range []string{"devices[0]", "devices[2]", "devices[3]", "token_ttl", "card_wait", "duplicate_references"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q not reported in %v", want, err)
		}
	}
	c := Config{}.withDefaults()
	if c.ClientID != "sim-client" || c.Devices[0] != "PAV860047264" || c.TokenTTL.Seconds() != 7199 || c.CardWait != 0 {
		t.Errorf("defaults %+v", c)
	}
}
