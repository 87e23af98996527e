package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/trailscope/trailscope/data/finding"
)

// analysedKey is the settings key holding the events mark (see EventsMark) the stored analysis
// was made from, so that commands needing results know when the case has new data.
const analysedKey = "analysed_events"

// EventsMark identifies how far the case's events go: the highest events.id. Events are only
// ever added, so a new mark means new data; reading it costs one index step, where count(*)
// reads a whole index.
func (s *Store) EventsMark(ctx context.Context) (int64, error) {
	var n int64
	if err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM events`).Scan(&n); err != nil {
		return 0, fmt.Errorf("events mark: %w", err)
	}
	return n, nil
}

// SaveAnalysis replaces the stored anomalies and series with a new analysis, in one
// transaction; mark is the EventsMark taken before the analysis read the events.
func (s *Store) SaveAnalysis(ctx context.Context, anomalies []finding.Anomaly, series []finding.Point, mark int64) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save analysis: %w", err)
	}
	defer tx.Rollback()
	for _, q := range []string{`DELETE FROM anomalies`, `DELETE FROM series`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("save analysis: %w", err)
		}
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO anomalies (id, risk, score, direction, window_start, window_end,
		entity_type, entity, title, json) VALUES (?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return fmt.Errorf("save analysis: %w", err)
	}
	for _, a := range anomalies {
		b, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if _, err := ins.ExecContext(ctx, a.ID, a.Risk, a.Score, a.Direction, a.WindowStart.UnixMilli(),
			a.WindowEnd.UnixMilli(), a.EntityType, a.Entity, a.Title, b); err != nil {
			return fmt.Errorf("save anomaly %s: %w", a.ID, err)
		}
	}
	pt, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO series (direction, bin_start, observed, expected, lower, upper)
		VALUES (?,?,?,?,?,?)`)
	if err != nil {
		return fmt.Errorf("save analysis: %w", err)
	}
	for _, p := range series {
		if _, err := pt.ExecContext(ctx, p.Direction, p.BinStart.UnixMilli(), p.Observed, p.Expected, p.Lower, p.Upper); err != nil {
			return fmt.Errorf("save series: %w", err)
		}
	}
	if err := followVerdicts(ctx, tx); err != nil {
		return fmt.Errorf("save analysis: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, analysedKey, fmt.Sprint(mark)); err != nil {
		return err
	}
	return tx.Commit()
}

