package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/trailscope/trailscope/app"
	"github.com/trailscope/trailscope/data/ingest"
	"github.com/trailscope/trailscope/data/store"
)

// Source kinds offered on the Sources screen; each has its own form. The last one chosen is
// kept in the preferences (prefSourceKind).
const (
	kindDisk       = "Disk: files, folders, archives"
	kindS3         = "Amazon S3 bucket"
	prefSourceKind = "sources.kind"
)

// sources is the import screen: pick a source kind, fill its form, watch the load, read the
// summary. Analysis follows a load by itself.
type sources struct {
	v       *caseView
	content fyne.CanvasObject

	kind     *widget.RadioGroup
	forms    map[string]fyne.CanvasObject
	formBox  *fyne.Container
	pickFile *widget.Button
	pickDir  *widget.Button
	s3       *s3Form

	info  *widget.Label // what the case holds
	files *fileList     // the list of the case's files, once shown

	job       *fyne.Container
	jobTitle  *widget.Label
	bar       *widget.ProgressBar
	stats     *widget.Label
	cancelBtn *widget.Button
	summary   *widget.Label
	// After an import that brought digests, the case checked against them, and a button that
	// shows the check.
	integrity     *widget.Label
	integrityShow *widget.Button
	notLoaded     []ingest.FileResult // the last import's failed files, then its skipped ones
	failList      *widget.List
	failBox       *fyne.Container

	anaLabel *widget.Label
	anaBar   *widget.ProgressBar

	running bool
	cancel  context.CancelFunc
	updates int // progress updates applied, for tests

	// The question asked before logs go into the demo case, while it is shown.
	demoAsk                 dialog.Dialog
	demoHere, demoElsewhere *widget.Button
}

func newSources(v *caseView) *sources {
	s := &sources{v: v, forms: map[string]fyne.CanvasObject{}}
	s.pickFile = widget.NewButtonWithIcon("Import files or archives…", theme.FileIcon(), s.chooseFiles)
	s.pickDir = widget.NewButtonWithIcon("Import a folder…", theme.FolderOpenIcon(), s.chooseFolder)
	drop := widget.NewLabel("…or drop files, folders or archives (.json, .json.gz, .zip, .tar.gz) onto this window. " +
		"Formats are recognised by content: S3 delivery files, arrays, JSON Lines, lookup-events output, " +
		"CloudWatch Logs and EventBridge exports, CloudTrail Lake CSV, and Splunk or Elasticsearch exports that keep the raw event.")
	drop.Wrapping = fyne.TextWrapWord
	s.forms[kindDisk] = container.NewVBox(container.NewHBox(s.pickFile, s.pickDir), drop)
	s.s3 = newS3Form(s)
	s.forms[kindS3] = s.s3.content
	s.formBox = container.NewStack(s.forms[kindDisk])
	prefs := v.s.app.Preferences()
	s.kind = widget.NewRadioGroup([]string{kindDisk, kindS3}, func(k string) {
		if f, ok := s.forms[k]; ok {
			s.formBox.Objects = []fyne.CanvasObject{f}
			s.formBox.Refresh()
			prefs.SetString(prefSourceKind, k) // who loads from S3 does so each time
		}
	})
	s.kind.Horizontal = true
	s.kind.Required = true
	s.kind.SetSelected(prefs.StringWithFallback(prefSourceKind, kindDisk))

	s.info = widget.NewLabel("")
	s.info.Wrapping = fyne.TextWrapWord // five accounts made it wider than a laptop's screen
	s.jobTitle = bold("")
	s.bar = widget.NewProgressBar()
	s.stats = widget.NewLabel("")
	s.stats.Wrapping = fyne.TextWrapWord // what it counts grows with the load
	s.cancelBtn = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), s.cancelImport)
	s.cancelBtn.Importance = widget.DangerImportance
	s.summary = widget.NewLabel("")
	s.summary.Wrapping = fyne.TextWrapWord
	s.failList = widget.NewList(func() int { return len(s.notLoaded) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			f := s.notLoaded[id]
			where := f.Path
			if f.Entry != "" {
				where += " ! " + f.Entry
			}
			o.(*widget.Label).SetText(f.Status + ": " + where + " — " + f.Reason)
		})
	s.failBox = container.NewBorder(bold("Files not loaded"), nil, nil, nil, s.failList)
	s.failBox.Hide()
	s.integrity = widget.NewLabel("")
	s.integrity.Wrapping = fyne.TextWrapWord
	s.integrityShow = widget.NewButtonWithIcon("Show the check", theme.ConfirmIcon(), nil)
	s.integrityShow.Hide()
	s.job = container.NewVBox(s.jobTitle, container.NewBorder(nil, nil, nil, s.cancelBtn, s.bar), s.stats, s.summary,
		container.NewBorder(nil, nil, nil, s.integrityShow, s.integrity))
	s.job.Hide()

	s.anaLabel = widget.NewLabel("")
	s.anaLabel.Wrapping = fyne.TextWrapWord
	s.anaBar = widget.NewProgressBar()
	s.anaBar.Hide()

	head := widget.NewLabelWithStyle("Sources", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	filesBtn := widget.NewButtonWithIcon("Files…", theme.ListIcon(), s.showFiles)
	top := container.NewVBox(head, container.NewBorder(nil, nil, nil, container.NewVBox(filesBtn), s.info), widget.NewSeparator(), bold("Add data from"), s.kind, s.formBox,
		widget.NewSeparator(), s.job, s.anaLabel, s.anaBar)
	s.content = container.NewBorder(top, nil, nil, nil, s.failBox)
	return s
}

