package store

import (
	"context"
	"net/netip"
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

// benchFixture is a benchmark case and the values its benchmarks look for.
type benchFixture struct {
	st *Store
	// ip is an address with many events (the pivot); cidr a range holding it; rare an event
	// name with a few events; bucket a bucket name; wild a wildcard JSON-path query.
	ip, cidr, rare, bucket, wild string
}

var benchOnce sync.Map // size or path → *benchFixture

// benchCase opens the benchmark case: the case file named by TRAILSCOPE_BENCH_CASE (opened as
// is, e.g. a million events loaded by `trailscope ingest` from the ingest benchmark's corpus),
// or else a generated case of benchEvents events.
func benchCase(b *testing.B) *benchFixture {
	if path := os.Getenv("TRAILSCOPE_BENCH_CASE"); path != "" {
		if f, ok := benchOnce.Load(path); ok {
			return f.(*benchFixture)
		}
		if _, err := os.Stat(path); err != nil {
			b.Fatalf("TRAILSCOPE_BENCH_CASE: %v", err)
		}
		st, err := Open(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		f := &benchFixture{st: st}
		f.discover(b)
		benchOnce.Store(path, f)
		return f
	}
	n := benchEvents()
	if f, ok := benchOnce.Load(n); ok {
		return f.(*benchFixture)
	}
	path := filepath.Join(os.TempDir(), "trailscope-bench-"+strconv.Itoa(n)+"-v2.db")
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
		st.Close()
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
	}
	st, err := Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	// genEvents gives 10.0.3.12 about 3% of the events.
	f := &benchFixture{st: st, ip: "10.0.3.12", cidr: "203.0.112.0/20", rare: "StopLogging", bucket: "bucket-30",
		wild: "requestParameters.instancesSet.items.instanceId:i-000001*"}
	benchOnce.Store(n, f)
	return f
}

// discover picks the values of a case it did not generate: the address whose event count is
// nearest 3% of the case, and the most frequent bucket name in a sample of the records.
func (f *benchFixture) discover(b *testing.B) {
	ctx := context.Background()
	var total int64
	if err := f.st.r.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&total); err != nil {
		b.Fatal(err)
	}
	err := f.st.r.QueryRowContext(ctx, `SELECT source_ip FROM events WHERE source_ip GLOB '[0-9]*'
		GROUP BY source_ip COLLATE NOCASE ORDER BY abs(count(*) - ?) LIMIT 1`, total*3/100).Scan(&f.ip)
	if err != nil {
		b.Fatalf("pick an address: %v", err)
	}
	if a, err := netip.ParseAddr(f.ip); err == nil {
		p, _ := a.Prefix(20)
		f.cidr = p.String()
	}
	err = f.st.r.QueryRowContext(ctx, `SELECT event_name FROM events GROUP BY event_name COLLATE NOCASE
		ORDER BY count(*), event_name LIMIT 1`).Scan(&f.rare)
	if err != nil {
		b.Fatalf("pick an event name: %v", err)
	}
	err = f.st.r.QueryRowContext(ctx, `SELECT json_extract(trailscope_json(json), '$.requestParameters.bucketName') AS v FROM event_json
		WHERE id % 97 = 0 AND v IS NOT NULL GROUP BY v ORDER BY count(*) DESC LIMIT 1`).Scan(&f.bucket)
	if err != nil {
		b.Fatalf("pick a bucket: %v", err)
	}
	// An array on the path, and a wildcard on the last value.
	f.wild = "requestParameters.filterSet.items.valueSet.items.value:run*"
	b.Logf("case %s: %d events; pivot address %s, range %s, rare API %s, bucket %s", f.st.Path(), total, f.ip, f.cidr, f.rare, f.bucket)
}

func benchSearch(b *testing.B, q string, limit int) {
	f := benchCase(b)
	benchQuery(b, f, q, limit)
}

func benchQuery(b *testing.B, f *benchFixture, q string, limit int) {
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
		if err := f.st.Search(ctx, Filter{Where: where, Args: args}, limit, func(Hit) error { rows++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows), "rows")
}

func BenchmarkSearchKeywordCommon(b *testing.B) { benchSearch(b, "amazonaws", 100) }
func BenchmarkSearchKeywordRare(b *testing.B)   { benchSearch(b, "zebracorn", 100) }
func BenchmarkSearchEventName(b *testing.B)     { benchSearch(b, "eventName:ListBuckets", 100) }
func BenchmarkSearchEventNameRare(b *testing.B) {
	f := benchCase(b)
	benchQuery(b, f, "eventName:"+f.rare, 100)
}
func BenchmarkSearchEventNameAbsent(b *testing.B) { benchSearch(b, "eventName:NoSuchCall", 100) }
func BenchmarkSearchEventNamePrefix(b *testing.B) { benchSearch(b, "eventName:List*", 100) }
func BenchmarkSearchEventNamePrefixRare(b *testing.B) {
	f := benchCase(b)
	benchQuery(b, f, "eventName:"+f.rare[:len(f.rare)-2]+"*", 100)
}
func BenchmarkSearchJSONPath(b *testing.B) {
	f := benchCase(b)
	benchQuery(b, f, "requestParameters.bucketName:\""+f.bucket+"\"", 100)
}
func BenchmarkSearchJSONPathWild(b *testing.B) {
	f := benchCase(b)
	benchQuery(b, f, f.wild, 100)
}

