package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

	CheckedThrough int64     `json:"-"`        // events.id up to which it has run
	LastRun        time.Time `json:"last_run"` // zero when it never ran
	Matches        int64     `json:"matches"`  // its indicators
}

// ErrNoRule is returned for a rule ID the case does not hold.
var ErrNoRule = errors.New("no such rule")

const ruleColumns = `r.id, r.name, r.description, r.query, r.every_minutes, r.stage, r.severity, r.label, r.tags,
	r.enabled, r.builtin, r.checked_through, r.last_run, (SELECT count(*) FROM indicators i WHERE i.rule_id = r.id)`

func scanRule(sc interface{ Scan(...any) error }) (Rule, error) {
	var r Rule
	var tags string
	var last int64
	if err := sc.Scan(&r.ID, &r.Name, &r.Description, &r.Query, &r.Every, &r.Stage, &r.Severity, &r.Label, &tags,
		&r.Enabled, &r.Builtin, &r.CheckedThrough, &last, &r.Matches); err != nil {
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

// SaveRule adds a rule (ID 0) or replaces one, and returns its ID. A rule whose query changed
// runs again from the first event: its indicators go.
func (s *Store) SaveRule(ctx context.Context, r Rule) (int64, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("save rule: %w", err)
	}
	defer tx.Rollback()
	tags := strings.Join(r.Tags, ",")
	if r.ID == 0 {
		res, err := tx.ExecContext(ctx, `INSERT INTO rules (name, description, query, every_minutes, stage, severity, label, tags, enabled, builtin)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.Name, r.Description, r.Query, r.Every, r.Stage, r.Severity, r.Label, tags, r.Enabled, r.Builtin)
		if err != nil {
			return 0, fmt.Errorf("save rule %q: %w", r.Name, err)
		}
		if r.ID, err = res.LastInsertId(); err != nil {
			return 0, err
		}
	} else {
		var old string
		if err := tx.QueryRowContext(ctx, `SELECT query FROM rules WHERE id = ?`, r.ID).Scan(&old); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				err = ErrNoRule
			}
			return 0, fmt.Errorf("save rule %q: %w", r.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE rules SET name = ?, description = ?, query = ?, every_minutes = ?, stage = ?,
			severity = ?, label = ?, tags = ?, enabled = ? WHERE id = ?`,
			r.Name, r.Description, r.Query, r.Every, r.Stage, r.Severity, r.Label, tags, r.Enabled, r.ID); err != nil {
			return 0, fmt.Errorf("save rule %q: %w", r.Name, err)
		}
		if old != r.Query {
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

// RunRule records as indicators the events matching f (the rule's compiled query) that arrived
// since the rule last ran, up to through, and notes the run; it returns how many it added.
// through must not pass events the full-text index lacks when f uses it (RuleMarks say how far).
func (s *Store) RunRule(ctx context.Context, id int64, f Filter, through int64, at time.Time) (int64, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("run rule %d: %w", id, err)
	}
	defer tx.Rollback()
	var from int64
	if err := tx.QueryRowContext(ctx, `SELECT checked_through FROM rules WHERE id = ?`, id).Scan(&from); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			err = ErrNoRule
		}
		return 0, fmt.Errorf("run rule %d: %w", id, err)
	}
	var added int64
	if through > from {
		where, args := f.whereClause()
		src := "events e"
		if f.needsJSON() {
			src = "events e CROSS JOIN event_json j ON j.id = e.id"
		}
		q := `INSERT OR IGNORE INTO indicators (rule_id, event_id, time) SELECT ?, e.id, e.time FROM ` + src +
			` WHERE e.id > ? AND e.id <= ? AND ` + where
		res, err := tx.ExecContext(ctx, q, append([]any{id, from, through}, args...)...)
		if err != nil {
			return 0, fmt.Errorf("run rule %d: %w", id, err)
		}
		if added, err = res.RowsAffected(); err != nil {
			return 0, err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE rules SET checked_through = max(checked_through, ?), last_run = ? WHERE id = ?`,
		through, at.UnixMilli(), id); err != nil {
		return 0, fmt.Errorf("run rule %d: %w", id, err)
	}
	return added, tx.Commit()
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