// refreshInfo shows what the case holds.
func (s *sources) refreshInfo() {
	do(s.v, func(ctx context.Context) (store.Info, error) { return s.v.c.Info(ctx) }, func(in store.Info, err error) {
		if err != nil {
			s.info.SetText("Could not read the case: " + err.Error())
			return
		}
		if in.Events == 0 && in.FilesLoaded+in.FilesSkipped+in.FilesFailed == 0 {
			s.info.SetText("This case is empty: add CloudTrail logs below.")
			return
		}
		span := "no events yet"
		if in.FirstEvent != nil {
			span = in.FirstEvent.Format("2006-01-02 15:04") + " – " + in.LastEvent.Format("2006-01-02 15:04") + " UTC"
		}
		s.info.SetText(fmt.Sprintf("This case holds %s (%s) from %s loaded; %d skipped, %d failed. Accounts: %s. Regions: %d.",
			counted(in.Events, "event", "events"), span, counted(in.FilesLoaded, "file", "files"), in.FilesSkipped, in.FilesFailed,
			listOrNone(in.Accounts), len(in.Regions)))
	})
}

func listOrNone(v []string) string {
	if len(v) == 0 {
		return "none"
	}
	if len(v) > 4 {
		return strings.Join(v[:4], ", ") + fmt.Sprintf(" and %d more", len(v)-4)
	}
	return strings.Join(v, ", ")
}

func (s *sources) chooseFiles() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		path := r.URI().Path()
		r.Close()
		s.startImport([]string{path})
	}, s.v.s.win)
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

func (s *sources) chooseFolder() {
	d := dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
		if err != nil || u == nil {
			return
		}
		s.startImport([]string{u.Path()})
	}, s.v.s.win)
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// importSet is what one import loads: paths on disk, or s3:// URLs with the S3 settings that
// apply to them.
type importSet struct {
	args []string
	s3   app.S3Source
}

// name says what is imported, for the screen.
func (in importSet) name() string {
	if len(in.args) > 1 {
		return fmt.Sprintf("%s and %d more", in.args[0], len(in.args)-1)
	}
	return in.args[0]
}

// startImport loads paths into the case, as start does.
func (s *sources) startImport(paths []string) { s.start(importSet{args: paths}) }

// start loads what in names into the case in the background, with progress and a Cancel
// button; a successful load is followed by analysis. Into the demo case, it asks first.
func (s *sources) start(in importSet) {
	if s.v.demo && !s.running {
		s.askDemoImport(in)
		return
	}
	s.importNow(in)
}

