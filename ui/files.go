package ui

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/trailscope/trailscope/app"
	"github.com/trailscope/trailscope/data/store"
)

// maxFileRows bounds the files the list holds in memory (a year of an organisation's logs is
// hundreds of thousands); the export writes every one.
var maxFileRows = 50000

// File statuses as the list's filter names them, and the store's status for each.
var fileFilters = []struct{ label, status string }{
	{"All", ""}, {"Loaded", store.FileLoaded}, {"Skipped", store.FileSkipped}, {"Failed", store.FileFailed},
}

var fileColumns = []column[*store.FileRecord]{
	{"Status", 80, func(f *store.FileRecord) string { return f.Status }},
	{"File", 460, func(f *store.FileRecord) string { return shortMiddle(f.Name(), 58) }},
	{"Events", 80, func(f *store.FileRecord) string { return count(f.Events) }},
	{"Added", 80, func(f *store.FileRecord) string { return count(f.Added) }},
	{"Format", 90, func(f *store.FileRecord) string { return f.Format }},
	{"SHA-256 of the file as kept", 520, func(f *store.FileRecord) string { return f.SHA256 }},
	{"Reason", 300, func(f *store.FileRecord) string { return f.Reason }},
}

// shortMiddle shortens s to about max characters in its middle, where a log file's path
// matters least: its bucket or folder and its name stay in view.
func shortMiddle(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	head := max / 3
	return string(r[:head]) + "…" + string(r[len(r)-(max-head-1):])
}

// fileList is the dialog listing the files the case was read from: what became of each, its
// events, and the SHA-256 of the file as kept (what sha256sum prints for it), for an auditor's
// record of what was examined; a filter by status, and an export of the list to CSV.
type fileList struct {
	v         *caseView
	filter    *widget.RadioGroup
	status    *widget.Label
	table     *keyTable
	export    *widget.Button
	verify    *widget.Button
	checked   *integrityView     // the last check against the digests, when it found digests
	stopCheck context.CancelFunc // stops the check under way
	rows      []store.FileRecord
	gen       int

	// check checks the case against its digests (app.Case.CheckIntegrity; a test's stand-in
	// waits to be stopped, which a real check of a small case never does).
	check func(ctx context.Context, each func(app.IntegrityCheck) error) (app.IntegrityReport, error)
}

func (s *sources) showFiles() {
	fl := &fileList{v: s.v, check: s.v.c.CheckIntegrity}
	labels := make([]string, len(fileFilters))
	for i, f := range fileFilters {
		labels[i] = f.label
	}
	fl.filter = widget.NewRadioGroup(labels, func(string) { fl.load() })
	fl.filter.Horizontal = true
	fl.filter.Required = true
	fl.status = widget.NewLabel("")
	fl.table = newColumnTable(fileColumns, func() int { return len(fl.rows) }, func(row int) (*store.FileRecord, bool) {
		if row < len(fl.rows) {
			return &fl.rows[row], true
		}
		return nil, false
	}, func(_ int, f *store.FileRecord) widget.Importance {
		if f.Status == store.FileFailed {
			return widget.DangerImportance
		}
		return widget.MediumImportance
	})
	// Choosing a file copies its name and hash, for a report.
	fl.table.OnSelected = func(id widget.TableCellID) {
		fl.table.Unselect(id)
		if id.Row < len(fl.rows) {
			f := &fl.rows[id.Row]
			fl.v.s.app.Clipboard().SetContent(f.SHA256 + "  " + f.Name())
			fl.status.SetText("Copied the hash and name of " + shortMiddle(f.Name(), 60))
		}
	}
	fl.export = widget.NewButtonWithIcon("Export list…", theme.DownloadIcon(), fl.chooseExport)
	fl.verify = widget.NewButtonWithIcon(checkLabel, theme.ConfirmIcon(), fl.checkIntegrity)
	top := container.NewBorder(nil, nil, nil, container.NewHBox(fl.verify, fl.export), container.NewHBox(fl.filter, fl.status))
	d := dialog.NewCustom("Files in this case", "Close", container.NewBorder(top, nil, nil, nil, fl.table), s.v.s.win)
	s.v.trackDialog(d, func() { // a check under way has no one to show its result to
		if fl.stopCheck != nil {
			fl.stopCheck()
		}
	})
	d.Resize(fyne.NewSize(1300, 700))
	fl.filter.SetSelected("All") // loads
	d.Show()
	s.files = fl
}

