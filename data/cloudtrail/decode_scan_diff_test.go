package cloudtrail

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// The scanner in decode_scan.go is tuned for speed. This file keeps the scanner as it was
// before that tuning (refScanner, at the end, a verbatim copy with the names changed) and
// checks that both behave the same on the same input read the same way: the values they
// copy, the keys they note, the deep counts, the errors with their offsets and lines, and
// where they leave the stream. Small and odd-sized reads put value boundaries at every
// place in the buffer, so that the paths taken when a value runs past the end of the buffered
// data are compared as well as the fast ones.

// scanAPI is what the driver needs of a scanner; *scanner and *refScanner both provide it.
type scanAPI interface {
	skipWS() (byte, bool)
	appendObject(dst []byte, depth int, info *objInfo) ([]byte, error)
	appendValue(dst []byte, depth int) ([]byte, error)
	eof(expected string) error
	unexpected(c byte, expected string) error
	diffState() scanState
	diffAdvance()
	diffResetDeep()
}

// scanState is what a scanner leaves behind that its caller can see.
type scanState struct {
	Base                 int64
	Pos, End, Line, Deep int
	Rerr                 string
}

func (s *scanner) diffState() scanState {
	return scanState{s.base, s.pos, s.end, s.line, s.deep, errText(s.rerr)}
}
func (s *scanner) diffAdvance()   { s.pos++ }
func (s *scanner) diffResetDeep() { s.deep = 0 }

// scanStep is one value the driver took from the scanner, as decoder.handle would get it.
type scanStep struct {
	Raw   string
	Info  objInfo // without its stream hook
	State scanState
}

// scanTrace is everything observable from one scan of an input.
type scanTrace struct {
	Steps   []scanStep
	Err     string // type, message and wrapped chain
	Partial string // the value being copied when the error came
	End     scanState
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	var b strings.Builder
	for e := err; e != nil; e = errors.Unwrap(e) {
		fmt.Fprintf(&b, "%T: %v; ", e, e)
	}
	return b.String()
}

// scanDriver walks an input the way decoder.run, topValue, streamKey and streamArray do,
// without classifying the values.
type scanDriver struct {
	s         scanAPI
	tr        scanTrace
	top, elem []byte
}

func driveScan(s scanAPI) scanTrace {
	d := &scanDriver{s: s}
	for {
		c, ok := s.skipWS()
		if !ok {
			break
		}
		if err := d.topValue(c); err != nil {
			d.tr.Err = errText(err)
			break
		}
	}
	d.tr.End = s.diffState()
	return d.tr
}

func (d *scanDriver) record(raw []byte, info *objInfo) {
	st := scanStep{Raw: string(raw), State: d.s.diffState()}
	if info != nil {
		st.Info = *info
		st.Info.stream = nil
	}
	d.tr.Steps = append(d.tr.Steps, st)
	d.s.diffResetDeep()
}

func (d *scanDriver) topValue(c byte) error {
	var err error
	if c == '{' {
		info := objInfo{stream: d.streamKey}
		d.top, err = d.s.appendObject(d.top[:0], 1, &info)
		if err != nil {
			d.tr.Partial = string(d.top)
			return err
		}
		d.record(d.top, &info)
		return nil
	}
	if c == '[' {
		return d.streamArray()
	}
	if d.top, err = d.s.appendValue(d.top[:0], 0); err != nil {
		d.tr.Partial = string(d.top)
		return err
	}
	d.record(d.top, nil)
	return nil
}

func (d *scanDriver) streamKey(key []byte) (bool, error) {
	if k := string(key); k != "Records" && k != "Events" {
		return false, nil
	}
	if c, ok := d.s.skipWS(); !ok || c != '[' {
		return false, nil
	}
	return true, d.streamArray()
}

