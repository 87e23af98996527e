package synth

import (
	"context"
	"testing"
	"time"
)

// BenchmarkGenerate measures generation speed over one default weekday of traffic.
func BenchmarkGenerate(b *testing.B) {
	cfg := Config{Seed: 7, Days: 1, End: time.Date(2024, 5, 10, 0, 0, 0, 0, time.UTC)}
	var events, bytes int
	b.ResetTimer()
	for b.Loop() {
		_, err := Generate(context.Background(), cfg, func(_ time.Time, raw []byte) error {
			events++
			bytes += len(raw)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(bytes)/float64(events), "bytes/event")
}

// BenchmarkWriteS3Layout measures writing 100,000 events as gzip files of 1,000 records, a
// tenth of the ingest benchmark's corpus.
func BenchmarkWriteS3Layout(b *testing.B) {
	cfg := Config{Seed: 7, Days: 7, End: time.Date(2024, 5, 10, 0, 0, 0, 0, time.UTC), TotalEvents: 100_000}
	files := 0
	for b.Loop() {
		_, n, err := WriteS3Layout(context.Background(), b.TempDir(), cfg, 1000)
		if err != nil {
			b.Fatal(err)
		}
		files += n
	}
	b.ReportMetric(float64(b.N)*100_000/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(files)/float64(b.N), "files")
}
