package store

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailscope/trailscope/data/finding"
)

func TestPivots(t *testing.T) {
	st := newCase(t, fixtureRaws())
	ctx := context.Background()
	day := time.Date(2024, 5, 9, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		run   func() (*Profile, error)
		check func(t *testing.T, p *Profile)
	}{
		{"ip", func() (*Profile, error) { return st.PivotIP(ctx, "203.0.113.7", PivotOptions{}) }, func(t *testing.T, p *Profile) {
			if p.Events != 2 || p.FirstSeen != time.Date(2024, 5, 9, 20, 25, 1, 0, time.UTC) || p.LastSeen != time.Date(2024, 5, 9, 20, 26, 0, 0, time.UTC) {
				t.Errorf("events/first/last = %d %v %v", p.Events, p.FirstSeen, p.LastSeen)
			}
			if p.BinSeconds != 300 || len(p.Timeline) != 1 || p.Timeline[0].Events != 2 || p.Timeline[0].Start != time.Date(2024, 5, 9, 20, 25, 0, 0, time.UTC) {
				t.Errorf("timeline = %d %+v", p.BinSeconds, p.Timeline)
			}
			if len(p.Principals) != 1 || p.Principals[0] != (Count{"arn:aws:sts::111122223333:assumed-role/web-waf/i-0abc", 2}) {
				t.Errorf("principals = %+v", p.Principals)
			}
			if len(p.APIs) != 2 || p.APIs[0].EventName != "GetObject" || p.APIs[0].Success != 1 || p.APIs[1].EventName != "ListBuckets" {
				t.Errorf("apis = %+v", p.APIs)
			}
			if len(p.UserAgents) != 1 || p.UserAgents[0] != (Count{"aws-cli/2.15.0", 2}) || len(p.Regions) != 1 || p.Regions[0] != (Count{"us-east-1", 2}) {
				t.Errorf("agents %+v regions %+v", p.UserAgents, p.Regions)
			}
		}},
		{"agents", func() (*Profile, error) { return st.PivotEvent(ctx, "ModifySnapshotAttribute", PivotOptions{}) }, func(t *testing.T, p *Profile) {
			if p.Events != 1 || len(p.UserAgents) != 0 { // the event has none
				t.Errorf("events %d agents %+v", p.Events, p.UserAgents)
			}
		}},
		{"ip unknown", func() (*Profile, error) { return st.PivotIP(ctx, "192.0.2.1", PivotOptions{}) }, func(t *testing.T, p *Profile) {
			if p.Events != 0 || p.Timeline != nil {
				t.Errorf("profile = %+v", p)
			}
		}},
		{"principal new APIs", func() (*Profile, error) {
			return st.PivotPrincipal(ctx, "arn:aws:sts::111122223333:assumed-role/web-waf/i-0abc",
				PivotOptions{WindowStart: time.Date(2024, 5, 9, 20, 25, 30, 0, time.UTC), WindowEnd: time.Date(2024, 5, 9, 20, 30, 0, 0, time.UTC)})
		}, func(t *testing.T, p *Profile) {
			if p.Events != 2 || len(p.NewAPIs) != 1 || p.NewAPIs[0].EventName != "GetObject" {
				t.Errorf("events %d new APIs %+v", p.Events, p.NewAPIs)
			}
		}},
		{"event", func() (*Profile, error) { return st.PivotEvent(ctx, "StopLogging", PivotOptions{}) }, func(t *testing.T, p *Profile) {
			if p.Events != 1 || p.Failures != 1 || len(p.Principals) != 1 || p.Principals[0].Value != "arn:aws:iam::111122223333:user/alice" ||
				len(p.Addresses) != 1 || p.Addresses[0].Value != "198.51.100.23" || p.APIs[0].Failure != 1 {
				t.Errorf("profile = %+v", p)
			}
		}},
		{"key", func() (*Profile, error) { return st.PivotKey(ctx, "ASIAEXAMPLE1", PivotOptions{}) }, func(t *testing.T, p *Profile) {
			want := map[string]int64{"arn arn:aws:sts::111122223333:assumed-role/web-waf/i-0abc": 2, "type AssumedRole": 2,
				"issuer arn:aws:iam::111122223333:role/web-waf": 1, "user web-waf": 1}
			if p.Events != 2 || len(p.Identities) != len(want) {
				t.Fatalf("identities = %+v", p.Identities)
			}
			for _, c := range p.Identities {
				if want[c.Value] != c.Events {
					t.Errorf("identity %q = %d, want %d", c.Value, c.Events, want[c.Value])
				}
			}
		}},
		{"role session", func() (*Profile, error) {
			return st.PivotKey(ctx, "arn:aws:iam::111122223333:role/web-waf", PivotOptions{})
		}, func(t *testing.T, p *Profile) {
			if p.Events != 1 || p.APIs[0].EventName != "ListBuckets" {
				t.Errorf("profile = %+v", p)
			}
		}},
		{"window", func() (*Profile, error) {
			return st.PivotWindow(ctx, day, day.Add(24*time.Hour), PivotOptions{Bin: time.Hour})
		}, func(t *testing.T, p *Profile) {
			if p.Events != 3 || p.Failures != 1 || len(p.Addresses) != 2 || p.Addresses[0] != (Count{"203.0.113.7", 2}) || len(p.Timeline) != 2 {
				t.Errorf("profile = %+v", p)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.run()
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
			if _, err := json.Marshal(p); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestViewRelated: an anomaly's related ones are those of its entity, of the addresses and
// principals of its own events, and another principal's whose own events came from the same
// outside address, oldest first, itself left out; another principal's without such events, or
// an address it did not use, are not.
func TestViewRelated(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2024, 5, 9, 3, 10, 0, 0, time.UTC)
	st := newCase(t, [][]byte{
		secretRead("mallory", "prod/a", t0.Add(time.Second), 0),
		secretRead("mallory", "prod/b", t0.Add(2*time.Second), 1),
		secretRead("bob", "prod/c", t0.Add(3*time.Second), 0), // in the window, not one of a's own
		// mallory and carol behind the same private address: shared by everything inside.
		bytes.Replace(secretRead("mallory", "prod/d", t0.Add(4*time.Second), 2), []byte("198.51.100.9"), []byte("10.0.0.5"), 1),
		bytes.Replace(secretRead("carol", "prod/e", t0.Add(5*time.Second), 0), []byte("198.51.100.9"), []byte("10.0.0.5"), 1),
	})
	mallory, bob := "arn:aws:iam::111122223333:user/mallory", "arn:aws:iam::111122223333:user/bob"
	anom := func(id, entity, etype string, at time.Time, events ...string) finding.Anomaly {
		return finding.Anomaly{ID: id, Risk: 5, Direction: "inbound", WindowStart: at, WindowEnd: at.Add(5 * time.Minute),
			EntityType: etype, Entity: entity, Title: id, EventIDs: events}
	}
	a := anom("a", mallory, finding.EntityPrincipal, t0, "mallory-0", "mallory-1", "mallory-2")
	later := anom("later-ip", "198.51.100.9", finding.EntityIP, t0.Add(time.Hour))
	later.Risk = 7
	all := []finding.Anomaly{a, later,
		anom("earlier", mallory, finding.EntityPrincipal, t0.Add(-time.Hour)),
		anom("bob", bob, finding.EntityPrincipal, t0),
		anom("bob-same-ip", bob, finding.EntityPrincipal, t0, "bob-0"),
		anom("other-ip", "192.0.2.1", finding.EntityIP, t0),
		anom("carol-private", "arn:aws:iam::111122223333:user/carol", finding.EntityPrincipal, t0, "carol-0"),
	}
	mark, _ := st.EventsMark(ctx)
	if err := st.SaveAnalysis(ctx, all, nil, mark); err != nil {
		t.Fatal(err)
	}
	hours := RelatedFilter{Span: 2 * time.Hour}
	got, err := st.ViewRelated(ctx, a, hours)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	if strings.Join(ids, ",") != "earlier,bob-same-ip,later-ip" {
		t.Errorf("related to a: %v, want earlier,bob-same-ip,later-ip", ids)
	}
	if got, _ := st.ViewRelated(ctx, a, RelatedFilter{Span: 2 * time.Hour, Limit: 1}); len(got) != 1 || got[0].ID != "earlier" {
		t.Errorf("limit 1: %v", got)
	}
	if got, _ := st.ViewRelated(ctx, a, RelatedFilter{Span: 30 * time.Minute}); len(got) != 1 || got[0].ID != "bob-same-ip" {
		t.Errorf("half an hour either side: %v, want bob-same-ip only", got)
	}
	if got, _ := st.ViewRelated(ctx, a, RelatedFilter{Span: 2 * time.Hour, MinRisk: 6}); len(got) != 1 || got[0].ID != "later-ip" {
		t.Errorf("from risk 6: %v, want later-ip", got)
	}
	// An address the case trusts (its settings made its events internal) ties nothing either.
	if _, err := st.w.ExecContext(ctx, `UPDATE events SET direction = 'internal' WHERE source_ip = '198.51.100.9'`); err != nil {
		t.Fatal(err)
	}
	trusted, _ := st.ViewRelated(ctx, a, hours)
	if slices.ContainsFunc(trusted, func(r finding.Anomaly) bool { return r.ID == "bob-same-ip" }) {
		t.Errorf("related to a through a trusted address: %v", trusted)
	}
	// An anomaly without events of its own is related by its entity alone.
	if got, _ := st.ViewRelated(ctx, all[3], hours); len(got) != 1 || got[0].ID != "bob-same-ip" {
		t.Errorf("related to bob's: %v, want bob-same-ip only", got)
	}
}
