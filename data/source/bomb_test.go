package source

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"testing"
)

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// gzipZeros compresses n zero bytes into one gzip member without holding them in memory.
func gzipZeros(t testing.TB, n int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, io.LimitReader(zeros{}, n)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBombs(t *testing.T) {
	const expanded = 32 << 20 // what each bomb expands to
	gzBomb := gzipZeros(t, expanded)
	zipBomb := zipOf(t, ent{name: "zeros.json", data: bytes.Repeat([]byte{0}, expanded)})
	many := make([]ent, 16)
	for i := range many {
		many[i] = ent{name: fmt.Sprintf("%02d.zip", i), data: zipBomb, store: true}
	}
	tests := []struct {
		name     string
		data     []byte
		leaves   int   // leaves expected, each refused or cut with ErrTooLarge
		expanded int64 // what the bomb would expand to in all
	}{
		{"gzip bomb", gzBomb, 1, expanded},
		{"zip bomb", zipBomb, 1, expanded},
		{"gzip bomb in a tar in a zip", zipOf(t, ent{name: "x.tar", data: tarOf(t, ent{name: "b.json.gz", data: gzBomb}), store: true}), 1, expanded},
		{"zip bomb in a zip", zipOf(t, ent{name: "in.zip", data: zipBomb}), 1, expanded},
		{"zip of zip bombs", zipOf(t, many...), len(many), expanded * int64(len(many))},
		{"gzip bomb in a gzip", gz(t, gzBomb), 1, expanded},
		{"tar.gz bomb", func() []byte {
			// A tar of zeros: the tar stream itself is the bomb the gzip layer must stop.
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(tarOf(t, ent{name: "a.json", data: []byte(doc)}, ent{name: "zeros.json", data: bytes.Repeat([]byte{0}, expanded)}))
			zw.Close()
			return buf.Bytes()
		}(), 2, expanded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, "bomb", tc.data)
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var leaves, refused int
			var plain int64
			var m0, m1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m0)
			err = Expand(context.Background(), p, f, int64(len(tc.data)), Limits{}, func(l Leaf) error {
				leaves++
				if l.Err != nil {
					if errors.Is(l.Err, ErrTooLarge) {
						refused++
					}
					return nil
				}
				n, err := io.Copy(io.Discard, l.R)
				plain += n
				if errors.Is(err, ErrTooLarge) {
					refused++
				}
				return nil
			})
			runtime.ReadMemStats(&m1)
			if err != nil {
				t.Fatal(err)
			}
			// The tar.gz case has one honest small entry before the bomb.
			wantRefused := tc.leaves
			if tc.name == "tar.gz bomb" {
				wantRefused = 1
			}
			if leaves != tc.leaves || refused != wantRefused {
				t.Errorf("%d leaves, %d refused with ErrTooLarge; want %d, %d", leaves, refused, tc.leaves, wantRefused)
			}
			if bound := ratioCap(int64(len(tc.data)), DefaultMaxRatio); plain > bound {
				t.Errorf("read %d plain bytes from a %d-byte bomb, over its ratio bound %d", plain, len(tc.data), bound)
			}
			if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 4<<20 {
				t.Errorf("allocated %d bytes while expanding a bomb of %d bytes (limit 4 MiB)", alloc, tc.expanded)
			} else {
				t.Logf("allocated %d KiB, read %d KiB of %d MiB", alloc>>10, plain>>10, tc.expanded>>20)
			}
		})
	}
}
