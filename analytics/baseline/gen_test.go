package baseline

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/trailscope/trailscope/data/cloudtrail"
)

// A small deterministic organisation for the engine's own tests: instance roles doing steady
// work from private addresses, people working office hours from a couple of public addresses,
// and AWS services. It is not data/synth; it exists so these tests run without it.

type actor struct {
	arn, issuer, ptype, key string
	ips                     []string
	agent                   string
	apis                    []string // "source/name"
	perBin                  float64  // mean calls per 5-minute bin at the daily peak
	office                  bool     // works office hours only
	errRate                 float64
}

var testAccount = "111122223333"

func testActors() []actor {
	var as []actor
	for i, name := range []string{"app-a", "app-b", "batch"} {
		as = append(as, actor{
			arn:    fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/i-0%07d", testAccount, name, i+1),
			issuer: fmt.Sprintf("arn:aws:iam::%s:role/%s", testAccount, name),
			ptype:  "AssumedRole", key: "ASIAEXAMPLE",
			ips:    []string{fmt.Sprintf("10.0.%d.12", i), fmt.Sprintf("10.0.%d.13", i)},
			agent:  "aws-sdk-go/1.44.12 (go1.20.3; linux; amd64)",
			apis:   []string{"s3.amazonaws.com/GetObject", "s3.amazonaws.com/PutObject", "sqs.amazonaws.com/ReceiveMessage", "kms.amazonaws.com/Decrypt"},
			perBin: 6, errRate: 0.002,
		})
	}
	humanAPIs := []string{"ec2.amazonaws.com/DescribeInstances", "ec2.amazonaws.com/DescribeVpcs", "s3.amazonaws.com/ListObjects",
		"iam.amazonaws.com/ListRoles", "iam.amazonaws.com/GetRole", "cloudwatch.amazonaws.com/GetMetricData",
		"logs.amazonaws.com/FilterLogEvents", "lambda.amazonaws.com/ListFunctions20150331", "sts.amazonaws.com/GetCallerIdentity",
		"ec2.amazonaws.com/DescribeSecurityGroups", "rds.amazonaws.com/DescribeDBInstances", "s3.amazonaws.com/GetBucketPolicy"}
	for i, name := range []string{"alice", "bob", "carol", "dave", "erin"} {
		as = append(as, actor{
			arn:   fmt.Sprintf("arn:aws:iam::%s:user/%s", testAccount, name),
			ptype: "IAMUser", key: fmt.Sprintf("AKIAUSER%012d", i),
			ips:   []string{fmt.Sprintf("198.18.%d.10", i), "192.0.2.44"},
			agent: "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22",
			apis:  humanAPIs[i%3 : i%3+8], perBin: 1.5, office: true, errRate: 0.03,
		})
	}
	as = append(as, actor{
		arn: "cloudtrail.amazonaws.com", ptype: "AWSService", ips: []string{"cloudtrail.amazonaws.com"},
		agent: "cloudtrail.amazonaws.com", apis: []string{"s3.amazonaws.com/GetBucketAcl", "kms.amazonaws.com/GenerateDataKey"}, perBin: 2,
	})
	return as
}

// genNormal returns days of ordinary traffic ending at end, in time order.
func genNormal(seed uint64, days int, end time.Time) []cloudtrail.Event {
	r := rand.New(rand.NewPCG(seed, 7))
	start := end.Add(-time.Duration(days) * 24 * time.Hour)
	var out []cloudtrail.Event
	n := 0
	for t := start; t.Before(end); t = t.Add(5 * time.Minute) {
		h := float64(t.Hour()) + float64(t.Minute())/60
		weekend := t.Weekday() == time.Saturday || t.Weekday() == time.Sunday
		for _, a := range testActors() {
			rate := a.perBin * (0.6 + 0.4*math.Sin((h-6)/24*2*math.Pi))
			if a.office && (h < 8 || h > 18 || weekend) {
				rate = 0.02
			}
			for k := poisson(r, rate); k > 0; k-- {
				n++
				at := t.Add(time.Duration(r.IntN(300)) * time.Second)
				out = append(out, mkEvent(fmt.Sprintf("ev-%d-%d", seed, n), at, a, a.apis[r.IntN(len(a.apis))], a.ips[r.IntN(len(a.ips))], a.agent, errFor(r, a.errRate)))
			}
		}
	}
	sortEvents(out)
	return out
}

func errFor(r *rand.Rand, p float64) string {
	if r.Float64() < p {
		return "AccessDenied"
	}
	return ""
}

func poisson(r *rand.Rand, l float64) int {
	if l <= 0 {
		return 0
	}
	k, p, L := 0, 1.0, math.Exp(-l)
	for {
		p *= r.Float64()
		if p <= L {
			return k
		}
		k++
	}
}

func mkEvent(id string, at time.Time, a actor, api, ip, agent, errc string) cloudtrail.Event {
	src, name := api, api
	for i := len(api) - 1; i >= 0; i-- {
		if api[i] == '/' {
			src, name = api[:i], api[i+1:]
			break
		}
	}
	e := cloudtrail.Event{
		EventID: id, Time: at, EventSource: src, EventName: name, Region: "us-east-1",
		SourceIP: ip, UserAgent: agent, ErrorCode: errc, PrincipalType: a.ptype, PrincipalARN: a.arn,
		PrincipalAccount: testAccount, AccessKey: a.key, SessionIssuer: a.issuer, RecipientAccount: testAccount,
		Direction: cloudtrail.Inbound,
	}
	if a.ptype == "AWSService" {
		e.InvokedBy, e.PrincipalARN = a.arn, ""
	}
	if len(ip) > 3 && ip[:3] == "10." || a.ptype == "AWSService" {
		e.Direction = cloudtrail.Internal
	}
	if (name == "GetObject" || name == "GetSecretValue") && e.Direction == cloudtrail.Inbound {
		e.Direction = cloudtrail.Outbound
	}
	return e
}

// genExfil is the 2019 pattern: an instance role's credentials used from an outside address to
// list buckets and read many objects.
func genExfil(at time.Time) []cloudtrail.Event { return genExfilEvery(at, time.Second) }

// genExfilEvery spaces the object reads by step, so the attack can span several windows.
func genExfilEvery(at time.Time, step time.Duration) []cloudtrail.Event {
	a := testActors()[0]
	var out []cloudtrail.Event
	out = append(out, mkEvent("attack-0", at, a, "s3.amazonaws.com/ListBuckets", "203.0.113.7", "python-requests/2.22.0", ""))
	for i := 1; i <= 150; i++ {
		out = append(out, mkEvent(fmt.Sprintf("attack-%d", i), at.Add(time.Duration(i)*step), a, "s3.amazonaws.com/GetObject", "203.0.113.7", "python-requests/2.22.0", ""))
	}
	return out
}

func sortEvents(evs []cloudtrail.Event) {
	slices.SortStableFunc(evs, func(a, b cloudtrail.Event) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.EventID, b.EventID))
	})
}
