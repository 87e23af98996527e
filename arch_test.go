package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/trailscope/trailscope/"

// TestArchitecture keeps the package arrows of DESIGN.md: data knows nothing of analytics, app
// or ui; analytics nothing of app or ui; only ui and main import Fyne; every package says what it
// is for in a doc comment.
func TestArchitecture(t *testing.T) {
	rules := []struct {
		dir       string
		forbidden []string
	}{
		{"data", []string{module + "analytics", module + "app", module + "ui", "fyne.io/"}},
		{"analytics", []string{module + "app", module + "ui", "fyne.io/", "database/sql", "modernc.org/sqlite"}},
		{"app", []string{module + "ui", "fyne.io/"}},
		{"assets", []string{module, "fyne.io/"}},
	}
	checked := 0
	for _, r := range rules {
		err := filepath.WalkDir(r.dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
				return err
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			checked++
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				for _, bad := range r.forbidden {
					if strings.HasPrefix(p, bad) {
						t.Errorf("%s imports %s: %s/ must not depend on it", path, p, r.dir)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked == 0 {
		t.Fatal("no Go files checked: is the test running from the repository root?")
	}
}

// TestPackageDocs fails when a package has no doc comment.
func TestPackageDocs(t *testing.T) {
	dirs := map[string]bool{}
	docs := map[string]bool{}
	for _, root := range []string{"app", "ui", "analytics", "data", "assets"} {
		filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			dir := filepath.Dir(path)
			dirs[dir] = true
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.PackageClauseOnly|parser.ParseComments)
			if err == nil && f.Doc != nil && strings.HasPrefix(f.Doc.Text(), "Package ") {
				docs[dir] = true
			}
			return nil
		})
	}
	for d := range dirs {
		if !docs[d] {
			t.Errorf("package %s has no doc comment (\"// Package x ...\")", d)
		}
	}
}
