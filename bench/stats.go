package main

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// dist summarises a set of latencies.
type dist struct {
	N    int           `json:"n"`
	P50  time.Duration `json:"p50_ns"`
	P99  time.Duration `json:"p99_ns"`
	Max  time.Duration `json:"max_ns"`
	Mean time.Duration `json:"mean_ns"`
}

// summarize sorts lat (in place) and reads its percentiles by nearest rank.
func summarize(lat []time.Duration) dist {
	if len(lat) == 0 {
		return dist{}
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	return dist{N: len(lat), P50: rank(lat, 0.50), P99: rank(lat, 0.99), Max: lat[len(lat)-1],
		Mean: sum / time.Duration(len(lat))}
}

// rank is the nearest-rank percentile p of sorted.
func rank(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// median of a few values (start times, a figure over rounds): the lower
// middle of an even count; zero for none.
func median[T cmp.Ordered](xs []T) T {
	var zero T
	if len(xs) == 0 {
		return zero
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// ms renders a duration in milliseconds, the unit of every latency here.
func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// mib renders a byte count in MiB.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
