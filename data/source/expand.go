package source

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zip"
)

// Errors that a Leaf's Err or a read from its R wraps.
var (
	// ErrTooLarge marks an entry refused or cut because it expands past Limits.
	ErrTooLarge = errors.New("too large: expands past the size or ratio limit")
	// ErrUnsafeName marks an archive entry whose name is absolute or climbs out with "..".
	ErrUnsafeName = errors.New("unsafe entry name")
	// ErrTooDeep marks archives nested deeper than Expand descends (a zip quine never ends).
	ErrTooDeep = errors.New("archives nested too deep")
)

const (
	// DefaultMaxEntryBytes is the default bound on what one entry may expand to.
	DefaultMaxEntryBytes = 1 << 30
	// DefaultMaxRatio is the default bound on expanded / compressed size.
	DefaultMaxRatio = 200
	// ratioFloor is what any entry may expand to whatever its ratio: a few kilobytes of
	// repetitive JSON legitimately compress far better than 200:1 and are no bomb.
	ratioFloor = 1 << 20
	// maxDepth bounds the layers (gzip, zip, tar) Expand unwraps in one file.
	maxDepth = 16
	// sniffLen is how much of a stream is looked at to recognise it (a tar header block).
	sniffLen = 512
)

// Limits bound what an archive entry may expand to. Zero fields take the defaults.
type Limits struct {
	MaxEntryBytes int64 // bound on the plain size of one leaf; default 1 GiB
	MaxRatio      int64 // bound on plain / compressed size of one layer; default 200
}

func (l Limits) withDefaults() Limits {
	if l.MaxEntryBytes <= 0 {
		l.MaxEntryBytes = DefaultMaxEntryBytes
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = DefaultMaxRatio
	}
	return l
}

// Leaf is one plain (decompressed) stream found in a file: a loose file, a gzip member, or an
// archive entry at any depth.
type Leaf struct {
	Path  string    // the file on disk
	Entry string    // where inside archives: entry names from outermost to innermost, see JoinEntry; "" for a loose or gzip-only file
	Size  int64     // stored (compressed) size of the entry, or of the file
	R     io.Reader // plain content, valid only during the callback; nil when Err is set
	Err   error     // the entry could not be opened: refused (too large / bomb ratio), unsafe name, corrupt archive
	// SHA256 is the hex SHA-256 of the file's bytes as stored, or of the archive entry's bytes as
	// extracted, before any gzip layer is undone: what sha256sum prints for the file, or for the
	// entry unpacked. Call it once done with R, during the callback: it reads whatever of those
	// bytes R left unread. Nil when Err is set.
	SHA256 func() (string, error)
}

// Expand unwraps r (the content of path, size bytes long, or -1 when unknown): gzip (multi-member
// too) is decompressed, zip / tar archives are descended, recursively, all recognised by magic
// bytes, not names; fn is called once per leaf, in archive order, and must finish reading the
// leaf's R before it returns. fn returning an error stops Expand and that error is returned;
// otherwise Expand returns only the context's error or a failure of the temporary-file space.
// A damaged or refused entry is handed to fn as a Leaf with Err set, and Expand goes on with the
// rest where the format allows.
//
// Reading a Leaf's R past the limits returns an error wrapping ErrTooLarge. Every decompressed
// layer may produce at most MaxRatio × its compressed size (at least 1 MiB), and every leaf that
// comes out of an archive or a decompressor at most MaxEntryBytes; a loose uncompressed file is
// not bounded, since it costs no more than its size on disk.
//
// A zip needs random access: when r is an io.ReaderAt (an *os.File, or a CountingReader over
// one) it is read in place, otherwise (nested zips, streams) it is copied to a temporary file in
// os.TempDir, bounded by MaxEntryBytes and removed before Expand returns. Nothing else is written.
func Expand(ctx context.Context, path string, r io.Reader, size int64, lim Limits, fn func(Leaf) error) error {
	e := &expander{ctx: ctx, path: path, lim: lim.withDefaults(), fn: fn}
	ra := readerAt(r)
	if ra != nil && size < 0 {
		if f, ok := r.(*os.File); ok {
			if fi, err := f.Stat(); err == nil {
				size = fi.Size()
			}
		}
		if size < 0 {
			ra = nil
		}
	}
	top := newStoredHash(&limitReader{ctx: ctx, r: r, what: path, max: -1})
	return e.walk(node{stored: size, r: top, size: size, ra: ra, hash: top})
}

