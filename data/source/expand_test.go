package source

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const doc = `{"Records":[{"eventVersion":"1.09","eventID":"6f0c7b0e","eventName":"ListBuckets"}]}`

// want is one expected leaf: its entry, its content, and what went wrong with it.
type want struct {
	entry   string
	data    string
	err     error  // Leaf.Err must wrap this sentinel
	errText string // and / or contain this text
	readErr string // reading R must fail with this text
	partial bool   // what was read before the failure need only be a prefix of data
}

func check(t *testing.T, gots []got, wants []want) {
	t.Helper()
	if len(gots) != len(wants) {
		var es []string
		for _, g := range gots {
			es = append(es, fmt.Sprintf("%q(err=%v, readErr=%v)", g.Entry, g.Err, g.ReadErr))
		}
		t.Fatalf("got %d leaves %v, want %d", len(gots), es, len(wants))
	}
	for i, w := range wants {
		g := gots[i]
		if g.Entry != w.entry {
			t.Errorf("leaf %d: entry %q, want %q", i, g.Entry, w.entry)
		}
		if g.Data != w.data && !(w.partial && strings.HasPrefix(w.data, g.Data)) {
			t.Errorf("leaf %d (%s): data %.60q, want %.60q", i, w.entry, g.Data, w.data)
		}
		wantErr := w.err != nil || w.errText != ""
		if (g.Err != nil) != wantErr {
			t.Errorf("leaf %d (%s): err %v, want an error: %v", i, w.entry, g.Err, wantErr)
		}
		if w.err != nil && !errors.Is(g.Err, w.err) {
			t.Errorf("leaf %d (%s): err %v, want %v", i, w.entry, g.Err, w.err)
		}
		if w.errText != "" && (g.Err == nil || !strings.Contains(g.Err.Error(), w.errText)) {
			t.Errorf("leaf %d (%s): err %v, want it to contain %q", i, w.entry, g.Err, w.errText)
		}
		switch {
		case w.readErr == "" && g.ReadErr != nil:
			t.Errorf("leaf %d (%s): read error %v", i, w.entry, g.ReadErr)
		case w.readErr != "" && (g.ReadErr == nil || !strings.Contains(g.ReadErr.Error(), w.readErr)):
			t.Errorf("leaf %d (%s): read error %v, want %q", i, w.entry, g.ReadErr, w.readErr)
		}
	}
}

