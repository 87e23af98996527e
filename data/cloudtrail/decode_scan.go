package cloudtrail

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"unicode/utf8"
)

// The JSON scanner below reads a stream through a fixed buffer and copies each value it
// meets into a caller's slice in compact form, validating it on the way. One pass does both,
// which is what makes the Records form fast: encoding/json's Decoder plus json.Compact reads
// every byte three times (measured in BenchmarkDecodeAlternatives).

const (
	// readSize is the stream buffer; memory per decode is this plus the largest record.
	readSize = 64 << 10
	// maxDepth matches encoding/json's nesting limit, so both accept the same documents.
	maxDepth = 10000
)

// MaxRecordSize bounds one decoded record (or one buffered top-level value) so that a
// malformed or hostile input fails instead of exhausting memory. CloudTrail events are at most
// a few hundred kilobytes.
const MaxRecordSize = 64 << 20

// SyntaxError reports input that is neither well-formed JSON nor a recognised CSV, with
// where it broke and what was expected there.
type SyntaxError struct {
	Offset int64  // byte offset in the decompressed input, counting a byte-order mark
	Line   int    // 1-based line of Offset
	Msg    string // what was found and what was expected
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid input at offset %d (line %d): %s", e.Offset, e.Line, e.Msg)
}

// scanner is a forward-only reader over a buffered stream with JSON value scanning.
type scanner struct {
	r    io.Reader
	buf  []byte
	pos  int   // next unread byte in buf
	end  int   // end of valid data in buf
	base int64 // input offset of buf[0]
	line int   // line of buf[pos]; newlines only occur in whitespace, so this stays exact
	rerr error // sticky read error; io.EOF at the end
	// deep counts the containers nested maxNesting deep or more since the decoder last handled
	// a value (see decoder.handle): values in them would be deeper than Extract accepts, which
	// Record.Extract must know without walking the record. Counting at the container's start,
	// empty or not, and since the last value rather than the record's start, may count a record
	// that Extract would accept; that only sends it the slow way (see Record.Extract).
	deep int
}

func newScanner(r io.Reader) *scanner {
	return &scanner{r: r, buf: make([]byte, readSize), line: 1}
}

// newBytesScanner scans an in-memory value (an embedded JSON string, a CSV cell).
func newBytesScanner(b []byte) *scanner {
	return &scanner{buf: b, end: len(b), line: 1, rerr: io.EOF}
}

func (s *scanner) offset() int64 { return s.base + int64(s.pos) }

