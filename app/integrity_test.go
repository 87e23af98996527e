package app

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trailscope/trailscope/data/ingest"
)

// trailExport is an export as CloudTrail delivers it with log file validation on: log files
// under CloudTrail/, and each hour a digest under CloudTrail-Digest/ that lists the hour's log
// files with the SHA-256 of their plain content and links to the digest before it.
type trailExport struct {
	dir    string
	logs   map[string][]byte // S3 key → plain content
	order  []string          // keys of logs, in delivery order
	report string            // the case's report, as the last check left it
}

const exportAcct, exportRegion = "111122223333", "eu-west-1"

var exportStart = time.Date(2024, 5, 9, 10, 0, 0, 0, time.UTC)

// newTrailExport writes hours of log files (perHour each) and their digests, and returns it.
func newTrailExport(t *testing.T, hours, perHour int) *trailExport {
	t.Helper()
	x := &trailExport{dir: t.TempDir(), logs: map[string][]byte{}}
	x.addRegion(t, exportRegion, hours, perHour)
	return x
}

// addRegion writes the trail's log files and digests of one more region.
func (x *trailExport) addRegion(t *testing.T, region string, hours, perHour int) {
	t.Helper()
	prevKey, prevHash := "", ""
	base := len(x.order) * 1000 // eventIDs apart from the other regions'
	for h := range hours {
		start := exportStart.Add(time.Duration(h) * time.Hour)
		var listed []map[string]string
		for i := range perHour {
			at := start.Add(time.Duration(5+10*i) * time.Minute)
			key := x.logKeyIn(region, at, fmt.Sprintf("h%di%d", h, i))
			plain := x.recordsIn(region, at, base+h*100+i)
			x.write(t, key, plain)
			listed = append(listed, map[string]string{"s3Bucket": "trail-bucket", "s3Object": key,
				"hashValue": sha(plain), "hashAlgorithm": "SHA-256"})
		}
		end := start.Add(time.Hour)
		key := fmt.Sprintf("AWSLogs/%s/CloudTrail-Digest/%s/%s/%s_CloudTrail-Digest_%s_org-trail_us-east-1_%s.json.gz",
			exportAcct, region, end.Format("2006/01/02"), exportAcct, region, end.Format("20060102T150405Z"))
		d := map[string]any{"awsAccountId": exportAcct, "digestStartTime": start.Format(time.RFC3339),
			"digestEndTime": end.Format(time.RFC3339), "digestS3Bucket": "trail-bucket", "digestS3Object": key,
			"digestPublicKeyFingerprint": "8e9f6a7bb1c2d3e4f5a6b7c8d9e0f1a2", "digestSignatureAlgorithm": "SHA256withRSA",
			"previousDigestSignature": nil, "logFiles": listed}
		if prevKey != "" {
			d["previousDigestS3Bucket"], d["previousDigestS3Object"] = "trail-bucket", prevKey
			d["previousDigestHashValue"], d["previousDigestHashAlgorithm"] = prevHash, "SHA-256"
			d["previousDigestSignature"] = "4e1a2b3c"
		}
		plain, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		x.write(t, key, plain)
		prevKey, prevHash = key, sha(plain)
	}
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func (x *trailExport) logKey(at time.Time, suffix string) string {
	return x.logKeyIn(exportRegion, at, suffix)
}

func (x *trailExport) logKeyIn(region string, at time.Time, suffix string) string {
	return fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz", exportAcct, region,
		at.Format("2006/01/02"), exportAcct, region, at.Format("20060102T1504Z"), suffix)
}

// records is a log file's plain content: a few events at the given time.
func (x *trailExport) records(at time.Time, n int) []byte { return x.recordsIn(exportRegion, at, n) }

func (x *trailExport) recordsIn(region string, at time.Time, n int) []byte {
	var recs []string
	for i := range 3 {
		recs = append(recs, fmt.Sprintf(`{"eventVersion":"1.08","eventID":"00000000-0000-4000-8000-%06d%06d","eventTime":%q,`+
			`"eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":%q,"sourceIPAddress":"10.0.0.%d",`+
			`"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::%s:user/ana","accountId":%q},"recipientAccountId":%q}`,
			n, i, at.Add(time.Duration(i)*time.Second).Format(time.RFC3339), region, i+1, exportAcct, exportAcct, exportAcct))
	}
	return []byte(`{"Records":[` + strings.Join(recs, ",") + `]}`)
}

