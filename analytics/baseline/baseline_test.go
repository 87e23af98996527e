package baseline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailscope/trailscope/data/cloudtrail"
	"github.com/trailscope/trailscope/data/finding"
)

type sliceEvents []cloudtrail.Event

func (s sliceEvents) ScanEvents(ctx context.Context, fn func(*cloudtrail.Event) error) error {
	for i := range s {
		if err := fn(&s[i]); err != nil {
			return err
		}
	}
	return nil
}

var end = time.Date(2024, 5, 10, 0, 0, 0, 0, time.UTC) // a Friday midnight

func analyze(t testing.TB, evs []cloudtrail.Event, opt Options) Result {
	t.Helper()
	res, err := Analyze(context.Background(), sliceEvents(evs), opt)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func withAttack(seed uint64, days int, at time.Time) []cloudtrail.Event {
	evs := append(genNormal(seed, days, end), genExfil(at)...)
	sortEvents(evs)
	return evs
}

func TestExfiltrationRanksFirst(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run("seed"+string(rune('0'+seed)), func(t *testing.T) {
			at := end.Add(-3*time.Hour - 27*time.Minute)
			res := analyze(t, withAttack(seed, 3, at), Options{})
			if len(res.Anomalies) == 0 {
				t.Fatal("no anomalies")
			}
			top := res.Anomalies[0]
			if !strings.Contains(top.Entity, "app-a") {
				t.Fatalf("top anomaly is %s (%s), want the app-a role", top.Entity, top.Title)
			}
			if top.Risk < 9 {
				t.Errorf("exfiltration risk %d, want ≥ 9 (%s)", top.Risk, top.Title)
			}
			if top.Direction != cloudtrail.Outbound {
				t.Errorf("direction %s, want outbound", top.Direction)
			}
			if !slices.Contains(top.EventIDs, "attack-0") || !slices.Contains(top.EventIDs, "attack-100") {
				t.Errorf("attack events missing from the anomaly's %d events", len(top.EventIDs))
			}
			var names []string
			for _, f := range top.Factors {
				names = append(names, f.Name+"="+f.Label)
			}
			for _, want := range []string{"source network=new", "API=new", "user agent=new"} {
				if !slices.Contains(names, want) {
					t.Errorf("factor %s missing from %v", want, names)
				}
			}
			if !strings.Contains(top.Title, "new external address") {
				t.Errorf("title %q does not say the address is new and external", top.Title)
			}
		})
	}
}

func TestEpisodeSpansWindows(t *testing.T) {
	at := end.Add(-5 * time.Hour)
	evs := append(genNormal(2, 3, end), genExfilEvery(at, 6*time.Second)...) // 15 minutes of reads
	sortEvents(evs)
	res := analyze(t, evs, Options{})
	top := res.Anomalies[0]
	if !strings.Contains(top.Entity, "app-a") {
		t.Fatalf("top anomaly %s, want app-a", top.Title)
	}
	if d := top.WindowEnd.Sub(top.WindowStart); d < 15*time.Minute {
		t.Errorf("episode spans %v, want the 15 minutes of the attack", d)
	}
	n := 0
	for _, id := range top.EventIDs {
		if strings.HasPrefix(id, "attack-") {
			n++
		}
	}
	if n != 151 {
		t.Errorf("episode holds %d of 151 attack events", n)
	}
	for _, a := range res.Anomalies[1:] {
		if strings.Contains(a.Entity, "app-a") && !a.WindowStart.Before(at) && a.WindowStart.Before(at.Add(20*time.Minute)) {
			t.Errorf("attack split into a second anomaly: %s at %s", a.Title, a.WindowStart)
		}
	}
}

func TestCleanDaysAreQuiet(t *testing.T) {
	for _, seed := range []uint64{4, 5, 6} {
		res := analyze(t, genNormal(seed, 4, end), Options{MinRisk: 1})
		perRisk := map[int]int{}
		for _, a := range res.Anomalies {
			if !a.WindowStart.Before(end.Add(-24 * time.Hour)) {
				perRisk[a.Risk]++
			}
		}
		high := 0
		for r := 7; r <= 10; r++ {
			high += perRisk[r]
		}
		t.Logf("seed %d: last-day anomalies per risk %v", seed, perRisk)
		if perRisk[10] > 1 || high > 5 {
			t.Errorf("seed %d: clean day has %d risk-10 and %d risk ≥ 7 anomalies", seed, perRisk[10], high)
		}
	}
}

func TestDeterministic(t *testing.T) {
	evs := withAttack(9, 2, end.Add(-5*time.Hour))
	a := analyze(t, evs, Options{MinRisk: 1})
	b := analyze(t, evs, Options{MinRisk: 1})
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two analyses of the same events differ")
	}
	seen := map[string]bool{}
	for _, an := range a.Anomalies {
		if seen[an.ID] {
			t.Errorf("duplicate anomaly id %s", an.ID)
		}
		seen[an.ID] = true
	}
	for i := 1; i < len(a.Anomalies); i++ {
		if a.Anomalies[i].Risk > a.Anomalies[i-1].Risk {
			t.Fatalf("anomalies not sorted by risk at %d", i)
		}
	}
}

func TestShortHistoryLowersConfidence(t *testing.T) {
	evs := genNormal(3, 1, end)
	cut := evs[:0]
	for _, e := range evs {
		if e.Time.Before(end.Add(-21 * time.Hour)) {
			cut = append(cut, e)
		}
	}
	res := analyze(t, append(cut, genExfil(end.Add(-22*time.Hour))...), Options{MinRisk: 1})
	if !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.Contains(n, "less than a day") }) {
		t.Errorf("notes %q do not mention the short history", res.Notes)
	}
	if len(res.Anomalies) == 0 {
		t.Fatal("no anomalies")
	}
	for _, a := range res.Anomalies {
		if a.Confidence == "full" {
			t.Errorf("anomaly %s has full confidence on 3 hours of history", a.Title)
		}
		if a.Risk > 8 {
			t.Errorf("risk %d on 3 hours of history, want at most 8 (lowered by two levels): %s", a.Risk, a.Title)
		}
	}
}

func TestSeries(t *testing.T) {
	evs := genNormal(2, 2, end)
	res := analyze(t, evs, Options{})
	bins := int(evs[len(evs)-1].Time.Truncate(5*time.Minute).Sub(evs[0].Time.Truncate(5*time.Minute))/(5*time.Minute)) + 1
	if len(res.Series) != 3*bins {
		t.Fatalf("series has %d points, want %d", len(res.Series), 3*bins)
	}
	var total float64
	for i, p := range res.Series {
		if p.Direction != directions[i%3] {
			t.Fatalf("point %d direction %s", i, p.Direction)
		}
		if i >= 3 && p.BinStart.Before(res.Series[i-3].BinStart) {
			t.Fatalf("series out of order at %d", i)
		}
		if p.Lower > p.Expected || p.Expected > p.Upper || p.Lower < 0 {
			t.Fatalf("point %d band %v ≤ %v ≤ %v broken", i, p.Lower, p.Expected, p.Upper)
		}
		total += p.Observed
	}
	if int(total) != len(evs) {
		t.Errorf("series counts %v events, want %d", total, len(evs))
	}
}