// askDemoImport offers a new case for logs chosen while the demo case is open: mixed into it,
// an analyst's logs would sit beside generated attacks, under the banner that says none of it
// is real. Importing into the demo case stays possible (a trainer may add a detonation).
func (s *sources) askDemoImport(in importSet) {
	msg := widget.NewLabel("This is the demo case: its events and attacks are generated. " +
		"Your logs belong in a case of their own, where nothing generated can be taken for them.")
	msg.Wrapping = fyne.TextWrapWord
	var d *dialog.CustomDialog
	s.demoElsewhere = widget.NewButtonWithIcon("Into a new case…", theme.DocumentCreateIcon(), func() {
		d.Hide()
		s.v.s.newCaseDialogThen(in)
	})
	s.demoElsewhere.Importance = widget.HighImportance
	s.demoHere = widget.NewButton("Into the demo case", func() {
		d.Hide()
		s.importNow(in)
	})
	cancel := widget.NewButton("Cancel", func() { d.Hide() })
	d = dialog.NewCustomWithoutButtons("Import into the demo case?", msg, s.v.s.win)
	d.SetButtons([]fyne.CanvasObject{cancel, s.demoHere, s.demoElsewhere})
	d.SetOnClosed(func() { s.demoAsk = nil })
	d.Resize(fyne.NewSize(620, 180))
	s.demoAsk = d
	d.Show()
}

func (s *sources) importNow(in importSet) {
	if s.running {
		dialog.ShowInformation("Import running", "Wait for the running import to end, or cancel it first.", s.v.s.win)
		return
	}
	s.running, s.v.wrote = true, true
	s.setStarters(false)
	s.cancelBtn.Enable()
	s.notLoaded = nil
	s.failBox.Hide()
	s.summary.SetText("")
	s.integrity.SetText("")
	s.integrityShow.Hide()
	s.bar.SetValue(0)
	s.stats.SetText("Looking for files…")
	if slices.ContainsFunc(in.args, app.IsS3) {
		s.stats.SetText("Listing the bucket…")
	}
	s.jobTitle.SetText("Importing " + in.name())
	s.job.Show()

	ctx, cancel := context.WithCancel(s.v.ctx)
	s.cancel = cancel
	th := newThrottle(s.v.s.b, 150*time.Millisecond, s.showProgress)
	do(s.v, func(context.Context) (ingest.Summary, error) {
		defer cancel()
		return s.v.c.IngestSources(ctx, in.args, in.s3, th.push)
	}, func(sum ingest.Summary, err error) {
		th.stop()
		s.finish(in, sum, err)
	})
}

// setStarters enables or disables the buttons that start an import.
func (s *sources) setStarters(on bool) {
	for _, b := range []*widget.Button{s.pickFile, s.pickDir, s.s3.load} {
		if on {
			b.Enable()
		} else {
			b.Disable()
		}
	}
}

// showProgress draws one progress report.
func (s *sources) showProgress(p ingest.Progress) {
	s.updates++
	if p.Phase == ingest.PhaseListing {
		s.stats.SetText(fmt.Sprintf("Listing the bucket · %s found (%s) · %s",
			counted(int64(p.FilesTotal), "file", "files"), app.ByteSize(p.BytesTotal), p.Elapsed.Round(time.Second)))
		s.v.setStatus("Listing the bucket: "+counted(int64(p.FilesTotal), "file", "files"), 0)
		return
	}
	frac := progressFraction(p)
	s.bar.SetValue(frac)
	phase := "Loading"
	switch p.Phase {
	case "sorting":
		phase = "Building the column indexes"
	case "indexing":
		phase = "Building the search index"
	}
	s.stats.SetText(fmt.Sprintf("%s · files %d / %d · events %s (%s new) · %s events/s · errors %d",
		phase, p.FilesDone, p.FilesTotal, count(p.Events), count(p.Added), count(int64(p.Rate())), p.Failed))
	s.v.setStatus(fmt.Sprintf("Importing: %s events", count(p.Events)), frac)
}

