package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/trailscope/trailscope/data/cloudtrail"
)

// testEvents makes n distinct events with a few repeated values to index.
func testEvents(t *testing.T, n int) []cloudtrail.Event {
	t.Helper()
	base := time.Date(2024, 5, 9, 0, 0, 0, 0, time.UTC)
	out := make([]cloudtrail.Event, n)
	for i := range n {
		raw := fmt.Sprintf(`{"eventVersion":"1.08","eventID":"id-%06d","eventTime":%q,"eventSource":"s3.amazonaws.com",`+
			`"eventName":"%s","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.%d","userAgent":"agent-%d",`+
			`"requestParameters":{"bucketName":"bucket-%d"}}`,
			i, base.Add(time.Duration(i)*time.Second).Format(time.RFC3339), []string{"GetObject", "PutObject"}[i%2], i%200, i%3, i%5)
		e, err := cloudtrail.Extract([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = e
	}
	return out
}

// loadEvents loads es into s in one load.
func loadEvents(t *testing.T, s *Store, es []cloudtrail.Event) {
	t.Helper()
	l, err := s.BeginLoad(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Events(es, nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// indexNames lists the indexes on events.
func indexNames(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.r.Query(`SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'events' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}

// TestFirstLoadKeys checks that a first load, which keeps eventIDs in memory rather than in
// the key index, still stores each event once: duplicates inside the load, every hash
// colliding, and the switch to the key index when memory holds enough of them.
func TestFirstLoadKeys(t *testing.T) {
	ctx := context.Background()
	es := testEvents(t, 600)
	tests := []struct {
		name    string
		hash    func(string) uint64
		maxSeen int
	}{
		{"in memory", nil, 1 << 20},
		{"every hash collides", func(string) uint64 { return 7 }, 1 << 20},
		{"key built midway", nil, 250},
		{"colliding, key built midway", func(s string) uint64 { return uint64(s[len(s)-1] % 3) }, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func(h func(string) uint64, m int) { keyHash, maxSeen = h, m }(keyHash, maxSeen)
			keyHash = tt.hash
			maxSeen = tt.maxSeen
			s, err := Open(ctx, filepath.Join(t.TempDir(), "case.tsc"))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			l, err := s.BeginLoad(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// Each event twice, the second time one commit later; then all again.
			total := 0
			for i := 0; i < len(es); i += 100 {
				part := es[i : i+100]
				for _, p := range [][]cloudtrail.Event{part, part[:50]} {
					n, err := l.Events(p, nil, 0)
					if err != nil {
						t.Fatal(err)
					}
					total += n
				}
				if err := l.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			n, err := l.Events(es, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			total += n
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			total -= int(l.Removed())
			if total != len(es) {
				t.Errorf("added %d, want %d", total, len(es))
			}
			var rows, distinct int
			if err := s.DB().QueryRowContext(ctx, `SELECT count(*), count(DISTINCT event_id) FROM events`).Scan(&rows, &distinct); err != nil {
				t.Fatal(err)
			}
			if rows != len(es) || distinct != len(es) {
				t.Errorf("events: %d rows, %d distinct, want %d", rows, distinct, len(es))
			}
			want := []string{"events_ip", "events_key", "events_name", "events_principal", "events_time"}
			if got := indexNames(t, s); !reflect.DeepEqual(got, want) {
				t.Errorf("indexes %v, want %v", got, want)
			}
		})
	}
}

// TestUncheckedDuplicates checks that the events a first load stores unchecked, once memory
// holds maxSeen eventIDs, are stored once in the end, each in the row of the file that brought
// it first, and that the files that brought them again count them no longer: when the load
// closes, and when it was killed and the next opening of the case finishes it.
func TestUncheckedDuplicates(t *testing.T) {
	defer func(m int) { maxSeen = m }(maxSeen)
	maxSeen = 100
	ctx := context.Background()
	es := testEvents(t, 400)
	// a: 0-199, the last 100 unchecked; b: 150-399, 50 of them a's again; c: 0-49, all again.
	files := []struct {
		name      string
		events    []cloudtrail.Event
		wantAdded int64
	}{{"a", es[:200], 200}, {"b", es[150:], 200}, {"c", es[:50], 0}}
	for _, killed := range []bool{false, true} {
		t.Run(fmt.Sprintf("killed=%v", killed), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "case.tsc")
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			l, err := s.BeginLoad(ctx)
			if err != nil {
				t.Fatal(err)
			}
			ids := map[string]int64{}
			var added int64
			for _, f := range files {
				id, err := l.File(FileRecord{Path: f.name, Events: int64(len(f.events)), Status: FileLoaded})
				if err != nil {
					t.Fatal(err)
				}
				n, err := l.Events(f.events, nil, id)
				if err != nil {
					t.Fatal(err)
				}
				if err := l.FileAdded(id, int64(n)); err != nil {
					t.Fatal(err)
				}
				ids[f.name], added = id, added+int64(n)
				if err := l.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			if killed {
				l.Abort()
				s.Close()
				if s, err = Open(ctx, path); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				if added-l.Removed() != int64(len(es)) {
					t.Errorf("added %d less %d removed, want %d", added, l.Removed(), len(es))
				}
			}
			defer s.Close()
			var rows, distinct, fromA int
			if err := s.r.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT event_id), count(*) FILTER (WHERE file_id = ?)
				FROM events`, ids["a"]).Scan(&rows, &distinct, &fromA); err != nil {
				t.Fatal(err)
			}
			if rows != len(es) || distinct != len(es) || fromA != 200 {
				t.Errorf("%d rows, %d distinct, %d from a; want %d, %d, 200", rows, distinct, fromA, len(es), len(es))
			}
			var orphans int
			if err := s.r.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM event_json) - (SELECT count(*) FROM events)`).Scan(&orphans); err != nil || orphans != 0 {
				t.Errorf("event_json rows beyond events: %d (%v)", orphans, err)
			}
			for _, f := range files {
				var got int64
				if err := s.r.QueryRowContext(ctx, `SELECT added FROM files WHERE id = ?`, ids[f.name]).Scan(&got); err != nil || got != f.wantAdded {
					t.Errorf("file %s: added %d (%v), want %d", f.name, got, err, f.wantAdded)
				}
			}
			if v, err := s.Setting(ctx, dedupKey, ""); err != nil || v != "" {
				t.Errorf("setting %s = %q, %v; want it gone", dedupKey, v, err)
			}
			want := []string{"events_ip", "events_key", "events_name", "events_principal", "events_time"}
			if got := indexNames(t, s); !reflect.DeepEqual(got, want) {
				t.Errorf("indexes %v, want %v", got, want)
			}
		})
	}
}

// TestDeferredIndexes checks that a first load drops the secondary indexes and builds them at
// Close, that a load which never closes leaves them to the next BeginLoad or
// BuildDeferredIndexes, and that later loads into a non-empty case keep them.
func TestDeferredIndexes(t *testing.T) {
	ctx := context.Background()
	want := []string{"events_ip", "events_key", "events_name", "events_principal", "events_time"}
	es := testEvents(t, 3000)
	tests := []struct {
		name   string
		finish func(t *testing.T, s *Store, l *Loader)
	}{
		{"closed", func(t *testing.T, s *Store, l *Loader) {
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
		}},
		{"aborted then built", func(t *testing.T, s *Store, l *Loader) {
			if err := l.Commit(); err != nil {
				t.Fatal(err)
			}
			l.Abort()
			if got := indexNames(t, s); len(got) != 0 {
				t.Errorf("during the load: indexes %v, want none", got)
			}
			if err := s.BuildDeferredIndexes(ctx); err != nil {
				t.Fatal(err)
			}
		}},
		{"aborted then loaded again", func(t *testing.T, s *Store, l *Loader) {
			if err := l.Commit(); err != nil {
				t.Fatal(err)
			}
			l.Abort()
			l2, err := s.BeginLoad(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := indexNames(t, s); !reflect.DeepEqual(got, want) {
				t.Errorf("second BeginLoad: indexes %v, want %v", got, want)
			}
			n, err := l2.Events(es, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(es)/2 {
				t.Errorf("second load added %d, want %d", n, len(es)/2)
			}
			if err := l2.Close(); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(ctx, filepath.Join(t.TempDir(), "case.tsc"))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			l, err := s.BeginLoad(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n, err := l.Events(es[:len(es)/2], nil, 0)
			if err != nil || n != len(es)/2 {
				t.Fatalf("added %d, %v; want %d", n, err, len(es)/2)
			}
			tt.finish(t, s, l)
			if got := indexNames(t, s); !reflect.DeepEqual(got, want) {
				t.Errorf("indexes %v, want %v", got, want)
			}
			if v, err := s.Setting(ctx, deferredKey, ""); err != nil || v != "" {
				t.Errorf("setting %s = %q, %v; want it gone", deferredKey, v, err)
			}
		})
	}
}

// TestBuildFTSBatches builds the full-text index in several transactions, across a second load,
// and checks that every event is found by a value of its own and that nothing is indexed twice.
func TestBuildFTSBatches(t *testing.T) {
	ctx := context.Background()
	old := ftsBatch
	ftsBatch = 700 // several transactions, not a multiple of the reader's chunk
	t.Cleanup(func() { ftsBatch = old })
	s, err := Open(ctx, filepath.Join(t.TempDir(), "case.tsc"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	es := testEvents(t, 2500)
	for _, part := range [][]cloudtrail.Event{es[:1800], es[1800:]} {
		loadEvents(t, s, part)
		var calls []int64
		if err := s.BuildFTS(ctx, func(n int64) { calls = append(calls, n) }); err != nil {
			t.Fatal(err)
		}
		if len(calls) == 0 || calls[len(calls)-1] != int64(len(part)) {
			t.Errorf("progress %v, want it to end at %d", calls, len(part))
		}
		if n, err := s.FTSPending(ctx); err != nil || n != 0 {
			t.Errorf("pending %d, %v; want 0", n, err)
		}
	}
	for _, tc := range []struct {
		match string
		want  int
	}{
		{`"id 000042"`, 1},
		{`"id 002499"`, 1},
		{`getobject`, 1250},
		{`"agent 1"`, 833},
		{`bucket`, 2500},
	} {
		t.Run(tc.match, func(t *testing.T) {
			rows, err := s.r.QueryContext(ctx, `SELECT rowid FROM events_fts WHERE events_fts MATCH ?`, tc.match)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var ids []int64
			for rows.Next() {
				var id int64
				rows.Scan(&id)
				ids = append(ids, id)
			}
			sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
			if len(ids) != tc.want {
				t.Errorf("%d matches, want %d", len(ids), tc.want)
			}
			for i := 1; i < len(ids); i++ {
				if ids[i] == ids[i-1] {
					t.Fatalf("rowid %d indexed twice", ids[i])
				}
			}
		})
	}
}

// TestCloseCancelled checks that a load cancelled while its indexes are built keeps its events
// and leaves the indexes to the next open of the case.
func TestCloseCancelled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "case.tsc")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l, err := s.BeginLoad(ctx)
	if err != nil {
		t.Fatal(err)
	}
	es := testEvents(t, 500)
	if _, err := l.Events(es, nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := l.Commit(); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := l.Close(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close after cancel: %v, want context.Canceled", err)
	}
	if got := indexNames(t, s); len(got) != 0 {
		t.Errorf("indexes %v after a cancelled Close, want none yet", got)
	}
	s.Close()
	s, err = Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := []string{"events_ip", "events_key", "events_name", "events_principal", "events_time"}
	if got := indexNames(t, s); !reflect.DeepEqual(got, want) {
		t.Errorf("indexes after reopening %v, want %v", got, want)
	}
	var n int
	if err := s.r.QueryRow(`SELECT count(*) FROM events`).Scan(&n); err != nil || n != len(es) {
		t.Errorf("%d events (%v), want %d", n, err, len(es))
	}
}
