// Package eval measures the anomaly engine against labelled synthetic attacks and clean days:
// for each scenario, the highest risk reached, its rank and whether the attack's key events are
// inside the anomaly; for a clean day, how many anomalies each risk level gets.
package eval

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trailscope/trailscope/analytics/baseline"
	"github.com/trailscope/trailscope/analytics/direction"
	"github.com/trailscope/trailscope/data/cloudtrail"
	"github.com/trailscope/trailscope/data/synth"
)

// Config sets the size of the generated organisation's history.
type Config struct {
	Days         int       // days of traffic, the scenario's day included
	EventsPerDay int       // ordinary events per day
	End          time.Time // end of the generated period
	Direction    direction.Settings
	Engine       baseline.Options
}

// Outcome is how the engine did on one injected scenario.
type Outcome struct {
	Seed      uint64
	Scenario  string
	At        time.Time
	Events    int     // events analysed
	MaxRisk   int     // highest risk of an anomaly holding a key event; 0 if none does
	Rank      int     // that anomaly's place among all anomalies, highest risk first (1 = top)
	Title     string  // that anomaly's title
	Score     float64 // that anomaly's score
	KeyEvents int     // key events the label names
	KeyInTop  int     // of those, inside that anomaly
	KeyInAny  int     // of those, inside any anomaly at risk ≥ 7
}

// Hit reports whether the scenario met the target: risk ≥ 9 with its key events inside.
func (o Outcome) Hit() bool { return o.MaxRisk >= 9 && o.KeyInAny == o.KeyEvents && o.KeyInTop > 0 }

// Scenario generates cfg's history for seed with one scenario injected at `at`, analyses it and
// reports where the scenario's key events ended up.
func Scenario(ctx context.Context, cfg Config, seed uint64, name string, at time.Time) (Outcome, error) {
	res, labels, n, err := analyze(ctx, cfg, seed, []synth.ScenarioSpec{{Name: name, At: at}})
	if err != nil {
		return Outcome{}, fmt.Errorf("scenario %s seed %d: %w", name, seed, err)
	}
	o := Outcome{Seed: seed, Scenario: name, At: at, Events: n}
	keys := map[string]bool{}
	for _, l := range labels {
		if l.Scenario == name && !l.Benign {
			for _, id := range l.KeyEventIDs {
				keys[id] = true
			}
		}
	}
	o.KeyEvents = len(keys)
	inAny := map[string]bool{}
	for i, a := range res.Anomalies {
		in := 0
		for _, id := range a.EventIDs {
			if keys[id] {
				in++
				if a.Risk >= 7 {
					inAny[id] = true
				}
			}
		}
		if in > 0 && (a.Risk > o.MaxRisk || a.Risk == o.MaxRisk && in > o.KeyInTop) {
			o.MaxRisk, o.Rank, o.Title, o.KeyInTop, o.Score = a.Risk, i+1, a.Title, in, a.Score
		}
	}
	o.KeyInAny = len(inAny)
	return o, nil
}

// Clean is how the engine did on a day without attacks.
type Clean struct {
	Seed    uint64
	Events  int            // events analysed, the whole history
	PerRisk [11]int        // anomalies of the last day per risk level
	Between [11]int        // anomalies per risk level between the first day and the last
	Days    int            // days of traffic in the run
	Benign  map[string]int // harmless oddities the generator planted, and the highest risk each got
}

// HighRisk counts the last day's anomalies at risk ≥ 7.
func (c Clean) HighRisk() int { return c.PerRisk[7] + c.PerRisk[8] + c.PerRisk[9] + c.PerRisk[10] }

