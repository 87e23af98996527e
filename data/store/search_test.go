package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/trailscope/trailscope/data/cloudtrail"
	"github.com/trailscope/trailscope/data/query"
)

// sharedData is ../shared/data from the repository root, next to the checkout.
func sharedData(t testing.TB) string {
	dir := sharedDir()
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared CloudTrail data not found at %s (only present next to the project checkout): %v", dir, err)
	}
	return dir
}

func sharedDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "data")
}

// readSharedEvents reads every event of the shared data sets (Records files and bare arrays).
func readSharedEvents(t testing.TB) [][]byte {
	dir := sharedData(t)
	var raws [][]byte
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var recs struct{ Records []json.RawMessage }
		var arr []json.RawMessage
		if json.Unmarshal(b, &recs) == nil && recs.Records != nil {
			arr = recs.Records
		} else if json.Unmarshal(b, &arr) != nil {
			return nil // techniques.json and other non-event files
		}
		for _, r := range arr {
			c, err := cloudtrail.Compact(nil, r)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			raws = append(raws, c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return raws
}

// newCase opens a fresh case in a temporary folder and loads raws through the store's loader,
// then builds the full-text index, as an ingest does.
func newCase(t testing.TB, raws [][]byte) *Store {
	t.Helper()
	return newCaseStored(t, raws, false)
}

// newCaseStored is newCase with every other event's JSON stored plain when halfPlain is set, as
// a case written before packing holds it.
func newCaseStored(t testing.TB, raws [][]byte, halfPlain bool) *Store {
	t.Helper()
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "case.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	loadRawsStored(t, st, raws, halfPlain)
	return st
}

func loadRaws(t testing.TB, st *Store, raws [][]byte) {
	t.Helper()
	loadRawsStored(t, st, raws, false)
}

func loadRawsStored(t testing.TB, st *Store, raws [][]byte, halfPlain bool) {
	t.Helper()
	ctx := context.Background()
	l, err := st.BeginLoad(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, raw := range raws {
		e, err := cloudtrail.Extract(raw)
		if errors.Is(err, cloudtrail.ErrNotEvent) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		e.Direction = cloudtrail.Inbound
		var stored []byte // nil: packed by the loader
		if halfPlain && i%2 == 0 {
			stored = e.Raw
		}
		if _, err := l.Event(&e, stored, 0); err != nil {
			t.Fatal(err)
		}
		if l.Pending() >= 50000 {
			if err := l.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.BuildFTS(ctx, func(int64) {}); err != nil {
		t.Fatal(err)
	}
}

// searchIDs runs a query and returns the eventIDs in the order the store gives them.
func searchIDs(t testing.TB, st *Store, q string, limit int) []string {
	t.Helper()
	f := compileFilter(t, q)
	var ids []string
	err := st.Search(context.Background(), f, limit, func(h Hit) error {
		ids = append(ids, h.EventID)
		return nil
	})
	if err != nil {
		t.Fatalf("search %q: %v\nSQL: %s", q, err, f.Where)
	}
	return ids
}

// oracleIDs are the eventIDs of the events the in-memory matcher accepts.
func oracleIDs(t testing.TB, raws [][]byte, e query.Expr) []string {
	return oracle(t, newOracleDocs(t, raws), e)
}

type oracleDoc struct {
	id  string
	doc *query.Doc
}

func newOracleDocs(t testing.TB, raws [][]byte) []oracleDoc {
	var docs []oracleDoc
	for _, raw := range raws {
		ev, err := cloudtrail.Extract(raw)
		if err != nil {
			continue
		}
		d, err := query.NewDoc(raw)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, oracleDoc{ev.EventID, d})
	}
	return docs
}

func oracle(t testing.TB, docs []oracleDoc, e query.Expr) []string {
	var ids []string
	for _, d := range docs {
		if d.doc.Match(e) {
			ids = append(ids, d.id)
		}
	}
	sort.Strings(ids)
	return slices.Compact(ids)
}

// fixtureEvents is a small hand-written set covering the shapes the language must handle.
var fixtureEvents = []string{
	`{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROA1:i-0abc","arn":"arn:aws:sts::111122223333:assumed-role/web-waf/i-0abc","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE1","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/web-waf","userName":"web-waf"},"attributes":{"creationDate":"2024-05-09T19:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2024-05-09T20:25:01Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.15.0","requestParameters":{"Host":"s3.amazonaws.com"},"responseElements":null,"requestID":"R1","eventID":"ev-01","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333"}`,
	`{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/web-waf/i-0abc","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE1"},"eventTime":"2024-05-09T20:26:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.15.0","requestParameters":{"bucketName":"prod-data","key":"customers/2024.csv"},"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::prod-data/customers/2024.csv"},{"accountId":"111122223333","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::prod-data"}],"additionalEventData":{"bytesTransferredOut":1048576,"x-amz-id-2":"abc=="},"eventID":"ev-02","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}`,
	`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDA1","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE2","userName":"alice"},"eventTime":"2024-05-09T21:00:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.23","userAgent":"Mozilla/5.0 (Windows NT 10.0)","errorCode":"AccessDenied","errorMessage":"User: alice is not authorized; -- DROP TABLE events","requestParameters":{"name":"main-trail"},"eventID":"ev-03","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}`,
	`{"eventVersion":"1.08","userIdentity":{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"},"eventTime":"2024-05-10T08:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"2001:db8::17","userAgent":"Mozilla/5.0","requestParameters":null,"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No","LoginTo":"https://console.aws.amazon.com/"},"eventID":"ev-04","eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333"}`,
	`{"eventVersion":"1.08","userIdentity":{"type":"AWSService","invokedBy":"cloudtrail.amazonaws.com"},"eventTime":"2024-05-10T08:00:00Z","eventSource":"kms.amazonaws.com","eventName":"Decrypt","awsRegion":"us-east-1","sourceIPAddress":"cloudtrail.amazonaws.com","userAgent":"cloudtrail.amazonaws.com","requestParameters":{"encryptionContext":{"aws:cloudtrail:arn":"arn:aws:cloudtrail:us-east-1:111122223333:trail/main-trail"},"encryptionAlgorithm":"SYMMETRIC_DEFAULT","maxResults":50,"flags":[true,"x",3.5]},"eventID":"ev-05","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"111122223333","note":"O'Brien said \"' OR 1=1; /* NEAR AND */\" — café"}`,
	`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/bob","accountId":"111122223333","userName":"bob"},"eventTime":"2024-05-10T09:30:00Z","eventSource":"ec2.amazonaws.com","eventName":"ModifySnapshotAttribute","awsRegion":"us-west-2","sourceIPAddress":"10.0.3.12","userAgent":"","requestParameters":{"snapshotId":"snap-1","createVolumePermission":{"add":{"items":[{"userId":"444455556666"},{"group":"all"}]}}},"eventID":"ev-06","eventType":"AwsApiCall","recipientAccountId":"111122223333","errorCode":""}`,
}

func fixtureRaws() [][]byte {
	out := make([][]byte, len(fixtureEvents))
	for i, s := range fixtureEvents {
		out[i] = []byte(s)
	}
	return out
}

func TestSearchFixture(t *testing.T) {
	st := newCase(t, fixtureRaws())
	tests := []struct {
		q    string
		want []string // newest first, ties by eventID
	}{
		{"", []string{"ev-06", "ev-04", "ev-05", "ev-03", "ev-02", "ev-01"}},
		{"listbuckets", []string{"ev-01"}},
		{"eventname:ListBuckets", []string{"ev-01"}},
		{"eventName:LISTBUCKETS", []string{"ev-01"}},
		{"eventName:List* -errorCode:*", []string{"ev-01"}},
		{"errorCode:*", []string{"ev-03"}},
		{"-errorCode:*", []string{"ev-06", "ev-04", "ev-05", "ev-02", "ev-01"}},
		{"userIdentity.type:AssumedRole AND sourceIPAddress:203.0.113.0/24", []string{"ev-02", "ev-01"}},
		{"sourceIPAddress:2001:db8::/32", []string{"ev-04"}},
		{"sourceIPAddress:10.0.0.0/8", []string{"ev-06"}},
		{`requestParameters.bucketName:"prod-data"`, []string{"ev-02"}},
		{`requestparameters.BUCKETNAME:prod-*`, []string{"ev-02"}},
		{"resources.ARN:arn:aws:s3:::prod-data*", []string{"ev-02"}},
		{"resources.ARN:arn:aws:s3:::prod-data", []string{"ev-02"}},
		{"resources.type:AWS::S3::Bucket", []string{"ev-02"}},
		{"(eventName:StopLogging OR eventName:DeleteTrail) NOT userIdentity.type:Root", []string{"ev-03"}},
		{"eventTime>=2024-05-09T20:00:00Z eventTime<2024-05-09T21:00:00Z", []string{"ev-02", "ev-01"}},
		{"eventTime:2024-05-10", []string{"ev-06", "ev-04", "ev-05"}},
		{"eventTime<=2024-05-09", []string{"ev-03", "ev-02", "ev-01"}},
		{"eventTime:2024-05-10T08:00:00Z", []string{"ev-04", "ev-05"}},
		{"additionalEventData.bytesTransferredOut>1000000", []string{"ev-02"}},
		{"additionalEventData.bytesTransferredOut:1048576", []string{"ev-02"}},
		{"requestParameters.maxResults<=50", []string{"ev-05"}},
		{"requestParameters.flags:true", []string{"ev-05"}},
		{"requestParameters.flags:3.50", []string{"ev-05"}},
		{"readOnly:false", []string{"ev-03"}},
		{"requestParameters.createVolumePermission.add.items.group:all", []string{"ev-06"}},
		{`requestParameters.encryptionContext.aws\:cloudtrail\:arn:*main-trail`, []string{"ev-05"}},
		{"delete*", nil},
		{"decrypt*", []string{"ev-05"}},
		{"s3.amazonaws.com", []string{"ev-02", "ev-01"}},
		{`"main-trail"`, []string{"ev-05", "ev-03"}},
		{"userAgent:*", []string{"ev-04", "ev-05", "ev-03", "ev-02", "ev-01"}},
		{`userAgent:""`, []string{"ev-06"}},
		{"userAgent:AWS-CLI/2.15.0", []string{"ev-02", "ev-01"}},
		{"userAgent:mozilla/5.0", []string{"ev-04"}},
		{"userAgent:mozilla*", []string{"ev-04", "ev-03"}},
		{"userAgent:*.com", []string{"ev-05"}},
		{"userAgent:Mozilla/5.0 OR userAgent:aws-cli*", []string{"ev-04", "ev-02", "ev-01"}},
		{"userIdentity.arn:arn:aws:iam::111122223333:user/ALICE", []string{"ev-03"}},
		{"userIdentity.userName:web-waf", nil},
		{"userIdentity.sessionContext.sessionIssuer.userName:web-waf", []string{"ev-01"}},
		{"eventID:EV-03", []string{"ev-03"}},
		// A negated value the case has never seen excludes nothing, whichever column holds it;
		// an event without a user agent is not one with a matching user agent.
		{"-sourceIPAddress:192.0.2.250", []string{"ev-06", "ev-04", "ev-05", "ev-03", "ev-02", "ev-01"}},
		{"-eventName:NoSuchCall", []string{"ev-06", "ev-04", "ev-05", "ev-03", "ev-02", "ev-01"}},
		{"-userIdentity.arn:arn:aws:iam::111122223333:user/nobody", []string{"ev-06", "ev-04", "ev-05", "ev-03", "ev-02", "ev-01"}},
		{"-userAgent:*nosuchtool*", []string{"ev-06", "ev-04", "ev-05", "ev-03", "ev-02", "ev-01"}},
		{"-userAgent:aws-cli*", []string{"ev-06", "ev-04", "ev-05", "ev-03"}},
		{"-sourceIPAddress:10.0.0.0/8", []string{"ev-04", "ev-05", "ev-03", "ev-02", "ev-01"}},
		{"NOT (eventName:NoSuchCall AND readOnly:true)", []string{"ev-06", "ev-04", "ev-05", "ev-03", "ev-02", "ev-01"}},
		{"readOnly:true -eventName:GetObject", []string{"ev-05", "ev-01"}},
		// User text that looks like SQL or FTS syntax is data.
		{`"' OR 1=1"`, []string{"ev-05"}},
		{`note:*1=1;*`, []string{"ev-05"}},
		{`"DROP TABLE events"`, []string{"ev-03"}},
		{`errorMessage:*--*`, []string{"ev-03"}},
		{`note:*/\**`, []string{"ev-05"}},
		{`NEAR`, []string{"ev-05"}},
		{`"NEAR AND"`, []string{"ev-05"}},
		{`"AND"`, []string{"ev-05"}},
		{`café`, []string{"ev-05"}},
		{`eventName:"x' OR '1'='1"`, nil},
		{`eventName:"x; DROP TABLE events; --"`, nil},
		{`requestParameters.name:"main-trail\" OR \"1"`, nil},
		{`errorCode:%`, nil},
		{`errorCode:Access_enied`, nil},
		{`userAgent:*(Windows*`, nil},
		{`userAgent:*\(Windows*`, []string{"ev-03"}},
		{"*", []string{"ev-06", "ev-04", "ev-05", "ev-03", "ev-02", "ev-01"}},
	}
	raws := fixtureRaws()
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			if strings.HasPrefix(tt.q, `userAgent:*(`) {
				if _, err := query.Parse(tt.q); err == nil {
					t.Fatalf("parse %q: want an error for the unescaped parenthesis", tt.q)
				}
				return
			}
			got := searchIDs(t, st, tt.q, 0)
			if !slices.Equal(got, tt.want) {
				t.Errorf("search %q = %v, want %v", tt.q, got, tt.want)
			}
			e, _ := query.Parse(tt.q)
			want := slices.Clone(tt.want)
			sort.Strings(want)
			if o := oracleIDs(t, raws, e); !slices.Equal(o, want) {
				t.Errorf("oracle %q = %v, want %v", tt.q, o, want)
			}
		})
	}
	// The case is intact after the injection attempts.
	if n, err := st.Count(context.Background(), Filter{}); err != nil || n != int64(len(raws)) {
		t.Fatalf("count = %d, %v; want %d", n, err, len(raws))
	}
}

func TestGenEvents(t *testing.T) {
	if err := genCheck(genEvents(2000, 1)); err != nil {
		t.Fatal(err)
	}
}

func TestSearchLimitAndTime(t *testing.T) {
	st := newCase(t, fixtureRaws())
	ctx := context.Background()
	if got := searchIDs(t, st, "", 2); !slices.Equal(got, []string{"ev-06", "ev-04"}) {
		t.Errorf("limit 2 = %v", got)
	}
	f := Filter{Since: time.Date(2024, 5, 9, 20, 26, 0, 0, time.UTC), Until: time.Date(2024, 5, 10, 8, 0, 0, 0, time.UTC)}
	var ids []string
	if err := st.Search(ctx, f, 0, func(h Hit) error { ids = append(ids, h.EventID); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []string{"ev-03", "ev-02"}) {
		t.Errorf("since/until = %v", ids)
	}
	stop := errors.New("stop")
	n := 0
	err := st.Search(ctx, Filter{}, 0, func(Hit) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("fn error: got %v after %d hits", err, n)
	}
	raw, err := st.Event(ctx, "ev-04")
	if err != nil || !strings.Contains(string(raw), `"2001:db8::17"`) {
		t.Errorf("Event(ev-04) = %s, %v", raw, err)
	}
	if _, err := st.Event(ctx, "nope"); !errors.Is(err, ErrNoEvent) {
		t.Errorf("Event(nope) error = %v, want ErrNoEvent", err)
	}
	bins, err := st.Histogram(ctx, Filter{}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, b := range bins {
		total += b.Events
	}
	if total != 6 || len(bins) != 4 || bins[0].Start != time.Date(2024, 5, 9, 20, 0, 0, 0, time.UTC) || bins[0].Events != 2 {
		t.Errorf("histogram = %+v", bins)
	}
}

// TestSearchMatchesOracle runs random queries over real and generated events and holds the SQL
// result equal to the in-memory matcher's.
func TestSearchMatchesOracle(t *testing.T) {
	sets := []struct {
		name      string
		raws      func(t *testing.T) [][]byte
		n         int
		halfPlain bool // every other event stored as plain JSON, as cases written before packing hold it
	}{
		{"generated", func(*testing.T) [][]byte { return genEvents(1500, 7) }, 1000, false},
		{"shared", func(t *testing.T) [][]byte { return readSharedEvents(t) }, 300, false},
		{"generated, half plain", func(*testing.T) [][]byte { return genEvents(1500, 8) }, 300, true},
	}
	for _, set := range sets {
		t.Run(set.name, func(t *testing.T) {
			if testing.Short() {
				set.n /= 5
			}
			raws := set.raws(t)
			st := newCaseStored(t, raws, set.halfPlain)
			docs := newOracleDocs(t, raws)
			g := newQueryGen(raws, 11)
			nonEmpty, partial := 0, 0
			for i := 0; i < set.n; i++ {
				text := g.expr(0)
				e, err := query.Parse(text)
				if err != nil {
					t.Fatalf("generated query %q does not parse: %v", text, err)
				}
				if back, err := query.Parse(e.String()); err != nil || !reflectEqual(back, e) {
					t.Fatalf("round trip %q → %q: %v", text, e.String(), err)
				}
				got := searchIDs(t, st, text, 0)
				sort.Strings(got)
				want := oracle(t, docs, e)
				if !slices.Equal(got, want) {
					where, args, _ := query.Compile(e)
					t.Fatalf("query %q: SQL matched %d events, oracle %d\nonly SQL: %v\nonly oracle: %v\nSQL: %s\nargs: %q",
						text, len(got), len(want), minus(got, want), minus(want, got), where, args)
				}
				if len(got) > 0 {
					nonEmpty++
				}
				if len(got) > 0 && len(got) < len(docs) {
					partial++
				}
			}
			t.Logf("%d queries: %d matched something, %d matched some but not all of %d events", set.n, nonEmpty, partial, len(docs))
			// The check means little if the queries match nothing or everything.
			if partial < set.n/4 {
				t.Errorf("only %d of %d queries split the events", partial, set.n)
			}
		})
	}
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if _, ok := slices.BinarySearch(b, x); !ok {
			out = append(out, x)
			if len(out) == 5 {
				break
			}
		}
	}
	return out
}

func reflectEqual(a, b query.Expr) bool {
	return query.Format(a) == query.Format(b) && fmt.Sprintf("%#v", deref(a)) == fmt.Sprintf("%#v", deref(b))
}

// deref prints a tree structurally (pointers would print as addresses).
func deref(e query.Expr) string {
	switch x := e.(type) {
	case *query.And:
		s := "And("
		for _, y := range x.X {
			s += deref(y) + ","
		}
		return s + ")"
	case *query.Or:
		s := "Or("
		for _, y := range x.X {
			s += deref(y) + ","
		}
		return s + ")"
	case *query.Not:
		return "Not(" + deref(x.X) + ")"
	case *query.Word:
		return fmt.Sprintf("Word(%q)", x.Value.Parts)
	case *query.Term:
		return fmt.Sprintf("Term(%q,%d,%q)", x.Field, x.Op, x.Value.Parts)
	}
	return "nil"
}

// queryGen makes random queries from the grammar and from values found in the events.
type queryGen struct {
	r      *rand.Rand
	paths  []string            // leaf paths (array levels dropped)
	values map[string][]any    // values seen at each path
	words  []string            // tokens seen in values
	times  []string            // eventTime values
	nums   map[string][]string // numeric values per path
	ips    []string
}

func newQueryGen(raws [][]byte, seed uint64) *queryGen {
	g := &queryGen{r: rand.New(rand.NewPCG(seed, seed+1)), values: map[string][]any{}, nums: map[string][]string{}}
	seen := map[string]bool{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, y := range x {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, y)
			}
		case []any:
			for _, y := range x {
				walk(prefix, y)
			}
		default:
			if !seen[prefix] {
				seen[prefix] = true
				g.paths = append(g.paths, prefix)
			}
			if len(g.values[prefix]) < 50 || g.r.IntN(20) == 0 {
				g.values[prefix] = append(g.values[prefix], x)
			}
			if n, ok := x.(json.Number); ok {
				g.nums[prefix] = append(g.nums[prefix], string(n))
			}
			if s, ok := x.(string); ok {
				if len(g.words) < 5000 || g.r.IntN(50) == 0 {
					g.words = append(g.words, query.Tokens(s)...)
				}
				if prefix == "eventTime" {
					g.times = append(g.times, s)
				}
				if prefix == "sourceIPAddress" && strings.ContainsAny(s, ".:") && s[0] >= '0' && s[0] <= '9' {
					g.ips = append(g.ips, s)
				}
			}
		}
	}
	for _, raw := range raws {
		d := json.NewDecoder(strings.NewReader(string(raw)))
		d.UseNumber()
		var v any
		if d.Decode(&v) == nil {
			walk("", v)
		}
	}
	sort.Strings(g.paths)
	return g
}