// expander carries what every layer of one Expand call shares.
type expander struct {
	ctx  context.Context
	path string
	lim  Limits
	fn   func(Leaf) error
}

// node is one stream being unwrapped.
type node struct {
	names  []string     // entry names from the outermost archive in; nil for the file itself
	stored int64        // Leaf.Size of what comes out of it
	r      io.Reader    // its content
	size   int64        // length of r's content when known (declared or on disk), else -1
	ra     io.ReaderAt  // random access to r's content, when there is one
	bound  *limitReader // the bound on r that a leaf tightens to MaxEntryBytes; nil when loose
	hash   *storedHash  // the stored bytes of the file or entry r comes from, beneath any gzip
	depth  int
}

// walk recognises n's content and unwraps it, or hands it to fn as a leaf.
func (e *expander) walk(n node) error {
	if err := e.ctx.Err(); err != nil {
		return err
	}
	if n.depth > maxDepth {
		return e.fail(n.names, n.stored, fmt.Errorf("more than %d layers: %w", maxDepth, ErrTooDeep))
	}
	br := bufio.NewReaderSize(n.r, 4096)
	// A peek error (truncated gzip, too large) is kept by the sticky limitReader beneath and
	// surfaces again from the leaf's R or the next layer, so it is not reported twice here.
	head, _ := br.Peek(sniffLen)
	if err := e.ctx.Err(); err != nil {
		return err
	}
	switch {
	case isGzip(head):
		return e.gunzip(n, br)
	case isZip(head):
		n.hash.stop() // its entries are hashed each
		return e.unzip(n, br)
	case isTar(head):
		n.hash.stop()
		return e.untar(n, br)
	}
	if n.bound != nil {
		n.bound.tighten(e.lim.MaxEntryBytes)
	}
	return e.fn(Leaf{Path: e.path, Entry: JoinEntry(n.names), Size: n.stored, R: br, SHA256: n.hash.sum})
}

// fail hands fn a leaf that could not be opened, unless the real cause is cancellation.
func (e *expander) fail(names []string, stored int64, err error) error {
	if cerr := e.ctx.Err(); cerr != nil {
		return cerr
	}
	return e.fn(Leaf{Path: e.path, Entry: JoinEntry(names), Size: stored, Err: err})
}

// what names a stream in error messages.
func (e *expander) what(names []string) string {
	if len(names) == 0 {
		return e.path
	}
	return e.path + "!" + JoinEntry(names)
}

func (e *expander) gunzip(n node, br *bufio.Reader) error {
	in := &byteCounter{r: br}
	zr, err := newGzipReader(in)
	if err != nil {
		return e.fail(n.names, n.stored, fmt.Errorf("gzip: %w", trimPrefix(err, "gzip: ")))
	}
	defer func() {
		zr.Close()
		gzipReaders.Put(zr) // the walk below is done with it: leaves are read before it returns
	}()
	bound := &limitReader{ctx: e.ctx, r: gzipReader{zr}, what: "gzip in " + e.what(n.names), max: -1, ratio: e.lim.MaxRatio}
	if n.size >= 0 {
		bound.max = ratioCap(n.size, e.lim.MaxRatio)
	} else {
		// Nested without a known compressed size: bound by the bytes consumed so far.
		bound.in = in
	}
	return e.walk(node{names: n.names, stored: n.stored, r: bound, size: -1, bound: bound, hash: n.hash, depth: n.depth + 1})
}

// gzipReaders keeps the gzip readers of finished streams: each holds a 32 KiB window and its
// tables, which a load of many small .json.gz files otherwise allocates for every one.
var gzipReaders sync.Pool

func newGzipReader(r io.Reader) (*gzip.Reader, error) {
	zr, ok := gzipReaders.Get().(*gzip.Reader)
	if !ok {
		return gzip.NewReader(r)
	}
	if err := zr.Reset(r); err != nil {
		gzipReaders.Put(zr)
		return nil, err
	}
	return zr, nil
}

