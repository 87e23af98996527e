package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Public address blocks of the clouds that host CI runners and scanners.
var (
	runnerOctets = []int{4, 13, 20, 40, 52, 104}
	awsOctets    = []int{3, 18, 34, 35, 44, 54}
)

var (
	ecrPushSize = sizeDist{mu: 0, sigma: 0.6, min: 1, max: 6}
	applySize   = sizeDist{mu: 1, sigma: 0.8, min: 1, max: 40}
	scanSize    = sizeDist{mu: 3.9, sigma: 0.2, min: 20, max: 200}
)

var terraformWrites = []string{"lambda:UpdateFunctionCode20150331v2", "lambda:UpdateFunctionConfiguration20150331v2",
	"ecs:RegisterTaskDefinition", "ecs:UpdateService", "s3:PutObject", "ec2:CreateTags", "ssm:PutParameter",
	"route53:ChangeResourceRecordSets", "iam:TagRole", "iam:PutRolePolicy", "cloudwatch:PutMetricAlarm", "cloudformation:UpdateStack",
	"ec2:AuthorizeSecurityGroupIngress", "s3:PutBucketTagging"}

// pipeline is CI automation: GitHub Actions federates into the shared-services account, then
// assumes a deploy role in dev or prod and runs terraform, in bursts during working hours.
type pipeline struct {
	runner     *principal // role in shared-services
	web        *principal // the GitHub OIDC identity
	deploy     map[*account]*principal
	newRole    *principal // the harmless oddity: a new deploy role that becomes routine
	newFrom    int64
	newLabel   *Label
	tz         int
	ua, ghUA   string
	repo       string
	runs       int
	reads      []*api
	writes     []*api
	meanSz     float64
	org        *org
	runnerAcct *account
}

func newPipeline(g *gen, r *rand.Rand) *pipeline {
	o := g.org
	p := &pipeline{org: o, tz: o.tz, runnerAcct: o.shared, deploy: map[*account]*principal{}}
	p.repo = o.name + "/platform"
	p.runner = newRole(r, o.shared, "github-actions-ci", "/")
	provider := "arn:aws:iam::" + o.shared.id + ":oidc-provider/token.actions.githubusercontent.com"
	sub := "repo:" + p.repo + ":ref:refs/heads/main"
	p.web = &principal{kind: kindWebIdentity, acct: o.shared, id: provider + ":sts.amazonaws.com:" + sub, name: sub, provider: provider}
	for _, a := range []*account{o.prod, o.dev} {
		p.deploy[a] = newRole(r, a, "terraform-deploy", "/")
	}
	p.newRole = newRole(r, o.prod, "platform-deployer", "/")
	day := int64(0)
	if g.cfg.Days >= 3 {
		day = 1 + r.Int64N(int64(g.cfg.Days-2))
	}
	p.newFrom = g.start + day*86400
	p.newLabel = g.addLabel(&Label{Scenario: "benign-new-deploy-role", Benign: true, Account: o.prod.id, Principal: p.newRole.arn,
		Description: "CI starts deploying to prod through a new role, platform-deployer, which then runs on every working day"})
	p.ua = agent(r, []string{terraformAgent})
	p.ghUA = fmt.Sprintf("aws-sdk-js/3.%d.0 ua/2.0 os/linux#6.5.0-1025-azure lang/js md/nodejs#20.13.1 api/sts#3.%[1]d.0 configure-aws-credentials-for-github-actions", 500+r.IntN(90))
	p.reads = lookupAll(terraformReads...)
	p.writes = lookupAll(terraformWrites...)
	p.meanSz = 3 + 0.6*(1+ecrPushSize.mean()) + planSize.mean() + applySize.mean()
	return p
}

func (p *pipeline) class() int        { return clsCI }
func (p *pipeline) weight() float64   { return 1 }
func (p *pipeline) scheduled() bool   { return false }
func (p *pipeline) meanSize() float64 { return p.meanSz }

