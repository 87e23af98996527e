package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trailscope/trailscope/data/finding"
	"github.com/trailscope/trailscope/data/store"
)

// TestReport: the report says what was examined, lists the verdicts with their notes and what
// waits for one, and every file with its hash; text from the case cannot change its layout.
func TestReport(t *testing.T) {
	c, _ := viewsCase(t)
	ctx := context.Background()
	as, err := c.Anomalies(ctx, store.AnomalyFilter{})
	if err != nil || len(as) == 0 {
		t.Fatalf("anomalies: %v, %d", err, len(as))
	}
	var buf bytes.Buffer
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	if err := c.Report(ctx, &buf, now); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"# Trailscope report: ", "Written 2026-11-29 12:00 UTC", "## What was examined",
		"No anomaly has a verdict yet.", "## Not reviewed, risk 7 and up (1)", "## Files", "| SHA-256 |"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	var sha string
	c.Files(ctx, store.FileLoaded, func(f store.FileRecord) error { sha = f.SHA256; return nil })
	if sha == "" || !strings.Contains(out, "`"+sha+"`") {
		t.Errorf("the report lacks the loaded file's hash %q", sha)
	}

	note := "see [here](http://evil.example) | *now*\nsecond line"
	if err := c.SetVerdict(ctx, as[0].ID, finding.VerdictMalicious, note); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "report.md")
	if err := c.ExportReport(ctx, path, now); err != nil {
		t.Fatal(err)
	}
	body, _ := os.ReadFile(path)
	out = string(body)
	if !strings.Contains(out, "### Malicious: part of an intrusion (1)") || !strings.Contains(out, "## Not reviewed, risk 7 and up (0)") ||
		!strings.Contains(out, "| `"+as[0].ID+"` |") {
		t.Errorf("the verdict is not reported:\n%s", out)
	}
	if !strings.Contains(out, `see \[here\](http://evil.example) \| \*now\* second line`) || strings.Contains(out, "[here]") {
		t.Errorf("the note is not escaped onto one line:\n%s", out)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("report mode %v, want 0600", fi.Mode().Perm())
	}

	// As a page: headings and tables rendered, the note still text (no link, no markup).
	page := filepath.Join(t.TempDir(), "report.html")
	if err := c.ExportReport(ctx, page, now); err != nil {
		t.Fatal(err)
	}
	body, _ = os.ReadFile(page)
	out = string(body)
	for _, want := range []string{"<!DOCTYPE html>", "<h2>What was examined</h2>", "<table>", "<td><code>" + as[0].ID + "</code></td>",
		"<td>see [here](http://evil.example) | *now* second line</td>"} {
		if !strings.Contains(out, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(out, "<a ") || strings.Contains(out, "evil.example\"") {
		t.Errorf("the note became markup:\n%s", out)
	}
	if fi, _ := os.Stat(page); fi.Mode().Perm() != 0o600 {
		t.Errorf("page mode %v, want 0600", fi.Mode().Perm())
	}
}
