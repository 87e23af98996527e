package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// FieldCounts is how the events a filter matches spread over the values of one field: the
// analyst's stack count (which principals, which buckets, which error codes, and how often).
type FieldCounts struct {
	Events   int64   `json:"events"`   // events matched
	Without  int64   `json:"without"`  // of them, those with no value of the field
	Distinct int64   `json:"distinct"` // distinct values, ASCII case folded as queries match
	Values   []Count `json:"values"`   // the commonest values, most events first, then by value
	// Partial is set when the values outnumbered maxCounted: those first met after that were
	// not counted (read from the raw records only).
	Partial bool `json:"partial,omitempty"`
}

// ValueSource says where CountValues reads an event's values of a field: Expr, an SQL
// expression over the events row aliased e that is the value (the empty string for none),
// made by the query package from its column table and never from user text; Values, which
// reads them from the raw record (each value once); or Rules.
type ValueSource struct {
	Expr   string
	Values func(raw []byte) ([]string, error)
	// Rules counts the events by the names of the rules that made indicators of them (the
	// query language's rule field).
	Rules bool
}

// maxCounted bounds the distinct values counted from raw records (a field like eventID has as
// many as there are events): about 40 MB of them. (A variable for tests.)
var maxCounted = 1 << 18

// CountValues counts the events f matches by their values of a field, values that differ in
// ASCII case only together, shown in their first spelling in byte order. Values holds at most
// top entries (0: all). progress, when set, is told now and then how many matches were read.
func (s *Store) CountValues(ctx context.Context, f Filter, src ValueSource, top int, progress func(read int64)) (*FieldCounts, error) {
	t := tallies{seen: map[string]*tally{}}
	if progress == nil {
		progress = func(int64) {}
	}
	var err error
	switch {
	case src.Rules:
		err = s.countByRule(ctx, f, &t)
	case src.Expr != "":
		err = s.countByExpr(ctx, f, src.Expr, &t, progress)
	case src.Values != nil:
		err = s.countByRecord(ctx, f, src.Values, &t, progress)
	default:
		err = fmt.Errorf("no field")
	}
	if err != nil {
		return nil, fmt.Errorf("count values: %w", err)
	}
	return t.counts(top), nil
}

// scanWhere is the filter's condition for reading every match: without time bounds, none on the
// time column, so that SQLite reads the table in row order (or an index the query names)
// rather than seeking each row from the time index. (Counting S3's events by bucket in the 1M
// event case: 5.2 s through the time index, 3.2 s without it.)
func (f Filter) scanWhere() (string, []any) {
	if !f.Since.IsZero() || !f.Until.IsZero() {
		return f.whereClause()
	}
	if strings.TrimSpace(f.Where) == "" {
		return "1", nil
	}
	return "(" + f.Where + ")", f.Args
}

// countByExpr reads each match's value from the row and counts them in memory. (A GROUP BY
// sorts: 1M events by principal took 1.5–2.5 s, in memory 0.9 s.)
func (s *Store) countByExpr(ctx context.Context, f Filter, expr string, t *tallies, progress func(int64)) error {
	where, args := f.scanWhere()
	from := "events e"
	if f.needsJSON() {
		from = "events e CROSS JOIN event_json j ON j.id = e.id"
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+expr+` FROM `+from+` WHERE `+where, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var value sql.RawBytes // the row's own bytes: most values were met before, and need no copy
	for rows.Next() {
		if err := rows.Scan(&value); err != nil {
			return err
		}
		if t.events++; t.events%progressEvery == 0 {
			progress(t.events)
		}
		if len(value) == 0 {
			t.without++
			continue
		}
		t.addBytes(value)
	}
	return rows.Err()
}

// countByRule counts the matches by the rules that made indicators of them (an event matched
// by two rules counts for each), and those without an indicator.
func (s *Store) countByRule(ctx context.Context, f Filter, t *tallies) error {
	where, args := f.scanWhere()
	from := "events e"
	if f.needsJSON() {
		from = "events e CROSS JOIN event_json j ON j.id = e.id"
	}
	if err := s.r.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(NOT EXISTS (SELECT 1 FROM indicators i WHERE i.event_id = e.id)), 0)
		FROM `+from+` WHERE `+where, args...).Scan(&t.events, &t.without); err != nil {
		return err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT r.name, count(*) FROM indicators i JOIN rules r ON r.id = i.rule_id
		WHERE i.event_id IN (SELECT e.id FROM `+from+` WHERE `+where+`) GROUP BY r.name`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return err
		}
		t.add(name, n)
	}
	return rows.Err()
}

// progressEvery is how many matches a count reads between two progress reports. (A variable
// for tests.)
var progressEvery int64 = 1 << 14

