package ui

import (
	"context"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
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