// followVerdicts moves each verdict whose anomaly a new analysis no longer holds to the anomaly
// of the same entity and direction whose window overlaps the old one, the earliest such that
// has no verdict of its own. An anomaly's id hashes its window's start, which new, earlier
// data can move; the verdict was given on what that window shows. One that finds none stays,
// shown nowhere, for the data that may bring its anomaly back.
func followVerdicts(ctx context.Context, tx *sql.Tx) error {
	type orphan struct {
		id, entity, direction string
		start, end            int64
	}
	rows, err := tx.QueryContext(ctx, `SELECT anomaly_id, entity, direction, window_start, window_end FROM triage
		WHERE entity != '' AND anomaly_id NOT IN (SELECT id FROM anomalies)`)
	if err != nil {
		return err
	}
	var orphans []orphan
	for rows.Next() {
		var o orphan
		if err := rows.Scan(&o.id, &o.entity, &o.direction, &o.start, &o.end); err != nil {
			rows.Close()
			return err
		}
		orphans = append(orphans, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, o := range orphans {
		var id string
		var start, end int64
		err := tx.QueryRowContext(ctx, `SELECT id, window_start, window_end FROM anomalies
			WHERE entity = ? AND direction = ? AND window_start < ? AND window_end > ?
			AND id NOT IN (SELECT anomaly_id FROM triage) ORDER BY window_start, id LIMIT 1`,
			o.entity, o.direction, o.end, o.start).Scan(&id, &start, &end)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE triage SET anomaly_id = ?, window_start = ?, window_end = ? WHERE anomaly_id = ?`,
			id, start, end, o.id); err != nil {
			return err
		}
	}
	return nil
}

// NeedsAnalysis reports whether the case has events the stored analysis was not made from.
func (s *Store) NeedsAnalysis(ctx context.Context) (bool, error) {
	done, err := s.Setting(ctx, analysedKey, "-1")
	if err != nil {
		return false, err
	}
	mark, err := s.EventsMark(ctx)
	if err != nil {
		return false, err
	}
	// A case with no events has nothing to analyse (a new case would otherwise show an analysis
	// of nothing before its first import).
	return mark != 0 && fmt.Sprint(mark) != done, nil
}

// AnomalyFilter narrows a listing of anomalies; zero values mean no bound.
type AnomalyFilter struct {
	MinRisk   int
	Direction string
	From, To  time.Time
	Limit     int
}

// Anomalies lists stored anomalies, highest risk first (then score, then window, then id).
func (s *Store) Anomalies(ctx context.Context, f AnomalyFilter) ([]finding.Anomaly, error) {
	var from, to int64 = -1 << 62, 1 << 62
	if !f.From.IsZero() {
		from = f.From.UnixMilli()
	}
	if !f.To.IsZero() {
		to = f.To.UnixMilli()
	}
	limit := f.Limit
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+anomalyColumns+` FROM `+anomaliesTriaged+`
		WHERE a.risk >= ? AND (? = '' OR a.direction = ?) AND a.window_end > ? AND a.window_start < ?
		ORDER BY a.risk DESC, a.score DESC, a.window_start, a.id LIMIT ?`,
		f.MinRisk, f.Direction, f.Direction, from, to, limit)
	if err != nil {
		return nil, fmt.Errorf("list anomalies: %w", err)
	}
	defer rows.Close()
	out := []finding.Anomaly{}
	for rows.Next() {
		a, err := scanAnomaly(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// anomaliesTriaged is the anomalies with their analysts' verdicts, and anomalyColumns what
// scanAnomaly reads of a row of it (after any columns of the caller's own). Both tables have
// entity, direction and window columns: queries name the anomaly's with a.
const (
	anomaliesTriaged = `anomalies a LEFT JOIN triage t ON t.anomaly_id = a.id`
	anomalyColumns   = `a.json, coalesce(t.verdict, ''), coalesce(t.note, '')`
)

// scanAnomaly reads a stored anomaly and its verdict from anomalyColumns; before are the
// caller's own columns ahead of them.
func scanAnomaly(row interface{ Scan(...any) error }, before ...any) (finding.Anomaly, error) {
	var a finding.Anomaly
	var b []byte
	var verdict, note string
	if err := row.Scan(append(before, &b, &verdict, &note)...); err != nil {
		return a, err
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return a, fmt.Errorf("decode anomaly: %w", err)
	}
	a.Verdict, a.Note = verdict, note
	return a, nil
}

// SetVerdict records an analyst's verdict on an anomaly, with a note; an empty verdict takes
// it away (not reviewed). The verdict is not checked here (see finding.Verdicts).
func (s *Store) SetVerdict(ctx context.Context, anomalyID, verdict, note string) error {
	var err error
	if verdict == "" {
		_, err = s.w.ExecContext(ctx, `DELETE FROM triage WHERE anomaly_id = ?`, anomalyID)
	} else {
		// What it was given on goes with it, for followVerdicts.
		_, err = s.w.ExecContext(ctx, `INSERT INTO triage (anomaly_id, verdict, note, updated_at, entity, direction, window_start, window_end)
			SELECT ?, ?, ?, ?, coalesce(max(entity), ''), coalesce(max(direction), ''), coalesce(max(window_start), 0), coalesce(max(window_end), 0)
			FROM anomalies WHERE id = ?
			ON CONFLICT (anomaly_id) DO UPDATE SET verdict = excluded.verdict, note = excluded.note, updated_at = excluded.updated_at,
				entity = excluded.entity, direction = excluded.direction, window_start = excluded.window_start, window_end = excluded.window_end`,
			anomalyID, verdict, note, time.Now().UTC().Format(time.RFC3339), anomalyID)
	}
	if err != nil {
		return fmt.Errorf("verdict on anomaly %s: %w", anomalyID, err)
	}
	return nil
}

// Series reads the stored series of one direction (all when direction is "") in a time range.
func (s *Store) Series(ctx context.Context, direction string, from, to time.Time) ([]finding.Point, error) {
	var lo, hi int64 = -1 << 62, 1 << 62
	if !from.IsZero() {
		lo = from.UnixMilli()
	}
	if !to.IsZero() {
		hi = to.UnixMilli()
	}
	rows, err := s.r.QueryContext(ctx, `SELECT direction, bin_start, observed, expected, lower, upper FROM series
		WHERE (? = '' OR direction = ?) AND bin_start >= ? AND bin_start < ? ORDER BY direction, bin_start`,
		direction, direction, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("read series: %w", err)
	}
	defer rows.Close()
	out := []finding.Point{}
	for rows.Next() {
		var p finding.Point
		var ms int64
		if err := rows.Scan(&p.Direction, &ms, &p.Observed, &p.Expected, &p.Lower, &p.Upper); err != nil {
			return nil, err
		}
		p.BinStart = time.UnixMilli(ms).UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}
