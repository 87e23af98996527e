package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/trailscope/trailscope/data/ingest"
	"github.com/trailscope/trailscope/data/synth"
)

// DemoConfig says what demo organisation to generate.
type DemoConfig struct {
	Seed      uint64
	Days      int       // 7 when zero
	End       time.Time // end of the last day; DemoEnd when zero
	Scenarios []string  // injected into the last day; the 2019 intrusion when nil
}

// DemoEnd is the default end of the demo data: fixed, so that a seed always gives the same case.
var DemoEnd = time.Date(2024, 5, 10, 0, 0, 0, 0, time.UTC)

// DefaultDemoScenarios is the story the demo case tells: the 2019 intrusion.
var DefaultDemoScenarios = []string{capitalOne2019}

// capitalOne2019 is the scenario of the 2019 bucket theft, the demo's story.
const capitalOne2019 = "capital-one-2019"

// DemoScenarios names the attack scenarios a demo can inject.
func DemoScenarios() []string { return synth.ScenarioNames() }

// DemoScenarioInfo describes the attack scenarios a demo can inject, for a trainer to choose.
func DemoScenarioInfo() []synth.ScenarioInfo { return synth.Scenarios() }

func (d DemoConfig) synth() (synth.Config, error) {
	cfg := synth.Config{Seed: d.Seed, Days: d.Days, End: d.End}
	if cfg.End.IsZero() {
		cfg.End = DemoEnd
	}
	names := d.Scenarios
	if names == nil {
		names = DefaultDemoScenarios
	}
	known := DemoScenarios()
	for _, n := range names {
		ok := false
		for _, k := range known {
			ok = ok || k == n
		}
		if !ok {
			return cfg, fmt.Errorf("unknown scenario %q (known: %s)", n, strings.Join(known, ", "))
		}
		cfg.Scenarios = append(cfg.Scenarios, synth.ScenarioSpec{Name: n})
	}
	return cfg, nil
}

// ErrNotDemoCase is CreateDemo's refusal of a case that holds events of its own: generated
// events and attacks mixed into real logs could no longer be told apart from them.
var ErrNotDemoCase = errors.New("the case holds events that are not demo data")

// ValidateDemo checks a demo configuration without generating anything.
func ValidateDemo(d DemoConfig) error {
	_, err := d.synth()
	return err
}

// CreateDemo generates the demo organisation's traffic straight into the case (through the
// ordinary ingest pipeline), marks the case as demo data and analyses it. progress gets a stage
// name and the fraction done within it. The case must be empty or a demo case already (more
// scenarios may go into it: the organisation's traffic comes again the same for its seed and
// is stored once, so only what is new is added, and the labels of what was injected before
// stay); any other case gets ErrNotDemoCase and is left as it was. It returns how many events
// were added.
func (c *Case) CreateDemo(ctx context.Context, d DemoConfig, progress func(stage string, frac float64)) (added int64, err error) {
	return c.generateDemo(ctx, d, false, progress)
}

// generateDemo is CreateDemo; with scenariosOnly, the scenarios are generated without the
// organisation's traffic, which a demo case holds already (AddDemoScenario).
func (c *Case) generateDemo(ctx context.Context, d DemoConfig, scenariosOnly bool, progress func(stage string, frac float64)) (added int64, err error) {
	if progress == nil {
		progress = func(string, float64) {}
	}
	cfg, err := d.synth()
	if err != nil {
		return 0, err
	}
	demo, err := c.IsDemo(ctx)
	if err != nil {
		return 0, err
	}
	var before []synth.Label
	if !demo {
		_, _, has, err := c.TimeBounds(ctx)
		if err != nil {
			return 0, err
		}
		if has {
			return 0, fmt.Errorf("%w: %s already holds events; write the demo into a new case file", ErrNotDemoCase, c.Path())
		}
	} else if before, err = c.demoLabels(ctx); err != nil {
		return 0, err
	}
	cl, err := c.Classifier(ctx)
	if err != nil {
		return 0, err
	}
	// The generator writes JSON Lines into a pipe that the ingest pipeline reads as one input.
	labels := make(chan []synth.Label, 1)
	name, generate := fmt.Sprintf("demo:seed=%d", d.Seed), synth.Generate
	if scenariosOnly {
		// Its own name in the files table: the row of the organisation's traffic keeps its count.
		name, generate = fmt.Sprintf("demo:seed=%d scenarios=%s", d.Seed, strings.Join(d.Scenarios, ",")), synth.GenerateScenarios
	}
	in := ingest.Input{Name: name, Open: func(ctx context.Context) (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() {
			ls, err := generate(ctx, cfg, func(_ time.Time, raw []byte) error {
				if _, err := pw.Write(raw); err != nil {
					return err
				}
				_, err := pw.Write([]byte{'\n'})
				return err
			})
			labels <- ls
			pw.CloseWithError(err)
		}()
		return pr, nil
	}}
	expected := float64(cfg.Days) * 5.7 / 7 * float64(synth.DefaultEventsPerDay)
	if cfg.Days == 0 {
		expected = 5.7 * synth.DefaultEventsPerDay
	}
	sum, err := ingest.RunInputs(ctx, c.st, []ingest.Input{in}, ingest.Options{
		Classify: cl.Classify,
		Progress: func(p ingest.Progress) {
			switch p.Phase {
			case "loading":
				progress("generating", min(float64(p.Events)/expected, 1))
			case "sorting":
				progress("indexing columns", 0)
			case "indexing":
				progress("indexing text", float64(p.Indexed)/float64(max(p.IndexTotal(), 1)))
			}
		},
	})
	if err != nil {
		return sum.Added, fmt.Errorf("demo: %w", err)
	}
	if len(sum.Failed) > 0 {
		return sum.Added, fmt.Errorf("demo: %s", sum.Failed[0].Reason)
	}
	lb, _ := json.Marshal(mergeLabels(before, <-labels))
	for k, v := range map[string]string{SettingDemo: "true", settingDemoSeed: fmt.Sprint(d.Seed), settingDemoLabels: string(lb)} {
		if err := c.st.SetSetting(ctx, k, v); err != nil {
			return sum.Added, err
		}
	}
	return sum.Added, c.Analyze(ctx, true, func(done, total int64) {
		progress("analysing", float64(done)/float64(max(total, 1)))
	})
}

