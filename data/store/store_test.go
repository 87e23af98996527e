package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenEmptyFileIsPrivate opens a case on an empty file with mode 0644, as a file dialog's
// Save leaves it: the case, its WAL and shared memory must end up 0600. A case that holds data
// keeps the mode its owner gave it.
func TestOpenEmptyFileIsPrivate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "saved.tsc")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o644) // whatever the umask
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	loadEvents(t, s, testEvents(t, 50))
	if err := s.SetSetting(ctx, "note", "x"); err != nil { // through the WAL
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("an existing case's mode changed on opening: %v (%v)", fi.Mode().Perm(), err)
	}
}

// TestNeedsAnalysis: a new case has nothing to analyse; once it has events it does, until an
// analysis made from all of them is saved.
func TestNeedsAnalysis(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "c.tsc"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if need, err := s.NeedsAnalysis(ctx); err != nil || need {
		t.Errorf("new case: NeedsAnalysis = %v, %v; want false", need, err)
	}
	loadEvents(t, s, testEvents(t, 20))
	if need, err := s.NeedsAnalysis(ctx); err != nil || !need {
		t.Errorf("after a load: NeedsAnalysis = %v, %v; want true", need, err)
	}
	mark, err := s.EventsMark(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveAnalysis(ctx, nil, nil, mark); err != nil {
		t.Fatal(err)
	}
	if need, err := s.NeedsAnalysis(ctx); err != nil || need {
		t.Errorf("after the analysis: NeedsAnalysis = %v, %v; want false", need, err)
	}
}

// TestOpenRefusesOtherFiles opens files that are not cases, as a wrong pick in the Open dialog
// would: a text file and another application's SQLite database. Both are refused with
// ErrNotCase and left byte for byte as they were; an empty SQLite database becomes a case.
func TestOpenRefusesOtherFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.tsc")
	if err := os.WriteFile(text, []byte("not a database\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "crm.db")
	db, err := sql.Open("sqlite", other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('alice')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, path := range []string{text, other} {
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Open(ctx, path)
		if err == nil {
			s.Close()
		}
		if !errors.Is(err, ErrNotCase) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: Open = %v, want ErrNotCase naming the file", filepath.Base(path), err)
		}
		if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
			t.Errorf("%s: the file changed", filepath.Base(path))
		}
		for _, suffix := range []string{"-wal", "-shm", "-journal"} {
			if _, err := os.Stat(path + suffix); err == nil {
				t.Errorf("%s: %s left beside it", filepath.Base(path), suffix)
			}
		}
	}

	empty := filepath.Join(dir, "empty.db")
	db, err = sql.Open("sqlite", empty)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA user_version = 1`); err != nil { // a valid file with no tables
		t.Fatal(err)
	}
	db.Close()
	s, err := Open(ctx, empty)
	if err != nil {
		t.Fatalf("an empty SQLite database: %v", err)
	}
	s.Close()
}

// TestDataVersion: a second handle on the case (another process, as far as SQLite knows)
// loading events or saving an analysis moves the first handle's data version; nothing moves it
// while nobody writes.
func TestDataVersion(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.tsc")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	v0, err := s.DataVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.DataVersion(ctx); err != nil || v != v0 {
		t.Errorf("no write: version %d, %v; want %d", v, err, v0)
	}
	loadEvents(t, other, testEvents(t, 20))
	v1, err := s.DataVersion(ctx)
	if err != nil || v1 == v0 {
		t.Errorf("after the other handle's load: version %d, %v; want a change from %d", v1, err, v0)
	}
	mark, err := other.EventsMark(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.SaveAnalysis(ctx, nil, nil, mark); err != nil {
		t.Fatal(err)
	}
	if v2, err := s.DataVersion(ctx); err != nil || v2 == v1 {
		t.Errorf("after the other handle's analysis: version %d, %v; want a change from %d", v2, err, v1)
	}
}

// TestDataVersionReaders: a handle that only reads (`trailscope anomalies` while the window has
// the case open) leaves the window's data version as it was, closing included; and the last
// handle to close leaves the case as one file.
func TestDataVersionReaders(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.tsc")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	loadEvents(t, s, testEvents(t, 20))
	if err := s.SetSetting(ctx, "k", "v"); err != nil { // a write through the window's own writer
		t.Fatal(err)
	}
	v0, err := s.DataVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := reader.EventsMark(ctx); err != nil || n == 0 {
		t.Fatalf("the reader sees %d events, %v", n, err)
	}
	if err := reader.Close(); err != nil {
		t.Fatal(err)
	}
	if v, err := s.DataVersion(ctx); err != nil || v != v0 {
		t.Errorf("after a reader came and went: version %d, %v; want %d", v, err, v0)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the last close left the WAL: %v", err)
	}
}
