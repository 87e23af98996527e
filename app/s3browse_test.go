package app

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/trailscope/trailscope/data/source/sourcetest"
)

// TestS3Browse: the buckets the credentials see, and the accounts whose trails a bucket holds,
// an organisation's trail's (AWSLogs/o-…/ACCOUNT/) with them, whatever prefix the URL names.
func TestS3Browse(t *testing.T) {
	sourcetest.IsolateAWS(t, "us-east-1")
	backend := s3mem.New()
	for _, b := range []string{"trail", "assets"} {
		if err := backend.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{
		"AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/09/a.json.gz",
		"AWSLogs/o-abc123def4/777788889999/CloudTrail/eu-west-1/2024/05/09/b.json.gz",
		"AWSLogs/o-abc123def4/444455556666/CloudTrail/eu-west-1/2024/05/09/c.json.gz",
		"AWSLogs/README/notes.txt",
	} {
		if _, err := backend.PutObject("trail", key, map[string]string{}, bytes.NewReader([]byte("x")), 1, nil); err != nil {
			t.Fatal(err)
		}
	}
	// gofakes3 leaves out the buckets' regions, which S3 gives: added here for "trail".
	fake := gofakes3.New(backend).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/" {
			fake.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		fake.ServeHTTP(rec, r)
		body := strings.Replace(rec.Body.String(), "<Name>trail</Name>", "<Name>trail</Name><BucketRegion>eu-west-1</BucketRegion>", 1)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		io.WriteString(w, body)
	}))
	defer srv.Close()
	ctx := context.Background()
	src := S3Source{Endpoint: srv.URL}
	got, err := S3Buckets(ctx, src)
	var names []string
	for _, b := range got {
		names = append(names, b.Name)
	}
	if err != nil || !slices.Equal(names, []string{"assets", "trail"}) || got[1].Region != "eu-west-1" || got[0].Region != "" {
		t.Errorf("buckets: %v, %v", got, err)
	}
	want := []string{"111122223333", "444455556666", "777788889999"}
	for _, url := range []string{"s3://trail", "s3://trail/AWSLogs/", "s3://trail/AWSLogs/111122223333/CloudTrail/"} {
		src.URL = url
		if got, err := S3TrailAccounts(ctx, src); err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: accounts %v, %v; want %v", url, got, err, want)
		}
	}
}
