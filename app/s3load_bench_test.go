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
	"github.com/trailscope/trailscope/data/synth"
)

// BenchmarkLoadS3Latency loads about 2,000 small objects (10,000 events, 5 to an object, as a
// quiet account's regions deliver them) through the AWS SDK from an S3 API server on loopback
// that answers each download after 20 ms, as a bucket across an ocean does: the pace of a load
// when the network sets it, not the CPU.
func BenchmarkLoadS3Latency(b *testing.B) {
	cred := b.TempDir()
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE": filepath.Join(cred, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(cred, "none"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "test-secret",
		"AWS_PROFILE": "", "AWS_REGION": "us-east-1",
	} {
		b.Setenv(k, v)
	}
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
		if r.Method == http.MethodGet && !r.URL.Query().Has("list-type") {
			time.Sleep(20 * time.Millisecond)
		}
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	var sum ingest.Summary
	for b.Loop() {
		c, err := Open(ctx, filepath.Join(b.TempDir(), "s3.tsc"))
		if err != nil {
			b.Fatal(err)
		}
		sum, err = c.IngestSources(ctx, []string{"s3://trail/AWSLogs/"}, S3Source{Endpoint: srv.URL}, nil)
		c.Close()
		if err != nil || sum.Loaded != objects {
			b.Fatalf("loaded %d of %d objects: %v", sum.Loaded, objects, err)
		}
	}
	b.ReportMetric(float64(sum.Loaded)/sum.LoadTime.Seconds(), "objects/s")
	b.ReportMetric(float64(sum.Added)/sum.LoadTime.Seconds(), "events/s")
	b.ReportMetric(0, "ns/op")
}
