// Package synth generates a synthetic organisation's CloudTrail traffic, deterministically from a
// seed, with labelled attack scenarios injected by name: the demo case, the baseline engine's
// evaluation corpus and the ingest benchmark's S3-layout files all come from here.
//
// A seed describes one organisation (four accounts, two or three regions, a dozen or two people
// with their habits, EC2/Lambda/ECS workloads, a CI pipeline, AWS services, a partner and a
// billing tool). Its traffic follows working hours, weekdays and heavy-tailed bursts, with
// ordinary errors and three harmless oddities that are labelled Benign. Each part of the model
// draws from its own PCG stream, so injecting a scenario adds its events and changes nothing
// else: evaluation can compare runs with and without an attack event for event.
//
// For the ingest benchmark, Config.TotalEvents = 1_000_000 with WriteS3Layout(…, 1000) gives
// about a million events in a little over a thousand files (each account, region and day ends
// with one partly filled file).
package synth

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Config says what traffic to generate.
type Config struct {
	// Seed selects the organisation, its people and workloads, and every random detail.
	Seed uint64
	// Days of history, ending at End; 7 when zero.
	Days int
	// End is the end of the last day (exclusive), in UTC. Required: the generator never reads the clock.
	End time.Time
	// EventsPerDay is the expected number of ordinary events on a weekday (UTC); 32,000 when zero.
	// Weekends and nights are quieter, so a week holds about 5.7 times this.
	EventsPerDay int
	// TotalEvents, when positive, overrides EventsPerDay so that the whole window holds about this
	// many ordinary events (within a few per cent: volumes are random and heavy-tailed).
	TotalEvents int
	// Scenarios to inject; see ScenarioNames.
	Scenarios []ScenarioSpec
}

// ScenarioSpec asks for one attack scenario.
type ScenarioSpec struct {
	Name string
	// At is when the scenario starts; zero lets the seed choose a time inside the last day.
	At time.Time
}

// Label describes one injected scenario, or one harmless oddity of the background traffic that a
// detector should not flag (Benign).
type Label struct {
	Scenario string
	Benign   bool
	// Start and End bound the labelled events (End is the last event's time).
	Start, End time.Time
	// KeyEventIDs are the events a detection must stand on, in time order.
	KeyEventIDs []string
	Description string
	// Account is the recipient account; Principal the ARN acting; SourceIP the caller's address.
	Account, Principal, SourceIP string

	times []int64 // of KeyEventIDs, to sort them
}

// Defaults used when Config leaves a field zero.
const (
	DefaultDays         = 7
	DefaultEventsPerDay = 32000
)

// Generate emits every event of cfg, in time order, as compact CloudTrail JSON (a fresh slice the
// caller may keep), and returns the labels of the injected scenarios and benign oddities. Memory
// stays bounded by a few minutes of traffic whatever Days and EventsPerDay are.
func Generate(ctx context.Context, cfg Config, emit func(t time.Time, raw []byte) error) ([]Label, error) {
	return generate(ctx, cfg, func(e *queued) error { return emit(time.Unix(e.t, 0).UTC(), e.raw) })
}

// queued is a rendered event waiting for its minute.
type queued struct {
	t      int64
	seq    uint64
	raw    []byte
	acct   *account
	region string
}

// gen is one generation run.
type gen struct {
	cfg        Config
	org        *org
	pop        *population
	rend       renderer
	r          *rand.Rand // background traffic
	start, end int64      // unix seconds, [start, end)
	cur        int64      // minute being generated
	bins       map[int64][]queued
	seq        uint64
	scratch    []byte
	c          call
	labels     []*Label // benign oddities, then scenarios
}

func (cfg *Config) normalise() error {
	if cfg.End.IsZero() {
		return errors.New("synth: Config.End is required (the generator never reads the clock)")
	}
	if cfg.Days == 0 {
		cfg.Days = DefaultDays
	}
	if cfg.Days < 0 || cfg.Days > 3660 {
		return fmt.Errorf("synth: Days %d out of range 1..3660", cfg.Days)
	}
	if cfg.EventsPerDay == 0 {
		cfg.EventsPerDay = DefaultEventsPerDay
	}
	if cfg.EventsPerDay < 500 {
		return fmt.Errorf("synth: EventsPerDay %d too small (at least 500: the organisation's steady service traffic alone is a few hundred a day)", cfg.EventsPerDay)
	}
	if cfg.TotalEvents < 0 {
		return fmt.Errorf("synth: TotalEvents %d is negative", cfg.TotalEvents)
	}
	cfg.End = cfg.End.UTC().Truncate(time.Second)
	return nil
}

func newGen(cfg Config) (*gen, error) {
	if err := cfg.normalise(); err != nil {
		return nil, err
	}
	g := &gen{cfg: cfg, bins: map[int64][]queued{}}
	g.end = cfg.End.Unix()
	g.start = g.end - int64(cfg.Days)*86400
	g.org = newOrg(cfg.Seed)
	g.rend.org = g.org
	g.r = newRand(cfg.Seed, "traffic")
	g.pop = newPopulation(g)
	g.calibrate()
	g.cur = g.start/60 - 1
	for i := range g.cfg.Scenarios {
		if err := g.inject(i); err != nil {
			return nil, err
		}
	}
	return g, nil
}

func generate(ctx context.Context, cfg Config, emit func(*queued) error) ([]Label, error) {
	g, err := newGen(cfg)
	if err != nil {
		return nil, err
	}
	first, last := g.start/60, (g.end+59)/60
	for m := first; m < last; m++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("synth: generate minute %s: %w", time.Unix(m*60, 0).UTC().Format(time.RFC3339), err)
		}
		g.cur = m
		g.pop.tick(g, m)
		if err := g.flush(m, emit); err != nil {
			return nil, err
		}
	}
	return g.finishLabels(), nil
}

