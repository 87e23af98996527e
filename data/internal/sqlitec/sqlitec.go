// Package sqlitec is a thin binding of SQLite's C API (modernc.org/sqlite/lib, the same library
// the database/sql driver wraps) for the bulk writer. Through database/sql every text argument
// costs a C allocation, a copy, a parameter-name lookup and a free; here a statement copies its
// arguments into one reused buffer and binds them in place.
package sqlitec

import (
	"errors"
	"fmt"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// Conn is one SQLite connection. It must not be used by two goroutines at once.
type Conn struct {
	tls *libc.TLS
	db  uintptr
}

// Open opens an existing database file for reading and writing. The connection takes no
// mutexes of its own (SQLITE_OPEN_NOMUTEX): it is only ever used by one goroutine at a time.
func Open(path string) (*Conn, error) {
	tls := libc.NewTLS()
	name, err := libc.CString(path)
	if err != nil {
		tls.Close()
		return nil, err
	}
	defer libc.Xfree(tls, name)
	pdb := tls.Alloc(8)
	defer tls.Free(8)
	rc := sqlite3.Xsqlite3_open_v2(tls, name, pdb, sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_NOMUTEX, 0)
	c := &Conn{tls: tls, db: *(*uintptr)(cptr(pdb))}
	if rc != sqlite3.SQLITE_OK {
		err := c.err(rc)
		c.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return c, nil
}

// Close closes the connection and frees its thread state.
func (c *Conn) Close() error {
	if c.tls == nil {
		return nil
	}
	var err error
	if c.db != 0 {
		if rc := sqlite3.Xsqlite3_close_v2(c.tls, c.db); rc != sqlite3.SQLITE_OK {
			err = c.err(rc)
		}
	}
	c.tls.Close()
	c.tls, c.db = nil, 0
	return err
}

func (c *Conn) err(rc int32) error {
	msg := "unknown error"
	if c.db != 0 {
		msg = libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db))
	}
	return &Error{Code: int(rc), Msg: msg}
}

// Error is an SQLite result code with the connection's message.
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (%d)", e.Msg, e.Code) }

// Exec runs statements that take no arguments and return no rows.
func (c *Conn) Exec(sql string) error {
	q, err := libc.CString(sql)
	if err != nil {
		return err
	}
	defer libc.Xfree(c.tls, q)
	if rc := sqlite3.Xsqlite3_exec(c.tls, c.db, q, 0, 0, 0); rc != sqlite3.SQLITE_OK {
		return c.err(rc)
	}
	return nil
}

// Interrupt makes the statement running on the connection stop with an error, soon. Unlike
// every other method it may be called from another goroutine (as the database/sql driver
// does); with no statement running it does nothing.
func (c *Conn) Interrupt() { sqlite3.Xsqlite3_interrupt(c.tls, c.db) }

// LastInsertRowid is the rowid of the last row inserted on this connection.
func (c *Conn) LastInsertRowid() int64 { return sqlite3.Xsqlite3_last_insert_rowid(c.tls, c.db) }

// Changes is the number of rows the last statement changed.
func (c *Conn) Changes() int { return int(sqlite3.Xsqlite3_changes(c.tls, c.db)) }

// Stmt is a prepared statement with an argument buffer owned by the statement.
type Stmt struct {
	c     *Conn
	p     uintptr
	buf   uintptr // C memory the text arguments are copied into, bound as SQLITE_STATIC
	size  int
	used  int
	texts []text // arguments waiting for buf to be large enough
	err   error
}

type text struct {
	i    int32
	s    string
	b    []byte // used when s is empty
	blob bool   // bound as a blob rather than text
}

func (t text) len() int { return len(t.s) + len(t.b) }

// Prepare compiles one statement.
func (c *Conn) Prepare(sql string) (*Stmt, error) {
	q, err := libc.CString(sql)
	if err != nil {
		return nil, err
	}
	defer libc.Xfree(c.tls, q)
	pp := c.tls.Alloc(8)
	defer c.tls.Free(8)
	if rc := sqlite3.Xsqlite3_prepare_v3(c.tls, c.db, q, -1, sqlite3.SQLITE_PREPARE_PERSISTENT, pp, 0); rc != sqlite3.SQLITE_OK {
		return nil, fmt.Errorf("prepare %q: %w", sql, c.err(rc))
	}
	return &Stmt{c: c, p: *(*uintptr)(cptr(pp))}, nil
}

// Preparer prepares statements one after another and keeps the first error, so that a set of
// statements is checked once.
type Preparer struct {
	C   *Conn
	Err error
}

// Prepare compiles q, or returns nil when an earlier statement failed.
func (p *Preparer) Prepare(q string) *Stmt {
	if p.Err != nil {
		return nil
	}
	st, err := p.C.Prepare(q)
	p.Err = err
	return st
}

// Text binds the i-th parameter (from 1) to a copy of v, made at Exec.
func (s *Stmt) Text(i int, v string) { s.texts = append(s.texts, text{i: int32(i), s: v}) }

// TextBytes binds the i-th parameter to a copy of v as text (not a blob), made at Exec.
func (s *Stmt) TextBytes(i int, v []byte) { s.texts = append(s.texts, text{i: int32(i), b: v}) }

