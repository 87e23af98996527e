package synth

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// scenario is an attack the generator can inject.
type scenario struct {
	name string
	// dur bounds how long after its start the scenario's last event can come.
	dur  time.Duration
	run  func(s *scen)
	desc string
}

var scenarios = []scenario{
	{"capital-one-2019", 45 * time.Minute, capitalOne, "an EC2 instance role's credentials used from outside: GetCallerIdentity, ListBuckets, then a burst of GetObject"},
	{"cloudtrail-tampering", 20 * time.Minute, cloudtrailTampering, "a stolen access key turns off logging: PutEventSelectors, UpdateTrail, StopLogging, DeleteTrail"},
	{"iam-backdoor", 30 * time.Minute, iamBackdoor, "a stolen access key creates a user with an access key and AdministratorAccess, which is then used"},
	{"console-no-mfa", 90 * time.Minute, consoleNoMFA, "a console sign-in without MFA from a new address, then browsing and secret reads"},
	{"snapshot-ami-sharing", 60 * time.Minute, snapshotSharing, "EBS snapshots and an AMI shared with an outside account"},
	{"secrets-bulk-read", 15 * time.Minute, secretsBulkRead, "ListSecrets then GetSecretValue on every secret within minutes"},
	{"unused-region-instances", 30 * time.Minute, unusedRegions, "large instances launched in regions the organisation never uses"},
	{"accessdenied-enumeration", 10 * time.Minute, enumeration, "a burst of AccessDenied across many services: permission enumeration"},
	{"defence-evasion", 20 * time.Minute, defenceEvasion, "GuardDuty disabled, VPC flow logs deleted, AWS Config stopped"},
	{"root-use", 60 * time.Minute, rootUse, "the root user signs in to the console and makes calls"},
}

// ScenarioNames lists the attack scenarios Generate can inject, in a fixed order.
func ScenarioNames() []string {
	out := make([]string, len(scenarios))
	for i, s := range scenarios {
		out[i] = s.name
	}
	return out
}

// ScenarioInfo is an attack scenario's name and what it does, in a sentence.
type ScenarioInfo struct{ Name, Description string }

// Scenarios describes the attack scenarios the generator can inject, in ScenarioNames' order.
func Scenarios() []ScenarioInfo {
	out := make([]ScenarioInfo, len(scenarios))
	for i, s := range scenarios {
		out[i] = ScenarioInfo{s.name, s.desc}
	}
	return out
}

func findScenario(name string) (*scenario, bool) {
	for i := range scenarios {
		if scenarios[i].name == name {
			return &scenarios[i], true
		}
	}
	return nil, false
}

// scen is one scenario being injected.
type scen struct {
	g     *gen
	r     *rand.Rand
	t     int64
	ip    string
	ua    string
	label *Label
}

// inject renders the i-th requested scenario's events into the future bins.
func (g *gen) inject(i int) error {
	spec := g.cfg.Scenarios[i]
	sc, ok := findScenario(spec.Name)
	if !ok {
		return fmt.Errorf("synth: unknown scenario %q (known: %s)", spec.Name, strings.Join(ScenarioNames(), ", "))
	}
	r := newRand(g.cfg.Seed, "scenario", sc.name, itoa(i))
	dur := int64(sc.dur / time.Second)
	var t0 int64
	if spec.At.IsZero() {
		lo := max(g.end-86400, g.start) + 900
		span := g.end - dur - 900 - lo
		if span <= 0 {
			return fmt.Errorf("synth: scenario %s needs %s inside the window", sc.name, sc.dur)
		}
		t0 = lo + r.Int64N(span)
	} else {
		t0 = spec.At.Unix()
		if t0 < g.start || t0+dur > g.end {
			return fmt.Errorf("synth: scenario %s at %s: must start within [%s, %s] so its %s fit in the window", sc.name,
				spec.At.UTC().Format(time.RFC3339), time.Unix(g.start, 0).UTC().Format(time.RFC3339),
				time.Unix(g.end-dur, 0).UTC().Format(time.RFC3339), sc.dur)
		}
	}
	s := &scen{g: g, r: r, t: t0, label: g.addLabel(&Label{Scenario: sc.name, Description: sc.desc})}
	s.ip = attackerIP(r, g.org)
	s.ua = agent(r, attackerAgents)
	s.label.SourceIP = s.ip
	sc.run(s)
	return nil
}

