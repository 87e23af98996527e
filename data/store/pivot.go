package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// PivotOptions bound a pivot: its time range, time bin and list lengths.
type PivotOptions struct {
	Since, Until time.Time     // half-open range; zero means no bound
	Bin          time.Duration // timeline bin; 0 picks 5 minutes, or 1 hour past two days of activity
	Top          int           // entries per list (most frequent first); 0 means 50
	// WindowStart and WindowEnd (principal pivot) mark the window for NewAPIs.
	WindowStart, WindowEnd time.Time
}

// Count is a value and how many events carry it.
type Count struct {
	Value  string `json:"value"`
	Events int64  `json:"events"`
}

// APICount is one API (event source and name) with its successful and failed calls.
type APICount struct {
	EventSource string    `json:"event_source"`
	EventName   string    `json:"event_name"`
	Success     int64     `json:"success"`
	Failure     int64     `json:"failure"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
}

// Profile is what a pivot finds about one entity: when it was active, how much, with whom and
// doing what. Lists hold at most Top entries, most frequent first.
type Profile struct {
	Kind       string     `json:"kind"` // ip, principal, event, key, window
	Value      string     `json:"value"`
	Events     int64      `json:"events"`
	Failures   int64      `json:"failures"`
	FirstSeen  time.Time  `json:"first_seen"`
	LastSeen   time.Time  `json:"last_seen"`
	BinSeconds int64      `json:"bin_seconds"`
	Timeline   []Bin      `json:"timeline"`
	Principals []Count    `json:"principals,omitempty"`
	Addresses  []Count    `json:"addresses,omitempty"`
	APIs       []APICount `json:"apis,omitempty"`
	UserAgents []Count    `json:"user_agents,omitempty"`
	Regions    []Count    `json:"regions,omitempty"`
	// Identities behind an access key or role session: principal ARNs, types, users, issuers.
	Identities []Count `json:"identities,omitempty"`
	// NewAPIs (principal pivot) are APIs the principal first used inside the window.
	NewAPIs []APICount `json:"new_apis,omitempty"`
	// Rules that matched these events, highest severity first.
	Rules []RuleCount `json:"rules,omitempty"`
}

// RuleCount is a rule and how many of a profile's events it matched.
type RuleCount struct {
	Name     string `json:"name"`
	Severity int    `json:"severity"`
	Events   int64  `json:"events"`
}

// PivotIP profiles a source address: first and last seen, timeline, principals, APIs with
// success and failure, user agents and regions.
func (s *Store) PivotIP(ctx context.Context, ip string, opt PivotOptions) (*Profile, error) {
	return s.pivot(ctx, "ip", ip, sourceIPs.is("e."), []any{ip}, opt)
}

// PivotPrincipal profiles a principal ARN (as in the principal_arn column), plus the APIs it first
// used inside [opt.WindowStart, opt.WindowEnd).
func (s *Store) PivotPrincipal(ctx context.Context, arn string, opt PivotOptions) (*Profile, error) {
	p, err := s.pivot(ctx, "principal", arn, principalARNs.is("e."), []any{arn}, opt)
	if err != nil || opt.WindowStart.IsZero() && opt.WindowEnd.IsZero() {
		return p, err
	}
	lo, hi := bounds(opt.WindowStart, opt.WindowEnd)
	// First use is over the whole case, not only the pivot's range.
	rows, err := s.r.QueryContext(ctx, `SELECT event_source, event_name, min(time), max(time),
			sum(error_code = ''), sum(error_code <> '')
		FROM events WHERE `+principalARNs.is("")+` GROUP BY event_source, event_name
		HAVING min(time) >= ? AND min(time) < ? ORDER BY min(time)`, arn, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("pivot principal %s: new APIs: %w", arn, err)
	}
	defer rows.Close()
	for rows.Next() {
		var a APICount
		var first, last int64
		if err := rows.Scan(&a.EventSource, &a.EventName, &first, &last, &a.Success, &a.Failure); err != nil {
			return nil, fmt.Errorf("pivot principal %s: new APIs: %w", arn, err)
		}
		a.FirstSeen, a.LastSeen = time.UnixMilli(first).UTC(), time.UnixMilli(last).UTC()
		p.NewAPIs = append(p.NewAPIs, a)
	}
	return p, rows.Err()
}

// PivotEvent profiles an API by event name: who ran it, from where, and when.
func (s *Store) PivotEvent(ctx context.Context, name string, opt PivotOptions) (*Profile, error) {
	return s.pivot(ctx, "event", name, eventNames.is("e."), []any{name}, opt)
}

// PivotKey profiles an access key ID or a role session (a session ARN, or the ARN of the role
// that issued sessions): the identities behind it and what it did.
func (s *Store) PivotKey(ctx context.Context, key string, opt PivotOptions) (*Profile, error) {
	where := "e.access_key = ?"
	args := []any{key}
	if strings.HasPrefix(key, "arn:") {
		where = principalARNs.is("e.") + " OR e.session_issuer = ?"
		args = []any{key, key}
	}
	return s.pivot(ctx, "key", key, where, args, opt)
}

// PivotWindow profiles a time window [from, to): its events over time, the addresses in it with
// their success and failure counts, principals and APIs. Search gives the events themselves.
func (s *Store) PivotWindow(ctx context.Context, from, to time.Time, opt PivotOptions) (*Profile, error) {
	opt.Since, opt.Until = from, to
	return s.pivot(ctx, "window", from.UTC().Format(time.RFC3339)+"/"+to.UTC().Format(time.RFC3339), "1", nil, opt)
}

// pivotAgg accumulates a profile in one pass over the entity's events.
type pivotAgg struct {
	bins       map[int64]*Bin
	principals map[string]int64
	addresses  map[string]int64
	agents     map[string]int64
	regions    map[string]int64
	identities map[string]int64
	apis       map[string]*APICount // by event source, NUL, event name
}

// pivot reads the matching events' columns once and aggregates in Go: one scan instead of one
// GROUP BY per list. The ids come from the index the where clause names and are visited in rowid
// order, so table pages are read in sequence (measured 20–25% faster than in index order).
func (s *Store) pivot(ctx context.Context, kind, value, where string, args []any, opt PivotOptions) (*Profile, error) {
	lo, hi := bounds(opt.Since, opt.Until)
	p := &Profile{Kind: kind, Value: value}
	bin := opt.Bin
	if bin <= 0 {
		bin = 5 * time.Minute
		var first, last *int64
		err := s.r.QueryRowContext(ctx, `SELECT min(e.time), max(e.time) FROM events e WHERE (`+where+`) AND e.time >= ? AND e.time < ?`,
			append(append([]any{}, args...), lo, hi)...).Scan(&first, &last)
		if err != nil {
			return nil, fmt.Errorf("pivot %s %s: %w", kind, value, err)
		}
		if first != nil && *last-*first > 2*24*time.Hour.Milliseconds() {
			bin = time.Hour
		}
	}
	ms := bin.Milliseconds()
	p.BinSeconds = int64(bin / time.Second)
	a := pivotAgg{bins: map[int64]*Bin{}, principals: map[string]int64{}, addresses: map[string]int64{},
		agents: map[string]int64{}, regions: map[string]int64{}, identities: map[string]int64{}, apis: map[string]*APICount{}}
	// The text columns come packed in one value, each as its byte length, ':' and its bytes:
	// the driver's cost is per column fetched (a mutex and a conversion each), and packing
	// measured 1.5× faster over 30,000 events than fetching the eight columns apiece. User
	// agents are counted by id, and named once at the end.
	packed := []string{"e.event_source", "e.event_name", "e.principal_arn", "e.source_ip", "coalesce(e.user_agent_id, '')", "e.region"}
	if kind == "key" { // only key pivots list the identities; fewer columns, faster scan
		packed = append(packed, "e.principal_type", "e.user_name", "e.session_issuer")
	}
	for i, c := range packed {
		packed[i] = "octet_length(" + c + ") || ':' || " + c
	}
	rows, err := s.r.QueryContext(ctx, `SELECT e.time, e.error_code <> '', `+strings.Join(packed, " || ")+`
		FROM events e WHERE e.id IN (SELECT e.id FROM events e WHERE (`+where+`) AND e.time >= ? AND e.time < ?)`,
		append(append([]any{}, args...), lo, hi)...)
	if err != nil {
		return nil, fmt.Errorf("pivot %s %s: %w", kind, value, err)
	}
	defer rows.Close()
	var first, last int64
	// RawBytes and map lookups by string(b) keep the loop free of allocations for values already
	// seen: an address can have hundreds of thousands of events with a few dozen distinct values.
	var t int64
	var failed bool
	var pack sql.RawBytes
	var fields [9][]byte
	var key []byte
	count := func(m map[string]int64, b []byte) {
		if _, ok := m[string(b)]; ok {
			m[string(b)]++
		} else {
			m[string(b)] = 1
		}
	}
	for rows.Next() {
		if err := rows.Scan(&t, &failed, &pack); err != nil {
			return nil, fmt.Errorf("pivot %s %s: %w", kind, value, err)
		}
		if !unpack(pack, fields[:len(packed)]) {
			return nil, fmt.Errorf("pivot %s %s: malformed row %q", kind, value, pack)
		}
		src, name, arn, ip, agent, region := fields[0], fields[1], fields[2], fields[3], fields[4], fields[5]
		if p.Events == 0 || t < first {
			first = t
		}
		if p.Events == 0 || t > last {
			last = t
		}
		p.Events++
		b := a.bins[t/ms]
		if b == nil {
			b = &Bin{Start: time.UnixMilli(t / ms * ms).UTC()}
			a.bins[t/ms] = b
		}
		b.Events++
		if failed {
			p.Failures++
			b.Failures++
		}
		key = append(append(append(key[:0], src...), 0), name...) // a NUL never occurs in either
		api := a.apis[string(key)]
		if api == nil {
			api = &APICount{EventSource: string(src), EventName: string(name), FirstSeen: time.UnixMilli(t).UTC(), LastSeen: time.UnixMilli(t).UTC()}
			a.apis[string(key)] = api
		}
		if failed {
			api.Failure++
		} else {
			api.Success++
		}
		if t < api.FirstSeen.UnixMilli() {
			api.FirstSeen = time.UnixMilli(t).UTC()
		} else if t > api.LastSeen.UnixMilli() {
			api.LastSeen = time.UnixMilli(t).UTC()
		}
		count(a.principals, arn)
		count(a.addresses, ip)
		count(a.agents, agent)
		count(a.regions, region)
		if kind == "key" {
			ptype, user, issuer := fields[6], fields[7], fields[8]
			for _, id := range []string{"arn " + string(arn), "type " + string(ptype), "user " + string(user), "issuer " + string(issuer)} {
				if !strings.HasSuffix(id, " ") {
					a.identities[id]++
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pivot %s %s: %w", kind, value, err)
	}
	if p.Events == 0 {
		return p, nil
	}
	p.FirstSeen, p.LastSeen = time.UnixMilli(first).UTC(), time.UnixMilli(last).UTC()
	if p.Rules, err = s.pivotRules(ctx, where, args, lo, hi); err != nil {
		return nil, fmt.Errorf("pivot %s %s: %w", kind, value, err)
	}
	top := opt.Top
	if top <= 0 {
		top = 50
	}
	for _, b := range a.bins {
		p.Timeline = append(p.Timeline, *b)
	}
	sort.Slice(p.Timeline, func(i, j int) bool { return p.Timeline[i].Start.Before(p.Timeline[j].Start) })
	p.Principals = topCounts(a.principals, top)
	p.Addresses = topCounts(a.addresses, top)
	agents, err := s.userAgentCounts(ctx, a.agents)
	if err != nil {
		return nil, fmt.Errorf("pivot %s %s: %w", kind, value, err)
	}
	p.UserAgents = topCounts(agents, top)
	p.Regions = topCounts(a.regions, top)
	p.Identities = topCounts(a.identities, top)
	for _, api := range a.apis {
		p.APIs = append(p.APIs, *api)
	}
	sort.Slice(p.APIs, func(i, j int) bool {
		x, y := p.APIs[i], p.APIs[j]
		if nx, ny := x.Success+x.Failure, y.Success+y.Failure; nx != ny {
			return nx > ny
		}
		return x.EventSource+" "+x.EventName < y.EventSource+" "+y.EventName
	})
	if len(p.APIs) > top {
		p.APIs = p.APIs[:top]
	}
	return p, nil
}

// pivotRules counts, per rule, the events matching where in [lo, hi) that it matched.
func (s *Store) pivotRules(ctx context.Context, where string, args []any, lo, hi int64) ([]RuleCount, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT r.name, r.severity, count(*) FROM indicators i JOIN rules r ON r.id = i.rule_id
		WHERE i.event_id IN (SELECT e.id FROM events e WHERE (`+where+`) AND e.time >= ? AND e.time < ?)
		GROUP BY r.id ORDER BY r.severity DESC, 3 DESC, r.name`, append(append([]any{}, args...), lo, hi)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RuleCount
	for rows.Next() {
		var c RuleCount
		if err := rows.Scan(&c.Name, &c.Severity, &c.Events); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// unpack splits a packed row (each value as its byte length, ':' and its bytes) into out; ok is
// false unless it holds exactly len(out) values.
func unpack(b []byte, out [][]byte) bool {
	for i := range out {
		n, j := 0, 0
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			n = n*10 + int(b[j]-'0')
			j++
		}
		if j == 0 || j >= len(b) || b[j] != ':' || len(b)-j-1 < n {
			return false
		}
		out[i] = b[j+1 : j+1+n]
		b = b[j+1+n:]
	}
	return len(b) == 0
}

// userAgentCounts turns counts by user agent id (in decimal, empty for none) into counts by
// user agent.
func (s *Store) userAgentCounts(ctx context.Context, byID map[string]int64) (map[string]int64, error) {
	ids := make([]int64, 0, len(byID))
	for id := range byID {
		if id == "" {
			continue
		}
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("user agent id %q", id)
		}
		ids = append(ids, n)
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, value FROM `+userAgents.table+` WHERE id IN (SELECT value FROM json_each(?))`, string(list))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]int64, len(ids))
	for rows.Next() {
		var id, v string
		if err := rows.Scan(&id, &v); err != nil {
			return nil, err
		}
		out[v] = byID[id]
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) != len(ids) {
		return nil, fmt.Errorf("%d of %d user agents named", len(out), len(ids))
	}
	return out, nil
}

// topCounts lists the most frequent values (ties by value), leaving out the empty value.
func topCounts(m map[string]int64, top int) []Count {
	out := make([]Count, 0, len(m))
	for v, n := range m {
		if v != "" {
			out = append(out, Count{v, n})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Events != out[j].Events {
			return out[i].Events > out[j].Events
		}
		return out[i].Value < out[j].Value
	})
	if len(out) > top {
		out = out[:top]
	}
	return out
}