func (e *expander) untar(n node, br *bufio.Reader) error {
	tr := tar.NewReader(br)
	var last *limitReader // the previous entry's reader
	for {
		if err := e.ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			// tar has no index to resynchronise from: the rest of this archive is lost.
			if cerr := e.ctx.Err(); cerr != nil {
				return cerr
			}
			if last != nil && last.err != nil && errors.Is(err, last.err) {
				return nil // the failure beneath was already met reading the previous entry
			}
			return e.fail(n.names, n.stored, fmt.Errorf("tar: %w", trimPrefix(err, "archive/tar: ")))
		}
		last = nil
		if h.Typeflag != tar.TypeReg {
			continue // folders, links, devices, fifos: nothing to read, nothing to follow
		}
		names := appendName(n.names, h.Name)
		if err := checkName(h.Name); err != nil {
			if err := e.fail(names, h.Size, err); err != nil {
				return err
			}
			continue
		}
		if h.Size > e.lim.MaxEntryBytes {
			if err := e.fail(names, h.Size, fmt.Errorf("entry %q declares %d bytes, over %d: %w", h.Name, h.Size, e.lim.MaxEntryBytes, ErrTooLarge)); err != nil {
				return err
			}
			continue
		}
		bound := &limitReader{ctx: e.ctx, r: tr, what: e.what(names), max: e.lim.MaxEntryBytes}
		last = bound
		hash := newStoredHash(bound)
		if err := e.walk(node{names: names, stored: h.Size, r: hash, size: h.Size, bound: bound, hash: hash, depth: n.depth + 1}); err != nil {
			return err
		}
	}
}

func (e *expander) unzip(n node, br *bufio.Reader) error {
	ra, size := n.ra, n.size
	if ra == nil || size < 0 {
		f, written, err := e.spill(n, br)
		if f != nil {
			defer func() {
				f.Close()
				os.Remove(f.Name())
			}()
		}
		if err != nil {
			return err
		}
		if f == nil {
			return nil // the spill failed on the input, already reported
		}
		ra, size = f, written
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return e.fail(n.names, n.stored, fmt.Errorf("zip: %w", trimPrefix(err, "zip: ")))
	}
	overlaps := overlapping(zr.File)
	for i, f := range zr.File {
		if err := e.ctx.Err(); err != nil {
			return err
		}
		if strings.HasSuffix(f.Name, "/") || !f.Mode().IsRegular() {
			continue // folders, symlinks and devices carry nothing to read
		}
		names := appendName(n.names, f.Name)
		if err := e.zipEntry(n, f, names, overlaps[i]); err != nil && !errors.Is(err, errReported) {
			return err
		}
	}
	return nil
}

// errReported tells the zip loop that an entry's problem was already handed to fn.
var errReported = errors.New("reported")

func (e *expander) zipEntry(n node, f *zip.File, names []string, overlap bool) error {
	comp, plain := int64(f.CompressedSize64), int64(f.UncompressedSize64)
	refuse := func(err error) error {
		if err := e.fail(names, comp, err); err != nil {
			return err
		}
		return errReported
	}
	if err := checkName(f.Name); err != nil {
		return refuse(err)
	}
	if overlap {
		// Entries sharing their bytes are the "better zip bomb" trick: each one passes the ratio
		// check, all of them together do not.
		return refuse(fmt.Errorf("entry %q overlaps another entry's data: %w", f.Name, ErrTooLarge))
	}
	if plain < 0 || comp < 0 || plain > e.lim.MaxEntryBytes || plain > ratioCap(comp, e.lim.MaxRatio) {
		return refuse(fmt.Errorf("entry %q declares %d bytes from %d compressed, over the limits: %w", f.Name, uint64(plain), uint64(comp), ErrTooLarge))
	}
	rc, err := f.Open()
	if err != nil {
		return refuse(fmt.Errorf("zip: open %q: %w", f.Name, trimPrefix(err, "zip: ")))
	}
	defer rc.Close()
	bound := &limitReader{ctx: e.ctx, r: zipEntryReader{rc}, what: e.what(names), max: min(ratioCap(comp, e.lim.MaxRatio), e.lim.MaxEntryBytes)}
	var ra io.ReaderAt
	if f.Method == zip.Store {
		// A stored entry is a plain slice of the outer zip: a zip inside it is read in place.
		if raw, err := f.OpenRaw(); err == nil {
			if sr, ok := raw.(*io.SectionReader); ok && sr.Size() == plain {
				ra = sr
			}
		}
	}
	hash := newStoredHash(bound)
	return e.walk(node{names: names, stored: comp, r: hash, size: plain, ra: ra, bound: bound, hash: hash, depth: n.depth + 1})
}

// overlapping marks the zip entries whose compressed data overlaps another entry's.
func overlapping(files []*zip.File) []bool {
	type span struct {
		i        int
		from, to int64
	}
	spans := make([]span, 0, len(files))
	for i, f := range files {
		if f.CompressedSize64 == 0 {
			continue
		}
		off, err := f.DataOffset()
		if err != nil {
			continue // Open reports it
		}
		spans = append(spans, span{i, off, off + int64(f.CompressedSize64)})
	}
	sort.Slice(spans, func(a, b int) bool { return spans[a].from < spans[b].from })
	out := make([]bool, len(files))
	end := int64(-1)
	for k, s := range spans {
		if k > 0 && s.from < end {
			out[s.i] = true
		}
		end = max(end, s.to)
	}
	return out
}