// GenerateScenarios emits only the events of cfg's scenarios, each exactly as Generate emits it
// among the organisation's traffic, and returns their labels: what a case holding that traffic
// already lacks. The scenarios are rendered as the generator starts, before any traffic (whose
// stream they leave alone, TestScenarioLeavesBackground), so nothing else needs generating: an
// attack goes into a demo case without its week of traffic made again.
func GenerateScenarios(ctx context.Context, cfg Config, emit func(t time.Time, raw []byte) error) ([]Label, error) {
	g, err := newGen(cfg)
	if err != nil {
		return nil, err
	}
	for _, m := range slices.Sorted(maps.Keys(g.bins)) {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("synth: generate scenarios: %w", err)
		}
		err := g.flush(m, func(e *queued) error { return emit(time.Unix(e.t, 0).UTC(), e.raw) })
		if err != nil {
			return nil, err
		}
	}
	var labels []Label
	for _, l := range g.finishLabels() {
		if !l.Benign {
			labels = append(labels, l)
		}
	}
	return labels, nil
}

// flush emits the events queued for minute m in time order, the order they were made in within
// a second.
func (g *gen) flush(m int64, emit func(*queued) error) error {
	q := g.bins[m]
	delete(g.bins, m)
	slices.SortFunc(q, func(a, b queued) int {
		if a.t != b.t {
			return int(a.t - b.t)
		}
		return int(int64(a.seq) - int64(b.seq))
	})
	for i := range q {
		if err := emit(&q[i]); err != nil {
			return fmt.Errorf("synth: emit event at %s: %w", time.Unix(q[i].t, 0).UTC().Format(time.RFC3339), err)
		}
	}
	return nil
}

// emit renders c and queues it for its minute; it returns the eventID, or "" when c falls outside
// the window.
func (g *gen) emit(r *rand.Rand, c *call) string {
	if c.t < g.start || c.t >= g.end {
		return ""
	}
	m := c.t / 60
	if m < g.cur {
		panic(fmt.Sprintf("synth: %s scheduled at %d, before the current minute %d", c.api.id, m, g.cur))
	}
	b, id := g.rend.render(g.scratch[:0], c, r)
	g.scratch = b
	raw := make([]byte, len(b))
	copy(raw, b)
	g.seq++
	g.bins[m] = append(g.bins[m], queued{t: c.t, seq: g.seq, raw: raw, acct: c.acct, region: c.region})
	return id
}

// newCall resets the shared call buffer for a record. The buffer is reused because its vars
// array is large; every caller fills it and emits it before the next newCall.
func (g *gen) newCall(t int64, a *account, region string, ap *api, s *session, ip, ua string) *call {
	c := &g.c
	*c = call{t: t, acct: a, region: region, api: ap, sess: s, ip: ip, ua: ua}
	// Placeholders resolved before rendering (by fail or an actor) draw from the background
	// stream; rendering switches to the stream of whoever emits.
	c.v.reset(&g.rend, c, g.r)
	return c
}

// fail turns c into an ordinary error response with the given probabilities of AccessDenied, an
// API-specific error and throttling.
func (g *gen) fail(r *rand.Rand, c *call, pDeny, pAPI, pThrottle float64) {
	x := r.Float64()
	switch {
	case x < pDeny:
		c.errCode, c.errMsg = accessDenied(c)
	case x < pDeny+pAPI && len(c.api.errs) > 0:
		e := c.api.errs[r.IntN(len(c.api.errs))]
		c.errCode, c.errMsg = e.code, e.msg
		if strings.Contains(e.msg, "%s") {
			c.errMsg = strings.Replace(e.msg, "%s", c.errSubject(), 1)
		}
	case x < pDeny+pAPI+pThrottle:
		c.errCode, c.errMsg = throttled(c.api)
	}
}

func (c *call) errSubject() string {
	switch c.api.iamPrefix {
	case "iam":
		if strings.Contains(c.api.name, "Role") {
			return c.v.get(phRole)
		}
		return c.v.get(phUser)
	case "lambda":
		return c.region + ":" + c.acct.id + ":function:" + c.v.get(phFn)
	case "rds":
		return c.v.get(phDB)
	}
	return c.acct.id
}

func (g *gen) finishLabels() []Label {
	out := make([]Label, 0, len(g.labels))
	for _, l := range g.labels {
		if len(l.KeyEventIDs) == 0 {
			continue // the oddity fell outside the window (or the person stayed home)
		}
		idx := make([]int, len(l.KeyEventIDs))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int { return int(l.times[a] - l.times[b]) })
		ids := make([]string, len(idx))
		for i, j := range idx {
			ids[i] = l.KeyEventIDs[j]
		}
		c := *l
		c.KeyEventIDs, c.times = ids, nil
		out = append(out, c)
	}
	return out
}

// addLabel registers a label to be filled while events are generated.
func (g *gen) addLabel(l *Label) *Label {
	g.labels = append(g.labels, l)
	return l
}

// note records an event in a label.
func (l *Label) note(id string, t int64) {
	if id == "" {
		return
	}
	tt := time.Unix(t, 0).UTC()
	if len(l.KeyEventIDs) == 0 || tt.Before(l.Start) {
		l.Start = tt
	}
	if tt.After(l.End) {
		l.End = tt
	}
	l.KeyEventIDs = append(l.KeyEventIDs, id)
	l.times = append(l.times, t)
}
