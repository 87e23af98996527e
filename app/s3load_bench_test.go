package app

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/trailscope/trailscope/data/ingest"
	"github.com/trailscope/trailscope/data/source/sourcetest"
	"github.com/trailscope/trailscope/data/synth"
)

// BenchmarkLoadS3Latency lists and loads about 2,000 small objects (10,000 events, 5 to an
// object, as a quiet account's regions deliver them) through the AWS SDK from an S3 API server
// on loopback that answers each request after 20 ms, as a bucket across an ocean does: the pace
// of a load from S3 when the network sets it, not the CPU, listing included.
func BenchmarkLoadS3Latency(b *testing.B) {
	sourcetest.IsolateAWS(b, "us-east-1")
	ctx := context.Background()
	files := b.TempDir()
	cfg := synth.Config{Seed: 5, Days: 1, End: time.Date(2024, 5, 10, 0, 0, 0, 0, time.UTC), TotalEvents: 10_000}
	if _, _, err := synth.WriteS3Layout(ctx, files, cfg, 5); err != nil {
		b.Fatal(err)
	}
	backend := s3mem.New()
	if err := backend.CreateBucket("trail"); err != nil {
		b.Fatal(err)
	}
	objects := 0
	err := filepath.WalkDir(files, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(files, p)
		objects++
		_, err = backend.PutObject("trail", filepath.ToSlash(rel), map[string]string{}, bytes.NewReader(body), int64(len(body)), nil)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	fake := gofakes3.New(backend).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	var sum ingest.Summary
	var took time.Duration
	for b.Loop() {
		c, err := Open(ctx, filepath.Join(b.TempDir(), "s3.tsc"))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		sum, err = c.IngestSources(ctx, []string{"s3://trail/AWSLogs/"}, S3Source{Endpoint: srv.URL}, nil)
		took = time.Since(start)
		c.Close()
		if err != nil || sum.Loaded != objects {
			b.Fatalf("loaded %d of %d objects: %v", sum.Loaded, objects, err)
		}
	}
	b.ReportMetric(float64(sum.Loaded)/took.Seconds(), "objects/s")
	b.ReportMetric(float64(sum.Added)/took.Seconds(), "events/s")
	b.ReportMetric((took - sum.LoadTime).Seconds(), "listing-s")
	b.ReportMetric(0, "ns/op")
}