func TestMinRiskAndEventCap(t *testing.T) {
	evs := withAttack(1, 2, end.Add(-2*time.Hour))
	res := analyze(t, evs, Options{MinRisk: 8, MaxEventIDs: 10})
	if len(res.Anomalies) == 0 {
		t.Fatal("no anomaly at risk ≥ 8")
	}
	for _, a := range res.Anomalies {
		if a.Risk < 8 {
			t.Errorf("risk %d below MinRisk", a.Risk)
		}
		if len(a.EventIDs) > 10 {
			t.Errorf("%d event IDs, cap is 10", len(a.EventIDs))
		}
	}
}

func TestJSONContract(t *testing.T) {
	res := analyze(t, withAttack(1, 2, end.Add(-2*time.Hour)), Options{})
	a := res.Anomalies[0]
	okDir := map[string]bool{cloudtrail.Inbound: true, cloudtrail.Internal: true, cloudtrail.Outbound: true}
	okType := map[string]bool{finding.EntityIP: true, finding.EntityPrincipal: true, finding.EntityAPI: true, finding.EntityAccount: true}
	okLabel := map[string]bool{"new": true, "rare": true, "infrequent": true, "frequent": true, "spike": true, "drop": true}
	for _, a := range res.Anomalies {
		if !okDir[a.Direction] || !okType[a.EntityType] || a.Risk < 1 || a.Risk > 10 || a.ID == "" || a.Title == "" {
			t.Errorf("anomaly breaks the contract: %+v", a)
		}
		if !a.WindowEnd.After(a.WindowStart) || a.WindowStart.Location() != time.UTC {
			t.Errorf("window %v–%v", a.WindowStart, a.WindowEnd)
		}
		for _, f := range a.Factors {
			if !okLabel[f.Label] {
				t.Errorf("factor label %q", f.Label)
			}
		}
	}
	if a.WindowEnd.Sub(a.WindowStart) != 5*time.Minute {
		t.Errorf("window %v, want 5 minutes", a.WindowEnd.Sub(a.WindowStart))
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Analyze(ctx, sliceEvents(genNormal(1, 1, end)), Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestEmptyAndLate(t *testing.T) {
	res := analyze(t, nil, Options{})
	if len(res.Anomalies) != 0 || len(res.Series) != 0 || len(res.Notes) == 0 {
		t.Errorf("empty input: %+v", res)
	}
	evs := genNormal(1, 1, end)
	evs[100], evs[len(evs)-100] = evs[len(evs)-100], evs[100]
	res = analyze(t, evs, Options{})
	if !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.Contains(n, "out of time order") }) {
		t.Errorf("notes %q do not report the late event", res.Notes)
	}
	e := NewEngine(Options{})
	e.Finish()
	if err := e.Add(&evs[0]); !errors.Is(err, ErrFinished) {
		t.Errorf("Add after Finish: %v", err)
	}
}

func TestSurprise(t *testing.T) {
	var c counter
	if s := c.surprise(0); s != 0 {
		t.Errorf("empty counter surprise %v, want 0", s)
	}
	c.add("a", 1000)
	c.add("b", 1000)
	steady := c.surprise(0)
	if steady < 9 {
		t.Errorf("new value after 2000 calls of two values: %.1f bits, want ≥ 9", steady)
	}
	if s := c.surprise(1000); s != 0 {
		t.Errorf("frequent value surprise %.1f, want 0", s)
	}
	var churn counter
	for i := 0; i < 500; i++ {
		churn.add(string(rune('a'+i%26))+string(rune('a'+i/26)), 4)
	}
	churn.add("x", 1)
	for i := 0; i < 300; i++ {
		churn.add("single"+string(rune(i)), 1)
	}
	if s := churn.surprise(0); s >= steady/2 {
		t.Errorf("new value for a principal that often uses new values: %.1f bits, want well below %.1f", s, steady)
	}
	// A CI role: every deploy comes from a new runner address, used for three windows. Each
	// address is seen three times, so Good-Turing alone finds no singletons and calls the
	// next new address a surprise; the share of windows that brought one says otherwise.
	var ci counter
	for run := 0; run < 100; run++ {
		for w := 0; w < 3; w++ {
			ci.add(fmt.Sprintf("runner-%d", run), 1)
			ci.window(w == 0)
		}
	}
	if s := ci.surprise(0); s > 2 {
		t.Errorf("new runner address for a role that gets one every third window: %.1f bits, want ≤ 2", s)
	}
	if a, b := c.surprise(0), c.surprise(1); a < b {
		t.Errorf("new (%.1f) less surprising than seen once (%.1f)", a, b)
	}
}

func TestLabel(t *testing.T) {
	for _, tc := range []struct {
		k    uint32
		n    uint64
		want string
	}{{0, 100, "new"}, {1, 5, "rare"}, {5, 1000, "rare"}, {50, 1000, "infrequent"}, {500, 1000, "frequent"}} {
		if got := label(tc.k, tc.n); got != tc.want {
			t.Errorf("label(%d, %d) = %s, want %s", tc.k, tc.n, got, tc.want)
		}
	}
}

func TestAgentFamily(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0", "aws-cli/2.13.0 Python/3.11.6 Linux/6.2.0"},
		{"stratus-red-team_39f95f43-cd2f-4beb-b69e-be60b6fe1f57", "stratus-red-team_6a7ec681-49a5-4403-99a2-d3c1229e8063"},
		{"Boto3/1.26.165 Python/3.10.6 Linux/5.19.0-46-generic Botocore/1.29.165", "Boto3/1.28.1 Python/3.10.6 Linux/5.19.0-50-generic Botocore/1.31.1"},
	} {
		t.Run(tc.a, func(t *testing.T) {
			if fa, fb := agentFamily(tc.a), agentFamily(tc.b); fa != fb {
				t.Errorf("%q → %q but %q → %q", tc.a, fa, tc.b, fb)
			}
		})
	}
	if agentFamily("aws-cli/2.15.30") == agentFamily("python-requests/2.22.0") {
		t.Error("different tools share a family")
	}
}

func TestNetworkAndKeys(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7": "203.0.113.0/24", "2001:db8:1:2::5": "2001:db8:1::/48", "AWS Internal": "AWS Internal",
		"ec2.amazonaws.com": "ec2.amazonaws.com", "08.1.250.216": "08.1.250.216",
		"10.17.51.219": "10.17.0.0/16", "192.168.3.4": "192.168.0.0/16",
	} {
		if got := network(in); got != want {
			t.Errorf("network(%q) = %q, want %q", in, got, want)
		}
	}
	for _, tc := range []struct {
		e        cloudtrail.Event
		key, typ string
	}{
		{cloudtrail.Event{PrincipalType: "AssumedRole", PrincipalARN: "arn:aws:sts::1:assumed-role/web/i-0abc", SessionIssuer: "arn:aws:iam::1:role/web"}, "arn:aws:iam::1:role/web", "principal"},
		{cloudtrail.Event{PrincipalType: "AssumedRole", PrincipalARN: "arn:aws:sts::1:assumed-role/web/i-0abc"}, "arn:aws:sts::1:assumed-role/web", "principal"},
		{cloudtrail.Event{PrincipalType: "IAMUser", PrincipalARN: "arn:aws:iam::1:user/a"}, "arn:aws:iam::1:user/a", "principal"},
		{cloudtrail.Event{SourceIP: "203.0.113.9"}, "203.0.113.9", "ip"},
	} {
		if k, typ := principalKey(&tc.e); k != tc.key || typ != tc.typ {
			t.Errorf("principalKey(%+v) = %s %s, want %s %s", tc.e, k, typ, tc.key, tc.typ)
		}
	}
	for in, want := range map[string]string{"AddPermission20150331v2": "AddPermission", "ListFunctions20150331": "ListFunctions", "GetObject": "GetObject"} {
		if got := baseName(in); got != want {
			t.Errorf("baseName(%q) = %q", in, got)
		}
	}
}

