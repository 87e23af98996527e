package store

import (
	"context"
	"os"
	"path/filepath"
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
