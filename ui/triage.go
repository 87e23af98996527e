package ui

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/trailscope/trailscope/data/finding"
)

// verdictChoices are the verdicts as the triage dialog offers them, none first.
var verdictChoices = append([]string{""}, finding.Verdicts...)

// verdictText is how a button or a list names a verdict.
func verdictText(verdict string) string {
	if verdict == "" {
		return "Verdict…"
	}
	return "Verdict: " + verdict
}

// verdictImportance colours a verdict: malicious stands out, follow-up asks for attention.
func verdictImportance(verdict string) widget.Importance {
	switch verdict {
	case finding.VerdictMalicious:
		return widget.DangerImportance
	case finding.VerdictFollowUp:
		return widget.WarningImportance
	case finding.VerdictBenign:
		return widget.SuccessImportance
	}
	return widget.MediumImportance
}

// importanceColor is the theme colour a label of that importance is drawn in, for text that is
// not a label (a canvas.Text in a list row).
func importanceColor(i widget.Importance) fyne.ThemeColorName {
	switch i {
	case widget.DangerImportance:
		return theme.ColorNameError
	case widget.WarningImportance:
		return theme.ColorNameWarning
	case widget.SuccessImportance:
		return theme.ColorNameSuccess
	}
	return theme.ColorNameForeground
}

// askVerdict asks an analyst's verdict on an anomaly, with a note, and records it; saved gets
// the anomaly as it then stands.
func (v *caseView) askVerdict(a finding.Anomaly, saved func(finding.Anomaly)) {
	labels := make([]string, len(verdictChoices))
	for i, vd := range verdictChoices {
		labels[i] = finding.VerdictText(vd)
	}
	choice := widget.NewRadioGroup(labels, nil)
	choice.Required = true
	choice.SetSelected(finding.VerdictText(a.Verdict))
	note := widget.NewMultiLineEntry()
	note.SetPlaceHolder("What was found, who was asked, a ticket…")
	note.SetText(a.Note)
	note.Wrapping = fyne.TextWrapWord
	note.SetMinRowsVisible(4)
	problem := widget.NewLabel("")
	problem.Importance = widget.DangerImportance
	problem.Wrapping = fyne.TextWrapWord
	problem.Hide()
	var d *dialog.CustomDialog
	// saveThen records the verdict chosen and, with next, opens the next anomaly of the list.
	saveThen := func(next bool) {
		verdict := ""
		for _, vd := range verdictChoices {
			if finding.VerdictText(vd) == choice.Selected {
				verdict = vd
			}
		}
		text := strings.TrimSpace(note.Text)
		do(v, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, v.c.SetVerdict(ctx, a.ID, verdict, text)
		}, func(_ struct{}, err error) {
			if err != nil {
				problem.SetText("Not saved: " + err.Error())
				problem.Show()
				return
			}
			d.Hide()
			a.Verdict, a.Note = verdict, text
			if verdict == "" {
				a.Note = ""
			}
			saved(a)
			if next {
				v.step(1)
			}
		})
	}
	save := widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), func() { saveThen(false) })
	save.Importance = widget.HighImportance
	cancel := widget.NewButton("Cancel", func() { d.Hide() })
	buttons := []fyne.CanvasObject{cancel, save}
	v.verdictNext = nil
	// Triage goes down the list: saving can open the next anomaly at once.
	if i := v.listPosition(a.ID); i >= 0 && i+1 < len(v.overview.listed) && v.drill != nil && v.drill.a.ID == a.ID && len(v.trail) == 0 {
		next := widget.NewButtonWithIcon("Save and next", theme.NavigateNextIcon(), func() { saveThen(true) })
		buttons = append(buttons, next)
		v.verdictNext = next
	}
	intro := widget.NewLabel("The verdict stays with the anomaly when the case is analysed again; " +
		"anomalies lists and exports show it.")
	intro.Wrapping = fyne.TextWrapWord
	what := widget.NewLabelWithStyle(fmt.Sprintf("%d · %s", a.Risk, a.Title), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	what.Truncation = fyne.TextTruncateEllipsis
	d = dialog.NewCustomWithoutButtons("Verdict on the anomaly",
		container.NewVBox(what, intro, choice, widget.NewLabel("Note"), note, problem), v.s.win)
	d.SetButtons(buttons)
	v.trackDialog(d, nil)
	d.Resize(fyne.NewSize(620, 440))
	d.Show()
	v.verdictDialog, v.verdictChoice, v.verdictNote, v.verdictSave = d, choice, note, save
}

// verdictChanged shows a new verdict wherever the anomaly is on show.
func (v *caseView) verdictChanged(a finding.Anomaly) {
	for i := range v.overview.data.Anomalies {
		if v.overview.data.Anomalies[i].ID == a.ID {
			v.overview.data.Anomalies[i].Verdict, v.overview.data.Anomalies[i].Note = a.Verdict, a.Note
		}
	}
	v.overview.refreshList()
	if v.drill != nil && v.drill.a.ID == a.ID {
		v.drill.setVerdict(a)
	}
}

// listPosition is where an anomaly stands in the overview's list of top anomalies (-1 when it
// is not in it): triage goes down that list.
func (v *caseView) listPosition(id string) int {
	for i, a := range v.overview.listed {
		if a.ID == id {
			return i
		}
	}
	return -1
}

// step leaves the drilldown on show for the anomaly delta places further down the overview's
// list (up for a negative delta), if there is one; it reports whether it moved. A drilldown
// opened from another (a related anomaly) does not step: Back leads where it came from.
func (v *caseView) step(delta int) bool {
	if v.drill == nil || len(v.trail) > 0 {
		return false
	}
	i := v.listPosition(v.drill.a.ID)
	if i < 0 || i+delta < 0 || i+delta >= len(v.overview.listed) {
		return false
	}
	v.openAnomaly(v.overview.listed[i+delta])
	return true
}

// askAnomalyID opens an anomaly by its id (as `trailscope anomalies`, a report or a ticket
// give it), wherever in the case it is.
func (v *caseView) askAnomalyID() {
	entry := widget.NewEntry()
	entry.SetPlaceHolder("e147a250954c")
	problem := widget.NewLabel("")
	problem.Importance = widget.DangerImportance
	problem.Wrapping = fyne.TextWrapWord
	problem.Hide()
	var d *dialog.CustomDialog
	open := func() {
		id := strings.TrimSpace(entry.Text)
		if id == "" {
			return
		}
		do(v, func(ctx context.Context) (finding.Anomaly, error) { return v.c.Anomaly(ctx, id) }, func(a finding.Anomaly, err error) {
			if err != nil {
				problem.SetText(err.Error())
				problem.Show()
				return
			}
			d.Hide()
			v.openAnomaly(a)
		})
	}
	entry.OnSubmitted = func(string) { open() }
	openBtn := widget.NewButtonWithIcon("Open", theme.NavigateNextIcon(), open)
	openBtn.Importance = widget.HighImportance
	d = dialog.NewCustomWithoutButtons("Open an anomaly by its id",
		container.NewVBox(widget.NewLabel("The id as trailscope anomalies, a report or a ticket gives it:"), entry, problem), v.s.win)
	d.SetButtons([]fyne.CanvasObject{widget.NewButton("Cancel", func() { d.Hide() }), openBtn})
	v.trackDialog(d, nil)
	d.Resize(fyne.NewSize(480, 200))
	d.Show()
	v.s.win.Canvas().Focus(entry)
	v.idEntry = entry
}
