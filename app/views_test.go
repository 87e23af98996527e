package app

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/trailscope/trailscope/data/finding"
	"github.com/trailscope/trailscope/data/store"
)

// viewsCase builds a case of 10 events a minute apart from two addresses, the last two failing,
// with one stored anomaly.
func viewsCase(t *testing.T) (*Case, time.Time) {
	t.Helper()
	t0 := time.Date(2024, 5, 9, 20, 0, 0, 0, time.UTC)
	var recs []map[string]any
	for i := 0; i < 10; i++ {
		e := map[string]any{"eventID": fmt.Sprintf("e%02d", i), "eventTime": t0.Add(time.Duration(i) * time.Minute).Format(time.RFC3339),
			"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "sourceIPAddress": []string{"203.0.113.7", "198.51.100.1"}[i%2],
			"userIdentity": map[string]any{"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/u"}}
		if i >= 8 {
			e["errorCode"] = "AccessDenied"
		}
		recs = append(recs, e)
	}
	c := caseOf(t, recs)
	ctx := context.Background()
	a := finding.Anomaly{ID: "x", Risk: 8, Direction: "inbound", WindowStart: t0, WindowEnd: t0.Add(5 * time.Minute), Title: "t"}
	if err := c.Store().SaveAnalysis(ctx, []finding.Anomaly{a}, nil, 10); err != nil {
		t.Fatal(err)
	}
	return c, t0
}