// progressFraction is how far a load is, for its progress bar: the full-text build by events
// indexed, the load by bytes read. Bytes run ahead of the decoding, and for a zip inside another
// archive, which is copied out whole before its entries are read, far ahead: the bar stays short
// of full until the last file is done.
func progressFraction(p ingest.Progress) float64 {
	switch {
	case p.Phase == "indexing" && p.IndexTotal() > 0:
		return min(float64(p.Indexed)/float64(p.IndexTotal()), 1)
	case p.BytesTotal > 0:
		frac := min(float64(p.BytesRead)/float64(p.BytesTotal), 1)
		if p.Phase == "loading" && p.FilesDone < p.FilesTotal {
			frac = min(frac, 0.99)
		}
		return frac
	}
	return 0
}

// finish shows the summary of a load and starts the analysis.
func (s *sources) finish(in importSet, sum ingest.Summary, err error) {
	s.running = false
	s.cancel = nil
	s.setStarters(true)
	s.cancelBtn.Disable()
	s.v.setStatus("", 0)
	s.notLoaded = append(slices.Clip(sum.Failed), sum.Skipped...)
	if len(s.notLoaded) > 0 {
		s.failBox.Show()
	}
	s.failList.Refresh()
	counts := fmt.Sprintf("%s added, %s, %s loaded, %d skipped, %d failed.",
		counted(sum.Added, "event", "events"), counted(sum.Duplicates, "duplicate", "duplicates"),
		counted(int64(sum.Loaded), "file", "files"), len(sum.Skipped), len(sum.Failed))
	switch {
	case errors.Is(err, context.Canceled):
		s.jobTitle.SetText("Import cancelled")
		s.stats.SetText("") // not "Cancelling…" any more
		s.summary.SetText("Cancelled. What was committed before the cancel stays in the case; importing the same files again adds only what is missing. " + counts)
	case err != nil:
		s.jobTitle.SetText("Import failed")
		s.summary.SetText(err.Error())
	default:
		s.jobTitle.SetText("Import finished")
		s.bar.SetValue(1)
		done := fmt.Sprintf("Done in %s: %s", sum.LoadTime.Round(100*time.Millisecond), counts)
		switch {
		case sum.Files() == 0 && slices.ContainsFunc(in.args, app.IsS3):
			done = "Nothing to import: no file found in " + in.name() +
				" for the days, accounts and CloudTrail regions asked for. List says what a bucket holds; Buckets… names its accounts."
		case sum.Files() == 0:
			done = "Nothing to import: no file found in " + in.name() + "."
		}
		s.summary.SetText(done)
		if sum.Digests > 0 {
			s.checkIntegrity()
		}
	}
	s.refreshInfo()
	if sum.Added > 0 {
		s.v.analyze()
	}
}

// checkIntegrity checks the case against its CloudTrail digests after an import that brought
// some, and says what it found: a log file changed, deleted or slipped in is what an auditor
// must hear first.
func (s *sources) checkIntegrity() {
	s.integrity.Importance = widget.MediumImportance
	s.integrity.SetText("Checking the files against the CloudTrail digests…")
	do(s.v, func(ctx context.Context) (app.IntegrityReport, error) {
		return s.v.c.CheckIntegrity(ctx, nil)
	}, func(rep app.IntegrityReport, err error) {
		if err != nil {
			s.integrity.Importance = widget.DangerImportance
			s.integrity.SetText("Could not check the files against the digests: " + err.Error())
			return
		}
		s.integrity.Importance = widget.SuccessImportance
		if rep.Problems() > 0 {
			s.integrity.Importance = widget.DangerImportance
		}
		s.integrity.SetText("Integrity: " + rep.Summary())
		s.integrityShow.OnTapped = func() { s.v.showIntegrity(rep) }
		s.integrityShow.Show()
	})
}

func (s *sources) cancelImport() {
	if s.cancel != nil {
		s.cancel()
		s.cancelBtn.Disable()
		s.stats.SetText("Cancelling…")
	}
}

// analysisProgress shows the running analysis.
func (s *sources) analysisProgress(text string, frac float64) {
	s.anaLabel.SetText(text)
	s.anaBar.SetValue(frac)
	s.anaBar.Show()
}

// analysisDone shows how the analysis ended.
func (s *sources) analysisDone(text string) {
	s.anaLabel.SetText(text)
	s.anaBar.Hide()
}
