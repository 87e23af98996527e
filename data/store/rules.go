package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Rule is a saved query that runs on a schedule: each event it matches becomes an indicator.
type Rule struct {
	ID          int64    `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Query       string   `json:"query"`
	Every       int      `json:"every_minutes"` // how often it runs
	Stage       string   `json:"stage"`         // kill-chain stage (an ATT&CK tactic)
	Severity    int      `json:"severity"`      // 1–10, as a risk level
	Label       string   `json:"label"`
	Tags        []string `json:"tags"` // ATT&CK technique IDs
	Enabled     bool     `json:"enabled"`
	Builtin     bool     `json:"builtin"`

	// A burst rule (Threshold above 1) makes indicators only of matches that come at least
	// Threshold within Window minutes sharing the value of the field GroupBy (a query field
	// path; all matches together when empty): ten failed sign-ins from one address, not one.
	Threshold int    `json:"threshold,omitempty"`
	Window    int    `json:"window_minutes,omitempty"`
	GroupBy   string `json:"group_by,omitempty"`
	// Distinct, when set, makes a burst rule count the distinct values of this field among its
	// matches (ten secrets, not ten reads of one) instead of the matches.
	Distinct string `json:"distinct_field,omitempty"`

	CheckedThrough int64     `json:"-"`        // events.id up to which it has run
	LastRun        time.Time `json:"last_run"` // zero when it never ran
	Matches        int64     `json:"matches"`  // its indicators
}

// Bounds of a burst rule: a count up to a million, a window from a minute to a day.
const (
	MaxThreshold = 1_000_000
	MaxWindow    = 24 * 60 // minutes
)

// Bursts reports whether r counts its matches (Threshold above 1) rather than taking each.
func (r Rule) Bursts() bool { return r.Threshold > 1 }

// ErrNoRule is returned for a rule ID the case does not hold.
var ErrNoRule = errors.New("no such rule")

const ruleColumns = `r.id, r.name, r.description, r.query, r.every_minutes, r.stage, r.severity, r.label, r.tags,
	r.enabled, r.builtin, r.threshold, r.window_minutes, r.group_by, r.distinct_field, r.checked_through, r.last_run, (SELECT count(*) FROM indicators i WHERE i.rule_id = r.id)`

func scanRule(sc interface{ Scan(...any) error }) (Rule, error) {
	var r Rule
	var tags string
	var last int64
	if err := sc.Scan(&r.ID, &r.Name, &r.Description, &r.Query, &r.Every, &r.Stage, &r.Severity, &r.Label, &tags,
		&r.Enabled, &r.Builtin, &r.Threshold, &r.Window, &r.GroupBy, &r.Distinct, &r.CheckedThrough, &last, &r.Matches); err != nil {
		return Rule{}, err
	}
	if tags != "" {
		r.Tags = strings.Split(tags, ",")
	}
	if last > 0 {
		r.LastRun = time.UnixMilli(last).UTC()
	}
	return r, nil
}

// Rules lists the case's rules by severity, highest first, then name.
func (s *Store) Rules(ctx context.Context) ([]Rule, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+ruleColumns+` FROM rules r ORDER BY r.severity DESC, r.name`)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	defer rows.Close()
	var out []Rule
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Rule reads one rule.
func (s *Store) Rule(ctx context.Context, id int64) (Rule, error) {
	r, err := scanRule(s.r.QueryRowContext(ctx, `SELECT `+ruleColumns+` FROM rules r WHERE r.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Rule{}, fmt.Errorf("rule %d: %w", id, ErrNoRule)
	}
	return r, err
}