var attackerOctets = []int{5, 45, 91, 103, 141, 162, 185, 193, 194}

// attackerIP is an address no one in the organisation uses: a VPN or hosting block, or one of
// the documentation ranges.
func attackerIP(r *rand.Rand, o *org) string {
	for {
		var ip string
		switch r.IntN(4) {
		case 0:
			ip = fmt.Sprintf("%s.%d", []string{"203.0.113", "198.51.100", "192.0.2"}[r.IntN(3)], 1+r.IntN(254))
		default:
			ip = fmt.Sprintf("%d.%d.%d.%d", attackerOctets[r.IntN(len(attackerOctets))], r.IntN(256), r.IntN(256), 1+r.IntN(254))
		}
		if !o.usedIPs[ip] {
			o.usedIPs[ip] = true
			return ip
		}
	}
}

var attackerAgents = []string{
	"aws-cli/1.16.%d Python/2.7.16 Linux/4.14.133-113.105.amzn2.x86_64 botocore/1.12.200",
	"Boto3/1.28.%d Python/3.11.4 Linux/6.3.0-kali1-amd64 Botocore/1.31.0",
	"aws-cli/2.13.%d Python/3.11.4 Linux/6.1.0-parrot1-amd64 exe/x86_64.parrot.5 prompt/off",
	"python-requests/2.31.0",
	"aws-sdk-go/1.44.%d (go1.20.6; linux; amd64)",
	"Boto3/1.34.%d md/Botocore#1.34.%[1]d ua/2.0 os/linux#6.5.0-1022-aws md/arch#x86_64 lang/python#3.10.12 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.%[1]d",
}

var attackerBrowsers = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0",
	"Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:102.0) Gecko/20100101 Firefox/102.0",
}

// call emits one scenario event and labels it.
func (s *scen) call(t int64, a *account, region, id string, sess *session, ip, ua string, set func(v *vars)) string {
	ap := lookup(id)
	c := s.g.newCall(t, a, regionFor(ap, region), ap, sess, ip, ua)
	if set != nil {
		set(&c.v)
	}
	eid := s.g.emit(s.r, c)
	s.label.note(eid, t)
	return eid
}

// gap advances the scenario's clock by lo..hi seconds.
func (s *scen) gap(lo, hi int) int64 {
	s.t += int64(lo + s.r.IntN(hi-lo+1))
	return s.t
}

// victim picks a person with a long-term access key, preferably in account a.
func (s *scen) victim(a *account, pred func(*human) bool) *human {
	var in, any []*human
	for _, h := range s.g.pop.humans {
		if h.sso || (pred != nil && !pred(h)) {
			continue
		}
		any = append(any, h)
		if h.acct == a {
			in = append(in, h)
		}
	}
	if len(in) > 0 {
		return in[s.r.IntN(len(in))]
	}
	if len(any) == 0 {
		for _, h := range s.g.pop.humans {
			if !h.sso {
				any = append(any, h)
			}
		}
	}
	return any[s.r.IntN(len(any))]
}

func (s *scen) stolenKey(h *human) *session {
	s.label.Account, s.label.Principal = h.acct.id, h.p.arn
	return &session{p: h.p, key: h.key}
}

