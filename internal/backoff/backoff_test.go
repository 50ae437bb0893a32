package backoff

import (
	"testing"
	"time"
)

func TestDelaySchedule(t *testing.T) {
	p := Policy{Min: time.Second, Max: time.Minute}
	want := []time.Duration{1, 1, 1, 2, 4, 8, 16, 32, 60, 60, 60}
	for n := -1; n < len(want)-1; n++ {
		if got := p.Delay(n); got != want[n+1]*time.Second {
			t.Errorf("Delay(%d) = %v, want %v", n, got, want[n+1]*time.Second)
		}
	}
	if got := p.Delay(1 << 30); got != time.Minute {
		t.Errorf("Delay(huge) = %v, want the maximum", got)
	}
}

func TestDelayJitter(t *testing.T) {
	for _, tt := range []struct {
		r    float64
		want time.Duration
	}{
		{0, 8 * time.Second},
		{0.5, 10 * time.Second},
		{0.75, 11 * time.Second},
	} {
		p := Policy{Min: 10 * time.Second, Max: time.Minute, Jitter: 0.2, Rand: func() float64 { return tt.r }}
		if got := p.Delay(1); got != tt.want {
			t.Errorf("r=%v: Delay(1) = %v, want %v", tt.r, got, tt.want)
		}
	}
	// The default source stays within ±20%.
	p := Policy{Min: time.Second, Max: time.Minute, Jitter: 0.2}
	for range 1000 {
		if d := p.Delay(3); d < 3200*time.Millisecond || d >= 4800*time.Millisecond {
			t.Fatalf("Delay(3) = %v, outside [3.2s, 4.8s)", d)
		}
	}
}

// TestSameSchedules pins that the shared policy reproduces the two backoffs
// it replaced: the reconciler's (doubling by query count, ±20% jitter) and
// the token owner's (the previous delay doubled, kept within bounds).
func TestSameSchedules(t *testing.T) {
	reconciler := func(lo, hi time.Duration, n int, r float64) time.Duration {
		d := lo
		for i := 1; i < n && d < hi; i++ {
			d *= 2
		}
		if d > hi {
			d = hi
		}
		return time.Duration(float64(d) * (0.8 + 0.4*r))
	}
	for _, r := range []float64{0, 0.1, 1.0 / 3, 0.5, 0.999999} {
		p := Policy{Min: time.Second, Max: time.Minute, Jitter: 0.2, Rand: func() float64 { return r }}
		for n := 0; n < 12; n++ {
			if got, want := p.Delay(n), reconciler(time.Second, time.Minute, n, r); got != want {
				t.Errorf("r=%v n=%d: %v, the reconciler waited %v", r, n, got, want)
			}
		}
	}
	for _, b := range [][2]time.Duration{{time.Second, time.Minute}, {5 * time.Second, 5 * time.Minute}} {
		c := Counter{Policy: Policy{Min: b[0], Max: b[1]}}
		var prev time.Duration
		for i := range 12 {
			if i == 7 {
				c.Reset()
				prev = 0
			}
			prev = min(max(2*prev, b[0]), b[1])
			if got := c.Fail(); got != prev {
				t.Errorf("%v..%v failure %d: %v, the token owner waited %v", b[0], b[1], i, got, prev)
			}
		}
	}
}
