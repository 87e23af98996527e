package store

import (
	"context"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/trailscope/trailscope/data/cloudtrail"
	"github.com/trailscope/trailscope/data/query"
)

// TestFoldASCII holds the loader's folding equal to SQLite's lower(), which queries apply to the
// value they look up.
func TestFoldASCII(t *testing.T) {
	st := newCase(t, nil)
	for _, s := range []string{"", "abc", "GetObject", "ARN:AWS:IAM::1:USER/Ana", "ÀÉÎ Straße İ", "10.0.0.1", "2001:DB8::1", "\xff\xfeX"} {
		var want string
		if err := st.r.QueryRow(`SELECT lower(?)`, s).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if got := foldASCII(s); got != want {
			t.Errorf("foldASCII(%q) = %q, lower() = %q", s, got, want)
		}
	}
}

// checkDictionaries checks that every event's ids name its own values, folded.
func checkDictionaries(t *testing.T, st *Store) {
	t.Helper()
	for _, d := range []dictionary{eventNames, sourceIPs, principalARNs} {
		var bad, events int64
		err := st.r.QueryRow(`SELECT count(*), coalesce(sum(d.value IS NOT lower(e.`+d.column+`)), 0)
			FROM events e LEFT JOIN `+d.table+` d ON d.id = e.`+d.column+`_id`).Scan(&events, &bad)
		if err != nil {
			t.Fatal(err)
		}
		if events == 0 || bad > 0 {
			t.Errorf("%s: %d of %d events with a wrong id", d.table, bad, events)
		}
	}
}

// TestDictionaryIDs loads in two loads (the second into a case with events, and a dictionary
// memory that overflows) and checks the ids, then that differently spelt values share one.
func TestDictionaryIDs(t *testing.T) {
	defer func(n int) { maxDictCache = n }(maxDictCache)
	maxDictCache = 7
	raws := genEvents(1200, 3)
	st := newCase(t, raws[:500])
	loadRaws(t, st, raws[500:])
	checkDictionaries(t, st)
	var spellings int
	if err := st.r.QueryRow(`SELECT count(*) FROM (SELECT DISTINCT event_name FROM events)`).Scan(&spellings); err != nil {
		t.Fatal(err)
	}
	var ids int
	if err := st.r.QueryRow(`SELECT count(*) FROM event_names`).Scan(&ids); err != nil {
		t.Fatal(err)
	}
	if ids == 0 || ids > spellings {
		t.Errorf("%d event names spelt %d ways", ids, spellings)
	}
}

// TestMigrateIntegerKeys turns a case back into its form before migration 0005 (text indexes
// on lower() and on eventIDs, no dictionaries), opens it again and checks the new columns, and
// that searches still match the oracle.
func TestMigrateIntegerKeys(t *testing.T) {
	ctx := context.Background()
	raws := genEvents(1500, 5)
	path := filepath.Join(t.TempDir(), "old.db")
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	loadRaws(t, st, raws)
	if _, err := st.w.ExecContext(ctx, `
		DROP INDEX events_name; DROP INDEX events_ip; DROP INDEX events_principal; DROP INDEX events_key;
		ALTER TABLE events DROP COLUMN event_name_id; ALTER TABLE events DROP COLUMN source_ip_id;
		ALTER TABLE events DROP COLUMN principal_arn_id; ALTER TABLE events DROP COLUMN event_key;
		CREATE UNIQUE INDEX events_event_id ON events (event_id);
		DROP TABLE event_names; DROP TABLE source_ips; DROP TABLE principal_arns;
		CREATE INDEX events_name ON events (lower(event_name), time);
		CREATE INDEX events_ip ON events (lower(source_ip), time);
		CREATE INDEX events_principal ON events (lower(principal_arn), time);
		DELETE FROM schema_migrations WHERE version = 5`); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if up, err := NeedsMigration(ctx, path); err != nil || !up {
		t.Errorf("NeedsMigration before the upgrade: %v, %v; want true", up, err)
	}
	if st, err = Open(ctx, path); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if up, err := NeedsMigration(ctx, path); err != nil || up {
		t.Errorf("NeedsMigration after the upgrade: %v, %v; want false", up, err)
	}
	if up, err := NeedsMigration(ctx, filepath.Join(t.TempDir(), "new.tsc")); err != nil || up {
		t.Errorf("NeedsMigration of a file not made yet: %v, %v; want false", up, err)
	}
	checkDictionaries(t, st)
	if got, want := indexNames(t, st), []string{"events_ip", "events_key", "events_name", "events_principal", "events_time"}; !slices.Equal(got, want) {
		t.Errorf("indexes after the migration %v, want %v", got, want)
	}
	var badKeys int
	if err := st.r.QueryRow(`SELECT count(*) FROM events WHERE event_key <> ` + eventKeyFunc + `(event_id)`).Scan(&badKeys); err != nil || badKeys > 0 {
		t.Errorf("%d events with a wrong key (%v)", badKeys, err)
	}
	for _, raw := range raws[:50] {
		e, err := cloudtrail.Extract(raw)
		if err != nil {
			continue
		}
		if got, err := st.Event(ctx, e.EventID); err != nil || len(got) == 0 {
			t.Errorf("event %s: %v", e.EventID, err)
		}
	}
	docs := newOracleDocs(t, raws)
	for _, q := range []string{"eventName:GetObject", "eventName:get*", "sourceIPAddress:10.0.0.0/8",
		"userIdentity.arn:*role*", "eventName:*bucket*"} {
		got := searchIDs(t, st, q, 0)
		sort.Strings(got)
		want := oracle(t, docs, query.MustParse(q))
		if !slices.Equal(got, want) || len(want) == 0 || len(want) == len(docs) {
			t.Errorf("%s: %d events, oracle %d of %d", q, len(got), len(want), len(docs))
		}
	}
}

