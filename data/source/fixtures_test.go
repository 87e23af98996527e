package source

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the fixtures in testdata/archives and the FuzzExpand seeds")

// fixtureDir is the repository's shared fixture folder, seen from this package.
var fixtureDir = filepath.Join("..", "..", "testdata", "archives")

// fixtures are small archives committed under testdata/archives (for other packages' tests too)
// and as FuzzExpand seeds. `go test ./data/source -run TestFixtures -update` rewrites them.
func fixtures(t testing.TB) []struct {
	name string
	data []byte
	want []want
} {
	record := `{"Records":[{"eventVersion":"1.09","eventTime":"2024-05-09T20:25:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","eventID":"0f6e0c1a-1b2c-4d5e-8f90-a1b2c3d4e5f6"}]}`
	deep := zipOf(t, ent{name: "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/09/111122223333_CloudTrail_us-east-1_20240509T2025Z_a.json.gz", data: gz(t, []byte(record))})
	mid := gz(t, tarOf(t, ent{name: "export/deep.zip", data: deep}, ent{name: "export/notes.txt", data: []byte("not cloudtrail\n")}))
	trunc := gz(t, bytes.Repeat([]byte(record+"\n"), 20))
	corrupt := zipOf(t, ent{name: "a.json", data: []byte(record)})
	corrupt = corrupt[:len(corrupt)-10]
	return []struct {
		name string
		data []byte
		want []want
	}{
		{
			name: "nested.zip",
			data: zipOf(t, ent{name: "top.json", data: []byte(record)}, ent{name: "dir/"}, ent{name: "mid.tar.gz", data: mid}, ent{name: "odd!name.json", data: []byte(record)}, ent{name: "empty.json"}),
			want: []want{
				{entry: "top.json", data: record},
				{entry: "mid.tar.gz!export/deep.zip!AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/09/111122223333_CloudTrail_us-east-1_20240509T2025Z_a.json.gz", data: record},
				{entry: "mid.tar.gz!export/notes.txt", data: "not cloudtrail\n"},
				{entry: "odd%21name.json", data: record},
				{entry: "empty.json"},
			},
		},
		{
			name: "slip.zip",
			data: zipOf(t, ent{name: "../../evil.json", data: []byte(record)}, ent{name: "/etc/x", data: []byte("x")}, ent{name: "ok.json", data: []byte(record)}),
			want: []want{{entry: "../../evil.json", err: ErrUnsafeName}, {entry: "/etc/x", err: ErrUnsafeName}, {entry: "ok.json", data: record}},
		},
		{
			name: "truncated.json.gz",
			data: trunc[:len(trunc)*2/3],
			want: []want{{data: strings.Repeat(record+"\n", 20), partial: true, readErr: "gzip: unexpected EOF"}},
		},
		{
			name: "corrupt.zip",
			data: corrupt,
			want: []want{{errText: "zip: not a valid zip file"}},
		},
		{
			name: "multi.json.gz",
			data: gz(t, []byte(record+"\n"), []byte(record+"\n")),
			want: []want{{data: record + "\n" + record + "\n"}},
		},
		{
			name: "logs.tar",
			data: tarOf(t, ent{name: "logs/", typ: '5', mode: 0o755}, ent{name: "logs/a.json", data: []byte(record)}, ent{name: "logs/link", typ: '2', link: "../../etc/passwd"}),
			want: []want{{entry: "logs/a.json", data: record}},
		},
	}
}

func TestFixtures(t *testing.T) {
	fx := fixtures(t)
	if *update {
		if err := os.MkdirAll(fixtureDir, 0o755); err != nil {
			t.Fatal(err)
		}
		seeds := filepath.Join("testdata", "fuzz", "FuzzExpand")
		if err := os.MkdirAll(seeds, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range fx {
			if err := os.WriteFile(filepath.Join(fixtureDir, f.name), f.data, 0o644); err != nil {
				t.Fatal(err)
			}
			writeSeed(t, seeds, f.name, f.data)
		}
		// A few more seeds the fixtures lack: empty and plain input, gzip in gzip, zip in tar.gz.
		writeSeed(t, seeds, "empty", nil)
		writeSeed(t, seeds, "plain.json", []byte(doc))
		writeSeed(t, seeds, "gz-in-gz", gz(t, gz(t, []byte(doc))))
		writeSeed(t, seeds, "zip-in-tar-in-gz", gz(t, tarOf(t, ent{name: "a.zip", data: zipOf(t, ent{name: "b.json", data: []byte(doc)})})))
	}
	for _, f := range fx {
		t.Run(f.name, func(t *testing.T) {
			p := filepath.Join(fixtureDir, f.name)
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("fixture missing (run: go test ./data/source -run TestFixtures -update): %v", err)
			}
			check(t, expandFile(t, p, Limits{}), f.want)
		})
	}
}