func (p *pipeline) shape(_ *population, m int64) float64 {
	_, wd, h := localClock(m, p.tz)
	v := workCurve(h - 8.5)
	if isWeekend(wd) {
		v *= 0.02
	}
	return v
}

func (p *pipeline) act(g *gen, t int64, _ float64) {
	r := g.r
	o := g.org
	p.runs++
	ip := o.publicIP(r, runnerOctets) // a fresh hosted runner every run
	region := o.regions[0]
	target := o.dev
	if r.IntN(10) < 4 {
		target = o.prod
	}
	role := p.deploy[target]
	var label *Label
	if target == o.prod && t >= p.newFrom { // the new role replaces the old one for good
		role = p.newRole
		if len(p.newLabel.KeyEventIDs) == 0 {
			label = p.newLabel
			p.newLabel.SourceIP = ip
		}
	}
	note := func(id string, t int64) {
		if label != nil {
			label.note(id, t)
		}
	}
	// 1. GitHub's OIDC token for the CI role.
	web := session{p: p.web}
	c := g.newCall(t, o.shared, region, lookup("sts:AssumeRoleWithWebIdentity"), &web, ip, p.ghUA)
	c.v.set(phRole, p.runner.name)
	c.v.set(phRoleArn, p.runner.arn)
	c.v.set(phSess, "GitHubActions")
	c.v.set(phUser, p.repo)
	g.emit(r, c)
	ci := session{p: p.runner, name: "GitHubActions", key: o.shared.key(r, true), created: t}
	t += 2 + int64(r.IntN(3))
	// 2. Push the image.
	if r.IntN(10) < 6 {
		c := g.newCall(t, o.shared, region, lookup("ecr:GetAuthorizationToken"), &ci, ip, p.ghUA)
		g.emit(r, c)
		for n := ecrPushSize.draw(r); n > 0; n-- {
			t += int64(5 + r.IntN(30))
			c := g.newCall(t, o.shared, region, lookup("ecr:PutImage"), &ci, ip, p.ghUA)
			c.v.set(phRepo, pick(r, o.shared.repos))
			g.emit(r, c)
		}
	}
	// 3. Cross-account AssumeRole, logged in both accounts under one sharedEventID.
	t += 3
	shared := uuidString(r)
	sess := fmt.Sprintf("gha-%d", 4000+p.runs)
	for _, side := range []*account{o.shared, target} {
		s := ci
		if side != o.shared {
			s = session{p: &principal{kind: kindAWSAccount, acct: o.shared, id: p.runner.id}, name: "GitHubActions"}
		}
		c := g.newCall(t, side, region, lookup("sts:AssumeRole"), &s, ip, p.ua)
		c.shared = shared
		c.v.set(phAcct, target.id)
		c.v.set(phRole, role.name)
		c.v.set(phRoleArn, role.arn)
		c.v.set(phSess, sess)
		c.v.set(phAKey, target.key(r, true))
		id := g.emit(r, c)
		if side == target {
			note(id, t)
		}
	}
	dep := session{p: role, name: sess, key: target.key(r, true), created: t}
	// 4. terraform plan: a burst of reads across services.
	n := planSize.draw(r)
	for i := 0; i < n; i++ {
		a := p.reads[r.IntN(len(p.reads))]
		c := g.newCall(t, target, regionFor(a, region), a, &dep, ip, p.ua)
		g.fail(r, c, 0.002, 0.05, 0.015)
		note(g.emit(r, c), t)
		if r.IntN(4) == 0 {
			t++
		}
	}
	// 5. terraform apply.
	t += 10 + int64(r.IntN(60))
	for n := applySize.draw(r); n > 0; n-- {
		a := p.writes[r.IntN(len(p.writes))]
		c := g.newCall(t, target, regionFor(a, region), a, &dep, ip, p.ua)
		g.fail(r, c, 0.002, 0.02, 0.01)
		note(g.emit(r, c), t)
		t += int64(1 + r.IntN(8))
	}
}

