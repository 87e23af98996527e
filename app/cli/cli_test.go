package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// run runs one command the way a script would (not a terminal) and returns stdout, stderr and
// the exit code.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), Env{Stdout: &out, Stderr: &errb, Now: time.Now}, args)
	return out.String(), errb.String(), code
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const twoEvents = `{"Records":[
{"eventVersion":"1.08","eventID":"e1","eventTime":"2024-05-09T20:25:03Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/web/i-1","accountId":"111122223333"},"recipientAccountId":"111122223333","eventType":"AwsApiCall"},
{"eventVersion":"1.08","eventID":"e2","eventTime":"2024-05-10T08:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.1","userAgent":"console","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::444455556666:user/bob","accountId":"444455556666"},"recipientAccountId":"444455556666","eventType":"AwsApiCall"}]}`

func TestIngestAndInfoContract(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "in")
	os.Mkdir(src, 0o755)
	writeFile(t, src, "a.json", twoEvents)
	writeFile(t, src, "bad.json", `{"Records":[{"eventID":"x","eventTime":"2024-05-09T`)
	casePath := filepath.Join(dir, "case.tsc")

	out, stderr, code := run(t, "ingest", "--case", casePath, "--format", "json", src)
	if code != ExitPartial {
		t.Fatalf("ingest with a broken file: exit %d, want 3; stderr %s", code, stderr)
	}
	var sum map[string]any
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("ingest json summary: %v in %q", err, out)
	}
	if sum["added"] != 2.0 {
		t.Errorf("added = %v, want 2", sum["added"])
	}
	if st, _ := sum["stored_seconds"].(float64); st <= 0 || st > sum["seconds"].(float64) {
		t.Errorf("stored after %v s of %v: want 0 < stored <= seconds", sum["stored_seconds"], sum["seconds"])
	}
	failed, _ := sum["failed"].([]any)
	if len(failed) != 1 || !strings.Contains(failed[0].(map[string]any)["path"].(string), "bad.json") {
		t.Errorf("failed = %v, want bad.json", sum["failed"])
	}

	out, _, code = run(t, "info", "--case", casePath, "--format", "json")
	if code != 0 {
		t.Fatalf("info exit %d", code)
	}
	var info map[string]any
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"events", "first_event", "last_event", "accounts", "regions", "event_sources", "files_loaded", "files_skipped", "files_failed"} {
		if _, ok := info[k]; !ok {
			t.Errorf("info json lacks %q", k)
		}
	}
	if info["events"] != 2.0 || info["first_event"] != "2024-05-09T20:25:03Z" || info["last_event"] != "2024-05-10T08:00:00Z" {
		t.Errorf("info = %v", info)
	}
	if got := info["accounts"].([]any); len(got) != 2 {
		t.Errorf("accounts = %v", got)
	}
	if info["files_loaded"] != 1.0 || info["files_failed"] != 1.0 {
		t.Errorf("files loaded/failed = %v/%v", info["files_loaded"], info["files_failed"])
	}

	out, _, _ = run(t, "info", "--case", casePath, "--format", "csv")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) != 2 || recs[0][0] != "events" || recs[1][0] != "2" {
		t.Errorf("info csv = %q (%v)", out, err)
	}

	// Loading again adds nothing.
	out, _, _ = run(t, "ingest", "--case", casePath, "--format", "json", filepath.Join(src, "a.json"))
	json.Unmarshal([]byte(out), &sum)
	if sum["added"] != 0.0 || sum["duplicates"] != 2.0 {
		t.Errorf("second ingest: %v", sum)
	}
	fi, _ := os.Stat(casePath)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("case mode %v", fi.Mode().Perm())
	}
}