// BlobBytes binds the i-th parameter to a copy of v as a blob, made at Exec as for Text: for
// many small values, where Blob's allocation would cost more than the copy.
func (s *Stmt) BlobBytes(i int, v []byte) {
	s.texts = append(s.texts, text{i: int32(i), b: v, blob: true})
}

// Int binds the i-th parameter to v.
func (s *Stmt) Int(i int, v int64) {
	if rc := sqlite3.Xsqlite3_bind_int64(s.c.tls, s.p, int32(i), v); rc != sqlite3.SQLITE_OK && s.err == nil {
		s.err = s.c.err(rc)
	}
}

// Null binds the i-th parameter to NULL.
func (s *Stmt) Null(i int) {
	if rc := sqlite3.Xsqlite3_bind_null(s.c.tls, s.p, int32(i)); rc != sqlite3.SQLITE_OK && s.err == nil {
		s.err = s.c.err(rc)
	}
}

var errRow = errors.New("statement returned a row")

// ErrNoRow is returned by Int64 and String for a statement that returned no row.
var ErrNoRow = errors.New("statement returned no row")

// Exec runs the statement with the arguments bound since the last Exec.
func (s *Stmt) Exec() error { return s.step(nil) }

// Int64 runs a statement that returns one row (INSERT … RETURNING id, say) and gives the first
// column of that row as an integer.
func (s *Stmt) Int64() (int64, error) {
	var v int64
	err := s.step(func() { v = sqlite3.Xsqlite3_column_int64(s.c.tls, s.p, 0) })
	return v, err
}

// String runs a statement that returns one row and gives its first column as text.
func (s *Stmt) String() (string, error) {
	var v string
	err := s.step(func() {
		p := sqlite3.Xsqlite3_column_text(s.c.tls, s.p, 0)
		n := sqlite3.Xsqlite3_column_bytes(s.c.tls, s.p, 0)
		if p != 0 {
			v = string(unsafe.Slice((*byte)(cptr(p)), n))
		}
	})
	return v, err
}

// step runs the statement to its end. With row set, the statement must return a row, which
// row reads; without, it must return none.
func (s *Stmt) step(row func()) error {
	if err := s.bindTexts(); err != nil {
		return err
	}
	if s.err != nil {
		err := s.err
		s.err = nil
		sqlite3.Xsqlite3_reset(s.c.tls, s.p)
		return err
	}
	rc := sqlite3.Xsqlite3_step(s.c.tls, s.p)
	var err error
	switch {
	case rc == sqlite3.SQLITE_ROW && row != nil:
		row()
		// Step to the end: an INSERT … RETURNING finishes its work there.
		for rc == sqlite3.SQLITE_ROW {
			rc = sqlite3.Xsqlite3_step(s.c.tls, s.p)
		}
		if rc != sqlite3.SQLITE_DONE {
			err = s.c.err(rc)
		}
	case rc == sqlite3.SQLITE_ROW:
		err = errRow
	case rc == sqlite3.SQLITE_DONE && row != nil:
		err = ErrNoRow
	case rc != sqlite3.SQLITE_DONE:
		err = s.c.err(rc)
	}
	sqlite3.Xsqlite3_reset(s.c.tls, s.p)
	return err
}

// bindTexts copies the pending text arguments into the buffer, growing it when needed, and
// binds them in place: the buffer is not touched again until the step that reads it is over.
func (s *Stmt) bindTexts() error {
	need := 0
	for _, t := range s.texts {
		need += t.len()
	}
	// Even for empty texts: bound at a null address, an empty text would read as NULL.
	if need > s.size || s.buf == 0 {
		if s.buf != 0 {
			libc.Xfree(s.c.tls, s.buf)
		}
		size := max(need, 2*s.size, 4096)
		s.buf = libc.Xmalloc(s.c.tls, libc.Tsize_t(size))
		if s.buf == 0 {
			s.size = 0
			s.texts = s.texts[:0]
			return errors.New("out of memory")
		}
		s.size = size
	}
	dst := unsafe.Slice((*byte)(cptr(s.buf)), s.size)
	off := 0
	for _, t := range s.texts {
		n := copy(dst[off:], t.s)
		if t.s == "" {
			n = copy(dst[off:], t.b)
		}
		bind := sqlite3.Xsqlite3_bind_text
		if t.blob {
			bind = sqlite3.Xsqlite3_bind_blob
		}
		if rc := bind(s.c.tls, s.p, t.i, s.buf+uintptr(off), int32(n), 0); rc != sqlite3.SQLITE_OK && s.err == nil {
			s.err = s.c.err(rc)
		}
		off += n
	}
	s.texts = s.texts[:0]
	return nil
}

// Close finalizes the statement and frees its buffer.
func (s *Stmt) Close() error {
	if s.p == 0 {
		return nil
	}
	rc := sqlite3.Xsqlite3_finalize(s.c.tls, s.p)
	s.p = 0
	if s.buf != 0 {
		libc.Xfree(s.c.tls, s.buf)
		s.buf, s.size = 0, 0
	}
	if rc != sqlite3.SQLITE_OK {
		return s.c.err(rc)
	}
	return nil
}

// cptr turns the address of C memory (from libc's allocator, outside the Go heap, never moved)
// into a pointer. Going through &addr keeps vet's uintptr check for Go memory quiet: that rule
// protects objects the collector may move or free, which C memory is not.
func cptr(addr uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&addr)) }
