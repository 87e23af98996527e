package synth

import (
	"context"
	"testing"
	"time"

	"github.com/trailscope/trailscope/data/cloudtrail"
)

// TestDefaultWeek generates the full default week (the demo's shape) and checks volumes, the
// daily and weekly rhythm, untouched regions and the benign oddities.
func TestDefaultWeek(t *testing.T) {
	if testing.Short() {
		t.Skip("full week skipped in -short mode")
	}
	cfg := Config{Seed: 2019, End: friday}
	o := newOrg(cfg.Seed)
	unused := map[string]bool{}
	for _, r := range o.unused {
		unused[r] = true
	}
	perDay := map[int64]int{}
	var localHour [24]int
	total := 0
	labels, err := Generate(context.Background(), cfg, func(tm time.Time, raw []byte) error {
		total++
		perDay[tm.Unix()/86400]++
		lt := tm.Add(time.Duration(o.tz) * time.Minute)
		if wd := lt.Weekday(); wd != time.Saturday && wd != time.Sunday {
			localHour[lt.Hour()]++
		}
		if total%97 == 0 { // a sample is enough for the region check
			e, err := cloudtrail.Extract(raw)
			if err != nil {
				return err
			}
			if unused[e.Region] {
				t.Errorf("ordinary event in unused region %s: %s", e.Region, raw)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	last := perDay[(friday.Unix()-86400)/86400]
	if d := float64(last)/DefaultEventsPerDay - 1; d < -0.15 || d > 0.15 {
		t.Errorf("last day holds %d events, want %d ± 15%%", last, DefaultEventsPerDay)
	}
	var weekday, weekend []int
	for d, n := range perDay {
		if wd := weekdayOf(d); wd == time.Saturday || wd == time.Sunday {
			weekend = append(weekend, n)
		} else {
			weekday = append(weekday, n)
		}
	}
	if len(weekend) != 2 || len(weekday) != 5 {
		t.Fatalf("days: %d weekdays, %d weekend days", len(weekday), len(weekend))
	}
	if maxOf(weekend) >= minOf(weekday)*85/100 {
		t.Errorf("weekend days %v not clearly quieter than weekdays %v", weekend, weekday)
	}
	night := localHour[2] + localHour[3] + localHour[4]
	work := localHour[10] + localHour[11] + localHour[15]
	if night*100 >= work*70 {
		t.Errorf("weekday nights (02–05 local: %d events) not clearly quieter than working hours (%d)", night, work)
	}
	for _, name := range []string{"benign-new-address", "benign-new-deploy-role", "benign-monthly-report"} {
		l := findLabel(labels, name)
		if l == nil || !l.Benign || len(l.KeyEventIDs) == 0 {
			t.Errorf("benign oddity %s missing or empty: %+v", name, l)
		}
	}
	t.Logf("%d events; per day %v", total, perDay)
}

func weekdayOf(day int64) time.Weekday { return time.Unix(day*86400, 0).UTC().Weekday() }

func maxOf(xs []int) int {
	m := xs[0]
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func minOf(xs []int) int {
	m := xs[0]
	for _, x := range xs {
		m = min(m, x)
	}
	return m
}

func TestTotalEvents(t *testing.T) {
	total := 0
	_, err := Generate(context.Background(), Config{Seed: 4, Days: 3, End: friday, TotalEvents: 30000}, func(time.Time, []byte) error {
		total++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total < 27000 || total > 33000 {
		t.Errorf("%d events, want 30000 ± 10%%", total)
	}
}

// TestBenignOddities checks the harmless oddities look as they should: the traveller keeps their
// usual client and works from one new address.
func TestBenignOddities(t *testing.T) {
	rs, labels := collect(t, Config{Seed: 8, Days: 5, End: friday, EventsPerDay: 6000})
	byID := map[string]rec{}
	for _, r := range rs {
		byID[r.e.EventID] = r
	}
	l := findLabel(labels, "benign-new-address")
	if l == nil {
		t.Fatal("no benign-new-address label")
	}
	for _, id := range l.KeyEventIDs {
		r := byID[id]
		if r.e.SourceIP != l.SourceIP || r.e.PrincipalARN != l.Principal {
			t.Fatalf("traveller event from %s by %s, label says %s by %s", r.e.SourceIP, r.e.PrincipalARN, l.SourceIP, l.Principal)
		}
	}
	seen := 0
	for _, r := range rs {
		if r.e.SourceIP == l.SourceIP {
			seen++
		}
	}
	if seen != len(l.KeyEventIDs) {
		t.Errorf("the new address appears in %d events, the label lists %d", seen, len(l.KeyEventIDs))
	}
	d := findLabel(labels, "benign-new-deploy-role")
	if d == nil {
		t.Fatal("no benign-new-deploy-role label")
	}
	later := 0
	for _, r := range rs {
		if r.e.SessionIssuer == d.Principal && r.t.After(d.End.Add(time.Hour)) {
			later++
		}
	}
	if later == 0 {
		t.Errorf("the new deploy role %s is never used after its first run", d.Principal)
	}
}

// TestBenignOdditiesAlwaysPlanted: every seed gets each harmless oddity. The traveller's day
// used to be picked among local days that only began before the end of the data, so a person
// ahead of UTC could travel on a day with no working hours left, and a third of the seeds had
// no traveller at all.
func TestBenignOdditiesAlwaysPlanted(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		labels, err := Generate(context.Background(), Config{Seed: seed, Days: 7, End: friday, EventsPerDay: 4000},
			func(time.Time, []byte) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"benign-new-address", "benign-new-deploy-role", "benign-monthly-report"} {
			if findLabel(labels, name) == nil {
				t.Errorf("seed %d: no %s", seed, name)
			}
		}
	}
}
