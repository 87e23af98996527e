package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/trailscope/trailscope/app"
	"github.com/trailscope/trailscope/data/cloudtrail"
)

// The names shortened keep their ends in view: the account and region lead, the time and the
// random part that tell two files apart close.
var integrityColumns = []column[*app.IntegrityCheck]{
	{"Status", 90, func(c *app.IntegrityCheck) string { return c.Status }},
	{"Kind", 60, func(c *app.IntegrityCheck) string { return c.Kind }},
	{"File CloudTrail delivered", 490, func(c *app.IntegrityCheck) string { return shortMiddle(cloudtrail.BaseName(c.Object), 58) }},
	{"File read", 300, func(c *app.IntegrityCheck) string { return shortMiddle(c.File, 36) }},
	{"Listed by digest", 370, func(c *app.IntegrityCheck) string { return shortMiddle(cloudtrail.BaseName(c.Digest), 45) }},
}

// integrityMeaning says what each status means, under the list.
const integrityMeaning = "modified: the file's content hashes otherwise than its digest says · missing: a digest lists it, " +
	"the case never read it · ended: the last digest of a chain that stops hours before the other chains, or its " +
	"region's log files, do (the newest hours deleted, or validation turned off) · unlisted: a log file in hours the " +
	"digests cover that none lists (slipped in, or written by another trail to the same folder without validation) · " +
	"unhashed: read before Trailscope kept plain hashes, load it again · no key: a signature CloudTrail's public keys " +
	"were not at hand for. Signatures are checked for digests loaded from S3, which keep them from their metadata; " +
	"files on disk carry none."

// checkIntegrity checks the case's files against its CloudTrail digests in the background,
// saying how many files it has checked, and shows what it found. While it runs the button stops
// it: a year of an organisation's trail takes minutes.
func (fl *fileList) checkIntegrity() {
	if fl.stopCheck != nil {
		fl.stopCheck()
		return
	}
	ctx, cancel := context.WithCancel(fl.v.ctx)
	fl.stopCheck = cancel
	fl.verify.SetText("Stop checking")
	fl.verify.SetIcon(theme.MediaStopIcon())
	fl.status.SetText("Checking the files against the digests…")
	th := newThrottle(fl.v.s.b, 200*time.Millisecond, func(n int64) {
		fl.status.SetText(fmt.Sprintf("Checking the files against the digests… %s checked", count(n)))
	})
	var n atomic.Int64
	do(fl.v, func(context.Context) (app.IntegrityReport, error) {
		return fl.check(ctx, func(app.IntegrityCheck) error {
			th.push(n.Add(1))
			return ctx.Err()
		})
	}, func(rep app.IntegrityReport, err error) {
		th.stop()
		cancel()
		fl.stopCheck = nil
		fl.verify.SetText(checkLabel)
		fl.verify.SetIcon(theme.ConfirmIcon())
		fl.status.SetText("")
		switch {
		case errors.Is(err, context.Canceled):
			fl.status.SetText("Check stopped.")
		case err != nil:
			fl.v.s.showError("check the files against the digests", err)
		default:
			fl.checked = fl.v.showIntegrity(rep)
		}
	})
}

// checkLabel is the Files dialog's button that checks the case against its digests.
const checkLabel = "Check against digests"

// integrityView is an integrity check on show.
type integrityView struct {
	summary *widget.Label
	copy    *widget.Button
}

// showIntegrity shows an integrity check: its summary, and the files that fail it, the worst
// first (trailscope verify --all lists every file checked).
func (v *caseView) showIntegrity(rep app.IntegrityReport) *integrityView {
	if rep.Digests == 0 {
		dialog.ShowInformation("No digests to check against", rep.Summary(), v.s.win)
		return nil
	}
	checks := rep.Checks
	t := newColumnTable(integrityColumns, func() int { return len(checks) }, func(row int) (*app.IntegrityCheck, bool) {
		if row < len(checks) {
			return &checks[row], true
		}
		return nil, false
	}, func(_ int, c *app.IntegrityCheck) widget.Importance {
		switch c.Status {
		case app.IntegrityValid:
			return widget.MediumImportance
		case app.IntegrityUnhashed:
			return widget.WarningImportance
		}
		return widget.DangerImportance
	})
	summary := widget.NewLabel(rep.Summary())
	summary.Wrapping = fyne.TextWrapWord
	if rep.Problems() > 0 {
		summary.Importance = widget.DangerImportance
	} else {
		summary.Importance = widget.SuccessImportance
	}
	copyBtn := widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		v.s.app.Clipboard().SetContent(integrityText(rep))
	})
	meaning := widget.NewLabel(integrityMeaning)
	meaning.Wrapping = fyne.TextWrapWord
	meaning.TextStyle.Italic = true // LowImportance was too faint to read in the light theme
	var list fyne.CanvasObject = t
	if len(checks) == 0 {
		list = widget.NewLabel("Every file checked is as its digest says.")
	}
	body := container.NewBorder(container.NewBorder(nil, nil, nil, copyBtn, summary), meaning, nil, nil, list)
	d := dialog.NewCustom("Files checked against their CloudTrail digests", "Close", body, v.s.win)
	v.trackDialog(d, nil)
	d.Resize(fyne.NewSize(1400, 700))
	d.Show()
	return &integrityView{summary: summary, copy: copyBtn}
}

// integrityText is a check as text for the clipboard: the summary, then one line a file.
func integrityText(rep app.IntegrityReport) string {
	var b strings.Builder
	b.WriteString(rep.Summary() + "\n")
	for _, c := range rep.Checks {
		b.WriteString(strings.Join(c.Row(), "\t") + "\n")
	}
	return b.String()
}