// scanner is the security team's audit function: every six hours it assumes an audit role in
// each account and reads configuration everywhere, with some AccessDenied where its policy is short.
type scanner struct {
	fn     *principal
	audit  map[*account]*principal
	ip, ua string
	reads  []*api
	meanSz float64
}

var scanReads = []string{"iam:ListUsers", "iam:ListRoles", "iam:ListPolicies", "iam:GetAccountPasswordPolicy", "iam:GetAccountSummary",
	"iam:ListMFADevices", "iam:ListAccessKeys", "iam:GenerateCredentialReport", "s3:ListBuckets", "s3:GetBucketPolicy",
	"s3:GetBucketPublicAccessBlock", "s3:GetBucketEncryption", "s3:GetBucketVersioning", "s3:GetBucketAcl", "ec2:DescribeSecurityGroups",
	"ec2:DescribeInstances", "ec2:DescribeVolumes", "ec2:DescribeSnapshots", "ec2:DescribeFlowLogs", "ec2:DescribeVpcs",
	"cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors", "guardduty:ListDetectors",
	"config:DescribeConfigurationRecorders", "config:DescribeConfigurationRecorderStatus", "kms:ListKeys", "kms:DescribeKey",
	"lambda:ListFunctions20150331", "lambda:GetPolicy20150331v2", "rds:DescribeDBInstances", "rds:DescribeDBSnapshots",
	"secretsmanager:ListSecrets", "securityhub:DescribeHub", "ec2:DescribeRegions"}

func newScanner(r *rand.Rand, o *org) *scanner {
	s := &scanner{audit: map[*account]*principal{}}
	s.fn = newRole(r, o.sec, "security-audit-scanner", "/service-role/")
	for _, a := range []*account{o.prod, o.dev, o.shared} {
		s.audit[a] = newRole(r, a, "SecurityAuditRole", "/")
	}
	s.ip = o.publicIP(r, awsOctets)
	s.ua = agent(r, workloadAgents["python"])
	s.reads = lookupAll(scanReads...)
	s.meanSz = 3 * (2 + scanSize.mean())
	return s
}

func (s *scanner) class() int        { return clsScanner }
func (s *scanner) weight() float64   { return 1 }
func (s *scanner) scheduled() bool   { return true }
func (s *scanner) meanSize() float64 { return s.meanSz }

func (s *scanner) shape(_ *population, m int64) float64 {
	if m%360 == 15 {
		return 1
	}
	return 0
}

func (s *scanner) act(g *gen, t int64, mult float64) {
	r := g.r
	o := g.org
	fn := session{p: s.fn, name: "security-audit-scanner", key: o.sec.key(r, true), created: t - 30}
	for _, target := range []*account{o.prod, o.dev, o.shared} {
		role := s.audit[target]
		shared := uuidString(r)
		sess := fmt.Sprintf("audit-%d", t)
		key := target.key(r, true)
		for _, side := range []*account{o.sec, target} {
			id := fn
			if side != o.sec {
				id = session{p: &principal{kind: kindAWSAccount, acct: o.sec, id: s.fn.id}, name: "security-audit-scanner"}
			}
			c := g.newCall(t, side, o.regions[0], lookup("sts:AssumeRole"), &id, s.ip, s.ua)
			c.shared = shared
			c.v.set(phAcct, target.id)
			c.v.set(phRole, role.name)
			c.v.set(phRoleArn, role.arn)
			c.v.set(phSess, sess)
			c.v.set(phAKey, key)
			g.emit(r, c)
		}
		as := session{p: role, name: sess, key: key, created: t}
		n := int(math.Round(float64(scanSize.draw(r)) * mult))
		for i := 0; i < n; i++ {
			a := s.reads[r.IntN(len(s.reads))]
			region := o.regions[r.IntN(len(o.regions))]
			c := g.newCall(t, target, regionFor(a, region), a, &as, s.ip, s.ua)
			g.fail(r, c, 0.04, 0.04, 0.01)
			g.emit(r, c)
			if r.IntN(3) == 0 {
				t++
			}
		}
		t += 5
	}
}

