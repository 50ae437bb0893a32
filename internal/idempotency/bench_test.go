package idempotency

import "testing"

// BenchmarkFingerprint hashes what payment fingerprints for a two-line sale.
func BenchmarkFingerprint(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		f := NewFingerprint().
			Add("kind", "sale").Add("terminal", "lane-1").AddInt("amount", 14990).Add("currency", "TRY").
			AddInt("installment", 1).Add("reference", "ECR-000124").Add("payment_id", "").Add("parent", "").
			Add("payment_type", "CARD").Add("document_type", "1").Add("sale_number", "")
		for range 2 {
			f.Add("line", "Cheese").AddInt("qty", 1).AddInt("unit", 13990).
				AddInt("total", 13990).Add("tax", "1").Add("related", "")
		}
		if len(f.Sum()) != 64 {
			b.Fatal("short sum")
		}
	}
}