// spill copies a zip that has no random access to a temporary file, bounded by MaxEntryBytes.
// It returns the file (to be closed and removed by the caller, even with an error), its size,
// and an error only for what stops Expand; a failure reading the input is handed to fn and
// comes back as a nil file.
func (e *expander) spill(n node, r io.Reader) (*os.File, int64, error) {
	if n.bound != nil {
		n.bound.tighten(e.lim.MaxEntryBytes)
	}
	f, err := os.CreateTemp("", "trailscope-spill-*.zip")
	if err != nil {
		return nil, 0, fmt.Errorf("spill zip %s: %w", e.what(n.names), err)
	}
	buf := make([]byte, 32<<10)
	var written int64
	for {
		k, rerr := r.Read(buf)
		if k > 0 {
			if _, werr := f.Write(buf[:k]); werr != nil {
				return f, 0, fmt.Errorf("spill zip %s: %w", e.what(n.names), werr)
			}
			written += int64(k)
		}
		if rerr == io.EOF {
			return f, written, nil
		}
		if rerr != nil {
			f.Close()
			os.Remove(f.Name())
			return nil, 0, e.fail(n.names, n.stored, rerr)
		}
	}
}

// appendName returns names with name added, never sharing names' backing array.
func appendName(names []string, name string) []string {
	out := make([]string, len(names), len(names)+1)
	copy(out, names)
	return append(out, name)
}

// checkName refuses entry names that would land outside a folder they were extracted to:
// empty, absolute (Unix, Windows drive or UNC), or with a ".." element.
func checkName(name string) error {
	n := strings.ReplaceAll(name, `\`, "/")
	bad := n == "" || strings.ContainsRune(n, 0) || strings.HasPrefix(n, "/") ||
		(len(n) >= 2 && n[1] == ':' && (n[0]|0x20) >= 'a' && (n[0]|0x20) <= 'z')
	for _, el := range strings.Split(n, "/") {
		bad = bad || el == ".."
	}
	if bad {
		return fmt.Errorf("entry %q: %w", name, ErrUnsafeName)
	}
	return nil
}

// JoinEntry joins entry names, outermost first, with "!". Inside a name, "%" is written "%25"
// and "!" is written "%21", so that the joined form splits back unambiguously.
func JoinEntry(names []string) string {
	esc := strings.NewReplacer("%", "%25", "!", "%21")
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = esc.Replace(n)
	}
	return strings.Join(parts, "!")
}

// SplitEntry is the inverse of JoinEntry.
func SplitEntry(entry string) []string {
	if entry == "" {
		return nil
	}
	unesc := strings.NewReplacer("%21", "!", "%25", "%")
	parts := strings.Split(entry, "!")
	for i, p := range parts {
		parts[i] = unesc.Replace(p)
	}
	return parts
}

// trimPrefix drops a package prefix from err's message, so that wrapping reads "zip: x" and not
// "zip: zip: x"; errors.Is still reaches err.
func trimPrefix(err error, prefix string) error {
	if msg := err.Error(); strings.HasPrefix(msg, prefix) {
		return prefixed{msg: strings.TrimPrefix(msg, prefix), err: err}
	}
	return err
}

type prefixed struct {
	msg string
	err error
}

func (p prefixed) Error() string { return p.msg }
func (p prefixed) Unwrap() error { return p.err }

func isGzip(b []byte) bool { return len(b) >= 3 && b[0] == 0x1f && b[1] == 0x8b && b[2] == 8 }

func isZip(b []byte) bool {
	return len(b) >= 4 && b[0] == 'P' && b[1] == 'K' &&
		((b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6) || (b[2] == 7 && b[3] == 8))
}

// isTar recognises a tar header block: POSIX / GNU magic, or for old v7 archives a header
// checksum that adds up.
func isTar(b []byte) bool {
	if len(b) < 512 || b[0] == 0 {
		return false
	}
	if bytes.Equal(b[257:262], []byte("ustar")) {
		return true
	}
	field := strings.Trim(string(b[148:156]), " \x00")
	want, err := strconv.ParseInt(field, 8, 64)
	if err != nil {
		return false
	}
	var sum int64
	for i, c := range b[:512] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int64(c)
	}
	return sum == want
}
