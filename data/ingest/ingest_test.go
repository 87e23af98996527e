package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trailscope/trailscope/data/cloudtrail"
	"github.com/trailscope/trailscope/data/source"
	"github.com/trailscope/trailscope/data/store"
)

// writeRecordsFiles writes files of {"Records":[...]} with simple but well-formed events, and
// returns the folder. Event IDs are unique across files.
func writeRecordsFiles(t testing.TB, files, perFile int) string {
	t.Helper()
	dir := t.TempDir()
	base := time.Date(2024, 5, 9, 0, 0, 0, 0, time.UTC)
	for f := range files {
		var recs []map[string]any
		for i := range perFile {
			n := f*perFile + i
			recs = append(recs, map[string]any{
				"eventVersion":    "1.08",
				"eventID":         fmt.Sprintf("00000000-0000-4000-8000-%012d", n),
				"eventTime":       base.Add(time.Duration(n) * time.Second).Format(time.RFC3339),
				"eventSource":     "s3.amazonaws.com",
				"eventName":       []string{"GetObject", "ListBuckets", "PutObject"}[n%3],
				"awsRegion":       "us-east-1",
				"sourceIPAddress": fmt.Sprintf("203.0.113.%d", n%250),
				"userAgent":       "aws-cli/2.15.0",
				"userIdentity": map[string]any{"type": "IAMUser", "arn": fmt.Sprintf("arn:aws:iam::111122223333:user/u%d", n%7),
					"accountId": "111122223333", "accessKeyId": "AKIAEXAMPLE" + strconv.Itoa(n%7)},
				"requestParameters":  map[string]any{"bucketName": "prod-data", "key": fmt.Sprintf("obj/%d", n)},
				"responseElements":   nil,
				"readOnly":           n%3 != 2,
				"eventType":          "AwsApiCall",
				"recipientAccountId": "111122223333",
			})
		}
		b, err := json.Marshal(map[string]any{"Records": recs})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d.json", f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func openCase(t testing.TB, path string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// caseContent reads every (eventID, raw JSON) pair of a case, sorted.
func caseContent(t testing.TB, st *store.Store) []string {
	t.Helper()
	rows, err := st.DB().Query(`SELECT e.event_id, trailscope_json(j.json) FROM events e JOIN event_json j ON j.id = e.id ORDER BY e.event_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, raw string
		if err := rows.Scan(&id, &raw); err != nil {
			t.Fatal(err)
		}
		out = append(out, id+"\t"+raw)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLoadTwiceAddsNothing(t *testing.T) {
	dir := writeRecordsFiles(t, 5, 200)
	// Each file's row counts its events and those it added, whether it came in one chunk (as
	// most do: recorded at once) or in several (recorded as loading until its last).
	for _, chunk := range []int{64, 0} {
		st := openCase(t, filepath.Join(t.TempDir(), "chunks.tsc"))
		for range 2 {
			if _, err := Run(context.Background(), st, []string{dir}, Options{chunkEvents: chunk}); err != nil {
				t.Fatal(err)
			}
			err := st.Files(context.Background(), "", func(f store.FileRecord) error {
				if f.Status != store.FileLoaded || f.Events != 200 || f.Added != 200 || f.SHA256 == "" {
					t.Errorf("chunks of %d: %s: %s, %d events, %d added, sha256 %q", chunk, filepath.Base(f.Path), f.Status, f.Events, f.Added, f.SHA256)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	casePath := filepath.Join(t.TempDir(), "case.tsc")
	st := openCase(t, casePath)
	ctx := context.Background()
	sum, err := Run(ctx, st, []string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Added != 1000 || sum.Duplicates != 0 || sum.Loaded != 5 || len(sum.Failed) != 0 {
		t.Fatalf("first load: %+v", sum)
	}
	sum, err = Run(ctx, st, []string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Added != 0 || sum.Duplicates != 1000 {
		t.Fatalf("second load added %d, duplicates %d; want 0 and 1000", sum.Added, sum.Duplicates)
	}
	fi, err := os.Stat(casePath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("case file mode %v, want 0600", fi.Mode().Perm())
	}
	pending, err := st.FTSPending(ctx)
	if err != nil || pending != 0 {
		t.Errorf("full-text index pending %d (%v), want 0", pending, err)
	}
	var n int
	st.DB().QueryRow(`SELECT count(*) FROM events_fts WHERE events_fts MATCH 'listbuckets'`).Scan(&n)
	if n == 0 || n >= 1000 {
		t.Errorf("full-text matches for listbuckets: %d", n)
	}
	// Every event's JSON is stored packed (store.PackJSON).
	st.DB().QueryRow(`SELECT count(*) FROM event_json WHERE typeof(json) != 'blob'`).Scan(&n)
	if n != 0 {
		t.Errorf("%d events stored with their JSON unpacked", n)
	}
}

// TestBadInputsReported loads good and bad files together: every bad one is named with a
// reason, the good events all load, and complete events before a break are kept.
func TestBadInputsReported(t *testing.T) {
	dir := writeRecordsFiles(t, 2, 50)
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	good, _ := os.ReadFile(filepath.Join(dir, "f000.json"))
	// Cut inside the 11th event so ten complete ones come before the break, with new IDs.
	broken := strings.ReplaceAll(string(good), "00000000-0000-4000-8000-", "11111111-0000-4000-8000-")
	cut := 0
	for i := 0; i < 11; i++ {
		cut += strings.Index(broken[cut:], `{"awsRegion"`) + 1
	}
	write("broken.json", []byte(broken[:cut+40]))
	write("junk.bin", []byte{0x00, 0xff, 0x13, 0x37, 0x42, 0x99, 0x01})
	write("empty.json", nil)
	write("notct.json", []byte(`{"name":"stratus","techniques":[1,2,3]}`))
	write("trunc.json.gz", []byte{0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x4a, 0x4c})

	st := openCase(t, filepath.Join(t.TempDir(), "case.tsc"))
	sum, err := Run(context.Background(), st, []string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	failed := map[string]FileResult{}
	for _, f := range sum.Failed {
		failed[filepath.Base(f.Path)] = f
	}
	skipped := map[string]FileResult{}
	for _, f := range sum.Skipped {
		skipped[filepath.Base(f.Path)] = f
	}
	for _, name := range []string{"broken.json", "junk.bin", "trunc.json.gz"} {
		if f, ok := failed[name]; !ok || f.Reason == "" {
			t.Errorf("%s not reported as failed with a reason: %+v", name, f)
		}
	}
	for _, name := range []string{"empty.json", "notct.json"} {
		if f, ok := skipped[name]; !ok || f.Reason == "" {
			t.Errorf("%s not reported as skipped with a reason: %+v", name, f)
		}
	}
	if got := failed["broken.json"].Events; got != 10 {
		t.Errorf("broken.json kept %d complete events before the break, want 10", got)
	}
	if sum.Added != 110 {
		t.Errorf("added %d events, want 100 good + 10 before the break", sum.Added)
	}
	in, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if in.FilesFailed != 3 || in.FilesSkipped != 2 || in.FilesLoaded != 2 {
		t.Errorf("info files loaded/skipped/failed = %d/%d/%d, want 2/2/3", in.FilesLoaded, in.FilesSkipped, in.FilesFailed)
	}
}

func TestSharedData(t *testing.T) {
	root := filepath.Join("..", "..", "..", "shared", "data")
	if _, err := os.Stat(root); err != nil {
		t.Skipf("real data not found at %s (only in the project workspace): %v", root, err)
	}
	for _, tc := range []struct {
		dir     string
		events  int64
		skipped []string
	}{
		{"invictus-aws-dataset", 2900, []string{"LICENSE"}},
		{"stratus-detonations", 310, []string{"LICENSE", "techniques.json"}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			st := openCase(t, filepath.Join(t.TempDir(), "case.tsc"))
			ctx := context.Background()
			sum, err := Run(ctx, st, []string{filepath.Join(root, tc.dir)}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Added != tc.events || len(sum.Failed) != 0 {
				t.Fatalf("added %d events, %d failed (%+v); want %d and none", sum.Added, len(sum.Failed), sum.Failed, tc.events)
			}
			var names []string
			for _, f := range sum.Skipped {
				names = append(names, filepath.Base(f.Path))
			}
			sort.Strings(names)
			if !reflect.DeepEqual(names, tc.skipped) {
				t.Errorf("skipped %v, want %v", names, tc.skipped)
			}
			// Every stored event parses equal to its original.
			originals := map[string]any{}
			files, _ := os.ReadDir(filepath.Join(root, tc.dir))
			for _, f := range files {
				b, _ := os.ReadFile(filepath.Join(root, tc.dir, f.Name()))
				var doc any
				if json.Unmarshal(b, &doc) != nil {
					continue
				}
				var list []any
				switch d := doc.(type) {
				case []any:
					list = d
				case map[string]any:
					list, _ = d["Records"].([]any)
				}
				for _, e := range list {
					if m, ok := e.(map[string]any); ok {
						if id, ok := m["eventID"].(string); ok {
							originals[id] = m
						}
					}
				}
			}
			content := caseContent(t, st)
			if len(content) != int(tc.events) {
				t.Fatalf("case holds %d events", len(content))
			}
			for _, row := range content {
				id, raw, _ := strings.Cut(row, "\t")
				var got any
				if err := json.Unmarshal([]byte(raw), &got); err != nil {
					t.Fatalf("event %s: stored JSON does not parse: %v", id, err)
				}
				if !reflect.DeepEqual(got, originals[id]) {
					t.Fatalf("event %s: stored JSON differs from the original", id)
				}
			}
			again, err := Run(ctx, st, []string{filepath.Join(root, tc.dir)}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if again.Added != 0 {
				t.Errorf("second load added %d, want 0", again.Added)
			}
		})
	}
}

// TestKilledLoadResumes kills a load in a child process after several different numbers of
// committed events, reruns it to the end, and compares the case with an uninterrupted load.
func TestKilledLoadResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	dir := writeRecordsFiles(t, 12, 500)
	ref := openCase(t, filepath.Join(t.TempDir(), "ref.tsc"))
	if _, err := Run(context.Background(), ref, []string{dir}, Options{}); err != nil {
		t.Fatal(err)
	}
	want := caseContent(t, ref)
	for _, killAt := range []int64{1, 700, 2600, 5100} {
		t.Run(strconv.FormatInt(killAt, 10), func(t *testing.T) {
			casePath := filepath.Join(t.TempDir(), "case.tsc")
			cmd := exec.Command(os.Args[0], "-test.run=^TestChildLoad$")
			cmd.Env = append(os.Environ(), "TRAILSCOPE_CHILD_CASE="+casePath, "TRAILSCOPE_CHILD_DIR="+dir)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(out)
			killed := false
			for sc.Scan() {
				n, err := strconv.ParseInt(strings.TrimPrefix(sc.Text(), "committed "), 10, 64)
				if err == nil && n >= killAt {
					cmd.Process.Signal(syscall.SIGKILL)
					killed = true
					break
				}
			}
			cmd.Wait()
			if !killed {
				t.Fatalf("the child finished before %d events were committed", killAt)
			}
			st := openCase(t, casePath)
			// The first load wrote in rollback-journal mode: the open rolled the killed
			// transaction back.
			var check string
			if err := st.DB().QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
				t.Fatalf("integrity check after the kill: %q, %v", check, err)
			}
			var before int64
			st.DB().QueryRow(`SELECT count(*) FROM events`).Scan(&before)
			if before < killAt || before >= int64(len(want)) {
				t.Fatalf("after the kill the case holds %d events; want between %d and %d", before, killAt, len(want))
			}
			sum, err := Run(context.Background(), st, []string{dir}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Added+before != int64(len(want)) {
				t.Errorf("rerun added %d to %d, want %d in all", sum.Added, before, len(want))
			}
			if got := caseContent(t, st); !reflect.DeepEqual(got, want) {
				t.Errorf("resumed case differs from an uninterrupted load (%d vs %d events)", len(got), len(want))
			}
		})
	}
}

// TestChildLoad is the child process of TestKilledLoadResumes: it loads slowly in small
// transactions and prints the committed count after each one.
func TestChildLoad(t *testing.T) {
	casePath, dir := os.Getenv("TRAILSCOPE_CHILD_CASE"), os.Getenv("TRAILSCOPE_CHILD_DIR")
	if casePath == "" {
		t.Skip("child process of TestKilledLoadResumes")
	}
	st, err := store.Open(context.Background(), casePath)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), st, []string{dir}, Options{
		Workers: 1, CommitEvery: 300, chunkEvents: 100,
		Committed: func(n int64) { fmt.Printf("committed %d\n", n); time.Sleep(5 * time.Millisecond) },
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFixtureInputs loads every committed input fixture: each form loads, and each bad or
// foreign file is named with its status.
func TestFixtureInputs(t *testing.T) {
	st := openCase(t, filepath.Join(t.TempDir(), "case.tsc"))
	sum, err := Run(context.Background(), st, []string{filepath.Join("..", "..", "testdata", "inputs")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, f := range sum.Skipped {
		status[filepath.Base(f.Path)] = "skipped"
	}
	for _, f := range sum.Failed {
		status[filepath.Base(f.Path)] = "failed"
	}
	want := map[string]string{
		"empty.json": "skipped", "whitespace-only.json": "skipped", "license.txt": "skipped",
		"not-cloudtrail.json": "skipped", "s3-event-notification.json": "skipped",
		"binary-junk.bin": "failed", "broken-middle.jsonl": "failed", "truncated.json": "failed",
	}
	if !reflect.DeepEqual(status, want) {
		t.Errorf("statuses %v\nwant %v", status, want)
	}
	if sum.Insights == 0 || sum.Digests != 1 {
		t.Errorf("insights %d digests %d; want some and 1", sum.Insights, sum.Digests)
	}
	if sum.Added == 0 || sum.Loaded < 14 {
		t.Errorf("added %d from %d files", sum.Added, sum.Loaded)
	}
}

// TestCaseInsideItsInput loads a folder that holds the case itself, as when a new case is saved
// beside the logs it is given, twice (the second time with its WAL and shared memory there too):
// the case's own files are skipped and said so, nothing fails, every event is added once.
func TestCaseInsideItsInput(t *testing.T) {
	dir := writeRecordsFiles(t, 3, 40)
	casePath := filepath.Join(dir, "mine.tsc")
	st := openCase(t, casePath)
	for round, want := range []int64{120, 0} {
		sum, err := Run(context.Background(), st, []string{dir}, Options{SkipIndex: round == 0})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Added != want || len(sum.Failed) > 0 || sum.Loaded != 3 {
			t.Errorf("round %d: %d added (want %d), %d files loaded, failed %+v", round, sum.Added, want, sum.Loaded, sum.Failed)
		}
		var own int
		for _, f := range sum.Skipped {
			if strings.HasPrefix(filepath.Base(f.Path), "mine.tsc") && strings.Contains(f.Reason, "case file itself") {
				own++
			}
		}
		if own == 0 {
			t.Errorf("round %d: the case's own files are not among the skipped: %+v", round, sum.Skipped)
		}
	}
}

// TestIndexProgressCountsWhatWaits: when an earlier load left its events out of the full-text
// index, the next load's build indexes them too, and its progress counts up to all of them,
// not to the few this load added.
func TestIndexProgressCountsWhatWaits(t *testing.T) {
	dir := writeRecordsFiles(t, 2, 50)
	st := openCase(t, filepath.Join(t.TempDir(), "c.tsc"))
	first := filepath.Join(dir, "f000.json")
	if _, err := Run(context.Background(), st, []string{first}, Options{SkipIndex: true}); err != nil {
		t.Fatal(err)
	}
	var last Progress
	sum, err := Run(context.Background(), st, []string{dir}, Options{Progress: func(p Progress) {
		if p.Phase == phaseIndexing || p.Phase == "done" {
			last = p
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Added != 50 || last.ToIndex != 100 || last.IndexTotal() != 100 || last.Indexed != 100 {
		t.Errorf("added %d; progress indexed %d of %d (IndexTotal %d), want 50 added and 100 of 100",
			sum.Added, last.Indexed, last.ToIndex, last.IndexTotal())
	}
}

// TestStoredBeforeIndexes: a first load commits its events before it builds the column indexes
// it deferred, and StoredTime marks that moment: a search then reads every event (by scanning)
// while the indexes are still to come.
func TestStoredBeforeIndexes(t *testing.T) {
	dir := writeRecordsFiles(t, 3, 400)
	st := openCase(t, filepath.Join(t.TempDir(), "case.tsc"))
	type seen struct{ added, rows, indexes int64 }
	var calls []seen
	sum, err := Run(context.Background(), st, []string{dir}, Options{SkipIndex: true, Committed: func(n int64) {
		s := seen{added: n}
		db := st.DB()
		if err := db.QueryRow(`SELECT count(*) FROM events WHERE lower(source_ip) = '203.0.113.7'`).Scan(&s.rows); err != nil {
			t.Error(err)
		}
		if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'events_time'`).Scan(&s.indexes); err != nil {
			t.Error(err)
		}
		calls = append(calls, s)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Added != 1200 {
		t.Fatalf("added %d, want 1200", sum.Added)
	}
	if sum.StoredTime <= 0 || sum.StoredTime > sum.LoadTime {
		t.Errorf("stored after %v, loaded after %v: want 0 < stored <= loaded", sum.StoredTime, sum.LoadTime)
	}
	// 203.0.113.7 is event n with n%250 == 7: 5 of the 1,200.
	var before, after bool
	for _, c := range calls {
		before = before || c.added == 1200 && c.rows == 5 && c.indexes == 0
		after = after || c.added == 1200 && c.rows == 5 && c.indexes == 1
	}
	if !before || !after {
		t.Errorf("commits seen %+v: want all 1,200 events searchable both before and after the time index is built", calls)
	}
}

// TestPlainHash: each file's plain hash is the SHA-256 of its content with gzip undone, every
// byte to the end (a trailing newline after the records included), as CloudTrail digests list
// it; the stored hash stays that of the file as it is.
func TestPlainHash(t *testing.T) {
	src := writeRecordsFiles(t, 1, 20)
	plain, err := os.ReadFile(filepath.Join(src, "f000.json"))
	if err != nil {
		t.Fatal(err)
	}
	plain = append(plain, "\n\n"...)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.json"), plain, 0o644); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain)
	zw.Close()
	if err := os.WriteFile(filepath.Join(dir, "b.json.gz"), gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	st := openCase(t, filepath.Join(t.TempDir(), "case.tsc"))
	if _, err := Run(context.Background(), st, []string{dir}, Options{SkipIndex: true}); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%x", sha256.Sum256(plain))
	stored := map[string]string{"a.json": want, "b.json.gz": fmt.Sprintf("%x", sha256.Sum256(gz.Bytes()))}
	n := 0
	err = st.Files(context.Background(), "", func(f store.FileRecord) error {
		n++
		if f.PlainSHA256 != want || f.SHA256 != stored[filepath.Base(f.Path)] {
			t.Errorf("%s: plain %s, stored %s; want %s, %s", f.Path, f.PlainSHA256, f.SHA256, want, stored[filepath.Base(f.Path)])
		}
		return nil
	})
	if err != nil || n != 2 {
		t.Fatalf("%d files, %v", n, err)
	}
}

// TestStoppedLoadSaysWhatStays: a load cancelled in the middle of a transaction reports what it
// had committed, which is what the case holds, not what the lost transaction had written.
func TestStoppedLoadSaysWhatStays(t *testing.T) {
	dir := writeRecordsFiles(t, 8, 200)
	files, err := source.Files([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inputs := DiskInputs(files)
	for i := range inputs {
		open := inputs[i].Open
		inputs[i].Open = func(c context.Context) (io.ReadCloser, error) {
			if i == 5 {
				// Files 0-4 are stored by now: 600 events committed (after the third), 400 not.
				time.Sleep(200 * time.Millisecond)
				cancel()
			}
			return open(c)
		}
	}
	st := openCase(t, filepath.Join(t.TempDir(), "case.tsc"))
	sum, err := RunInputs(ctx, st, inputs, Options{Workers: 1, CommitEvery: 500})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("load: %v", err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Added != 600 || info.Events != 600 || sum.Loaded != 3 {
		t.Errorf("summary: %d added, %d files loaded; the case holds %d events; want 600, 3 and 600", sum.Added, sum.Loaded, info.Events)
	}
}

// TestChunksKeepEachRecord: chunks reuse their buffers once stored, and the classifier reads each
// event's JSON before it is packed: every event is stored with its own record and the direction
// its record gave, over files of several chunks each, decoded side by side.
func TestChunksKeepEachRecord(t *testing.T) {
	dir := writeRecordsFiles(t, 6, 450)
	want := map[string]string{} // eventID → raw record, as in the files
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct{ Records []json.RawMessage }
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		for _, r := range doc.Records {
			var id struct{ EventID string }
			json.Unmarshal(r, &id)
			want[id.EventID] = string(r)
		}
	}
	// The direction is read from the JSON, as direction.Classifier does for VPC endpoints.
	classify := func(e *cloudtrail.Event) string {
		switch {
		case len(e.Raw) == 0:
			return "no JSON"
		case bytes.Contains(e.Raw, []byte(`"key":"obj/1`)):
			return cloudtrail.Outbound
		}
		return cloudtrail.Inbound
	}
	st := openCase(t, filepath.Join(t.TempDir(), "case.tsc"))
	if _, err := Run(context.Background(), st, []string{dir}, Options{Workers: 2, chunkEvents: 100, Classify: classify}); err != nil {
		t.Fatal(err)
	}
	got := caseContent(t, st)
	if len(got) != len(want) {
		t.Fatalf("%d events stored, want %d", len(got), len(want))
	}
	for _, line := range got {
		id, raw, _ := strings.Cut(line, "\t")
		if raw != want[id] {
			t.Fatalf("event %s stored with another record:\n%s\nwant\n%s", id, raw, want[id])
		}
	}
	rows, err := st.DB().Query(`SELECT e.event_id, e.direction, trailscope_json(j.json) FROM events e JOIN event_json j ON j.id = e.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, dir, raw string
		if err := rows.Scan(&id, &dir, &raw); err != nil {
			t.Fatal(err)
		}
		e := cloudtrail.Event{Raw: []byte(raw)}
		if want := classify(&e); dir != want {
			t.Fatalf("event %s: direction %q, want %q (its record's)", id, dir, want)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}
