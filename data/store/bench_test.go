package store

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/trailscope/trailscope/data/query"
)

// benchEvents is the size of the generated benchmark case (TRAILSCOPE_BENCH_EVENTS, default
// 100,000); the case is built once and kept in the temporary folder for later runs.
func benchEvents() int {
	if n, err := strconv.Atoi(os.Getenv("TRAILSCOPE_BENCH_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 100000
}

var benchOnce sync.Map // size → *Store

func benchCase(b *testing.B) *Store {
	n := benchEvents()
	if st, ok := benchOnce.Load(n); ok {
		return st.(*Store)
	}
	// TRAILSCOPE_BENCH_NOCASE=1 adds case-insensitive indexes (a proposed migration) to compare.
	nocase := os.Getenv("TRAILSCOPE_BENCH_NOCASE") == "1"
	path := filepath.Join(os.TempDir(), "trailscope-bench-"+strconv.Itoa(n)+"-v1.db")
	if nocase {
		path = filepath.Join(os.TempDir(), "trailscope-bench-"+strconv.Itoa(n)+"-nocase-v1.db")
	}
	if _, err := os.Stat(path); err != nil {
		tmp := path + ".tmp"
		os.Remove(tmp)
		st, err := Open(context.Background(), tmp)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		loadRaws(b, st, genEvents(n, 1))
		b.Logf("built %d-event case in %v", n, time.Since(start))
		if nocase {
			for _, col := range []string{"event_name", "source_ip", "principal_arn"} {
				if _, err := st.w.Exec(`CREATE INDEX bench_` + col + `_nocase ON events (` + col + ` COLLATE NOCASE, time)`); err != nil {
					b.Fatal(err)
				}
			}
		}
		st.Close()
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
	}
	st, err := Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	benchOnce.Store(n, st)
	return st
}

func benchSearch(b *testing.B, q string, limit int) {
	st := benchCase(b)
	e := query.MustParse(q)
	where, args, err := query.Compile(e)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	var rows int
	for b.Loop() {
		rows = 0
		if err := st.Search(ctx, Filter{Where: where, Args: args}, limit, func(Hit) error { rows++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows), "rows")
}

func BenchmarkSearchKeywordCommon(b *testing.B) { benchSearch(b, "amazonaws", 100) }
func BenchmarkSearchKeywordRare(b *testing.B)   { benchSearch(b, "zebracorn", 100) }
func BenchmarkSearchEventName(b *testing.B)     { benchSearch(b, "eventName:ListBuckets", 100) }
func BenchmarkSearchEventNameRare(b *testing.B) { benchSearch(b, "eventName:StopLogging", 100) }
func BenchmarkSearchJSONPath(b *testing.B) {
	benchSearch(b, "requestParameters.bucketName:bucket-30", 100)
}
func BenchmarkSearchJSONPathWild(b *testing.B) {
	benchSearch(b, "requestParameters.instancesSet.items.instanceId:i-000001*", 100)
}
func BenchmarkSearchCIDR(b *testing.B) { benchSearch(b, "sourceIPAddress:203.0.112.0/20", 100) }

func BenchmarkPivotIP(b *testing.B) {
	st := benchCase(b)
	ctx := context.Background()
	var p *Profile
	for b.Loop() {
		var err error
		if p, err = st.PivotIP(ctx, "10.0.3.12", PivotOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(p.Events), "events")
}

func BenchmarkHistogram5m(b *testing.B) {
	st := benchCase(b)
	ctx := context.Background()
	var bins []Bin
	for b.Loop() {
		var err error
		if bins, err = st.Histogram(ctx, Filter{}, 5*time.Minute); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(bins)), "bins")
}