func (d *scanDriver) streamArray() error {
	d.s.diffAdvance()
	c, ok := d.s.skipWS()
	if !ok {
		return d.s.eof("a JSON value or ']'")
	}
	if c == ']' {
		d.s.diffAdvance()
		return nil
	}
	for {
		var info objInfo
		var err error
		if c == '{' {
			d.elem, err = d.s.appendObject(d.elem[:0], 1, &info)
		} else {
			d.elem, err = d.s.appendValue(d.elem[:0], 0)
		}
		if err != nil {
			d.tr.Partial = string(d.elem)
			return err
		}
		d.record(d.elem, &info)
		if c, ok = d.s.skipWS(); !ok {
			return d.s.eof("',' or ']' after array element")
		}
		switch c {
		case ',':
			d.s.diffAdvance()
			if c, ok = d.s.skipWS(); !ok {
				return d.s.eof("a JSON value")
			}
		case ']':
			d.s.diffAdvance()
			return nil
		default:
			return d.s.unexpected(c, "',' or ']' after array element")
		}
	}
}

var errDiffRead = errors.New("read failed")

// chunkReader returns data in pieces of random size, now and then none at all, and at the
// end io.EOF or, with fail, errDiffRead.
type chunkReader struct {
	data []byte
	rng  *rand.Rand
	max  int
	fail bool
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		if r.fail {
			return 0, errDiffRead
		}
		return 0, io.EOF
	}
	if r.rng.IntN(16) == 0 {
		return 0, nil
	}
	n := min(len(p), len(r.data), 1+r.rng.IntN(r.max))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// diffReaders are the ways an input is fed to both scanners; each makes a fresh reader.
func diffReaders(data []byte) map[string]func() io.Reader {
	h := fnv.New64a()
	h.Write(data)
	seed := h.Sum64()
	chunks := func(maxLen int, fail bool) func() io.Reader {
		return func() io.Reader {
			return &chunkReader{data: data, rng: rand.New(rand.NewPCG(seed, uint64(maxLen))), max: maxLen, fail: fail}
		}
	}
	return map[string]func() io.Reader{
		"whole":      func() io.Reader { return bytes.NewReader(data) },
		"one-byte":   func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) },
		"data-eof":   func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) },
		"chunks-16":  chunks(16, false),
		"chunks-700": chunks(700, false),
		"chunks-err": chunks(40, true),
	}
}

// checkScanDiff scans data with both scanners through every reader and in memory.
func checkScanDiff(t *testing.T, data []byte) {
	t.Helper()
	for name, newReader := range diffReaders(data) {
		got := driveScan(newScanner(newReader()))
		want := driveScan(newRefScanner(newReader()))
		compareTraces(t, name, got, want)
	}
	got := driveScan(newBytesScanner(data))
	want := driveScan(newRefBytesScanner(data))
	compareTraces(t, "in-memory", got, want)
}

func compareTraces(t *testing.T, name string, got, want scanTrace) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	if got.Err != want.Err {
		t.Fatalf("%s: error\n got %s\nwant %s", name, got.Err, want.Err)
	}
	if got.Partial != want.Partial {
		t.Fatalf("%s: partial value\n got %q\nwant %q", name, got.Partial, want.Partial)
	}
	if got.End != want.End {
		t.Fatalf("%s: end state\n got %+v\nwant %+v", name, got.End, want.End)
	}
	if len(got.Steps) != len(want.Steps) {
		t.Fatalf("%s: %d values, want %d", name, len(got.Steps), len(want.Steps))
	}
	for i := range got.Steps {
		if g, w := got.Steps[i], want.Steps[i]; !reflect.DeepEqual(g, w) {
			t.Fatalf("%s: value %d differs\n got %+v\nwant %+v", name, i, g, w)
		}
	}
	t.Fatalf("%s: traces differ", name)
}

// scanDiffSeeds gathers the package's fuzz corpora, the fixture files, a few generated
// events in each layout and hand-made edge cases.
func scanDiffSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	for _, dir := range []string{"FuzzDecode", "FuzzExtract", "FuzzRecordExtract", "FuzzScanDiff"} {
		files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", dir, "*"))
		for _, path := range files {
			seeds = append(seeds, readCorpusFile(tb, path))
		}
	}
	inputs, err := filepath.Glob(filepath.Join(repoRoot, "testdata", "inputs", "*"))
	if err != nil || len(inputs) == 0 {
		tb.Fatalf("no fixtures: %v", err)
	}
	for _, path := range inputs {
		data, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, data)
	}
	seeds = append(seeds, eventLayouts(3)...)
	for _, s := range scanEdgeCases {
		seeds = append(seeds, []byte(s))
	}
	for c := range 256 { // every byte in a string, early and late in a word
		seeds = append(seeds, []byte{'"', byte(c), '"'}, []byte{'"', 'a', 'b', 'c', 'd', 'e', 'f', 'g', byte(c), '"'})
	}
	return seeds
}

