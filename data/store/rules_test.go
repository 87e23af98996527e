package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailscope/trailscope/data/query"
)

// signIn is a failed console sign-in from ip at t, with an eventID naming both.
func signIn(ip string, t time.Time) []byte {
	return fmt.Appendf(nil, `{"eventVersion":"1.08","eventID":"%s@%s","eventTime":"%s","eventSource":"signin.amazonaws.com",`+
		`"eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"%s","userIdentity":{"type":"IAMUser",`+
		`"arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333"},"responseElements":{"ConsoleLogin":"Failure"}}`,
		ip, t.Format("15:04:05"), t.Format(time.RFC3339), ip)
}

func compiled(t *testing.T, q string) Filter {
	t.Helper()
	e, err := query.Parse(q)
	if err != nil {
		t.Fatal(err)
	}
	where, args, err := query.Compile(e)
	if err != nil {
		t.Fatal(err)
	}
	return Filter{Where: where, Args: args}
}

// ruleEvents lists the eventIDs a rule made indicators of, sorted.
func ruleEvents(t *testing.T, st *Store, id int64) []string {
	t.Helper()
	ins, err := st.Indicators(context.Background(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, in := range ins {
		out = append(out, in.EventID)
	}
	slices.Sort(out)
	return out
}

// TestRunRuleBursts: a burst rule takes the matches that come Min or more within the window per
// group, and only those; a later load completes a burst with matches of an earlier run, and the
// window slides rather than stepping.
func TestRunRuleBursts(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2024, 5, 9, 10, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	var first [][]byte
	// A: four within three minutes, the fifth comes with a later load, 9m59s after the first.
	for i := range 4 {
		first = append(first, signIn("198.51.100.1", at(time.Duration(i)*time.Minute)))
	}
	// B: five, three minutes apart: never five within ten minutes.
	for i := range 5 {
		first = append(first, signIn("198.51.100.2", at(time.Duration(3*i)*time.Minute)))
	}
	// C: six in one minute, across a ten-minute boundary of the clock (10:09:30–10:10:20).
	for i := range 6 {
		first = append(first, signIn("198.51.100.3", at(9*time.Minute+30*time.Second+time.Duration(10*i)*time.Second)))
	}
	st := newCase(t, first)
	f := compiled(t, "eventName:ConsoleLogin AND responseElements.ConsoleLogin:Failure")
	byIP := Burst{Min: 5, Window: 10 * time.Minute, Column: "e.source_ip"}
	save := func(name string) int64 {
		id, err := st.SaveRule(ctx, Rule{Name: name, Query: "q", Severity: 5, Every: 60, Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	ip, all := save("by address"), save("all together")
	run := func(id int64, b Burst) int64 {
		t.Helper()
		mark, err := st.EventsMark(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n, err := st.RunRule(ctx, id, f, b, mark, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	var wantC []string
	for i := range 6 {
		wantC = append(wantC, "198.51.100.3@"+at(9*time.Minute+30*time.Second+time.Duration(10*i)*time.Second).Format("15:04:05"))
	}
	if n := run(ip, byIP); n != 6 {
		t.Errorf("first run added %d; want C's 6", n)
	}
	if got := ruleEvents(t, st, ip); !slices.Equal(got, wantC) {
		t.Errorf("first run: %q; want %q", got, wantC)
	}
	// Counted together, the 15 sign-ins are one burst.
	if n := run(all, Burst{Min: 5, Window: 10 * time.Minute}); n != 15 {
		t.Errorf("all together: %d; want 15", n)
	}

	loadRaws(t, st, [][]byte{signIn("198.51.100.1", at(9*time.Minute+59*time.Second))})
	if n := run(ip, byIP); n != 5 {
		t.Errorf("after A's fifth sign-in: %d added; want A's 5, the first four from the earlier load", n)
	}
	if n := run(ip, byIP); n != 0 {
		t.Errorf("a run with nothing new added %d", n)
	}
	// A lone sign-in from A half an hour later is no burst.
	loadRaws(t, st, [][]byte{signIn("198.51.100.1", at(40*time.Minute))})
	if n := run(ip, byIP); n != 0 {
		t.Errorf("a lone sign-in added %d", n)
	}
	if got := ruleEvents(t, st, ip); len(got) != 11 || slices.ContainsFunc(got, func(id string) bool { return id[:12] == "198.51.100.2" }) {
		t.Errorf("indicators %q; want A's 5 and C's 6, none of B's", got)
	}
	// The group column is SQL: only a plain column of events is taken.
	if _, err := st.RunRule(ctx, ip, f, Burst{Min: 5, Window: time.Minute, Column: "e.source_ip); DROP TABLE rules; --"}, 100, time.Now()); err == nil {
		t.Error("a group column of SQL was run")
	}
}

// secretRead is a GetSecretValue by user of secret at t.
func secretRead(user, secret string, t time.Time, n int) []byte {
	return fmt.Appendf(nil, `{"eventVersion":"1.08","eventID":"%s-%d","eventTime":"%s","eventSource":"secretsmanager.amazonaws.com",`+
		`"eventName":"GetSecretValue","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.9","userIdentity":{"type":"IAMUser",`+
		`"arn":"arn:aws:iam::111122223333:user/%s","accountId":"111122223333"},"requestParameters":{"secretId":"%s"}}`,
		user, n, t.Format(time.RFC3339), user, secret)
}

// TestRunRuleDistinct: a burst of distinct values counts different secrets, not reads: an
// application re-reading its three is no sweep, six different ones within a minute are.
func TestRunRuleDistinct(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2024, 5, 9, 10, 0, 0, 0, time.UTC)
	var raws [][]byte
	for i := range 12 {
		raws = append(raws, secretRead("app", fmt.Sprintf("app/db-%d", i%3), t0.Add(time.Duration(i)*4*time.Second), i))
	}
	for i := range 6 {
		raws = append(raws, secretRead("mallory", fmt.Sprintf("prod/key-%d", i), t0.Add(time.Duration(i)*5*time.Second), i))
	}
	// Six different secrets, but over six minutes: never five within one.
	for i := range 6 {
		raws = append(raws, secretRead("slow", fmt.Sprintf("prod/key-%d", i), t0.Add(time.Duration(i)*time.Minute), i))
	}
	// One secret read with five different user agents (the others' reads have none).
	for i := range 5 {
		raw := secretRead("rotator", "prod/key-0", t0.Add(time.Duration(i)*time.Second), i)
		raws = append(raws, bytes.Replace(raw, []byte(`"awsRegion"`), fmt.Appendf(nil, `"userAgent":"tool/%d","awsRegion"`, i), 1))
	}
	st := newCase(t, raws)
	f := compiled(t, "eventName:GetSecretValue")
	id, err := st.SaveRule(ctx, Rule{Name: "sweep", Query: "q", Severity: 5, Every: 60, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	mark, _ := st.EventsMark(ctx)
	b := Burst{Min: 5, Window: time.Minute, Column: "e.principal_arn", Distinct: Value{Path: "$.requestParameters.secretId"}}
	if n, err := st.RunRule(ctx, id, f, b, mark, time.Now()); err != nil || n != 6 {
		t.Fatalf("distinct secrets: %d indicators, %v; want mallory's 6", n, err)
	}
	for _, e := range ruleEvents(t, st, id) {
		if !strings.HasPrefix(e, "mallory-") {
			t.Errorf("indicator %s is not mallory's", e)
		}
	}
	// Counting reads instead, the application's twelve within 44 s are a burst too.
	id2, _ := st.SaveRule(ctx, Rule{Name: "reads", Query: "q", Severity: 5, Every: 60, Enabled: true})
	b.Distinct = Value{}
	if n, _ := st.RunRule(ctx, id2, f, b, mark, time.Now()); n != 23 {
		t.Errorf("counting reads: %d; want the application's 12, mallory's 6 and rotator's 5", n)
	}
	// A distinct column: one event name, never five.
	id3, _ := st.SaveRule(ctx, Rule{Name: "calls", Query: "q", Severity: 5, Every: 60, Enabled: true})
	b.Distinct = Value{Column: "e.event_name"}
	if n, _ := st.RunRule(ctx, id3, f, b, mark, time.Now()); n != 0 {
		t.Errorf("distinct event names: %d; want none", n)
	}
	// Distinct user agents, a coded column: five for rotator; none at all (not one, '') for
	// the others, whose reads carry no user agent.
	agent, _, _ := query.ValueOf("useragent")
	group, _ := query.GroupColumn("userAgent")
	for _, b := range []Burst{{Min: 5, Window: time.Minute, Column: "e.principal_arn", Distinct: Value{Column: agent}},
		{Min: 2, Window: time.Minute, Column: "e.principal_arn", Distinct: Value{Column: agent}}} {
		id, _ := st.SaveRule(ctx, Rule{Name: fmt.Sprintf("agents %d", b.Min), Query: "q", Severity: 5, Every: 60, Enabled: true})
		if n, err := st.RunRule(ctx, id, f, b, mark, time.Now()); err != nil || n != 5 {
			t.Errorf("%d distinct user agents: %d, %v; want rotator's 5", b.Min, n, err)
		}
	}
	// Grouped by user agent: the reads without one together (the application's 12, mallory's 6 and
	// slow's first two, each within a minute of another), rotator's each alone.
	id4, _ := st.SaveRule(ctx, Rule{Name: "by agent", Query: "q", Severity: 5, Every: 60, Enabled: true})
	if n, err := st.RunRule(ctx, id4, f, Burst{Min: 2, Window: time.Minute, Column: group}, mark, time.Now()); err != nil || n != 20 {
		t.Errorf("grouped by user agent: %d, %v; want 20 reads without one", n, err)
	}
}

// paramRead is a GetParameters call by user for names, with decryption.
func paramRead(user string, names []string, t time.Time, n int) []byte {
	list, _ := json.Marshal(names)
	return fmt.Appendf(nil, `{"eventVersion":"1.08","eventID":"%s-%d","eventTime":"%s","eventSource":"ssm.amazonaws.com",`+
		`"eventName":"GetParameters","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.9","userIdentity":{"type":"IAMUser",`+
		`"arn":"arn:aws:iam::111122223333:user/%s","accountId":"111122223333"},"requestParameters":{"names":%s,"withDecryption":true}}`,
		user, n, t.Format(time.RFC3339), user, list)
}

// TestRunRuleDistinctElements: a field holding an array counts its elements as values. An
// application reading the same parameters again and again, in any order, is no sweep; two calls
// for five different parameters each are ten.
func TestRunRuleDistinctElements(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2024, 5, 9, 10, 0, 0, 0, time.UTC)
	var raws [][]byte
	appNames := []string{"/app/db", "/app/key", "/app/token"}
	for i := range 12 {
		raws = append(raws, paramRead("app", append(appNames[i%3:], appNames[:i%3]...), t0.Add(time.Duration(i)*4*time.Second), i))
	}
	for i := range 2 {
		var names []string
		for j := range 5 {
			names = append(names, fmt.Sprintf("/prod/secret-%d", 5*i+j))
		}
		raws = append(raws, paramRead("mallory", names, t0.Add(time.Duration(i)*10*time.Second), i))
	}
	st := newCase(t, raws)
	f := compiled(t, "eventName:GetParameters")
	id, err := st.SaveRule(ctx, Rule{Name: "sweep", Query: "q", Severity: 5, Every: 60, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	mark, _ := st.EventsMark(ctx)
	b := Burst{Min: 10, Window: time.Minute, Column: "e.principal_arn", Distinct: Value{Path: "$.requestParameters.names"}}
	if n, err := st.RunRule(ctx, id, f, b, mark, time.Now()); err != nil || n != 2 {
		t.Fatalf("distinct parameter names: %d indicators, %v; want mallory's 2 calls", n, err)
	}
	for _, e := range ruleEvents(t, st, id) {
		if !strings.HasPrefix(e, "mallory-") {
			t.Errorf("indicator %s is not mallory's", e)
		}
	}
	if got := distinctValues(`["a",null,"b"]`, true); !slices.Equal(got, []string{`"a"`, `"b"`}) {
		t.Errorf("elements of an array with a null: %q", got)
	}
	if got := distinctValues(`[x`, false); !slices.Equal(got, []string{`[x`}) {
		t.Errorf("a column's text: %q", got)
	}
}

// TestRuleRunGoneStale: a run read before its rule changed is not recorded; the next run reads
// again. (Rules are read side by side and recorded one by one.)
func TestRuleRunGoneStale(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2024, 5, 9, 10, 0, 0, 0, time.UTC)
	st := newCase(t, [][]byte{signIn("198.51.100.1", t0), signIn("198.51.100.2", t0.Add(time.Minute))})
	id, err := st.SaveRule(ctx, Rule{Name: "sign-ins", Query: "eventName:ConsoleLogin", Severity: 5, Every: 60, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	f := compiled(t, "eventName:ConsoleLogin")
	mark, _ := st.EventsMark(ctx)
	run, err := st.MatchRule(ctx, id, f, Burst{}, mark)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := st.Rule(ctx, id)
	r.Query = "sourceIPAddress:198.51.100.1" // the rule is edited while its run is read
	if _, err := st.SaveRule(ctx, r); err != nil {
		t.Fatal(err)
	}
	if n, err := st.RecordRule(ctx, run, time.Now()); err != nil || n != 0 {
		t.Fatalf("a stale run recorded %d, %v", n, err)
	}
	if r, _ := st.Rule(ctx, id); r.Matches != 0 || r.CheckedThrough != 0 || !r.LastRun.IsZero() {
		t.Errorf("after a stale run: %+v", r)
	}
	// Read again with the rule as it is now, the run records.
	if n, err := st.RunRule(ctx, id, compiled(t, r.Query), Burst{}, mark, time.Now()); err != nil || n != 1 {
		t.Errorf("the next run: %d, %v; want the one sign-in from the address", n, err)
	}
	// A run of a rule deleted meanwhile says so.
	run, _ = st.MatchRule(ctx, id, f, Burst{}, mark)
	if err := st.DeleteRule(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordRule(ctx, run, time.Now()); !errors.Is(err, ErrNoRule) {
		t.Errorf("recording a deleted rule's run: %v", err)
	}
}
