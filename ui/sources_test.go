package ui

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/trailscope/trailscope/app"
	"github.com/trailscope/trailscope/data/source/sourcetest"
)

// failFirstGet fails the first download of each object with a 503, so a load succeeds only
// through the SDK's retries.
type failFirstGet struct {
	next http.Handler
	mu   sync.Mutex
	seen map[string]bool
}

func (f *failFirstGet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && !r.URL.Query().Has("list-type") {
		f.mu.Lock()
		first := !f.seen[r.URL.Path]
		f.seen[r.URL.Path] = true
		f.mu.Unlock()
		if first {
			http.Error(w, "injected fault", http.StatusServiceUnavailable)
			return
		}
	}
	f.next.ServeHTTP(w, r)
}

// fakeTrailBucket serves a bucket "trail" on loopback holding the fixture's day as account
// 111122223333's log file, and one more event as account 444455556666's, in CloudTrail's layout.
func fakeTrailBucket(t *testing.T) string {
	t.Helper()
	sourcetest.IsolateAWS(t, "")
	backend := s3mem.New()
	if err := backend.CreateBucket("trail"); err != nil {
		t.Fatal(err)
	}
	other := fixtureEvent(900, day.Add(time.Hour), "ListUsers", "iam.amazonaws.com", "198.51.100.9", "")
	other["recipientAccountId"] = "444455556666"
	for key, evs := range map[string][]map[string]any{
		"AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/09/111122223333_CloudTrail_us-east-1_20240509T2355Z_a.json.gz": fixture(),
		"AWSLogs/444455556666/CloudTrail/us-east-1/2024/05/09/444455556666_CloudTrail_us-east-1_20240509T0105Z_b.json.gz": {other},
	} {
		raw, err := json.Marshal(map[string]any{"Records": evs})
		if err != nil {
			t.Fatal(err)
		}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(raw)
		zw.Close()
		if _, err := backend.PutObject("trail", key, map[string]string{}, bytes.NewReader(gz.Bytes()), int64(gz.Len()), nil); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(&failFirstGet{next: gofakes3.New(backend).Server(), seen: map[string]bool{}})
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestSourcesLoadFromS3: the S3 form loads a bucket through the real AWS SDK client from an S3
// API server on loopback that fails each first download, keeping to the account asked for; a
// form with a bad field names it and loads nothing.
func TestSourcesLoadFromS3(t *testing.T) {
	endpoint := fakeTrailBucket(t)
	s, _ := newTestShell(t, options{casePath: filepath.Join(t.TempDir(), "new.tsc")})
	src := s.view.sources
	src.kind.SetSelected(kindS3)
	f := src.s3
	f.url.SetText("s3://trail/AWSLogs/")
	f.region.SetText("us-east-1")
	f.endpoint.SetText(endpoint)
	f.accounts.SetText("1111-2222-3333")
	test.Tap(f.load)
	settle(t, s)
	if f.problem.Hidden || !strings.HasPrefix(f.problem.Text, "Accounts:") || src.running || !src.job.Hidden {
		t.Fatalf("a bad account number: problem %q (hidden %v), import started %v", f.problem.Text, f.problem.Hidden, !src.job.Hidden)
	}
	f.accounts.SetText("111122223333")
	f.from.SetText("2024-05-09")
	f.to.SetText("2024-05-09")
	test.Tap(f.list) // what it would read, first
	settle(t, s)
	if !strings.HasPrefix(f.preview.Text, "1 log file to read, ") || !src.job.Hidden {
		t.Errorf("List: %q (a load started: %v)", f.preview.Text, !src.job.Hidden)
	}
	test.Tap(f.load)
	settle(t, s)
	if !f.problem.Hidden {
		t.Errorf("a good form still shows %q", f.problem.Text)
	}
	if src.jobTitle.Text != "Import finished" || !strings.Contains(src.summary.Text, "53 events added") ||
		!strings.Contains(src.summary.Text, "1 file loaded") {
		t.Fatalf("S3 load: %q, %q; want the account's one file and its 53 events", src.jobTitle.Text, src.summary.Text)
	}
	if src.pickFile.Disabled() || f.load.Disabled() {
		t.Error("the import buttons stay disabled after the load")
	}
	// The form is remembered, without the days.
	prefs := s.app.Preferences()
	if prefs.String(prefS3URL) != "s3://trail/AWSLogs/" || prefs.String(prefS3Endpoint) != endpoint || prefs.String(prefS3Accounts) != "111122223333" {
		t.Errorf("remembered %q %q %q", prefs.String(prefS3URL), prefs.String(prefS3Endpoint), prefs.String(prefS3Accounts))
	}
	// The S3 form comes back first next time.
	if got := prefs.String(prefSourceKind); got != kindS3 {
		t.Errorf("source kind remembered: %q", got)
	}
	// A day with no logs loads nothing, and says so.
	f.from.SetText("2024-05-10")
	f.to.SetText("")
	test.Tap(f.load)
	settle(t, s)
	if !strings.HasPrefix(src.summary.Text, "Nothing to import: no file found in s3://trail/AWSLogs/ for the days, accounts and CloudTrail regions asked for.") {
		t.Errorf("a day without logs: %q", src.summary.Text)
	}
}

func TestS3FormChecks(t *testing.T) {
	s, _ := newTestShell(t, options{casePath: filepath.Join(t.TempDir(), "new.tsc")})
	f := s.view.sources.s3
	for _, tc := range []struct{ url, from, to, want string }{
		{"", "", "", "Bucket:"},
		{"s3://", "", "", "Bucket:"},
		{"trail", "May 9", "", "From day:"},
		{"trail", "2024-05-10", "2024-05-09", "From day:"},
		{"trail", "", "2024-13-01", "To day:"},
	} {
		f.url.SetText(tc.url)
		f.from.SetText(tc.from)
		f.to.SetText(tc.to)
		if _, err := f.source(); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %s", tc, err, tc.want)
		}
	}
	f.url.SetText("trail/AWSLogs")
	f.from.SetText("2024-05-09")
	f.to.SetText("2024-05-09T12:00:00Z")
	src, err := f.source()
	if err != nil || src.URL != "s3://trail/AWSLogs" || src.To.Sub(src.From).Hours() != 12 {
		t.Errorf("a bucket named without s3://: %+v, %v", src, err)
	}
}

// openFiles opens the fixture's case and its Files dialog.
func openFiles(t *testing.T) (*shell, *fileList) {
	t.Helper()
	s, _ := openedCase(t)
	s.view.sources.showFiles()
	settle(t, s)
	return s, s.view.sources.files
}

// TestSourcesListFiles: Files… lists the files the case read, with what became of each and
// its hash, by status, and exports the list.
func TestSourcesListFiles(t *testing.T) {
	s, fl := openFiles(t)
	if len(fl.rows) != 1 || fl.rows[0].Status != "loaded" || len(fl.rows[0].SHA256) != 64 || fl.status.Text != "1 file" {
		t.Fatalf("the fixture case's files: %+v, %q", fl.rows, fl.status.Text)
	}
	fl.filter.SetSelected("Failed")
	settle(t, s)
	if len(fl.rows) != 0 || fl.status.Text != "0 files" {
		t.Errorf("failed files: %d, %q", len(fl.rows), fl.status.Text)
	}
	out := filepath.Join(t.TempDir(), "files.csv")
	fl.exportTo(out, "")
	settle(t, s)
	body, err := os.ReadFile(out)
	if err != nil || strings.Count(string(body), "\n") != 2 || !strings.Contains(string(body), ",loaded,records,53,53,") {
		t.Errorf("export: %v, %q", err, body)
	}
	if !strings.HasPrefix(fl.status.Text, "Exported 1 file to ") {
		t.Errorf("status after the export: %q", fl.status.Text)
	}
	fl.filter.SetSelected("All")
	settle(t, s)
	fl.table.Select(widget.TableCellID{Row: 0, Col: 1})
	if got := s.app.Clipboard().Content(); got != fl.rows[0].SHA256+"  "+fl.rows[0].Path {
		t.Errorf("choosing a file copied %q", got)
	}
}

func TestShortMiddle(t *testing.T) {
	long := "s3://trail/AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/09/111122223333_CloudTrail_us-east-1_20240509T2355Z_a.json.gz"
	got := shortMiddle(long, 58)
	if len([]rune(got)) != 58 || !strings.HasPrefix(got, "s3://trail/AWSLogs/") || !strings.HasSuffix(got, "20240509T2355Z_a.json.gz") {
		t.Errorf("shortMiddle: %q", got)
	}
	if shortMiddle("a.json", 58) != "a.json" {
		t.Error("a short name was changed")
	}
}

// TestFilesCheckIntegrity: the Files dialog checks the case against its CloudTrail digests: with
// none it says there is nothing to check against; with one listing a log file the case never
// read, it names the file as missing, in the danger colour, and copies the check as text.
func TestFilesCheckIntegrity(t *testing.T) {
	s, fl := openFiles(t)
	fl.verify.OnTapped()
	settle(t, s)
	if fl.checked != nil || fl.verify.Disabled() {
		t.Fatalf("without digests: %+v", fl.checked)
	}
	if _, err := s.view.c.Ingest(context.Background(), []string{filepath.Join("..", "testdata", "inputs", "digest.json")}, nil); err != nil {
		t.Fatal(err)
	}
	fl.verify.OnTapped()
	settle(t, s)
	if fl.checked == nil {
		t.Fatal("no check shown")
	}
	if got := fl.checked.summary.Text; !strings.HasPrefix(got, "1 file checked against 1 digest: 0 valid, 1 missing. Signatures not checked") || fl.checked.summary.Importance != widget.DangerImportance {
		t.Errorf("summary %q (importance %v)", got, fl.checked.summary.Importance)
	}
	if fl.verify.Text != checkLabel || fl.stopCheck != nil {
		t.Errorf("after the check the button reads %q", fl.verify.Text)
	}
	fl.checked.copy.OnTapped()
	if got := s.app.Clipboard().Content(); !strings.Contains(got, "missing\tlog\tAWSLogs/111122223333/CloudTrail/us-east-1/") {
		t.Errorf("copied %q", got)
	}
}

// TestFilesStopCheck: while a check against the digests runs, its button stops it and the dialog
// says so; closing the dialog stops a check too. (A real check of a test case ends before a tap
// could stop it: this one waits to be stopped.)
func TestFilesStopCheck(t *testing.T) {
	s, fl := openFiles(t)
	started, stopped := make(chan struct{}, 1), make(chan error, 1)
	// stoppedWithin is the error the check stopped with, or fails when it goes on.
	stoppedWithin := func(what string) error {
		t.Helper()
		select {
		case err := <-stopped:
			return err
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not stop the check", what)
			return nil
		}
	}
	fl.check = func(ctx context.Context, each func(app.IntegrityCheck) error) (app.IntegrityReport, error) {
		started <- struct{}{}
		<-ctx.Done()
		stopped <- ctx.Err()
		return app.IntegrityReport{}, each(app.IntegrityCheck{}) // as the real one stops: its callback says so
	}
	fl.verify.OnTapped()
	<-started
	if fl.verify.Text != "Stop checking" || fl.stopCheck == nil {
		t.Fatalf("while checking the button reads %q", fl.verify.Text)
	}
	fl.verify.OnTapped()
	if err := stoppedWithin("Stop checking"); !errors.Is(err, context.Canceled) {
		t.Fatalf("the check stopped with %v", err)
	}
	settle(t, s)
	if fl.status.Text != "Check stopped." || fl.verify.Text != checkLabel || fl.stopCheck != nil || fl.checked != nil {
		t.Errorf("after Stop: status %q, button %q", fl.status.Text, fl.verify.Text)
	}
	// Again, and the dialog closed under it.
	fl.verify.OnTapped()
	<-started
	for _, d := range slices.Clone(s.view.dialogs) {
		d.Hide()
	}
	if err := stoppedWithin("closing the dialog"); !errors.Is(err, context.Canceled) {
		t.Fatalf("the check stopped with %v", err)
	}
	settle(t, s)
}

// TestS3FormBrowse: Buckets… offers the buckets the credentials see; the one chosen goes into
// the form, and the accounts whose trails it holds are named.
func TestS3FormBrowse(t *testing.T) {
	endpoint := fakeTrailBucket(t)
	s, _ := newTestShell(t, options{casePath: filepath.Join(t.TempDir(), "new.tsc")})
	s.view.sources.kind.SetSelected(kindS3)
	f := s.view.sources.s3
	f.url.SetText("")
	f.region.SetText("us-east-1")
	f.endpoint.SetText(endpoint)
	test.Tap(f.browse)
	settle(t, s)
	if f.bucketList == nil || f.bucketList.Length() != 1 || !f.problem.Hidden {
		t.Fatalf("buckets offered: %v (problem %q)", f.bucketList, f.problem.Text)
	}
	f.bucketList.Select(0)
	settle(t, s)
	if f.url.Text != "s3://trail/" {
		t.Errorf("bucket chosen: %q", f.url.Text)
	}
	if want := "s3://trail/ holds the trails of 2 accounts: 111122223333, 444455556666."; !strings.HasPrefix(f.preview.Text, want) {
		t.Errorf("accounts: %q, want %q…", f.preview.Text, want)
	}
	// Without a server to answer, the error is shown in the form.
	f.endpoint.SetText("http://127.0.0.1:1")
	test.Tap(f.browse)
	settle(t, s)
	if f.problem.Hidden || f.problem.Text == "" {
		t.Errorf("an unreachable endpoint: no problem shown")
	}
}
