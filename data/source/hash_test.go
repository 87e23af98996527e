package source

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"
)

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestLeafSHA256 checks that a leaf's digest is that of its file as stored, or of its archive
// entry as extracted, before gzip: what an auditor gets from sha256sum. Some leaves are left
// half read, whose digest must still cover all of their bytes.
func TestLeafSHA256(t *testing.T) {
	plain := []byte(doc)
	inner := gz(t, plain)
	tgz := gz(t, tarOf(t, ent{name: "a/1.json.gz", data: inner}, ent{name: "a/2.json", data: plain}))
	zipped := zipOf(t, ent{name: "x.json.gz", data: inner}, ent{name: "y.json", data: plain, store: true})
	for _, tt := range []struct {
		name   string
		file   []byte
		sums   map[string]string // entry → digest
		unread bool              // read only the first byte of each leaf
	}{
		{"plain", plain, map[string]string{"": hexSum(plain)}, false},
		{"gzip", inner, map[string]string{"": hexSum(inner)}, false},
		{"gzip half read", inner, map[string]string{"": hexSum(inner)}, true},
		{"tar.gz", tgz, map[string]string{"a/1.json.gz": hexSum(inner), "a/2.json": hexSum(plain)}, false},
		{"tar.gz half read", tgz, map[string]string{"a/1.json.gz": hexSum(inner), "a/2.json": hexSum(plain)}, true},
		{"zip", zipped, map[string]string{"x.json.gz": hexSum(inner), "y.json": hexSum(plain)}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[string]string{}
			err := Expand(context.Background(), "f", bytes.NewReader(tt.file), int64(len(tt.file)), Limits{}, func(l Leaf) error {
				if l.Err != nil {
					t.Fatalf("leaf %q: %v", l.Entry, l.Err)
				}
				var err error
				if tt.unread {
					_, err = l.R.Read(make([]byte, 1))
				} else {
					_, err = io.Copy(io.Discard, l.R)
				}
				if err != nil {
					t.Fatal(err)
				}
				if seen[l.Entry], err = l.SHA256(); err != nil {
					t.Fatal(err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(seen) != len(tt.sums) {
				t.Fatalf("leaves %v, want %v", seen, tt.sums)
			}
			for entry, want := range tt.sums {
				if seen[entry] != want {
					t.Errorf("%q: SHA-256 %s, want %s", entry, seen[entry], want)
				}
			}
		})
	}
}
