package synth

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

// profile is a kind of job: the APIs such a person calls and the clients they call them with.
type profile struct {
	name                 string
	apis                 []string
	pConsole, pTF, pBoto float64
	accounts             func(o *org) *account
	sso                  string // permission set when the person signs in through SSO
	ssoShare             float64
}

var (
	cliSize     = sizeDist{mu: 1.2, sigma: 0.9, min: 1, max: 60}
	scriptSize  = sizeDist{mu: 2.0, sigma: 1.0, min: 1, max: 400}
	consoleSize = sizeDist{mu: 2.6, sigma: 0.8, min: 3, max: 300}
	planSize    = sizeDist{mu: 3.6, sigma: 0.7, min: 10, max: 800}
)

var profiles = []profile{
	{name: "developer", pConsole: 0.25, pBoto: 0.05, sso: "Developer", ssoShare: 0.3,
		accounts: func(o *org) *account { return o.dev },
		apis: []string{"lambda:ListFunctions20150331", "lambda:GetFunction20150331v2", "lambda:GetFunctionConfiguration20150331v2",
			"logs:FilterLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams", "logs:GetLogEvents", "logs:StartQuery",
			"s3:ListBuckets", "s3:ListObjects", "s3:GetObject", "s3:PutObject", "ecr:DescribeImages", "ecs:DescribeServices",
			"ecs:ListTasks", "ecs:DescribeTasks", "cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents",
			"dynamodb:DescribeTable", "dynamodb:ListTables", "sts:GetCallerIdentity", "ssm:GetParameter", "ssm:GetParametersByPath",
			"sqs:ListQueues", "sqs:GetQueueAttributes", "secretsmanager:DescribeSecret", "lambda:UpdateFunctionCode20150331v2",
			"cloudwatch:DescribeAlarms", "cloudwatch:GetMetricStatistics"}},
	{name: "operations", pConsole: 0.3, pTF: 0.12, sso: "Operations", ssoShare: 0.5,
		accounts: func(o *org) *account { return o.prod },
		apis: []string{"ec2:DescribeInstances", "ec2:DescribeInstanceStatus", "ec2:DescribeSecurityGroups", "ec2:DescribeVolumes",
			"ec2:DescribeSnapshots", "ec2:DescribeImages", "ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeRouteTables",
			"ec2:DescribeNetworkInterfaces", "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeScalingActivities",
			"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth",
			"cloudwatch:DescribeAlarms", "cloudwatch:GetMetricStatistics", "route53:ListHostedZones", "route53:ListResourceRecordSets",
			"rds:DescribeDBInstances", "rds:DescribeDBClusters", "rds:DescribeDBSnapshots", "ecs:DescribeServices", "ecs:UpdateService",
			"ssm:StartSession", "ssm:DescribeInstanceInformation", "ec2:CreateTags", "ec2:StartInstances", "ec2:StopInstances",
			"ec2:CreateSnapshot", "iam:GetRole", "iam:ListRoles", "sts:GetCallerIdentity", "ec2:GetConsoleOutput", "logs:FilterLogEvents", "ec2:DescribeTags"}},
	{name: "data", pConsole: 0.2, pBoto: 0.5,
		accounts: func(o *org) *account { return o.prod },
		apis: []string{"s3:ListBuckets", "s3:ListObjects", "s3:GetObject", "s3:PutObject", "s3:HeadObject", "athena:StartQueryExecution",
			"athena:GetQueryExecution", "athena:GetQueryResults", "glue:GetTable", "glue:GetDatabases", "s3:GetBucketLocation", "sts:GetCallerIdentity"}},
	{name: "security", pConsole: 0.5,
		accounts: func(o *org) *account { return o.sec },
		apis: []string{"guardduty:ListDetectors", "guardduty:ListFindings", "guardduty:GetFindings", "guardduty:GetDetector",
			"securityhub:GetFindings", "securityhub:DescribeHub", "cloudtrail:LookupEvents", "cloudtrail:DescribeTrails",
			"cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors", "iam:ListUsers", "iam:ListAccessKeys", "iam:ListMFADevices",
			"iam:GetAccountAuthorizationDetails", "iam:GenerateCredentialReport", "iam:GetAccountSummary", "iam:ListRoles",
			"iam:ListAttachedRolePolicies", "config:DescribeConfigurationRecorderStatus", "config:DescribeComplianceByConfigRule",
			"kms:ListKeys", "kms:DescribeKey", "s3:GetBucketPolicy", "s3:GetBucketPublicAccessBlock", "s3:GetBucketEncryption",
			"ec2:DescribeSecurityGroups", "ec2:DescribeFlowLogs", "logs:StartQuery", "sts:GetCallerIdentity", "organizations:ListAccounts"}},
	{name: "finance", pConsole: 1,
		accounts: func(o *org) *account { return o.shared },
		apis: []string{"ce:GetCostAndUsage", "ce:GetCostForecast", "organizations:DescribeOrganization", "organizations:ListAccounts",
			"s3:ListBuckets", "ec2:DescribeInstances", "rds:DescribeDBInstances"}},
	{name: "platform", pConsole: 0.2, pTF: 0.35, sso: "AdministratorAccess", ssoShare: 0.3,
		accounts: func(o *org) *account { return o.shared },
		apis: []string{"iam:GetRole", "iam:ListRoles", "iam:ListPolicies", "iam:GetPolicy", "iam:GetPolicyVersion",
			"iam:ListAttachedRolePolicies", "iam:ListRolePolicies", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:TagRole",
			"iam:UpdateAssumeRolePolicy", "organizations:DescribeOrganization", "cloudformation:ListStacks", "cloudformation:DescribeStacks",
			"cloudformation:GetTemplate", "cloudformation:UpdateStack", "s3:ListBuckets", "s3:GetBucketPolicy", "s3:GetBucketVersioning",
			"s3:GetBucketTagging", "s3:PutBucketTagging", "kms:ListAliases", "sts:GetCallerIdentity", "ec2:DescribeVpcs",
			"ec2:DescribeSubnets", "ec2:AuthorizeSecurityGroupIngress", "ssm:PutParameter", "secretsmanager:ListSecrets",
			"secretsmanager:PutSecretValue", "acm:ListCertificates", "acm:DescribeCertificate", "iam:GetAccountPasswordPolicy"}},
}