// eventLayouts returns n generated events as a Records file, compact and pretty, as JSON
// Lines with CRLF, and as objects back to back.
func eventLayouts(n int) [][]byte {
	var compact, lines, glued bytes.Buffer
	compact.WriteString(`{"Records":[`)
	for i := range n {
		ev := genEvent(nil, i)
		if i > 0 {
			compact.WriteByte(',')
		}
		compact.Write(ev)
		lines.Write(ev)
		lines.WriteString("\r\n")
		glued.Write(ev)
	}
	compact.WriteString("]}\n")
	var pretty bytes.Buffer
	_ = json.Indent(&pretty, compact.Bytes(), "", "\t")
	return [][]byte{compact.Bytes(), pretty.Bytes(), lines.Bytes(), glued.Bytes()}
}

// readCorpusFile reads a one-value []byte entry of Go's fuzz corpus format.
func readCorpusFile(tb testing.TB, path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	header, body, _ := strings.Cut(string(data), "\n")
	body = strings.TrimSpace(body)
	if header != "go test fuzz v1" || !strings.HasPrefix(body, "[]byte(") || !strings.HasSuffix(body, ")") {
		tb.Fatalf("%s: not a one-value []byte corpus entry", path)
	}
	v, err := strconv.Unquote(body[len("[]byte(") : len(body)-1])
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return []byte(v)
}

var scanEdgeCases = []string{
	``, ` `, "\n\n\t\r ", `{}`, `[]`, `{ }`, "[\n]", `""`, `"a"`, `0`, `-0`, `-`, `01`, `1.`, `1.5`, `1e`, `1e+`,
	`1E-7`, `-12.5e+3x`, `123456789012345678901234567890`, `1.2.3`, `-a`, `+1`, `.5`,
	`true`, `false`, `null`, `tru`, `fals`, `nul`, `trux`, `nulll`, `t`, `[true,false,null]`,
	`{"a":tru}`, `{"a":1`, `{"a":1,`, `{"a":1,}`, `{"a" 1}`, `{"a":}`, `{"a":1 "b":2}`, `{1:2}`,
	`[1,]`, `[1 2]`, `[,1]`, `{"a":[1,{"b":[]},"c"]}`, `{"Records":[]}`, `{"Records":[1,"x",{}]}`,
	`{"Records":{"a":1}}`, `{"Events":[{"a":1}],"b":2}`, `{"a":1,"Records":[{"eventTime":"t"}],"z":[]}`,
	`{"Records":[{"a":1}`, `{"Records":[{"a":1},`, `{"Records":[{"a":1} x`, `{"Records":null}`,
	`"\"\\\/\b\f\n\r\t"`, `"\u0041\u00e9\uD83D\uDE00"`, `"\u12"`, `"\u12G4"`, `"\x"`, `"\`, `"\u`,
	`"abc`, "\"a\x01b\"", "\"a\nb\"", "\"a\x7fb\"", "\"é日本😀\"", "\"\xff\xfe\"", "\"a\xc3\"", "\"\xe6\x97\"",
	"\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xc0\xaf\"", "\"abcdefgh\xffijklmnop\"",
	`"abcdefghijklmnopqrstuvwxyz0123456789"`, `"abcdefg"`, `"abcdefgh"`, `"abcdefghi"`,
	`{"eventTime":"2024-01-01T00:00:00Z","eventName":"X","eventSource":"s3.amazonaws.com"}`,
	`{"event\u0054ime":"t","eventName":"a","eventName":"b"}`, "{\"a\":1}\n{\"b\":2}\n[3]\n\"s\"\n7\n",
	"{\n  \"a\" : [ 1 , 2 ] ,\r\n  \"b\" : { }\n}\n", "\xef\xbb\xbf{}", "\x1f\x8b\x08\x00", "{\"a\":\"b\"}\x00",
	strings.Repeat("[", maxNesting-1) + strings.Repeat("]", maxNesting-1),
	strings.Repeat("[", maxNesting+1) + strings.Repeat("]", maxNesting+1),
	`{"a":` + strings.Repeat(`{"b":`, maxNesting) + `1` + strings.Repeat("}", maxNesting) + `}` + `{"c":[]}`,
	strings.Repeat("[", maxDepth+1),
	strings.Repeat(`{"a":`, maxDepth) + "1" + strings.Repeat("}", maxDepth),
	`"` + strings.Repeat("x", 70000) + `"`,
}