func capitalOne(s *scen) {
	g, r := s.g, s.r
	w := g.pop.waf()
	i := r.IntN(len(w.sessions))
	sessAt := func(t int64) *session { x := w.session(g, i, t); return &x }
	region := w.region
	s.label.Account = w.acct.id
	s.label.Principal = "arn:aws:sts::" + w.acct.id + ":assumed-role/" + w.role.name + "/" + w.sessions[i]
	s.label.Description = fmt.Sprintf("credentials of instance role %s (instance %s) used from %s: GetCallerIdentity, ListBuckets, then objects copied out of many buckets",
		w.role.name, w.sessions[i], s.ip)
	s.call(s.t, w.acct, region, "sts:GetCallerIdentity", sessAt(s.t), s.ip, s.ua, nil)
	s.gap(20, 120)
	s.call(s.t, w.acct, region, "s3:ListBuckets", sessAt(s.t), s.ip, s.ua, nil)
	buckets := pickN(r, w.acct.buckets, 4+r.IntN(max(1, len(w.acct.buckets)-3)))
	for _, b := range buckets {
		s.gap(5, 40)
		s.call(s.t, w.acct, region, "s3:ListObjects", sessAt(s.t), s.ip, s.ua, func(v *vars) { v.set(phBucket, b) })
		for n := 15 + r.IntN(70); n > 0; n-- {
			if r.IntN(3) == 0 {
				s.t++
			}
			s.call(s.t, w.acct, region, "s3:GetObject", sessAt(s.t), s.ip, s.ua, func(v *vars) {
				v.set(phBucket, b)
				v.set(phSize, itoa(200_000+r.IntN(40_000_000)))
			})
		}
	}
}

func cloudtrailTampering(s *scen) {
	o := s.g.org
	h := s.victim(o.prod, nil)
	k := s.stolenKey(h)
	a, region := h.acct, o.regions[0]
	s.label.Description = fmt.Sprintf("%s's access key, used from %s, weakens and then deletes trail %s", h.name, s.ip, a.trail)
	s.call(s.t, a, region, "sts:GetCallerIdentity", k, s.ip, s.ua, nil)
	for _, id := range []string{"cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors"} {
		s.gap(2, 20)
		s.call(s.t, a, region, id, k, s.ip, s.ua, nil)
	}
	sink := fmt.Sprintf("logs-archive-%s", hexString(s.r, 6))
	steps := []string{"cloudtrail:PutEventSelectors", "cloudtrail:UpdateTrail", "cloudtrail:StopLogging", "cloudtrail:DeleteTrail"}
	for _, id := range steps {
		s.gap(10, 120)
		s.call(s.t, a, region, id, k, s.ip, s.ua, func(v *vars) { v.set(phBucket, sink) })
	}
}

var backdoorNames = []string{"svc-backup", "support-ops", "aws-maintenance", "ci-bootstrap", "monitoring-agent", "s3-replicator"}

func iamBackdoor(s *scen) {
	o, r := s.g.org, s.r
	h := s.victim(o.prod, func(h *human) bool { return h.prof.name == "platform" || h.prof.name == "operations" })
	k := s.stolenKey(h)
	a := h.acct
	newName := backdoorNames[r.IntN(len(backdoorNames))] + "-" + itoa(10+r.IntN(90))
	newKey := a.key(r, false)
	newID := "AIDA" + a.keyTag + randomString(r, keyChars, 13)
	s.label.Description = fmt.Sprintf("%s's access key, used from %s, creates user %s with an access key and AdministratorAccess; the new key is used minutes later", h.name, s.ip, newName)
	set := func(v *vars) { v.set(phNewUser, newName); v.set(phAKey, newKey); v.set(phUID, newID) }
	s.call(s.t, a, "us-east-1", "sts:GetCallerIdentity", k, s.ip, s.ua, nil)
	s.gap(5, 60)
	s.call(s.t, a, "us-east-1", "iam:ListUsers", k, s.ip, s.ua, nil)
	for _, id := range []string{"iam:CreateUser", "iam:CreateAccessKey", "iam:AttachUserPolicy"} {
		s.gap(3, 40)
		s.call(s.t, a, "us-east-1", id, k, s.ip, s.ua, set)
	}
	backdoor := &principal{kind: kindIAMUser, acct: a, id: newID, name: newName,
		arn: "arn:aws:iam::" + a.id + ":user/" + newName}
	bk := &session{p: backdoor, key: newKey}
	s.gap(120, 600)
	for _, id := range []string{"sts:GetCallerIdentity", "iam:ListRoles", "s3:ListBuckets", "ec2:DescribeInstances"} {
		s.call(s.t, a, o.regions[0], id, bk, s.ip, s.ua, nil)
		s.gap(2, 30)
	}
}