func TestDirectionWeight(t *testing.T) {
	if !(directionWeight(cloudtrail.Outbound) > directionWeight(cloudtrail.Inbound) &&
		directionWeight(cloudtrail.Inbound) > directionWeight(cloudtrail.Internal)) {
		t.Error("outbound must weigh more than inbound, inbound more than internal")
	}
}

func TestRiskOfMonotonic(t *testing.T) {
	prev := 0
	for s := 0.0; s < 60; s += 0.5 {
		r := riskOf(s)
		if r < prev || r < 1 || r > 10 {
			t.Fatalf("riskOf(%v) = %d after %d", s, r, prev)
		}
		prev = r
	}
	if prev != 10 {
		t.Errorf("riskOf never reaches 10")
	}
}

// BenchmarkAnalyze measures the engine on a reproducible week of generated traffic scaled to
// about a million events (b.N analyses of the whole corpus).
func BenchmarkAnalyze(b *testing.B) {
	var evs []cloudtrail.Event
	for seed := uint64(1); len(evs) < 1_000_000; seed++ {
		part := genNormal(seed, 7, end)
		evs = append(evs, part...)
	}
	sortEvents(evs)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Analyze(context.Background(), sliceEvents(evs), Options{})
		if err != nil {
			b.Fatal(err)
		}
		_ = res
	}
	b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// genDeploys is a CI role's deploys from `from` to `to`: one every 90 minutes, three windows
// long, each from a new runner address, calling what a deploy tool calls.
func genDeploys(role string, run0 int, from, to time.Time) []cloudtrail.Event {
	a := actor{
		arn:    fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/gha-run", testAccount, role),
		issuer: fmt.Sprintf("arn:aws:iam::%s:role/%s", testAccount, role),
		ptype:  "AssumedRole", key: "ASIADEPLOY",
	}
	agent := "APN/1.0 HashiCorp/1.0 Terraform/1.8.0 (+https://www.terraform.io) terraform-provider-aws/5.50.0 aws-sdk-go-v2/1.27.0"
	apis := []string{"ec2.amazonaws.com/DescribeVpcs", "ec2.amazonaws.com/DescribeSubnets", "ec2.amazonaws.com/CreateTags",
		"iam.amazonaws.com/GetRole", "iam.amazonaws.com/GetPolicy", "iam.amazonaws.com/PutRolePolicy",
		"lambda.amazonaws.com/UpdateFunctionCode20150331v2", "ecs.amazonaws.com/RegisterTaskDefinition",
		"ecs.amazonaws.com/UpdateService", "s3.amazonaws.com/GetBucketTagging", "sts.amazonaws.com/GetCallerIdentity"}
	var out []cloudtrail.Event
	run := run0
	for t := from; t.Before(to); t = t.Add(90 * time.Minute) {
		run++
		ip := fmt.Sprintf("20.%d.%d.%d", 100+run/200, run%200, 10+run%40)
		for i := 0; i < 36; i++ {
			api := apis[(i*7+run)%len(apis)]
			errc := ""
			if i%17 == 5 {
				errc = "NoSuchTagSet"
			}
			out = append(out, mkEvent(fmt.Sprintf("%s-%d-%d", role, run, i), t.Add(time.Duration(i)*25*time.Second), a, api, ip, agent, errc))
		}
	}
	return out
}

// TestNewDeployRoleLikeItsPeers: a new CI role that deploys as an established one does (same
// tool, same calls, a new runner address every time) is new, but it is no intrusion; an
// instance role's credentials used from outside still rank first.
func TestNewDeployRoleLikeItsPeers(t *testing.T) {
	evs := genNormal(1, 7, end)
	evs = append(evs, genDeploys("deploy-a", 0, end.Add(-7*24*time.Hour), end)...)
	evs = append(evs, genDeploys("deploy-b", 1000, end.Add(-10*time.Hour), end)...)
	evs = append(evs, genExfil(end.Add(-3*time.Hour-27*time.Minute))...)
	sortEvents(evs)
	res := analyze(t, evs, Options{})
	if len(res.Anomalies) == 0 || !strings.Contains(res.Anomalies[0].Entity, "app-a") {
		t.Fatalf("top anomaly is not the exfiltration: %+v", res.Anomalies[:min(1, len(res.Anomalies))])
	}
	for _, a := range res.Anomalies {
		if strings.Contains(a.Entity, "deploy-") && a.Risk > 8 {
			t.Errorf("risk %d for a deploy like its peers' (%s %s)", a.Risk, a.WindowStart.Format(time.RFC3339), a.Title)
		}
	}
}

// TestSpikeNeedsAPast: a job's second window against its first is weak evidence; the same
// jump against fifty windows like the first is strong.
func TestSpikeNeedsAPast(t *testing.T) {
	young, _ := principalSpikeBits(87, pvol{bins: 1, calls: 12, peak: 12})
	old, _ := principalSpikeBits(87, pvol{bins: 50, calls: 600, peak: 12})
	if !(young < old/2) || old < 6 {
		t.Errorf("spike bits after one window %.1f, after fifty %.1f: want the first under half the second, the second ≥ 6", young, old)
	}
}

// TestLateFindingsCountLess: over an episode of eight windows from a new address, a rare error
// code met in the eighth counts three bits less than it would in the first, since eight windows
// give it eight chances to turn up.
func TestLateFindingsCountLess(t *testing.T) {
	e := NewEngine(Options{})
	evs := []rec{{id: "a", pkey: "user/x", etype: finding.EntityPrincipal}}
	evs[0].v[dimNetwork] = "203.0.113.0/24"
	addr := fct{dim: dimNames[dimNetwork], value: "203.0.113.0/24", label: finding.LabelNew, bits: 8,
		match: func(r *rec) bool { return r.v[dimNetwork] == "203.0.113.0/24" }}
	rare := fct{dim: dimNames[dimError], value: "NoSuchEntity", label: finding.LabelRare, bits: 6,
		match: func(r *rec) bool { return false }}
	const gk = "principal|user/x"
	for b := int64(100); b < 108; b++ {
		fs := []fct{addr}
		if b == 107 {
			fs = append(fs, rare)
		}
		e.extend(gk, b, evs, []int{0}, fs)
	}
	ep := e.open[gk]
	if ep == nil || ep.start != 100 || ep.last != 107 {
		t.Fatalf("episode %+v, want one from bin 100 to 107", ep)
	}
	if got := ep.factors[addr.key()].bits; got != 8 {
		t.Errorf("the address found in the first window: %.2f bits, want 8", got)
	}
	if got := ep.factors[rare.key()].bits; math.Abs(got-3) > 1e-9 {
		t.Errorf("the error found in the eighth window: %.2f bits, want 6 - log2(8) = 3", got)
	}
}

