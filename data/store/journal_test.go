package store

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// journalOf is the case file's journal mode as its header records it: bytes 18 and 19 hold 2
// in WAL mode, 1 in rollback-journal mode.
func journalOf(t *testing.T, s *Store) string {
	t.Helper()
	f, err := os.Open(s.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := make([]byte, 20)
	if _, err := io.ReadFull(f, h); err != nil {
		t.Fatal(err)
	}
	switch {
	case h[18] == 2 && h[19] == 2:
		return journalWAL
	case h[18] == 1 && h[19] == 1:
		return journalRollback
	}
	return fmt.Sprintf("header bytes %d %d", h[18], h[19])
}

// TestJournalModes checks that an empty case waits for its first load in rollback-journal mode
// and that a case with events is in WAL mode, whichever mode it was left in.
func TestJournalModes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "case.tsc")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if got := journalOf(t, s); got != journalRollback {
		t.Errorf("new case: journal mode %q, want %q", got, journalRollback)
	}
	if err := s.SetSetting(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	loadEvents(t, s, testEvents(t, 50))
	if got := journalOf(t, s); got != journalWAL {
		t.Errorf("after the first load: journal mode %q, want %q", got, journalWAL)
	}
	// Left in rollback mode by another program: WAL again at the next open.
	if _, err := s.w.Exec(`PRAGMA journal_mode = DELETE`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(ctx, path); err != nil {
		t.Fatal(err)
	}
	if got := journalOf(t, s); got != journalWAL {
		t.Errorf("case with events reopened: journal mode %q, want %q", got, journalWAL)
	}
	if v, err := s.Setting(ctx, "k", ""); err != nil || v != "v" {
		t.Errorf("setting k = %q, %v; want v", v, err)
	}
	s.Close()

	// An empty case in WAL mode (as older versions made them) leaves it at the next open.
	empty := filepath.Join(t.TempDir(), "empty.tsc")
	if s, err = Open(ctx, empty); err != nil {
		t.Fatal(err)
	}
	if err := s.ensureWAL(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(ctx, empty); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := journalOf(t, s); got != journalRollback {
		t.Errorf("empty case reopened: journal mode %q, want %q", got, journalRollback)
	}
}

// TestReadsDuringFirstLoad reads an empty case over and over while its first load commits in
// rollback-journal mode, and writes a setting through the Store's own writer between two
// commits: each waits for the lock rather than fail, and readers see whole transactions.
func TestReadsDuringFirstLoad(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "case.tsc"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const per, batches = 500, 20
	es := testEvents(t, per*batches)
	l, err := s.BeginLoad(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !l.rollback {
		t.Fatal("the first load does not run in rollback-journal mode")
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var readErr error
	var reads, last int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			var n int
			if err := s.r.QueryRow(`SELECT count(*) FROM events`).Scan(&n); err != nil {
				readErr = err
				return
			}
			if n%per != 0 || n < last {
				readErr = fmt.Errorf("read %d events after %d: not whole transactions", n, last)
				return
			}
			last = n
			reads++
		}
	}()
	for i := range batches {
		if _, err := l.Events(es[i*per:(i+1)*per], nil, 0); err != nil {
			t.Fatal(err)
		}
		if err := l.Commit(); err != nil {
			t.Fatal(err)
		}
		if i == batches/2 {
			if err := s.SetSetting(ctx, "during", "load"); err != nil {
				t.Errorf("write between two commits: %v", err)
			}
		}
	}
	close(stop)
	wg.Wait()
	if readErr != nil {
		t.Fatal(readErr)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if reads == 0 {
		t.Fatal("no read ran during the load")
	}
	var n int
	if err := s.r.QueryRow(`SELECT count(*) FROM events`).Scan(&n); err != nil || n != per*batches {
		t.Fatalf("after the load: %d events, %v; want %d", n, err, per*batches)
	}
	t.Logf("%d reads during the load", reads)
}

// TestKilledFirstLoad kills a process in the middle of a first load's transaction, after the
// transaction outgrew the page cache and was partly written into the case file: the next open
// rolls it back from the journal, and the case holds exactly the committed events.
func TestKilledFirstLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	const committed = 300
	path := filepath.Join(t.TempDir(), "case.tsc")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledFirstLoadChild$")
	cmd.Env = append(os.Environ(), "TRAILSCOPE_KILLED_LOAD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "spilled" {
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	fi, err := os.Stat(path + "-journal")
	if err != nil {
		t.Fatalf("no hot journal after the kill: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("the journal has mode %v, want 0600 as the case", fi.Mode().Perm())
	}
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var check string
	if err := s.r.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity check: %q, %v", check, err)
	}
	var n int
	if err := s.r.QueryRow(`SELECT count(*) FROM events`).Scan(&n); err != nil || n != committed {
		t.Fatalf("%d events, %v; want the %d committed", n, err, committed)
	}
	if got := journalOf(t, s); got != journalWAL {
		t.Errorf("journal mode %q, want %q", got, journalWAL)
	}
}

// TestKilledFirstLoadChild commits 300 events, then writes more in a transaction with a tiny
// page cache until pages spill into the case file, says so, and waits to be killed.
func TestKilledFirstLoadChild(t *testing.T) {
	path := os.Getenv("TRAILSCOPE_KILLED_LOAD")
	if path == "" {
		t.Skip("child process of TestKilledFirstLoad")
	}
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	es := testEvents(t, 3000)
	l, err := s.BeginLoad(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Events(es[:300], nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := l.Commit(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.c.Exec(`PRAGMA cache_size = 4`); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Events(es[300:], nil, 0); err != nil {
		t.Fatal(err)
	}
	if now, err := os.Stat(path); err != nil || now.Size() <= fi.Size() {
		t.Fatalf("the uncommitted events did not spill into the case file (%v)", err)
	}
	fmt.Println("spilled")
	time.Sleep(time.Minute)
}

// TestFTSDuringFirstLoad asks for the full-text index of an empty case while its first load
// holds the rollback journal, as the app does when it opens a new case and files are dropped on
// it at once. With nothing to index yet, the build returns at once and leaves the journal alone;
// with a transaction committed, it waits for the load to end (switching to WAL under the load
// would fail, or land in its middle). Either way the load goes on.
func TestFTSDuringFirstLoad(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "case.tsc"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	es := testEvents(t, 400)
	l, err := s.BeginLoad(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !l.rollback {
		t.Fatal("the first load does not run in rollback-journal mode")
	}
	if _, err := l.Events(es[:200], nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.BuildFTS(ctx, func(int64) {}); err != nil {
		t.Fatalf("full-text build during the first load: %v", err)
	}
	// Once a transaction is committed there is something to index: the build must wait for the
	// load to end rather than switch the journal under it.
	if err := l.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Events(es[200:300], nil, 0); err != nil { // a transaction open again
		t.Fatal(err)
	}
	built := make(chan error, 1)
	go func() { built <- s.BuildFTS(ctx, func(int64) {}) }()
	select {
	case err := <-built:
		t.Fatalf("the full-text build ran during the first load: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if _, err := l.Events(es[300:], nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-built; err != nil {
		t.Fatalf("the full-text build after the first load: %v", err)
	}
	checkFTSRows(t, s, len(es))
}
