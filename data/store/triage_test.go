package store

import (
	"context"
	"testing"
	"time"

	"github.com/trailscope/trailscope/data/finding"
)

// TestVerdicts: an analyst's verdict and note show on the anomaly wherever it is read, outlive
// the analysis running again, and go when taken away.
func TestVerdicts(t *testing.T) {
	ctx := context.Background()
	st := newCase(t, fixtureRaws())
	t0 := time.Date(2024, 5, 9, 20, 25, 0, 0, time.UTC)
	anoms := []finding.Anomaly{
		{ID: "a1", Risk: 8, Direction: "outbound", WindowStart: t0, WindowEnd: t0.Add(5 * time.Minute), EntityType: finding.EntityIP, Entity: "203.0.113.7", Title: "one"},
		{ID: "a2", Risk: 4, Direction: "outbound", WindowStart: t0, WindowEnd: t0.Add(5 * time.Minute), EntityType: finding.EntityIP, Entity: "203.0.113.7", Title: "two"},
	}
	save := func() {
		mark, _ := st.EventsMark(ctx)
		if err := st.SaveAnalysis(ctx, anoms, nil, mark); err != nil {
			t.Fatal(err)
		}
	}
	save()
	if err := st.SetVerdict(ctx, "a1", finding.VerdictMalicious, "the stolen role; ticket SEC-42"); err != nil {
		t.Fatal(err)
	}
	if err := st.SetVerdict(ctx, "a2", finding.VerdictBenign, ""); err != nil {
		t.Fatal(err)
	}
	if err := st.SetVerdict(ctx, "a2", finding.VerdictFollowUp, "ask the owner"); err != nil { // changed
		t.Fatal(err)
	}
	save() // the analysis runs again
	list, err := st.Anomalies(ctx, AnomalyFilter{})
	if err != nil || len(list) != 2 {
		t.Fatalf("anomalies: %v, %v", list, err)
	}
	if list[0].Verdict != finding.VerdictMalicious || list[0].Note != "the stolen role; ticket SEC-42" ||
		list[1].Verdict != finding.VerdictFollowUp || list[1].Note != "ask the owner" {
		t.Errorf("after a new analysis: %q %q, %q %q", list[0].Verdict, list[0].Note, list[1].Verdict, list[1].Note)
	}
	one, err := st.ViewAnomaly(ctx, "a1")
	if err != nil || one.Verdict != finding.VerdictMalicious {
		t.Errorf("view a1: %q, %v", one.Verdict, err)
	}
	rel, err := st.ViewRelated(ctx, anoms[1], RelatedFilter{Span: time.Hour})
	if err != nil || len(rel) != 1 || rel[0].Verdict != finding.VerdictMalicious {
		t.Errorf("related to a2: %+v, %v", rel, err)
	}
	if err := st.SetVerdict(ctx, "a1", "", ""); err != nil {
		t.Fatal(err)
	}
	if one, _ := st.ViewAnomaly(ctx, "a1"); one.Verdict != "" || one.Note != "" {
		t.Errorf("a verdict taken away stays: %q %q", one.Verdict, one.Note)
	}
}

// TestVerdictFollowsAnomaly: when new, earlier data moves an anomaly's start (and so its id),
// its verdict moves to the anomaly of the same entity and direction over the same window; an
// anomaly that is gone keeps nothing, and one with a verdict of its own keeps its own.
func TestVerdictFollowsAnomaly(t *testing.T) {
	ctx := context.Background()
	st := newCase(t, fixtureRaws())
	t0 := time.Date(2024, 5, 9, 20, 25, 0, 0, time.UTC)
	anom := func(id, entity string, start time.Time, minutes int) finding.Anomaly {
		return finding.Anomaly{ID: id, Risk: 8, Direction: "outbound", WindowStart: start, WindowEnd: start.Add(time.Duration(minutes) * time.Minute),
			EntityType: finding.EntityIP, Entity: entity, Title: id}
	}
	save := func(as ...finding.Anomaly) {
		mark, _ := st.EventsMark(ctx)
		if err := st.SaveAnalysis(ctx, as, nil, mark); err != nil {
			t.Fatal(err)
		}
	}
	save(anom("old", "203.0.113.7", t0, 5), anom("gone", "198.51.100.1", t0, 5), anom("kept", "192.0.2.9", t0, 5))
	for id, v := range map[string]string{"old": finding.VerdictMalicious, "gone": finding.VerdictBenign, "kept": finding.VerdictFollowUp} {
		if err := st.SetVerdict(ctx, id, v, "on "+id); err != nil {
			t.Fatal(err)
		}
	}
	// Earlier data: 203.0.113.7's episode now starts 10 minutes sooner and runs over the old
	// window; 198.51.100.1's is gone; 192.0.2.9's window moved too, but a verdict already sits
	// on the anomaly it would move to.
	save(anom("new", "203.0.113.7", t0.Add(-10*time.Minute), 15), anom("kept", "192.0.2.9", t0, 5),
		anom("other-kept", "192.0.2.9", t0.Add(-5*time.Minute), 10))
	if err := st.SetVerdict(ctx, "other-kept", finding.VerdictBenign, "its own"); err != nil {
		t.Fatal(err)
	}
	save(anom("new", "203.0.113.7", t0.Add(-10*time.Minute), 15), anom("other-kept", "192.0.2.9", t0.Add(-5*time.Minute), 10))
	got := map[string]string{}
	list, _ := st.Anomalies(ctx, AnomalyFilter{})
	for _, a := range list {
		got[a.ID] = a.Verdict + ":" + a.Note
	}
	if got["new"] != "malicious:on old" || got["other-kept"] != "benign:its own" || len(got) != 2 {
		t.Errorf("verdicts after the new analyses: %v", got)
	}
}
