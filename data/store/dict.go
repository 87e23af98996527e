package store

import (
	"errors"
	"fmt"

	"github.com/trailscope/trailscope/data/internal/sqlitec"
)

// A dictionary holds the distinct values of an indexed text column of events, folded to lower
// case, and gives each an id; the column's index is on the id (migration 0005 says why).
type dictionary struct {
	table, column string // the dictionary's table, and the events column whose values it holds
}

var (
	eventNames    = dictionary{"event_names", "event_name"}
	sourceIPs     = dictionary{"source_ips", "source_ip"}
	principalARNs = dictionary{"principal_arns", "principal_arn"}
)

// is is an SQL condition on events (alias, such as "e.", before the column) that holds for the
// events with the value bound to its one parameter, in any ASCII case.
func (d dictionary) is(alias string) string {
	return alias + d.column + "_id = (SELECT id FROM " + d.table + " WHERE value = lower(?))"
}

// maxDictCache bounds the values a loader remembers per dictionary, about 5 MB of ARNs (a case
// may see millions of addresses); past it the memory starts over and misses are read from the
// dictionary's index.
// (A variable for tests.)
var maxDictCache = 1 << 16

// dictWriter assigns ids to values during a load. It remembers the values it met as written
// and as folded, so the common case (the same spelling again) costs one map lookup.
type dictWriter struct {
	ids      map[string]int64
	get, put *sqlitec.Stmt
}

func newDictWriter(p *sqlitec.Preparer, d dictionary) *dictWriter {
	return &dictWriter{
		ids: make(map[string]int64),
		get: p.Prepare(`SELECT id FROM ` + d.table + ` WHERE value = ?`),
		put: p.Prepare(`INSERT INTO ` + d.table + ` (value) VALUES (?) RETURNING id`),
	}
}

// id returns the id of v, adding v to the dictionary when it is new. A value added inside a
// transaction that is then rolled back goes with it: a Loader is closed after a rollback, and
// its memory with it.
func (w *dictWriter) id(v string) (int64, error) {
	if id, ok := w.ids[v]; ok {
		return id, nil
	}
	key := foldASCII(v)
	id, ok := w.ids[key]
	if !ok {
		w.get.Text(1, key)
		var err error
		id, err = w.get.Int64()
		if errors.Is(err, sqlitec.ErrNoRow) {
			w.put.Text(1, key)
			id, err = w.put.Int64()
		}
		if err != nil {
			return 0, fmt.Errorf("dictionary value %q: %w", key, err)
		}
	}
	if len(w.ids) >= maxDictCache {
		clear(w.ids)
	}
	w.ids[v] = id
	w.ids[key] = id
	return id, nil
}

func (w *dictWriter) close() {
	for _, st := range []*sqlitec.Stmt{w.get, w.put} {
		if st != nil {
			st.Close()
		}
	}
}

// foldASCII folds ASCII letters to lower case as SQLite's lower() does (without ICU), and
// returns s itself when it has none in upper case.
func foldASCII(s string) string {
	i := 0
	for i < len(s) && !('A' <= s[i] && s[i] <= 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if 'A' <= b[i] && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}