// fill reads more input after sliding unread bytes to the front; false means nothing more
// will come (end of input or a read error, kept in rerr).
func (s *scanner) fill() bool {
	if s.rerr != nil {
		return false
	}
	if s.pos > 0 {
		n := copy(s.buf, s.buf[s.pos:s.end])
		s.base += int64(s.pos)
		s.end = n
		s.pos = 0
	}
	if s.end == len(s.buf) {
		return true // full already; only peekLine gets here and it checks
	}
	for range 100 {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.rerr = err
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	s.rerr = io.ErrNoProgress
	return false
}

// ensure makes n bytes available at pos if the input has them.
func (s *scanner) ensure(n int) bool {
	for s.end-s.pos < n {
		if !s.fill() {
			return false
		}
	}
	return true
}

// peekBuffered returns the byte at pos when it is buffered, else 0, without reading. The
// value loops use it to meet the byte they expect in compact input without a call; anything
// else goes through skipWS, which returns that same byte when it is not whitespace.
func (s *scanner) peekBuffered() byte {
	if s.pos < s.end {
		return s.buf[s.pos]
	}
	return 0
}

// skipWS skips JSON whitespace and returns the next byte without consuming it.
func (s *scanner) skipWS() (byte, bool) {
	for {
		for s.pos < s.end {
			c := s.buf[s.pos]
			switch c {
			case ' ', '\t', '\r':
			case '\n':
				s.line++
			default:
				return c, true
			}
			s.pos++
		}
		if !s.fill() {
			return 0, false
		}
	}
}

func (s *scanner) syntax(format string, args ...any) error {
	return &SyntaxError{Offset: s.offset(), Line: s.line, Msg: fmt.Sprintf(format, args...)}
}

// eof reports running out of input while expecting something; a failing reader (truncated
// gzip, network) is reported as such rather than as bad JSON.
func (s *scanner) eof(expected string) error {
	if s.rerr != nil && !errors.Is(s.rerr, io.EOF) {
		return fmt.Errorf("read at offset %d: %w", s.offset(), s.rerr)
	}
	return s.syntax("unexpected end of input, expected %s", expected)
}

func (s *scanner) unexpected(c byte, expected string) error {
	return s.syntax("found %s, expected %s", quoteByte(c), expected)
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

func (s *scanner) tooLarge() error {
	return s.syntax("value larger than %d MiB", MaxRecordSize>>20)
}

// appendValue appends the next JSON value in compact form.
func (s *scanner) appendValue(dst []byte, depth int) ([]byte, error) {
	c, ok := s.skipWS()
	if !ok {
		return dst, s.eof("a JSON value")
	}
	switch c {
	case '{':
		return s.appendObject(dst, depth+1, nil)
	case '[':
		return s.appendArray(dst, depth+1)
	case '"':
		return s.appendString(dst)
	case 't':
		return s.appendLiteral(dst, "true")
	case 'f':
		return s.appendLiteral(dst, "false")
	case 'n':
		return s.appendLiteral(dst, "null")
	}
	if c == '-' || c >= '0' && c <= '9' {
		return s.appendNumber(dst)
	}
	return dst, s.unexpected(c, "a JSON value")
}

// appendObject appends the object at pos. When info is not nil the object's own keys are
// noted there (for recognising events without a second parse); a top-level info may also
// take over a "Records" or "Events" array and stream it instead of buffering it.
func (s *scanner) appendObject(dst []byte, depth int, info *objInfo) ([]byte, error) {
	if depth >= maxNesting {
		if depth > maxDepth {
			return dst, s.syntax("nesting deeper than %d", maxDepth)
		}
		s.deep++
	}
	s.pos++
	dst = append(dst, '{')
	c, ok := s.skipWS()
	if !ok {
		return dst, s.eof("a string key or '}'")
	}
	if c == '}' {
		s.pos++
		return append(dst, '}'), nil
	}
	for {
		if c != '"' {
			return dst, s.unexpected(c, "a string key")
		}
		kstart := len(dst)
		var err error
		if dst, err = s.appendString(dst); err != nil {
			return dst, err
		}
		kend := len(dst)
		if s.peekBuffered() != ':' {
			if c, ok = s.skipWS(); !ok {
				return dst, s.eof("':' after object key")
			}
			if c != ':' {
				return dst, s.unexpected(c, "':' after object key")
			}
		}
		s.pos++
		dst = append(dst, ':')
		vstart := len(dst)
		streamed := false
		if info != nil && info.stream != nil {
			if streamed, err = info.stream(dst[kstart+1 : kend-1]); err != nil {
				return dst, err
			}
		}
		if !streamed {
			if s.peekBuffered() == '"' {
				dst, err = s.appendString(dst) // most values: spare appendValue's dispatch
			} else {
				dst, err = s.appendValue(dst, depth)
			}
			if err != nil {
				return dst, err
			}
			if len(dst) > MaxRecordSize {
				return dst, s.tooLarge()
			}
			if info != nil {
				info.note(kstart, kend, vstart, len(dst), dst)
			}
		} else {
			dst = append(dst, "null"...) // keeps the buffered copy well-formed; it is discarded
		}
		if c = s.peekBuffered(); c != ',' && c != '}' {
			if c, ok = s.skipWS(); !ok {
				return dst, s.eof("',' or '}' after object value")
			}
		}
		switch c {
		case ',':
			s.pos++
			dst = append(dst, ',')
			if c = s.peekBuffered(); c != '"' {
				if c, ok = s.skipWS(); !ok {
					return dst, s.eof("a string key")
				}
			}
		case '}':
			s.pos++
			if info != nil {
				info.values.deep = s.deep != 0
			}
			return append(dst, '}'), nil
		default:
			return dst, s.unexpected(c, "',' or '}' after object value")
		}
	}
}

func (s *scanner) appendArray(dst []byte, depth int) ([]byte, error) {
	if depth >= maxNesting {
		if depth > maxDepth {
			return dst, s.syntax("nesting deeper than %d", maxDepth)
		}
		s.deep++
	}
	s.pos++
	dst = append(dst, '[')
	c, ok := s.skipWS()
	if !ok {
		return dst, s.eof("a JSON value or ']'")
	}
	if c == ']' {
		s.pos++
		return append(dst, ']'), nil
	}
	for {
		var err error
		if s.peekBuffered() == '"' {
			dst, err = s.appendString(dst)
		} else {
			dst, err = s.appendValue(dst, depth)
		}
		if err != nil {
			return dst, err
		}
		if len(dst) > MaxRecordSize {
			return dst, s.tooLarge()
		}
		if c = s.peekBuffered(); c != ',' && c != ']' {
			if c, ok = s.skipWS(); !ok {
				return dst, s.eof("',' or ']' after array element")
			}
		}
		switch c {
		case ',':
			s.pos++
			dst = append(dst, ',')
		case ']':
			s.pos++
			return append(dst, ']'), nil
		default:
			return dst, s.unexpected(c, "',' or ']' after array element")
		}
	}
}

// plain marks string bytes that are copied as they are: printable ASCII except '"' and '\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// special reports which of eight bytes (little-endian) need a look in appendString: a control
// character, '"', '\\' or a non-ASCII byte; each such byte has its top bit set in the result.
// It is the classic "has zero byte" test: a borrow only runs upwards from a real match, so the
// lowest bit set is exact, which is all plainPrefix uses. (The subtractions of bytes that have
// their top bit set need no masking: x itself is or'ed in.)
func special(x uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := x ^ (lo * '"')
	e := x ^ (lo * '\\')
	return ((x - lo*0x20) | (q - lo) | (e - lo) | x) & hi
}

// plainPrefix returns how many bytes at the start of b are plain, a word at a time. It is
// written to be cheap enough to inline (go build -gcflags=-m tells), which saves a call on
// every string.
func plainPrefix(b []byte) (i int) {
	for ; i+8 <= len(b); i += 8 {
		if m := special(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b) && plain[b[i]]; i++ {
	}
	return i
}

var hexDigit = func() (t [256]bool) {
	for _, c := range "0123456789abcdefABCDEF" {
		t[c] = true
	}
	return t
}()

// appendString appends the string at pos. Escapes are kept as written; invalid UTF-8 is
// replaced by U+FFFD byte by byte, exactly as encoding/json does when it decodes, so the
// output is valid UTF-8 and still parses equal to the input.
func (s *scanner) appendString(dst []byte) ([]byte, error) {
	// Most strings are buffered whole and plain: one scan and one copy, quotes included.
	b := s.buf[s.pos+1 : s.end]
	i := plainPrefix(b)
	if i < len(b) && b[i] == '"' && len(dst)+1+i <= MaxRecordSize {
		dst = append(dst, s.buf[s.pos:s.pos+i+2]...)
		s.pos += i + 2
		return dst, nil
	}
	// Otherwise go on from the first byte that is not plain, or from the end of the buffer.
	start, startLine := s.offset(), s.line
	dst = append(dst, s.buf[s.pos:s.pos+1+i]...)
	s.pos += 1 + i
	for {
		if len(dst) > MaxRecordSize {
			return dst, s.tooLarge()
		}
		if i < len(b) {
			switch c := b[i]; {
			case c == '"':
				s.pos++
				return append(dst, '"'), nil
			case c == '\\':
				if !s.ensure(2) {
					return dst, s.eof("an escape sequence")
				}
				e := s.buf[s.pos+1]
				switch e {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
					dst = append(dst, '\\', e)
					s.pos += 2
				case 'u':
					if !s.ensure(6) {
						return dst, s.eof("four hex digits after \\u")
					}
					h := s.buf[s.pos+2 : s.pos+6]
					if !hexDigit[h[0]] || !hexDigit[h[1]] || !hexDigit[h[2]] || !hexDigit[h[3]] {
						return dst, s.syntax("invalid \\u escape in string, expected four hex digits")
					}
					dst = append(dst, s.buf[s.pos:s.pos+6]...)
					s.pos += 6
				default:
					return dst, s.syntax("invalid escape \\%s in string", string(rune(e)))
				}
			case c < 0x20:
				return dst, s.syntax("control character %s in string, expected it escaped", quoteByte(c))
			default:
				s.ensure(utf8.UTFMax) // best effort: near the end fewer bytes remain
				r, size := utf8.DecodeRune(s.buf[s.pos:s.end])
				if r == utf8.RuneError && size <= 1 {
					dst = append(dst, "\uFFFD"...)
					size = 1
				} else {
					dst = append(dst, s.buf[s.pos:s.pos+size]...)
				}
				s.pos += size
			}
		}
		if s.pos >= s.end && !s.fill() {
			if s.rerr != nil && !errors.Is(s.rerr, io.EOF) {
				return dst, s.eof("")
			}
			return dst, &SyntaxError{Offset: start, Line: startLine, Msg: "string not closed before end of input"}
		}
		b = s.buf[s.pos:s.end]
		i = plainPrefix(b)
		dst = append(dst, b[:i]...)
		s.pos += i
	}
}

func (s *scanner) appendLiteral(dst []byte, lit string) ([]byte, error) {
	if s.end-s.pos >= len(lit) && string(s.buf[s.pos:s.pos+len(lit)]) == lit {
		s.pos += len(lit)
		return append(dst, lit...), nil
	}
	s.ensure(len(lit))
	n := min(len(lit), s.end-s.pos)
	for i := range n {
		if s.buf[s.pos+i] != lit[i] {
			s.pos += i
			return dst, s.unexpected(s.buf[s.pos], fmt.Sprintf("%q", lit))
		}
	}
	if n < len(lit) {
		s.pos += n
		return dst, s.eof(fmt.Sprintf("%q", lit))
	}
	s.pos += n
	return append(dst, lit...), nil
}

// peekByte returns the byte at pos, reading more if needed.
func (s *scanner) peekByte() (byte, bool) {
	if s.pos >= s.end && !s.fill() {
		return 0, false
	}
	return s.buf[s.pos], true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// appendNumber copies a number after checking it against JSON's grammar.
func (s *scanner) appendNumber(dst []byte) ([]byte, error) {
	if n := bufferedNumber(s.buf[s.pos:s.end]); n > 0 {
		s.pos += n
		return append(dst, s.buf[s.pos-n:s.pos]...), nil
	}
	start := len(dst)
	// digits copies a run of digits and reports how many there were.
	digits := func() int {
		n := 0
		for {
			c, ok := s.peekByte()
			if !ok || !isDigit(c) || n > MaxRecordSize {
				return n
			}
			dst = append(dst, c)
			s.pos++
			n++
		}
	}
	c, _ := s.peekByte()
	if c == '-' {
		dst = append(dst, c)
		s.pos++
	}
	c, ok := s.peekByte()
	switch {
	case !ok:
		return dst, s.eof("a digit")
	case c == '0':
		dst = append(dst, c)
		s.pos++
	case isDigit(c):
		digits()
	default:
		return dst, s.unexpected(c, "a digit")
	}
	if c, ok = s.peekByte(); ok && c == '.' {
		dst = append(dst, c)
		s.pos++
		if digits() == 0 {
			return s.numberEnd(dst, "a digit after '.'")
		}
		c, ok = s.peekByte()
	}
	if ok && (c == 'e' || c == 'E') {
		dst = append(dst, c)
		s.pos++
		if c, ok = s.peekByte(); ok && (c == '+' || c == '-') {
			dst = append(dst, c)
			s.pos++
		}
		if digits() == 0 {
			return s.numberEnd(dst, "a digit in the exponent")
		}
	}
	if len(dst)-start > MaxRecordSize {
		return dst, s.tooLarge()
	}
	return dst, nil
}

// bufferedNumber returns the length of the well-formed number at the start of b when
// something other than the number follows it in b, else 0: then the number may go on past the
// buffered data, or be malformed, and appendNumber reads it byte by byte, with the checks and
// errors that need. Numbers in a record are far shorter than MaxRecordSize.
func bufferedNumber(b []byte) int {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i == len(b):
		return 0
	case b[i] == '0':
		i++
	case isDigit(b[i]):
		i = digitsEnd(b, i+1)
	default:
		return 0
	}
	if i < len(b) && b[i] == '.' {
		j := digitsEnd(b, i+1)
		if j == i+1 {
			return 0
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digitsEnd(b, i)
		if j == i {
			return 0
		}
		i = j
	}
	if i == len(b) || i > MaxRecordSize {
		return 0
	}
	return i
}

// digitsEnd returns the index of the first byte at or after i in b that is not a digit.
func digitsEnd(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

func (s *scanner) numberEnd(dst []byte, expected string) ([]byte, error) {
	c, ok := s.peekByte()
	if !ok {
		return dst, s.eof(expected)
	}
	return dst, s.unexpected(c, expected)
}
