// Package source finds and opens CloudTrail inputs: regular files on disk (walked recursively),
// gzip streams and zip / tar / tar.gz archives nested at any depth, and objects in S3 under the
// CloudTrail delivery layout. Everything is streamed with bounded memory, and archive entries are
// bounded in what they may expand to, so a hostile or broken input costs a reported error, never
// the machine.
package source

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// File is a regular file found under the paths given to Files.
type File struct {
	Path    string    // as reached from the given path (not resolved through symlinks)
	Size    int64     // in bytes
	ModTime time.Time // last modification
}

// Files lists the regular files under the given paths (files or folders, walked recursively,
// symlinks to files followed, hidden files included), sorted by path, de-duplicated. A path that
// does not exist is an error naming it.
//
// Symlinks to folders found inside a walk are not followed (they could loop); a symlink given
// directly as one of paths is. Devices, sockets, pipes and broken symlinks are left out.
func Files(paths []string) ([]File, error) {
	seen := make(map[string]bool)
	var out []File
	add := func(path string, fi fs.FileInfo) {
		key := path
		if abs, err := filepath.Abs(path); err == nil {
			key = abs
		}
		if seen[key] {
			return
		}
		seen[key] = true
		out = append(out, File{Path: path, Size: fi.Size(), ModTime: fi.ModTime()})
	}
	for _, p := range paths {
		p = filepath.Clean(p)
		fi, err := os.Stat(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("list %s: no such file or folder", p)
			}
			return nil, fmt.Errorf("list %s: %w", p, err)
		}
		switch {
		case fi.Mode().IsRegular():
			add(p, fi)
		case fi.IsDir():
			if err := walkDir(p, add); err != nil {
				return nil, err
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// walkDir adds the regular files under the folder root. When root itself is a symlink, the walk
// goes through its target but names files under root, as the user wrote it.
func walkDir(root string, add func(string, fs.FileInfo)) error {
	target := root
	if li, err := os.Lstat(root); err == nil && li.Mode()&fs.ModeSymlink != 0 {
		t, err := filepath.EvalSymlinks(root)
		if err != nil {
			return fmt.Errorf("list %s: %w", root, err)
		}
		target = t
	}
	return filepath.WalkDir(target, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("list %s: %w", path, err)
		}
		name := path
		if target != root {
			rel, rerr := filepath.Rel(target, path)
			if rerr != nil {
				return fmt.Errorf("list %s: %w", path, rerr)
			}
			name = filepath.Join(root, rel)
		}
		switch t := d.Type(); {
		case t.IsDir():
			return nil
		case t.IsRegular():
			fi, err := d.Info()
			if err != nil {
				return fmt.Errorf("list %s: %w", name, err)
			}
			add(name, fi)
		case t&fs.ModeSymlink != 0:
			fi, err := os.Stat(path)
			if err != nil {
				return nil // a broken link names nothing to read
			}
			if fi.Mode().IsRegular() {
				add(name, fi)
			}
		}
		return nil
	})
}