// SaveRule adds a rule (ID 0) or replaces one, and returns its ID. A rule whose query or burst
// changed runs again from the first event: its indicators go.
func (s *Store) SaveRule(ctx context.Context, r Rule) (int64, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("save rule: %w", err)
	}
	defer tx.Rollback()
	tags := strings.Join(r.Tags, ",")
	if r.ID == 0 {
		res, err := tx.ExecContext(ctx, `INSERT INTO rules (name, description, query, every_minutes, stage, severity, label, tags,
			enabled, builtin, threshold, window_minutes, group_by, distinct_field) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.Name, r.Description, r.Query, r.Every, r.Stage, r.Severity, r.Label, tags, r.Enabled, r.Builtin, r.Threshold, r.Window, r.GroupBy, r.Distinct)
		if err != nil {
			return 0, fmt.Errorf("save rule %q: %w", r.Name, err)
		}
		if r.ID, err = res.LastInsertId(); err != nil {
			return 0, err
		}
	} else {
		var old Rule
		if err := tx.QueryRowContext(ctx, `SELECT query, threshold, window_minutes, group_by, distinct_field FROM rules WHERE id = ?`, r.ID).Scan(
			&old.Query, &old.Threshold, &old.Window, &old.GroupBy, &old.Distinct); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				err = ErrNoRule
			}
			return 0, fmt.Errorf("save rule %q: %w", r.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE rules SET name = ?, description = ?, query = ?, every_minutes = ?, stage = ?,
			severity = ?, label = ?, tags = ?, enabled = ?, threshold = ?, window_minutes = ?, group_by = ?, distinct_field = ? WHERE id = ?`,
			r.Name, r.Description, r.Query, r.Every, r.Stage, r.Severity, r.Label, tags, r.Enabled, r.Threshold, r.Window, r.GroupBy, r.Distinct, r.ID); err != nil {
			return 0, fmt.Errorf("save rule %q: %w", r.Name, err)
		}
		if old.Query != r.Query || old.Threshold != r.Threshold || old.Window != r.Window || old.GroupBy != r.GroupBy || old.Distinct != r.Distinct {
			if err := resetRule(ctx, tx, r.ID); err != nil {
				return 0, fmt.Errorf("save rule %q: %w", r.Name, err)
			}
		}
	}
	return r.ID, tx.Commit()
}

func resetRule(ctx context.Context, tx *sql.Tx, id int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM indicators WHERE rule_id = ?`, id); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE rules SET checked_through = 0, last_run = 0 WHERE id = ?`, id)
	return err
}