// WriteDemoFiles writes the demo organisation's traffic as S3-layout .json.gz files under dir
// and returns how many files it wrote.
func WriteDemoFiles(ctx context.Context, dir string, d DemoConfig) (int, error) {
	cfg, err := d.synth()
	if err != nil {
		return 0, err
	}
	// Checked first, so that a wrong path gets one plain error rather than one from deep inside
	// the generator.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("demo files: %w", err)
	}
	_, n, err := synth.WriteS3LayoutWithDigests(ctx, dir, cfg, 1000)
	return n, err
}

// mergeLabels is the labels of a demo case after more was generated into it: those before, then
// the new ones that were not among them (the same scenario at the same time is the same events).
func mergeLabels(before, added []synth.Label) []synth.Label {
	out := slices.Clone(before)
	for _, l := range added {
		if !slices.ContainsFunc(before, func(b synth.Label) bool { return b.Scenario == l.Scenario && b.Start.Equal(l.Start) }) {
			out = append(out, l)
		}
	}
	return out
}

// demoLabels reads what was injected into a demo case, none when that is not on record.
func (c *Case) demoLabels(ctx context.Context) ([]synth.Label, error) {
	raw, err := c.st.Setting(ctx, settingDemoLabels, "")
	if err != nil {
		return nil, err
	}
	var labels []synth.Label
	if raw != "" && json.Unmarshal([]byte(raw), &labels) != nil {
		labels = nil // unreadable: what it holds is not on record
	}
	return labels, nil
}

// AddDemoScenario injects one more attack scenario into the demo case, in its last day, for
// a trainer in front of a class: the scenario is generated alone, as the case's seed places it
// among the organisation's traffic over the same days. It returns how many events were added (0
// when the scenario was in the case already) and the scenario's label.
func (c *Case) AddDemoScenario(ctx context.Context, name string, progress func(stage string, frac float64)) (int64, synth.Label, error) {
	if demo, err := c.IsDemo(ctx); err != nil || !demo {
		if err == nil {
			err = fmt.Errorf("%w: scenarios go into demo cases only", ErrNotDemoCase)
		}
		return 0, synth.Label{}, err
	}
	raw, err := c.st.Setting(ctx, settingDemoSeed, "1")
	if err != nil {
		return 0, synth.Label{}, err
	}
	var seed uint64
	if _, err := fmt.Sscan(raw, &seed); err != nil {
		return 0, synth.Label{}, fmt.Errorf("the demo case's seed %q: %w", raw, err)
	}
	first, _, _, err := c.TimeBounds(ctx)
	if err != nil {
		return 0, synth.Label{}, err
	}
	// The days it was made with: those from its first event to the end of the demo data.
	days := max(1, int(math.Ceil(DemoEnd.Sub(first).Hours()/24)))
	added, err := c.generateDemo(ctx, DemoConfig{Seed: seed, Days: days, Scenarios: []string{name}}, true, progress)
	if err != nil {
		return added, synth.Label{}, err
	}
	labels, err := c.demoLabels(ctx)
	for i := len(labels) - 1; i >= 0; i-- {
		if labels[i].Scenario == name {
			return added, labels[i], err
		}
	}
	return added, synth.Label{}, err
}

// settingDemoSeed holds the seed a demo case was generated from.
const settingDemoSeed = "demo_seed"

// settingDemoLabels holds a demo case's labels (synth.Label, JSON): what was injected, when.
const settingDemoLabels = "demo_labels"

// DemoNote says what a demo case holds, for a banner over it (which attack stories, from when),
// or "" for a case of real logs: a trainer's case may hold any scenario, or none.
func (c *Case) DemoNote(ctx context.Context) (string, error) {
	if demo, err := c.IsDemo(ctx); err != nil || !demo {
		return "", err
	}
	const lead, tail = "Demo data — a generated sample organisation", ". Not real logs."
	labels, err := c.demoLabels(ctx)
	if err != nil {
		return "", err
	}
	if labels == nil {
		return lead + tail, nil // what it holds is not on record; that it is generated is
	}
	var stories []string
	for _, l := range labels {
		if l.Benign {
			continue
		}
		name := "the " + l.Scenario + " scenario"
		if l.Scenario == capitalOne2019 {
			name = "the 2019 bucket-theft story"
		}
		stories = append(stories, name+" ("+l.Start.UTC().Format("Jan 2 15:04")+" UTC)")
	}
	switch n := len(stories); n {
	case 0:
		return lead + ", with no attack in it" + tail, nil
	case 1:
		return lead + ", with " + stories[0] + tail, nil
	default:
		return lead + ", with " + strings.Join(stories[:n-1], ", ") + " and " + stories[n-1] + tail, nil
	}
}
