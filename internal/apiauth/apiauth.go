// Package apiauth is the signed-request scheme of bridged's local API, the
// one authentication in which the key never travels. Both sides use it: the
// server verifies requests and signs its answers (internal/server), the
// operator verbs sign requests and check answers (cmd/bridged). docs/api.md
// gives the same formats with curl+openssl and PowerShell.
//
// A signed request carries
//
//	Authorization: Bridged-HMAC-SHA256 Key=<name>, Timestamp=<unix seconds>, Nonce=<nonce>, Signature=<hex>
//
// where Signature is the lowercase hex HMAC-SHA256, under the key, of
//
//	BRIDGED-HMAC-SHA256\n<Timestamp>\n<Nonce>\n<METHOD>\n<path and query as sent>\n<hex SHA-256 of the body>
//
// The server accepts a Timestamp within Window of its clock and each Nonce of
// a key once within twice that. Every answer to a signed request that passed
// carries
//
//	Bridged-Signature: <hex HMAC-SHA256, under the key, of BRIDGED-RESPONSE\n<status>\n<hex SHA-256 of the body>\n<the request's Signature>>
//
// so a client that checks it knows the answer comes from the key's holder and
// belongs to its request; a program squatting on the port knows no key and can
// neither read one from a request nor forge an answer. The event stream, whose
// body never ends, is signed over the empty body.
package apiauth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

const (
	// Scheme is the Authorization scheme of a signed request.
	Scheme = "Bridged-HMAC-SHA256"
	// ResponseHeader carries the answer's signature.
	ResponseHeader = "Bridged-Signature"
	// Window is how far a request's Timestamp may be from the server's clock.
	Window = 30 * time.Second

	requestPrefix  = "BRIDGED-HMAC-SHA256"
	responsePrefix = "BRIDGED-RESPONSE"
)

// EmptyBodyHash is the hex SHA-256 of no bytes.
var EmptyBodyHash = BodyHash(nil)

var (
	namePattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	noncePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)
	sigPattern   = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Params are the fields of a signed request's Authorization header.
type Params struct {
	Key       string // the key's name in api.keys
	Timestamp int64  // Unix seconds
	Nonce     string // 16-64 characters of A-Z a-z 0-9 _ -, new for every request
	Signature string // 64 lowercase hex digits
}

// Header renders p as an Authorization header value.
func (p Params) Header() string {
	return fmt.Sprintf("%s Key=%s, Timestamp=%d, Nonce=%s, Signature=%s", Scheme, p.Key, p.Timestamp, p.Nonce, p.Signature)
}

// IsSigned reports whether an Authorization header uses this scheme.
func IsSigned(authorization string) bool {
	scheme, _, _ := strings.Cut(strings.TrimSpace(authorization), " ")
	return strings.EqualFold(scheme, Scheme)
}

// Parse reads an Authorization header of this scheme; every field is
// required and checked for its shape.
func Parse(authorization string) (Params, error) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(authorization), " ")
	if !strings.EqualFold(scheme, Scheme) {
		return Params{}, errors.New("not a " + Scheme + " header")
	}
	var p Params
	seen := map[string]bool{}
	for _, field := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(field), "=")
		if !ok {
			return Params{}, fmt.Errorf("field %q is not name=value", strings.TrimSpace(field))
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if seen[k] {
			return Params{}, fmt.Errorf("field %s given twice", k)
		}
		seen[k] = true
		v = strings.TrimSpace(v)
		switch k {
		case "key":
			p.Key = v
		case "timestamp":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return Params{}, errors.New("Timestamp is not Unix seconds")
			}
			p.Timestamp = n
		case "nonce":
			p.Nonce = v
		case "signature":
			p.Signature = v
		default:
			return Params{}, fmt.Errorf("unknown field %s", k)
		}
	}
	switch {
	case !namePattern.MatchString(p.Key):
		return Params{}, errors.New("Key must name a key of api.keys")
	case p.Timestamp == 0:
		return Params{}, errors.New("Timestamp is missing")
	case !noncePattern.MatchString(p.Nonce):
		return Params{}, errors.New("Nonce must be 16-64 characters of A-Z a-z 0-9 _ -")
	case !sigPattern.MatchString(p.Signature):
		return Params{}, errors.New("Signature must be 64 lowercase hex digits")
	}
	return p, nil
}

// BodyHash is the lowercase hex SHA-256 of body.
func BodyHash(body []byte) string {
	h := sha256.Sum256(body)
	return hex.EncodeToString(h[:])
}

// StringToSign is what a request's Signature covers. target is the request
// line's target: the path with its query, exactly as sent.
func StringToSign(timestamp int64, nonce, method, target, bodyHash string) string {
	return strings.Join([]string{requestPrefix, strconv.FormatInt(timestamp, 10), nonce, method, target, bodyHash}, "\n")
}

// ResponseStringToSign is what an answer's Bridged-Signature covers.
func ResponseStringToSign(status int, bodyHash, requestSignature string) string {
	return strings.Join([]string{responsePrefix, strconv.Itoa(status), bodyHash, requestSignature}, "\n")
}

// MAC is the lowercase hex HMAC-SHA256 of s under key.
func MAC(key []byte, s string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return hex.EncodeToString(m.Sum(nil))
}

// Equal compares two hex MACs in constant time.
func Equal(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }

// Sign returns the Params of a request, signed under key at now with a fresh nonce.
func Sign(name string, key []byte, now time.Time, method, target string, body []byte) Params {
	p := Params{Key: name, Timestamp: now.Unix(), Nonce: NewNonce()}
	p.Signature = MAC(key, StringToSign(p.Timestamp, p.Nonce, method, target, BodyHash(body)))
	return p
}

// ResponseSignature is the Bridged-Signature of an answer.
func ResponseSignature(key []byte, status int, body []byte, requestSignature string) string {
	return MAC(key, ResponseStringToSign(status, BodyHash(body), requestSignature))
}

// NewNonce returns 16 random bytes in hex.
func NewNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