// TestServiceSideAndNotFoundErrorsCountLess: a new role's calls failing with a code nobody has
// had weigh more when the service refused them (UnauthorizedOperation) than when it was busy
// (ThrottlingException) or found nothing (NotFound): those tell of load, volume and existence
// checks, not intent.
func TestServiceSideAndNotFoundErrorsCountLess(t *testing.T) {
	score := func(code string) float64 {
		evs := genNormal(1, 7, end)
		a := actor{arn: "arn:aws:sts::" + testAccount + ":assumed-role/tool/run-1", issuer: "arn:aws:iam::" + testAccount + ":role/tool",
			ptype: "AssumedRole", key: "ASIATOOL", agent: "aws-cli/2.15.30"}
		at := end.Add(-5*time.Hour - 2*time.Minute)
		for i := range 6 {
			evs = append(evs, mkEvent(fmt.Sprintf("tool-%d", i), at.Add(time.Duration(i)*time.Second), a,
				"ec2.amazonaws.com/DescribeInstances", "198.51.100.20", a.agent, code))
		}
		sortEvents(evs)
		for _, an := range analyze(t, evs, Options{MinRisk: 1}).Anomalies {
			if strings.Contains(an.Entity, "assumed-role/tool/") {
				return an.Score
			}
		}
		t.Fatalf("no anomaly for the new role failing with %s", code)
		return 0
	}
	denied := score("UnauthorizedOperation")
	for _, code := range []string{"ThrottlingException", "Client.InvalidGroup.NotFound"} {
		if got := score(code); !(got < denied-1) {
			t.Errorf("score with %s %.2f, with UnauthorizedOperation %.2f: want the first at least a bit lower", code, got, denied)
		}
	}
	for code, want := range map[string]bool{"Throttling": true, "ThrottlingException": true, "Client.RequestLimitExceeded": true,
		"SlowDown": true, "TooManyRequestsException": true, "ServiceUnavailable": true, "InternalError": true,
		"AccessDenied": false, "Client.UnauthorizedOperation": false, "NoSuchBucket": false, "ResourceNotFoundException": false} {
		if got := serviceSideError(code); got != want {
			t.Errorf("serviceSideError(%q) = %v, want %v", code, got, want)
		}
	}
	for code, want := range map[string]bool{"NoSuchEntity": true, "NoSuchBucketPolicy": true, "ResourceNotFoundException": true,
		"Client.InvalidGroup.NotFound": true, "DBInstanceNotFound": true, "EntityDoesNotExistException": true,
		"AccessDenied": false, "Client.UnauthorizedOperation": false, "ValidationException": false, "Throttling": false} {
		if got := notFoundError(code); got != want {
			t.Errorf("notFoundError(%q) = %v, want %v", code, got, want)
		}
	}
}

// TestNewDeployRoleEarly: a new CI role joining after two days of an established one's deploys
// (about a hundred windows, too few for the peers to judge everything) is still judged by its
// tool's rate of new runner addresses, not by all roles', most of which never leave their VPC.
func TestNewDeployRoleEarly(t *testing.T) {
	// The established role has deployed for two days (about a hundred windows) when the new
	// one turns up, or for ten hours (about twenty): then the tool's few sessions already show
	// that each brings a fresh address, though the new role is still rarer than its peer.
	for _, since := range []time.Duration{52 * time.Hour, 14 * time.Hour} {
		evs := genNormal(1, 7, end)
		evs = append(evs, genDeploys("deploy-a", 0, end.Add(-since), end)...)
		evs = append(evs, genDeploys("deploy-b", 1000, end.Add(-4*time.Hour), end)...)
		sortEvents(evs)
		found := false
		for _, a := range analyze(t, evs, Options{MinRisk: 1}).Anomalies {
			if !strings.Contains(a.Entity, "deploy-b") {
				continue
			}
			found = true
			if a.Risk > 6 && since > 24*time.Hour || strings.Contains(a.Title, "new external address") {
				t.Errorf("peer deploying for %v: risk %d for a new deploy role like it (%s %s)", since, a.Risk, a.WindowStart.Format(time.RFC3339), a.Title)
			}
		}
		if !found {
			t.Errorf("peer deploying for %v: the new deploy role's first appearance made no anomaly at all", since)
		}
	}
}

// TestFreshBits: the rate of new addresses is read at the low end of what the history allows.
func TestFreshBits(t *testing.T) {
	for _, c := range []struct {
		fresh, w uint64
		lo, hi   float64
	}{
		{82, 130, 0.5, 1.5}, // a CI tool: most windows bring a runner address
		{40, 40, 0, 0.5},
		{2, 40, 5, 8},    // people: a new address now and then
		{0, 40, 9, 20},   // never
		{0, 0, 20, 20},   // nothing known
		{40, 400, 3, 4},  // one in ten, well known: a little over log2(10)
		{4, 40, 3.3, 10}, // one in ten on a short history counts for more
	} {
		got := (&counter{fresh: c.fresh, w: c.w}).freshBits()
		if got < c.lo || got > c.hi {
			t.Errorf("freshBits(%d of %d windows) = %.2f, want %.1f..%.1f", c.fresh, c.w, got, c.lo, c.hi)
		}
	}
}

// TestFamiliarNewPrincipal: a role first seen calling from its peers' network with their tool
// counts as new, but less than the same role first seen from an outside address.
func TestFamiliarNewPrincipal(t *testing.T) {
	score := func(ip, agent string) (principalBits float64) {
		evs := genNormal(1, 3, end)
		a := actor{arn: "arn:aws:sts::" + testAccount + ":assumed-role/report/task-1", issuer: "arn:aws:iam::" + testAccount + ":role/report",
			ptype: "AssumedRole", key: "ASIAREPORT"}
		at := end.Add(-5*time.Hour - 2*time.Minute)
		for i := range 8 {
			evs = append(evs, mkEvent(fmt.Sprintf("report-%d", i), at.Add(time.Duration(i)*time.Second), a,
				"s3.amazonaws.com/GetObject", ip, agent, ""))
		}
		sortEvents(evs)
		for _, an := range analyze(t, evs, Options{MinRisk: 1}).Anomalies {
			if strings.Contains(an.Entity, "assumed-role/report/") {
				for _, f := range an.Factors {
					if f.Name == "principal" {
						return f.Weight * an.Score / directionWeight(an.Direction)
					}
				}
			}
		}
		t.Fatalf("no principal factor for the new role from %s", ip)
		return 0
	}
	inside := score("10.0.1.77", "aws-sdk-go/1.44.12 (go1.20.3; linux; amd64)")
	outside := score("203.0.113.9", "aws-sdk-go/1.44.12 (go1.20.3; linux; amd64)")
	if !(inside+2 < outside) {
		t.Errorf("first appearance: %.1f bits from the peers' network, %.1f from outside; want the first lower by 2 or more",
			inside, outside)
	}
}