func TestUsageErrors(t *testing.T) {
	casePath := filepath.Join(t.TempDir(), "c.tsc")
	for _, args := range [][]string{
		{"ingest", "--case", casePath},
		{"info"},
		{"info", "--case", casePath, "--format", "xml"},
		{"anomalies", "--case", casePath, "--direction", "sideways"},
		{"anomalies", "--case", casePath, "--min-risk", "11"},
		{"config", "--case", casePath, "bin_minutes", "7"},
		{"config", "--case", casePath, "no_such_key", "1"},
		{"nonsense"},
		{"demo"},
		{"demo", "--case", casePath, "--out-dir", casePath + ".d"},
		{"demo", "--out-dir", casePath + ".d", "--bogus"},
	} {
		if _, _, code := run(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if _, stderr, code := run(t, "ingest", "--case", casePath, filepath.Join(t.TempDir(), "missing")); code != ExitFailed || !strings.Contains(stderr, "missing") {
		t.Errorf("missing path: exit %d, stderr %q", code, stderr)
	}
}

// TestDemoHelpNamesScenarios: a trainer finds the scenarios in the help, not by a wrong guess.
func TestDemoHelpNamesScenarios(t *testing.T) {
	_, stderr, _ := run(t, "demo", "--help")
	for _, name := range []string{"capital-one-2019", "cloudtrail-tampering", "root-use"} {
		if !strings.Contains(stderr, name) {
			t.Errorf("demo --help does not name %s:\n%s", name, stderr)
		}
	}
}

func TestConfigRoundTrip(t *testing.T) {
	casePath := filepath.Join(t.TempDir(), "c.tsc")
	if _, stderr, code := run(t, "config", "--case", casePath, "trusted_networks", "10.0.0.0/8, 192.0.2.5"); code != 0 {
		t.Fatalf("set: %d %s", code, stderr)
	}
	out, _, code := run(t, "config", "--case", casePath, "--format", "json", "trusted_networks")
	if code != 0 || !strings.Contains(out, `"value":"10.0.0.0/8, 192.0.2.5"`) {
		t.Errorf("get: %d %s", code, out)
	}
	if _, _, code := run(t, "config", "--case", casePath, "trusted_networks", "not-a-network"); code != ExitUsage {
		t.Errorf("bad CIDR accepted: exit %d", code)
	}
}

func TestTimeBounds(t *testing.T) {
	for _, tc := range []struct {
		in    string
		until bool
		want  string
	}{
		{"2024-05-09", false, "2024-05-09T00:00:00Z"},
		{"2024-05-09", true, "2024-05-10T00:00:00Z"},
		{"2024-05-09T20:25:00+02:00", false, "2024-05-09T18:25:00Z"},
	} {
		got, err := parseTimeBound(tc.in, tc.until)
		if err != nil || got.Format(time.RFC3339) != tc.want {
			t.Errorf("parseTimeBound(%q, %v) = %v, %v; want %s", tc.in, tc.until, got, err, tc.want)
		}
	}
	if _, err := parseTimeBound("yesterday", false); err == nil {
		t.Error("accepted 'yesterday'")
	}
}

func TestMissingCaseNotCreated(t *testing.T) {
	casePath := filepath.Join(t.TempDir(), "nope.tsc")
	for _, cmd := range []string{"info", "search", "anomalies", "series", "analyze"} {
		_, stderr, code := run(t, cmd, "--case", casePath, "x")
		if code != ExitFailed && code != ExitUsage {
			t.Errorf("%s on a missing case: exit %d", cmd, code)
		}
		if cmd == "info" && !strings.Contains(stderr, "nope.tsc") {
			t.Errorf("info error does not name the case: %q", stderr)
		}
	}
	if _, err := os.Stat(casePath); err == nil {
		t.Error("a read-only command created the case file")
	}
}

// TestSearchCompletesIndex checks that a word search first finishes a full-text index that an
// interrupted load left behind, rather than missing the events it lacks.
func TestSearchCompletesIndex(t *testing.T) {
	dir := t.TempDir()
	casePath := filepath.Join(dir, "case.tsc")
	if _, stderr, code := run(t, "ingest", "--case", casePath, writeFile(t, dir, "a.json", twoEvents)); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, stderr)
	}
	// As a load killed while indexing leaves it: no event in the index, the mark at 0.
	db, err := sql.Open("sqlite", casePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`INSERT INTO events_fts (events_fts) VALUES ('delete-all')`, `UPDATE settings SET value = '0' WHERE key = 'fts_done'`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	out, stderr, code := run(t, "search", "--case", casePath, "--format", "csv", "createuser")
	if code != 0 || !strings.Contains(out, "e2") {
		t.Errorf("search createuser: exit %d, out %q, stderr %q; want e2", code, out, stderr)
	}
}

// TestCountContract: count prints how many events match, and with --by how many carry each
// value, as the listings print (json, csv); a bad field or query is a usage error.
func TestCountContract(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "in")
	os.Mkdir(src, 0o755)
	writeFile(t, src, "a.json", strings.Replace(twoEvents, `"eventType":"AwsApiCall"}]}`,
		`"eventType":"AwsApiCall"},{"eventVersion":"1.08","eventID":"e3","eventTime":"2024-05-10T09:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.1","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::444455556666:user/bob","accountId":"444455556666"},"requestParameters":{"userName":"eve"},"eventType":"AwsApiCall"}]}`, 1))
	casePath := filepath.Join(dir, "case.tsc")
	if _, stderr, code := run(t, "ingest", "--case", casePath, src); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, stderr)
	}
	out, _, code := run(t, "count", "--case", casePath, "--format", "csv", "eventSource:iam.amazonaws.com")
	if code != 0 || out != "events\n2\n" {
		t.Errorf("count: exit %d, %q", code, out)
	}
	out, stderr, code := run(t, "count", "--case", casePath, "--format", "csv", "--by", "userIdentity.arn")
	if code != 0 || out != "value,events,share\narn:aws:iam::444455556666:user/bob,2,0.6667\narn:aws:sts::111122223333:assumed-role/web/i-1,1,0.3333\n" ||
		!strings.Contains(stderr, "3 events match; 2 distinct values of userIdentity.arn") {
		t.Errorf("count --by userIdentity.arn: exit %d, %q, stderr %q", code, out, stderr)
	}
	out, stderr, code = run(t, "count", "--case", casePath, "--format", "json", "--by", "requestParameters.userName", "--since", "2024-05-10")
	if code != 0 || strings.TrimSpace(out) != `{"value":"eve","events":1,"share":0.5}` || !strings.Contains(stderr, "1 without one") {
		t.Errorf("count --by requestParameters.userName: exit %d, %q, stderr %q", code, out, stderr)
	}
	for _, args := range [][]string{{"--by", "a b"}, {"--by", "eventName", "--top", "-1"}, {"(unclosed"}} {
		if _, _, code := run(t, append([]string{"count", "--case", casePath}, args...)...); code != ExitUsage {
			t.Errorf("count %v: exit %d, want 2", args, code)
		}
	}
}

