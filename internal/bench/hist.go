package bench

import (
	"slices"
	"time"
)

// Latencies holds the duration of every request of a measurement, so
// percentiles are exact rather than bucketed: at the rates of one node (a
// few thousand requests a second for seconds) the slice stays small.
type Latencies []time.Duration

// Summary is what a measurement reports of its latencies.
type Summary struct {
	Count int           `json:"count"`
	Mean  time.Duration `json:"mean_ns"`
	P50   time.Duration `json:"p50_ns"`
	P99   time.Duration `json:"p99_ns"`
	P999  time.Duration `json:"p999_ns"`
	Max   time.Duration `json:"max_ns"`
}

// Summarize sorts l in place and returns its percentiles, by the
// nearest-rank method: p99 is the smallest duration that at least 99% of
// the requests did not exceed.
func (l Latencies) Summarize() Summary {
	if len(l) == 0 {
		return Summary{}
	}
	slices.Sort(l)
	var sum time.Duration
	for _, d := range l {
		sum += d
	}
	return Summary{
		Count: len(l), Mean: sum / time.Duration(len(l)),
		P50: l.rank(0.50), P99: l.rank(0.99), P999: l.rank(0.999), Max: l[len(l)-1],
	}
}

// rank returns the nearest-rank percentile q (0 < q <= 1) of sorted l.
func (l Latencies) rank(q float64) time.Duration {
	i := int(float64(len(l))*q+0.999999999) - 1 // ceil(n·q) - 1
	return l[min(max(i, 0), len(l)-1)]
}
