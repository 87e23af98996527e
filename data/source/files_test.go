package source

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestFiles(t *testing.T) {
	root := t.TempDir()
	mk := func(rel, content string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk("logs/b.json", "bb")
	mk("logs/a.json.gz", "a")
	mk("logs/.hidden/c.json", "ccc")
	mk("logs/deep/er/d.zip", "dddd")
	mk("other/e.json", "eeeee")
	link := func(target, rel string) {
		if err := os.Symlink(target, filepath.Join(root, rel)); err != nil {
			t.Skipf("symlinks unavailable: %v", err)
		}
	}
	link(filepath.Join(root, "other/e.json"), "logs/link.json") // to a file: followed
	link(filepath.Join(root, "other"), "logs/linkdir")          // to a folder inside a walk: not followed
	link(filepath.Join(root, "missing"), "logs/broken.json")    // broken: left out
	link(filepath.Join(root, "logs"), "logsalias")              // given directly: followed

	j := func(rel string) string { return filepath.Join(root, rel) }
	tests := []struct {
		name  string
		paths []string
		want  []string // paths relative to root
		sizes []int64
		err   string
	}{
		{
			name:  "folder walked recursively, hidden files and file symlinks included",
			paths: []string{j("logs")},
			want:  []string{"logs/.hidden/c.json", "logs/a.json.gz", "logs/b.json", "logs/deep/er/d.zip", "logs/link.json"},
			sizes: []int64{3, 1, 2, 4, 5},
		},
		{
			name:  "files and folders, duplicates removed, sorted",
			paths: []string{j("other/e.json"), j("other"), j("logs/b.json"), j("logs/../logs/b.json")},
			want:  []string{"logs/b.json", "other/e.json"},
			sizes: []int64{2, 5},
		},
		{
			name:  "symlinked folder given directly",
			paths: []string{j("logsalias/deep")},
			want:  []string{"logsalias/deep/er/d.zip"},
			sizes: []int64{4},
		},
		{
			name:  "symlinked root folder keeps the given name",
			paths: []string{j("logsalias")},
			want:  []string{"logsalias/.hidden/c.json", "logsalias/a.json.gz", "logsalias/b.json", "logsalias/deep/er/d.zip", "logsalias/link.json"},
			sizes: []int64{3, 1, 2, 4, 5},
		},
		{
			name:  "missing path is an error naming it",
			paths: []string{j("logs"), j("nope.json")},
			err:   j("nope.json"),
		},
		{
			name:  "nothing asked, nothing found",
			paths: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files, err := Files(tc.paths)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Files error %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			var sizes []int64
			for _, f := range files {
				rel, err := filepath.Rel(root, f.Path)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, filepath.ToSlash(rel))
				sizes = append(sizes, f.Size)
				if f.ModTime.IsZero() {
					t.Errorf("%s: zero ModTime", f.Path)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("files %q, want %q", got, tc.want)
			}
			if !reflect.DeepEqual(sizes, tc.sizes) {
				t.Errorf("sizes %v, want %v", sizes, tc.sizes)
			}
		})
	}
}
