package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trailscope/trailscope/data/store"
	"github.com/trailscope/trailscope/data/synth"
)

// TestCreateDemo builds a small demo case end to end: generated, loaded, marked as demo data
// and analysed, with the 2019 intrusion's events in it; the same seed gives the same case.
func TestCreateDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and analyses two days of traffic")
	}
	ctx := context.Background()
	build := func(name string) (*Case, store.Info) {
		c, err := Open(ctx, filepath.Join(t.TempDir(), name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		var stages []string
		_, err = c.CreateDemo(ctx, DemoConfig{Seed: 7, Days: 2}, func(stage string, _ float64) {
			if len(stages) == 0 || stages[len(stages)-1] != stage {
				stages = append(stages, stage)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(stages) < 2 {
			t.Errorf("progress stages %v", stages)
		}
		in, err := c.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return c, in
	}
	c, in := build("a.tsc")
	if in.Events < 20000 || len(in.Accounts) < 2 || len(in.Regions) < 2 {
		t.Errorf("demo case holds %d events, %d accounts, %d regions", in.Events, len(in.Accounts), len(in.Regions))
	}
	if demo, err := c.IsDemo(ctx); err != nil || !demo {
		t.Errorf("demo case not marked as demo data (%v)", err)
	}
	if note, err := c.DemoNote(ctx); err != nil || !strings.Contains(note, "the 2019 bucket-theft story (May 9 ") {
		t.Errorf("demo note %q (%v): want the 2019 story on its last day", note, err)
	}
	if need, _ := c.NeedsAnalysis(ctx); need {
		t.Error("demo case not analysed")
	}
	f, err := Compile("eventName:ListBuckets", in.FirstEvent.AddDate(0, 0, 1), in.LastEvent.Add(1))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.Count(ctx, f); err != nil || n == 0 {
		t.Errorf("no ListBuckets on the last day (%d, %v)", n, err)
	}
	_, again := build("b.tsc")
	if again.Events != in.Events || *again.LastEvent != *in.LastEvent {
		t.Errorf("same seed gave %d events, then %d", in.Events, again.Events)
	}
}

// TestDemoNote: the banner over a demo case names what was injected and when, or that nothing
// was; a case of real logs has none.
func TestDemoNote(t *testing.T) {
	ctx := context.Background()
	c, err := Open(ctx, filepath.Join(t.TempDir(), "c.tsc"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	at := time.Date(2024, 5, 9, 16, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		demo   bool
		labels any // stored as JSON; nil stores nothing
		want   string
	}{
		{false, nil, ""},
		{true, nil, "Demo data — a generated sample organisation. Not real logs."},
		{true, []synth.Label{{Scenario: "capital-one-2019", Start: at.Add(-13 * time.Hour)}},
			"Demo data — a generated sample organisation, with the 2019 bucket-theft story (May 9 03:00 UTC). Not real logs."},
		{true, []synth.Label{{Scenario: "root-use", Start: at}, {Scenario: "benign-new-address", Benign: true, Start: at}},
			"Demo data — a generated sample organisation, with the root-use scenario (May 9 16:00 UTC). Not real logs."},
		{true, []synth.Label{{Scenario: "iam-backdoor", Start: at}, {Scenario: "root-use", Start: at}, {Scenario: "defence-evasion", Start: at}},
			"Demo data — a generated sample organisation, with the iam-backdoor scenario (May 9 16:00 UTC), the root-use scenario (May 9 16:00 UTC) and the defence-evasion scenario (May 9 16:00 UTC). Not real logs."},
		{true, []synth.Label{{Scenario: "benign-monthly-report", Benign: true, Start: at}},
			"Demo data — a generated sample organisation, with no attack in it. Not real logs."},
	} {
		if err := c.st.SetSetting(ctx, SettingDemo, fmt.Sprint(tt.demo)); err != nil {
			t.Fatal(err)
		}
		raw := ""
		if tt.labels != nil {
			b, _ := json.Marshal(tt.labels)
			raw = string(b)
		}
		if err := c.st.SetSetting(ctx, settingDemoLabels, raw); err != nil {
			t.Fatal(err)
		}
		if got, err := c.DemoNote(ctx); err != nil || got != tt.want {
			t.Errorf("demo %v, labels %s: note %q, %v; want %q", tt.demo, raw, got, err, tt.want)
		}
	}
}

// TestAddDemoScenario: a trainer adds an attack to the demo case; only its events are new, the
// banner names it beside the story already there, adding it again adds nothing, and a case of
// real logs refuses it.
func TestAddDemoScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a day of an organisation twice")
	}
	ctx := context.Background()
	c, err := Open(ctx, filepath.Join(t.TempDir(), "demo.tsc"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.CreateDemo(ctx, DemoConfig{Seed: 4, Days: 1}, nil); err != nil {
		t.Fatal(err)
	}
	root, _ := Compile("userIdentity.type:Root", time.Time{}, time.Time{})
	if n, _ := c.Count(ctx, root); n != 0 {
		t.Fatalf("the organisation alone has %d root events", n)
	}
	added, label, err := c.AddDemoScenario(ctx, "root-use", nil)
	if err != nil || added == 0 || label.Scenario != "root-use" || label.Start.Before(DemoEnd.AddDate(0, 0, -1)) {
		t.Fatalf("add root-use: %d added, %+v, %v", added, label, err)
	}
	if n, _ := c.Count(ctx, root); n != added {
		t.Errorf("%d events added, %d of them root's: the organisation came in twice?", added, n)
	}
	// The scenario was generated alone, and recorded as an input of its own.
	var org, scen int64
	err = c.st.DB().QueryRowContext(ctx, `SELECT (SELECT events FROM files WHERE path = 'demo:seed=4'),
		(SELECT events FROM files WHERE path = 'demo:seed=4 scenarios=root-use')`).Scan(&org, &scen)
	if err != nil || org < 20000 || scen != added {
		t.Errorf("files: the organisation read %d events, the scenario %d (%v); want a day's and %d", org, scen, err, added)
	}
	note, _ := c.DemoNote(ctx)
	if !strings.Contains(note, "the 2019 bucket-theft story") || !strings.Contains(note, "the root-use scenario") {
		t.Errorf("banner %q names not both", note)
	}
	if again, _, err := c.AddDemoScenario(ctx, "root-use", nil); err != nil || again != 0 {
		t.Errorf("root-use again: %d added, %v; want nothing new", again, err)
	}
	if _, _, err := c.AddDemoScenario(ctx, "no-such-attack", nil); err == nil {
		t.Error("an unknown scenario was accepted")
	}
	real, err := Open(ctx, filepath.Join(t.TempDir(), "real.tsc"))
	if err != nil {
		t.Fatal(err)
	}
	defer real.Close()
	if _, _, err := real.AddDemoScenario(ctx, "root-use", nil); !errors.Is(err, ErrNotDemoCase) {
		t.Errorf("into a case of real logs: %v, want ErrNotDemoCase", err)
	}
}
