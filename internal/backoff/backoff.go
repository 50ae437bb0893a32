package backoff

import (
	"math/rand/v2"
	"time"
)

// Policy doubles a delay from Min up to Max, then scales it by a random
// factor in [1-Jitter, 1+Jitter).
type Policy struct {
	Min, Max time.Duration
	// Jitter is the spread of the random factor: 0.2 is ±20%, 0 none.
	Jitter float64
	// Rand returns a number in [0, 1); nil is math/rand/v2's Float64.
	// Tests inject a fixed source.
	Rand func() float64
}

// Delay is the wait after the n-th failure in a row: Min doubled n-1 times,
// at most Max, then jittered. n below 1 counts as 1.
func (p Policy) Delay(n int) time.Duration {
	d := p.Min
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	d = min(d, p.Max)
	if p.Jitter == 0 {
		return d
	}
	r := p.Rand
	if r == nil {
		r = rand.Float64
	}
	return time.Duration(float64(d) * (1 - p.Jitter + 2*p.Jitter*r()))
}

// Counter counts failures in a row under a Policy. It is not safe for
// concurrent use: its owner guards it.
type Counter struct {
	Policy
	n int
}

// Fail counts one more failure and returns the wait before the next try.
func (c *Counter) Fail() time.Duration {
	c.n++
	return c.Delay(c.n)
}

// Reset starts over after a success: the next Fail waits Min.
func (c *Counter) Reset() { c.n = 0 }
