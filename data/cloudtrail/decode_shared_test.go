package cloudtrail

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sharedData is the folder of real CloudTrail data beside the repository (see its README).
func sharedData(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(repoRoot, "..", "shared", "data")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("real data not found at %s (only present beside the project's working copy): %v", dir, err)
	}
	return dir
}

// TestDecodeSharedData decodes every file of the two public data sets and compares each
// record with the original element as encoding/json reads it.
func TestDecodeSharedData(t *testing.T) {
	root := sharedData(t)
	sets := []struct {
		dir     string
		pattern string
		format  Format
		files   int
		events  int
		refs    func(testing.TB, []byte) []any
	}{
		// Counts from shared/data/README.md.
		{dir: "invictus-aws-dataset", pattern: "*.json", format: FormatRecords, files: 55, events: 2900, refs: wantRecords},
		{dir: "stratus-detonations", pattern: "aws.*.json", format: FormatArray, files: 35, events: 310, refs: wantArray},
	}
	for _, set := range sets {
		t.Run(set.dir, func(t *testing.T) {
			files, err := filepath.Glob(filepath.Join(root, set.dir, set.pattern))
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != set.files {
				t.Fatalf("%d files match %s, want %d", len(files), set.pattern, set.files)
			}
			total := 0
			for _, path := range files {
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				recs, st, err := decodeAll(t, bytes.NewReader(data))
				if err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				if st.Format != set.format || st.Skipped != 0 || st.Events != len(recs) {
					t.Errorf("%s: %+v", path, st)
				}
				want := set.refs(t, data)
				if len(want) != len(recs) {
					t.Fatalf("%s: %d records, encoding/json finds %d", path, len(recs), len(want))
				}
				for i, r := range recs {
					checkCompact(t, r.Raw)
					if !reflect.DeepEqual(unmarshalAny(t, r.Raw), want[i]) {
						t.Fatalf("%s: record %d does not parse equal to the original", path, i)
					}
					if _, err := Extract(r.Raw); err != nil {
						t.Errorf("%s: record %d: Extract: %v", path, i, err)
					}
				}
				total += len(recs)
			}
			if total != set.events {
				t.Errorf("%d events in %s, want %d", total, set.dir, set.events)
			}
		})
	}

	rejects := []string{"invictus-aws-dataset/LICENSE", "stratus-detonations/LICENSE", "stratus-detonations/techniques.json"}
	for _, name := range rejects {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(filepath.Join(root, name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			n := 0
			format, err := Decode(f, func(Record) error { n++; return nil })
			if !errors.Is(err, ErrNotCloudTrail) || n != 0 || format != "" {
				t.Fatalf("Decode = %q, %v with %d records; want ErrNotCloudTrail and nothing", format, err, n)
			}
			if !strings.Contains(err.Error(), ": ") {
				t.Errorf("error %q does not say what was seen", err)
			}
		})
	}
}