func TestExpand(t *testing.T) {
	big := bytes.Repeat([]byte(doc+"\n"), 2000) // ~180 KB, several deflate blocks
	tests := []struct {
		name  string
		file  string
		build func(t *testing.T) []byte
		lim   Limits
		want  []want
	}{
		{
			name:  "loose file",
			file:  "a.json",
			build: func(t *testing.T) []byte { return []byte(doc) },
			want:  []want{{data: doc}},
		},
		{
			name:  "empty file",
			file:  "empty",
			build: func(t *testing.T) []byte { return nil },
			want:  []want{{data: ""}},
		},
		{
			name:  "gzip",
			file:  "a.json.gz",
			build: func(t *testing.T) []byte { return gz(t, []byte(doc)) },
			want:  []want{{data: doc}},
		},
		{
			name:  "gzip named like nothing (magic, not names)",
			file:  "a.txt",
			build: func(t *testing.T) []byte { return gz(t, []byte(doc)) },
			want:  []want{{data: doc}},
		},
		{
			name:  "multi-member gzip",
			file:  "multi.json.gz",
			build: func(t *testing.T) []byte { return gz(t, []byte(doc+"\n"), []byte(doc), nil) },
			want:  []want{{data: doc + "\n" + doc}},
		},
		{
			name: "zip skips folders, keeps empty entries",
			file: "a.zip",
			build: func(t *testing.T) []byte {
				return zipOf(t, ent{name: "a.json", data: []byte(doc)}, ent{name: "dir/"},
					ent{name: "dir/b.json", data: big}, ent{name: "empty.json"}, ent{name: "stored.json", data: []byte(doc), store: true})
			},
			want: []want{{entry: "a.json", data: doc}, {entry: "dir/b.json", data: string(big)}, {entry: "empty.json"}, {entry: "stored.json", data: doc}},
		},
		{
			name: "tar skips folders, links and devices",
			file: "a.tar",
			build: func(t *testing.T) []byte {
				return tarOf(t, ent{name: "logs/", typ: tar.TypeDir, mode: 0o755}, ent{name: "logs/a.json", data: []byte(doc)},
					ent{name: "logs/link.json", typ: tar.TypeSymlink, link: "/etc/passwd"}, ent{name: "logs/hard.json", typ: tar.TypeLink, link: "logs/a.json"},
					ent{name: "dev", typ: tar.TypeChar}, ent{name: "fifo", typ: tar.TypeFifo}, ent{name: "logs/empty.json"}, ent{name: "logs/big.json", data: big})
			},
			want: []want{{entry: "logs/a.json", data: doc}, {entry: "logs/empty.json"}, {entry: "logs/big.json", data: string(big)}},
		},
		{
			name: "tar.gz",
			file: "a.tgz",
			build: func(t *testing.T) []byte {
				return gz(t, tarOf(t, ent{name: "a.json", data: []byte(doc)}, ent{name: "b.json.gz", data: gz(t, big)}))
			},
			want: []want{{entry: "a.json", data: doc}, {entry: "b.json.gz", data: string(big)}},
		},
		{
			name: "zip in tar.gz in zip",
			file: "nested.zip",
			build: func(t *testing.T) []byte {
				deep := zipOf(t, ent{name: "x.json", data: []byte(doc)}, ent{name: "y.json.gz", data: gz(t, big)})
				mid := gz(t, tarOf(t, ent{name: "deep.zip", data: deep}, ent{name: "after.json", data: []byte("2")}))
				return zipOf(t, ent{name: "first.json", data: []byte("1")}, ent{name: "mid.tar.gz", data: mid}, ent{name: "last.json", data: []byte("3")})
			},
			want: []want{
				{entry: "first.json", data: "1"},
				{entry: "mid.tar.gz!deep.zip!x.json", data: doc},
				{entry: "mid.tar.gz!deep.zip!y.json.gz", data: string(big)},
				{entry: "mid.tar.gz!after.json", data: "2"},
				{entry: "last.json", data: "3"},
			},
		},
		{
			name: "zip in a stored zip entry",
			file: "stored.zip",
			build: func(t *testing.T) []byte {
				return zipOf(t, ent{name: "in.zip", data: zipOf(t, ent{name: "x.json", data: []byte(doc)}), store: true})
			},
			want: []want{{entry: "in.zip!x.json", data: doc}},
		},
		{
			name: "names with ! and %",
			file: "bang.zip",
			build: func(t *testing.T) []byte {
				return zipOf(t, ent{name: "a!b.json", data: []byte("1")}, ent{name: "c!d.zip", data: zipOf(t, ent{name: "100%!.json", data: []byte("2")})})
			},
			want: []want{{entry: "a%21b.json", data: "1"}, {entry: "c%21d.zip!100%25%21.json", data: "2"}},
		},
		{
			name: "zip slip",
			file: "slip.zip",
			build: func(t *testing.T) []byte {
				return zipOf(t, ent{name: "../../evil.json", data: []byte("x")}, ent{name: "/etc/x", data: []byte("x")},
					ent{name: `..\win.json`, data: []byte("x")}, ent{name: `C:\x.json`, data: []byte("x")}, ent{name: "ok/../../x", data: []byte("x")},
					ent{name: "ok/..data.json", data: []byte("fine")})
			},
			want: []want{
				{entry: "../../evil.json", err: ErrUnsafeName, errText: `"../../evil.json"`},
				{entry: "/etc/x", err: ErrUnsafeName, errText: `"/etc/x"`},
				{entry: `..\win.json`, err: ErrUnsafeName},
				{entry: `C:\x.json`, err: ErrUnsafeName},
				{entry: "ok/../../x", err: ErrUnsafeName},
				{entry: "ok/..data.json", data: "fine"},
			},
		},
		{
			name: "tar slip",
			file: "slip.tar",
			build: func(t *testing.T) []byte {
				return tarOf(t, ent{name: "../../evil.json", data: []byte("x")}, ent{name: "/etc/x", data: []byte("x")}, ent{name: "ok.json", data: []byte("ok")})
			},
			want: []want{
				{entry: "../../evil.json", err: ErrUnsafeName},
				{entry: "/etc/x", err: ErrUnsafeName},
				{entry: "ok.json", data: "ok"},
			},
		},
		{
			name: "truncated gzip",
			file: "truncated.json.gz",
			build: func(t *testing.T) []byte {
				b := gz(t, big)
				return b[:len(b)/2]
			},
			want: []want{{data: string(big), partial: true, readErr: "gzip: unexpected EOF"}},
		},
		{
			name: "truncated gzip inside a zip, then a good entry",
			file: "t.zip",
			build: func(t *testing.T) []byte {
				b := gz(t, []byte(doc))
				return zipOf(t, ent{name: "t.json.gz", data: b[:len(b)-6]}, ent{name: "ok.json", data: []byte("ok")})
			},
			want: []want{{entry: "t.json.gz", data: doc, partial: true, readErr: "gzip: unexpected EOF"}, {entry: "ok.json", data: "ok"}},
		},
		{
			name: "corrupt zip central directory",
			file: "corrupt.zip",
			build: func(t *testing.T) []byte {
				b := zipOf(t, ent{name: "a.json", data: []byte(doc)})
				i := bytes.LastIndex(b, []byte("PK\x01\x02"))
				copy(b[i:], "XXXX")
				return b
			},
			want: []want{{errText: "zip: "}},
		},
		{
			name: "corrupt nested zip, tar goes on",
			file: "corrupt.tar",
			build: func(t *testing.T) []byte {
				b := zipOf(t, ent{name: "a.json", data: []byte(doc)})
				b = b[:len(b)-10] // cut the end of central directory record
				return tarOf(t, ent{name: "bad.zip", data: b}, ent{name: "ok.json", data: []byte("ok")})
			},
			want: []want{{entry: "bad.zip", errText: "zip: not a valid zip file"}, {entry: "ok.json", data: "ok"}},
		},
		{
			name: "corrupt deflate data in zip entry",
			file: "flate.zip",
			build: func(t *testing.T) []byte {
				b := zipOf(t, ent{name: "a.json", data: big}, ent{name: "ok.json", data: []byte("ok")})
				// Garble the deflate stream from its first bytes (after the 30+6-byte local header).
				for i := 36; i < 400; i++ {
					b[i] = 0xff
				}
				return b
			},
			want: []want{{entry: "a.json", data: "", partial: true, readErr: "zip: "}, {entry: "ok.json", data: "ok"}},
		},
		{
			name: "corrupt tar header after a good entry",
			file: "bad.tar",
			build: func(t *testing.T) []byte {
				b := tarOf(t, ent{name: "a.json", data: []byte(doc)}, ent{name: "b.json", data: []byte(doc)})
				// The second header follows the first entry's header (PAX record + header) and data.
				i := bytes.Index(b[512:], []byte("b.json"))
				copy(b[512+i:], "\xff\xff\xff")
				return b
			},
			want: []want{{entry: "a.json", data: doc}, {errText: "tar: "}},
		},
		{
			name: "declared size over MaxEntryBytes",
			file: "declared.tar",
			build: func(t *testing.T) []byte {
				return tarOf(t, ent{name: "big.json", data: big}, ent{name: "small.json", data: []byte(doc)})
			},
			lim:  Limits{MaxEntryBytes: 1000},
			want: []want{{entry: "big.json", err: ErrTooLarge}, {entry: "small.json", data: doc}},
		},
		{
			name: "gzip leaf over MaxEntryBytes is cut while reading",
			file: "cut.json.gz",
			build: func(t *testing.T) []byte {
				return gz(t, big)
			},
			lim:  Limits{MaxEntryBytes: 10000},
			want: []want{{data: string(big[:10000]), readErr: ErrTooLarge.Error()}},
		},
		{
			name: "zip entry whose header lies about its size",
			file: "liar.zip",
			build: func(t *testing.T) []byte {
				b := zipOf(t, ent{name: "a.json", data: big})
				// Shrink the declared uncompressed size in the central directory.
				i := bytes.LastIndex(b, []byte("PK\x01\x02"))
				binary.LittleEndian.PutUint32(b[i+24:], 100)
				return b
			},
			want: []want{{entry: "a.json", data: string(big[:100]), partial: true, readErr: "zip: "}},
		},
		{
			name: "unknown binary is a leaf",
			file: "junk.bin",
			build: func(t *testing.T) []byte {
				return []byte("\x00\x01\x02PK\x03\x04 not a zip at offset 0")
			},
			want: []want{{data: "\x00\x01\x02PK\x03\x04 not a zip at offset 0"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, tc.file, tc.build(t))
			check(t, expandFile(t, p, tc.lim), tc.want)
		})
	}
}