// checkUserAgents holds every event's user agent, as a search reads it, equal to its record's.
func checkUserAgents(t *testing.T, st *Store, raws [][]byte) {
	t.Helper()
	want := map[string]string{}
	for _, raw := range raws {
		if e, err := cloudtrail.Extract(raw); err == nil {
			want[e.EventID] = e.UserAgent
		}
	}
	n := 0
	err := st.Search(context.Background(), Filter{}, 0, func(h Hit) error {
		if h.UserAgent != want[h.EventID] {
			t.Errorf("event %s: user agent %q, want %q", h.EventID, h.UserAgent, want[h.EventID])
		}
		n++
		return nil
	})
	if err != nil || n != len(want) {
		t.Errorf("%d events searched, %v; want %d", n, err, len(want))
	}
}

// TestMigrateUserAgents turns a case back into its form before migration 0010 (user agents as
// text in events), opens it again and checks that each event keeps its user agent, and that
// searches on it still match the oracle.
func TestMigrateUserAgents(t *testing.T) {
	ctx := context.Background()
	raws := append(genEvents(1500, 6), fixtureRaws()...) // the fixture has an empty one
	path := filepath.Join(t.TempDir(), "old.tsc")
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	loadRaws(t, st, raws)
	checkUserAgents(t, st, raws)
	if _, err := st.w.ExecContext(ctx, `
		ALTER TABLE events ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
		UPDATE events SET user_agent = coalesce((SELECT value FROM user_agents WHERE id = user_agent_id), '');
		ALTER TABLE events DROP COLUMN user_agent_id; DROP TABLE user_agents;
		DELETE FROM schema_migrations WHERE version = 10`); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err = Open(ctx, path); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checkUserAgents(t, st, raws)
	var agents, empty int
	if err := st.r.QueryRow(`SELECT (SELECT count(*) FROM user_agents), (SELECT count(*) FROM events WHERE user_agent_id IS NULL)`).
		Scan(&agents, &empty); err != nil || agents != 10 || empty != 1 {
		t.Errorf("%d user agents, %d events without (%v); want the 6 generated and 4 of the fixture, and 1", agents, empty, err)
	}
	docs := newOracleDocs(t, raws)
	for _, q := range []string{"userAgent:boto3*", "userAgent:*windows*", "userAgent:TERRAFORM/1.7.0", "userAgent:*",
		"userAgent:mozilla/5.0 OR eventName:GetObject"} {
		got := searchIDs(t, st, q, 0)
		sort.Strings(got)
		want := oracle(t, docs, query.MustParse(q))
		if !slices.Equal(got, want) || len(want) == 0 || len(want) == len(docs) {
			t.Errorf("%s: %d events, oracle %d of %d", q, len(got), len(want), len(docs))
		}
	}
}
