package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync/atomic"
)

// CountingReader counts the bytes read through it, so that a caller can report how much of its
// (compressed) input has been consumed; N may be called from another goroutine while reading.
//
// When the reader beneath is an io.ReaderAt (an *os.File), so is the CountingReader, and Expand
// then reads a zip straight from it instead of spilling it to a temporary file.
type CountingReader struct {
	r io.Reader
	n atomic.Int64
}

// NewCountingReader returns a CountingReader reading from r.
func NewCountingReader(r io.Reader) *CountingReader { return &CountingReader{r: r} }

// Read reads from the reader beneath and counts what it returned.
func (c *CountingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// ReadAt reads from the reader beneath when it supports random access, and counts what it returned.
func (c *CountingReader) ReadAt(p []byte, off int64) (int, error) {
	ra, ok := c.r.(io.ReaderAt)
	if !ok {
		return 0, errors.New("counting reader: no random access beneath")
	}
	n, err := ra.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

// N returns the number of bytes read so far. A zip read in place may count a few kilobytes
// twice (the sniffed head and the central directory), so N can pass the file size slightly.
func (c *CountingReader) N() int64 { return c.n.Load() }

// readerAt returns random access to r's bytes, or nil when r has none.
func readerAt(r io.Reader) io.ReaderAt {
	if c, ok := r.(*CountingReader); ok {
		if _, ok := c.r.(io.ReaderAt); !ok {
			return nil
		}
		return c
	}
	if ra, ok := r.(io.ReaderAt); ok {
		return ra
	}
	return nil
}

// byteCounter counts the compressed bytes a decompressor pulls, for the running ratio check.
type byteCounter struct {
	r io.Reader
	n int64
}

func (c *byteCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// limitReader bounds a stream: it fails with ErrTooLarge once more than max bytes come out
// (headers can lie, so the bound is checked on what is actually produced), stops on
// cancellation, and keeps its first error so that every later Read repeats it.
type limitReader struct {
	ctx   context.Context
	r     io.Reader
	what  string       // names the stream in errors
	max   int64        // fixed bound; < 0 for none
	in    *byteCounter // when set, also bound by ratio × compressed bytes read so far
	ratio int64
	n     int64 // bytes returned so far
	err   error // sticky
}

func (l *limitReader) limit() int64 {
	m := l.max
	if l.in != nil {
		d := ratioCap(l.in.n, l.ratio)
		if m < 0 || d < m {
			m = d
		}
	}
	return m
}

// tighten lowers the fixed bound to m.
func (l *limitReader) tighten(m int64) {
	if l.max < 0 || m < l.max {
		l.max = m
	}
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if err := l.ctx.Err(); err != nil {
		return 0, err
	}
	if m := l.limit(); m >= 0 {
		// Ask for one byte past the bound, so that reaching it exactly is no error.
		if room := m - l.n + 1; room < int64(len(p)) {
			p = p[:room]
		}
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if m := l.limit(); m >= 0 && l.n > m {
		n -= int(l.n - m)
		l.n = m
		l.err = fmt.Errorf("%s expands past %d bytes: %w", l.what, m, ErrTooLarge)
		return n, l.err
	}
	if err != nil {
		l.err = err
	}
	return n, err
}

// gzipReader marks decompression errors as gzip errors ("gzip: unexpected EOF").
type gzipReader struct{ r io.Reader }

func (g gzipReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF && !strings.HasPrefix(err.Error(), "gzip: ") {
		err = fmt.Errorf("gzip: %w", err)
	}
	return n, err
}

// zipEntryReader marks decompression errors as zip errors.
type zipEntryReader struct{ r io.Reader }

func (z zipEntryReader) Read(p []byte) (int, error) {
	n, err := z.r.Read(p)
	if err != nil && err != io.EOF && !strings.HasPrefix(err.Error(), "zip: ") {
		err = fmt.Errorf("zip: %w", err)
	}
	return n, err
}

// ratioCap is what compressed bytes may expand to: ratio × compressed, never less than
// ratioFloor, saturating instead of overflowing.
func ratioCap(compressed, ratio int64) int64 {
	if compressed > 0 && ratio > math.MaxInt64/compressed {
		return math.MaxInt64
	}
	return max(compressed*ratio, ratioFloor)
}