func consoleNoMFA(s *scen) {
	o, r := s.g.org, s.r
	h := s.victim(o.prod, func(h *human) bool { return h.prof.pConsole > 0 })
	s.label.Account, s.label.Principal = h.acct.id, h.p.arn
	browser := attackerBrowsers[r.IntN(len(attackerBrowsers))]
	s.label.Description = fmt.Sprintf("%s signs in to the console without MFA from %s, then browses and reads secrets", h.name, s.ip)
	a := h.acct
	login := &session{p: h.p}
	s.call(s.t, a, "us-east-1", "signin:ConsoleLoginNoMFA", login, s.ip, browser, func(v *vars) { v.set(phUser, h.name) })
	s.gap(3, 10)
	cs := &session{p: h.p, key: a.key(r, true), created: s.t, console: true}
	apis := append(slices.Clone(h.apis), lookupAll("s3:ListBuckets", "iam:ListUsers", "secretsmanager:ListSecrets",
		"secretsmanager:GetSecretValue", "secretsmanager:GetSecretValue", "ec2:DescribeInstances")...)
	for n := 15 + r.IntN(45); n > 0; n-- {
		ap := apis[r.IntN(len(apis))]
		c := s.g.newCall(s.t, a, regionFor(ap, o.regions[0]), ap, cs, s.ip, browser)
		c.noTLS, c.fromCons = true, true
		s.label.note(s.g.emit(r, c), s.t)
		s.gap(1, 60)
	}
}

func snapshotSharing(s *scen) {
	o, r := s.g.org, s.r
	h := s.victim(o.prod, nil)
	k := s.stolenKey(h)
	a, region := h.acct, o.regions[0]
	peer := accountID(r)
	s.label.Description = fmt.Sprintf("%s's access key, used from %s, shares EBS snapshots and an AMI with outside account %s", h.name, s.ip, peer)
	set := func(v *vars) { v.set(phPeer, peer) }
	s.call(s.t, a, region, "ec2:DescribeSnapshots", k, s.ip, s.ua, nil)
	s.gap(5, 30)
	s.call(s.t, a, region, "ec2:DescribeImages", k, s.ip, s.ua, nil)
	snaps := pickN(r, a.snapshots, 1+r.IntN(3))
	for _, snap := range snaps {
		s.gap(5, 60)
		s.call(s.t, a, region, "ec2:ModifySnapshotAttribute", k, s.ip, s.ua, func(v *vars) { set(v); v.set(phSnap, snap) })
	}
	s.gap(10, 120)
	s.call(s.t, a, region, "ec2:ModifyImageAttribute", k, s.ip, s.ua, set)
	// The outside account makes a volume from each snapshot: AWS logs it in the owner's trail.
	svc := &session{p: &principal{kind: kindServiceEvent, acct: a, name: "ec2.amazonaws.com"}}
	for _, snap := range snaps {
		s.gap(60, 600)
		ap := lookup("ec2:SharedSnapshotVolumeCreated")
		c := s.g.newCall(s.t, a, region, ap, svc, "ec2.amazonaws.com", "ec2.amazonaws.com")
		c.shared = uuidString(r) // the same action as logged in the outside account
		c.v.set(phSnap, snap)
		s.label.note(s.g.emit(r, c), s.t)
	}
}

