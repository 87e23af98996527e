package app

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trailscope/trailscope/data/finding"
	"github.com/trailscope/trailscope/data/store"
)

// SearchColumns are the columns a search lists as a table or CSV (the command line's contract).
var SearchColumns = []string{"event_time", "event_id", "event_source", "event_name", "region",
	"source_ip", "principal_arn", "error_code", "user_agent", "direction"}

// SearchRow is a match's cells in SearchColumns order.
func SearchRow(h *store.Hit) []string {
	return []string{h.Time.UTC().Format(time.RFC3339), h.EventID, h.EventSource, h.EventName, h.Region, h.SourceIP,
		h.PrincipalARN, h.ErrorCode, h.UserAgent, h.Direction}
}

// ExportFormat is how an export is written: CSV for a file named *.csv, else each event's raw
// JSON on a line of its own (as `trailscope search --format json` prints).
func ExportFormat(path string) string {
	if strings.EqualFold(filepath.Ext(path), ".csv") {
		return "csv"
	}
	return "json"
}

// Export writes every event matching f to path, newest first, in ExportFormat(path), and returns
// how many it wrote; progress (if set) gets the count so far now and then. The file appears whole
// or not at all: it is written beside path and renamed at the end, and removed on error or
// cancel, so an existing file of that name is only replaced by a finished export. Like the case
// file, it is readable by its owner only: it holds the events themselves.
func (c *Case) Export(ctx context.Context, f store.Filter, path string, progress func(n int64)) (n int64, err error) {
	err = writeWhole(path, func(w io.Writer) error {
		n, err = writeMatches(ctx, c, f, w, ExportFormat(path), progress)
		return err
	})
	return n, err
}

// writeWhole writes a file through write: beside path, renamed over it at the end, removed on
// error, and readable by its owner only.
func writeWhole(path string, write func(io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.part")
	if err != nil {
		return fmt.Errorf("export to %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("export to %s: %w", path, err)
	}
	err = write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("export to %s: %w", path, err)
	}
	return nil
}

// AnomalyColumns are the columns the anomalies listing has as a table or CSV (the command
// line's contract; verdict and note were added after the others, empty until an analyst
// gives them).
var AnomalyColumns = []string{"id", "risk", "direction", "window_start", "window_end", "entity_type", "entity", "events", "title",
	"verdict", "note"}

// AnomalyRow is an anomaly's cells in AnomalyColumns order.
func AnomalyRow(a *finding.Anomaly) []string {
	return []string{a.ID, strconv.Itoa(a.Risk), a.Direction, a.WindowStart.UTC().Format(time.RFC3339), a.WindowEnd.UTC().Format(time.RFC3339),
		a.EntityType, a.Entity, strconv.Itoa(len(a.EventIDs)), a.Title, a.Verdict, a.Note}
}

// ExportAnomalies writes anomalies to path: as CSV for a file named *.csv, with AnomalyColumns
// and then the confidence and every factor spelt out (the reasons a reader of the file needs
// without the case), else as JSON lines, each anomaly as `trailscope anomalies --format json`
// prints it. The file appears whole or not at all, readable by its owner only.
func ExportAnomalies(path string, as []finding.Anomaly) error {
	return writeWhole(path, func(w io.Writer) error {
		if ExportFormat(path) == "json" {
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			for i := range as {
				if err := enc.Encode(&as[i]); err != nil {
					return err
				}
			}
			return nil
		}
		cw := csv.NewWriter(w)
		if err := cw.Write(append(slices.Clone(AnomalyColumns), "confidence", "factors")); err != nil {
			return err
		}
		for i := range as {
			a := &as[i]
			if err := cw.Write(append(AnomalyRow(a), a.Confidence, factorsText(a.Factors))); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	})
}

// factorsText spells out an anomaly's factors on one line, strongest first:
// "source network: 203.0.113.7 (new; usually 10.0.3.0/24 …) · GetObject per 5 min: 212 (spike; 3.1)".
func factorsText(fs []finding.Factor) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprintf("%s: %v (%s; %v)", f.Name, f.Observed, f.Label, f.Baseline)
	}
	return strings.Join(parts, " · ")
}

// writeMatches streams the matches of f to w as CSV or raw JSON lines.
func writeMatches(ctx context.Context, c *Case, f store.Filter, w io.Writer, format string, progress func(int64)) (int64, error) {
	var n int64
	step := func() {
		n++
		if progress != nil && n%1000 == 0 {
			progress(n)
		}
	}
	if format == "csv" {
		cw := csv.NewWriter(w)
		if err := cw.Write(SearchColumns); err != nil {
			return 0, err
		}
		err := c.Search(ctx, f, 0, func(h store.Hit) error {
			step()
			return cw.Write(SearchRow(&h))
		})
		if err != nil {
			return n, err
		}
		cw.Flush()
		return n, cw.Error()
	}
	err := c.Search(ctx, f, 0, func(h store.Hit) error {
		step()
		if _, err := w.Write(h.Raw); err != nil {
			return err
		}
		_, err := w.Write([]byte{'\n'})
		return err
	})
	return n, err
}

// FileColumns are the columns of the list of files a case was loaded from (the command line's
// files listing and its export): for an auditor, what was read, the SHA-256 of the file as it is
// kept (its gzip included, so sha256sum of the file gives it), the bytes of JSON or CSV read
// from it, what became of it, and (added last) the SHA-256 of its plain content, gzip undone, as
// CloudTrail digests list it.
var FileColumns = []string{"path", "entry", "status", "format", "events", "added", "plain_bytes", "sha256", "reason", "loaded_at",
	"plain_sha256"}

// FileRow is a file's cells in FileColumns order.
func FileRow(f *store.FileRecord) []string {
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	return []string{f.Path, f.Entry, f.Status, f.Format, n(f.Events), n(f.Added), n(f.Size), f.SHA256, f.Reason, f.LoadedAt,
		f.PlainSHA256}
}

// Files calls fn with each file the case read (or tried to), in path order, optionally only
// those with a status (store.FileLoaded, FileSkipped, FileFailed).
func (c *Case) Files(ctx context.Context, status string, fn func(store.FileRecord) error) error {
	return c.st.Files(ctx, status, fn)
}

// ExportFiles writes the files the case read (with status, only those) to path as CSV with
// FileColumns, as Export writes: whole or not at all, readable by its owner only. It returns how
// many it wrote.
func (c *Case) ExportFiles(ctx context.Context, path, status string) (n int, err error) {
	err = writeWhole(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		if err := cw.Write(FileColumns); err != nil {
			return err
		}
		err := c.st.Files(ctx, status, func(f store.FileRecord) error {
			n++
			return cw.Write(FileRow(&f))
		})
		if err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	})
	return n, err
}