// serviceActor is an AWS service working in an account: AWS Config describing resources,
// GuardDuty reading configuration, CloudTrail checking its bucket, KMS rotating keys.
type serviceActor struct {
	acct   *account
	region string
	sess   session
	ip, ua string
	apis   []*api
	w      float64
	size   sizeDist
	meanSz float64
	bucket string
}

func (s *serviceActor) class() int                           { return clsService }
func (s *serviceActor) weight() float64                      { return s.w }
func (s *serviceActor) scheduled() bool                      { return false }
func (s *serviceActor) meanSize() float64                    { return s.meanSz }
func (s *serviceActor) shape(_ *population, _ int64) float64 { return 1 }

func (s *serviceActor) act(g *gen, t int64, _ float64) {
	r := g.r
	for n := s.size.draw(r); n > 0; n-- {
		a := s.apis[r.IntN(len(s.apis))]
		c := g.newCall(t, s.acct, regionFor(a, s.region), a, &s.sess, s.ip, s.ua)
		c.noTLS = true
		if s.bucket != "" {
			c.v.set(phBucket, s.bucket)
		}
		g.fail(r, c, 0, 0.01, 0.005)
		g.emit(r, c)
		t += int64(r.IntN(3))
	}
}

var configReads = []string{"ec2:DescribeInstances", "ec2:DescribeSecurityGroups", "ec2:DescribeVolumes", "ec2:DescribeVpcs",
	"ec2:DescribeSubnets", "ec2:DescribeNetworkInterfaces", "ec2:DescribeRouteTables", "iam:GetRole", "iam:ListAttachedRolePolicies",
	"iam:ListRolePolicies", "iam:GetPolicy", "s3:GetBucketAcl", "s3:GetBucketPolicy", "s3:GetBucketVersioning", "s3:GetBucketEncryption",
	"s3:GetBucketTagging", "lambda:GetFunction20150331v2", "lambda:GetPolicy20150331v2", "rds:DescribeDBInstances",
	"kms:DescribeKey", "config:PutEvaluations"}

func (p *population) buildServices(g *gen, r *rand.Rand) {
	o := p.org
	add := func(s *serviceActor) {
		s.meanSz = s.size.mean()
		p.actors = append(p.actors, s)
	}
	cfg := lookupAll(configReads...)
	for _, a := range o.accounts {
		cfgRole := newRole(r, a, "AWSServiceRoleForConfig", "/aws-service-role/config.amazonaws.com/")
		gdRole := newRole(r, a, "AWSServiceRoleForAmazonGuardDuty", "/aws-service-role/guardduty.amazonaws.com/")
		for _, region := range o.regions {
			add(&serviceActor{acct: a, region: region, w: 3,
				sess: session{p: cfgRole, name: "AWSConfig-Describe", key: a.key(r, true), created: g.start - 3600, invokedBy: "config.amazonaws.com"},
				ip:   "config.amazonaws.com", ua: "config.amazonaws.com", apis: cfg, size: sizeDist{mu: 0.5, sigma: 0.9, min: 1, max: 60}})
			add(&serviceActor{acct: a, region: region, w: 1,
				sess: session{p: gdRole, name: "GuardDuty", key: a.key(r, true), created: g.start - 7200, invokedBy: "guardduty.amazonaws.com"},
				ip:   "guardduty.amazonaws.com", ua: "guardduty.amazonaws.com",
				apis: lookupAll("ec2:DescribeInstances", "ec2:DescribeVpcs", "s3:GetBucketAcl", "s3:GetBucketPolicy", "s3:GetBucketPublicAccessBlock", "iam:GetRole"),
				size: sizeDist{mu: 0, sigma: 0.7, min: 1, max: 20}})
			add(&serviceActor{acct: o.sec, region: region, w: 0.7, bucket: o.logBucket,
				sess: session{p: serviceIdentity("cloudtrail.amazonaws.com")}, ip: "cloudtrail.amazonaws.com", ua: "cloudtrail.amazonaws.com",
				apis: lookupAll("s3:GetBucketAcl"), size: sizeDist{mu: -2, sigma: 0.1, min: 1, max: 1}})
		}
		add(&serviceActor{acct: a, region: o.regions[0], w: 0.02,
			sess: session{p: &principal{kind: kindServiceEvent, acct: a, name: "kms.amazonaws.com"}}, ip: "kms.amazonaws.com", ua: "kms.amazonaws.com",
			apis: lookupAll("kms:RotateKey"), size: sizeDist{mu: -2, sigma: 0.1, min: 1, max: 1}})
	}
	asg := newRole(r, o.prod, "AWSServiceRoleForAutoScaling", "/aws-service-role/autoscaling.amazonaws.com/")
	add(&serviceActor{acct: o.prod, region: o.regions[0], w: 1.5,
		sess: session{p: asg, name: "AutoScaling", key: o.prod.key(r, true), created: g.start - 1800, invokedBy: "autoscaling.amazonaws.com"},
		ip:   "autoscaling.amazonaws.com", ua: "autoscaling.amazonaws.com",
		apis: lookupAll("ec2:DescribeInstanceStatus", "ec2:DescribeInstances", "elasticloadbalancing:DescribeTargetHealth"),
		size: sizeDist{mu: 0, sigma: 0.5, min: 1, max: 10}})

	sc := newScanner(r, o)
	p.actors = append(p.actors, sc)
	p.actors = append(p.actors, newPartner(r, o), newBilling(r, o))
}