func secretsBulkRead(s *scen) {
	o, r := s.g.org, s.r
	h := s.victim(o.prod, nil)
	k := s.stolenKey(h)
	a, region := h.acct, o.regions[0]
	secrets := a.secrets
	s.label.Description = fmt.Sprintf("%s's access key, used from %s, reads %d secrets in a few minutes", h.name, s.ip, len(secrets))
	s.call(s.t, a, region, "secretsmanager:ListSecrets", k, s.ip, s.ua, nil)
	for round := 0; round < 1+r.IntN(2); round++ {
		for _, sec := range secrets {
			s.gap(0, 3)
			s.call(s.t, a, region, "secretsmanager:GetSecretValue", k, s.ip, s.ua, func(v *vars) { v.set(phSecret, sec) })
		}
	}
}

var miningTypes = []string{"p3.16xlarge", "g4dn.12xlarge", "c5.24xlarge", "p4d.24xlarge", "g5.48xlarge"}

func unusedRegions(s *scen) {
	o, r := s.g.org, s.r
	h := s.victim(o.prod, nil)
	k := s.stolenKey(h)
	a := h.acct
	regions := pickN(r, o.unused, 2+r.IntN(3))
	s.label.Description = fmt.Sprintf("%s's access key, used from %s, launches GPU instances in %s", h.name, s.ip, strings.Join(regions, ", "))
	s.call(s.t, a, o.regions[0], "ec2:DescribeRegions", k, s.ip, s.ua, nil)
	for _, reg := range regions {
		s.gap(10, 90)
		ami := hexID(r, "ami-")
		kp := "kp-" + hexString(r, 6)
		s.call(s.t, a, reg, "ec2:DescribeImages", k, s.ip, s.ua, nil)
		s.gap(2, 20)
		s.call(s.t, a, reg, "ec2:ImportKeyPair", k, s.ip, s.ua, func(v *vars) { v.set(phHex8, kp) })
		for n := 1 + r.IntN(3); n > 0; n-- {
			s.gap(2, 30)
			it := miningTypes[r.IntN(len(miningTypes))]
			fail := r.IntN(3) == 0
			ap := lookup("ec2:RunInstances")
			c := s.g.newCall(s.t, a, reg, ap, k, s.ip, s.ua)
			c.v.set(phAMI, ami)
			c.v.set(phIType, it)
			c.v.set(phN, itoa(5+r.IntN(16)))
			if fail {
				c.errCode, c.errMsg = ap.errs[0].code, ap.errs[0].msg
			}
			s.label.note(s.g.emit(r, c), s.t)
		}
	}
}

func enumeration(s *scen) {
	o, r := s.g.org, s.r
	h := s.victim(o.dev, func(h *human) bool { return h.prof.name == "developer" || h.prof.name == "data" })
	k := s.stolenKey(h)
	a := h.acct
	var apis []*api
	for _, id := range append(append(slices.Clone(scanReads), terraformReads...), "iam:GetAccountAuthorizationDetails",
		"secretsmanager:ListSecrets", "organizations:ListAccounts", "guardduty:ListDetectors", "kms:ListKeys", "ec2:GetPasswordData",
		"ssm:DescribeParameters", "lambda:ListFunctions20150331", "dynamodb:ListTables", "ec2:DescribeKeyPairs", "ec2:DescribeInstanceAttribute") {
		if !slices.ContainsFunc(apis, func(x *api) bool { return x.id == id }) {
			apis = append(apis, lookup(id))
		}
	}
	n := 60 + r.IntN(140)
	s.label.Description = fmt.Sprintf("%s's access key, used from %s, tries %d calls across %d APIs in minutes; most are denied", h.name, s.ip, n, len(apis))
	s.call(s.t, a, o.regions[0], "sts:GetCallerIdentity", k, s.ip, s.ua, nil)
	for i := 0; i < n; i++ {
		ap := apis[r.IntN(len(apis))]
		c := s.g.newCall(s.t, a, regionFor(ap, o.regions[r.IntN(len(o.regions))]), ap, k, s.ip, s.ua)
		if r.IntN(100) < 85 {
			c.errCode, c.errMsg = accessDenied(c)
		}
		s.label.note(s.g.emit(r, c), s.t)
		if r.IntN(2) == 0 {
			s.t++
		}
	}
}