// CleanDay generates cfg's history for seed with no scenario and counts the anomalies of its
// last day per risk level, and of the days between the first (which has no history) and the
// last, where a trainer choosing a whole week sees them too.
func CleanDay(ctx context.Context, cfg Config, seed uint64) (Clean, error) {
	res, labels, n, err := analyze(ctx, cfg, seed, nil)
	if err != nil {
		return Clean{}, fmt.Errorf("clean day seed %d: %w", seed, err)
	}
	c := Clean{Seed: seed, Events: n, Benign: map[string]int{}, Days: cfg.Days}
	from := cfg.End.Add(-24 * time.Hour)
	second := cfg.End.Add(-time.Duration(cfg.Days-1) * 24 * time.Hour)
	for _, a := range res.Anomalies {
		switch {
		case !a.WindowStart.Before(from):
			c.PerRisk[a.Risk]++
		case !a.WindowStart.Before(second):
			c.Between[a.Risk]++
		}
	}
	for _, l := range labels {
		if !l.Benign {
			continue
		}
		keys := map[string]bool{}
		for _, id := range l.KeyEventIDs {
			keys[id] = true
		}
		c.Benign[l.Scenario] = 0
		for _, a := range res.Anomalies {
			for _, id := range a.EventIDs {
				if keys[id] {
					c.Benign[l.Scenario] = max(c.Benign[l.Scenario], a.Risk)
					break
				}
			}
		}
	}
	return c, nil
}

// analyze generates, decodes, classifies and analyses one synthetic history. The generator emits
// in time order, so events stream straight into the engine, as they would from the store.
func analyze(ctx context.Context, cfg Config, seed uint64, specs []synth.ScenarioSpec) (baseline.Result, []synth.Label, int, error) {
	cls := direction.New(cfg.Direction)
	eng := baseline.NewEngine(cfg.Engine)
	n := 0
	labels, err := synth.Generate(ctx, synth.Config{Seed: seed, Days: cfg.Days, End: cfg.End,
		EventsPerDay: cfg.EventsPerDay, Scenarios: specs}, func(_ time.Time, raw []byte) error {
		e, err := cloudtrail.Extract(raw)
		if err != nil {
			return fmt.Errorf("extract generated event: %w", err)
		}
		e.Direction = cls.Classify(&e)
		e.Raw = nil // the engine reads extracted fields only, as it does from the store
		n++
		return eng.Add(&e)
	})
	if err != nil {
		return baseline.Result{}, nil, 0, fmt.Errorf("generate: %w", err)
	}
	res := eng.Finish()
	for _, note := range res.Notes {
		if strings.Contains(note, "out of time order") {
			return res, labels, n, fmt.Errorf("generated events: %s", note)
		}
	}
	return res, labels, n, nil
}

// WriteOutcomes prints the per-scenario table.
func WriteOutcomes(w io.Writer, outs []Outcome) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tseed\tat\tmax risk\trank\tkey events in top\tin risk≥7\tok\ttitle")
	for _, o := range outs {
		ok := "no"
		if o.Hit() {
			ok = "yes"
		}
		title := o.Title
		if len(title) > 110 {
			title = title[:110] + "…"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%d/%d\t%d/%d\t%s\t%s\n", o.Scenario, o.Seed, o.At.Format("01-02 15:04"),
			o.MaxRisk, o.Rank, o.KeyInTop, o.KeyEvents, o.KeyInAny, o.KeyEvents, ok, title)
	}
	return tw.Flush()
}

// WriteCleanDay prints one clean day's anomalies per risk level and the planted oddities' risk.
func WriteCleanDay(w io.Writer, c Clean) {
	var b strings.Builder
	for r := 10; r >= 1; r-- {
		fmt.Fprintf(&b, " r%d:%d", r, c.PerRisk[r])
	}
	fmt.Fprintf(w, "clean day seed %d (%d events in the run): risk 10: %d, risk ≥ 7: %d |%s\n", c.Seed, c.Events, c.PerRisk[10], c.HighRisk(), b.String())
	if c.Days > 2 {
		fmt.Fprintf(w, "  the days between the first and the last: risk 10: %d, risk 9: %d, risk 7-8: %d\n", c.Between[10], c.Between[9], c.Between[7]+c.Between[8])
	}
	names := make([]string, 0, len(c.Benign))
	for n := range c.Benign {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(w, "  benign oddity %-28s highest risk %d\n", n, c.Benign[n])
	}
}