func (g *queryGen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g *queryGen) expr(depth int) string {
	n := g.r.IntN(10)
	if depth >= 3 {
		n = 9
	}
	switch {
	case n == 0:
		return g.expr(depth+1) + " OR " + g.expr(depth+1)
	case n == 1:
		return "(" + g.expr(depth+1) + " OR " + g.expr(depth+1) + ") " + g.expr(depth+1)
	case n == 2:
		return g.expr(depth+1) + " AND " + g.expr(depth+1)
	case n == 3:
		return "-" + g.atom()
	case n == 4:
		return "NOT (" + g.expr(depth+1) + ")"
	case n == 5:
		return g.atom() + " " + g.atom()
	}
	return g.atom()
}

func (g *queryGen) atom() string {
	switch g.r.IntN(12) {
	case 0, 1:
		w := g.pick(g.words)
		switch g.r.IntN(4) {
		case 0:
			if len(w) > 2 {
				return w[:1+g.r.IntN(len(w)-1)] + "*"
			}
		case 1:
			w = strings.ToUpper(w)
		}
		return (&query.Word{Value: query.Lit(w)}).String()
	case 2:
		if len(g.times) > 0 {
			t := g.pick(g.times)
			if g.r.IntN(3) == 0 && len(t) >= 10 {
				t = t[:10]
			}
			return "eventTime" + g.pick([]string{">", ">=", "<", "<=", ":"}) + t
		}
	case 3:
		if len(g.ips) > 0 {
			ip := g.pick(g.ips)
			bits := []int{8, 12, 16, 20, 24, 28, 32}
			if strings.Contains(ip, ":") {
				bits = []int{16, 32, 48, 64, 128}
			}
			return fmt.Sprintf("sourceIPAddress:%s/%d", ip, bits[g.r.IntN(len(bits))])
		}
	case 4:
		for p, ns := range g.nums {
			if g.r.IntN(3) == 0 {
				return p + g.pick([]string{">", ">=", "<", "<=", ":"}) + g.pick(ns)
			}
		}
	}
	p := g.pick(g.paths)
	if g.r.IntN(3) == 0 {
		// The paths stored as columns, dictionaries among them, compile apart from the JSON's.
		cols := []string{"eventName", "sourceIPAddress", "userIdentity.arn", "userAgent", "eventSource", "errorCode",
			"awsRegion", "userIdentity.type", "userIdentity.accessKeyId", "recipientAccountId"}
		if c := g.pick(cols); len(g.values[c]) > 0 {
			p = c
		}
	}
	field := p
	if g.r.IntN(4) == 0 {
		field = strings.ToLower(p)
	}
	vals := g.values[p]
	v := vals[g.r.IntN(len(vals))]
	var s string
	switch x := v.(type) {
	case nil:
		return field + ":*"
	case string:
		s = x
	case bool:
		s = fmt.Sprint(x)
	case json.Number:
		s = string(x)
	}
	switch g.r.IntN(7) {
	case 0:
		return field + ":*"
	case 4:
		// A value the case has never seen: found in no dictionary, matching no event.
		s = "zz-absent-" + s
	case 1:
		if rs := []rune(s); len(rs) > 2 {
			return field + ":" + escapeWild(string(rs[:1+g.r.IntN(len(rs)-1)])) + "*"
		}
	case 2:
		if rs := []rune(s); len(rs) > 2 {
			return field + ":*" + escapeWild(string(rs[g.r.IntN(len(rs)-1):]))
		}
	case 3:
		s = strings.ToUpper(s)
	}
	return field + ":" + (&query.Term{Field: "x", Value: query.Lit(s)}).String()[2:]
}