// TestNewcomerVolumeCountsHalf: a role that first turns up on the third day and reads many
// objects at once makes the account's count of reads jump; that counts half as much as the
// same jump made by a role known since the first day, since appearing adds volume by itself.
func TestNewcomerVolumeCountsHalf(t *testing.T) {
	spike := func(known bool) float64 {
		evs := genNormal(1, 3, end)
		a := actor{arn: "arn:aws:sts::" + testAccount + ":assumed-role/report/task-1", issuer: "arn:aws:iam::" + testAccount + ":role/report",
			ptype: "AssumedRole", key: "ASIAREPORT"}
		agent := "aws-sdk-go/1.44.12 (go1.20.3; linux; amd64)"
		if known {
			evs = append(evs, mkEvent("report-hello", end.Add(-60*time.Hour), a, "sts.amazonaws.com/GetCallerIdentity", "10.0.1.77", agent, ""))
		}
		at := end.Add(-5*time.Hour - 4*time.Minute)
		for i := range 120 {
			evs = append(evs, mkEvent(fmt.Sprintf("report-%d", i), at.Add(time.Duration(i)*time.Second), a,
				"s3.amazonaws.com/GetObject", "10.0.1.77", agent, ""))
		}
		sortEvents(evs)
		for _, an := range analyze(t, evs, Options{MinRisk: 1}).Anomalies {
			if strings.Contains(an.Entity, "report") && an.WindowStart.Before(at) && !an.WindowEnd.Before(at) {
				for _, f := range an.Factors {
					if f.Name == "GetObject per 5 min" {
						return f.Weight * an.Score / directionWeight(an.Direction)
					}
				}
				t.Fatalf("known=%v: no account-wide GetObject spike in %s (%+v)", known, an.Title, an.Factors)
			}
		}
		t.Fatalf("known=%v: no anomaly for the reads", known)
		return 0
	}
	newcomer, known := spike(false), spike(true)
	if r := newcomer / known; r < 0.4 || r > 0.6 {
		t.Errorf("the reads' spike: %.1f bits by a newcomer, %.1f by a role known since the first day; want half", newcomer, known)
	}
}

// TestRoutineSpike: an account-wide jump in an API made by a principal that has made as many
// calls in a window before is its routine; more than half again its busiest window, an error
// count, or a principal without a past of that API are not.
func TestRoutineSpike(t *testing.T) {
	const api = "iam.amazonaws.com/GetPolicy"
	ps := &pstate{apis: map[string]*pvol{api: {bins: 5, calls: 40, peak: 12}, "iam.amazonaws.com/GetRole": {bins: 2, calls: 24, peak: 12}}}
	evs := func(n int, api string) ([]rec, []int) {
		r := make([]rec, n)
		idx := make([]int, n)
		for i := range r {
			r[i].v[dimAPI] = api
			idx[i] = i
		}
		return r, idx
	}
	for _, c := range []struct {
		n    int
		api  string
		code string
		ps   *pstate
		want bool
	}{
		{18, api, "", ps, true},
		{19, api, "", ps, false},
		{10, api, "AccessDenied", ps, false},
		{10, "iam.amazonaws.com/GetRole", "", ps, false}, // two windows are no past
		{10, "iam.amazonaws.com/ListUsers", "", ps, false},
		{10, api, "", nil, false},
	} {
		f := fct{dim: "volume", api: c.api, code: c.code}
		r, idx := evs(c.n, c.api)
		if got := f.routine(c.ps, r, idx); got != c.want {
			t.Errorf("%d calls of %s (code %q): routine %v, want %v", c.n, c.api, c.code, got, c.want)
		}
	}
}

// TestNewcomer: only principals first seen a day or more into the data, and for an hour.
func TestNewcomer(t *testing.T) {
	e := NewEngine(Options{})
	e.firstBin = 1000
	day := e.binsPerDay
	for _, c := range []struct {
		first, b int64 // first < 0: first seen in b
		want     bool
	}{
		{-1, 1000 + 10, false},
		{-1, 1000 + day, true},
		{1000 + day, 1000 + day + youngBins - 1, true},
		{1000 + day, 1000 + day + youngBins, false},
		{1000 + 5, 1000 + day + 1, false},
	} {
		var ps *pstate
		if c.first >= 0 {
			ps = &pstate{first: c.first}
		}
		if got := e.newcomer(ps, c.b); got != c.want {
			t.Errorf("first %d, bin %d: newcomer %v, want %v", c.first, c.b, got, c.want)
		}
	}
}

// TestNewcomersBringTheirAddresses: once people joining after the first day have each come
// from an address of their own, the next one doing the same is not flagged for it; a role
// turning up from outside, where roles never have, still is.
func TestNewcomersBringTheirAddresses(t *testing.T) {
	evs := genNormal(1, 4, end)
	agent := "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22"
	person := func(name string) actor {
		return actor{arn: "arn:aws:iam::" + testAccount + ":user/" + name, ptype: "IAMUser", key: "AKIA" + strings.ToUpper(name)}
	}
	for i := range 6 {
		a := person(fmt.Sprintf("joiner%d", i))
		at := end.Add(-60*time.Hour + time.Duration(i)*5*time.Hour)
		for j := range 5 {
			evs = append(evs, mkEvent(fmt.Sprintf("joiner%d-%d", i, j), at.Add(time.Duration(j)*time.Second), a,
				"ec2.amazonaws.com/DescribeInstances", fmt.Sprintf("203.0.%d.10", 10+i), agent, ""))
		}
	}
	at := end.Add(-5*time.Hour - 2*time.Minute)
	newest := person("joiner9")
	role := actor{arn: "arn:aws:sts::" + testAccount + ":assumed-role/app-z/i-0999", issuer: "arn:aws:iam::" + testAccount + ":role/app-z",
		ptype: "AssumedRole", key: "ASIAAPPZ"}
	for j := range 5 {
		evs = append(evs, mkEvent(fmt.Sprintf("joiner9-%d", j), at.Add(time.Duration(j)*time.Second), newest,
			"ec2.amazonaws.com/DescribeInstances", "203.0.99.10", agent, ""))
		evs = append(evs, mkEvent(fmt.Sprintf("app-z-%d", j), at.Add(time.Hour+time.Duration(j)*time.Second), role,
			"s3.amazonaws.com/GetObject", "198.51.100.99", "aws-sdk-go/1.44.12 (go1.20.3; linux; amd64)", ""))
	}
	sortEvents(evs)
	flagged := map[string]bool{}
	for _, an := range analyze(t, evs, Options{MinRisk: 1}).Anomalies {
		for _, f := range an.Factors {
			if f.Name == "source network" {
				flagged[an.Entity] = true
			}
		}
	}
	if flagged[newest.arn] {
		t.Errorf("the seventh person to join flagged for coming from an address of their own")
	}
	if !flagged[role.arn] {
		t.Errorf("a new role calling from outside not flagged for its address: %v", flagged)
	}
}

// TestFirstSeenNeedsADay: a person first seen twelve hours into the data is not flagged as first
// seen (everyone is, that day); the same person first seen on the third day is.
func TestFirstSeenNeedsADay(t *testing.T) {
	firstSeen := func(after time.Duration) bool {
		start := end.Add(-3 * 24 * time.Hour)
		evs := genNormal(1, 3, end)
		a := actor{arn: "arn:aws:iam::" + testAccount + ":user/frank", ptype: "IAMUser", key: "AKIAFRANK"}
		for i := range 6 {
			evs = append(evs, mkEvent(fmt.Sprintf("frank-%d", i), start.Add(after+time.Duration(i)*time.Second), a,
				"ec2.amazonaws.com/DescribeInstances", "198.51.100.44", "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0", ""))
		}
		sortEvents(evs)
		for _, an := range analyze(t, evs, Options{MinRisk: 1}).Anomalies {
			if strings.Contains(an.Entity, "user/frank") && strings.Contains(an.Title, "(first seen)") {
				return true
			}
		}
		return false
	}
	if firstSeen(12 * time.Hour) {
		t.Error("a principal first seen on the data's first day is called first seen")
	}
	if !firstSeen(50 * time.Hour) {
		t.Error("a principal first seen on the third day is not called first seen")
	}
}

