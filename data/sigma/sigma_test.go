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
		{Name: "Failed sign-ins, one address", Query: "eventName:ConsoleLogin responseElements.ConsoleLogin:Failure", Severity: 5,
			Stage: "Credential Access", Tags: []string{"T1110.001"}, Threshold: 5, Window: 10, GroupBy: "sourceIPAddress"},
		{Name: "bursts of denials, everyone together", Query: "errorCode:*AccessDenied*", Severity: 3, Threshold: 20, Window: 1440},
		{Name: "accents", Query: `userIdentity.userName:café naïve`, Severity: 5},
		{Name: "keys", Query: "eventName:CreateAccessKey OR eventName:UpdateAccessKey", Severity: 8, Threshold: 2, Window: 1,
			GroupBy: "userIdentity.accessKeyId"},
		{Name: "secrets swept", Query: "eventName:GetSecretValue", Severity: 6, Threshold: 10, Window: 1,
			GroupBy: "userIdentity.arn", Distinct: "requestParameters.secretId"},
		{Name: "regions touched", Query: "eventName:RunInstances", Severity: 5, Threshold: 3, Window: 60, Distinct: "awsRegion"},
	}
	for _, src := range []string{"trail_tampering.yml", "console_filter.yml", "sharing_any.yml", "console_bruteforce.yml", "secrets_bulk_read.yml"} {
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
		if level(back.Severity) != level(r.Severity) || back.Threshold != r.Threshold || back.Window != r.Window || back.GroupBy != r.GroupBy ||
			back.Distinct != r.Distinct {
			t.Errorf("%s: round trip gave severity %d, burst %d in %d by %q; want %d (%s), %d in %d by %q\n%s", r.Name,
				back.Severity, back.Threshold, back.Window, back.GroupBy, r.Severity, level(r.Severity), r.Threshold, r.Window, r.GroupBy, out)
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

// level is the Sigma level a severity is written as.
func level(severity int) string {
	for _, l := range levels {
		if severity >= l.severity {
			return l.name
		}
	}
	return "informational"
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
		if back.Name != r.Name || back.Stage != r.Stage || strings.Join(back.Tags, ",") != strings.Join(r.Tags, ",") || level(back.Severity) != level(r.Severity) || back.Description != r.Description {
			t.Fatalf("round trip of %+v gave %+v\n%s", r, back, out)
		}
		if back.Threshold != r.Threshold || back.Window != r.Window || back.GroupBy != r.GroupBy || back.Distinct != r.Distinct {
			t.Fatalf("round trip of a count of %d (of %q) in %d minutes by %q gave %d (of %q) in %d by %q\n%s",
				r.Threshold, r.Distinct, r.Window, r.GroupBy, back.Threshold, back.Distinct, back.Window, back.GroupBy, out)
		}
	})
}

