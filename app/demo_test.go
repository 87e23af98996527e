package app

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/trailscope/trailscope/data/store"
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
		err = c.CreateDemo(ctx, DemoConfig{Seed: 7, Days: 2}, func(stage string, _ float64) {
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