// TestOneRefusalIsASlip: a person refused once, for the first time, counts half as much as one
// refused three times in the window.
func TestOneRefusalIsASlip(t *testing.T) {
	bits := func(refused int) float64 {
		evs := genNormal(1, 3, end)
		a := testActors()[3] // alice, an IAM user with a history
		at := end.Add(-5*time.Hour - 2*time.Minute)
		for i := range 3 {
			code := ""
			if i < refused {
				code = "Client.UnauthorizedOperation"
			}
			evs = append(evs, mkEvent(fmt.Sprintf("refused-%d", i), at.Add(time.Duration(i)*time.Second), a,
				"ec2.amazonaws.com/DescribeInstances", a.ips[0], a.agent, code))
		}
		sortEvents(evs)
		for _, an := range analyze(t, evs, Options{MinRisk: 1}).Anomalies {
			if !strings.Contains(an.Entity, "user/alice") {
				continue
			}
			for _, f := range an.Factors {
				if f.Name == "error code" && f.Observed == "Client.UnauthorizedOperation" {
					return f.Weight * an.Score / directionWeight(an.Direction)
				}
			}
		}
		t.Fatalf("no error-code factor for %d refusals", refused)
		return 0
	}
	once, thrice := bits(1), bits(3)
	if r := once / thrice; r < 0.4 || r > 0.6 {
		t.Errorf("a first refusal: %.1f bits once, %.1f three times; want half", once, thrice)
	}
}

// TestBusyIsNotCritical: a known user calling their usual APIs from their usual address with
// their usual tool, ten times as often as ever, is high at most; the same burst from an address
// nobody has used is critical.
func TestBusyIsNotCritical(t *testing.T) {
	alice := testActors()[3]
	at := end.Add(-10 * time.Hour) // office hours on the last day
	burst := func(ip string) []cloudtrail.Event {
		evs := genNormal(5, 8, end)
		for i := range 240 {
			api := alice.apis[i%6]
			evs = append(evs, mkEvent(fmt.Sprintf("busy-%d", i), at.Add(time.Duration(i)*time.Second), alice, api, ip, alice.agent, ""))
		}
		sortEvents(evs)
		return evs
	}
	risk := func(evs []cloudtrail.Event) (finding.Anomaly, bool) {
		for _, a := range analyze(t, evs, Options{MinRisk: 1}).Anomalies {
			if strings.HasSuffix(a.Entity, "user/alice") && slices.Contains(a.EventIDs, "busy-0") {
				return a, true
			}
		}
		return finding.Anomaly{}, false
	}
	busy, ok := risk(burst(alice.ips[0]))
	if !ok {
		t.Fatal("the burst makes no anomaly")
	}
	if busy.Risk > maxBusyRisk || busy.Risk < 6 {
		t.Errorf("a known user's burst of usual work: risk %d, want 6–%d (%s, score %.1f)", busy.Risk, maxBusyRisk, busy.Title, busy.Score)
	}
	if !strings.Contains(busy.Confidence, "nothing new or rare") {
		t.Errorf("the confidence does not say why the risk is held: %q", busy.Confidence)
	}
	if busy.Score < riskFloor[9] {
		t.Errorf("score %.1f: the burst should carry critical volume evidence for the cap to matter", busy.Score)
	}
	if away, ok := risk(burst("203.0.113.99")); !ok || away.Risk < 9 {
		t.Errorf("the burst from a new address: risk %d, want ≥ 9 (%s)", away.Risk, away.Title)
	}
}

// TestSecondDayLowered: on the data's second day an anomaly's risk is one below what its score
// makes it, and its confidence says why; from the third day it is not.
func TestSecondDayLowered(t *testing.T) {
	for _, c := range []struct {
		days    int
		lowered bool
	}{{2, true}, {3, false}} {
		res := analyze(t, withAttack(1, c.days, end.Add(-10*time.Hour)), Options{})
		i := slices.IndexFunc(res.Anomalies, func(a finding.Anomaly) bool { return slices.Contains(a.EventIDs, "attack-0") })
		if i < 0 {
			t.Fatalf("%d days: the attack makes no anomaly", c.days)
		}
		a := res.Anomalies[i]
		want := riskOf(a.Score)
		if c.lowered {
			want--
		}
		says := strings.Contains(a.Confidence, "second day")
		if a.Risk != want || says != c.lowered {
			t.Errorf("%d days of data: risk %d (score %.1f), want %d; confidence %q", c.days, a.Risk, a.Score, want, a.Confidence)
		}
	}
}

// TestFirstDayKnownValues: on the data's first day, a principal turning up with what the account
// already knows (its calls, address and tool) is judged on hours of the account's history, which
// count half; one value the account has never seen keeps its full weight.
func TestFirstDayKnownValues(t *testing.T) {
	frank := testActors()[3]
	frank.arn = "arn:aws:iam::" + testAccount + ":user/frank"
	frank.key = "AKIAUSERFRANK0000000"
	at := end.Add(-8 * time.Hour) // the afternoon of the only day
	// Calls the account has met once each, in the morning, from bob.
	rare := []string{"iam.amazonaws.com/ListPolicies", "ec2.amazonaws.com/DescribeImages", "ecs.amazonaws.com/ListClusters",
		"route53.amazonaws.com/ListHostedZones", "sns.amazonaws.com/ListTopics", "sqs.amazonaws.com/ListQueues"}
	score := func(ip string, days int) float64 {
		evs := genNormal(9, days, end)
		bob := testActors()[4]
		for i, api := range rare {
			evs = append(evs, mkEvent(fmt.Sprintf("bob-%d", i), end.Add(-14*time.Hour+time.Duration(i)*time.Minute), bob, api, bob.ips[0], bob.agent, ""))
		}
		for i := range 36 {
			evs = append(evs, mkEvent(fmt.Sprintf("frank-%d", i), at.Add(time.Duration(i)*5*time.Second), frank, rare[i%6], ip, frank.agent, ""))
		}
		sortEvents(evs)
		for _, a := range analyze(t, evs, Options{MinRisk: 1}).Anomalies {
			if strings.HasSuffix(a.Entity, "user/frank") && slices.Contains(a.EventIDs, "frank-0") {
				return a.Score
			}
		}
		return 0
	}
	known, away := score(frank.ips[1], 1), score("203.0.113.50", 1)
	t.Logf("first day: frank with known values %.1f, from a new address %.1f", known, away)
	if known >= riskFloor[7] {
		t.Errorf("first day, everything known to the account: score %.1f, want below risk 7's %.0f", known, riskFloor[7])
	}
	if away < known+riskFloor[7]/2 {
		t.Errorf("first day, from an address nobody used: score %.1f, want well above %.1f", away, known)
	}
}

// scoreOf analyses evs and returns the score of the anomaly holding the event id, 0 if none does.
func scoreOf(t *testing.T, evs []cloudtrail.Event, id string) float64 {
	t.Helper()
	sortEvents(evs)
	for _, a := range analyze(t, evs, Options{MinRisk: 1}).Anomalies {
		if slices.Contains(a.EventIDs, id) {
			return a.Score
		}
	}
	return 0
}

