package app

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trailscope/trailscope/data/finding"
	"github.com/trailscope/trailscope/data/store"
)

// TestExport: an export holds every match, newest first, as raw JSON lines or CSV; the file is
// the owner's only; a cancelled export leaves the file that was there, and no partial file.
func TestExport(t *testing.T) {
	c, _ := viewsCase(t)
	ctx := context.Background()
	f, err := Compile("sourceIPAddress:203.0.113.7", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	jsonPath := filepath.Join(dir, "out.jsonl")
	n, err := c.Export(ctx, f, jsonPath, nil)
	if err != nil || n != 5 {
		t.Fatalf("export JSON: %d events, %v; want the 5 from the address", n, err)
	}
	body, _ := os.ReadFile(jsonPath)
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	var ids []string
	for _, l := range lines {
		var e struct{ EventID string }
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("line %q is not an event: %v", l, err)
		}
		ids = append(ids, e.EventID)
	}
	if strings.Join(ids, ",") != "e08,e06,e04,e02,e00" {
		t.Errorf("exported %v, want newest first e08…e00", ids)
	}
	if fi, _ := os.Stat(jsonPath); fi.Mode().Perm() != 0o600 {
		t.Errorf("export mode %v, want 0600", fi.Mode().Perm())
	}

	csvPath := filepath.Join(dir, "out.CSV")
	if n, err := c.Export(ctx, f, csvPath, nil); err != nil || n != 5 {
		t.Fatalf("export CSV: %d, %v", n, err)
	}
	body, _ = os.ReadFile(csvPath)
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 6 || strings.Join(rows[0], ",") != strings.Join(SearchColumns, ",") || rows[1][1] != "e08" || rows[1][7] != "AccessDenied" {
		t.Fatalf("CSV export: %v, %q", err, rows)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Export(cancelled, f, csvPath, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled export: %v, want context.Canceled", err)
	}
	if again, _ := os.ReadFile(csvPath); !bytes.Equal(again, body) {
		t.Error("a cancelled export changed the file that was there")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*part")); len(left) > 0 {
		t.Errorf("partial files left behind: %v", left)
	}
	if _, err := c.Export(ctx, f, filepath.Join(dir, "no-such-dir", "x.csv"), nil); err == nil || !strings.Contains(err.Error(), "no-such-dir") {
		t.Errorf("export into a missing folder: %v; want an error naming the path", err)
	}
}

// TestExportAnomalies: anomalies go to CSV with their reasons spelt out, or to JSON lines that
// read back as the anomalies; the file is the owner's only; a folder that is not there is named.
func TestExportAnomalies(t *testing.T) {
	t0 := time.Date(2024, 5, 9, 3, 10, 0, 0, time.UTC)
	as := []finding.Anomaly{
		{ID: "a1", Risk: 9, Direction: "outbound", WindowStart: t0, WindowEnd: t0.Add(5 * time.Minute), EntityType: "principal",
			Entity: "arn:aws:sts::111122223333:assumed-role/web/i-1", Title: "Instance role used from a new address, \"quoted\"",
			Factors: []finding.Factor{{Name: "source network", Observed: "203.0.113.7", Baseline: "usually 10.0.3.0/24", Label: "new", Weight: 0.6},
				{Name: "GetObject per 5 min", Observed: 212.0, Baseline: 3.1, Label: "spike", Weight: 0.4}},
			EventIDs: []string{"e1", "e2"}, Score: 15.2, Confidence: "full"},
		{ID: "b2", Risk: 4, Direction: "inbound", WindowStart: t0, WindowEnd: t0.Add(5 * time.Minute), EntityType: "ip",
			Entity: "198.51.100.4", Title: "Address calling ConsoleLogin", Confidence: "lowered: short history"},
	}
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "anoms.csv")
	if err := ExportAnomalies(csvPath, as); err != nil {
		t.Fatal(err)
	}
	body, _ := os.ReadFile(csvPath)
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("CSV: %v, %q", err, rows)
	}
	if want := strings.Join(AnomalyColumns, ",") + ",confidence,factors"; strings.Join(rows[0], ",") != want {
		t.Errorf("CSV header %q, want %q", rows[0], want)
	}
	conf, factors := len(AnomalyColumns), len(AnomalyColumns)+1 // after the listing's columns
	if rows[1][0] != "a1" || rows[1][1] != "9" || rows[1][3] != "2024-05-09T03:10:00Z" || rows[1][7] != "2" || rows[1][8] != as[0].Title ||
		rows[1][factors] != "source network: 203.0.113.7 (new; usually 10.0.3.0/24) · GetObject per 5 min: 212 (spike; 3.1)" {
		t.Errorf("CSV row %q", rows[1])
	}
	if rows[2][conf] != "lowered: short history" || rows[2][factors] != "" {
		t.Errorf("CSV row without factors %q", rows[2])
	}
	if fi, _ := os.Stat(csvPath); fi.Mode().Perm() != 0o600 {
		t.Errorf("export mode %v, want 0600", fi.Mode().Perm())
	}

	jsonPath := filepath.Join(dir, "anoms.jsonl")
	if err := ExportAnomalies(jsonPath, as); err != nil {
		t.Fatal(err)
	}
	body, _ = os.ReadFile(jsonPath)
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("JSON lines: %d, want 2:\n%s", len(lines), body)
	}
	var back finding.Anomaly
	if err := json.Unmarshal([]byte(lines[0]), &back); err != nil || back.ID != "a1" || back.Risk != 9 || len(back.Factors) != 2 ||
		back.Factors[0].Observed != "203.0.113.7" || !back.WindowStart.Equal(t0) || len(back.EventIDs) != 2 {
		t.Errorf("first line reads back as %+v, %v", back, err)
	}
	if err := ExportAnomalies(filepath.Join(dir, "no-such-dir", "a.csv"), as); err == nil || !strings.Contains(err.Error(), "no-such-dir") {
		t.Errorf("export into a missing folder: %v; want an error naming the path", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*part")); len(left) > 0 {
		t.Errorf("partial files left behind: %v", left)
	}
}