// partner is a supplier outside the organisation uploading files into a prod bucket during its
// own working hours: its calls are logged with userIdentity type AWSAccount.
type partner struct {
	meanSz float64
	sess   session
	ips    []string
	ua     string
	tz     int
	size   sizeDist
}

func newPartner(r *rand.Rand, o *org) *partner {
	role := &principal{kind: kindAWSAccount, acct: o.partner, id: "AROA" + o.partner.keyTag + randomString(r, keyChars, 13)}
	size := sizeDist{mu: 1.5, sigma: 0.8, min: 1, max: 80}
	return &partner{meanSz: size.mean(), sess: session{p: role, name: "partner-sync"}, ips: []string{o.publicIP(r, homeOctets), o.publicIP(r, homeOctets)},
		ua: agent(r, []string{"aws-cli/1.32.%d Python/3.8.10 Linux/5.15.0-1051-azure botocore/1.34.80"}), tz: homes[r.IntN(len(homes))].tz,
		size: size}
}

func (p *partner) class() int        { return clsOther }
func (p *partner) weight() float64   { return 2 }
func (p *partner) scheduled() bool   { return false }
func (p *partner) meanSize() float64 { return p.meanSz }

func (p *partner) shape(_ *population, m int64) float64 {
	_, wd, h := localClock(m, p.tz)
	v := 0.05
	if h >= 8 && h < 18 {
		v = 1
	}
	if isWeekend(wd) {
		v *= 0.1
	}
	return v
}

func (p *partner) act(g *gen, t int64, _ float64) {
	r := g.r
	o := g.org
	ip := p.ips[r.IntN(len(p.ips))]
	for n := p.size.draw(r); n > 0; n-- {
		c := g.newCall(t, o.prod, o.regions[0], lookup("s3:PutObject"), &p.sess, ip, p.ua)
		c.v.set(phBucket, o.name+"-prod-partner-inbound")
		g.fail(r, c, 0.005, 0, 0.002)
		g.emit(r, c)
		t += int64(r.IntN(4))
	}
}

// billing is a reporting tool that gets federation tokens for a FederatedUser and reads costs.
type billing struct {
	meanSz float64
	user   *principal
	fed    *principal
	key    string
	ua     string
	size   sizeDist
}

func newBilling(r *rand.Rand, o *org) *billing {
	u := newUser(r, o.shared, "billing-export")
	size := sizeDist{mu: 1.8, sigma: 0.5, min: 2, max: 40}
	return &billing{meanSz: 1 + size.mean(), user: u, fed: &principal{kind: kindFederatedUser, acct: o.shared, name: "cost-report", parent: u},
		key: o.shared.key(r, false), ua: agent(r, botoAgents), size: size}
}