// TestFilesContract: files lists what the case was loaded from, each file's SHA-256 as kept
// (sha256sum gives the same) and what became of it, filtered by status.
func TestFilesContract(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "in")
	os.Mkdir(src, 0o755)
	good := writeFile(t, src, "a.json", twoEvents)
	writeFile(t, src, "bad.json", `{"Records":[{"eventID":"x","eventTime":"2024-05-09T`)
	writeFile(t, src, "notes.txt", "not a log\n")
	casePath := filepath.Join(dir, "case.tsc")
	run(t, "ingest", "--case", casePath, src)
	out, _, code := run(t, "files", "--case", casePath, "--format", "csv")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(recs) != 4 || strings.Join(recs[0], ",") != "path,entry,status,format,events,added,plain_bytes,sha256,reason,loaded_at,plain_sha256" {
		t.Fatalf("files: exit %d, %v, %q", code, err, out)
	}
	body, _ := os.ReadFile(good)
	sum := sha256.Sum256(body)
	byPath := map[string][]string{}
	for _, r := range recs[1:] {
		byPath[filepath.Base(r[0])] = r
	}
	// Not gzipped, its plain content is the file: the two hashes agree.
	if r := byPath["a.json"]; r[2] != "loaded" || r[4] != "2" || r[5] != "2" || r[6] != strconv.Itoa(len(body)) || r[7] != hex.EncodeToString(sum[:]) || r[10] != r[7] {
		t.Errorf("a.json: %q, want loaded, 2 events, %d bytes, its sha256", r, len(body))
	}
	if r := byPath["bad.json"]; r[2] != "failed" || r[8] == "" {
		t.Errorf("bad.json: %q, want failed with a reason", r)
	}
	if r := byPath["notes.txt"]; r[2] != "skipped" || r[8] == "" {
		t.Errorf("notes.txt: %q, want skipped with a reason", r)
	}
	out, _, _ = run(t, "files", "--case", casePath, "--format", "json", "--status", "failed")
	var row map[string]any
	if err := json.Unmarshal([]byte(out), &row); err != nil || strings.Count(out, "\n") != 1 || row["status"] != "failed" || row["events"] != 0.0 {
		t.Errorf("files --status failed: %q (%v)", out, err)
	}
	for _, args := range [][]string{{"--status", "done"}, {"extra"}} {
		if _, _, code := run(t, append([]string{"files", "--case", casePath}, args...)...); code != ExitUsage {
			t.Errorf("files %v: exit %d, want 2", args, code)
		}
	}
}