// TestScanDiff compares the two scanners on the seeds, on large generated inputs that run
// over the read buffer's size, and on the real data sets when they are present.
func TestScanDiff(t *testing.T) {
	for i, data := range scanDiffSeeds(t) {
		t.Run(strconv.Itoa(i), func(t *testing.T) { checkScanDiff(t, data) })
	}
	t.Run("generated", func(t *testing.T) {
		for _, data := range eventLayouts(200) {
			checkScanDiff(t, data)
		}
	})
	t.Run("shared-data", func(t *testing.T) {
		if testing.Short() {
			t.Skip("reads the real data sets byte by byte")
		}
		files, _ := filepath.Glob(filepath.Join(repoRoot, "..", "shared", "data", "*", "*.json"))
		if len(files) == 0 {
			t.Skip("real data not found")
		}
		for _, path := range files {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			checkScanDiff(t, data)
		}
	})
}

// TestScanDiffTooLarge compares the MaxRecordSize checks, which need values over 64 MiB: a
// string, a number, an array of short values, and an object of many keys.
func TestScanDiffTooLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("builds values over 64 MiB")
	}
	n := MaxRecordSize + 10
	str := func(prefix string, unit string) []byte {
		b := make([]byte, 0, len(prefix)+n+len(unit))
		b = append(b, prefix...)
		for len(b) < n {
			b = append(b, unit...)
		}
		return b
	}
	cases := map[string][]byte{
		"string":      str(`{"a":"`, "xxxxxxxxxxxxxxx\\n"),
		"string-utf8": str(`"`, "é\xff"),
		"number":      str(`[1`, "0000000000"),
		"fraction":    str(`[1.`, "0000000000"),
		"array":       str(`{"Records":[{"a":[`, "1,true,\"s\","),
		"object":      str(`{"a":{`, `"k":1,`),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			got := driveScan(newScanner(bytes.NewReader(data)))
			want := driveScan(newRefScanner(bytes.NewReader(data)))
			if !strings.Contains(want.Err, "larger than") {
				t.Fatalf("reference scanner did not reject the value: %.200s", want.Err)
			}
			got.Partial, want.Partial = digest(got.Partial), digest(want.Partial) // not 64 MiB in a message
			compareTraces(t, name, got, want)
		})
	}
}

func digest(s string) string {
	h := fnv.New64a()
	h.Write([]byte(s))
	return fmt.Sprintf("%d bytes, FNV-1a %x", len(s), h.Sum64())
}

// TestPlainPrefix checks the word-at-a-time scan against the byte table it stands for, at
// every position of a word and with every byte value.
func TestPlainPrefix(t *testing.T) {
	naive := func(b []byte) int {
		for i, c := range b {
			if !plain[c] {
				return i
			}
		}
		return len(b)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for pos := range 24 {
		for c := range 256 {
			for _, fill := range []byte{'a', ' ', '!', '#', '[', ']', '~', 0x7f} {
				b := bytes.Repeat([]byte{fill}, 24)
				b[pos] = byte(c)
				if later := pos + 1 + r.IntN(23); later < len(b) {
					b[later] = byte(r.IntN(256)) // another special byte after the first must not matter
				}
				for n := pos; n <= len(b); n++ {
					if got, want := plainPrefix(b[:n]), naive(b[:n]); got != want {
						t.Fatalf("plainPrefix(%q) = %d, want %d", b[:n], got, want)
					}
				}
			}
		}
	}
}

// FuzzScanDiff compares the tuned scanner with the reference on arbitrary input.
func FuzzScanDiff(f *testing.F) {
	for _, s := range scanDiffSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkScanDiff(t, data)
	})
}