// caseOf makes a case of these CloudTrail records, closed when the test ends.
func caseOf(t *testing.T, recs []map[string]any) *Case {
	t.Helper()
	dir := t.TempDir()
	b, _ := json.Marshal(map[string]any{"Records": recs})
	in := filepath.Join(dir, "in.json")
	if err := os.WriteFile(in, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := Open(ctx, filepath.Join(dir, "c.tsc"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Ingest(ctx, []string{in}, nil); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestWindowViews(t *testing.T) {
	c, t0 := viewsCase(t)
	ctx := context.Background()
	tests := []struct {
		name           string
		from, to       time.Time
		offset, limit  int
		count, rows    int
		firstID        string
		addrs          int
		failuresOfLast int64
	}{
		{"all", time.Time{}, time.Time{}, 0, 0, 10, 10, "e00", 2, 1},
		{"first window", t0, t0.Add(5 * time.Minute), 0, 100, 5, 5, "e00", 2, 0},
		{"second page", t0, t0.Add(10 * time.Minute), 4, 3, 10, 3, "e04", 2, 1},
		{"empty", t0.Add(time.Hour), t0.Add(2 * time.Hour), 0, 10, 0, 0, "", 0, 0},
	}
	t.Run("marked first", func(t *testing.T) {
		rows, err := c.WindowEvents(ctx, time.Time{}, time.Time{}, []string{"e07", "e03"}, 0, 3)
		if err != nil || len(rows) != 3 {
			t.Fatalf("rows = %d, %v", len(rows), err)
		}
		if rows[0].EventID != "e03" || rows[1].EventID != "e07" || !rows[0].Marked || !rows[1].Marked || rows[2].Marked || rows[2].EventID != "e00" {
			t.Errorf("marked events not first in time order: %+v", rows)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := c.WindowEventCount(ctx, tt.from, tt.to)
			if err != nil || n != int64(tt.count) {
				t.Errorf("count = %d, %v; want %d", n, err, tt.count)
			}
			rows, err := c.WindowEvents(ctx, tt.from, tt.to, nil, tt.offset, tt.limit)
			if err != nil || len(rows) != tt.rows {
				t.Fatalf("rows = %d, %v; want %d", len(rows), err, tt.rows)
			}
			if tt.rows > 0 && rows[0].EventID != tt.firstID {
				t.Errorf("first row %s, want %s", rows[0].EventID, tt.firstID)
			}
			addrs, err := c.WindowAddresses(ctx, tt.from, tt.to, 0)
			if err != nil || len(addrs) != tt.addrs {
				t.Fatalf("addresses = %+v, %v", addrs, err)
			}
			var failures int64
			for _, a := range addrs {
				failures += a.Failures
			}
			if tt.addrs > 0 && failures != 2*tt.failuresOfLast {
				// Events 8 and 9 fail, one from each address.
				t.Errorf("failures = %d, want %d", failures, 2*tt.failuresOfLast)
			}
		})
	}
	raw, err := c.EventJSON(ctx, 1)
	if err != nil || len(raw) == 0 {
		t.Errorf("EventJSON(1) = %q, %v", raw, err)
	}
	if _, err := c.EventJSON(ctx, 999); err == nil {
		t.Error("EventJSON of a missing row gave no error")
	}
}

func TestOverview(t *testing.T) {
	c, t0 := viewsCase(t)
	ctx := context.Background()
	ov, err := c.Overview(ctx, t0, t0.Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if ov.Events != 10 || ov.RiskCounts[8] != 1 || len(ov.Anomalies) != 1 {
		t.Errorf("overview = %d events, risk 8: %d, %d anomalies; want 10, 1, 1", ov.Events, ov.RiskCounts[8], len(ov.Anomalies))
	}
	ov, err = c.Overview(ctx, t0.Add(time.Hour), t0.Add(2*time.Hour))
	if err != nil || ov.Events != 0 || len(ov.Anomalies) != 0 {
		t.Errorf("empty range: %+v, %v", ov, err)
	}
	first, last, ok, err := c.TimeBounds(ctx)
	if err != nil || !ok || !first.Equal(t0) || !last.Equal(t0.Add(9*time.Minute)) {
		t.Errorf("bounds = %v %v %v %v", first, last, ok, err)
	}
	a, err := c.Anomaly(ctx, "x")
	if err != nil || a.Risk != 8 {
		t.Errorf("anomaly x = %+v, %v", a, err)
	}
	if demo, err := c.IsDemo(ctx); err != nil || demo {
		t.Errorf("IsDemo = %v, %v; want false", demo, err)
	}

	// Rule matches in range, per rule, highest severity first.
	for _, r := range []store.Rule{{Name: "low", Query: "getobject", Severity: 2, Every: 60, Enabled: true},
		{Name: "high", Query: "errorCode:AccessDenied", Severity: 9, Every: 60, Enabled: true}} {
		if _, err := c.SaveRule(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.RunRules(ctx, time.Now(), false); err != nil {
		t.Fatal(err)
	}
	ov, err = c.Overview(ctx, t0, t0.Add(9*time.Minute))
	if err != nil || len(ov.Indicators) != 2 || ov.Indicators[0].Rule.Name != "high" || ov.Indicators[0].Events != 1 || ov.Indicators[1].Events != 9 {
		t.Errorf("indicators in range: %+v, %v; want high (1 of the 2 denied calls in range), then low (9)", ov.Indicators, err)
	}
}

// TestOverviewAnomalyRules: an anomaly holding an event a rule matched names that rule, the one
// of highest severity when several did; an anomaly without such events names none.
func TestOverviewAnomalyRules(t *testing.T) {
	c, t0 := viewsCase(t) // e00–e09: GetObject each minute from t0; e08 and e09 refused
	ctx := context.Background()
	as := []finding.Anomaly{
		{ID: "denied", Risk: 5, Direction: "inbound", WindowStart: t0.Add(5 * time.Minute), WindowEnd: t0.Add(10 * time.Minute),
			Title: "t", EventIDs: []string{"e07", "e08"}},
		{ID: "quiet", Risk: 4, Direction: "inbound", WindowStart: t0, WindowEnd: t0.Add(5 * time.Minute),
			Title: "t", EventIDs: []string{"e00", "e01"}},
	}
	if err := c.Store().SaveAnalysis(ctx, as, nil, 10); err != nil {
		t.Fatal(err)
	}
	for _, r := range []store.Rule{
		{Name: "Denied reads", Query: "errorCode:AccessDenied", Severity: 4},
		{Name: "Reads from the address", Query: "sourceIPAddress:203.0.113.7 eventName:GetObject", Severity: 7},
		{Name: "Any read", Query: "eventName:GetObject", Severity: 2},
	} {
		r.Every, r.Enabled = 60, true
		if _, err := c.SaveRule(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.RunRules(ctx, time.Now(), false); err != nil {
		t.Fatal(err)
	}
	// e08 is from 203.0.113.7 (even minutes) and refused: severity 7 beats 4 and 2. e00 and e01
	// match only "Any read" and e00 the address rule.
	ov, err := c.Overview(ctx, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if r := ov.AnomalyRules["denied"]; r.Name != "Reads from the address" {
		t.Errorf("the refused reads' anomaly names %q", r.Name)
	}
	if r := ov.AnomalyRules["quiet"]; r.Name != "Reads from the address" {
		t.Errorf("the first reads' anomaly names %q", r.Name)
	}
	// Search hits name the rule of highest severity that matched each.
	var hits []store.Hit
	if err := c.Search(ctx, store.Filter{}, 0, func(h store.Hit) error { hits = append(hits, h); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := c.NameRules(ctx, hits); err != nil {
		t.Fatal(err)
	}
	for _, h := range hits {
		want := map[string]string{"203.0.113.7": "Reads from the address", "198.51.100.1": "Any read"}[h.SourceIP]
		if h.SourceIP == "198.51.100.1" && h.ErrorCode != "" {
			want = "Denied reads" // e09: severity 4 over 2
		}
		if h.Rule != want {
			t.Errorf("%s from %s names rule %q, want %q", h.EventID, h.SourceIP, h.Rule, want)
		}
	}
	// The charts' marks: per bin, the address rule (severity 7) and its events there (object
	// reads are outbound); the rules under severity 5 are not marked.
	var marks []string
	for _, m := range ov.RuleMarks {
		marks = append(marks, fmt.Sprintf("%s %s %s %d", m.Direction, m.From.Format("15:04"), m.Rule.Name, m.Events))
	}
	if want := []string{"outbound 20:00 Reads from the address 3", "outbound 20:05 Reads from the address 2"}; !slices.Equal(marks, want) {
		t.Errorf("rule marks %q, want %q", marks, want)
	}
	// Without the address rule, the refused reads' anomaly names the denied rule; the other,
	// only any read.
	rules, _ := c.Rules(ctx)
	for _, r := range rules {
		if r.Name == "Reads from the address" {
			if err := c.DeleteRule(ctx, r.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	ov, _ = c.Overview(ctx, t0, t0.Add(time.Hour))
	if a, b := ov.AnomalyRules["denied"].Name, ov.AnomalyRules["quiet"].Name; a != "Denied reads" || b != "Any read" {
		t.Errorf("after the delete: %q and %q", a, b)
	}
	if len(ov.RuleMarks) != 0 {
		t.Errorf("rules under severity 5 marked: %+v", ov.RuleMarks)
	}
	// Out of range, no rules are read at all.
	if ov, _ := c.Overview(ctx, t0.Add(-48*time.Hour), t0.Add(-24*time.Hour)); ov.AnomalyRules != nil {
		t.Errorf("a range without anomalies named rules: %v", ov.AnomalyRules)
	}
}
