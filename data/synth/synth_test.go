package synth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailscope/trailscope/data/cloudtrail"
)

// friday is the end of a window whose last day, Thursday 2024-05-09, is a weekday.
var friday = time.Date(2024, 5, 10, 0, 0, 0, 0, time.UTC)

type rec struct {
	t   time.Time
	raw []byte
	e   cloudtrail.Event
}

// collect generates cfg and parses every record with cloudtrail.Extract.
func collect(t *testing.T, cfg Config) ([]rec, []Label) {
	t.Helper()
	var out []rec
	labels, err := Generate(context.Background(), cfg, func(tm time.Time, raw []byte) error {
		e, err := cloudtrail.Extract(raw)
		if err != nil {
			return err
		}
		out = append(out, rec{tm, raw, e})
		return nil
	})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return out, labels
}

func digest(t *testing.T, cfg Config) [32]byte {
	t.Helper()
	h := sha256.New()
	if _, err := Generate(context.Background(), cfg, func(_ time.Time, raw []byte) error {
		h.Write(raw)
		h.Write([]byte{'\n'})
		return nil
	}); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return d
}

func allScenarios(at time.Time) []ScenarioSpec {
	var s []ScenarioSpec
	for _, n := range ScenarioNames() {
		s = append(s, ScenarioSpec{Name: n, At: at})
	}
	return s
}

func TestDeterminism(t *testing.T) {
	cfg := Config{Seed: 42, Days: 1, End: friday, EventsPerDay: 3000, Scenarios: allScenarios(time.Time{})}
	a, b := digest(t, cfg), digest(t, cfg)
	if a != b {
		t.Fatal("same seed gave different output")
	}
	other := cfg
	other.Seed = 43
	if digest(t, other) == a {
		t.Fatal("different seeds gave the same output")
	}
	_, la := collect(t, cfg)
	_, lb := collect(t, other)
	for _, name := range ScenarioNames() {
		x, y := findLabel(la, name), findLabel(lb, name)
		if x == nil || y == nil {
			t.Fatalf("%s: label missing", name)
		}
		if x.SourceIP == y.SourceIP && x.Start.Equal(y.Start) {
			t.Errorf("%s: seeds 42 and 43 gave the same attacker address %s and start %s", name, x.SourceIP, x.Start)
		}
	}
}

func findLabel(ls []Label, name string) *Label {
	for i := range ls {
		if ls[i].Scenario == name {
			return &ls[i]
		}
	}
	return nil
}

// TestScenarioLeavesBackground checks that injecting a scenario adds its labelled events and
// changes nothing else, so evaluation runs compare like with like.
func TestScenarioLeavesBackground(t *testing.T) {
	base := Config{Seed: 5, Days: 1, End: friday, EventsPerDay: 2000}
	plain, _ := collect(t, base)
	with := base
	with.Scenarios = []ScenarioSpec{{Name: "capital-one-2019"}, {Name: "secrets-bulk-read"}}
	mixed, labels := collect(t, with)
	injected := map[string]bool{}
	for _, l := range labels {
		if !l.Benign {
			for _, id := range l.KeyEventIDs {
				injected[id] = true
			}
		}
	}
	var rest []rec
	for _, r := range mixed {
		if !injected[r.e.EventID] {
			rest = append(rest, r)
		}
	}
	if len(rest) != len(plain) {
		t.Fatalf("background has %d events with scenarios, %d without", len(rest), len(plain))
	}
	for i := range rest {
		if !bytes.Equal(rest[i].raw, plain[i].raw) {
			t.Fatalf("background event %d differs:\n%s\n%s", i, rest[i].raw, plain[i].raw)
		}
	}
}