// refScanner and its methods below are the scanner methods the tuning rewrote, as they were
// before it (decode_scan.go at 3094e3c^), with the type renamed and refSpecial8 for the old
// special8. Keep them unchanged: they are the reference.

// refScanner takes from scanner the methods the tuning left as they were (reading, errors,
// peekByte, numberEnd); the ones it rewrote are below, as they were.
type refScanner struct{ scanner }

func newRefScanner(r io.Reader) *refScanner { return &refScanner{*newScanner(r)} }

// newRefBytesScanner scans an in-memory value (an embedded JSON string, a CSV cell).
func newRefBytesScanner(b []byte) *refScanner { return &refScanner{*newBytesScanner(b)} }

// appendValue appends the next JSON value in compact form.
func (s *refScanner) appendValue(dst []byte, depth int) ([]byte, error) {
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
func (s *refScanner) appendObject(dst []byte, depth int, info *objInfo) ([]byte, error) {
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
		if c, ok = s.skipWS(); !ok {
			return dst, s.eof("':' after object key")
		}
		if c != ':' {
			return dst, s.unexpected(c, "':' after object key")
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
			if dst, err = s.appendValue(dst, depth); err != nil {
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
		if c, ok = s.skipWS(); !ok {
			return dst, s.eof("',' or '}' after object value")
		}
		switch c {
		case ',':
			s.pos++
			dst = append(dst, ',')
			if c, ok = s.skipWS(); !ok {
				return dst, s.eof("a string key")
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

func (s *refScanner) appendArray(dst []byte, depth int) ([]byte, error) {
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
		if dst, err = s.appendValue(dst, depth); err != nil {
			return dst, err
		}
		if len(dst) > MaxRecordSize {
			return dst, s.tooLarge()
		}
		if c, ok = s.skipWS(); !ok {
			return dst, s.eof("',' or ']' after array element")
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

// refSpecial8 reports whether any of eight bytes needs a look in appendString: a control
// character, '"', '\\' or a non-ASCII byte. It checks a word at a time (the classic
// "has zero byte" test); a borrow can only follow a real match, so the answer is exact.
func refSpecial8(x uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := x ^ (lo * '"')
	e := x ^ (lo * '\\')
	return ((x-lo*0x20)&^x|(q-lo)&^q|(e-lo)&^e|x)&hi != 0
}

// appendString appends the string at pos. Escapes are kept as written; invalid UTF-8 is
// replaced by U+FFFD byte by byte, exactly as encoding/json does when it decodes, so the
// output is valid UTF-8 and still parses equal to the input.
func (s *refScanner) appendString(dst []byte) ([]byte, error) {
	start, startLine := s.offset(), s.line
	s.pos++
	dst = append(dst, '"')
	for {
		if s.pos >= s.end && !s.fill() {
			if s.rerr != nil && !errors.Is(s.rerr, io.EOF) {
				return dst, s.eof("")
			}
			return dst, &SyntaxError{Offset: start, Line: startLine, Msg: "string not closed before end of input"}
		}
		b := s.buf[s.pos:s.end]
		i := 0
		for i+8 <= len(b) && !refSpecial8(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		for i < len(b) && plain[b[i]] {
			i++
		}
		dst = append(dst, b[:i]...)
		s.pos += i
		if len(dst) > MaxRecordSize {
			return dst, s.tooLarge()
		}
		if i == len(b) {
			continue
		}
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
}

func (s *refScanner) appendLiteral(dst []byte, lit string) ([]byte, error) {
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

// appendNumber copies a number after checking it against JSON's grammar.
func (s *refScanner) appendNumber(dst []byte) ([]byte, error) {
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