// writeSeed writes data as a fuzz corpus file in Go's "go test fuzz v1" format.
func writeSeed(t testing.TB, dir, name string, data []byte) {
	t.Helper()
	body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(data)) + ")\n"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func FuzzExpand(f *testing.F) {
	tmp := f.TempDir()
	f.Setenv("TMPDIR", tmp) // every spill must land here and be gone afterwards
	lim := Limits{MaxEntryBytes: 1 << 20, MaxRatio: 50}
	f.Fuzz(func(t *testing.T, data []byte) {
		readers := map[string]io.Reader{
			"in place": bytes.NewReader(data),
			"stream":   struct{ io.Reader }{bytes.NewReader(data)},
		}
		for how, r := range readers {
			err := Expand(context.Background(), "fuzz", r, int64(len(data)), lim, func(l Leaf) error {
				if (l.R == nil) == (l.Err == nil) {
					t.Errorf("%s: leaf %q has R %v and Err %v", how, l.Entry, l.R != nil, l.Err)
				}
				if l.R == nil {
					return nil
				}
				n, _ := io.Copy(io.Discard, l.R)
				if bound := max(lim.MaxEntryBytes, int64(len(data))); n > bound {
					t.Errorf("%s: leaf %q gave %d bytes, over %d", how, l.Entry, n, bound)
				}
				return nil
			})
			if err != nil {
				t.Errorf("%s: Expand = %v, want only leaf errors", how, err)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Fatalf("%s: files left in the temporary folder: %v", how, left)
			}
		}
	})
}

// benchCorpus builds files CloudTrail-like JSON files of about 200 KB each, reproducibly.
func benchCorpus(files int) ([]ent, int64) {
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"GetObject", "PutObject", "ListBuckets", "AssumeRole", "DescribeInstances", "GetSecretValue"}
	var out []ent
	var total int64
	for i := range files {
		var b strings.Builder
		b.WriteString(`{"Records":[`)
		for j := 0; b.Len() < 200<<10; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"eventVersion":"1.09","eventTime":"2024-05-09T%02d:%02d:%02dZ","eventName":"%s","sourceIPAddress":"10.%d.%d.%d","eventID":"%016x%016x","userAgent":"aws-cli/2.%d"}`,
				rng.IntN(24), rng.IntN(60), rng.IntN(60), names[rng.IntN(len(names))], rng.IntN(256), rng.IntN(256), rng.IntN(256), rng.Uint64(), rng.Uint64(), rng.IntN(30))
		}
		b.WriteString("]}")
		out = append(out, ent{name: fmt.Sprintf("AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/09/f%03d.json", i), data: []byte(b.String())})
		total += int64(b.Len())
	}
	return out, total
}

func benchmarkExpand(b *testing.B, data []byte, plain int64) {
	b.SetBytes(plain) // MB/s of plain JSON produced
	b.ReportAllocs()
	for b.Loop() {
		var n int64
		err := Expand(context.Background(), "bench", bytes.NewReader(data), int64(len(data)), Limits{}, func(l Leaf) error {
			if l.Err != nil {
				return l.Err
			}
			k, err := io.Copy(io.Discard, l.R)
			n += k
			return err
		})
		if err != nil || n != plain {
			b.Fatalf("Expand = %v after %d of %d bytes", err, n, plain)
		}
	}
}

func BenchmarkExpandTarGz(b *testing.B) {
	files, plain := benchCorpus(50)
	benchmarkExpand(b, gz(b, tarOf(b, files...)), plain)
}

func BenchmarkExpandZip(b *testing.B) {
	files, plain := benchCorpus(50)
	benchmarkExpand(b, zipOf(b, files...), plain)
}

// sharedData is the real CloudTrail data beside the repository (see /work/shared/data/README.md).
func sharedData(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "data")
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		t.Skipf("real CloudTrail data not found at %s (it lives beside the repository, in shared/data): %v", dir, err)
	}
	return dir
}

func TestRealData(t *testing.T) {
	// Every file of the shared sets, found with Files, gzipped one by one, tarred, gzipped and
	// zipped, comes back out of Expand byte for byte under its own name.
	dir := sharedData(t)
	files, err := Files([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var entries []ent
	want := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, f.Path)
		name := filepath.ToSlash(rel) + ".gz"
		entries = append(entries, ent{name: name, data: gz(t, b)})
		want["logs.tar.gz!"+JoinEntry([]string{name})] = b
	}
	if len(entries) < 50 {
		t.Fatalf("found %d files in %s, expected the two data sets", len(entries), dir)
	}
	p := writeFile(t, "real.zip", zipOf(t, ent{name: "logs.tar.gz", data: gz(t, tarOf(t, entries...))}))
	gots := expandFile(t, p, Limits{})
	if len(gots) != len(want) {
		t.Fatalf("%d leaves, want %d", len(gots), len(want))
	}
	for _, g := range gots {
		if g.Err != nil || g.ReadErr != nil {
			t.Errorf("%s: %v %v", g.Entry, g.Err, g.ReadErr)
		} else if w, ok := want[g.Entry]; !ok || g.Data != string(w) {
			t.Errorf("%s: %d bytes, want %d (known entry: %v)", g.Entry, len(g.Data), len(w), ok)
		}
	}
}
