package bench

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable writes the report as a table a person reads.
func WriteTable(w io.Writer, rep *Report) error {
	fmt.Fprintf(w, "Roster load test, %s\n", rep.StartedAt.Format(time.RFC3339))
	fmt.Fprintf(w, "machine:    %s\n", rep.Machine)
	fmt.Fprintf(w, "backend:    %s\n", rep.Backend)
	if rep.Durability != "" {
		fmt.Fprintf(w, "durability: %s\n", rep.Durability)
	}
	fmt.Fprintf(w, "users:      %d in one tenant (seeded in %s)\n", rep.Users, rep.SeedTime.Round(time.Millisecond))
	fmt.Fprintf(w, "each cell:  %s in %d rounds, closed loop, keep-alive connections, %s client\n\n", rep.Duration, max(rep.Rounds, 1), rep.Client)

	// The server's CPU per request comes first: on a shared machine it
	// moves far less than throughput does.
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	buildCol := ""
	if rep.Compare != nil {
		buildCol = "build\t"
	}
	fmt.Fprintln(tw, "op\t"+buildCol+"conc\tsrv CPU/req\treq/s\tp50\tp99\tp99.9\tmax\terrors\ttool CPU/req\tsrv peak RSS\t")
	rs := slices.Clone(rep.Results)
	order := map[string]int{"raw": 0, "floor": 1, "PATCH": 2, "GET": 3, "SEARCH": 4}
	builds := map[string]int{"": 0, "new": 0, "old": 1}
	slices.SortStableFunc(rs, func(a, b Result) int {
		if a.Concurrency != b.Concurrency {
			return a.Concurrency - b.Concurrency
		}
		if a.Op != b.Op {
			return order[a.Op] - order[b.Op]
		}
		return builds[a.Build] - builds[b.Build]
	})
	for _, r := range rs {
		cpu, tool, rss := "-", "-", "-"
		if r.ServerCPUPerRequest > 0 {
			cpu = us(r.ServerCPUPerRequest)
		}
		if r.ToolCPUPerRequest > 0 {
			tool = us(r.ToolCPUPerRequest)
		}
		if r.ServerPeakRSS > 0 {
			rss = mib(r.ServerPeakRSS)
		}
		b := ""
		if rep.Compare != nil {
			b = cmp.Or(r.Build, "-") + "\t"
		}
		fmt.Fprintf(tw, "%s\t%s%d\t%s\t%.0f\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t\n", r.Op, b, r.Concurrency, cpu, r.RPS,
			ms(r.Latency.P50), ms(r.Latency.P99), ms(r.Latency.P999), ms(r.Latency.Max), r.Errors, tool, rss)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	writeRatios(w, "PATCH/raw", rep.Ratios)
	writeRatios(w, "PATCH/floor", rep.FloorRatios)
	if rep.PeakRSS > 0 {
		fmt.Fprintf(w, "server peak RSS (VmHWM) over the run: %s\n", mib(rep.PeakRSS))
	}
	for _, r := range rep.Results {
		if r.FirstError != "" {
			fmt.Fprintf(w, "first error of %s c=%d: %s\n", r.Op, r.Concurrency, r.FirstError)
		}
	}
	if c := rep.Compare; c != nil {
		if err := writeComparison(w, rep, c); err != nil {
			return err
		}
	}
	if rep.Explain != "" {
		fmt.Fprintf(w, "\nquery plan of the list-by-email query:\n%s\n", rep.Explain)
	}
	if rep.SearchExplain != "" {
		fmt.Fprintf(w, "\nquery plans of searches (GET /v1/users?q=…&limit=20):\n%s\n", rep.SearchExplain)
	}
	return nil
}

// writeRatios writes the line of the throughput ratios name, if any.
func writeRatios(w io.Writer, name string, ratios map[int]float64) {
	if len(ratios) == 0 {
		return
	}
	var parts []string
	for _, c := range sortedKeys(ratios) {
		parts = append(parts, fmt.Sprintf("c=%d %.0f%%", c, 100*ratios[c]))
	}
	fmt.Fprintf(w, "%s throughput: %s\n", name, strings.Join(parts, ", "))
}

// writeComparison writes the table of a comparison of two builds.
func writeComparison(w io.Writer, rep *Report, c *Comparison) error {
	fmt.Fprintf(w, "\ncomparison, new/old (medians of %d rounds; spread: the least and greatest ratio of one round's two turns):\n", max(rep.Rounds, 1))
	fmt.Fprintf(w, "  new: %s (pid %d)\n  old: %s (pid %d)\n", c.New, c.NewPID, c.Old, c.OldPID)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\tconc\tCPU/req new\told\tnew/old\tspread\treq/s new\told\tnew/old\tspread\tp50 new\told\tnew/old\t")
	for _, p := range c.Points {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t%s\t\n", p.Op, p.Concurrency,
			us(p.New.ServerCPUPerRequest), us(p.Old.ServerCPUPerRequest), ratio(p.CPU.Median), spread(p.CPU),
			p.New.RPS, p.Old.RPS, ratio(p.RPS.Median), spread(p.RPS),
			ms(p.New.P50), ms(p.Old.P50), ratio(p.P50.Median))
	}
	return tw.Flush()
}

func ratio(r float64) string {
	if r == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", r)
}

func spread(r Ratio) string {
	if r.Median == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f–%.3f", r.Min, r.Max)
}

func us(d time.Duration) string { return fmt.Sprintf("%d µs", d.Microseconds()) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func sortedKeys(m map[int]float64) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
