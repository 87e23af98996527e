package app

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/trailscope/trailscope/data/store"
)

// BenchmarkOverview measures what the dashboard reads on opening a case: the overview of the
// last 24 hours of the data. It runs on the case named by TRAILSCOPE_BENCH_CASE (for example
// the 1M-event case `make bench` leaves under .cache/), after its first analysis.
func BenchmarkOverview(b *testing.B) {
	path := os.Getenv("TRAILSCOPE_BENCH_CASE")
	if path == "" {
		b.Skip("set TRAILSCOPE_BENCH_CASE to an analysed case file")
	}
	ctx := context.Background()
	c, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Analyze(ctx, false, nil); err != nil {
		b.Fatal(err)
	}
	_, last, ok, err := c.TimeBounds(ctx)
	if err != nil || !ok {
		b.Fatal("empty case", err)
	}
	from := last.Add(-24 * time.Hour)
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Overview(ctx, from, last.Add(time.Millisecond)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	t0 := time.Now()
	as, _ := c.Anomalies(ctx, store.AnomalyFilter{From: from})
	b.Logf("%d anomalies in range read in %v", len(as), time.Since(t0))
}
