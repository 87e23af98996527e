package app

import (
	"context"
	"os"
	"strings"
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

// BenchmarkRules measures the built-in pack's first run over the whole of the case named by
// TRAILSCOPE_BENCH_CASE (every rule from its first event), and reports the events it read per
// second and the indicators it found.
func BenchmarkRules(b *testing.B) {
	path := os.Getenv("TRAILSCOPE_BENCH_CASE")
	if path == "" {
		b.Skip("set TRAILSCOPE_BENCH_CASE to a case file")
	}
	ctx := context.Background()
	c, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.CompleteSearchIndex(ctx, func(int64, int64) {}); err != nil {
		b.Fatal(err)
	}
	if err := c.InstallRules(ctx); err != nil {
		b.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var found int64
	for b.Loop() {
		b.StopTimer()
		// A changed query starts a rule over: a space added or taken away changes nothing else.
		rules, err := c.Rules(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range rules {
			if q, ok := strings.CutSuffix(r.Query, " "); ok {
				r.Query = q
			} else {
				r.Query += " "
			}
			if _, err := c.Store().SaveRule(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if found, err = c.RunRules(ctx, time.Now(), false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(found), "indicators")
	b.ReportMetric(float64(info.Events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