// terraformReads is what a terraform plan refreshes.
var terraformReads = []string{"ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeRouteTables",
	"ec2:DescribeInstances", "ec2:DescribeLaunchTemplates", "ec2:DescribeNetworkInterfaces", "ec2:DescribeAvailabilityZones",
	"iam:GetRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:GetPolicy", "iam:GetPolicyVersion",
	"s3:GetBucketPolicy", "s3:GetBucketVersioning", "s3:GetBucketEncryption", "s3:GetBucketTagging", "s3:GetBucketAcl",
	"s3:GetBucketPublicAccessBlock", "s3:GetBucketLocation", "lambda:GetFunction20150331v2", "lambda:GetPolicy20150331v2",
	"lambda:ListEventSourceMappings20150331", "ecs:DescribeServices", "ecs:DescribeTaskDefinition", "ecs:DescribeClusters",
	"logs:DescribeLogGroups", "kms:DescribeKey", "kms:ListAliases", "secretsmanager:DescribeSecret", "ssm:GetParameter",
	"dynamodb:DescribeTable", "dynamodb:DescribeContinuousBackups", "sqs:GetQueueAttributes", "route53:ListResourceRecordSets",
	"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTargetGroups", "cloudwatch:DescribeAlarms",
	"acm:DescribeCertificate", "sts:GetCallerIdentity", "rds:DescribeDBInstances", "ecr:DescribeImages"}

// human is one person: an IAM user (or an SSO role session) with habits.
type human struct {
	name, email string
	prof        *profile
	p           *principal
	sso         bool
	acct        *account
	apis        []*api
	cum         []float64
	tz          int
	start       float64 // local hour work starts
	w           float64
	homeIP      string
	officeShare float64
	cliUA       string
	botoUA      string
	browser     string
	tfUA        string
	key         string // AKIA
	// console session in progress
	consUntil int64
	consSess  session
	// the harmless oddity: one day working from somewhere new
	awayDay int64
	awayIP  string
	away    *Label
	seed    uint64
	tfReads []*api
	meanSz  float64
}

func (h *human) class() int        { return clsHuman }
func (h *human) weight() float64   { return h.w }
func (h *human) scheduled() bool   { return false }
func (h *human) meanSize() float64 { return h.meanSz }

