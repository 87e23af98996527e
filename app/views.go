package app

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trailscope/trailscope/data/cloudtrail"
	"github.com/trailscope/trailscope/data/finding"
	"github.com/trailscope/trailscope/data/store"
)

// Overview is what the dashboard shows for one time range: event counts, anomalies by risk, the
// anomalies themselves (highest risk first) and the per-direction series.
type Overview struct {
	From, To    time.Time
	Events      int64                      // events in range
	ByDirection map[string]int64           // events in range per direction
	RiskCounts  [11]int                    // anomalies in range per risk level (index 1–10)
	Anomalies   []finding.Anomaly          // anomalies in range, highest risk first
	Series      map[string][]finding.Point // per direction, in time order
	Indicators  []RuleHits                 // rules with matches in range, highest severity first
	// AnomalyRules names, per anomaly ID, the rule of highest severity that matched one of the
	// anomaly's events: the two ways of finding trouble agreeing on it.
	AnomalyRules map[string]store.Rule
	// RuleMarks are where rules matched, per direction and analysis bin, for the charts.
	RuleMarks []RuleMark
}

// RuleMark is where rules matched on one direction's chart: a bin, the rule of highest severity
// that matched in it, and how many events that rule matched there.
type RuleMark struct {
	Direction string
	From, To  time.Time
	Rule      store.Rule
	Events    int64
}

// RuleHits is a rule and how many events it matched in a range.
type RuleHits struct {
	Rule   store.Rule
	Events int64
}

// Indicators lists the rules with matches from one time to another, highest severity first, and
// how many each matched.
func (c *Case) Indicators(ctx context.Context, from, to time.Time) ([]RuleHits, error) {
	hits, _, err := c.indicators(ctx, from, to)
	return hits, err
}

// indicators is Indicators, with the case's rules it read (none when nothing matched in range).
func (c *Case) indicators(ctx context.Context, from, to time.Time) ([]RuleHits, []store.Rule, error) {
	hits, err := c.st.RuleHits(ctx, from, to)
	if err != nil || len(hits) == 0 {
		return nil, nil, err
	}
	rules, err := c.st.Rules(ctx) // highest severity first
	if err != nil {
		return nil, nil, err
	}
	var out []RuleHits
	for _, r := range rules {
		if n := hits[r.ID]; n > 0 {
			out = append(out, RuleHits{Rule: r, Events: n})
		}
	}
	return out, rules, nil
}

// Directions lists the three directions in the order the dashboard stacks them.
func Directions() []string {
	return []string{cloudtrail.Inbound, cloudtrail.Internal, cloudtrail.Outbound}
}

// TimeBounds returns the times of the first and last event of the case; ok is false when the
// case is empty.
func (c *Case) TimeBounds(ctx context.Context) (first, last time.Time, ok bool, err error) {
	return c.st.ViewTimeBounds(ctx)
}

// IsDemo reports whether the case holds generated demo data.
func (c *Case) IsDemo(ctx context.Context) (bool, error) {
	v, err := c.st.Setting(ctx, SettingDemo, "")
	return v == "true", err
}

// NeedsAnalysis reports whether the case has events the stored analysis was not made from.
func (c *Case) NeedsAnalysis(ctx context.Context) (bool, error) { return c.st.NeedsAnalysis(ctx) }