// TestImportNonASCII: a value keeps its characters (é is two bytes, not two characters).
func TestImportNonASCII(t *testing.T) {
	r, err := Import([]byte(cloudtrail + "detection: {sel: {userIdentity.userName: café*}, kw: [naïve], condition: sel and kw}"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := canon(t, r.Query), canon(t, "userIdentity.userName:café* naïve"); got != want {
		t.Errorf("query %s; want %s", got, want)
	}
}

// cloudtrail starts an inline rule: a title and the logsource, the detection to follow.
const cloudtrail = "title: x\nlogsource: {product: aws, service: cloudtrail}\n"

// TestImportBursts: a count of matches over time, Sigma 1's aggregation or Sigma 2's
// event_count correlation, imports as a burst rule: > N is at least N+1, >= N at least N.
func TestImportBursts(t *testing.T) {
	base := "---\ntitle: base\nid: 2b7e8f61-4c1d-4d3a-8f2e-9b5a7c3e1d04\nname: base_rule\n" +
		"logsource: {product: aws, service: cloudtrail}\ndetection: {sel: {eventName: GetSecretValue}, condition: sel}\nlevel: low\n" +
		"tags: [attack.credential-access, attack.t1555.006]\n"
	for _, c := range []struct {
		file, src, name, query, stage string
		severity, threshold, window   int
		groupBy, distinct             string
		tags                          []string
	}{
		{file: "console_bruteforce.yml", name: "Console sign-in brute force",
			query: "eventSource:signin.amazonaws.com eventName:ConsoleLogin responseElements.ConsoleLogin:Failure",
			stage: "Credential Access", severity: 5, tags: []string{"T1110.001"},
			threshold: 5, window: 10, groupBy: "sourceIPAddress"},
		{file: "secrets_bulk_read.yml", name: "Secrets read in bulk by one principal",
			query: "eventSource:secretsmanager.amazonaws.com eventName:GetSecretValue -errorCode:*",
			stage: "Credential Access", severity: 7, tags: []string{"T1555.006"},
			threshold: 10, window: 10, groupBy: "userIdentity.arn"},
		// >= N is N; the field is spelled canonically; seconds round up to whole minutes.
		{src: cloudtrail + "detection: {sel: {eventName: a}, timeframe: 90s, condition: sel | count() by USERIDENTITY.ARN >= 3}",
			name: "x", query: "eventName:a", severity: 5, threshold: 3, window: 2, groupBy: "userIdentity.arn"},
		// count(field): the distinct values of the field, canonically spelled.
		{src: cloudtrail + "detection: {sel: {eventName: GetSecretValue}, timeframe: 1m, condition: sel | count(requestparameters.secretId) by userIdentity.arn > 9}",
			name: "x", query: "eventName:GetSecretValue", severity: 5, threshold: 10, window: 1, groupBy: "userIdentity.arn",
			distinct: "requestParameters.secretId"},
		// No by: all matches together; hours and days.
		{src: cloudtrail + "detection: {sel: {eventName: a}, timeframe: 1h, condition: sel | count() > 9}",
			name: "x", query: "eventName:a", severity: 5, threshold: 10, window: 60},
		{src: cloudtrail + "detection: {sel: {eventName: a}, timeframe: 1d, condition: 'sel|count()>=2'}",
			name: "x", query: "eventName:a", severity: 5, threshold: 2, window: 1440},
		// Sigma 2: gt N is N+1; the reference by id; no group-by; the correlation without level,
		// description or tags takes the base rule's; the title the correlation's.
		{src: "title: many\ncorrelation: {type: event_count, rules: [2b7e8f61-4c1d-4d3a-8f2e-9b5a7c3e1d04], timespan: 5m, condition: {gt: 10}}\n" + base,
			name: "many", query: "eventName:GetSecretValue", stage: "Credential Access", severity: 3, tags: []string{"T1555.006"},
			threshold: 11, window: 5},
		// A value_count counts the field its condition names.
		{src: "title: sweep\ncorrelation: {type: value_count, rules: [base_rule], group-by: [userIdentity.arn], timespan: 1m, condition: {field: requestParameters.secretId, gte: 10}}\n" + base,
			name: "sweep", query: "eventName:GetSecretValue", stage: "Credential Access", severity: 3, tags: []string{"T1555.006"},
			threshold: 10, window: 1, groupBy: "userIdentity.arn", distinct: "requestParameters.secretId"},
		// A correlation without a title takes the base rule's; one reference as a plain string,
		// group-by likewise (as pySigma reads them); its level wins over the base rule's.
		{src: "correlation: {type: event_count, rules: base_rule, group-by: sourceipaddress, timespan: 30s, condition: {gte: 2}}\nlevel: critical\n" + base,
			name: "base", query: "eventName:GetSecretValue", stage: "Credential Access", severity: 9, tags: []string{"T1555.006"},
			threshold: 2, window: 1, groupBy: "sourceIPAddress"},
	} {
		src := []byte(c.src)
		if c.file != "" {
			var err error
			if src, err = os.ReadFile(filepath.Join("testdata", c.file)); err != nil {
				t.Fatal(err)
			}
		}
		r, err := Import(src)
		if err != nil {
			t.Errorf("%s%.60q: %v", c.file, c.src, err)
			continue
		}
		if r.Name != c.name || r.Stage != c.stage || r.Severity != c.severity || strings.Join(r.Tags, ",") != strings.Join(c.tags, ",") ||
			r.Threshold != c.threshold || r.Window != c.window || r.GroupBy != c.groupBy || r.Distinct != c.distinct || !r.Bursts() ||
			r.Label != Label || !r.Enabled || r.Every != 60 {
			t.Errorf("%s%.60q: %+v", c.file, c.src, r)
		}
		if got, want := canon(t, r.Query), canon(t, c.query); got != want {
			t.Errorf("%s%.60q: query\n %s\nwant\n %s", c.file, c.src, got, want)
		}
	}
	if r := readRule(t, "trail_tampering.yml"); r.Threshold != 0 || r.Window != 0 || r.GroupBy != "" {
		t.Errorf("a rule without a count imported as a burst: %+v", r)
	}
}

func TestImportBurstRefuses(t *testing.T) {
	legacy := func(timeframe, cond string) string {
		s := cloudtrail + "detection:\n    sel: {eventName: a}\n    condition: " + cond + "\n"
		if timeframe != "" {
			s += "    timeframe: " + timeframe + "\n"
		}
		return s
	}
	base := "---\ntitle: base\nname: base_rule\nlogsource: {product: aws, service: cloudtrail}\ndetection: {sel: {eventName: a}, condition: sel}\n"
	corr := func(block string) string { return "title: c\ncorrelation: {" + block + "}\n" + base }
	ok := "type: event_count, rules: [base_rule], timespan: 10m"
	for _, c := range []struct{ src, want string }{
		// Sigma 1 aggregations.
		{legacy("10m", "sel | count(user name) by sourceIPAddress > 3"), `count(user name): "user name" is not a field path`},
		{legacy("10m", "sel | max(requestParameters.size) > 3"), "max(): only count()"},
		{legacy("10m", "sel | count() by sourceIPAddress < 5"), "<: only > and >="},
		{legacy("10m", "sel | count() by sourceIPAddress <= 5"), "<=: only > and >="},
		{legacy("10m", "sel | count() by sourceIPAddress = 5"), "=: only > and >="},
		{legacy("10m", "sel | count() > 0"), "a count of at least 1: each match then counts, which is an ordinary rule"},
		{legacy("10m", "sel | count() >= 1"), "a count of at least 1: each match then counts, which is an ordinary rule"},
		{legacy("10m", "sel | count() > 1000000"), "at most 1000000"},
		{legacy("10m", "sel | count() > many"), `"many": not a whole number`},
		{legacy("10m", "sel | count() by sourceIPAddress"), "no comparison"},
		{legacy("10m", "sel | count() by awsRegion, eventName > 5"), "a rule counts by one field"},
		{legacy("10m", "sel | count() by awsRegion eventName > 5"), "a rule counts by one field"},
		{legacy("10m", "sel | count() by requestParameters.bucketName > 5"),
			`by "requestParameters.bucketName": a rule counts by one of ` + strings.Join(query.GroupFields, ", ")},
		{legacy("10m", "sel | near other"), "not an aggregation"},
		{legacy("", "sel | count() > 5"), "count() without a timeframe"},
		{legacy("10m", "sel"), "timeframe (a correlation over time) has no equivalent"},
		{legacy("2d", "sel | count() > 5"), "2d is not 1 minute to a day"},
		{legacy("0s", "sel | count() > 5"), "0s is not 1 minute to a day"},
		{legacy("10", "sel | count() > 5"), `"10" is not a number and s, m, h or d`},
		{legacy("1w", "sel | count() > 5"), `"1w" is not a number and s, m, h or d`},
		{legacy("10m", "['sel | count() > 5', sel]"), "an aggregation in a list of conditions has no equivalent"},
		// Sigma 2 correlations.
		{corr("type: value_count, rules: [base_rule], timespan: 10m, condition: {gte: 5}"), "a value_count names the field whose values it counts"},
		{corr("type: event_count, rules: [base_rule], timespan: 10m, condition: {gte: 5, field: x}"), "field: only a value_count counts a field's values"},
		{corr("type: value_count, rules: [base_rule], timespan: 10m, condition: {field: x}"), "no comparison"},
		{corr("type: temporal, rules: [base_rule], timespan: 10m"), `type "temporal" has no equivalent`},
		{corr("type: temporal_ordered, rules: [base_rule], timespan: 10m"), `type "temporal_ordered" has no equivalent`},
		{corr("type: event_count, rules: [base_rule, other], timespan: 10m, condition: {gte: 5}"), "rules: 2 rules; a burst rule counts the matches of exactly one"},
		{corr("type: event_count, rules: [missing_rule], timespan: 10m, condition: {gte: 5}"), `no rule in the file has the name or id "missing_rule"`},
		{corr(ok + ", group-by: [sourceIPAddress, userIdentity.arn], condition: {gte: 5}"), "group-by: 2 fields; a rule counts by one field or none"},
		{corr(ok + ", group-by: [requestParameters.bucketName], condition: {gte: 5}"), "a rule counts by one of userIdentity.arn, sourceIPAddress"},
		{corr(ok + ", condition: {lt: 5}"), "lt: only gte and gt"},
		{corr(ok + ", condition: {lte: 5}"), "lte: only gte and gt"},
		{corr(ok + ", condition: {eq: 5}"), "eq: only gte and gt"},
		{corr(ok + ", condition: {gt: 5, lte: 10}"), "a range (gt, lte) has no equivalent"},
		{corr(ok + ", condition: {gte: 1}"), "a count of at least 1: each match then counts, which is an ordinary rule"},
		{corr(ok + ", condition: {gt: 0}"), "a count of at least 1: each match then counts, which is an ordinary rule"},
		{corr(ok + ", condition: {gte: ten}"), `gte: "ten" is not a whole number`},
		{corr(ok), "condition: none"},
		{corr("type: event_count, rules: [base_rule], condition: {gte: 5}"), "correlation: no timespan"},
		{corr("type: event_count, rules: [base_rule], timespan: 25h, condition: {gte: 5}"), "timespan: 25h is not 1 minute to a day"},
		{corr(ok + ", condition: {gte: 5}, generate: true"), "generate: true"},
		{corr(ok+", condition: {gte: 5}") + "---\ntitle: stray\nlogsource: {product: aws, service: cloudtrail}\ndetection: {sel: {eventName: b}, condition: sel}\n",
			`rule "stray" is not the correlation's`},
		{corr(ok+", condition: {gte: 5}") + "---\n" + corr(ok + ", condition: {gte: 5}")[len("title: c\n"):], "2 correlations in one file"},
		{strings.Replace(corr(ok+", condition: {gte: 5}"), "condition: sel}", "timeframe: 5m, condition: sel | count() > 5}", 1),
			`base rule "base_rule": its condition counts matches (count()) where the correlation counts them`},
		{strings.Replace(corr(ok+", condition: {gte: 5}"), "product: aws", "product: gcp", 1), `base rule "base_rule": logsource is product "gcp"`},
		// Files of several documents.
		{cloudtrail + "detection: {sel: {eventName: a}, condition: sel}\n---\n" + cloudtrail + "detection: {sel: {eventName: b}, condition: sel}\n",
			"2 rules in one file; import one rule per file"},
		{strings.Repeat("---\ntitle: x\n", maxDocs+1), "more than 16 YAML documents"},
		{"action: global\ntitle: x\n---\n" + cloudtrail + "detection: {sel: {eventName: a}, condition: sel}\n", `action "global"`},
		{"---\n", "no rule in the file"},
	} {
		if _, err := Import([]byte(c.src)); err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "sigma: ") {
			t.Errorf("Import(%q) = %v; want an error with %q", c.src, err, c.want)
		}
	}
}

// TestExportUnchanged: a rule that takes each match exports as it did before burst rules, one
// document, byte for byte.
func TestExportUnchanged(t *testing.T) {
	rules := map[string]store.Rule{
		"times.yml": {Name: "times", Description: "Two bounds of time.", Severity: 10, Stage: "Impact", Tags: []string{"T1485"},
			Query: `eventTime>=2024-05-09T20:00:00Z eventTime<2024-05-09T21:00:00Z responseElements:*`},
		// A window or a group without a threshold above 1 is no burst.
		"trail_tampering.yml": readRule(t, "trail_tampering.yml"),
		"console_filter.yml":  readRule(t, "console_filter.yml"),
		"sharing_any.yml":     readRule(t, "sharing_any.yml"),
	}
	r := rules["trail_tampering.yml"]
	r.Threshold, r.Window, r.GroupBy = 1, 10, "sourceIPAddress"
	rules["trail_tampering.yml"] = r
	for name, r := range rules {
		want, err := os.ReadFile(filepath.Join("testdata", "export", name))
		if err != nil {
			t.Fatal(err)
		}
		out, err := Export(r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(out) != string(want) {
			t.Errorf("%s: export\n%s\nwant\n%s", name, out, want)
		}
	}
}

// TestExportBurst: a burst rule is its base rule, named and without meta information, then an
// event_count correlation over it.
func TestExportBurst(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "export", "secrets_bulk_read.yml"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Export(readRule(t, "secrets_bulk_read.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != string(want) {
		t.Errorf("export\n%s\nwant\n%s", out, want)
	}
	docs := strings.Split(string(out), "\n---\n")
	if len(docs) != 2 {
		t.Fatalf("%d documents:\n%s", len(docs), out)
	}
	base, corr := docs[0], docs[1]
	for _, s := range []string{"level:", "status:", "tags:", "description:", "correlation:"} {
		if strings.Contains(base, s) {
			t.Errorf("the base rule has %s\n%s", s, base)
		}
	}
	for _, s := range []string{"\nname: secrets_read_in_bulk_by_one_principal\n", "\ndetection:\n"} {
		if !strings.Contains(base, s) {
			t.Errorf("the base rule lacks %q\n%s", s, base)
		}
	}
	for _, s := range []string{"\nstatus: experimental\n", "\nlevel: high\n", "    type: event_count\n",
		"    rules:\n        - secrets_read_in_bulk_by_one_principal\n", "    group-by:\n        - userIdentity.arn\n",
		"    timespan: 10m\n", "    condition:\n        gte: 10\n"} {
		if !strings.Contains(corr, s) {
			t.Errorf("the correlation lacks %q\n%s", s, corr)
		}
	}
	if id := func(doc string) string { return strings.SplitN(strings.SplitN(doc, "\nid: ", 2)[1], "\n", 2)[0] }; id(base) == id(corr) {
		t.Errorf("the base rule and the correlation share the id %s", id(base))
	}

	// No group: all matches counted together, no group-by written.
	out, err = Export(store.Rule{Name: "All together", Query: "eventName:a", Threshold: 3, Window: 5})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "group-by") || !strings.Contains(string(out), "    timespan: 5m\n") {
		t.Errorf("export without a group:\n%s", out)
	}

	for _, r := range []store.Rule{
		{Name: "no window", Query: "a", Threshold: 3},
		{Name: "long window", Query: "a", Threshold: 3, Window: 1441},
		{Name: "bad group", Query: "a", Threshold: 3, Window: 5, GroupBy: "requestParameters.bucketName"},
		{Name: "huge", Query: "a", Threshold: maxThreshold + 1, Window: 5},
	} {
		if out, err := Export(r); err == nil {
			t.Errorf("%s: exported\n%s", r.Name, out)
		}
	}
}

// TestExportRefusesDirection: direction is this case's classification of an event, which no
// Sigma backend can repeat.
func TestExportRefusesDirection(t *testing.T) {
	for _, q := range []string{`direction:outbound`, `eventName:PutBucketPolicy AND NOT direction:internal`} {
		if _, err := Export(store.Rule{Name: "r", Query: q, Severity: 5}); err == nil || !strings.Contains(err.Error(), "classification") {
			t.Errorf("%s: %v; want a refusal", q, err)
		}
	}
}

// TestExportRefusesRuleField: rule:NAME searches this case's indicators; no Sigma backend has
// them, so such a rule does not export.
func TestExportRefusesRuleField(t *testing.T) {
	for _, q := range []string{`rule:"Root user activity"`, `eventName:X OR (rule:* -userAgent:y)`, `-rule:x`} {
		if _, err := Export(store.Rule{Name: "r", Query: q, Severity: 5}); err == nil || !strings.Contains(err.Error(), "indicators") {
			t.Errorf("%s: %v; want a refusal", q, err)
		}
	}
}
