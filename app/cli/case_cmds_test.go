package cli

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestIngestInterrupted interrupts a load once its first transaction is in the case: the
// command says what stays and how to go on, and running it again loads the rest.
func TestIngestInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("generates two days of traffic")
	}
	dir := t.TempDir()
	files, casePath := filepath.Join(dir, "logs"), filepath.Join(dir, "c.tsc")
	if _, stderr, code := run(t, "demo", "--out-dir", files, "--days", "2", "--seed", "5"); code != 0 {
		t.Fatalf("demo --out-dir: %d %s", code, stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // Ctrl-C once a first transaction is committed
		for ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
			db, err := sql.Open("sqlite", "file:"+casePath+"?mode=ro")
			if err != nil {
				continue
			}
			var n int
			err = db.QueryRow(`SELECT count(*) FROM events`).Scan(&n)
			db.Close()
			if err == nil && n > 0 {
				cancel()
				return
			}
		}
	}()
	var out, errb bytes.Buffer
	code := Main(ctx, Env{Stdout: &out, Stderr: &errb, Now: time.Now}, []string{"ingest", "--case", casePath, files})
	if code != ExitFailed || !strings.Contains(errb.String(), "interrupted") || !strings.Contains(errb.String(), "same command again") {
		t.Fatalf("exit %d, stderr %q; want 1 and how to go on", code, errb.String())
	}
	// The events it says stay are those in the case.
	var said, held int
	if _, err := fmt.Sscanf(errb.String()[strings.Index(errb.String(), "interrupted: "):], "interrupted: the %d events", &said); err != nil {
		t.Fatalf("%v in %q", err, errb.String())
	}
	db, err := sql.Open("sqlite", "file:"+casePath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM events`).Scan(&held); err != nil || said != held || held == 0 {
		t.Errorf("said %d events stay, the case holds %d (%v)", said, held, err)
	}
	db.Close()
	stdout, stderr, code := run(t, "ingest", "--case", casePath, "--format", "json", files)
	if code != 0 {
		t.Fatalf("second run: %d %s", code, stderr)
	}
	var sum struct{ Added, Duplicates int }
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Duplicates == 0 || sum.Added == 0 {
		t.Errorf("second run added %d and found %d already there; want both", sum.Added, sum.Duplicates)
	}
}

// TestIngestNothingFound: a folder, or a bucket's prefix, that holds no file says so on stderr
// (and loads nothing, which is no failure).
func TestIngestNothingFound(t *testing.T) {
	dir := t.TempDir()
	_, stderr, code := run(t, "ingest", "--case", filepath.Join(dir, "c.tsc"), t.TempDir())
	if code != 0 || !strings.Contains(stderr, "nothing loaded: no file found in ") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
