package synth

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trailscope/trailscope/data/cloudtrail"
)

var layoutName = regexp.MustCompile(`^AWSLogs/(\d{12})/CloudTrail/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz$`)

func TestWriteS3Layout(t *testing.T) {
	cfg := Config{Seed: 21, Days: 2, End: friday, EventsPerDay: 3000, Scenarios: []ScenarioSpec{{Name: "capital-one-2019"}}}
	want := 0
	if _, err := Generate(context.Background(), cfg, func(time.Time, []byte) error { want++; return nil }); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	const per = 400
	labels, files, err := WriteS3Layout(context.Background(), dir, cfg, per)
	if err != nil {
		t.Fatal(err)
	}
	if findLabel(labels, "capital-one-2019") == nil {
		t.Error("labels lost")
	}
	seen, count, ids := 0, 0, map[string]bool{}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		m := layoutName.FindStringSubmatch(filepath.ToSlash(rel))
		if m == nil {
			t.Fatalf("file %s does not follow the CloudTrail S3 layout", rel)
		}
		if m[1] != m[6] || m[2] != m[7] || m[3]+m[4]+m[5] != m[8][:8] {
			t.Fatalf("file %s: folder and name disagree", rel)
		}
		seen++
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		body, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		var doc struct{ Records []json.RawMessage }
		if err := json.Unmarshal(body, &doc); err != nil || !strings.HasPrefix(string(body), `{"Records":[`) {
			t.Fatalf("%s: not a Records file: %v", rel, err)
		}
		if len(doc.Records) == 0 || len(doc.Records) > per {
			t.Fatalf("%s: %d records, want 1..%d", rel, len(doc.Records), per)
		}
		for _, raw := range doc.Records {
			e, err := cloudtrail.Extract(raw)
			if err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
			if e.RecipientAccount != m[1] || e.Region != m[2] || e.Time.Format("20060102") != m[8][:8] {
				t.Fatalf("%s holds an event of %s/%s on %s", rel, e.RecipientAccount, e.Region, e.Time)
			}
			if ids[e.EventID] {
				t.Fatalf("event %s written twice", e.EventID)
			}
			ids[e.EventID] = true
			count++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != files {
		t.Errorf("WriteS3Layout reported %d files, found %d", files, seen)
	}
	if count != want {
		t.Errorf("files hold %d events, Generate emits %d", count, want)
	}
	if files < want/per {
		t.Errorf("%d files for %d events at %d per file", files, want, per)
	}
}

func TestWriteS3LayoutErrors(t *testing.T) {
	if _, _, err := WriteS3Layout(context.Background(), t.TempDir(), Config{End: friday}, 0); err == nil {
		t.Error("eventsPerFile 0 accepted")
	}
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o644)
	_, _, err := WriteS3Layout(context.Background(), blocker, Config{Seed: 1, Days: 1, End: friday, EventsPerDay: 1000}, 100)
	if err == nil || !strings.Contains(err.Error(), blocker) {
		t.Errorf("error %v, want one naming %s", err, blocker)
	}
}