// statusOf is the store's status the filter chose.
func (fl *fileList) statusOf() string {
	for _, f := range fileFilters {
		if f.label == fl.filter.Selected {
			return f.status
		}
	}
	return ""
}

// load reads the files the filter chose, in the background.
func (fl *fileList) load() {
	fl.gen++
	gen, status := fl.gen, fl.statusOf()
	fl.status.SetText("Reading…")
	type listed struct {
		rows []store.FileRecord
		more bool
	}
	errFull := errors.New("list full")
	do(fl.v, func(ctx context.Context) (listed, error) {
		var l listed
		err := fl.v.c.Files(ctx, status, func(f store.FileRecord) error {
			if len(l.rows) == maxFileRows {
				l.more = true
				return errFull
			}
			l.rows = append(l.rows, f)
			return nil
		})
		if errors.Is(err, errFull) {
			err = nil
		}
		return l, err
	}, func(l listed, err error) {
		if gen != fl.gen {
			return
		}
		if err != nil {
			fl.status.SetText("Could not read the list: " + err.Error())
			return
		}
		fl.rows = l.rows
		text := counted(int64(len(l.rows)), "file", "files")
		if l.more {
			text = fmt.Sprintf("the first %s; the export holds them all", text)
		}
		fl.status.SetText(text)
		fl.table.Refresh()
		fl.table.ScrollToTop()
	})
}

// chooseExport asks where to write the list (with the filter's status) as CSV.
func (fl *fileList) chooseExport() {
	status := fl.statusOf()
	askSavePath(fl.v.s.win, "trailscope-files.csv", func(path string) { fl.exportTo(path, status) })
}

// exportTo writes the list to path; a failed export takes away the empty file the save dialog
// made.
func (fl *fileList) exportTo(path, status string) {
	fl.status.SetText("Exporting…")
	do(fl.v, func(ctx context.Context) (int, error) {
		n, err := fl.v.c.ExportFiles(ctx, path, status)
		if err != nil {
			dropEmpty(path)
		}
		return n, err
	}, func(n int, err error) {
		if err != nil {
			fl.v.s.showError("export the list of files", err)
			fl.status.SetText("")
			return
		}
		fl.status.SetText(fmt.Sprintf("Exported %s to %s.", counted(int64(n), "file", "files"), path))
	})
}

// chooseReport asks where to write the case's report, as Markdown (ext ".md") or a web page
// (".html"), then writes it.
func (v *caseView) chooseReport(ext string) {
	name := strings.TrimSuffix(filepath.Base(v.c.Path()), filepath.Ext(v.c.Path())) + "-report" + ext
	askSavePath(v.s.win, name, v.writeReport)
}

// writeReport writes the case's report to path in the background; a failed one takes away the
// empty file the save dialog made.
func (v *caseView) writeReport(path string) {
	v.setStatus("Writing the report…", 0)
	do(v, func(ctx context.Context) (struct{}, error) {
		err := v.c.ExportReport(ctx, path, time.Now())
		if err != nil {
			dropEmpty(path)
		}
		return struct{}{}, err
	}, func(_ struct{}, err error) {
		v.setStatus("", 0)
		if err != nil {
			v.s.showError("write the report", err)
			return
		}
		dialog.ShowInformation("Report written", "The case's report is in "+path+
			" (what was examined, the verdicts, what waits, rule matches, the check against the digests, files and their hashes).", v.s.win)
		v.reportWritten = path
	})
}
