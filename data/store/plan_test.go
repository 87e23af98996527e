package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailscope/trailscope/data/query"
)

// TestFirstPagePlans holds each plan a first page can take (ftsPlan's list scan, indexPlan's
// collection by the column index) equal to the head of the full, unplanned search, and checks
// that each query takes the plan it is there to exercise.
func TestFirstPagePlans(t *testing.T) {
	raws := genEvents(3000, 7)
	st := newCase(t, raws)
	ctx := context.Background()
	const limit = 10
	for _, tt := range []struct {
		q    string
		plan string // text the planned query must contain; "" when it must be left alone
	}{
		{"requestParameters.bucketName:bucket-3", ftsScan},
		{"requestParameters.instancesSet.items.instanceId:i-000001*", ftsScan},
		{"eventName:Stop*", "e.id IN (SELECT e.id AS id FROM events e WHERE e.event_name_id IN (SELECT id FROM event_names"},
		{"eventname:cReAtEu*", "e.id IN (SELECT e.id AS id FROM events e WHERE e.event_name_id IN (SELECT id FROM event_names"},
		{"eventName:Get*", "+e.event_name_id IN"},
		{"sourceIPAddress:192.0.2.0/28 eventName:GetObject", "e.id IN (SELECT e.id AS id FROM events e WHERE e.source_ip_id IN"},
		{"sourceIPAddress:203.0.112.0/20 eventName:GetObject", "+e.source_ip_id IN"},
		{"sourceIPAddress:10.1.0.0/20 OR eventName:ListUsers", ""},
		// A range inside an OR is no necessary condition of the whole.
		{"eventName:Stop* OR userAgent:terraform*", ""},
		{"(eventName:Stop* OR eventName:Cons*) awsRegion:us-east-1", ""},
		{"awsRegion:us-east-1 eventName:Stop*", "e.id IN (SELECT e.id AS id FROM events e WHERE e.event_name_id IN (SELECT id FROM event_names"},
		{"sourceIPAddress:192.0.2.0/28", "e.id IN (SELECT e.id AS id FROM events e WHERE e.source_ip_id IN"},
		{"sourceIPAddress:10.0.0.0/8", "+e.source_ip_id IN"},
		{"principalArn:arn* -errorCode:*", ""},
		{"userIdentity.arn:arn:aws:iam::* -errorCode:*", "+e.principal_arn_id IN"},
		{"eventName:ListBuckets", ""},
		// An OR of user agents is one set of ids (a coded column's, collected by a scan).
		// A coded column's matches, found by a scan, are handed over rather than scanned for again.
		{"userAgent:kali* OR userAgent:*pacu*", "e.id IN (SELECT value FROM json_each(?))"},
		{"userAgent:AWS* OR userAgent:*Windows*", "+e.user_agent_id IN"},
	} {
		t.Run(tt.q, func(t *testing.T) {
			e := query.MustParse(tt.q)
			where, args, err := query.Compile(e)
			if err != nil {
				t.Fatal(err)
			}
			f := Filter{Where: where, Args: args}
			base, _ := f.whereClause()
			q := "SELECT x FROM events e WHERE " + base + " ORDER BY e.time DESC, e.event_id LIMIT ?"
			planned, _, err := st.ftsPlan(ctx, q, f, limit)
			if err != nil {
				t.Fatal(err)
			}
			planned, _, err = st.indexPlan(ctx, planned, f, limit)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.plan == "" && planned != q:
				t.Errorf("plan changed to %s", planned)
			case tt.plan != "" && !strings.Contains(planned, tt.plan):
				t.Errorf("plan %s lacks %q", planned, tt.plan)
			}
			all := searchIDs(t, st, tt.q, 0)
			want := oracleIDs(t, raws, e)
			if !slices.Equal(sorted(all), sorted(want)) {
				t.Fatalf("full search %d events, oracle %d", len(all), len(want))
			}
			page := searchIDs(t, st, tt.q, limit)
			if !slices.Equal(page, all[:min(limit, len(all))]) {
				t.Errorf("first page %v, head of full search %v", page, all[:min(limit, len(all))])
			}
		})
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestColumnIndexesUsed checks that equalities and prefixes on the indexed columns, and the
// pivots' conditions, are served by their index: with lower() in the index, a query that
// compared the column some other way would still be right, only a scan of every event.
func TestColumnIndexesUsed(t *testing.T) {
	st := newCase(t, genEvents(200, 7))
	ctx := context.Background()
	for _, tt := range []struct{ where, index string }{
		{"eventName:getobject", "events_name"},
		{"eventName:Stop*", "events_name"},
		{"sourceIPAddress:198.51.100.7", "events_ip"},
		{"userIdentity.arn:arn:aws:iam::123456789012:user/alice", "events_principal"},
		{"useridentity.ARN:ARN:AWS:IAM::123456789012:USER/alice", "events_principal"},
	} {
		where, args, err := query.Compile(query.MustParse(tt.where))
		if err != nil {
			t.Fatal(err)
		}
		plan := explain(t, st, "SELECT e.id FROM events e JOIN event_json j ON j.id = e.id WHERE "+where, args...)
		if !strings.Contains(plan, tt.index) {
			t.Errorf("%s: plan %q does not use %s", tt.where, plan, tt.index)
		}
	}
	// A CIDR's ranges are for indexPlan to collect by the index.
	where, args, err := query.Compile(query.MustParse("sourceIPAddress:192.0.2.0/28"))
	if err != nil {
		t.Fatal(err)
	}
	f := Filter{Where: where, Args: args}
	base, bargs := f.whereClause()
	q := "SELECT e.id FROM events e JOIN event_json j ON j.id = e.id WHERE " + base + " ORDER BY e.time DESC LIMIT 10"
	planned, pre, err := st.indexPlan(ctx, q, f, 10)
	if err != nil {
		t.Fatal(err)
	}
	if plan := explain(t, st, planned, append(pre, bargs...)...); planned == q || !strings.Contains(plan, "events_ip") {
		t.Errorf("CIDR: plan %q does not use events_ip", plan)
	}
	for _, tt := range []struct{ where, index string }{
		{sourceIPs.is("e."), "events_ip"},
		{principalARNs.is("e."), "events_principal"},
		{eventNames.is("e."), "events_name"},
	} {
		plan := explain(t, st, "SELECT count(*) FROM events e WHERE "+tt.where, "x")
		if !strings.Contains(plan, tt.index) {
			t.Errorf("%s: plan %q does not use %s", tt.where, plan, tt.index)
		}
	}
	var folded string
	if err := st.r.QueryRowContext(ctx, `SELECT lower('ÀÉ AbC')`).Scan(&folded); err != nil || folded != "ÀÉ abc" {
		t.Errorf("lower() folds %q, want ASCII letters only as NOCASE does", folded)
	}
}

func explain(t *testing.T, st *Store, q string, args ...any) string {
	t.Helper()
	rows, err := st.r.Query("EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "; ")
}

// TestProbingUneven holds a first page of a common word equal to the head of the full search
// when its matches are not spread evenly in time, so that probing back from the newest event
// stops at its window and the rest of the page is collected: none among the newest events,
// a few, and all of them. Events share their times five by five, so the window's edge falls
// inside a second.
func TestProbingUneven(t *testing.T) {
	base := time.Date(2024, 5, 9, 0, 0, 0, 0, time.UTC)
	const n, limit = 3000, 10
	build := func(t *testing.T, match func(i int) bool) *Store {
		raws := make([][]byte, n)
		for i := range raws {
			agent := "aws-cli/2.15"
			if match(i) {
				agent = "zebrafishtool/1.0"
			}
			raws[i] = fmt.Appendf(nil, `{"eventVersion":"1.08","eventID":"ev-%05d","eventTime":%q,"eventSource":"s3.amazonaws.com",`+
				`"eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.%d","userAgent":%q}`,
				i, base.Add(time.Duration(i/5)*time.Second).Format(time.RFC3339), i%250, agent)
		}
		return newCase(t, raws)
	}
	sparse := func(i int) bool { return i < 1800 || i%40 == 0 }
	// The oldest event in the window of the first page: its second holds the window's edge.
	st := build(t, sparse)
	_, probes, err := st.ftsPlan(context.Background(), "x "+FTSIn, compileFilter(t, "zebrafishtool"), limit)
	if err != nil {
		t.Fatal(err)
	}
	edge := n - 1 - probeSlack*int(probes)
	for _, tt := range []struct {
		name  string
		match func(i int) bool // whether event i (oldest first) carries the word
	}{
		{"only old ones", func(i int) bool { return i < 1800 }},
		{"old ones and a few new", sparse},
		{"a burst at the edge of the window", func(i int) bool { return sparse(i) || i > edge-3 && i <= edge }},
		{"every one", func(int) bool { return true }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := build(t, tt.match)
			q, probes, err := st.ftsPlan(context.Background(), "x "+FTSIn, compileFilter(t, "zebrafishtool"), limit)
			if err != nil || !strings.Contains(q, ftsProbe) || probes <= 0 {
				t.Fatalf("plan %q, %d probes expected, %v; want probing", q, probes, err)
			}
			all := searchIDs(t, st, "zebrafishtool", 0)
			for _, n := range []int{limit, 137} {
				if page := searchIDs(t, st, "zebrafishtool", n); !slices.Equal(page, all[:n]) {
					t.Errorf("first page of %d: %v…, head of the full search %v…", n, page[:min(5, len(page))], all[:5])
				}
			}
		})
	}
}