// TestSensitiveNewToAccount: in a day where people keep calling APIs nobody called before, one
// more such call is routine, but a sensitive one (the trail stopped) is not: it is judged by how
// often sensitive calls new to the account turn up.
func TestSensitiveNewToAccount(t *testing.T) {
	alice := testActors()[3]
	at := end.Add(-8 * time.Hour)
	score := func(api string) float64 {
		evs := genNormal(4, 1, end)
		r := rand.New(rand.NewPCG(4, 9))
		// Every half hour of the working day someone calls an API new to the account.
		n := 0
		for ts := end.Add(-16 * time.Hour); ts.Before(end.Add(-6 * time.Hour)); ts = ts.Add(30 * time.Minute) {
			h := testActors()[3+r.IntN(5)]
			evs = append(evs, mkEvent(fmt.Sprintf("churn-%d", n), ts, h, fmt.Sprintf("svc%d.amazonaws.com/Describe%d", n, n), h.ips[0], h.agent, ""))
			n++
		}
		evs = append(evs, mkEvent("odd-0", at.Add(7*time.Minute), alice, api, alice.ips[0], alice.agent, ""))
		return scoreOf(t, evs, "odd-0")
	}
	plain, stop := score("cloudtrail.amazonaws.com/DescribeQueries"), score("cloudtrail.amazonaws.com/StopLogging")
	t.Logf("a call new to the account: %.1f; StopLogging new to the account: %.1f", plain, stop)
	if stop < plain+minFactorBits {
		t.Errorf("StopLogging scores %.1f, a plain new call %.1f: want the sensitive one at least %d bits above", stop, plain, minFactorBits)
	}
}

// TestSensitiveKinds: where pipelines make and change identities all day, a first identity call
// more is routine, but a first tampering with the trail is not: each kind of sensitive API is
// judged by how often news of its own kind turns up.
func TestSensitiveKinds(t *testing.T) {
	alice := testActors()[3]
	at := end.Add(-8 * time.Hour)
	churn := []string{"CreateRole", "PutRolePolicy", "AttachRolePolicy", "CreateUser", "CreateAccessKey",
		"PutUserPolicy", "AttachUserPolicy", "CreateLoginProfile", "UpdateLoginProfile", "CreateTrustAnchor"}
	score := func(api string) float64 {
		// Three hours of a log, as an export of an incident's afternoon gives, and every quarter
		// of an hour in it someone calls an identity API nobody called before.
		evs := slices.DeleteFunc(genNormal(4, 1, end), func(e cloudtrail.Event) bool {
			return e.Time.Before(at.Add(-3*time.Hour)) || e.Time.After(at.Add(time.Hour))
		})
		for i, name := range churn {
			h := testActors()[3+i%5]
			evs = append(evs, mkEvent(fmt.Sprintf("churn-%d", i), at.Add(-3*time.Hour+time.Duration(i)*15*time.Minute), h, "iam.amazonaws.com/"+name, h.ips[0], h.agent, ""))
		}
		evs = append(evs, mkEvent("odd-0", at.Add(7*time.Minute), alice, api, alice.ips[0], alice.agent, ""))
		return scoreOf(t, evs, "odd-0")
	}
	identity, stop := score("iam.amazonaws.com/UpdateAssumeRolePolicy"), score("cloudtrail.amazonaws.com/StopLogging")
	t.Logf("after %d first identity calls: one more %.1f; StopLogging %.1f", len(churn), identity, stop)
	// Both kinds are judged by the same windows; one kind has had ten news in them, the
	// other none, which is worth at least two bits whatever the cap on a share's say.
	if stop < identity+2 {
		t.Errorf("StopLogging scores %.1f, a first identity call %.1f: want the trail's at least 2 bits above", stop, identity)
	}
}

// TestFirstDayArrival: on the data's first day, what a principal brings in its first hour (an
// address, a tool, calls) describes one arrival and counts as one kind of evidence: the score
// is its factors with halving weights, strongest first, as repeats of one kind count.
func TestFirstDayArrival(t *testing.T) {
	frank := testActors()[3]
	frank.arn = "arn:aws:iam::" + testAccount + ":user/frank"
	at := end.Add(-9 * time.Hour)
	evs := genNormal(6, 1, end)
	apis := []string{"ecs.amazonaws.com/ListClusters", "route53.amazonaws.com/ListHostedZones", "sns.amazonaws.com/ListTopics", "sqs.amazonaws.com/ListQueues"}
	// Its first window, then a second tool and a second address twenty minutes on.
	for i := range 12 {
		evs = append(evs, mkEvent(fmt.Sprintf("frank-%d", i), at.Add(time.Duration(i)*10*time.Second), frank, apis[i%4], "203.0.113.77", "Boto3/1.34.1 Python/3.12.1 Windows/11", ""))
		evs = append(evs, mkEvent(fmt.Sprintf("frank-late-%d", i), at.Add(20*time.Minute+time.Duration(i)*10*time.Second), frank, apis[i%4], "198.51.100.77", "aws-cli/2.15.30 Python/3.11.8 Windows/11 exe/AMD64", ""))
	}
	sortEvents(evs)
	seen := 0
	for _, a := range analyze(t, evs, Options{MinRisk: 1}).Anomalies {
		if !slices.Contains(a.EventIDs, "frank-0") && !slices.Contains(a.EventIDs, "frank-late-0") {
			continue
		}
		seen++
		// Each factor's weight is its share of the score: one kind makes them sum to 1 with
		// halving weights; several kinds add more, and sum to less.
		sum, w := 0.0, 1.0
		for _, f := range a.Factors {
			sum += w * f.Weight
			w /= 2
		}
		if len(a.Factors) < 2 || math.Abs(sum-1) > 0.05 {
			t.Errorf("frank's arrival at %s: %d factors, halving sum of their weights %.2f, want 1 (%s)",
				a.WindowStart.Format("15:04"), len(a.Factors), sum, a.Title)
		}
	}
	if seen != 2 {
		t.Fatalf("frank's first hour makes %d anomalies, want one for each visit", seen)
	}
}

// TestOneBurstIsNotBursty: within the first day's trailing baseline, one earlier spike leaves
// the spread as it was; a key that has burst twice is bursty and gets a wider one.
func TestOneBurstIsNotBursty(t *testing.T) {
	scale := func(spikes ...int64) float64 {
		e := NewEngine(Options{})
		e.firstBin = 1000
		h := e.historyFor("test")
		for b := int64(1000); b < 1100; b++ {
			c := 5 + int(b%3)
			if slices.Contains(spikes, b) {
				c = 300
			}
			h.set(b, c)
		}
		return e.baselineFor(h, 1100).scale
	}
	calm, once, twice := scale(), scale(1040), scale(1040, 1070)
	if once > 2*calm {
		t.Errorf("spread %.1f after one spike, %.1f with none: want about the same", once, calm)
	}
	if twice < 20*calm {
		t.Errorf("spread %.1f after two spikes, %.1f with none: want a bursty key's wide one", twice, calm)
	}
}