// Overview reads everything the dashboard draws for [from, to); zero times mean no bound.
func (c *Case) Overview(ctx context.Context, from, to time.Time) (Overview, error) {
	ov := Overview{From: from, To: to, Series: map[string][]finding.Point{}}
	counts, err := c.st.ViewEventCounts(ctx, from, to)
	if err != nil {
		return ov, fmt.Errorf("overview: %w", err)
	}
	ov.ByDirection = counts
	for _, n := range counts {
		ov.Events += n
	}
	ov.Anomalies, err = c.st.Anomalies(ctx, store.AnomalyFilter{From: from, To: to})
	if err != nil {
		return ov, fmt.Errorf("overview: %w", err)
	}
	for _, a := range ov.Anomalies {
		if a.Risk >= 1 && a.Risk <= 10 {
			ov.RiskCounts[a.Risk]++
		}
	}
	var rules []store.Rule
	if ov.Indicators, rules, err = c.indicators(ctx, from, to); err != nil {
		return ov, fmt.Errorf("overview: %w", err)
	}
	if ov.AnomalyRules, err = c.anomalyRules(ctx, ov.Anomalies, rules); err != nil {
		return ov, fmt.Errorf("overview: %w", err)
	}
	if ov.RuleMarks, err = c.ruleMarks(ctx, from, to, ov.Indicators); err != nil {
		return ov, fmt.Errorf("overview: %w", err)
	}
	pts, err := c.st.Series(ctx, "", from, to)
	if err != nil {
		return ov, fmt.Errorf("overview: %w", err)
	}
	for _, p := range pts {
		ov.Series[p.Direction] = append(ov.Series[p.Direction], p)
	}
	return ov, nil
}

// anomalyRules finds, per anomaly, the rule of highest severity that matched one of its events,
// among the case's rules (none when nothing matched in range). An anomaly's window may reach past
// the range, so the indicators are read over the anomalies' windows.
func (c *Case) anomalyRules(ctx context.Context, as []finding.Anomaly, rules []store.Rule) (map[string]store.Rule, error) {
	if len(as) == 0 || len(rules) == 0 {
		return nil, nil
	}
	from, to := as[0].WindowStart, as[0].WindowEnd
	for _, a := range as {
		from, to = minTime(from, a.WindowStart), maxTime(to, a.WindowEnd)
	}
	byEvent, err := c.st.EventRules(ctx, from, to)
	if err != nil || len(byEvent) == 0 {
		return nil, err
	}
	byID := map[int64]store.Rule{}
	for _, r := range rules {
		byID[r.ID] = r
	}
	out := map[string]store.Rule{}
	for _, a := range as {
		for _, id := range a.EventIDs {
			r, ok := byID[byEvent[id]]
			if best, had := out[a.ID]; ok && (!had || outranks(r, best)) {
				out[a.ID] = r
			}
		}
	}
	return out, nil
}

// minMarkSeverity is the least severity a rule's matches need to be marked on the charts: the
// low ones (SSM sessions, federation tokens) come all day and would hide the time axis; the
// Rule matches row lists them all.
const minMarkSeverity = 5