func (p *population) buildHumans(g *gen, r *rand.Rand) {
	o := p.org
	n := 12 + r.IntN(9)
	tfReads := lookupAll(terraformReads...)
	names := map[string]bool{}
	for i := 0; i < n; i++ {
		pr := &profiles[[]int{0, 0, 0, 1, 1, 2, 3, 4, 5, 0, 1, 2, 5, 3, 0}[i%15]]
		var name string
		for {
			name = firstNames[r.IntN(len(firstNames))] + "." + lastNames[r.IntN(len(lastNames))]
			if !names[name] {
				names[name] = true
				break
			}
		}
		h := &human{name: name, email: name + "@" + o.name + ".example", prof: pr, acct: pr.accounts(o), seed: o.seed, tfReads: tfReads}
		h.tz = o.tz
		if r.IntN(6) == 0 { // a remote colleague elsewhere
			h.tz = homes[r.IntN(len(homes))].tz
		}
		h.start = 7.5 + r.Float64()*2.5
		h.w = math.Exp(r.NormFloat64() * 0.8)
		h.homeIP = o.publicIP(r, homeOctets)
		h.officeShare = 0.3 + 0.6*r.Float64()
		h.cliUA = agent(r, cliAgents)
		h.botoUA = agent(r, botoAgents)
		h.browser = browserAgents[r.IntN(len(browserAgents))]
		h.tfUA = agent(r, []string{terraformAgent})
		if pr.sso != "" && r.Float64() < pr.ssoShare {
			h.sso = true
			h.p = newRole(r, h.acct, "AWSReservedSSO_"+pr.sso+"_"+hexString(r, 16), "/aws-reserved/sso.amazonaws.com/")
		} else {
			h.p = newUser(r, h.acct, name)
			h.key = h.acct.key(r, false)
		}
		ids := pickN(r, pr.apis, 8+r.IntN(12))
		h.apis = lookupAll(ids...)
		h.cum = zipfCum(len(h.apis), 1.1)
		h.meanSz = (1-pr.pConsole-pr.pTF-pr.pBoto)*cliSize.mean() + pr.pConsole*consoleSize.mean() +
			pr.pTF*planSize.mean() + pr.pBoto*scriptSize.mean()
		h.awayDay = math.MinInt64
		p.humans = append(p.humans, h)
		p.actors = append(p.actors, h)
	}
	// The harmless oddity: one CLI user works one weekday from a new address (a hotel, a
	// conference), doing exactly their usual work.
	var cands []*human
	for _, h := range p.humans {
		if !h.sso && h.prof.pConsole < 1 {
			cands = append(cands, h)
		}
	}
	// One of the busier half travels (a quiet one may not call anything that day), the first
	// who works a whole weekday inside the data after its first day, so that the address is new
	// against a history; in a short period some have no such day.
	slices.SortStableFunc(cands, func(a, b *human) int { return cmp.Compare(b.w, a.w) })
	cands = cands[:(len(cands)+1)/2]
	r.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	for _, h := range cands {
		var days []int64
		for d := floorDiv(g.start/60+int64(h.tz), 1440); d*1440-int64(h.tz) < g.end/60; d++ {
			// The whole local day inside the data: a day that starts an hour before the end
			// (a time zone ahead of UTC) holds no working hours.
			from := d*1440 - int64(h.tz)
			if !isWeekend(weekday(d)) && h.present(d) && from >= g.start/60+1440 && from+1440 <= g.end/60 {
				days = append(days, d)
			}
		}
		if len(days) == 0 {
			continue
		}
		h.awayDay = days[r.IntN(len(days))]
		h.awayIP = o.publicIP(r, homeOctets)
		h.away = g.addLabel(&Label{Scenario: "benign-new-address", Benign: true, Account: h.acct.id, Principal: h.p.arn,
			SourceIP: h.awayIP, Description: h.name + " works one day from an address never seen before (travel), calling the same APIs with the same client as usual"})
		return
	}
}

// present says whether the person works on local day d (people take days off).
func (h *human) present(d int64) bool {
	return stableHash(h.name, itoa(int(d)), itoa(int(h.seed)))%100 < 88
}

func (h *human) shape(p *population, m int64) float64 {
	d, wd, hr := localClock(m, h.tz)
	v := workCurve(hr - h.start)
	if v == 0 || !h.present(d) {
		return 0
	}
	if isWeekend(wd) {
		v *= 0.04
	}
	return v
}

// ipOn is where the person works from on local day d: the office or home, or somewhere new on
// the day of the oddity.
func (h *human) ipOn(o *org, d int64) string {
	if d == h.awayDay {
		return h.awayIP
	}
	if float64(stableHash(h.name, "office", itoa(int(d)))%1000)/1000 < h.officeShare {
		return o.officeIPs[stableHash(h.name)%uint64(len(o.officeIPs))]
	}
	return h.homeIP
}