// DeleteRule removes a rule and its indicators.
func (s *Store) DeleteRule(ctx context.Context, id int64) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete rule: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM indicators WHERE rule_id = ?`, id); err != nil {
		return fmt.Errorf("delete rule: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM rules WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete rule: %w", err)
	}
	return tx.Commit()
}

// Burst is what a burst rule counts: at least Min matches within Window that share the value of
// Column, an events column aliased e (from query.GroupColumn; "" counts all matches together);
// or, with Distinct set, at least Min distinct values of it among them. The zero Burst takes each
// match.
type Burst struct {
	Min      int
	Window   time.Duration
	Column   string
	Distinct Value
}

// Value is where an event's value of a field is: an events column aliased e, or else a JSON path
// into the raw record ($.requestParameters.secretId). The zero Value is none.
type Value struct {
	Column string
	Path   string
}

var groupColumn = regexp.MustCompile(`^e\.[a-z_]+$`)

// check refuses a burst without a window, or whose columns are anything but plain columns of
// events (they are pasted into SQL).
func (b Burst) check() error {
	if b.Min > 1 && (b.Window <= 0 || b.Column != "" && !groupColumn.MatchString(b.Column) ||
		b.Distinct.Column != "" && !groupColumn.MatchString(b.Distinct.Column)) {
		return fmt.Errorf("a burst of %d in %v by %q of %+v", b.Min, b.Window, b.Column, b.Distinct)
	}
	return nil
}

// RunRule records as indicators the events matching f (the rule's compiled query) that arrived
// since the rule last ran, up to through, and notes the run; it returns how many it added.
// through must not pass events the full-text index lacks when f uses it (RuleMarks say how far).
// With a Burst, only matches in a burst count, and a burst may take in matches of earlier runs.
func (s *Store) RunRule(ctx context.Context, id int64, f Filter, b Burst, through int64, at time.Time) (int64, error) {
	run, err := s.MatchRule(ctx, id, f, b, through)
	if err != nil {
		return 0, err
	}
	return s.RecordRule(ctx, run, at)
}

// RuleRun is a rule's run read but not yet recorded: what it matched among the events after
// From up to Through, and the rule as it stood then.
type RuleRun struct {
	ID, From, Through int64
	def               ruleDef
	matches           []ruleMatch
}

// ruleDef is what a rule's matches depend on; a run found with one is not recorded for another.
type ruleDef struct {
	query, group, distinct string
	threshold, window      int
	from                   int64
}

func readRuleDef(ctx context.Context, q querier, id int64) (ruleDef, error) {
	var d ruleDef
	err := q.QueryRowContext(ctx, `SELECT query, group_by, distinct_field, threshold, window_minutes, checked_through FROM rules WHERE id = ?`, id).
		Scan(&d.query, &d.group, &d.distinct, &d.threshold, &d.window, &d.from)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNoRule
	}
	return d, err
}

// MatchRule reads what rule id (of compiled query f and burst b) matches among the events that
// arrived since it last ran, up to through, on the read pool: rules read side by side, and their
// runs are recorded one by one (RecordRule).
func (s *Store) MatchRule(ctx context.Context, id int64, f Filter, b Burst, through int64) (RuleRun, error) {
	if err := b.check(); err != nil {
		return RuleRun{}, fmt.Errorf("run rule %d: %w", id, err)
	}
	def, err := readRuleDef(ctx, s.r, id)
	if err != nil {
		return RuleRun{}, fmt.Errorf("run rule %d: %w", id, err)
	}
	run := RuleRun{ID: id, From: def.from, Through: through, def: def}
	if through <= def.from {
		return run, nil
	}
	where, args := f.whereClause()
	src := "events e"
	if f.needsJSON() || b.Min > 1 && b.Distinct.Path != "" {
		src = "events e CROSS JOIN event_json j ON j.id = e.id"
	}
	if b.Min > 1 {
		run.matches, err = burstMatches(ctx, s.r, src, where, args, b, def.from, through)
	} else {
		run.matches, err = plainMatches(ctx, s.r, src, where, args, def.from, through)
	}
	if err != nil {
		return RuleRun{}, fmt.Errorf("run rule %d: %w", id, err)
	}
	return run, nil
}

// plainMatches lists the matches of the events from+1..through.
func plainMatches(ctx context.Context, q querier, src, where string, args []any, from, through int64) ([]ruleMatch, error) {
	rows, err := q.QueryContext(ctx, `SELECT e.id, e.time FROM `+src+` WHERE e.id > ? AND e.id <= ? AND `+where,
		append([]any{from, through}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ruleMatch
	for rows.Next() {
		var m ruleMatch
		if err := rows.Scan(&m.id, &m.time); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// RecordRule records a run's matches as indicators and notes the run, and returns how many it
// added. A run of a rule that changed or ran since it was read is not recorded: the next run
// reads again.
func (s *Store) RecordRule(ctx context.Context, run RuleRun, at time.Time) (int64, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("run rule %d: %w", run.ID, err)
	}
	defer tx.Rollback()
	def, err := readRuleDef(ctx, tx, run.ID)
	if err != nil {
		return 0, fmt.Errorf("run rule %d: %w", run.ID, err)
	}
	if def != run.def {
		return 0, nil
	}
	var added int64
	if len(run.matches) > 0 {
		ins, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO indicators (rule_id, event_id, time) VALUES (?, ?, ?)`)
		if err != nil {
			return 0, fmt.Errorf("run rule %d: %w", run.ID, err)
		}
		defer ins.Close()
		for _, m := range run.matches {
			res, err := ins.ExecContext(ctx, run.ID, m.id, m.time)
			if err != nil {
				return 0, fmt.Errorf("run rule %d: %w", run.ID, err)
			}
			n, _ := res.RowsAffected()
			added += n
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE rules SET checked_through = max(checked_through, ?), last_run = ? WHERE id = ?`,
		run.Through, at.UnixMilli(), run.ID); err != nil {
		return 0, fmt.Errorf("run rule %d: %w", run.ID, err)
	}
	return added, tx.Commit()
}

// querier runs a query: a transaction of the writer, or the read pool.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ruleMatch is an event a rule matched, with its time and, for a burst rule counting distinct
// values, its values of the field: one, or an array's elements (the parameter names of one
// GetParameters call are as many values as a call for each would be).
type ruleMatch struct {
	id, time int64
	values   []string
}

// distinctValues reads an event's value of a distinct field: absent and null count as none and,
// for a value read from the record as JSON text, an array as its elements.
func distinctValues(v string, isJSON bool) []string {
	if v == "" || v == "null" {
		return nil
	}
	if !isJSON || v[0] != '[' {
		return []string{v}
	}
	var elems []json.RawMessage
	if json.Unmarshal([]byte(v), &elems) != nil {
		return []string{v}
	}
	out := make([]string, 0, len(elems))
	for _, e := range elems {
		if s := string(e); s != "null" {
			out = append(out, s)
		}
	}
	return out
}

// burstMatches finds the matches in a burst, among those of the events from+1..through and
// those near them: b.Min or more matches (or distinct values) of one group within b.Window. A
// burst holding a new match lies within b.Window of it either side, so only matches in that
// span are read, old ones included; per group, sorted by time, a sliding window finds the
// bursts.
func burstMatches(ctx context.Context, q querier, src, where string, args []any, b Burst, from, through int64) ([]ruleMatch, error) {
	var lo, hi sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT min(e.time), max(e.time) FROM `+src+` WHERE e.id > ? AND e.id <= ? AND `+where,
		append([]any{from, through}, args...)...).Scan(&lo, &hi); err != nil || !lo.Valid {
		return nil, err
	}
	w := b.Window.Milliseconds()
	group := "''"
	if b.Column != "" {
		group = "coalesce(" + b.Column + ", '')" // a coded column's id is NULL for ''
	}
	value, pre := "''", []any{}
	switch {
	case b.Distinct.Column != "":
		value = "coalesce(" + b.Distinct.Column + ", '')"
	case b.Distinct.Path != "":
		// A value of any JSON type counts by its JSON text; absent or null, not at all.
		value, pre = "coalesce(json_quote(json_extract("+unpackFunc+"(j.json), ?)), '')", []any{b.Distinct.Path}
	}
	rows, err := q.QueryContext(ctx, `SELECT e.id, e.time, `+group+`, `+value+` FROM `+src+` WHERE e.time > ? AND e.time < ? AND e.id <= ? AND `+
		where+` ORDER BY 3, e.time`, append(append(pre, lo.Int64-w, hi.Int64+w, through), args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var burst []ruleMatch // in the bursts found so far
	var run []ruleMatch   // the current group's matches
	var cur string
	distinct := b.Distinct != Value{}
	seen := map[string]int{} // values in the window and how often, when counting distinct ones
	flush := func() {
		done := 0 // run[:done] are in burst already
		clear(seen)
		for i, j := 0, 0; i < len(run); i++ {
			for j < len(run) && run[j].time-run[i].time < w {
				for _, v := range run[j].values {
					seen[v]++
				}
				j++
			}
			n := j - i
			if distinct {
				n = len(seen)
			}
			if n >= b.Min {
				burst = append(burst, run[max(i, done):j]...)
				done = j
			}
			for _, v := range run[i].values {
				if seen[v]--; seen[v] == 0 {
					delete(seen, v)
				}
			}
		}
		run = run[:0]
	}
	for rows.Next() {
		var m ruleMatch
		var g, v string
		if err := rows.Scan(&m.id, &m.time, &g, &v); err != nil {
			return nil, err
		}
		if distinct {
			m.values = distinctValues(v, b.Distinct.Path != "")
		}
		if g != cur {
			flush()
			cur = g
		}
		run = append(run, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	flush()
	return burst, nil
}

// RuleMatches counts the events a rule of filter f and burst b would make indicators of over
// the whole case, without recording any: what an editor shows before a rule is saved.
func (s *Store) RuleMatches(ctx context.Context, f Filter, b Burst) (int64, error) {
	if b.Min <= 1 {
		return s.Count(ctx, f)
	}
	if err := b.check(); err != nil {
		return 0, fmt.Errorf("rule matches: %w", err)
	}
	where, args := f.whereClause()
	src := "events e"
	if f.needsJSON() || b.Distinct.Path != "" {
		src = "events e CROSS JOIN event_json j ON j.id = e.id"
	}
	through, err := s.EventsMark(ctx)
	if err != nil {
		return 0, err
	}
	ms, err := burstMatches(ctx, s.r, src, where, args, b, 0, through)
	if err != nil {
		return 0, fmt.Errorf("rule matches: %w", err)
	}
	return int64(len(ms)), nil
}

// RuleMarks are how far rules may run: to the newest event, and for a rule with words, to the
// last event the full-text index holds.
type RuleMarks struct{ Events, Indexed int64 }

// For is how far a rule of filter f may run.
func (m RuleMarks) For(f Filter) int64 {
	if strings.Contains(f.Where, "events_fts") {
		return min(m.Events, m.Indexed)
	}
	return m.Events
}

// RuleMarks reads how far rules may run now.
func (s *Store) RuleMarks(ctx context.Context) (RuleMarks, error) {
	var m RuleMarks
	var err error
	if m.Events, err = s.EventsMark(ctx); err != nil {
		return m, err
	}
	m.Indexed, err = s.ftsMark(ctx)
	return m, err
}

// Indicator is one event a rule matched.
type Indicator struct {
	RuleID  int64     `json:"rule_id"`
	EventID string    `json:"event_id"`
	Time    time.Time `json:"time"`
}

// RuleHits counts, per rule, the indicators from one time to another (zero: no bound).
func (s *Store) RuleHits(ctx context.Context, from, to time.Time) (map[int64]int64, error) {
	lo, hi := bounds(from, to)
	rows, err := s.r.QueryContext(ctx, `SELECT rule_id, count(*) FROM indicators WHERE time >= ? AND time < ? GROUP BY rule_id`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("rule hits: %w", err)
	}
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var id, n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("rule hits: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}

// RuleBin is how many events one rule matched in one direction and time bin.
type RuleBin struct {
	Direction string
	Start     time.Time
	RuleID    int64
	Events    int64
}

// RuleBins counts the events each rule matched from one time to another (zero: no bound), per
// direction and bin of the given width.
func (s *Store) RuleBins(ctx context.Context, from, to time.Time, bin time.Duration) ([]RuleBin, error) {
	lo, hi := bounds(from, to)
	w := max(bin.Milliseconds(), 1)
	rows, err := s.r.QueryContext(ctx, `SELECT e.direction, i.time - i.time % ?, i.rule_id, count(*) FROM indicators i
		JOIN events e ON e.id = i.event_id WHERE i.time >= ? AND i.time < ? GROUP BY 1, 2, 3 ORDER BY 2, 1, 3`, w, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("rule bins: %w", err)
	}
	defer rows.Close()
	var out []RuleBin
	for rows.Next() {
		var b RuleBin
		var ms int64
		if err := rows.Scan(&b.Direction, &ms, &b.RuleID, &b.Events); err != nil {
			return nil, fmt.Errorf("rule bins: %w", err)
		}
		b.Start = time.UnixMilli(ms).UTC()
		out = append(out, b)
	}
	return out, rows.Err()
}

// EventRules maps the events rules matched from one time to another (zero: no bound), by
// eventID, to the matching rule of highest severity (ties by name).
func (s *Store) EventRules(ctx context.Context, from, to time.Time) (map[string]int64, error) {
	lo, hi := bounds(from, to)
	rows, err := s.r.QueryContext(ctx, `SELECT e.event_id, i.rule_id FROM indicators i JOIN events e ON e.id = i.event_id
		JOIN rules r ON r.id = i.rule_id WHERE i.time >= ? AND i.time < ? ORDER BY r.severity, r.name DESC`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("rules of events: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var rule int64
		if err := rows.Scan(&id, &rule); err != nil {
			return nil, fmt.Errorf("rules of events: %w", err)
		}
		out[id] = rule // the last, of highest severity, stays
	}
	return out, rows.Err()
}

// EventRuleNames maps events (events.id) that rules matched to the name of the matching rule
// of highest severity (ties by name).
func (s *Store) EventRuleNames(ctx context.Context, ids []int64) (map[int64]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT i.event_id, r.name FROM indicators i JOIN rules r ON r.id = i.rule_id
		WHERE i.event_id IN (SELECT value FROM json_each(?)) ORDER BY r.severity, r.name DESC`, string(list))
	if err != nil {
		return nil, fmt.Errorf("rules of events: %w", err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("rules of events: %w", err)
		}
		out[id] = name // the last, of highest severity, stays
	}
	return out, rows.Err()
}

// Indicators lists a rule's indicators, newest first, at most limit (0: all).
func (s *Store) Indicators(ctx context.Context, ruleID int64, limit int) ([]Indicator, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.r.QueryContext(ctx, `SELECT i.rule_id, e.event_id, i.time FROM indicators i JOIN events e ON e.id = i.event_id
		WHERE i.rule_id = ? ORDER BY i.time DESC, e.event_id LIMIT ?`, ruleID, limit)
	if err != nil {
		return nil, fmt.Errorf("indicators: %w", err)
	}
	defer rows.Close()
	var out []Indicator
	for rows.Next() {
		var in Indicator
		var ms int64
		if err := rows.Scan(&in.RuleID, &in.EventID, &ms); err != nil {
			return nil, fmt.Errorf("indicators: %w", err)
		}
		in.Time = time.UnixMilli(ms).UTC()
		out = append(out, in)
	}
	return out, rows.Err()
}