// escapeWild escapes the characters that matter in an unquoted value.
func escapeWild(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("()\"\\*", r) || unicode.IsSpace(r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// TestFTSPlans holds both full-text plans equal, and query.Compile's condition equal to FTSIn.
func TestFTSPlans(t *testing.T) {
	where, args, err := query.Compile(query.MustParse("amazonaws -eventName:ListBuckets"))
	if err != nil || !strings.HasPrefix(where, "("+FTSIn+")") {
		t.Fatalf("compiled %q, %v; want it to start with FTSIn", where, err)
	}
	raws := genEvents(1500, 3)
	st := newCase(t, raws)
	ctx := context.Background()
	var collect []string
	if err := st.Search(ctx, Filter{Where: where, Args: args}, 0, func(h Hit) error { collect = append(collect, h.EventID); return nil }); err != nil {
		t.Fatal(err)
	}
	// A first page of a word in every event takes the probing plan.
	q, _, err := st.ftsPlan(ctx, "x "+FTSIn, Filter{Where: where, Args: args}, 10)
	if err != nil || !strings.Contains(q, ftsProbe) {
		t.Fatalf("plan = %q, %v; want probing", q, err)
	}
	probe := searchIDs(t, st, "amazonaws -eventName:ListBuckets", 10)
	if len(collect) < 10 || !slices.Equal(probe, collect[:10]) {
		t.Errorf("probing plan gave %v…, collecting plan %v…", probe[:3], collect[:3])
	}
	if q, _, _ := st.ftsPlan(ctx, "x "+FTSIn, Filter{Where: FTSIn, Args: []any{`"zebracornx"`}}, 10); strings.Contains(q, ftsProbe) {
		t.Errorf("rare word takes the probing plan")
	}
	// Nor does a prefix, however common: each probe would gather its terms' postings again (a
	// first page of prod* took 72 s on 1M events). Its page is the head of the whole search.
	for _, word := range []string{"amazon*", "requestParameters.bucketName:bucket*"} {
		pw, pargs, err := query.Compile(query.MustParse(word))
		if err != nil {
			t.Fatal(err)
		}
		if q, _, err := st.ftsPlan(ctx, "x "+pw, Filter{Where: pw, Args: pargs}, 10); err != nil || strings.Contains(q, ftsProbe) {
			t.Errorf("%s: plan %q, %v; want no probing", word, q, err)
		}
		all := searchIDs(t, st, word, 0)
		if page := searchIDs(t, st, word, 10); len(all) < 10 || !slices.Equal(page, all[:10]) {
			t.Errorf("%s: first page %v, head of the whole search %v", word, page, all[:min(10, len(all))])
		}
	}
}

// TestHistogramPaths holds the index-range histogram (no query) equal to the GROUP BY one.
func TestHistogramPaths(t *testing.T) {
	st := newCase(t, genEvents(3000, 5))
	ctx := context.Background()
	for _, tt := range []struct {
		name         string
		since, until time.Time
		bin          time.Duration
	}{
		{"all 5m", time.Time{}, time.Time{}, 5 * time.Minute},
		{"all 1h", time.Time{}, time.Time{}, time.Hour},
		{"bounded off-bin", time.Date(2024, 5, 4, 3, 7, 0, 0, time.UTC), time.Date(2024, 5, 6, 0, 2, 0, 0, time.UTC), 5 * time.Minute},
		{"empty range", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}, time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fast, err := st.Histogram(ctx, Filter{Since: tt.since, Until: tt.until}, tt.bin)
			if err != nil {
				t.Fatal(err)
			}
			slow, err := st.Histogram(ctx, Filter{Where: "1", Since: tt.since, Until: tt.until}, tt.bin)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(fast, slow) {
				t.Errorf("index ranges %d bins, GROUP BY %d bins; first %v vs %v", len(fast), len(slow), fast[:min(2, len(fast))], slow[:min(2, len(slow))])
			}
			if tt.name != "empty range" && len(fast) == 0 {
				t.Error("no bins")
			}
		})
	}
}
