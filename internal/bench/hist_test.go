package bench

import (
	"os"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	var l Latencies
	for i := 1000; i >= 1; i-- { // 1 ms … 1000 ms, unsorted
		l = append(l, time.Duration(i)*time.Millisecond)
	}
	got := l.Summarize()
	want := Summary{Count: 1000, Mean: 500500 * time.Microsecond, P50: 500 * time.Millisecond,
		P99: 990 * time.Millisecond, P999: 999 * time.Millisecond, Max: 1000 * time.Millisecond}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := (Latencies{}).Summarize(); got != (Summary{}) {
		t.Errorf("empty: got %+v", got)
	}
	if got := (Latencies{7}).Summarize(); got.P50 != 7 || got.P999 != 7 {
		t.Errorf("one: got %+v", got)
	}
}

func TestPeakRSSAndCPUTime(t *testing.T) {
	pid := os.Getpid()
	rss, err := PeakRSS(pid)
	if err != nil || rss < 1<<20 {
		t.Errorf("PeakRSS: %d, %v", rss, err)
	}
	if err := ResetPeakRSS(pid); err != nil {
		t.Logf("ResetPeakRSS: %v (not permitted here)", err)
	}
	cpu, err := CPUTime(pid)
	if err != nil || cpu < 0 {
		t.Errorf("CPUTime: %s, %v", cpu, err)
	}
}
