package bench

import (
	"slices"
	"time"
)

// build is a roster server the HTTP operations are measured on: the one
// under test ("new" with --compare, "" without) or the other ("old").
type build struct {
	name   string
	target Target
	srv    *Server
}

// Round is what one turn of a measurement found.
type Round struct {
	RPS float64 `json:"requests_per_second"`
	// ServerCPUPerRequest is the server's CPU time (user and system) over
	// the turn's successful requests; 0 when it was not measured.
	ServerCPUPerRequest time.Duration `json:"server_cpu_per_request_ns,omitempty"`
	P50                 time.Duration `json:"p50_ns"`
}

func newRound(r Result, cpu time.Duration) Round {
	rd := Round{RPS: r.RPS, P50: r.Latency.P50}
	if r.Requests > 0 {
		rd.ServerCPUPerRequest = cpu / time.Duration(r.Requests)
	}
	return rd
}

// Comparison is the outcome of a run with Config.Compare: the binaries, the
// processes that served (so a reader can tell both ran), and a point per
// operation and concurrency.
type Comparison struct {
	New    string         `json:"new_binary"`
	Old    string         `json:"old_binary"`
	NewPID int            `json:"new_pid"`
	OldPID int            `json:"old_pid"`
	Points []ComparePoint `json:"points"`
}

// ComparePoint compares the two builds on one operation at one
// concurrency. Each ratio is of the build under test to the other: below 1
// for CPU per request and p50, above 1 for throughput, is better.
type ComparePoint struct {
	Op          string `json:"op"`
	Concurrency int    `json:"concurrency"`
	New         Side   `json:"new"`
	Old         Side   `json:"old"`
	CPU         Ratio  `json:"cpu_per_request_ratio"`
	RPS         Ratio  `json:"throughput_ratio"`
	P50         Ratio  `json:"p50_ratio"`
}

// Side is one build's medians over the rounds of a point, and its rounds.
type Side struct {
	Requests            int           `json:"requests"`
	Errors              int           `json:"errors"`
	RPS                 float64       `json:"median_requests_per_second"`
	ServerCPUPerRequest time.Duration `json:"median_server_cpu_per_request_ns"`
	P50                 time.Duration `json:"median_p50_ns"`
	Rounds              []Round       `json:"rounds"`
}

// Ratio is the ratio of the build under test's median to the other's, and
// the least and greatest of the ratios of the two builds' turns of a round.
type Ratio struct {
	Median float64 `json:"median_ratio"`
	Min    float64 `json:"min_round_ratio"`
	Max    float64 `json:"max_round_ratio"`
}

// comparePoints pairs the results of the two builds (Result.Build "new"
// and "old") by operation and concurrency, in the order of results.
func comparePoints(results []Result) []ComparePoint {
	var points []ComparePoint
	for _, n := range results {
		if n.Build != "new" {
			continue
		}
		i := slices.IndexFunc(results, func(o Result) bool {
			return o.Build == "old" && o.Op == n.Op && o.Concurrency == n.Concurrency
		})
		if i < 0 {
			continue
		}
		o := results[i]
		p := ComparePoint{Op: n.Op, Concurrency: n.Concurrency, New: side(n), Old: side(o)}
		p.RPS = ratioOf(n.Rounds, o.Rounds, func(r Round) float64 { return r.RPS })
		p.CPU = ratioOf(n.Rounds, o.Rounds, func(r Round) float64 { return float64(r.ServerCPUPerRequest) })
		p.P50 = ratioOf(n.Rounds, o.Rounds, func(r Round) float64 { return float64(r.P50) })
		points = append(points, p)
	}
	return points
}

func side(r Result) Side {
	return Side{
		Requests: r.Requests, Errors: r.Errors, Rounds: r.Rounds,
		RPS:                 median(r.Rounds, func(r Round) float64 { return r.RPS }),
		ServerCPUPerRequest: time.Duration(median(r.Rounds, func(r Round) float64 { return float64(r.ServerCPUPerRequest) })),
		P50:                 time.Duration(median(r.Rounds, func(r Round) float64 { return float64(r.P50) })),
	}
}

// ratioOf is the Ratio of the figure f of the rounds of new to old; the
// rounds are paired by their index. A figure that is 0 on either side in
// some round leaves that round out; with none left it is all zeros.
func ratioOf(newRounds, oldRounds []Round, f func(Round) float64) Ratio {
	var rs []float64
	for i := range min(len(newRounds), len(oldRounds)) {
		if a, b := f(newRounds[i]), f(oldRounds[i]); a > 0 && b > 0 {
			rs = append(rs, a/b)
		}
	}
	mn, mo := median(newRounds, f), median(oldRounds, f)
	if len(rs) == 0 || mn <= 0 || mo <= 0 {
		return Ratio{}
	}
	return Ratio{Median: mn / mo, Min: slices.Min(rs), Max: slices.Max(rs)}
}

// median is the median of f over rounds: the middle one, or the mean of
// the two in the middle.
func median(rounds []Round, f func(Round) float64) float64 {
	if len(rounds) == 0 {
		return 0
	}
	v := make([]float64, len(rounds))
	for i, r := range rounds {
		v[i] = f(r)
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}