func TestEntryRoundTrip(t *testing.T) {
	tests := [][]string{
		nil,
		{"a.json"},
		{"a!b.zip", "c.json"},
		{"100%", "%21", "!!", ""},
	}
	for _, names := range tests {
		t.Run(JoinEntry(names), func(t *testing.T) {
			if got := SplitEntry(JoinEntry(names)); !reflect.DeepEqual(got, names) {
				t.Errorf("SplitEntry(JoinEntry(%q)) = %q", names, got)
			}
		})
	}
}

func TestOverlappingZipEntries(t *testing.T) {
	b := zipOf(t, ent{name: "a.json", data: []byte(doc)}, ent{name: "b.json", data: []byte(doc)})
	// Point the second central directory record at the first entry's local header.
	i := bytes.LastIndex(b, []byte("PK\x01\x02"))
	binary.LittleEndian.PutUint32(b[i+42:], 0)
	p := writeFile(t, "overlap.zip", b)
	check(t, expandFile(t, p, Limits{}), []want{{entry: "a.json", data: doc}, {entry: "b.json", err: ErrTooLarge, errText: "overlaps"}})
}

func TestZipInPlaceAndSpilled(t *testing.T) {
	// The same zip read from an *os.File (in place), a CountingReader over it (in place, counted)
	// and a plain stream (spilled) gives the same leaves; a zip stored uncompressed inside another
	// is read in place too; spills go to TMPDIR and leave nothing behind.
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	inner := zipOf(t, ent{name: "b.json", data: []byte("b")})
	readers := []struct {
		name   string
		open   func(f *os.File) io.Reader
		spills int // spill files of the outer zip
	}{
		{name: "os.File", open: func(f *os.File) io.Reader { return f }, spills: 0},
		{name: "CountingReader", open: func(f *os.File) io.Reader { return NewCountingReader(f) }, spills: 0},
		{name: "stream", open: func(f *os.File) io.Reader { return struct{ io.Reader }{f} }, spills: 1},
	}
	for _, inner := range []struct {
		name   string
		data   []byte
		spills int // spill files of the inner zip
	}{
		{"deflated inner zip", zipOf(t, ent{name: "a.json", data: []byte(doc)}, ent{name: "in.zip", data: inner}), 1},
		{"stored inner zip", zipOf(t, ent{name: "a.json", data: []byte(doc)}, ent{name: "in.zip", data: inner, store: true}), 0},
	} {
		p := writeFile(t, "x.zip", inner.data)
		for _, rc := range readers {
			t.Run(inner.name+"/"+rc.name, func(t *testing.T) {
				f, err := os.Open(p)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				r := rc.open(f)
				var entries []string
				var spills []int
				err = Expand(context.Background(), p, r, int64(len(inner.data)), Limits{}, func(l Leaf) error {
					if l.Err != nil {
						return l.Err
					}
					entries = append(entries, l.Entry)
					left, _ := filepath.Glob(filepath.Join(tmp, "trailscope-spill-*"))
					spills = append(spills, len(left))
					_, err := io.Copy(io.Discard, l.R)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				if want := []string{"a.json", "in.zip!b.json"}; !reflect.DeepEqual(entries, want) {
					t.Errorf("entries %q, want %q", entries, want)
				}
				if want := []int{rc.spills, rc.spills + inner.spills}; !reflect.DeepEqual(spills, want) {
					t.Errorf("spill files present during callbacks %v, want %v", spills, want)
				}
				if left, _ := os.ReadDir(tmp); len(left) != 0 {
					t.Errorf("temporary files left behind: %v", left)
				}
				if c, ok := r.(*CountingReader); ok && (c.N() < int64(len(inner.data))/2 || c.N() > int64(len(inner.data))+8192) {
					t.Errorf("CountingReader counted %d bytes of a %d-byte zip", c.N(), len(inner.data))
				}
			})
		}
	}
}

func TestCountingReaderStream(t *testing.T) {
	data := gz(t, bytes.Repeat([]byte(doc), 100))
	c := NewCountingReader(bytes.NewReader(data))
	err := Expand(context.Background(), "x.gz", struct{ io.Reader }{c}, -1, Limits{}, func(l Leaf) error {
		_, err := io.Copy(io.Discard, l.R)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.N() != int64(len(data)) {
		t.Errorf("counted %d bytes, want %d", c.N(), len(data))
	}
}

func TestExpandStopsOnCallbackError(t *testing.T) {
	p := writeFile(t, "a.tar", tarOf(t, ent{name: "a", data: []byte("1")}, ent{name: "b", data: []byte("2")}))
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stop := errors.New("stop here")
	calls := 0
	err = Expand(context.Background(), p, f, -1, Limits{}, func(Leaf) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Errorf("Expand = %v after %d calls, want %v after 1", err, calls, stop)
	}
}

func TestExpandCancelled(t *testing.T) {
	many := make([]ent, 20)
	for i := range many {
		many[i] = ent{name: fmt.Sprintf("%02d.json", i), data: bytes.Repeat([]byte(doc), 50)}
	}
	tgz := gz(t, tarOf(t, many...))
	zipped := zipOf(t, many...)
	tests := []struct {
		name   string
		data   []byte
		cancel string // "before", "in callback", "while reading"
		leaves int    // callbacks expected
	}{
		{"before, tar.gz", tgz, "before", 0},
		{"in callback, tar.gz", tgz, "in callback", 1},
		{"in callback, zip", zipped, "in callback", 1},
		{"while reading, tar.gz", tgz, "while reading", 1},
		{"while reading, zip", zipped, "while reading", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel == "before" {
				cancel()
			}
			calls := 0
			var readErr error
			err := Expand(ctx, "x", bytes.NewReader(tc.data), int64(len(tc.data)), Limits{}, func(l Leaf) error {
				calls++
				switch tc.cancel {
				case "in callback":
					cancel()
				case "while reading":
					buf := make([]byte, 10)
					if _, err := io.ReadFull(l.R, buf); err != nil {
						return err
					}
					cancel()
					_, readErr = io.Copy(io.Discard, l.R)
				}
				return nil
			})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Expand = %v, want context.Canceled", err)
			}
			if calls != tc.leaves {
				t.Errorf("%d callbacks, want %d", calls, tc.leaves)
			}
			if tc.cancel == "while reading" && !errors.Is(readErr, context.Canceled) {
				t.Errorf("read after cancel = %v, want context.Canceled", readErr)
			}
		})
	}
}

func TestTooDeep(t *testing.T) {
	b := []byte(doc)
	for range maxDepth + 2 {
		b = gz(t, b)
	}
	p := writeFile(t, "deep.gz", b)
	check(t, expandFile(t, p, Limits{}), []want{{err: ErrTooDeep}})
}

func TestSniff(t *testing.T) {
	v7 := tarOf(t, ent{name: "a.json", data: []byte(doc)})
	v7 = v7[512:] // skip the PAX header block: the regular header follows
	copy(v7[257:265], make([]byte, 8))
	// Recompute the checksum without the magic, as a v7 tar writer would.
	var sum int64
	for i, c := range v7[:512] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int64(c)
	}
	copy(v7[148:156], fmt.Sprintf("%06o\x00 ", sum))
	tests := []struct {
		name            string
		head            []byte
		gzip, zip, tarz bool
	}{
		{"gzip", gz(t, []byte("x")), true, false, false},
		{"zip", zipOf(t, ent{name: "a"}), false, true, false},
		{"empty zip", zipOf(t), false, true, false},
		{"ustar", tarOf(t, ent{name: "a"}), false, false, true},
		{"v7 tar", v7, false, false, true},
		{"json", []byte(strings.Repeat(doc, 10)), false, false, false},
		{"short", []byte{0x1f}, false, false, false},
		{"zeros", make([]byte, 1024), false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.head[:min(len(tc.head), sniffLen)]
			if isGzip(h) != tc.gzip || isZip(h) != tc.zip || isTar(h) != tc.tarz {
				t.Errorf("gzip %v zip %v tar %v, want %v %v %v", isGzip(h), isZip(h), isTar(h), tc.gzip, tc.zip, tc.tarz)
			}
		})
	}
}