func TestScenarios(t *testing.T) {
	o := newOrg(9)
	used := map[string]bool{}
	for _, r := range o.regions {
		used[r] = true
	}
	count := func(rs []rec, name string) int {
		n := 0
		for _, r := range rs {
			if r.e.EventName == name {
				n++
			}
		}
		return n
	}
	tests := []struct {
		name  string
		check func(t *testing.T, key []rec)
	}{
		{"capital-one-2019", func(t *testing.T, key []rec) {
			if count(key, "GetCallerIdentity") != 1 || count(key, "ListBuckets") != 1 || count(key, "GetObject") < 50 {
				t.Errorf("want GetCallerIdentity, ListBuckets and ≥50 GetObject; got %d, %d, %d", count(key, "GetCallerIdentity"), count(key, "ListBuckets"), count(key, "GetObject"))
			}
			for _, r := range key {
				if r.e.PrincipalType != "AssumedRole" || !strings.HasPrefix(r.e.AccessKey, "ASIA") || !strings.Contains(string(r.raw), `"ec2RoleDelivery":"2.0"`) {
					t.Fatalf("not an EC2 instance role session: %s", r.raw)
				}
				if strings.HasPrefix(r.e.SourceIP, "10.") {
					t.Fatalf("stolen credentials used from a private address %s", r.e.SourceIP)
				}
			}
			if d := key[len(key)-1].t.Sub(key[0].t); d < time.Minute || d > 45*time.Minute {
				t.Errorf("burst lasts %s, want minutes", d)
			}
		}},
		{"cloudtrail-tampering", func(t *testing.T, key []rec) {
			for _, n := range []string{"StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"} {
				if count(key, n) != 1 {
					t.Errorf("%s: %d events, want 1", n, count(key, n))
				}
			}
		}},
		{"iam-backdoor", func(t *testing.T, key []rec) {
			for _, n := range []string{"CreateUser", "CreateAccessKey", "AttachUserPolicy"} {
				if count(key, n) != 1 {
					t.Errorf("%s: %d events, want 1", n, count(key, n))
				}
			}
			var newKey string
			for _, r := range key {
				if r.e.EventName == "AttachUserPolicy" && !strings.Contains(string(r.raw), "policy/AdministratorAccess") {
					t.Errorf("AttachUserPolicy without AdministratorAccess: %s", r.raw)
				}
				if r.e.EventName == "CreateAccessKey" {
					var v struct {
						ResponseElements struct{ AccessKey struct{ AccessKeyID string } }
					}
					json.Unmarshal(r.raw, &v)
					newKey = v.ResponseElements.AccessKey.AccessKeyID
				}
			}
			if !slices.ContainsFunc(key, func(r rec) bool { return newKey != "" && r.e.AccessKey == newKey }) {
				t.Errorf("the created key %q is never used", newKey)
			}
		}},
		{"console-no-mfa", func(t *testing.T, key []rec) {
			if key[0].e.EventName != "ConsoleLogin" || key[0].e.MFA || !strings.Contains(string(key[0].raw), `"MFAUsed":"No"`) {
				t.Errorf("first key event is not a ConsoleLogin without MFA: %s", key[0].raw)
			}
			if len(key) < 10 {
				t.Errorf("%d events, want the sign-in and activity", len(key))
			}
		}},
		{"snapshot-ami-sharing", func(t *testing.T, key []rec) {
			if count(key, "ModifySnapshotAttribute") < 1 || count(key, "ModifyImageAttribute") != 1 {
				t.Errorf("want ModifySnapshotAttribute and ModifyImageAttribute")
			}
			for _, r := range key {
				if strings.HasPrefix(r.e.EventName, "Modify") && (strings.Contains(string(r.raw), `"userId":"`+r.e.RecipientAccount) || !strings.Contains(string(r.raw), `"add":{"items":[{"userId":"`)) {
					t.Errorf("not shared with an outside account: %s", r.raw)
				}
			}
		}},
		{"secrets-bulk-read", func(t *testing.T, key []rec) {
			if count(key, "ListSecrets") != 1 || count(key, "GetSecretValue") < 10 {
				t.Errorf("want ListSecrets and ≥10 GetSecretValue, got %d GetSecretValue", count(key, "GetSecretValue"))
			}
		}},
		{"unused-region-instances", func(t *testing.T, key []rec) {
			if count(key, "RunInstances") < 2 {
				t.Errorf("%d RunInstances, want several", count(key, "RunInstances"))
			}
			for _, r := range key {
				if r.e.EventName == "RunInstances" && used[r.e.Region] {
					t.Errorf("RunInstances in used region %s", r.e.Region)
				}
			}
		}},
		{"accessdenied-enumeration", func(t *testing.T, key []rec) {
			denied, apis := 0, map[string]bool{}
			for _, r := range key {
				if strings.Contains(r.e.ErrorCode, "AccessDenied") || r.e.ErrorCode == "Client.UnauthorizedOperation" {
					denied++
					apis[r.e.EventSource+r.e.EventName] = true
				}
			}
			if denied < 40 || len(apis) < 15 {
				t.Errorf("%d denied calls across %d APIs, want ≥40 across ≥15", denied, len(apis))
			}
		}},
		{"defence-evasion", func(t *testing.T, key []rec) {
			if count(key, "DeleteDetector")+count(key, "UpdateDetector") != 1 || count(key, "DeleteFlowLogs") < 1 || count(key, "StopConfigurationRecorder") != 1 {
				t.Errorf("want a detector disabled, flow logs deleted and Config stopped")
			}
		}},
		{"root-use", func(t *testing.T, key []rec) {
			if key[0].e.EventName != "ConsoleLogin" {
				t.Errorf("first event %s, want ConsoleLogin", key[0].e.EventName)
			}
			for _, r := range key {
				if r.e.PrincipalType != "Root" {
					t.Fatalf("not root: %s", r.raw)
				}
			}
		}},
	}
	if len(tests) != len(ScenarioNames()) {
		t.Fatalf("%d scenario tests for %d scenarios", len(tests), len(ScenarioNames()))
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Seed: 9, Days: 1, End: friday, EventsPerDay: 2000, Scenarios: []ScenarioSpec{{Name: tc.name}}}
			rs, labels := collect(t, cfg)
			l := findLabel(labels, tc.name)
			if l == nil || len(l.KeyEventIDs) == 0 {
				t.Fatalf("no label with key events for %s", tc.name)
			}
			if l.Benign || l.Description == "" || l.Account == "" || l.Principal == "" || l.SourceIP == "" {
				t.Errorf("label incomplete: %+v", *l)
			}
			byID := map[string]rec{}
			for _, r := range rs {
				byID[r.e.EventID] = r
			}
			var key []rec
			for _, id := range l.KeyEventIDs {
				r, ok := byID[id]
				if !ok {
					t.Fatalf("key event %s not in the output", id)
				}
				if r.t.Before(l.Start) || r.t.After(l.End) {
					t.Errorf("key event at %s outside the label's %s..%s", r.t, l.Start, l.End)
				}
				key = append(key, r)
			}
			if !slices.IsSortedFunc(key, func(a, b rec) int { return a.t.Compare(b.t) }) {
				t.Error("key events not in time order")
			}
			if l.Start.Before(friday.Add(-24*time.Hour)) || !l.End.Before(friday) {
				t.Errorf("scenario at %s..%s, want inside the last day", l.Start, l.End)
			}
			tc.check(t, key)
		})
	}
}