// countByRecord reads each match's raw record and counts its values in memory. SQLite reads
// the rows on this goroutine while others unpack and walk the records, each into tallies of
// its own, merged at the end (S3's 382k events by bucket in the 1M-event case: 3.5 s on this
// goroutine alone, 2.6 s with two beside it).
func (s *Store) countByRecord(ctx context.Context, f Filter, values func([]byte) ([]string, error), t *tallies, progress func(int64)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	where, args := f.scanWhere()
	// Rows by id: an eventID is read only for an error's message, not for each row.
	rows, err := s.r.QueryContext(ctx, `SELECT e.id, j.json FROM events e CROSS JOIN event_json j ON j.id = e.id WHERE `+where, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	// Rows go to the workers in batches, their stored bytes one after the other in an arena
	// that comes back for the next batch: a copy of each row's bytes cost an allocation.
	type batch struct {
		ids   []int64
		ends  []int // row i's bytes are arena[ends[i-1]:ends[i]]
		arena []byte
	}
	const batchLen = 256
	workers := runtime.GOMAXPROCS(0)
	batches := make(chan *batch, 4)
	free := make(chan *batch, 4+workers+1)
	own := make([]tallies, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		own[w].seen = map[string]*tally{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var raw []byte
			for b := range batches {
				if errs[w] != nil {
					continue // drain
				}
				from := 0
				for i, id := range b.ids {
					var vs []string
					if raw, errs[w] = UnpackJSON(raw[:0], b.arena[from:b.ends[i]]); errs[w] == nil {
						vs, errs[w] = values(raw)
					}
					from = b.ends[i]
					if errs[w] != nil {
						errs[w] = fmt.Errorf("event %s: %w", s.eventID(id), errs[w])
						cancel()
						break
					}
					own[w].events++
					if len(vs) == 0 {
						own[w].without++
					}
					for _, v := range vs {
						own[w].add(v, 1)
					}
				}
				free <- b // never blocks: a batch is made only when free is empty, so at most its room
			}
		}()
	}
	next := func() *batch {
		select {
		case b := <-free:
			b.ids, b.ends, b.arena = b.ids[:0], b.ends[:0], b.arena[:0]
			return b
		default:
			return &batch{ids: make([]int64, 0, batchLen), ends: make([]int, 0, batchLen)}
		}
	}
	b := next()
	var read int64
	var id int64
	var stored sql.RawBytes
	for rows.Next() {
		if err = rows.Scan(&id, &stored); err != nil {
			break
		}
		if read++; read%progressEvery == 0 {
			progress(read)
		}
		b.ids, b.arena = append(b.ids, id), append(b.arena, stored...)
		if b.ends = append(b.ends, len(b.arena)); len(b.ids) == batchLen {
			batches <- b
			b = next()
		}
	}
	if len(b.ids) > 0 {
		batches <- b
	}
	close(batches)
	wg.Wait()
	if err == nil {
		err = rows.Err()
	}
	for w := range own {
		if errs[w] != nil {
			return errs[w] // before ctx's cancellation, which it caused
		}
		t.merge(&own[w])
	}
	return err
}

// eventID names the event of row id in an error's message: its eventID, or its row.
func (s *Store) eventID(id int64) string {
	var eventID string
	if err := s.r.QueryRow(`SELECT event_id FROM events WHERE id = ?`, id).Scan(&eventID); err != nil {
		return fmt.Sprintf("in row %d", id)
	}
	return eventID
}

// tallies counts values by their ASCII-folded form.
type tallies struct {
	events, without int64
	seen            map[string]*tally
	partial         bool
	// spelled finds the tally of a value by its spelling as met, without folding or copying it
	// (addBytes): counting 1M events by principal spent a third of its time on that.
	spelled map[string]*tally
}

// maxSpelled bounds the spellings addBytes remembers; values past it are folded each time.
const maxSpelled = 1 << 16

// addBytes counts one more event with value v, which it does not keep.
func (t *tallies) addBytes(v []byte) {
	if c, ok := t.spelled[string(v)]; ok {
		c.n++
		return
	}
	s := string(v)
	if c := t.add(s, 1); c != nil && len(t.spelled) < maxSpelled {
		if t.spelled == nil {
			t.spelled = map[string]*tally{}
		}
		t.spelled[s] = c
	}
}

type tally struct {
	value string // the first spelling in byte order
	n     int64
}

// add counts n more events with value v and returns its tally, nil when it has no room.
func (t *tallies) add(v string, n int64) *tally {
	key := foldASCII(v)
	c, ok := t.seen[key]
	if !ok {
		if len(t.seen) >= maxCounted {
			t.partial = true
			return nil
		}
		c = &tally{value: v}
		t.seen[key] = c
	}
	c.n += n
	c.value = min(c.value, v)
	return c
}

// merge adds o's tallies to t's.
func (t *tallies) merge(o *tallies) {
	t.events += o.events
	t.without += o.without
	t.partial = t.partial || o.partial
	for _, c := range o.seen {
		t.add(c.value, c.n)
	}
}

// counts are the tallies, the top commonest first (0: all).
func (t *tallies) counts(top int) *FieldCounts {
	keys := make([]string, 0, len(t.seen))
	for k := range t.seen {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(t.seen[b].n, t.seen[a].n); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	if top > 0 && len(keys) > top {
		keys = keys[:top]
	}
	fc := &FieldCounts{Events: t.events, Without: t.without, Distinct: int64(len(t.seen)), Partial: t.partial}
	for _, k := range keys {
		fc.Values = append(fc.Values, Count{Value: t.seen[k].value, Events: t.seen[k].n})
	}
	return fc
}
