package source

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Builders of test archives. They use the standard library writers on purpose: the reader side
// uses klauspost's, so the two implementations check each other.

// ent is one archive entry to build.
type ent struct {
	name string
	data []byte
	typ  byte   // tar type flag; 0 means a regular file
	link string // tar link target
	mode int64  // tar mode; 0 means 0o644
	// store keeps a zip entry uncompressed.
	store bool
}

var fixedTime = time.Date(2024, 5, 9, 20, 25, 0, 0, time.UTC)

// gz compresses each part as its own gzip member; several parts make a multi-member file.
func gz(t testing.TB, parts ...[]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, p := range parts {
		w := gzip.NewWriter(&buf)
		w.ModTime = fixedTime
		if _, err := w.Write(p); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func zipOf(t testing.TB, entries ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: fixedTime}
		if e.store {
			h.Method = zip.Store
		}
		fw, err := w.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tarOf(t testing.TB, entries ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: e.mode, ModTime: fixedTime, Format: tar.FormatPAX}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.data))
		}
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := w.Write(e.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeFile writes data to name in a fresh temporary folder and returns its path.
func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// got is what a test saw of one leaf.
type got struct {
	Entry   string
	Size    int64
	Data    string
	Err     error // Leaf.Err
	ReadErr error // from reading R to the end
}

// expandFile runs Expand on the file at path and reads every leaf to the end.
func expandFile(t testing.TB, path string, lim Limits) []got {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	var out []got
	err = Expand(context.Background(), path, f, fi.Size(), lim, func(l Leaf) error {
		if l.Path != path {
			t.Errorf("leaf path %q, want %q", l.Path, path)
		}
		g := got{Entry: l.Entry, Size: l.Size, Err: l.Err}
		if (l.R == nil) == (l.Err == nil) {
			t.Errorf("leaf %q: R set %v with Err %v", l.Entry, l.R != nil, l.Err)
		}
		if l.R != nil {
			b, err := io.ReadAll(l.R)
			g.Data, g.ReadErr = string(b), err
		}
		out = append(out, g)
		return nil
	})
	if err != nil {
		t.Fatalf("Expand %s: %v", path, err)
	}
	return out
}