// BenchmarkSearchJSONPathAbsent tests every event for a value no record has on a field only the
// records hold, with no word for the full-text index to narrow by (query.TermFunc on each).
func BenchmarkSearchJSONPathAbsent(b *testing.B) {
	benchSearch(b, "requestParameters.roleArn:*nosuchrole*", 100)
}

// BenchmarkSearchPrefixCommon is a first page of a prefix that most events hold.
func BenchmarkSearchPrefixCommon(b *testing.B) { benchSearch(b, "amazon*", 100) }

func BenchmarkSearchCIDR(b *testing.B) {
	f := benchCase(b)
	benchQuery(b, f, "sourceIPAddress:"+f.cidr, 100)
}
func BenchmarkSearchCIDRRare(b *testing.B) { benchSearch(b, "sourceIPAddress:192.0.2.0/28", 100) }

// BenchmarkCountErrorCodeWild counts every match of wildcards on a column most events leave
// empty, as a rule's first run reads them all (the built-in pack's access-denied query).
func BenchmarkCountErrorCodeWild(b *testing.B) {
	benchCount(b, "errorCode:*AccessDenied* OR errorCode:*UnauthorizedOperation* OR errorCode:*UnauthorizedAccess*")
}

// benchCount counts every match of q in the benchmark case.
func benchCount(b *testing.B, q string) {
	f := benchCase(b)
	where, args, err := query.Compile(query.MustParse(q))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var n int64
	for b.Loop() {
		if n, err = f.st.Count(ctx, Filter{Where: where, Args: args}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "events")
}

// BenchmarkSearchUserAgentRare: wildcards on the user agent that match no event, as the
// built-in pack's offensive-tools rule (every event is tested).
func BenchmarkSearchUserAgentRare(b *testing.B) {
	benchSearch(b, "userAgent:*kali* OR userAgent:*parrot* OR userAgent:*pentoo* OR userAgent:*pacu*", 100)
}

// BenchmarkCountUserAgentWild counts every match of a wildcard on the user agent that most
// events match, as a rule's first run reads them all.
func BenchmarkCountUserAgentWild(b *testing.B) { benchCount(b, "userAgent:*python*") }

func BenchmarkPivotIP(b *testing.B) {
	f := benchCase(b)
	ctx := context.Background()
	var p *Profile
	for b.Loop() {
		var err error
		if p, err = f.st.PivotIP(ctx, f.ip, PivotOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(p.Events), "events")
}

func BenchmarkHistogram5m(b *testing.B) {
	st := benchCase(b).st
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

// BenchmarkViewRelated reads the related anomalies of the case's five riskiest, as their
// drilldowns do (a day either side, risk 4 and up, at most 50). It needs an analysed case.
func BenchmarkViewRelated(b *testing.B) {
	st := benchCase(b).st
	ctx := context.Background()
	top, err := st.Anomalies(ctx, AnomalyFilter{Limit: 5})
	if err != nil {
		b.Fatal(err)
	}
	if len(top) == 0 {
		b.Skip("the case holds no anomalies: analyse it first (make bench does)")
	}
	n := 0
	for b.Loop() {
		n = 0
		for _, a := range top {
			rel, err := st.ViewRelated(ctx, a, RelatedFilter{Span: 24 * time.Hour, MinRisk: 4, Limit: 50})
			if err != nil {
				b.Fatal(err)
			}
			n += len(rel)
		}
	}
	b.ReportMetric(float64(n), "related")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*len(top)), "ms/anomaly")
}

// BenchmarkCountValuesColumn counts every event by principal, which a column holds.
func BenchmarkCountValuesColumn(b *testing.B) {
	expr, _ := query.CountExpr("userIdentity.arn")
	benchCountValues(b, "", ValueSource{Expr: expr})
}

// BenchmarkCountValuesRecord counts S3's events by bucket, which only the records hold.
func BenchmarkCountValuesRecord(b *testing.B) {
	benchCountValues(b, "eventSource:s3.amazonaws.com", ValueSource{Values: func(raw []byte) ([]string, error) {
		return query.FieldValues(raw, "requestParameters.bucketName")
	}})
}

// BenchmarkCountValuesRare counts every event by secret, which few records hold: query.Holder
// spares the walk of the others, as the app's counts do.
func BenchmarkCountValuesRare(b *testing.B) {
	benchCountValues(b, "", ValueSource{Values: query.RecordValues("requestParameters.secretId")})
}

func benchCountValues(b *testing.B, q string, src ValueSource) {
	f := benchCase(b)
	where, args, err := query.Compile(query.MustParse(q))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var fc *FieldCounts
	for b.Loop() {
		if fc, err = f.st.CountValues(ctx, Filter{Where: where, Args: args}, src, 20, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(fc.Events), "events")
	b.ReportMetric(float64(fc.Distinct), "values")
	b.ReportMetric(float64(fc.Events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
