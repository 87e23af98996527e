package app

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailscope/trailscope/data/query"
	"github.com/trailscope/trailscope/data/store"
)

// stratusDir is ../shared/data/stratus-detonations from the repository root, or the test skips.
func stratusDir(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "shared", "data", "stratus-detonations")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("real data %s not present (%v); skipping", dir, err)
	}
	return dir
}

// rulesRun loads dir into a new case and runs the built-in pack over it.
func rulesRun(t *testing.T, dir string) *Case {
	t.Helper()
	ctx := context.Background()
	c, err := Open(ctx, filepath.Join(t.TempDir(), "c.tsc"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Ingest(ctx, []string{dir}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.InstallRules(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RunRules(ctx, time.Now(), false); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestBuiltinRulesOnStratus loads every Stratus Red Team detonation into one case, runs the
// built-in pack, and checks technique by technique that the rule made for it fires.
func TestBuiltinRulesOnStratus(t *testing.T) {
	dir := stratusDir(t)
	ctx := context.Background()
	c := rulesRun(t, dir)
	// Which technique each event belongs to.
	files, _ := filepath.Glob(filepath.Join(dir, "aws.*.json"))
	techOf := map[string]string{}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var evs []struct{ EventID string }
		if err := json.Unmarshal(body, &evs); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, e := range evs {
			techOf[e.EventID] = strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "aws."), ".json")
		}
	}
	rules, err := c.Rules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fired := map[string][]string{} // technique → rules
	for _, r := range rules {
		ins, err := c.Store().Indicators(ctx, r.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(ins)) != r.Matches {
			t.Errorf("rule %q: %d indicators listed, %d counted", r.Name, len(ins), r.Matches)
		}
		for _, in := range ins {
			tech := techOf[in.EventID]
			if tech == "" {
				t.Errorf("rule %q matched event %s of no technique", r.Name, in.EventID)
				continue
			}
			if !slices.Contains(fired[tech], r.Name) {
				fired[tech] = append(fired[tech], r.Name)
			}
		}
	}
	want := map[string]string{
		"defense-evasion.cloudtrail-stop":                         "CloudTrail logging stopped or deleted",
		"defense-evasion.cloudtrail-delete":                       "CloudTrail logging stopped or deleted",
		"defense-evasion.cloudtrail-event-selectors":              "CloudTrail trail or event selectors changed",
		"defense-evasion.dns-delete-logs":                         "Network or DNS logs deleted",
		"defense-evasion.vpc-remove-flow-logs":                    "Network or DNS logs deleted",
		"defense-evasion.organizations-leave":                     "Account left its organisation",
		"exfiltration.ec2-share-ebs-snapshot":                     "Snapshot or image shared",
		"exfiltration.ec2-share-ami":                              "Snapshot or image shared",
		"exfiltration.rds-share-snapshot":                         "Snapshot or image shared",
		"exfiltration.ec2-security-group-open-port-22-ingress":    "Security group opened to the internet",
		"persistence.iam-backdoor-user":                           "Access key created",
		"persistence.iam-create-admin-user":                       "Administrator policy attached",
		"persistence.iam-create-user-login-profile":               "Console password created or changed",
		"privilege-escalation.iam-update-user-login-profile":      "Console password created or changed",
		"persistence.iam-backdoor-role":                           "Role trust policy changed",
		"persistence.sts-federation-token":                        "Federation token issued",
		"credential-access.ec2-get-password-data":                 "Windows password data read",
		"credential-access.secretsmanager-batch-retrieve-secrets": "Secrets read in a batch",
		"credential-access.secretsmanager-retrieve-secrets":       "Many secrets read by one caller",
		"initial-access.console-login-without-mfa":                "Console login without MFA",
		"persistence.lambda-backdoor-function":                    "Lambda function opened to anyone",
		"persistence.rolesanywhere-create-trust-anchor":           "IAM Roles Anywhere trust anchor created",
		"execution.ec2-user-data":                                 "Instance user data changed",
		"discovery.ec2-download-user-data":                        "Instance user data read",
		"execution.ssm-send-command":                              "Command run on instances through SSM",
		"execution.ssm-start-session":                             "Command run on instances through SSM",
		"credential-access.ec2-steal-instance-credentials":        "Command run on instances through SSM",
		"lateral-movement.ec2-instance-connect":                   "SSH key pushed to an instance",
		"lateral-movement.ec2-serial-console-send-ssh-public-key": "SSH key pushed to an instance",
		"execution.ec2-launch-unusual-instances":                  "GPU instances launched",
		"impact.bedrock-invoke-model":                             "Bedrock model access enabled",
	}
	for tech, rule := range want {
		if !slices.Contains(fired[tech], rule) {
			t.Errorf("%s: rule %q did not fire (fired: %q)", tech, rule, fired[tech])
		}
	}
	techs := slices.Sorted(func(yield func(string) bool) {
		seen := map[string]bool{}
		for _, tech := range techOf {
			if !seen[tech] {
				seen[tech] = true
				if !yield(tech) {
					return
				}
			}
		}
	})
	covered := 0
	for _, tech := range techs {
		if len(fired[tech]) > 0 {
			covered++
		}
		t.Logf("%-58s %q", tech, fired[tech])
	}
	t.Logf("techniques with an indicator: %d of %d", covered, len(techs))
}

// TestRulesRunIncrementally: a rule reads only what arrived since it last ran, a changed query
// starts it over, a disabled rule does not run, and a bad rule is refused with the field named.
func TestRulesRunIncrementally(t *testing.T) {
	c, _ := viewsCase(t)
	ctx := context.Background()
	id, err := c.SaveRule(ctx, store.Rule{Name: "denied", Query: "errorCode:AccessDenied", Severity: 5, Every: 60, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2024, 5, 10, 0, 0, 0, 0, time.UTC)
	if n, err := c.RunRules(ctx, now, false); err != nil || n != 2 {
		t.Fatalf("first run added %d, %v; want the 2 denied calls", n, err)
	}
	if n, _ := c.RunRules(ctx, now.Add(2*time.Hour), false); n != 0 {
		t.Errorf("a second run over the same events added %d", n)
	}
	r, err := c.Store().Rule(ctx, id)
	if err != nil || r.Matches != 2 || !r.LastRun.Equal(now.Add(2*time.Hour)) {
		t.Fatalf("rule after two runs: %+v, %v", r, err)
	}
	// Not due within its hour.
	r.Query = "sourceIPAddress:203.0.113.7"
	if _, err := c.SaveRule(ctx, r); err != nil {
		t.Fatal(err)
	}
	if r, _ := c.Store().Rule(ctx, id); r.Matches != 0 || !r.LastRun.IsZero() {
		t.Errorf("a changed query kept %d indicators, last run %v", r.Matches, r.LastRun)
	}
	if n, _ := c.RunRules(ctx, now.Add(3*time.Hour), true); n != 5 {
		t.Errorf("the changed rule, due at once, added %d; want the 5 calls from the address", n)
	}
	if n, _ := c.RunRules(ctx, now.Add(3*time.Hour+time.Minute), true); n != 0 {
		t.Errorf("a rule not yet due ran and added %d", n)
	}
	r, _ = c.Store().Rule(ctx, id)
	r.Enabled = false
	r.Query = "getobject"
	if _, err := c.SaveRule(ctx, r); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.RunRules(ctx, now.Add(5*time.Hour), false); n != 0 {
		t.Errorf("a disabled rule added %d", n)
	}
	for _, bad := range []store.Rule{
		{Name: "", Query: "x", Severity: 5, Every: 60},
		{Name: "q", Query: "eventName:(", Severity: 5, Every: 60},
		{Name: "s", Query: "x", Severity: 11, Every: 60},
		{Name: "e", Query: "x", Severity: 5, Every: 0},
		{Name: "t", Query: "x", Severity: 5, Every: 60, Stage: "Lunch"},
	} {
		if _, err := c.SaveRule(ctx, bad); err == nil {
			t.Errorf("rule %+v was accepted", bad)
		}
	}
	if _, err := c.SaveRule(ctx, store.Rule{Name: "denied", Query: "x", Severity: 5, Every: 60}); err == nil {
		t.Error("a second rule of the same name was accepted")
	}
	if err := c.DeleteRule(ctx, id); err != nil {
		t.Fatal(err)
	}
	if hits, _ := c.Indicators(ctx, time.Time{}, time.Time{}); len(hits) != 0 {
		t.Errorf("indicators of a deleted rule remain: %v", hits)
	}
}

// TestInstallRules: the pack arrives once; a built-in rule the user deleted stays deleted.
func TestInstallRules(t *testing.T) {
	c, _ := viewsCase(t)
	ctx := context.Background()
	if err := c.InstallRules(ctx); err != nil {
		t.Fatal(err)
	}
	rules, _ := c.Rules(ctx)
	if len(rules) != len(BuiltinRules()) {
		t.Fatalf("%d rules installed, want %d", len(rules), len(BuiltinRules()))
	}
	for _, r := range BuiltinRules() {
		if err := ValidateRule(r); err != nil {
			t.Errorf("built-in rule %q: %v", r.Name, err)
		}
	}
	if err := c.DeleteRule(ctx, rules[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := c.InstallRules(ctx); err != nil {
		t.Fatal(err)
	}
	if again, _ := c.Rules(ctx); len(again) != len(rules)-1 {
		t.Errorf("after a delete and another install: %d rules, want %d", len(again), len(rules)-1)
	}
}

// TestBuiltinRulesOnInvictus runs the pack over the Invictus hour of real logs, where attack
// simulations (user agent stratus-red-team_…) sit among everyday work and Terraform: nearly every
// indicator must be an attack call.
func TestBuiltinRulesOnInvictus(t *testing.T) {
	dir := filepath.Join(filepath.Dir(stratusDir(t)), "invictus-aws-dataset")
	ctx := context.Background()
	c := rulesRun(t, dir)
	f, err := Compile("userAgent:*stratus-red-team*", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	attack := map[string]bool{}
	if err := c.Search(ctx, f, 0, func(h store.Hit) error { attack[h.EventID] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	rules, _ := c.Rules(ctx)
	var all, hits int
	for _, r := range rules {
		ins, err := c.Store().Indicators(ctx, r.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range ins {
			all++
			if attack[in.EventID] {
				hits++
			}
		}
	}
	t.Logf("Invictus: %d indicators, %d of them attack-simulation calls (%d such calls in all)", all, hits, len(attack))
	if all < 20 || float64(hits) < 0.9*float64(all) {
		t.Errorf("%d indicators, %d on attack calls; want at least 20, 90%% of them attack calls", all, hits)
	}
}

// TestBurstRules: a burst rule counts matches per group within a sliding window; an edit of its
// window runs it over; rule:NAME finds what a rule matched; a bad burst names its field.
func TestBurstRules(t *testing.T) {
	c, _ := viewsCase(t) // GetObject each minute from 20:00, alternating two addresses
	ctx := context.Background()
	r := store.Rule{Name: "Reads by address", Query: "eventName:GetObject", Severity: 5, Every: 60, Enabled: true,
		Threshold: 5, Window: 8, GroupBy: "sourceipaddress"}
	id, err := c.SaveRule(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2024, 5, 10, 0, 0, 0, 0, time.UTC)
	// Each address's five reads span eight minutes (20:00–20:08, 20:01–20:09): eight is too short.
	if n, err := c.RunRules(ctx, now, false); err != nil || n != 0 {
		t.Fatalf("window 8: %d indicators, %v; want none", n, err)
	}
	r, _ = c.Store().Rule(ctx, id)
	if r.GroupBy != "sourceIPAddress" {
		t.Errorf("group by stored as %q", r.GroupBy)
	}
	if got := BurstWords(r); got != "5 or more in 8 minutes by sourceIPAddress" {
		t.Errorf("BurstWords = %q", got)
	}
	r.Window = 9
	if _, err := c.SaveRule(ctx, r); err != nil {
		t.Fatal(err)
	}
	if n, err := c.RunRules(ctx, now, false); err != nil || n != 10 {
		t.Fatalf("window 9: %d indicators, %v; want all 10 reads", n, err)
	}
	// A preview counts the same without saving, whatever the window.
	for window, want := range map[int]int64{8: 0, 9: 10} {
		p := r
		p.Window, p.Name = window, ""
		if n, err := c.PreviewRule(ctx, p); err != nil || n != want {
			t.Errorf("preview with window %d: %d, %v; want %d", window, n, err, want)
		}
	}
	if n, err := c.PreviewRule(ctx, store.Rule{Query: "eventName:GetObject -errorCode:*", Severity: 5, Every: 60}); err != nil || n != 8 {
		t.Errorf("preview of a rule taking each match: %d, %v; want 8", n, err)
	}
	if _, err := c.PreviewRule(ctx, store.Rule{Query: "eventName:(", Severity: 5, Every: 60}); err == nil || !strings.HasPrefix(err.Error(), "query:") {
		t.Errorf("preview of a bad query: %v", err)
	}
	r.Query = "eventName:GetObject -errorCode:*" // e08 and e09 are refused: each address has 4 left
	if _, err := c.SaveRule(ctx, r); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.RunRules(ctx, now, false); n != 0 {
		t.Errorf("four reads per address made %d indicators", n)
	}
	r.Query, r.GroupBy = "eventName:GetObject -errorCode:*", "" // eight together, within 9 minutes
	if _, err := c.SaveRule(ctx, r); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.RunRules(ctx, now, false); n != 8 {
		t.Errorf("counted together: %d; want 8", n)
	}
	if _, err := c.SaveRule(ctx, store.Rule{Name: "Denied", Query: "errorCode:AccessDenied", Severity: 5, Every: 60, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RunRules(ctx, now, false); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]int64{
		`rule:"reads by address"`:       8,
		`rule:Reads*`:                   8,
		`rule:*`:                        10,
		`-rule:*`:                       0,
		`rule:Denied`:                   2,
		`rule:Denied OR rule:"nothing"`: 2,
		`rule:Denied sourceIPAddress:198.51.100.1`: 1,
	} {
		f, err := Compile(q, time.Time{}, time.Time{})
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if n, err := c.Count(ctx, f); err != nil || n != want {
			t.Errorf("%s: %d events, %v; want %d", q, n, err, want)
		}
	}
	if _, err := Compile("rule<3", time.Time{}, time.Time{}); err == nil || !strings.Contains(err.Error(), "rule:NAME") {
		t.Errorf("rule<3: %v", err)
	}
	// Once a rule takes each match, it keeps no window or group.
	r.Threshold = 1
	if _, err := c.SaveRule(ctx, r); err != nil {
		t.Fatal(err)
	}
	if r, _ = c.Store().Rule(ctx, id); r.Threshold != 0 || r.Window != 0 || r.GroupBy != "" || BurstWords(r) != "" {
		t.Errorf("a rule taking each match kept %d / %d / %q", r.Threshold, r.Window, r.GroupBy)
	}
	for field, bad := range map[string]store.Rule{
		"window":   {Name: "w", Query: "x", Severity: 5, Every: 60, Threshold: 5},
		"window ":  {Name: "w", Query: "x", Severity: 5, Every: 60, Threshold: 5, Window: 1441},
		"group by": {Name: "g", Query: "x", Severity: 5, Every: 60, Threshold: 5, Window: 5, GroupBy: "requestParameters.bucketName"},
	} {
		if _, err := c.SaveRule(ctx, bad); err == nil || !strings.HasPrefix(err.Error(), strings.TrimSpace(field)+":") {
			t.Errorf("%+v: %v; want an error about the %s", bad, err, field)
		}
	}
	// Distinct addresses: each minute's read comes from the other address than the last.
	d := store.Rule{Name: "Addresses", Query: "eventName:GetObject", Severity: 5, Every: 60, Enabled: true,
		Threshold: 2, Window: 2, Distinct: "sourceipaddress"}
	did, err := c.SaveRule(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RunRules(ctx, now, false); err != nil {
		t.Fatal(err)
	}
	if d, _ = c.Store().Rule(ctx, did); d.Matches != 10 {
		t.Errorf("two addresses within two minutes: %d; want all 10 reads", d.Matches)
	}
	if got := BurstWords(d); d.Distinct != "sourceIPAddress" || got != "2 or more distinct sourceIPAddress in 2 minutes" {
		t.Errorf("distinct %q, BurstWords %q", d.Distinct, got)
	}
	d.Threshold = 3
	if _, err := c.SaveRule(ctx, d); err != nil {
		t.Fatal(err)
	}
	c.RunRules(ctx, now, false)
	if d, _ = c.Store().Rule(ctx, did); d.Matches != 0 {
		t.Errorf("three addresses (there are two): %d", d.Matches)
	}
	if err := ValidateRule(store.Rule{Name: "d", Query: "x", Severity: 5, Every: 60, Threshold: 5, Window: 5, Distinct: "a b"}); err == nil ||
		!strings.HasPrefix(err.Error(), "distinct:") {
		t.Errorf("distinct 'a b': %v", err)
	}
	if err := ValidateRule(store.Rule{Name: "t", Query: "x", Severity: 5, Every: 60, Threshold: -2}); err == nil || !strings.HasPrefix(err.Error(), "threshold:") {
		t.Errorf("threshold -2: %v", err)
	}
	if got := BurstWords(store.Rule{Threshold: 10, Window: 1440}); got != "10 or more in 1 day" {
		t.Errorf("BurstWords = %q", got)
	}
}

// TestCountByRule: counting the matches by rule gives, for each rule, the events rule:NAME
// finds among them, and the events no rule matched.
func TestCountByRule(t *testing.T) {
	c, _ := viewsCase(t)
	ctx := context.Background()
	for _, r := range []store.Rule{
		{Name: "denied", Query: "errorCode:AccessDenied", Severity: 5, Every: 60, Enabled: true},
		{Name: "Address 203", Query: "sourceIPAddress:203.0.113.7", Severity: 4, Every: 60, Enabled: true},
	} {
		if _, err := c.SaveRule(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.RunRules(ctx, time.Date(2024, 5, 10, 0, 0, 0, 0, time.UTC), false); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"", "sourceIPAddress:203.0.113.7"} {
		f, _ := Compile(q, time.Time{}, time.Time{})
		fc, err := c.CountValues(ctx, f, "RULE", 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		total, _ := c.Count(ctx, f)
		if fc.Events != total || fc.Distinct == 0 {
			t.Errorf("%q by rule: %+v, %d matches", q, fc, total)
		}
		for _, v := range fc.Values {
			g, _ := Compile(strings.TrimSpace(q+" "+query.FieldValue("rule", v.Value)), time.Time{}, time.Time{})
			if n, _ := c.Count(ctx, g); n != v.Events {
				t.Errorf("%q by rule: %s counted %d, the search finds %d", q, v.Value, v.Events, n)
			}
		}
		g, _ := Compile(strings.TrimSpace(q+" -rule:*"), time.Time{}, time.Time{})
		if n, _ := c.Count(ctx, g); n != fc.Without {
			t.Errorf("%q by rule: %d without, -rule:* finds %d", q, fc.Without, n)
		}
	}
}

// TestBuiltinRulesOnRequests checks the rules whose queries read request parameters against
// records shaped as CloudTrail writes them: each must fire on its call and stay quiet on the
// same call made harmlessly (a bucket policy for a service, a filter that only marks, a
// deployment tool's change).
func TestBuiltinRulesOnRequests(t *testing.T) {
	const (
		cli = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off command/x"
		tf  = "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.40.0"
	)
	type call struct {
		id, source, name, agent, params string
		want                            string // the rule that must fire, "" for none
	}
	public := "S3 bucket opened to the public"
	guardDuty := "GuardDuty findings suppressed"
	calls := []call{
		{"s3-policy-anyone", "s3", "PutBucketPolicy", cli, `{"bucketName":"b1","bucketPolicy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b1/*"}]},"policy":""}`, public},
		{"s3-policy-aws-anyone", "s3", "PutBucketPolicy", cli, `{"bucketName":"b2","bucketPolicy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:*","Resource":"arn:aws:s3:::b2/*"}]},"policy":""}`, public},
		{"s3-policy-account", "s3", "PutBucketPolicy", cli, `{"bucketName":"b3","bucketPolicy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::193672423079:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b3/*"}]},"policy":""}`, ""},
		{"s3-policy-service", "s3", "PutBucketPolicy", tf, `{"bucketName":"b4","bucketPolicy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::b4/*"}]},"policy":""}`, ""},
		{"s3-acl-all-users", "s3", "PutBucketAcl", cli, `{"bucketName":"b5","acl":"","AccessControlPolicy":{"AccessControlList":{"Grant":[{"Grantee":{"xsi:type":"CanonicalUser","ID":"abc"},"Permission":"FULL_CONTROL"},{"Grantee":{"xsi:type":"Group","URI":"http://acs.amazonaws.com/groups/global/AllUsers"},"Permission":"READ"}]},"Owner":{"ID":"abc"}}}`, public},
		{"s3-acl-canned", "s3", "PutBucketAcl", cli, `{"bucketName":"b6","acl":"","x-amz-acl":["public-read"]}`, public},
		{"s3-acl-private", "s3", "PutBucketAcl", cli, `{"bucketName":"b7","acl":"","x-amz-acl":["private"]}`, ""},
		{"s3-acl-log-delivery", "s3", "PutBucketAcl", cli, `{"bucketName":"b8","acl":"","AccessControlPolicy":{"AccessControlList":{"Grant":{"Grantee":{"xsi:type":"Group","URI":"http://acs.amazonaws.com/groups/s3/LogDelivery"},"Permission":"WRITE"}}}}`, ""},
		{"s3-block-removed", "s3", "DeleteBucketPublicAccessBlock", cli, `{"bucketName":"b9","publicAccessBlock":""}`, public},
		{"mfa-off", "iam", "DeactivateMFADevice", cli, `{"userName":"alice","serialNumber":"arn:aws:iam::111122223333:mfa/alice"}`, "MFA device removed"},
		{"policy-default", "iam", "CreatePolicyVersion", cli, `{"policyArn":"arn:aws:iam::111122223333:policy/dev","policyDocument":"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}","setAsDefault":true}`, "IAM policy version made the default"},
		{"policy-not-default", "iam", "CreatePolicyVersion", cli, `{"policyArn":"arn:aws:iam::111122223333:policy/dev","policyDocument":"{}","setAsDefault":false}`, ""},
		{"policy-terraform", "iam", "CreatePolicyVersion", tf, `{"policyArn":"arn:aws:iam::111122223333:policy/dev","policyDocument":"{}","setAsDefault":true}`, ""},
		{"saml", "iam", "CreateSAMLProvider", cli, `{"name":"okta","sAMLMetadataDocument":"<md/>"}`, "Identity provider created or changed"},
		{"gd-paused", "guardduty", "UpdateDetector", cli, `{"detectorId":"d1","enable":false}`, guardDuty},
		{"gd-enabled", "guardduty", "UpdateDetector", cli, `{"detectorId":"d1","enable":true,"findingPublishingFrequency":"FIFTEEN_MINUTES"}`, ""},
		{"gd-archive", "guardduty", "CreateFilter", cli, `{"detectorId":"d1","name":"quiet","action":"ARCHIVE","rank":1,"findingCriteria":{"criterion":{"type":{"eq":["Recon:IAMUser/MaliciousIPCaller"]}}}}`, guardDuty},
		{"gd-noop", "guardduty", "CreateFilter", cli, `{"detectorId":"d1","name":"mark","action":"NOOP","rank":1,"findingCriteria":{"criterion":{"severity":{"gte":7}}}}`, ""},
		{"gd-trusted", "guardduty", "CreateIPSet", cli, `{"detectorId":"d1","name":"ours","format":"TXT","location":"https://s3.amazonaws.com/b/ips.txt","activate":true}`, guardDuty},
		{"versioning-off", "s3", "PutBucketVersioning", cli, `{"bucketName":"b10","versioning":"","VersioningConfiguration":{"Status":"Suspended","xmlns":"http://s3.amazonaws.com/doc/2006-03-01/"}}`, "S3 versioning suspended"},
		{"versioning-on", "s3", "PutBucketVersioning", cli, `{"bucketName":"b11","versioning":"","VersioningConfiguration":{"Status":"Enabled","xmlns":"http://s3.amazonaws.com/doc/2006-03-01/"}}`, ""},
		{"key-imported", "ec2", "ImportKeyPair", cli, `{"keyName":"k","publicKeyMaterial":"<sensitiveDataRemoved>"}`, "EC2 key pair created or imported"},
		{"key-terraform", "ec2", "CreateKeyPair", tf, `{"keyName":"deploy","keyType":"ed25519"}`, ""},
		{"url-open", "lambda", "CreateFunctionUrlConfig", cli, `{"functionName":"f","authType":"NONE"}`, "Lambda function URL without authentication"},
		{"url-iam", "lambda", "CreateFunctionUrlConfig", cli, `{"functionName":"f","authType":"AWS_IAM"}`, ""},
		{"db-password", "rds", "ModifyDBInstance", cli, `{"dBInstanceIdentifier":"prod","masterUserPassword":"****","applyImmediately":true}`, "Database master password changed"},
		{"db-storage", "rds", "ModifyDBInstance", cli, `{"dBInstanceIdentifier":"prod","allocatedStorage":200,"applyImmediately":true}`, ""},
		{"password-policy", "iam", "DeleteAccountPasswordPolicy", cli, `null`, "Account password policy deleted"},
		{"domain-away", "route53domains", "TransferDomainToAnotherAwsAccount", cli, `{"domainName":"example.com","accountId":"444455556666"}`, "Domain transferred away"},
		{"db-public", "rds", "ModifyDBInstance", cli, `{"dBInstanceIdentifier":"prod","publiclyAccessible":true,"applyImmediately":true}`, "Database opened to the internet"},
		{"db-private", "rds", "CreateDBInstance", tf, `{"dBInstanceIdentifier":"dev","engine":"postgres","publiclyAccessible":false,"masterUserPassword":"****"}`, ""},
		{"replication", "s3", "PutBucketReplication", cli, `{"bucketName":"b12","replication":"","ReplicationConfiguration":{"Role":"arn:aws:iam::111122223333:role/r","Rule":{"Status":"Enabled","Destination":{"Bucket":"arn:aws:s3:::elsewhere","Account":"444455556666"}}}}`, "S3 replication configured outside a deployment tool"},
		{"replication-terraform", "s3", "PutBucketReplication", tf, `{"bucketName":"b13","replication":""}`, ""},
		{"mirror", "ec2", "CreateTrafficMirrorSession", cli, `{"CreateTrafficMirrorSessionRequest":{"NetworkInterfaceId":"eni-1","TrafficMirrorTargetId":"tmt-1","SessionNumber":1}}`, "Traffic mirroring set up"},
		{"ebs-plain", "ec2", "DisableEbsEncryptionByDefault", cli, `{"DisableEbsEncryptionByDefaultRequest":""}`, "EBS encryption by default turned off"},
		{"alarms-gone", "monitoring", "DeleteAlarms", cli, `{"alarmNames":["root-login","cloudtrail-changes"]}`, "CloudWatch alarms deleted or silenced"},
		{"alarms-terraform", "monitoring", "DeleteAlarms", tf, `{"alarmNames":["old-cpu"]}`, ""},
		{"user-created", "iam", "CreateUser", cli, `{"userName":"backup-svc"}`, "IAM user created outside a deployment tool"},
		{"admins-joined", "iam", "AddUserToGroup", cli, `{"groupName":"CloudAdmins","userName":"backup-svc"}`, "User added to an administrators group"},
		{"readers-joined", "iam", "AddUserToGroup", cli, `{"groupName":"ReadOnly","userName":"alice"}`, ""},
		{"user-terraform", "iam", "CreateUser", tf, `{"userName":"ci"}`, ""},
	}
	var records []string
	for i, c := range calls {
		records = append(records, fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"alice"},`+
			`"eventTime":"2024-05-09T10:%02d:00Z","eventSource":"%s.amazonaws.com","eventName":"%s","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":%q,`+
			`"requestParameters":%s,"responseElements":null,"requestID":"r-%s","eventID":"%s","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}`,
			i, c.source, c.name, c.agent, c.params, c.id, c.id))
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "calls.json"), []byte(`{"Records":[`+strings.Join(records, ",")+`]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := rulesRun(t, dir)
	rules, err := c.Rules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fired := map[string][]string{}
	for _, r := range rules {
		ins, err := c.Store().Indicators(ctx, r.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range ins {
			fired[in.EventID] = append(fired[in.EventID], r.Name)
		}
	}
	for _, call := range calls {
		var want []string
		if call.want != "" {
			want = []string{call.want}
		}
		if got := fired[call.id]; !slices.Equal(got, want) {
			t.Errorf("%s (%s): rules %q fired, want %q", call.id, call.name, got, want)
		}
	}
}
