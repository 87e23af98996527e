package sqlitec

import (
	"errors"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// Blob binds the i-th parameter (from 1) to a copy of v, made now. Unlike Text it costs a C
// allocation per call: it is meant for a few large values (pages), not for many small ones.
func (s *Stmt) Blob(i int, v []byte) {
	var p uintptr
	if len(v) > 0 {
		if p = libc.Xmalloc(s.c.tls, libc.Tsize_t(len(v))); p == 0 {
			if s.err == nil {
				s.err = errors.New("out of memory")
			}
			return
		}
		defer libc.Xfree(s.c.tls, p)
		copy(unsafe.Slice((*byte)(cptr(p)), len(v)), v)
	} else {
		// A null pointer would bind NULL; a zero-length blob needs some valid address.
		p = s.c.tls.Alloc(1)
		defer s.c.tls.Free(1)
	}
	// SQLITE_TRANSIENT (-1): SQLite copies the value before bind returns.
	if rc := sqlite3.Xsqlite3_bind_blob(s.c.tls, s.p, int32(i), p, int32(len(v)), ^uintptr(0)); rc != sqlite3.SQLITE_OK && s.err == nil {
		s.err = s.c.err(rc)
	}
}

// Step runs the statement with the arguments bound since the last Exec or Reset, or moves to its
// next row; it reports whether there is a row to read with the Column methods. Reset the
// statement when done with its rows.
func (s *Stmt) Step() (bool, error) {
	if len(s.texts) > 0 {
		if err := s.bindTexts(); err != nil {
			return false, err
		}
	}
	if s.err != nil {
		err := s.err
		s.err = nil
		return false, err
	}
	switch rc := sqlite3.Xsqlite3_step(s.c.tls, s.p); rc {
	case sqlite3.SQLITE_ROW:
		return true, nil
	case sqlite3.SQLITE_DONE:
		return false, nil
	default:
		return false, s.c.err(rc)
	}
}

// Reset readies the statement to run again; bound arguments stay bound.
func (s *Stmt) Reset() { sqlite3.Xsqlite3_reset(s.c.tls, s.p) }

// ColumnInt is the i-th column (from 0) of the current row as an integer.
func (s *Stmt) ColumnInt(i int) int64 { return sqlite3.Xsqlite3_column_int64(s.c.tls, s.p, int32(i)) }

// ColumnBlob appends the i-th column (from 0) of the current row, as bytes, to dst.
func (s *Stmt) ColumnBlob(dst []byte, i int) []byte {
	p := sqlite3.Xsqlite3_column_blob(s.c.tls, s.p, int32(i))
	n := sqlite3.Xsqlite3_column_bytes(s.c.tls, s.p, int32(i))
	if p == 0 || n <= 0 {
		return dst
	}
	return append(dst, unsafe.Slice((*byte)(cptr(p)), n)...)
}
