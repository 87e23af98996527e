package sqlitec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func open(t *testing.T) *Conn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil { // an empty file is an empty database
		t.Fatal(err)
	}
	c, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT UNIQUE, n INTEGER, b BLOB)`); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestBindAndRead writes rows through one statement, whose text buffer grows and is reused,
// and reads them back.
func TestBindAndRead(t *testing.T) {
	c := open(t)
	ins, err := c.Prepare(`INSERT INTO t (s, n, b) VALUES (?, ?, ?)`)
	if err != nil {
		t.Fatal(err)
	}
	defer ins.Close()
	big := strings.Repeat("x", 1<<20)
	rows := []struct {
		s     string
		bytes bool
		n     *int64
		b     []byte
	}{
		{"short", false, ptr(1), []byte{0, 1, 2}},
		{big, true, nil, nil},
		{"é\u0000nul inside", false, ptr(-7), []byte{}},
		{"", false, ptr(0), []byte("blob")},
	}
	for i, r := range rows {
		if r.bytes {
			ins.TextBytes(1, []byte(r.s))
		} else {
			ins.Text(1, r.s)
		}
		if r.n != nil {
			ins.Int(2, *r.n)
		} else {
			ins.Null(2)
		}
		if i%2 == 0 {
			ins.Blob(3, r.b)
		} else {
			ins.BlobBytes(3, r.b) // through the text buffer, beside the text bound to s
		}
		if err := ins.Exec(); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if c.Changes() != 1 || c.LastInsertRowid() != int64(i+1) {
			t.Fatalf("row %d: changes %d, rowid %d", i, c.Changes(), c.LastInsertRowid())
		}
	}
	q, err := c.Prepare(`SELECT s, coalesce(n, 99), b, typeof(b), typeof(s) FROM t WHERE id = ?`)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for i, r := range rows {
		q.Int(1, int64(i+1))
		row, err := q.Step()
		if err != nil || !row {
			t.Fatalf("row %d: %v, %v", i, row, err)
		}
		s := string(q.ColumnBlob(nil, 0))
		n := q.ColumnInt(1)
		b := q.ColumnBlob(nil, 2)
		btyp := string(q.ColumnBlob(nil, 3))
		typ := string(q.ColumnBlob(nil, 4))
		q.Reset()
		wantN := int64(99)
		if r.n != nil {
			wantN = *r.n
		}
		if s != r.s || n != wantN || string(b) != string(r.b) || typ != "text" || btyp != "blob" {
			t.Errorf("row %d: got %.20q %d %q %s %s", i, s, n, b, typ, btyp)
		}
	}
	one, err := c.Prepare(`SELECT s FROM t WHERE id = ?`)
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	one.Int(1, 1)
	if s, err := one.String(); err != nil || s != "short" {
		t.Errorf("String: %q, %v", s, err)
	}
	one.Int(1, 42)
	if _, err := one.String(); !errors.Is(err, ErrNoRow) {
		t.Errorf("String of no row: %v, want ErrNoRow", err)
	}
	one.Int(1, 1)
	if err := one.Exec(); err == nil {
		t.Error("Exec of a statement returning a row: no error")
	}
}

// TestErrors checks that SQLite's errors come back with their code and message, and that a
// failed statement leaves the next one working.
func TestErrors(t *testing.T) {
	c := open(t)
	ins, err := c.Prepare(`INSERT INTO t (s) VALUES (?) RETURNING id`)
	if err != nil {
		t.Fatal(err)
	}
	defer ins.Close()
	ins.Text(1, "a")
	if id, err := ins.Int64(); err != nil || id != 1 {
		t.Fatalf("Int64: %d, %v", id, err)
	}
	ins.Text(1, "a")
	_, err = ins.Int64()
	var se *Error
	if !errors.As(err, &se) || se.Code&0xff != 19 || !strings.Contains(se.Msg, "UNIQUE") {
		t.Fatalf("duplicate: %v, want a UNIQUE constraint error (19)", err)
	}
	ins.Text(1, "b")
	if id, err := ins.Int64(); err != nil || id != 2 {
		t.Fatalf("after the error: %d, %v", id, err)
	}
	if _, err := c.Prepare(`SELECT nothing FROM nowhere`); err == nil || !strings.Contains(err.Error(), "nowhere") {
		t.Errorf("bad SQL: %v", err)
	}
	if err := c.Exec(`BEGIN; INSERT INTO t (s) VALUES ('c'); ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing", "x.db")); err == nil {
		t.Error("opening a file in a missing folder: no error")
	}
}

func ptr(n int64) *int64 { return &n }

// TestEmptyTextFirst binds an empty text on a statement whose buffer was never needed before:
// it must be stored as an empty text, not NULL.
func TestEmptyTextFirst(t *testing.T) {
	c := open(t)
	ins, err := c.Prepare(`INSERT INTO t (s) VALUES (?) RETURNING typeof(s)`)
	if err != nil {
		t.Fatal(err)
	}
	defer ins.Close()
	ins.Text(1, "")
	if typ, err := ins.String(); err != nil || typ != "text" {
		t.Fatalf("an empty text is stored as %q (%v), want text", typ, err)
	}
}
