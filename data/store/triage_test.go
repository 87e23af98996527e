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