func defenceEvasion(s *scen) {
	o, r := s.g.org, s.r
	h := s.victim(o.prod, nil)
	k := s.stolenKey(h)
	a, region := h.acct, o.regions[0]
	s.label.Description = fmt.Sprintf("%s's access key, used from %s, disables GuardDuty, deletes VPC flow logs and stops AWS Config", h.name, s.ip)
	s.call(s.t, a, region, "guardduty:ListDetectors", k, s.ip, s.ua, nil)
	s.gap(3, 30)
	if r.IntN(2) == 0 {
		s.call(s.t, a, region, "guardduty:UpdateDetector", k, s.ip, s.ua, nil)
	} else {
		s.call(s.t, a, region, "guardduty:DeleteDetector", k, s.ip, s.ua, nil)
	}
	s.gap(10, 90)
	s.call(s.t, a, region, "ec2:DescribeFlowLogs", k, s.ip, s.ua, nil)
	for n := 1 + r.IntN(3); n > 0; n-- {
		s.gap(2, 20)
		s.call(s.t, a, region, "ec2:DeleteFlowLogs", k, s.ip, s.ua, nil)
	}
	s.gap(10, 90)
	s.call(s.t, a, region, "config:DescribeConfigurationRecorders", k, s.ip, s.ua, nil)
	s.gap(2, 20)
	s.call(s.t, a, region, "config:StopConfigurationRecorder", k, s.ip, s.ua, nil)
	if r.IntN(2) == 0 {
		s.gap(2, 20)
		s.call(s.t, a, region, "config:DeleteConfigurationRecorder", k, s.ip, s.ua, nil)
	}
}

func rootUse(s *scen) {
	o, r := s.g.org, s.r
	a := o.prod
	if r.IntN(3) == 0 {
		a = o.shared
	}
	browser := attackerBrowsers[r.IntN(len(attackerBrowsers))]
	s.label.Account, s.label.Principal = a.id, a.root.arn
	mfa := r.IntN(2) == 0
	s.label.Description = fmt.Sprintf("the root user of %s (%s) signs in from %s (MFA: %v) and works in the console", a.name, a.id, s.ip, mfa)
	login := "signin:ConsoleLoginNoMFA"
	if mfa {
		login = "signin:ConsoleLogin"
	}
	s.call(s.t, a, "us-east-1", login, &session{p: a.root}, s.ip, browser, func(v *vars) { v.set(phUser, "root-account-mfa-device") })
	s.gap(5, 20)
	cs := &session{p: a.root, key: a.key(r, true), created: s.t, console: true, mfa: mfa}
	apis := lookupAll("iam:GetAccountSummary", "iam:ListUsers", "iam:ListAccessKeys", "organizations:DescribeOrganization",
		"ce:GetCostAndUsage", "s3:ListBuckets", "iam:GetAccountPasswordPolicy", "ec2:DescribeInstances", "iam:ListMFADevices")
	for n := 5 + r.IntN(20); n > 0; n-- {
		ap := apis[r.IntN(len(apis))]
		c := s.g.newCall(s.t, a, regionFor(ap, o.regions[0]), ap, cs, s.ip, browser)
		c.noTLS, c.fromCons = true, true
		s.label.note(s.g.emit(r, c), s.t)
		s.gap(2, 90)
	}
	s.call(s.t, a, "us-east-1", "iam:CreateAccessKey", cs, s.ip, browser, func(v *vars) { v.set(phNewUser, "root") })
}
