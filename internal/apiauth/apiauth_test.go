package apiauth

import (
	"strings"
	"testing"
	"time"
)

// TestKnownVector pins the formats: docs/api.md shows this very request and
// its signatures, computed there with openssl.
func TestKnownVector(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	body := []byte(`{"amount":"149.90","reference":"ECR-000123"}`)
	p := Params{Key: "ecr", Timestamp: 1764000000, Nonce: "9f86d081884c7d659a2feaa0c55ad015"}
	sts := StringToSign(p.Timestamp, p.Nonce, "POST", "/v1/payments", BodyHash(body))
	want := "BRIDGED-HMAC-SHA256\n1764000000\n9f86d081884c7d659a2feaa0c55ad015\nPOST\n/v1/payments\n" + BodyHash(body)
	if sts != want {
		t.Fatalf("string to sign:\n%s\nwant\n%s", sts, want)
	}
	p.Signature = MAC(key, sts)
	// The figures docs/api.md shows, computed there with openssl dgst.
	if h := BodyHash(body); h != "b3237632a3b1940c36ccaffc786236b07d01698c5883f58808c54743584267d9" {
		t.Fatalf("body hash %s", h)
	}
	if p.Signature != "3d5c26f82506c49bb84a4159b78d505b1b075231ce7ff305b8021741fb7383cb" {
		t.Fatalf("signature %s", p.Signature)
	}
	got, err := Parse(p.Header())
	if err != nil || got != p {
		t.Fatalf("Parse(Header()) = %+v, %v", got, err)
	}
	if rs := ResponseSignature(key, 201, []byte("{}\n"), p.Signature); rs == p.Signature || len(rs) != 64 {
		t.Fatalf("response signature %q", rs)
	}
	t.Logf("body hash %s\nsignature %s", BodyHash(body), p.Signature)
}

func TestParseRefusesMalformed(t *testing.T) {
	good := Params{Key: "ecr", Timestamp: 1764000000, Nonce: strings.Repeat("n", 16), Signature: strings.Repeat("a", 64)}.Header()
	if _, err := Parse(good); err != nil {
		t.Fatalf("good header: %v", err)
	}
	if _, err := Parse(strings.ToLower(good[:len(Scheme)]) + good[len(Scheme):]); err != nil {
		t.Errorf("the scheme name is case-insensitive: %v", err)
	}
	for _, bad := range []string{
		"Bearer x",
		Scheme,
		Scheme + " Key=ecr",
		strings.Replace(good, "Key=ecr", "Key=e cr", 1),
		strings.Replace(good, "Timestamp=1764000000", "Timestamp=-1", 1),
		strings.Replace(good, "Timestamp=1764000000", "Timestamp=soon", 1),
		strings.Replace(good, "Nonce="+strings.Repeat("n", 16), "Nonce=short", 1),
		strings.Replace(good, "Signature="+strings.Repeat("a", 64), "Signature="+strings.Repeat("A", 64), 1),
		good + ", Key=other",
		good + ", Extra=1",
		strings.Replace(good, ", ", "; ", 1),
	} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestSignIsFreshEachTime(t *testing.T) {
	now := time.Unix(1764000000, 0)
	a := Sign("ecr", []byte("k"), now, "GET", "/v1/payments", nil)
	b := Sign("ecr", []byte("k"), now, "GET", "/v1/payments", nil)
	if a.Nonce == b.Nonce || a.Signature == b.Signature {
		t.Fatal("two signatures of the same request at the same second are equal: the nonce is not fresh")
	}
	if BodyHash(nil) != EmptyBodyHash || EmptyBodyHash != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatal("empty body hash")
	}
}
