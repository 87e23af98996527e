package app

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

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
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.part")
	if err != nil {
		return 0, fmt.Errorf("export to %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return 0, fmt.Errorf("export to %s: %w", path, err)
	}
	n, err = writeMatches(ctx, c, f, tmp, ExportFormat(path), progress)
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
		return n, fmt.Errorf("export to %s: %w", path, err)
	}
	return n, nil
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