func TestScenarioAt(t *testing.T) {
	at := friday.Add(-5 * time.Hour).Add(17 * time.Second)
	_, labels := collect(t, Config{Seed: 1, Days: 1, End: friday, EventsPerDay: 2000, Scenarios: []ScenarioSpec{{Name: "root-use", At: at}}})
	l := findLabel(labels, "root-use")
	if l == nil || !l.Start.Equal(at) {
		t.Fatalf("root-use label %+v, want start %s", l, at)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no end", Config{Seed: 1}, "End is required"},
		{"negative days", Config{End: friday, Days: -1}, "Days"},
		{"tiny volume", Config{End: friday, EventsPerDay: 10}, "too small"},
		{"unknown scenario", Config{End: friday, Days: 1, Scenarios: []ScenarioSpec{{Name: "nope"}}}, `unknown scenario "nope"`},
		{"scenario before window", Config{End: friday, Days: 1, Scenarios: []ScenarioSpec{{Name: "root-use", At: friday.Add(-48 * time.Hour)}}}, "must start within"},
		{"scenario past end", Config{End: friday, Days: 1, Scenarios: []ScenarioSpec{{Name: "root-use", At: friday.Add(-time.Minute)}}}, "must start within"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Generate(context.Background(), tc.cfg, func(time.Time, []byte) error { return nil })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err := Generate(ctx, Config{Seed: 1, Days: 2, End: friday, EventsPerDay: 2000}, func(time.Time, []byte) error {
		if n++; n == 100 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	stop := errors.New("stop")
	_, err = Generate(context.Background(), Config{Seed: 1, Days: 1, End: friday, EventsPerDay: 2000}, func(time.Time, []byte) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("error %v, want the emit error", err)
	}
}

// TestRecords checks every record of two days with every scenario: it parses, is valid compact
// JSON, has a unique eventID, comes in time order inside the window, and looks like CloudTrail.
func TestRecords(t *testing.T) {
	cfg := Config{Seed: 11, Days: 2, End: friday, EventsPerDay: 4000, Scenarios: allScenarios(time.Time{})}
	rs, _ := collect(t, cfg)
	ids := map[string]bool{}
	types := map[string]int{}
	versions := map[string]int{}
	eventTypes := map[string]int{}
	var size int
	start := friday.Add(-48 * time.Hour)
	for i, r := range rs {
		e := r.e
		if ids[e.EventID] {
			t.Fatalf("duplicate eventID %s", e.EventID)
		}
		ids[e.EventID] = true
		if !json.Valid(r.raw) {
			t.Fatalf("invalid JSON: %s", r.raw)
		}
		var buf bytes.Buffer
		if json.Compact(&buf, r.raw); !bytes.Equal(buf.Bytes(), r.raw) {
			t.Fatalf("not compact: %s", r.raw)
		}
		if !e.Time.Equal(r.t) || e.Time.Before(start) || !e.Time.Before(friday) {
			t.Fatalf("event time %s (emitted as %s) outside the window", e.Time, r.t)
		}
		if i > 0 && r.t.Before(rs[i-1].t) {
			t.Fatalf("out of order at %d: %s after %s", i, r.t, rs[i-1].t)
		}
		if len(e.EventID) != 36 || e.RecipientAccount == "" || e.Region == "" || e.SourceIP == "" || e.UserAgent == "" || e.ReadOnly == nil {
			t.Fatalf("missing fields: %s", r.raw)
		}
		switch {
		case e.PrincipalType == "IAMUser" && e.AccessKey != "" && !strings.HasPrefix(e.AccessKey, "AKIA") && !strings.Contains(string(r.raw), `"sessionContext"`),
			e.PrincipalType == "AssumedRole" && !strings.HasPrefix(e.AccessKey, "ASIA"):
			t.Fatalf("access key %s does not fit %s: %s", e.AccessKey, e.PrincipalType, r.raw)
		}
		types[e.PrincipalType]++
		versions[e.EventVersion]++
		eventTypes[e.EventType]++
		size += len(r.raw)
	}
	for _, typ := range []string{"IAMUser", "AssumedRole", "Root", "AWSService", "AWSAccount", "FederatedUser", "WebIdentityUser", ""} {
		if types[typ] == 0 {
			t.Errorf("no event with userIdentity.type %q (have %v)", typ, types)
		}
	}
	for _, v := range []string{"1.08", "1.09", "1.10"} {
		if versions[v] == 0 {
			t.Errorf("no event with eventVersion %s", v)
		}
	}
	for _, et := range []string{"AwsApiCall", "AwsServiceEvent", "AwsConsoleSignIn"} {
		if eventTypes[et] == 0 {
			t.Errorf("no event of type %s", et)
		}
	}
	if mean := size / len(rs); mean < 1200 {
		t.Errorf("mean compact size %d bytes, want ≥ 1200 like real logs", mean)
	}
}

// TestCatalogue renders every API once and checks the record parses.
func TestCatalogue(t *testing.T) {
	g, err := newGen(Config{Seed: 3, Days: 1, End: friday, EventsPerDay: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for id := range catalog {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	h := g.pop.humans[0]
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			s := h.cliSession(0)
			c := g.newCall(g.start+60, h.acct, "eu-west-1", catalog[id], &s, "192.0.2.10", "test")
			raw, eid := g.rend.render(nil, c, g.r)
			if !json.Valid(raw) {
				t.Fatalf("invalid JSON: %s", raw)
			}
			e, err := cloudtrail.Extract(raw)
			if err != nil || e.EventID != eid {
				t.Fatalf("Extract: %v (%s vs %s)", err, e.EventID, eid)
			}
		})
	}
}

// TestGenerateScenarios: the scenarios alone are exactly what the traffic with them holds beyond
// the traffic without them, in the same order, with the same labels.
func TestGenerateScenarios(t *testing.T) {
	base := Config{Seed: 9, Days: 2, End: friday, EventsPerDay: 2000}
	plain, _ := collect(t, base)
	with := base
	with.Scenarios = allScenarios(time.Time{})
	mixed, labels := collect(t, with)
	before := map[string]bool{}
	for _, r := range plain {
		before[string(r.raw)] = true
	}
	var want []string
	for _, r := range mixed {
		if !before[string(r.raw)] {
			want = append(want, r.t.Format(time.RFC3339)+" "+string(r.raw))
		}
	}
	var got []string
	only, err := GenerateScenarios(context.Background(), with, func(tm time.Time, raw []byte) error {
		got = append(got, tm.Format(time.RFC3339)+" "+string(raw))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < len(with.Scenarios)*3 {
		t.Fatalf("the scenarios added %d events to the traffic: too few to compare", len(want))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("GenerateScenarios emitted %d events; the traffic with the scenarios has %d more than without", len(got), len(want))
	}
	var attacks []Label
	for _, l := range labels {
		if !l.Benign {
			attacks = append(attacks, l)
		}
	}
	if !reflect.DeepEqual(only, attacks) {
		t.Errorf("labels:\n%+v\nwant\n%+v", only, attacks)
	}
}