func (h *human) region(r *rand.Rand, o *org) string {
	if r.IntN(5) > 0 || len(o.regions) == 1 {
		return o.regions[0]
	}
	return o.regions[1+r.IntN(len(o.regions)-1)]
}

// cliSession is the session signing the person's programmatic calls.
func (h *human) cliSession(d int64) session {
	if !h.sso {
		return session{p: h.p, key: h.key}
	}
	r := newRand(h.seed, "sso", h.name, itoa(int(d)))
	created := (d*1440-int64(h.tz))*60 + int64(h.start*3600) - 600
	return session{p: h.p, name: h.email, key: h.acct.key(r, true), created: created}
}

func (h *human) act(g *gen, t int64, _ float64) {
	r := g.r
	d, _, _ := localClock(t/60, h.tz)
	ip := h.ipOn(g.org, d)
	pr := h.prof
	x := r.Float64()
	switch {
	case x < pr.pConsole:
		h.consoleBurst(g, t, d, ip)
	case x < pr.pConsole+pr.pTF:
		s := h.cliSession(d)
		h.burst(g, t, &s, ip, h.tfUA, h.tfReads, nil, planSize.draw(r), 2, 0.003, 0.04, 0.015)
	case x < pr.pConsole+pr.pTF+pr.pBoto:
		s := h.cliSession(d)
		h.burst(g, t, &s, ip, h.botoUA, h.apis, h.cum, scriptSize.draw(r), 2, 0.01, 0.03, 0.002)
	default:
		s := h.cliSession(d)
		h.burst(g, t, &s, ip, h.cliUA, h.apis, h.cum, cliSize.draw(r), 5, 0.012, 0.03, 0.002)
	}
}

// burst emits n calls from apis (weighted by cum, or uniformly when cum is nil), a few seconds apart.
func (h *human) burst(g *gen, t int64, s *session, ip, ua string, apis []*api, cum []float64, n, gap int, pDeny, pAPI, pThr float64) {
	r := g.r
	cli := ua == h.cliUA
	for i := 0; i < n; i++ {
		var a *api
		if cum != nil {
			a = apis[weighted(r, cum)]
		} else {
			a = apis[r.IntN(len(apis))]
		}
		u := ua
		if cli {
			u = ua + cliCommand(a)
		}
		c := g.newCall(t, h.acct, regionFor(a, h.region(r, g.org)), a, s, ip, u)
		g.fail(r, c, pDeny, pAPI, pThr)
		h.note(g, g.emit(r, c), t)
		t += int64(r.IntN(gap + 1))
	}
}

func (h *human) note(g *gen, id string, t int64) {
	if h.away != nil && id != "" {
		if d, _, _ := localClock(t/60, h.tz); d == h.awayDay {
			h.away.note(id, t)
		}
	}
}

// consoleBurst is a page or two of console browsing; the first of the day signs in.
func (h *human) consoleBurst(g *gen, t int64, d int64, ip string) {
	r := g.r
	if t >= h.consUntil {
		// Sign in: ConsoleLogin with MFA, then console credentials valid for the working day.
		h.consUntil = t + 8*3600
		if h.sso {
			h.consSess = h.cliSession(d)
		} else {
			login := session{p: h.p}
			c := g.newCall(t, h.acct, "us-east-1", lookup("signin:ConsoleLogin"), &login, ip, h.browser)
			c.v.set(phUser, h.name)
			h.note(g, g.emit(r, c), t)
			t += 2 + int64(r.IntN(5))
			h.consSess = session{p: h.p, key: h.acct.key(r, true), created: t, mfa: true, console: true}
		}
		h.consSess.console = true
	}
	n := consoleSize.draw(r)
	for i := 0; i < n; i++ {
		a := h.apis[weighted(r, h.cum)]
		ua := h.browser
		if r.IntN(6) == 0 {
			ua = "AWS Internal"
		}
		c := g.newCall(t, h.acct, regionFor(a, h.region(r, g.org)), a, &h.consSess, ip, ua)
		c.noTLS = true
		c.fromCons = true
		g.fail(r, c, 0.01, 0.03, 0)
		h.note(g, g.emit(r, c), t)
		if r.IntN(3) == 0 {
			t += int64(r.IntN(45))
		}
	}
}
