package eval

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

var full = flag.Bool("full", false, "run the evaluation at full size: several seeds and timings, 32,000 events a day")

var scenarios = []string{"capital-one-2019", "cloudtrail-tampering", "iam-backdoor", "console-no-mfa",
	"snapshot-ami-sharing", "secrets-bulk-read", "unused-region-instances", "accessdenied-enumeration",
	"defence-evasion", "root-use"}

func evalConfig() (Config, []uint64, []time.Duration) {
	cfg := Config{Days: 8, EventsPerDay: 8000, End: time.Date(2024, 5, 10, 0, 0, 0, 0, time.UTC)}
	seeds := []uint64{11}
	// Offsets before End: the scenario's day is the eighth, after a week of history.
	timings := []time.Duration{-9*time.Hour - 35*time.Minute}
	if *full {
		cfg.EventsPerDay = 32000
		seeds = []uint64{11, 23, 47}
		timings = []time.Duration{-21*time.Hour - 10*time.Minute, -13*time.Hour - 25*time.Minute, -4*time.Hour - 50*time.Minute}
	}
	return cfg, seeds, timings
}

// TestEval injects every scenario into a week of generated traffic and checks the targets:
// each reaches risk ≥ 9 with its key events inside, and a clean day stays quiet.
func TestEval(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluation skipped in -short mode")
	}
	cfg, seeds, timings := evalConfig()
	ctx := context.Background()
	outs := scenarioRuns(t, cfg, seeds, timings)
	var sb strings.Builder
	if err := WriteOutcomes(&sb, outs); err != nil {
		t.Fatal(err)
	}
	report(t, sb.String())
	for _, o := range outs {
		if !o.Hit() {
			t.Errorf("%s seed %d at %s: max risk %d, key events %d/%d in top, %d/%d in risk ≥ 7",
				o.Scenario, o.Seed, o.At.Format(time.RFC3339), o.MaxRisk, o.KeyInTop, o.KeyEvents, o.KeyInAny, o.KeyEvents)
		}
	}
	for _, seed := range seeds {
		c, err := CleanDay(ctx, cfg, seed)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		WriteCleanDay(&b, c)
		report(t, b.String())
		if c.PerRisk[10] > 5 || c.HighRisk() > 20 {
			t.Errorf("clean day seed %d: %d at risk 10 (max 5), %d at risk ≥ 7 (max 20)", seed, c.PerRisk[10], c.HighRisk())
		}
	}
}

// TestEvalOneDay injects every scenario into a single day of traffic, as an auditor's one-day
// export holds it, and runs a clean day alone. With no history before the day, risk is lowered
// (by up to 2) and nothing can be critical; this measures where the scenarios rank among the
// day's anomalies and how loud the clean day is. It requires only that each scenario's key
// events make an anomaly: over a day with no history, principals turning up for the first time
// crowd its top, and the ranks are a measurement to improve, not yet a target.
func TestEvalOneDay(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluation skipped in -short mode")
	}
	cfg, seeds, _ := evalConfig()
	cfg.Days = 1
	timings := []time.Duration{-9*time.Hour - 35*time.Minute}
	if *full {
		timings = []time.Duration{-13*time.Hour - 25*time.Minute, -4*time.Hour - 50*time.Minute}
	}
	outs := scenarioRuns(t, cfg, seeds, timings)
	var top1, top3, top10 int
	for _, o := range outs {
		if o.MaxRisk == 0 {
			t.Errorf("%s seed %d at %s: no anomaly holds its key events", o.Scenario, o.Seed, o.At.Format("15:04"))
			continue
		}
		top1 += btoi(o.Rank == 1)
		top3 += btoi(o.Rank <= 3)
		top10 += btoi(o.Rank <= 10)
	}
	var sb strings.Builder
	if err := WriteOutcomes(&sb, outs); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&sb, "one-day logs: the scenario's anomaly ranks first in %d of %d runs, in the top 3 in %d, in the top 10 in %d\n",
		top1, len(outs), top3, top10)
	for _, seed := range seeds {
		c, err := CleanDay(context.Background(), cfg, seed)
		if err != nil {
			t.Fatal(err)
		}
		WriteCleanDay(&sb, c)
	}
	report(t, sb.String())
}

// scenarioRuns injects every scenario for each seed at each offset before cfg.End.
func scenarioRuns(t *testing.T, cfg Config, seeds []uint64, timings []time.Duration) []Outcome {
	t.Helper()
	var outs []Outcome
	for _, seed := range seeds {
		for _, name := range scenarios {
			for _, off := range timings {
				o, err := Scenario(context.Background(), cfg, seed, name, cfg.End.Add(off))
				if err != nil {
					t.Fatal(err)
				}
				outs = append(outs, o)
			}
		}
	}
	return outs
}

// report logs a table, and prints it too under -v, where make eval reads it.
func report(t *testing.T, text string) {
	t.Helper()
	t.Log("\n" + text)
	if testing.Verbose() {
		os.Stdout.WriteString(text)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
