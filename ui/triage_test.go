package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/trailscope/trailscope/data/finding"
	"github.com/trailscope/trailscope/data/store"
)

// TestDrilldownRecordsVerdict: a verdict and note given in the drilldown are saved, shown on
// its button, in the overview's list and in the text for a ticket, and taken away again.
func TestDrilldownRecordsVerdict(t *testing.T) {
	s, _ := openedCase(t)
	v := s.view
	v.overview.openByID(anomOut.ID)
	settle(t, s)
	d := v.drill
	if d == nil || d.verdict.Text != "Verdict…" {
		t.Fatalf("drilldown verdict button: %v", d)
	}
	test.Tap(d.verdict)
	v.verdictChoice.SetSelected("Malicious: part of an intrusion")
	v.verdictNote.SetText("  the role's keys were stolen; SEC-42  ")
	test.Tap(v.verdictSave)
	settle(t, s)
	if d.verdict.Text != "Verdict: malicious" || d.verdict.Importance != widget.DangerImportance {
		t.Errorf("button after saving: %q", d.verdict.Text)
	}
	got, err := v.c.Anomalies(context.Background(), store.AnomalyFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range got {
		if a.ID == anomOut.ID && (a.Verdict != finding.VerdictMalicious || a.Note != "the role's keys were stolen; SEC-42") {
			t.Errorf("stored: %q %q", a.Verdict, a.Note)
		}
	}
	for _, a := range v.overview.data.Anomalies {
		if a.ID == anomOut.ID && a.Verdict != finding.VerdictMalicious {
			t.Errorf("the overview's list still says %q", a.Verdict)
		}
	}
	// The list's row says it in the colour the button has.
	row := newAnomalyRow().(*fyne.Container).Objects[0].(*anomalyRow)
	for verdict, want := range map[string]fyne.ThemeColorName{finding.VerdictMalicious: theme.ColorNameError,
		finding.VerdictFollowUp: theme.ColorNameWarning, finding.VerdictBenign: theme.ColorNameSuccess} {
		row.set(finding.Anomaly{Verdict: verdict}, store.Rule{}, false)
		if row.verdict.Text != verdict+" ·" || row.verdict.Color != theme.Color(want) {
			t.Errorf("row for %s: %q in %v, want %v", verdict, row.verdict.Text, row.verdict.Color, theme.Color(want))
		}
	}
	text := anomalyText(d.a, d.rules, d.near, d.addrs, d.total)
	if !strings.Contains(text, "Verdict: malicious · the role's keys were stolen; SEC-42") {
		t.Errorf("the text for a ticket lacks the verdict:\n%s", text)
	}
	// Taken away.
	test.Tap(d.verdict)
	if v.verdictChoice.Selected != "Malicious: part of an intrusion" || v.verdictNote.Text != "the role's keys were stolen; SEC-42" {
		t.Errorf("the dialog opened on %q, %q; want what was saved", v.verdictChoice.Selected, v.verdictNote.Text)
	}
	v.verdictChoice.SetSelected("Not reviewed")
	test.Tap(v.verdictSave)
	settle(t, s)
	if d.verdict.Text != "Verdict…" {
		t.Errorf("after taking it away: %q", d.verdict.Text)
	}
	if a, _ := v.c.Store().ViewAnomaly(context.Background(), anomOut.ID); a.Verdict != "" || a.Note != "" {
		t.Errorf("stored after taking it away: %q %q", a.Verdict, a.Note)
	}
}

// TestOverviewHidesBenign: anomalies found benign can leave the list of top anomalies.
func TestOverviewHidesBenign(t *testing.T) {
	s, _ := openedCase(t)
	v, o := s.view, s.view.overview
	n := len(o.listed)
	a := o.listed[0]
	if err := v.c.SetVerdict(context.Background(), a.ID, finding.VerdictBenign, "a known job"); err != nil {
		t.Fatal(err)
	}
	a.Verdict = finding.VerdictBenign
	v.verdictChanged(a)
	if len(o.listed) != n || o.topLabel.Text != fmt.Sprintf("Top anomalies (%d in range · 1 benign)", n) {
		t.Errorf("benign shown: %d listed, want %d; label %q", len(o.listed), n, o.topLabel.Text)
	}
	o.hideBenign.SetChecked(true)
	if len(o.listed) != n-1 || o.listed[0].ID == a.ID || o.topLabel.Text != fmt.Sprintf("Top anomalies (%d in range · 1 benign (hidden))", n) {
		t.Errorf("benign hidden: %d listed, label %q", len(o.listed), o.topLabel.Text)
	}
	o.load() // a new range or a reload keeps them hidden
	settle(t, s)
	if len(o.listed) != n-1 {
		t.Errorf("after a reload: %d listed, want %d", len(o.listed), n-1)
	}
	o.hideBenign.SetChecked(false)
	if len(o.listed) != n {
		t.Errorf("shown again: %d listed", len(o.listed))
	}
}

// TestWriteReport: File ▸ Export report… writes the case's report where asked.
func TestWriteReport(t *testing.T) {
	s, _ := openedCase(t)
	path := filepath.Join(t.TempDir(), "case-report.md")
	s.view.writeReport(path)
	settle(t, s)
	body, err := os.ReadFile(path)
	if err != nil || !strings.HasPrefix(string(body), "# Trailscope report: ") || s.view.reportWritten != path {
		t.Errorf("report: %v, %q…", err, body[:min(len(body), 60)])
	}
	page := filepath.Join(t.TempDir(), "case-report.html")
	s.view.writeReport(page)
	settle(t, s)
	if body, err := os.ReadFile(page); err != nil || !strings.HasPrefix(string(body), "<!DOCTYPE html>") {
		t.Errorf("report as a web page: %v, %q…", err, body[:min(len(body), 60)])
	}
}

// TestDrilldownSteps: from a drilldown, the next and previous anomalies of the overview's list
// are a button or a key away, and Save and next gives a verdict and moves on.
func TestDrilldownSteps(t *testing.T) {
	s, _ := openedCase(t)
	v, o := s.view, s.view.overview
	if len(o.listed) < 2 {
		t.Fatalf("%d anomalies listed, want 2 or more", len(o.listed))
	}
	first, second := o.listed[0], o.listed[1]
	v.openAnomaly(first)
	d := v.drill
	if d.prev == nil || !d.prev.Disabled() || d.next.Disabled() || d.position.Text != fmt.Sprintf("1 of %d", len(o.listed)) {
		t.Fatalf("first drilldown's steps: prev %v, next %v, %q", d.prev, d.next, d.position.Text)
	}
	key := func(k fyne.KeyName) { s.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: k}) }
	key(fyne.KeyN)
	if v.drill.a.ID != second.ID {
		t.Fatalf("N opened %s, want %s", v.drill.a.ID, second.ID)
	}
	key(fyne.KeyP)
	if v.drill.a.ID != first.ID {
		t.Fatalf("P opened %s, want %s", v.drill.a.ID, first.ID)
	}
	key(fyne.KeyV) // the verdict dialog, from the keyboard
	if v.verdictDialog == nil || len(v.dialogs) == 0 {
		t.Fatal("V opened no verdict dialog")
	}
	v.verdictChoice.SetSelected("Benign: explained, nothing to do")
	if v.verdictNext == nil {
		t.Fatal("no Save and next")
	}
	test.Tap(v.verdictNext)
	settle(t, s)
	if v.drill.a.ID != second.ID {
		t.Errorf("Save and next left %s on show, want %s", v.drill.a.ID, second.ID)
	}
	if a, _ := v.c.Store().ViewAnomaly(context.Background(), first.ID); a.Verdict != finding.VerdictBenign {
		t.Errorf("Save and next saved %q", a.Verdict)
	}
	// A related anomaly's drilldown leads back where it came from, and does not step.
	v.openRelated(first)
	key(fyne.KeyN)
	if v.drill.a.ID != first.ID || v.drill.next != nil {
		t.Errorf("N stepped from a related anomaly's drilldown")
	}
}

// TestOpenAnomalyByID: Ctrl+G opens an anomaly by the id a ticket or a report gives.
func TestOpenAnomalyByID(t *testing.T) {
	s, _ := openedCase(t)
	v := s.view
	v.askAnomalyID()
	v.idEntry.SetText("no-such-id")
	v.idEntry.OnSubmitted("no-such-id")
	settle(t, s)
	if v.drill != nil || len(v.dialogs) == 0 {
		t.Fatal("an unknown id opened something, or closed the dialog")
	}
	v.idEntry.SetText("  " + anomIn.ID + " ")
	v.idEntry.OnSubmitted(v.idEntry.Text)
	settle(t, s)
	if v.drill == nil || v.drill.a.ID != anomIn.ID {
		t.Errorf("opened %v, want %s", v.drill, anomIn.ID)
	}
}