// write stores plain content gzipped at key, as CloudTrail does.
func (x *trailExport) write(t *testing.T, key string, plain []byte) {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(plain)
	zw.Close()
	p := filepath.Join(x.dir, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(key, "/CloudTrail/") {
		if _, ok := x.logs[key]; !ok {
			x.order = append(x.order, key)
		}
		x.logs[key] = plain
	}
}

// remove deletes the files whose path holds part, and returns the last one's path.
func (x *trailExport) remove(t *testing.T, part string) (last string) {
	t.Helper()
	filepath.WalkDir(x.dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(p, part) {
			last = p
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
		return err
	})
	if last == "" {
		t.Fatalf("no file holds %q", part)
	}
	return last
}

// check loads the export into a new case and checks it.
func (x *trailExport) check(t *testing.T, more ...string) IntegrityReport {
	t.Helper()
	ctx := context.Background()
	c, err := Open(ctx, filepath.Join(t.TempDir(), "case.tsc"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := ingest.Run(ctx, c.st, append([]string{x.dir}, more...), ingest.Options{SkipIndex: true}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	rep, err := c.CheckIntegrity(ctx, func(ch IntegrityCheck) error { seen[ch.Status]++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	// Every check is handed over; the report keeps the counts and the problems alone.
	n := 0
	for _, v := range seen {
		n += v
	}
	if !maps.Equal(seen, rep.Counts) || len(rep.Checks) != n-seen[IntegrityValid] {
		t.Errorf("handed over %v, counted %v, kept %d problems", seen, rep.Counts, len(rep.Checks))
	}
	var b strings.Builder
	if err := c.Report(ctx, &b, time.Now()); err != nil {
		t.Fatal(err)
	}
	x.report = b.String()
	return rep
}

func statuses(r IntegrityReport) string {
	var s []string
	for _, ch := range r.Checks {
		if ch.Status != IntegrityValid {
			s = append(s, ch.Status+" "+ch.Kind+" "+filepath.Base(ch.Object))
		}
	}
	return fmt.Sprintf("%d digests, %d valid; %s", r.Digests, r.Counts[IntegrityValid], strings.Join(s, "; "))
}

// TestCheckIntegrity: an untouched export checks valid, log file by log file and link by link;
// a log file changed, deleted or slipped in after delivery, and a digest deleted from the middle
// of the chain, are each found and named.
func TestCheckIntegrity(t *testing.T) {
	x := newTrailExport(t, 3, 2)
	// 6 log files and the links from the second and third digests to the one before.
	if got, want := statuses(x.check(t)), "3 digests, 8 valid; "; got != want {
		t.Fatalf("untouched: %s, want %s", got, want)
	}

	changed := x.order[1]
	x.write(t, changed, bytes.Replace(x.logs[changed], []byte("ListBuckets"), []byte("GetObject"), 1))
	deleted := x.order[4]
	if err := os.Remove(filepath.Join(x.dir, filepath.FromSlash(deleted))); err != nil {
		t.Fatal(err)
	}
	added := x.logKey(exportStart.Add(70*time.Minute), "forged")
	x.write(t, added, x.records(exportStart.Add(70*time.Minute), 999))
	rep := x.check(t)
	want := fmt.Sprintf("3 digests, 6 valid; modified log %s; missing log %s; unlisted log %s",
		filepath.Base(changed), filepath.Base(deleted), filepath.Base(added))
	if got := statuses(rep); got != want {
		t.Errorf("tampered:\n got %s\nwant %s", got, want)
	}
	if rep.Problems() != 3 || !strings.Contains(rep.Summary(), "1 modified, 1 missing, 1 unlisted") {
		t.Errorf("problems %d, summary %q", rep.Problems(), rep.Summary())
	}
	row := "| modified | log | " + mdText(changed) + " | "
	if !strings.Contains(x.report, "## Integrity against the CloudTrail digests\n\n"+mdText(rep.Summary())) || !strings.Contains(x.report, row) {
		t.Errorf("the report lacks the check, or %q:\n%s", row, x.report)
	}
	for _, ch := range rep.Checks {
		if ch.Status == IntegrityModified && (ch.Got != sha(x.logs[changed]) || ch.Want == ch.Got || !strings.HasSuffix(ch.File, filepath.Base(changed))) {
			t.Errorf("modified: %+v", ch)
		}
	}

	// The middle digest deleted: the third's link to it breaks, and its two log files are no
	// longer listed by any digest.
	y := newTrailExport(t, 3, 1)
	middle := y.remove(t, "_20240509T120000Z.json.gz")
	if got, want := statuses(y.check(t)), "2 digests, 2 valid; missing digest "+filepath.Base(middle)+"; unlisted log "+filepath.Base(y.order[1]); got != want {
		t.Errorf("middle digest deleted:\n got %s\nwant %s", got, want)
	}
}

// TestCheckIntegrityChainEnd: the newest hours of a region deleted, digests and log files alike,
// break no link; the chain's end is found against the other region's chain, or against the
// region's own log files when only its digests went. An hour's difference is delivery timing.
func TestCheckIntegrityChainEnd(t *testing.T) {
	const other = "us-west-2"
	x := newTrailExport(t, 6, 1)
	x.addRegion(t, other, 6, 1)
	if got, want := statuses(x.check(t)), "12 digests, 22 valid; "; got != want {
		t.Fatalf("untouched: %s, want %s", got, want)
	}
	// The last hour of us-west-2 gone: an export cut while its digest was on its way.
	x.remove(t, "/"+other+"/2024/05/09/"+exportAcct+"_CloudTrail-Digest_"+other+"_org-trail_us-east-1_20240509T160000Z")
	x.remove(t, "_CloudTrail_"+other+"_20240509T1505Z")
	if got, want := statuses(x.check(t)), "11 digests, 20 valid; "; got != want {
		t.Errorf("last hour gone: %s, want %s", got, want)
	}
	// Two more hours gone: the chain now ends three hours before the other one does.
	for _, hour := range [][2]string{{"15", "14"}, {"14", "13"}} { // a digest's end, the hour of the log it lists
		x.remove(t, "_CloudTrail-Digest_"+other+"_org-trail_us-east-1_20240509T"+hour[0]+"0000Z")
		x.remove(t, "_CloudTrail_"+other+"_20240509T"+hour[1]+"05Z")
	}
	rep := x.check(t)
	if got, want := statuses(rep), "9 digests, 16 valid; ended digest "+exportAcct+"_CloudTrail-Digest_"+other+"_org-trail_us-east-1_20240509T130000Z.json.gz"; got != want {
		t.Errorf("three hours gone:\n got %s\nwant %s", got, want)
	}
	if rep.Problems() != 1 || !strings.Contains(rep.Summary(), "; 1 chain of digests ended hours before the rest of the case: "+
		exportAcct+" "+other+" at 2024-05-09 13:00 UTC (the case goes on to 2024-05-09 16:00 UTC).") {
		t.Errorf("problems %d, summary %q", rep.Problems(), rep.Summary())
	}
	for _, ch := range rep.Checks {
		if ch.Want != "2024-05-09T16:00:00Z" || ch.Got != "2024-05-09T13:00:00Z" || ch.File == "" {
			t.Errorf("ended: %+v", ch)
		}
	}

	// One region, its last four digests gone and its log files kept: the last log file came
	// 3h05 after the chain's end.
	y := newTrailExport(t, 6, 1)
	for _, hour := range []string{"13", "14", "15", "16"} {
		y.remove(t, "_CloudTrail-Digest_"+exportRegion+"_org-trail_us-east-1_20240509T"+hour+"0000Z")
	}
	if got, want := statuses(y.check(t)), "2 digests, 3 valid; ended digest "+exportAcct+"_CloudTrail-Digest_"+exportRegion+"_org-trail_us-east-1_20240509T120000Z.json.gz"; got != want {
		t.Errorf("digests gone, logs kept:\n got %s\nwant %s", got, want)
	}
	// Three gone: the last log file came 2h05 after the chain's end, which timing can explain.
	z := newTrailExport(t, 6, 1)
	for _, hour := range []string{"14", "15", "16"} {
		z.remove(t, "_CloudTrail-Digest_"+exportRegion+"_org-trail_us-east-1_20240509T"+hour+"0000Z")
	}
	if got, want := statuses(z.check(t)), "3 digests, 5 valid; "; got != want {
		t.Errorf("three digests gone, logs kept: %s, want %s", got, want)
	}
}

// TestCheckIntegrityPartOfChain: an export that starts inside the chain (its first digest links
// to one before the export) and the log files of the hour before it are not problems.
func TestCheckIntegrityPartOfChain(t *testing.T) {
	x := newTrailExport(t, 3, 2)
	x.remove(t, "_20240509T110000Z.json.gz")
	if got, want := statuses(x.check(t)), "2 digests, 5 valid; "; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestCheckIntegrityEveryCopy: a changed copy of a log file is named even when the case read a
// good one of the same name too.
func TestCheckIntegrityEveryCopy(t *testing.T) {
	x := newTrailExport(t, 2, 1)
	other := t.TempDir()
	key := x.order[0]
	p := filepath.Join(other, filepath.Base(key))
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(bytes.Replace(x.logs[key], []byte("ListBuckets"), []byte("ListBucketz"), 1))
	zw.Close()
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := statuses(x.check(t, other)), "2 digests, 3 valid; modified log "+filepath.Base(key); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestCheckIntegrityWithoutDigests: a case without digests says there is nothing to check.
func TestCheckIntegrityWithoutDigests(t *testing.T) {
	x := newTrailExport(t, 1, 1)
	x.remove(t, "CloudTrail-Digest_")
	rep := x.check(t)
	if rep.Digests != 0 || len(rep.Checks) != 0 || !strings.Contains(rep.Summary(), "No CloudTrail digest files") {
		t.Errorf("%+v: %s", rep, rep.Summary())
	}
}

// BenchmarkCheckIntegrity checks two days of the demo organisation's export with its hourly
// digests: about 150 log files and 550 digests.
func BenchmarkCheckIntegrity(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	if _, err := WriteDemoFiles(ctx, filepath.Join(dir, "files"), DemoConfig{Seed: 2, Days: 2}); err != nil {
		b.Fatal(err)
	}
	c, err := Open(ctx, filepath.Join(dir, "case.tsc"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if _, err := ingest.Run(ctx, c.st, []string{filepath.Join(dir, "files")}, ingest.Options{SkipIndex: true}); err != nil {
		b.Fatal(err)
	}
	var rep IntegrityReport
	for b.Loop() {
		if rep, err = c.CheckIntegrity(ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
	if rep.Problems() != 0 || rep.Counts[IntegrityValid] == 0 {
		b.Fatalf("the demo's export: %s", rep.Summary())
	}
	b.ReportMetric(float64(rep.Digests), "digests")
	b.ReportMetric(float64(rep.Counts[IntegrityValid]), "files")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(rep.Counts[IntegrityValid]), "µs/file")
}

// TestCheckIntegrityStops: the check ends with the error its callback returns, as the window's
// Stop checking makes it.
func TestCheckIntegrityStops(t *testing.T) {
	x := newTrailExport(t, 2, 2)
	ctx, cancel := context.WithCancel(context.Background())
	c, err := Open(ctx, filepath.Join(t.TempDir(), "case.tsc"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := ingest.Run(ctx, c.st, []string{x.dir}, ingest.Options{SkipIndex: true}); err != nil {
		t.Fatal(err)
	}
	n := 0
	_, err = c.CheckIntegrity(ctx, func(IntegrityCheck) error {
		n++
		cancel()
		return ctx.Err()
	})
	if !errors.Is(err, context.Canceled) || n != 1 {
		t.Errorf("after %d checks: %v, want the check stopped at the first", n, err)
	}
}

// TestIntegritySummaryEnded: the summary names the first three chains that end early by account
// and region, and counts the rest.
func TestIntegritySummaryEnded(t *testing.T) {
	rep := IntegrityReport{Digests: 40, Counts: map[string]int{IntegrityValid: 30, IntegrityEnded: 4}}
	for _, region := range []string{"eu-west-1", "us-east-1", "us-east-2", "us-west-2"} {
		rep.Checks = append(rep.Checks, IntegrityCheck{Status: IntegrityEnded, Kind: "digest",
			Object: "AWSLogs/o-abc/111122223333/CloudTrail-Digest/" + region + "/2024/05/09/x.json.gz",
			Want:   "2024-05-10T00:00:00Z", Got: "2024-05-09T20:00:00Z"})
	}
	want := "34 files checked against 40 digests: 30 valid; 4 chains of digests ended hours before the rest of the case: " +
		"111122223333 eu-west-1 at 2024-05-09 20:00 UTC (the case goes on to 2024-05-10 00:00 UTC), " +
		"111122223333 us-east-1 at 2024-05-09 20:00 UTC (the case goes on to 2024-05-10 00:00 UTC), " +
		"111122223333 us-east-2 at 2024-05-09 20:00 UTC (the case goes on to 2024-05-10 00:00 UTC) and 1 more."
	if got := rep.Summary(); !strings.HasPrefix(got, want) {
		t.Errorf("summary:\n got %s\nwant %s…", got, want)
	}
	if rep.Problems() != 4 {
		t.Errorf("problems %d, want 4", rep.Problems())
	}
}
