package store

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/trailscope/trailscope/data/query"
)

// countValues counts the matches of q by field, from the column when asColumn and one holds
// the field, else from the raw records, walking only those query.Holder passes, as the app does.
func countValues(t *testing.T, st *Store, q, field string, asColumn bool, top int) *FieldCounts {
	t.Helper()
	src := ValueSource{Values: query.RecordValues(field)}
	if expr, ok := query.CountExpr(field); ok && asColumn {
		src = ValueSource{Expr: expr}
	}
	fc, err := st.CountValues(context.Background(), compileFilter(t, q), src, top, nil)
	if err != nil {
		t.Fatalf("count %q by %s: %v", q, field, err)
	}
	return fc
}

// TestCountValuesDamagedRecord: a record that cannot be read stops the count, naming its event.
func TestCountValuesDamagedRecord(t *testing.T) {
	st := newCase(t, fixtureRaws())
	var id int64
	var eventID string
	if err := st.r.QueryRow(`SELECT id, event_id FROM events ORDER BY id LIMIT 1 OFFSET 2`).Scan(&id, &eventID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.w.Exec(`UPDATE event_json SET json = ? WHERE id = ?`, []byte{packTag1, 0xff, 0xff}, id); err != nil {
		t.Fatal(err)
	}
	_, err := st.CountValues(context.Background(), Filter{}, ValueSource{Values: query.RecordValues("requestParameters.bucketName")}, 0, nil)
	if err == nil || !strings.Contains(err.Error(), "event "+eventID+": ") {
		t.Errorf("count over a damaged record: %v, want an error naming event %s", err, eventID)
	}
}

func compileFilter(t testing.TB, q string) Filter {
	t.Helper()
	e, err := query.Parse(q)
	if err != nil {
		t.Fatalf("parse %q: %v", q, err)
	}
	where, args, err := query.Compile(e)
	if err != nil {
		t.Fatalf("compile %q: %v", q, err)
	}
	return Filter{Where: where, Args: args}
}

func TestCountValuesFixture(t *testing.T) {
	st := newCase(t, fixtureRaws())
	tests := []struct {
		q, field string
		want     []Count
		without  int64
	}{
		{"", "eventSource", []Count{{"s3.amazonaws.com", 2}, {"cloudtrail.amazonaws.com", 1}, {"ec2.amazonaws.com", 1},
			{"kms.amazonaws.com", 1}, {"signin.amazonaws.com", 1}}, 0},
		{"", "errorCode", []Count{{"AccessDenied", 1}}, 5}, // an empty errorCode is none
		{"", "userAgent", []Count{{"aws-cli/2.15.0", 2}, {"cloudtrail.amazonaws.com", 1}, {"Mozilla/5.0", 1},
			{"Mozilla/5.0 (Windows NT 10.0)", 1}}, 1},
		// The AWS service has no ARN, though the column names it by its service.
		{"", "userIdentity.arn", []Count{{"arn:aws:sts::111122223333:assumed-role/web-waf/i-0abc", 2},
			{"arn:aws:iam::111122223333:root", 1}, {"arn:aws:iam::111122223333:user/alice", 1}, {"arn:aws:iam::111122223333:user/bob", 1}}, 1},
		// Through an array: each element once per event.
		{"", "resources.type", []Count{{"AWS::S3::Bucket", 1}, {"AWS::S3::Object", 1}}, 5},
		// An array at the end gives its elements, of any type.
		{"eventName:Decrypt", "requestParameters.flags", []Count{{"3.5", 1}, {"true", 1}, {"x", 1}}, 0},
		{"", "requestParameters.maxResults", []Count{{"50", 1}}, 5},
		{"", "readOnly", []Count{{"true", 3}, {"false", 1}}, 2},
		// Keys in any case, as queries name them.
		{"", "REQUESTPARAMETERS.bucketname", []Count{{"prod-data", 1}}, 5},
		{"", "requestParameters.createVolumePermission.add.items.userId", []Count{{"444455556666", 1}}, 5},
		{"-errorCode:*", "awsRegion", []Count{{"us-east-1", 4}, {"us-west-2", 1}}, 0},
	}
	for _, tc := range tests {
		for _, asColumn := range []bool{true, false} {
			fc := countValues(t, st, tc.q, tc.field, asColumn, 0)
			if !slices.Equal(fc.Values, tc.want) || fc.Without != tc.without || fc.Distinct != int64(len(tc.want)) {
				t.Errorf("%q by %s (column %v): %+v, want values %v and %d without", tc.q, tc.field, asColumn, fc, tc.want, tc.without)
			}
		}
	}
	if fc := countValues(t, st, "", "eventSource", true, 2); len(fc.Values) != 2 || fc.Distinct != 5 || fc.Events != 6 {
		t.Errorf("top 2: %+v", fc)
	}
}

// TestCountValuesAgreeWithSearch holds counting to matching: on generated and real events, for
// fields held by columns and fields only the records hold, each value's count is the number of
// matches of the query with field:value added, the events without a value those of
// -field:*; and the column and the records count alike.
func TestCountValuesAgreeWithSearch(t *testing.T) {
	fields := []string{"eventName", "eventSource", "sourceIPAddress", "userAgent", "userIdentity.arn", "userIdentity.type",
		"userIdentity.userName", "userIdentity.accessKeyId", "errorCode", "awsRegion", "recipientAccountId",
		"requestParameters.bucketName", "resources.ARN", "resources.type", "readOnly", "tlsDetails.tlsVersion",
		"userIdentity.sessionContext.sessionIssuer.userName", "userIdentity.sessionContext.sessionIssuer.arn",
		"additionalEventData.MFAUsed", "userIdentity.invokedBy"}
	sets := []struct {
		name string
		raws func(t *testing.T) [][]byte
	}{
		{"generated", func(*testing.T) [][]byte { return genEvents(1500, 7) }},
		{"shared", func(t *testing.T) [][]byte { return readSharedEvents(t) }},
	}
	for _, set := range sets {
		t.Run(set.name, func(t *testing.T) {
			st := newCase(t, set.raws(t))
			checked := 0
			queries := []string{"", "readOnly:false", "errorCode:*"}
			if testing.Short() {
				queries = queries[:1] // the race detector's run: one query is enough to race
			}
			for _, q := range queries {
				total := len(searchIDs(t, st, q, 0))
				for _, field := range fields {
					fc := countValues(t, st, q, field, false, 0)
					if _, ok := query.CountExpr(field); ok {
						if col := countValues(t, st, q, field, true, 0); !equalCounts(col, fc) {
							t.Errorf("%q by %s: column %+v, records %+v", q, field, col, fc)
						}
					}
					if fc.Events != int64(total) {
						t.Errorf("%q by %s: %d events, the search finds %d", q, field, fc.Events, total)
					}
					if n := len(searchIDs(t, st, strings.TrimSpace(q+" -"+field+":*"), 0)); int64(n) != fc.Without {
						t.Errorf("%q by %s: %d without, -%s:* finds %d", q, field, fc.Without, field, n)
					}
					for _, c := range fc.Values[:min(len(fc.Values), 8)] {
						narrowed := strings.TrimSpace(q + " " + query.FieldValue(field, c.Value))
						if n := len(searchIDs(t, st, narrowed, 0)); int64(n) != c.Events {
							t.Errorf("%q by %s: %q counted %d, %q finds %d", q, field, c.Value, c.Events, narrowed, n)
						}
						checked++
					}
				}
			}
			if checked < 100/(4-len(queries)) {
				t.Errorf("only %d values checked", checked)
			}
		})
	}
}

func equalCounts(a, b *FieldCounts) bool {
	return a.Events == b.Events && a.Without == b.Without && a.Distinct == b.Distinct && slices.Equal(a.Values, b.Values)
}

// TestCountValuesBounded: a field with more values than are counted says so, and still counts
// every event.
func TestCountValuesBounded(t *testing.T) {
	st := newCase(t, genEvents(300, 3))
	old := maxCounted
	maxCounted = 50
	defer func() { maxCounted = old }()
	fc := countValues(t, st, "", "eventID", false, 10)
	if !fc.Partial || fc.Distinct != 50 || fc.Events != 300 || len(fc.Values) != 10 {
		t.Errorf("eventID, 50 values at most: %+v", fc)
	}
}

// TestCountValuesProgress: a count says how far it is, from the column and from the records.
func TestCountValuesProgress(t *testing.T) {
	st := newCase(t, genEvents(300, 3))
	old := progressEvery
	progressEvery = 100
	defer func() { progressEvery = old }()
	expr, _ := query.CountExpr("eventName")
	for _, src := range []ValueSource{{Expr: expr}, {Values: func(raw []byte) ([]string, error) { return query.FieldValues(raw, "eventName") }}} {
		var seen []int64
		if _, err := st.CountValues(context.Background(), Filter{}, src, 5, func(n int64) { seen = append(seen, n) }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seen, []int64{100, 200, 300}) {
			t.Errorf("progress %v, want 100, 200, 300", seen)
		}
	}
}