func (b *billing) class() int        { return clsOther }
func (b *billing) weight() float64   { return 0.5 }
func (b *billing) scheduled() bool   { return false }
func (b *billing) meanSize() float64 { return b.meanSz }

func (b *billing) shape(p *population, m int64) float64 {
	_, wd, h := localClock(m, p.org.tz)
	if isWeekend(wd) || h < 6 || h >= 19 {
		return 0
	}
	return 1
}

func (b *billing) act(g *gen, t int64, _ float64) {
	r := g.r
	o := g.org
	ip := o.officeIPs[0]
	us := session{p: b.user, key: b.key}
	c := g.newCall(t, o.shared, "us-east-1", lookup("sts:GetFederationToken"), &us, ip, b.ua)
	c.v.set(phSess, b.fed.name)
	g.emit(r, c)
	fs := session{p: b.fed, key: o.shared.key(r, true), created: t}
	apis := lookupAll("ce:GetCostAndUsage", "ce:GetCostForecast", "organizations:ListAccounts")
	for n := b.size.draw(r); n > 0; n-- {
		t += int64(r.IntN(3))
		c := g.newCall(t, o.shared, "us-east-1", apis[r.IntN(len(apis))], &fs, ip, b.ua)
		g.fail(r, c, 0.005, 0, 0.02)
		g.emit(r, c)
	}
}

// reportJob is the harmless monthly oddity: a reporting task that reads many objects once a
// month, from a private address through the VPC endpoint.
type reportJob struct {
	role   *principal
	at     int64
	task   string
	ip     string
	vpce   string
	bucket string
	total  int
	label  *Label
	ua     string
}

func newReportJob(g *gen, r *rand.Rand) *reportJob {
	o := g.org
	j := &reportJob{role: newRole(r, o.prod, "monthly-reporting-task", "/"), task: hexString(r, 32), ip: privateIP(r, 17),
		vpce: hexID(r, "vpce-"), ua: agent(r, workloadAgents["java"])}
	j.bucket = o.prod.buckets[r.IntN(len(o.prod.buckets))]
	// The first of the month if the window holds it, else the last day: 02:00–04:00 UTC.
	day := (g.end - 86400) / 86400
	for d := g.start / 86400; d*86400 < g.end; d++ {
		if d*86400 >= g.start && time.Unix(d*86400, 0).UTC().Day() == 1 {
			day = d
		}
	}
	j.at = day*86400 + 2*3600 + r.Int64N(7200)
	j.total = int(min(5000, max(300, 0.02*float64(g.cfg.EventsPerDay))))
	j.label = g.addLabel(&Label{Scenario: "benign-monthly-report", Benign: true, Account: o.prod.id,
		Principal: "arn:aws:sts::" + o.prod.id + ":assumed-role/" + j.role.name + "/" + j.task, SourceIP: j.ip,
		Description: fmt.Sprintf("the monthly reporting task lists and reads about %d objects from %s, as it does on the first of every month", j.total, j.bucket)})
	return j
}

func (j *reportJob) tick(g *gen, m int64) {
	if j.at/60 != m {
		return
	}
	r := newRand(g.org.seed, "report") // its own stream: the window may or may not hold it
	s := session{p: j.role, name: j.task, key: g.org.prod.key(r, true), created: j.at - 20}
	t := j.at
	dur := int64(1200 + r.IntN(1200))
	for i := 0; i < j.total; i++ {
		a := lookup("s3:GetObject")
		if i%100 == 0 {
			a = lookup("s3:ListObjects")
		}
		c := g.newCall(t+int64(i)*dur/int64(j.total), g.org.prod, g.org.regions[0], a, &s, j.ip, j.ua)
		c.vpce = j.vpce
		c.v.set(phBucket, j.bucket)
		j.label.note(g.emit(r, c), c.t)
	}
}