// TestSearchAfter: reading a search page by page, each from where the last ended, gives the same
// events in the same order as reading it whole, ties in time included.
func TestSearchAfter(t *testing.T) {
	t0 := time.Date(2024, 5, 9, 20, 0, 0, 0, time.UTC)
	var recs []map[string]any
	for i := range 23 {
		// Three events share each second: ties that only the eventID orders.
		recs = append(recs, map[string]any{"eventID": fmt.Sprintf("e%02d", (i*7)%23), "eventTime": t0.Add(time.Duration(i/3) * time.Second).Format(time.RFC3339),
			"eventSource": "s3.amazonaws.com", "eventName": []string{"GetObject", "PutObject"}[i%2], "sourceIPAddress": "203.0.113.7",
			"userIdentity": map[string]any{"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/u"}})
	}
	c := caseOf(t, recs)
	ctx := context.Background()
	for _, q := range []string{"", "getobject", "eventName:PutObject", "eventTime<2024-05-09T20:00:05Z"} {
		f, err := Compile(q, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		var whole []string
		if err := c.Search(ctx, f, 0, func(h store.Hit) error { whole = append(whole, h.EventID); return nil }); err != nil {
			t.Fatal(err)
		}
		for _, page := range []int{1, 2, 4, 100} {
			var got []store.Hit
			if err := c.Search(ctx, f, page, func(h store.Hit) error { got = append(got, h); return nil }); err != nil {
				t.Fatal(err)
			}
			for rounds := 0; len(got) > 0; rounds++ {
				if rounds > len(whole) {
					t.Fatalf("%q in pages of %d: no end after %d pages", q, page, rounds)
				}
				n := len(got)
				if err := c.SearchAfter(ctx, f, got[n-1], page, func(h store.Hit) error { got = append(got, h); return nil }); err != nil {
					t.Fatal(err)
				}
				if len(got) == n {
					break
				}
				if len(got)-n > page {
					t.Fatalf("%q: a page of %d gave %d", q, page, len(got)-n)
				}
			}
			ids := make([]string, len(got))
			for i, h := range got {
				ids[i] = h.EventID
			}
			if strings.Join(ids, ",") != strings.Join(whole, ",") {
				t.Errorf("%q in pages of %d:\n %v\nwant\n %v", q, page, ids, whole)
			}
		}
	}
}

// TestExportFiles: the list of files the case read goes to CSV, the owner's only; a status
// keeps only those files.
func TestExportFiles(t *testing.T) {
	c, _ := viewsCase(t)
	ctx := context.Background()
	var loaded []store.FileRecord
	if err := c.Files(ctx, store.FileLoaded, func(f store.FileRecord) error { loaded = append(loaded, f); return nil }); err != nil || len(loaded) == 0 {
		t.Fatalf("files: %v, %d", err, len(loaded))
	}
	path := filepath.Join(t.TempDir(), "files.csv")
	n, err := c.ExportFiles(ctx, path, "")
	if err != nil || n != len(loaded) {
		t.Fatalf("export: %d, %v; want %d", n, err, len(loaded))
	}
	body, _ := os.ReadFile(path)
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil || len(rows) != n+1 || strings.Join(rows[0], ",") != strings.Join(FileColumns, ",") ||
		rows[1][0] != loaded[0].Path || rows[1][7] != loaded[0].SHA256 || len(rows[1][7]) != 64 {
		t.Errorf("files CSV: %v, %q", err, rows)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if n, err := c.ExportFiles(ctx, path, store.FileFailed); err != nil || n != 0 {
		t.Errorf("failed files: %d, %v; want none", n, err)
	}
}