// TestFirstSignInWithoutMFA: a principal's first console sign-in without MFA is judged by how
// often one turns up among the sign-ins of principals that always used MFA: loud where
// everyone signs in with it, quiet where signing in without it is common.
func TestFirstSignInWithoutMFA(t *testing.T) {
	alice := testActors()[3]
	at := end.Add(-8 * time.Hour)
	score := func(laxOthers bool) (float64, bool) {
		evs := genNormal(4, 1, end)
		// The people sign in every hour of the working day, with MFA (or, in a lax account,
		// three of them without).
		n := 0
		for ts := end.Add(-17 * time.Hour); ts.Before(end.Add(-7 * time.Hour)); ts = ts.Add(time.Hour) {
			for i, h := range testActors()[3:8] {
				e := mkEvent(fmt.Sprintf("signin-%d", n), ts.Add(time.Duration(i)*time.Minute), h, "signin.amazonaws.com/ConsoleLogin", h.ips[0], h.agent, "")
				e.MFA = !laxOthers || i < 2
				evs = append(evs, e)
				n++
			}
		}
		odd := mkEvent("odd-0", at.Add(37*time.Minute), alice, "signin.amazonaws.com/ConsoleLogin", alice.ips[0], alice.agent, "")
		evs = append(evs, odd) // MFA false
		sortEvents(evs)
		for _, a := range analyze(t, evs, Options{MinRisk: 1}).Anomalies {
			if slices.Contains(a.EventIDs, "odd-0") {
				named := false
				for _, f := range a.Factors {
					named = named || f.Name == dimNames[dimMFA] && f.Observed == mfaWithout
				}
				return a.Score, named
			}
		}
		return 0, false
	}
	strict, named := score(false)
	lax, _ := score(true)
	t.Logf("first sign-in without MFA: %.1f where everyone uses MFA, %.1f where three of five never do", strict, lax)
	if !named {
		t.Error("the sign-in without MFA is not among the anomaly's factors")
	}
	// Nobody in the strict account ever signed in without MFA: as rare as a first appearance
	// can make anything (maxPrincipalBits).
	if strict < maxPrincipalBits {
		t.Errorf("scores %.1f where everyone uses MFA: want at least %d bits", strict, maxPrincipalBits)
	}
	if strict < lax+minFactorBits {
		t.Errorf("scores %.1f (strict) and %.1f (lax): want the strict account's at least %d bits above", strict, lax, minFactorBits)
	}
}

// TestRootUse: the root user acting, in an account where it never does, stands out even when
// it works from an address and with a tool the account knows, doing what its people do; an
// AWS service acting for the root user does not.
func TestRootUse(t *testing.T) {
	alice := testActors()[3]
	root := actor{arn: "arn:aws:iam::" + testAccount + ":root", ptype: "Root", key: "AKIAROOTEXAMPLE"}
	at := end.Add(-8 * time.Hour).Add(12 * time.Minute)
	score := func(invokedBy string, day int) (float64, bool) {
		evs := genNormal(5, day, end)
		for i := range 3 {
			e := mkEvent(fmt.Sprintf("odd-%d", i), at.Add(time.Duration(i)*time.Minute), root, "s3.amazonaws.com/ListObjects", alice.ips[0], alice.agent, "")
			e.InvokedBy = invokedBy
			evs = append(evs, e)
		}
		sortEvents(evs)
		for _, a := range analyze(t, evs, Options{MinRisk: 1}).Anomalies {
			if slices.Contains(a.EventIDs, "odd-0") {
				named := slices.ContainsFunc(a.Factors, func(f finding.Factor) bool { return f.Name == "root user" })
				return a.Score, named
			}
		}
		return 0, false
	}
	// With history, root is a principal new to the account as well; in a log of one day, where
	// everyone is new, root acting is its one piece of evidence, as loud as one can be.
	for _, c := range []struct{ days, risk int }{{3, 7}, {1, riskOf(maxPrincipalBits)}} {
		own, named := score("", c.days)
		service, serviceNamed := score("support.amazonaws.com", c.days)
		t.Logf("%d days: root acting %.1f, a service for root %.1f", c.days, own, service)
		if !named || serviceNamed {
			t.Errorf("%d days: root user factor named for root %v, for a service %v; want true, false", c.days, named, serviceNamed)
		}
		if own < service+minFactorBits || riskOf(own) < c.risk {
			t.Errorf("%d days: root acting scores %.1f (risk %d), a service for it %.1f: want risk %d and %d bits above",
				c.days, own, riskOf(own), service, c.risk, minFactorBits)
		}
	}
}

func TestSensitiveKind(t *testing.T) {
	for api, want := range map[string]sensKind{
		"cloudtrail.amazonaws.com/StopLogging":                  sensLogging,
		"lambda.amazonaws.com/UpdateFunctionCode20150331v2":     sensIdentity,
		"lambda.amazonaws.com/AddPermission20150331v2":          sensSharing,
		"lambda.amazonaws.com/ListFunctions20150331":            sensNone,
		"s3.amazonaws.com/ListBuckets":                          sensDiscovery,
		"iam.amazonaws.com/GetAccountAuthorizationDetails":      sensDiscovery,
		"ec2.amazonaws.com/DescribeInstances":                   sensNone,
		"GetSecretValue":                                        sensSecrets,
		"ssm.amazonaws.com/GetParameter":                        sensNone, // workloads read their settings all day
		"iam.amazonaws.com/CreatePolicyVersion":                 sensIdentity,
		"guardduty.amazonaws.com/DisassociateFromMasterAccount": sensLogging,
	} {
		if got := sensitiveKind(api); got != want {
			t.Errorf("sensitiveKind(%q) = %d, want %d", api, got, want)
		}
	}
}

// TestFreshPrincipalAddress: a role that has come from a fresh outside address in run after run
// (a hosted CI runner's) stops standing out for it after a few runs, even on the data's first
// day and with a tool that people use from steady addresses; the same role with one steady
// address still stands out when a new one comes.
func TestFreshPrincipalAddress(t *testing.T) {
	ci := actor{arn: "arn:aws:sts::" + testAccount + ":assumed-role/deploy/run", issuer: "arn:aws:iam::" + testAccount + ":role/deploy",
		ptype: "AssumedRole", key: "ASIADEPLOYRUN0000000", agent: testActors()[3].agent}
	at := end.Add(-6 * time.Hour)
	run := func(fresh bool) []finding.Anomaly {
		evs := genNormal(5, 1, end)
		for r := range 8 { // hourly, from 10:00
			ip := "198.51.100.10"
			if fresh {
				ip = fmt.Sprintf("203.0.%d.%d", 100+r, 10+r)
			}
			t0 := at.Add(-time.Duration(8-r) * time.Hour)
			for i := range 5 {
				evs = append(evs, mkEvent(fmt.Sprintf("run%d-%d", r, i), t0.Add(time.Duration(i)*10*time.Second), ci, "ecr.amazonaws.com/PutImage", ip, ci.agent, ""))
			}
		}
		for i := range 5 {
			evs = append(evs, mkEvent(fmt.Sprintf("odd-%d", i), at.Add(time.Duration(i)*10*time.Second), ci, "ecr.amazonaws.com/PutImage", "192.0.2.99", ci.agent, ""))
		}
		sortEvents(evs)
		var out []finding.Anomaly
		for _, a := range analyze(t, evs, Options{MinRisk: 1}).Anomalies {
			if a.Entity == ci.arn {
				out = append(out, a)
			}
		}
		return out
	}
	for _, a := range run(true) {
		if !a.WindowStart.Before(at.Add(-5 * time.Hour)) {
			t.Errorf("after three runs from fresh addresses, run at %s stands out: risk %d %q", a.WindowStart.Format("15:04"), a.Risk, a.Title)
		}
	}
	odd := slices.IndexFunc(run(false), func(a finding.Anomaly) bool { return slices.Contains(a.EventIDs, "odd-0") })
	if odd < 0 {
		t.Error("the steady role's new address does not stand out")
	}
}