// TestReportContract: report writes Markdown to stdout, or to --out (0600).
func TestReportContract(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "in")
	os.Mkdir(src, 0o755)
	writeFile(t, src, "a.json", twoEvents)
	casePath := filepath.Join(dir, "case.tsc")
	run(t, "ingest", "--case", casePath, src)
	out, stderr, code := run(t, "report", "--case", casePath)
	if code != 0 || !strings.HasPrefix(out, "# Trailscope report: case.tsc") || !strings.Contains(out, "- 2 CloudTrail events") {
		t.Fatalf("report: exit %d, %q, %s", code, out, stderr)
	}
	file := filepath.Join(dir, "r.md")
	if _, stderr, code := run(t, "report", "--case", casePath, "--out", file); code != 0 {
		t.Fatalf("report --out: exit %d, %s", code, stderr)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("report file: %v, %v", fi, err)
	}
	if _, _, code := run(t, "report", "--case", casePath, "extra"); code != ExitUsage {
		t.Errorf("report extra: exit %d, want 2", code)
	}
}

// TestVerifyContract: verify lists what fails the check against the digests (everything with
// --all) with IntegrityColumns, says what it found on stderr, and exits 3 when a file fails.
func TestVerifyContract(t *testing.T) {
	dir := t.TempDir()
	logName := "111122223333_CloudTrail_eu-west-1_20240509T1005Z_a1B2.json"
	writeFile(t, dir, logName, twoEvents)
	plain := sha256.Sum256([]byte(twoEvents))
	digest := fmt.Sprintf(`{"awsAccountId":"111122223333","digestStartTime":"2024-05-09T10:00:00Z","digestEndTime":"2024-05-09T11:00:00Z",`+
		`"digestS3Bucket":"b","digestS3Object":"AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2024/05/09/111122223333_CloudTrail-Digest_eu-west-1_t_us-east-1_20240509T110000Z.json.gz",`+
		`"logFiles":[{"s3Bucket":"b","s3Object":"AWSLogs/111122223333/CloudTrail/eu-west-1/2024/05/09/%s.gz","hashValue":"%x","hashAlgorithm":"SHA-256"},`+
		`{"s3Bucket":"b","s3Object":"AWSLogs/111122223333/CloudTrail/eu-west-1/2024/05/09/111122223333_CloudTrail_eu-west-1_20240509T1015Z_gone.json.gz","hashValue":"%x","hashAlgorithm":"SHA-256"}]}`,
		logName, plain, plain)
	writeFile(t, dir, "111122223333_CloudTrail-Digest_eu-west-1_t_us-east-1_20240509T110000Z.json", digest)
	casePath := filepath.Join(t.TempDir(), "case.tsc")
	if _, stderr, code := run(t, "ingest", "--case", casePath, dir); code != 0 || !strings.Contains(stderr, "1 CloudTrail digest file loaded: trailscope verify") {
		t.Fatalf("ingest: %d %s", code, stderr)
	}
	out, stderr, code := run(t, "verify", "--case", casePath, "--format", "csv")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != ExitPartial || err != nil || len(recs) != 2 || strings.Join(recs[0], ",") != "status,kind,object,file,digest,want_sha256,got_sha256" ||
		recs[1][0] != "missing" || !strings.HasSuffix(recs[1][2], "_gone.json.gz") || recs[1][3] != "" {
		t.Fatalf("verify: exit %d, %v, %q", code, err, out)
	}
	if !strings.Contains(stderr, "2 files checked against 1 digest: 1 valid, 1 missing.") {
		t.Errorf("stderr %q", stderr)
	}
	out, _, _ = run(t, "verify", "--case", casePath, "--format", "json", "--all")
	// Every check, in the order they are made.
	lines := strings.Split(strings.TrimSpace(out), "\n")
	statuses := map[string]string{}
	for _, l := range lines {
		var row map[string]any
		if json.Unmarshal([]byte(l), &row) == nil {
			statuses[row["status"].(string)] = row["got_sha256"].(string)
		}
	}
	if len(lines) != 2 || len(statuses) != 2 || statuses["valid"] != fmt.Sprintf("%x", plain) || statuses["missing"] != "" {
		t.Errorf("verify --all: %q", out)
	}
	if _, _, code := run(t, "verify", "--case", casePath, "extra"); code != ExitUsage {
		t.Errorf("an argument: exit %d, want %d", code, ExitUsage)
	}
}
