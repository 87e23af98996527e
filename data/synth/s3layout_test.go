package synth

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
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

// TestWriteS3LayoutWithDigests: the log files are WriteS3Layout's, byte for byte; each account
// and region has a digest an hour, with no hour left out and up to the trail's last, linked to the
// one before by the hash of its plain content; together they list every log file once, with its
// plain SHA-256.
func TestWriteS3LayoutWithDigests(t *testing.T) {
	cfg := Config{Seed: 8, Days: 1, End: friday, EventsPerDay: 2000}
	plainDir, dir := t.TempDir(), t.TempDir()
	_, logs, err := WriteS3Layout(context.Background(), plainDir, cfg, 300)
	if err != nil {
		t.Fatal(err)
	}
	_, files, err := WriteS3LayoutWithDigests(context.Background(), dir, cfg, 300)
	if err != nil {
		t.Fatal(err)
	}
	read := func(p string) []byte {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	plainHash := map[string]string{} // log key → SHA-256 of its plain content
	digests := map[string]cloudtrail.Digest{}
	hashes := map[string]string{} // digest key → SHA-256 of its plain content
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		key, body := filepath.ToSlash(rel), read(p)
		sum := fmt.Sprintf("%x", sha256.Sum256(body))
		if strings.Contains(key, "/CloudTrail-Digest/") {
			dg, err := cloudtrail.ParseDigest(body)
			if err != nil {
				t.Fatal(err)
			}
			if dg.Object != key {
				t.Errorf("digest at %s names itself %s", key, dg.Object)
			}
			digests[key], hashes[key] = dg, sum
			return nil
		}
		if plain, err := os.ReadFile(filepath.Join(plainDir, rel)); err != nil || !bytes.Equal(plain, mustRead(t, p)) {
			t.Errorf("%s differs from WriteS3Layout's (%v)", key, err)
		}
		plainHash[key] = sum
		return nil
	})
	if len(plainHash) != logs || files != logs+len(digests) || len(digests) < 24 {
		t.Fatalf("%d log files (WriteS3Layout %d), %d digests, %d files reported", len(plainHash), logs, len(digests), files)
	}
	listed := map[string]int{}
	for key, d := range digests {
		for _, l := range d.Logs {
			listed[l.Object]++
			if l.Hash != plainHash[l.Object] {
				t.Errorf("%s lists %s with %s, its plain content hashes %s", key, l.Object, l.Hash, plainHash[l.Object])
			}
		}
		if d.PreviousObject == "" {
			continue
		}
		prev, ok := digests[d.PreviousObject]
		if !ok || hashes[d.PreviousObject] != d.PreviousHash || !prev.End.Equal(d.Start) || d.End.Sub(d.Start) != time.Hour {
			t.Errorf("%s links to %s (there: %v) by %s, which hashes %s", key, d.PreviousObject, ok, d.PreviousHash, hashes[d.PreviousObject])
		}
	}
	for key := range plainHash {
		if listed[key] != 1 {
			t.Errorf("%s listed %d times", key, listed[key])
		}
	}
	// Every chain runs to the trail's last hour, as CloudTrail's do (a digest comes every hour,
	// with or without log files), however quiet its region is at the end.
	ends := map[string]time.Time{} // account/region → the end of its last digest
	for _, d := range digests {
		if k := d.Account + "/" + d.Region(); d.End.After(ends[k]) {
			ends[k] = d.End
		}
	}
	var last time.Time
	for _, end := range ends {
		if end.After(last) {
			last = end
		}
	}
	for k, end := range ends {
		if !end.Equal(last) {
			t.Errorf("the digests of %s end at %v, the trail's at %v", k, end, last)
		}
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
