package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/trailscope/trailscope/data/cloudtrail"
	"github.com/trailscope/trailscope/data/finding"
)

// ViewEvent is one row of an event table as the desktop drilldown shows it: the extracted
// columns of an event, without its raw JSON.
type ViewEvent struct {
	ID          int64 // events.id, the key for ViewEventJSON
	EventID     string
	Time        time.Time
	EventSource string
	EventName   string
	SourceIP    string
	Principal   string // principal ARN, or the user name when there is no ARN
	ErrorCode   string
	Region      string
	Direction   string
	UserAgent   string
	Marked      bool   // one of the events asked to come first (an anomaly's own events)
	Rule        string // the rule of highest severity that matched the event, if any
}

// ViewAddress is one source address seen in a time window with its calls and failed calls.
type ViewAddress struct {
	Address  string
	Events   int64
	Failures int64 // calls with an error code
}

// bounds turns a half-open time range into Unix milliseconds; zero times mean no bound.
func bounds(from, to time.Time) (int64, int64) {
	var lo, hi int64 = -1 << 62, 1 << 62
	if !from.IsZero() {
		lo = from.UnixMilli()
	}
	if !to.IsZero() {
		hi = to.UnixMilli()
	}
	return lo, hi
}

// ViewTimeBounds returns the times of the first and last event; ok is false for an empty case.
func (s *Store) ViewTimeBounds(ctx context.Context) (first, last time.Time, ok bool, err error) {
	var lo, hi sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT min(time), max(time) FROM events`).Scan(&lo, &hi); err != nil {
		return first, last, false, fmt.Errorf("event time bounds: %w", err)
	}
	if !lo.Valid {
		return first, last, false, nil
	}
	return time.UnixMilli(lo.Int64).UTC(), time.UnixMilli(hi.Int64).UTC(), true, nil
}

// ViewEventCounts counts the events in [from, to) per direction; events without a direction
// count under "".
func (s *Store) ViewEventCounts(ctx context.Context, from, to time.Time) (map[string]int64, error) {
	lo, hi := bounds(from, to)
	rows, err := s.r.QueryContext(ctx, `SELECT direction, count(*) FROM events WHERE time >= ? AND time < ? GROUP BY direction`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("count events %d..%d: %w", lo, hi, err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var d string
		var n int64
		if err := rows.Scan(&d, &n); err != nil {
			return nil, fmt.Errorf("count events: %w", err)
		}
		out[d] = n
	}
	return out, rows.Err()
}

// ViewEvents reads one page of the events in [from, to): those whose eventID is in first come
// first (Marked), then the rest, each in time order (ties by id), so that a table can show
// millions of rows without holding them.
func (s *Store) ViewEvents(ctx context.Context, from, to time.Time, first []string, offset, limit int) ([]ViewEvent, error) {
	lo, hi := bounds(from, to)
	if limit <= 0 {
		limit = -1
	}
	if first == nil {
		first = []string{}
	}
	ids, err := json.Marshal(first)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, event_id, time, event_source, event_name, source_ip,
		CASE WHEN principal_arn != '' THEN principal_arn ELSE user_name END, error_code, region, direction, `+userAgents.value("")+`,
		event_id IN (SELECT value FROM json_each(?)) AS marked,
		coalesce((SELECT r.name FROM indicators i JOIN rules r ON r.id = i.rule_id WHERE i.event_id = events.id
			ORDER BY r.severity DESC, r.name LIMIT 1), '')
		FROM events WHERE time >= ? AND time < ? ORDER BY marked DESC, time, id LIMIT ? OFFSET ?`, string(ids), lo, hi, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("read events page %d+%d: %w", offset, limit, err)
	}
	defer rows.Close()
	out := []ViewEvent{}
	for rows.Next() {
		var e ViewEvent
		var ms int64
		if err := rows.Scan(&e.ID, &e.EventID, &ms, &e.EventSource, &e.EventName, &e.SourceIP, &e.Principal,
			&e.ErrorCode, &e.Region, &e.Direction, &e.UserAgent, &e.Marked, &e.Rule); err != nil {
			return nil, fmt.Errorf("read events page: %w", err)
		}
		e.Time = time.UnixMilli(ms).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// ViewAddresses lists the source addresses of the events in [from, to), most calls first.
func (s *Store) ViewAddresses(ctx context.Context, from, to time.Time, limit int) ([]ViewAddress, error) {
	lo, hi := bounds(from, to)
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.r.QueryContext(ctx, `SELECT source_ip, count(*), coalesce(sum(error_code != ''), 0)
		FROM events WHERE time >= ? AND time < ? GROUP BY source_ip ORDER BY 2 DESC, 1 LIMIT ?`, lo, hi, limit)
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	defer rows.Close()
	out := []ViewAddress{}
	for rows.Next() {
		var a ViewAddress
		if err := rows.Scan(&a.Address, &a.Events, &a.Failures); err != nil {
			return nil, fmt.Errorf("list addresses: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ViewEventJSON returns the raw JSON of the event with row id id.
func (s *Store) ViewEventJSON(ctx context.Context, id int64) ([]byte, error) {
	var b []byte
	err := s.r.QueryRowContext(ctx, `SELECT json FROM event_json WHERE id = ?`, id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("event %d: not in the case", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read event %d: %w", id, err)
	}
	if b, err = UnpackJSON(nil, b); err != nil {
		return nil, fmt.Errorf("read event %d: %w", id, err)
	}
	return b, nil
}

// ViewAnomaly reads one stored anomaly by its id.
func (s *Store) ViewAnomaly(ctx context.Context, id string) (finding.Anomaly, error) {
	a, err := scanAnomaly(s.r.QueryRowContext(ctx, `SELECT `+anomalyColumns+` FROM `+anomaliesTriaged+` WHERE a.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("anomaly %s: not in the case", id)
	}
	if err != nil {
		return a, fmt.Errorf("read anomaly %s: %w", id, err)
	}
	return a, nil
}

// RelatedFilter says which related anomalies ViewRelated lists: within Span of the anomaly's
// window, at MinRisk or higher, at most Limit (0: all).
type RelatedFilter struct {
	Span    time.Duration
	MinRisk int
	Limit   int
}

// ViewRelated lists the other anomalies of a's entity, of the addresses and principals of a's
// own events, and those whose own events came from the same outside address, oldest first: the
// other steps of one intrusion (a role's first call from an address, then its burst of reads;
// another identity used from the attacker's address) are often anomalies of their own.
func (s *Store) ViewRelated(ctx context.Context, a finding.Anomaly, f RelatedFilter) ([]finding.Anomaly, error) {
	lo, hi := bounds(a.WindowStart, a.WindowEnd)
	ids := a.EventIDs
	if ids == nil {
		ids = []string{}
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	// The own events lie in the window: the time index finds them without the eventID key.
	entities, outside := []string{a.Entity}, []string{}
	rows, err := s.r.QueryContext(ctx, `SELECT DISTINCT source_ip, principal_arn, direction != ? FROM events
		WHERE time >= ? AND time < ? AND event_id IN (SELECT value FROM json_each(?))`, cloudtrail.Internal, lo, hi, string(list))
	if err != nil {
		return nil, fmt.Errorf("related anomalies of %s: %w", a.ID, err)
	}
	for rows.Next() {
		var ip, arn string
		var external bool
		if err := rows.Scan(&ip, &arn, &external); err != nil {
			rows.Close()
			return nil, fmt.Errorf("related anomalies of %s: %w", a.ID, err)
		}
		entities = append(entities, ip, arn)
		// An outside address ties its callers together. Addresses the case counts as internal
		// (private, AWS services, the trusted networks of its settings) are shared by everything
		// inside; so is the private address of a grant to another account, outbound as it is.
		if addr, err := netip.ParseAddr(ip); external && err == nil && addr.Unmap().IsGlobalUnicast() && !addr.Unmap().IsPrivate() {
			outside = append(outside, ip)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("related anomalies of %s: %w", a.ID, err)
	}
	// The outside addresses' events around the anomaly, through the (source_ip_id, time) index:
	// few, unless an address is everybody's; the candidates' own events are looked up among them.
	fromOutside := map[string]bool{}
	if len(outside) > 0 {
		outs, _ := json.Marshal(outside)
		rows, err = s.r.QueryContext(ctx, `SELECT event_id FROM events WHERE source_ip_id IN (SELECT id FROM `+sourceIPs.table+`
			WHERE value IN (SELECT lower(value) FROM json_each(?))) AND time >= ? AND time < ?`,
			string(outs), lo-f.Span.Milliseconds(), hi+f.Span.Milliseconds())
		if err != nil {
			return nil, fmt.Errorf("related anomalies of %s: %w", a.ID, err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("related anomalies of %s: %w", a.ID, err)
			}
			fromOutside[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("related anomalies of %s: %w", a.ID, err)
		}
	}
	ents, _ := json.Marshal(entities)
	rows, err = s.r.QueryContext(ctx, `SELECT a.entity IN (SELECT value FROM json_each(?)), `+anomalyColumns+`
		FROM `+anomaliesTriaged+` WHERE a.id != ? AND a.window_end > ? AND a.window_start < ? AND a.risk >= ?
		ORDER BY a.window_start, a.risk DESC, a.id`, string(ents), a.ID, lo-f.Span.Milliseconds(), hi+f.Span.Milliseconds(), f.MinRisk)
	if err != nil {
		return nil, fmt.Errorf("related anomalies of %s: %w", a.ID, err)
	}
	defer rows.Close()
	out := []finding.Anomaly{}
	for rows.Next() && (f.Limit <= 0 || len(out) < f.Limit) {
		var same bool
		r, err := scanAnomaly(rows, &same)
		if err != nil {
			return nil, fmt.Errorf("related anomalies of %s: %w", a.ID, err)
		}
		if same || slices.ContainsFunc(r.EventIDs, func(id string) bool { return fromOutside[id] }) {
			out = append(out, r)
		}
	}
	return out, rows.Err()
}
