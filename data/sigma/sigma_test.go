package sigma

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trailscope/trailscope/data/query"
	"github.com/trailscope/trailscope/data/store"
)

func readRule(t *testing.T, name string) store.Rule {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Import(src)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

// canon prints a query as the language prints it.
func canon(t *testing.T, q string) string {
	t.Helper()
	e, err := query.Parse(q)
	if err != nil {
		t.Fatalf("%q: %v", q, err)
	}
	return query.Format(e)
}

func TestImport(t *testing.T) {
	for _, c := range []struct {
		file, name, query, stage string
		severity                 int
		tags                     []string
	}{
		{"trail_tampering.yml", "CloudTrail logging switched off",
			"eventSource:cloudtrail.amazonaws.com AND (eventName:StopLogging OR eventName:DeleteTrail OR eventName:UpdateTrail)",
			"Defense Evasion", 7, []string{"T1562.008"}},
		{"console_filter.yml", "Console login without MFA, not from the break-glass user",
			`eventName:ConsoleLogin additionalEventData.MFAUsed:No responseElements.ConsoleLogin:Success ` +
				`-userIdentity.userName:breakglass-* -userIdentity.arn:*AWSReservedSSO* -errorCode:*`,
			"Initial Access", 5, []string{"T1078.004"}},
		{"sharing_any.yml", "Snapshots shared, or anything from a scanner",
			`(eventName:ModifySnapshotAttribute requestParameters.createVolumePermission.add:*) OR ` +
				`(eventName:ModifyImageAttribute requestParameters.attributeType:launchPermission) OR eventName:ModifyDBSnapshotAttribute OR ` +
				`((kali OR Pacu*) NOT (requestParameters.fromPort<=22 sourceIPAddress:203.0.113.0/24 userAgent:*/2.0 userAgent:*Linux\*/2.0))`,
			"", 9, nil},
	} {
		r := readRule(t, c.file)
		if r.Name != c.name || r.Stage != c.stage || r.Severity != c.severity || strings.Join(r.Tags, ",") != strings.Join(c.tags, ",") ||
			r.Label != Label || !r.Enabled || r.Every != 60 {
			t.Errorf("%s: %+v", c.file, r)
		}
		if got, want := canon(t, r.Query), canon(t, c.query); got != want {
			t.Errorf("%s: query\n %s\nwant\n %s", c.file, got, want)
		}
	}
}

func TestImportRefuses(t *testing.T) {
	win, _ := os.ReadFile(filepath.Join("testdata", "windows.yml"))
	for _, c := range []struct{ src, want string }{
		{string(win), `logsource is product "windows"`},
		{"title: x\nlogsource: {product: aws, service: cloudtrail}\ndetection: {sel: {eventName|re: 'Del.*'}, condition: sel}", `modifier "re"`},
		{"title: x\nlogsource: {product: aws, service: cloudtrail}\ndetection: {sel: {eventName: 'Del?te'}, condition: sel}", "one-character wildcard"},
		{"title: x\nlogsource: {product: aws, service: cloudtrail}\ndetection: {sel: {eventName: a}, condition: other}", `no selection named "other"`},
		{"title: x\nlogsource: {product: aws, service: cloudtrail}\ndetection: {sel: {eventName: a}, condition: sel and (sel}", "without its )"},
		{"title: x\nlogsource: {product: aws, service: cloudtrail}\ndetection: {sel: {eventName: a}, timeframe: 5m, condition: sel}", "timeframe"},
		{"title: x\nlogsource: {product: aws, service: cloudtrail}\ndetection: {sel: {eventName: a}}", "no condition"},
		{"logsource: {product: aws, service: cloudtrail}\ndetection: {sel: {eventName: a}, condition: sel}", "no title"},
		{"title: [unclosed", "sigma: yaml"},
		// YAML aliases (the billion-laughs bomb is made of them) are not expanded: no rule needs them.
		{"title: x\nlogsource: {product: aws, service: cloudtrail}\na: &a [x, x, x]\nb: &b [*a, *a, *a]\n" +
			"detection: {sel: {eventName: *b}, condition: sel}", "neither text nor a list"},
		{"title: x\n" + strings.Repeat("#", maxSize), "a rule is at most"},
	} {
		if _, err := Import([]byte(c.src)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Import(%.60q) = %v; want an error with %q", c.src, err, c.want)
		}
	}
}

// TestRoundTrip: a rule written as Sigma reads back as the same query, stage and tags.
func TestRoundTrip(t *testing.T) {
	rules := []store.Rule{
		{Name: "words and negation", Query: `deleteobject -"access denied" (a* OR eventName:"Get Object")`, Severity: 4},
		{Name: "times", Query: `eventTime>=2024-05-09T20:00:00Z eventTime<2024-05-09T21:00:00Z responseElements:*`, Severity: 10, Stage: "Impact", Tags: []string{"T1485"}},
		{Name: "nested", Query: `NOT (a AND (b OR c)) OR -(d e)`, Severity: 1},
		{Name: "literal star", Query: `requestParameters.principal:"*" userAgent:*\**`, Severity: 6},
	}
	for _, src := range []string{"trail_tampering.yml", "console_filter.yml", "sharing_any.yml"} {
		rules = append(rules, readRule(t, src))
	}
	for _, r := range rules {
		out, err := Export(r)
		if err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
		back, err := Import(out)
		if err != nil {
			t.Fatalf("%s: reading back %v\n%s", r.Name, err, out)
		}
		if got, want := canon(t, back.Query), canon(t, r.Query); got != want {
			t.Errorf("%s: round trip gave\n %s\nwant\n %s\n%s", r.Name, got, want, out)
		}
		if back.Name != r.Name || back.Stage != r.Stage || strings.Join(back.Tags, ",") != strings.Join(r.Tags, ",") {
			t.Errorf("%s: round trip gave %+v", r.Name, back)
		}
		again, _ := Export(back)
		if string(again) != string(out) && r.Severity == back.Severity {
			t.Errorf("%s: a second export differs:\n%s\n%s", r.Name, out, again)
		}
	}
	if _, err := Export(store.Rule{Name: "everything", Query: ""}); err == nil {
		t.Error("a rule with an empty query was exported")
	}
}

func FuzzImport(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.yml"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		r, err := Import(src)
		if err != nil {
			return
		}
		if _, err := query.Parse(r.Query); err != nil {
			t.Fatalf("imported query %q does not parse: %v", r.Query, err)
		}
		out, err := Export(r)
		if err != nil {
			return // an empty query, say
		}
		back, err := Import(out)
		if err != nil {
			t.Fatalf("export of %q does not read back: %v\n%s", r.Query, err, out)
		}
		if canon(t, back.Query) != canon(t, r.Query) {
			t.Fatalf("round trip of %q gave %q", r.Query, back.Query)
		}
	})
}