// ruleMarks places the rules' matches from one time to another on the charts: per direction and
// bin of the analysis, the rule of highest severity (ties by name), among those with matches.
func (c *Case) ruleMarks(ctx context.Context, from, to time.Time, hits []RuleHits) ([]RuleMark, error) {
	if len(hits) == 0 {
		return nil, nil
	}
	bin, err := c.Bin(ctx)
	if err != nil {
		return nil, err
	}
	bins, err := c.st.RuleBins(ctx, from, to, bin)
	if err != nil {
		return nil, err
	}
	byID := map[int64]store.Rule{}
	for _, h := range hits {
		byID[h.Rule.ID] = h.Rule
	}
	var out []RuleMark
	for _, b := range bins { // by bin, then direction
		r, ok := byID[b.RuleID]
		if !ok || r.Severity < minMarkSeverity {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Direction == b.Direction && out[n-1].From.Equal(b.Start) {
			if outranks(r, out[n-1].Rule) {
				out[n-1].Rule, out[n-1].Events = r, b.Events
			}
			continue
		}
		out = append(out, RuleMark{Direction: b.Direction, From: b.Start, To: b.Start.Add(bin), Rule: r, Events: b.Events})
	}
	return out, nil
}

// Bin is the width of the case's analysis bins (the bin_minutes setting, 5 minutes when unset).
func (c *Case) Bin(ctx context.Context) (time.Duration, error) {
	s, err := c.Setting(ctx, SettingBinMinutes)
	if err != nil {
		return 0, err
	}
	m, err := strconv.Atoi(s)
	if err != nil || m <= 0 {
		m = 5
	}
	return time.Duration(m) * time.Minute, nil
}

// outranks reports whether rule a comes before b where one rule speaks for several: the higher
// severity, then the name (as store.EventRules orders them).
func outranks(a, b store.Rule) bool {
	return a.Severity > b.Severity || a.Severity == b.Severity && a.Name < b.Name
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Anomaly reads one anomaly by its id.
func (c *Case) Anomaly(ctx context.Context, id string) (finding.Anomaly, error) {
	return c.st.ViewAnomaly(ctx, id)
}

// Anomalies lists anomalies, highest risk first.
func (c *Case) Anomalies(ctx context.Context, f store.AnomalyFilter) ([]finding.Anomaly, error) {
	return c.st.Anomalies(ctx, f)
}

// NoVerdict names, where a verdict is asked for, the anomalies not reviewed yet.
const NoVerdict = "none"

// SetVerdict records an analyst's verdict on an anomaly (one of finding.Verdicts) with a note,
// or with NoVerdict or "" takes it away. The verdict outlives the analysis running again.
func (c *Case) SetVerdict(ctx context.Context, anomalyID, verdict, note string) error {
	if verdict == NoVerdict {
		verdict = ""
	}
	if verdict != "" && !slices.Contains(finding.Verdicts, verdict) {
		return fmt.Errorf("verdict %q: want %s or %s", verdict, strings.Join(finding.Verdicts, ", "), NoVerdict)
	}
	if _, err := c.st.ViewAnomaly(ctx, anomalyID); err != nil {
		return err
	}
	return c.st.SetVerdict(ctx, anomalyID, verdict, strings.TrimSpace(note))
}

// WindowEventCount counts the events in [from, to).
func (c *Case) WindowEventCount(ctx context.Context, from, to time.Time) (int64, error) {
	counts, err := c.st.ViewEventCounts(ctx, from, to)
	var n int64
	for _, v := range counts {
		n += v
	}
	return n, err
}

// WindowEvents reads one page of the events in [from, to) for paged tables: the events named in
// first (an anomaly's own) come first and are marked, then the rest, each oldest first.
func (c *Case) WindowEvents(ctx context.Context, from, to time.Time, first []string, offset, limit int) ([]store.ViewEvent, error) {
	return c.st.ViewEvents(ctx, from, to, first, offset, limit)
}

// WindowAddresses lists the source addresses in [from, to) with their calls and failures, most
// calls first; limit 0 means all.
func (c *Case) WindowAddresses(ctx context.Context, from, to time.Time, limit int) ([]store.ViewAddress, error) {
	return c.st.ViewAddresses(ctx, from, to, limit)
}

// Related anomalies are looked for a day either side, where an intrusion's steps (credentials
// tried, then used, then data read) mostly fall, and from medium risk up: a busy role's routine
// low ones would bury them.
const (
	RelatedSpan    = 24 * time.Hour
	RelatedMinRisk = 4
)

// RelatedAnomalies lists the other anomalies of a's entity, of the addresses and principals of
// its own events, and those whose own events came from the same outside address, within
// RelatedSpan of it and from RelatedMinRisk up, oldest first, at most limit (0: all).
func (c *Case) RelatedAnomalies(ctx context.Context, a finding.Anomaly, limit int) ([]finding.Anomaly, error) {
	return c.st.ViewRelated(ctx, a, store.RelatedFilter{Span: RelatedSpan, MinRisk: RelatedMinRisk, Limit: limit})
}

// EventJSON returns the raw JSON of the event with the given row id (store.ViewEvent.ID).
func (c *Case) EventJSON(ctx context.Context, id int64) ([]byte, error) {
	return c.st.ViewEventJSON(ctx, id)
}
