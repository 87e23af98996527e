package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoLeavesRealCaseAlone points `demo` at a case holding real logs: it must refuse as a
// usage error, write nothing, and leave the case unmarked. Loading more logs into a demo case is
// allowed, with a note that says so.
func TestDemoLeavesRealCaseAlone(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.tsc")
	if _, stderr, code := run(t, "ingest", "--case", real, filepath.Join("..", "..", "testdata", "inputs", "array-pretty.json")); code != 0 {
		t.Fatalf("ingest: %d %s", code, stderr)
	}
	events := func(path string) int {
		t.Helper()
		out, stderr, code := run(t, "info", "--case", path, "--format", "json")
		if code != 0 {
			t.Fatalf("info: %d %s", code, stderr)
		}
		var in struct{ Events int }
		if err := json.Unmarshal([]byte(out), &in); err != nil {
			t.Fatal(err)
		}
		return in.Events
	}
	before := events(real)
	if before == 0 {
		t.Fatal("the real case holds no events")
	}
	_, stderr, code := run(t, "demo", "--case", real, "--days", "1")
	if code != ExitUsage || !strings.Contains(stderr, "already holds events") || !strings.Contains(stderr, "new case") {
		t.Errorf("demo into a real case: exit %d, stderr %q; want 2 and the reason", code, stderr)
	}
	if after := events(real); after != before {
		t.Errorf("the real case went from %d to %d events", before, after)
	}
	if _, stderr, _ := run(t, "ingest", "--case", real, filepath.Join("..", "..", "testdata", "inputs", "array-pretty.json")); strings.Contains(stderr, "demo case") {
		t.Errorf("the refused demo marked the real case as demo data: %q", stderr)
	}

	// A file named as --out-dir: one plain error, and the file left as it was.
	_, stderr, code = run(t, "demo", "--out-dir", real, "--days", "1")
	if code != ExitFailed || !strings.Contains(stderr, "not a directory") || strings.Contains(stderr, "synth") {
		t.Errorf("--out-dir on a file: exit %d, stderr %q", code, stderr)
	}
	if after := events(real); after != before {
		t.Errorf("--out-dir on the case file: %d events, want %d", after, before)
	}

	if testing.Short() {
		return
	}
	demo := filepath.Join(dir, "demo.tsc")
	if _, stderr, code := run(t, "demo", "--case", demo, "--days", "1", "--seed", "4"); code != 0 {
		t.Fatalf("demo: %d %s", code, stderr)
	}
	n := events(demo)
	_, stderr, code = run(t, "ingest", "--case", demo, filepath.Join("..", "..", "testdata", "inputs", "array-pretty.json"))
	if code != 0 || !strings.Contains(stderr, "is a demo case") {
		t.Errorf("ingest into the demo case: exit %d, stderr %q; want 0 and a note", code, stderr)
	}
	if got := events(demo); got != n+before {
		t.Errorf("the demo case holds %d events after the load, want %d", got, n+before)
	}
	// More scenarios may go into a demo case.
	if _, stderr, code := run(t, "demo", "--case", demo, "--days", "1", "--seed", "4", "--scenario", "root-use"); code != 0 {
		t.Errorf("a scenario added to the demo case: exit %d, %s", code, stderr)
	}
}
