package idempotency

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// MaxKeyLen bounds an Idempotency-Key (and an ECR reference used as one).
const MaxKeyLen = 128

// ErrInvalidKey is returned for a key that is empty, too long or not printable.
var ErrInvalidKey = errors.New("invalid idempotency key")

// CheckKey accepts 1-128 printable ASCII characters, as the IETF draft's
// sf-string allows; anything else is refused rather than normalised, so two
// different byte strings can never name the same key.
func CheckKey(k string) error {
	if k == "" || len(k) > MaxKeyLen || !utf8.ValidString(k) {
		return fmt.Errorf("%w: must be 1 to %d printable ASCII characters", ErrInvalidKey, MaxKeyLen)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return fmt.Errorf("%w: must be 1 to %d printable ASCII characters", ErrInvalidKey, MaxKeyLen)
		}
	}
	return nil
}

// Fingerprint hashes the money-relevant fields of a request. Fields are
// length-prefixed so that ("ab","c") and ("a","bc") differ.
type Fingerprint struct {
	h   [sha256.Size]byte
	buf []byte
}

// NewFingerprint starts a fingerprint.
func NewFingerprint() *Fingerprint { return &Fingerprint{buf: make([]byte, 0, 256)} }

// Add appends one named field.
func (f *Fingerprint) Add(name, value string) *Fingerprint {
	f.buf = strconv.AppendInt(f.buf, int64(len(name)), 10)
	f.buf = append(f.buf, ':')
	f.buf = append(f.buf, name...)
	f.buf = strconv.AppendInt(f.buf, int64(len(value)), 10)
	f.buf = append(f.buf, ':')
	f.buf = append(f.buf, value...)
	return f
}

// AddInt appends one named integer field.
func (f *Fingerprint) AddInt(name string, v int64) *Fingerprint {
	return f.Add(name, strconv.FormatInt(v, 10))
}

// Sum returns the fingerprint as hex.
func (f *Fingerprint) Sum() string {
	f.h = sha256.Sum256(f.buf)
	return hex.EncodeToString(f.h[:])
}

// Decision is what to do with a request whose key was seen before.
type Decision int

// The decisions of the IETF Idempotency-Key draft, as bridged applies them.
const (
	// New: the key is unused; run the operation.
	New Decision = iota
	// Replay: same key, same fingerprint, operation done: answer with the stored result.
	Replay
	// Join: same key, same fingerprint, operation in flight: wait for its answer.
	Join
	// Conflict: same key, different fingerprint: refuse (422).
	Conflict
)

func (d Decision) String() string {
	return [...]string{"new", "replay", "join", "conflict"}[d]
}

// Decide applies the rules: found reports whether the key is taken,
// storedFP is the fingerprint stored with it, inFlight whether its operation
// is still running in this process.
func Decide(found bool, storedFP, fp string, inFlight bool) Decision {
	switch {
	case !found:
		return New
	case storedFP != fp:
		return Conflict
	case inFlight:
		return Join
	}
	return Replay
}
