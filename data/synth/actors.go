package synth

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Actor classes and their share of an average weekday's ordinary events.
const (
	clsWorkload = iota
	clsHuman
	clsCI
	clsService
	clsScanner
	clsOther
	numClasses
)

var classShare = [numClasses]float64{0.50, 0.19, 0.10, 0.13, 0.03, 0.05}

// actor is a source of ordinary traffic: a person, a workload, a pipeline, an AWS service.
type actor interface {
	class() int
	weight() float64
	// shape is the relative intensity in minute m (unix minutes); 0 means idle.
	shape(p *population, m int64) float64
	// meanSize is the expected number of events one activity produces.
	meanSize() float64
	// scheduled actors run exactly once in each minute their shape is positive, with their size
	// multiplied by the calibrated rate; the others run a Poisson number of times.
	scheduled() bool
	act(g *gen, t int64, mult float64)
}

// population is every actor of the organisation plus the one-off oddities.
type population struct {
	org       *org
	actors    []actor
	coef      []float64
	humans    []*human
	workloads []*workload
	ci        *pipeline
	report    *reportJob
	// memo of the workload shape, shared by every workload in a minute.
	memoMin int64
	memoVal float64
}

func newPopulation(g *gen) *population {
	o := g.org
	r := newRand(o.seed, "population")
	p := &population{org: o, memoMin: -1}
	p.buildWorkloads(g, r)
	p.buildHumans(g, r)
	p.ci = newPipeline(g, r)
	p.actors = append(p.actors, p.ci)
	p.buildServices(g, r)
	p.report = newReportJob(g, r)
	return p
}

// tick runs every actor for minute m.
func (p *population) tick(g *gen, m int64) {
	r := g.r
	for i, a := range p.actors {
		s := a.shape(p, m)
		if s <= 0 || p.coef[i] <= 0 {
			continue
		}
		lam := p.coef[i] * s
		if a.scheduled() {
			a.act(g, m*60+int64(r.IntN(60)), lam)
			continue
		}
		for n := poisson(r, lam); n > 0; n-- {
			a.act(g, m*60+int64(r.IntN(60)), 1)
		}
	}
	for _, w := range p.workloads {
		w.rotate(g, m)
	}
	p.report.tick(g, m)
}

// calibrate sets each actor's rate so an average weekday holds EventsPerDay events (or the
// window holds TotalEvents), split between the classes by classShare.
func (g *gen) calibrate() {
	p := g.pop
	// Average daily shape over five weekdays ending with the last weekday of the window.
	var days []int64
	for d := (g.end - 86400) / 86400; len(days) < 5; d-- {
		if wd := weekday(d); wd != time.Saturday && wd != time.Sunday {
			days = append(days, d)
		}
	}
	dsum := make([]float64, len(p.actors))
	for _, d := range days {
		for m := d * 1440; m < (d+1)*1440; m++ {
			for i, a := range p.actors {
				dsum[i] += a.shape(p, m)
			}
		}
	}
	var wsum [numClasses]float64
	for _, a := range p.actors {
		wsum[a.class()] += a.weight()
	}
	fixed := 0.0
	for _, w := range p.workloads {
		fixed += w.rotationsPerDay()
	}
	unit := make([]float64, len(p.actors)) // coefficients for one ordinary event per weekday
	for i, a := range p.actors {
		if dsum[i] == 0 {
			continue
		}
		d := dsum[i] / float64(len(days))
		unit[i] = classShare[a.class()] * a.weight() / wsum[a.class()] / (d * a.meanSize())
	}
	n := float64(g.cfg.EventsPerDay) - fixed
	if g.cfg.TotalEvents > 0 {
		e1 := 0.0
		for m := g.start / 60; m < g.end/60; m++ {
			for i, a := range p.actors {
				if unit[i] > 0 {
					e1 += unit[i] * a.shape(p, m) * a.meanSize()
				}
			}
		}
		n = (float64(g.cfg.TotalEvents) - fixed*float64(g.cfg.Days)) / e1
	}
	n = math.Max(n, 0.2*float64(g.cfg.EventsPerDay))
	p.coef = make([]float64, len(p.actors))
	for i := range unit {
		p.coef[i] = unit[i] * n
	}
}

func weekday(day int64) time.Weekday { return time.Weekday((day%7 + 11) % 7) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// workCurve is how busy a person (or their team) is h hours after starting work.
func workCurve(h float64) float64 {
	switch {
	case h < 0:
		return 0
	case h < 0.5:
		return 0.5
	case h < 4:
		return 1
	case h < 5:
		return 0.55 // lunch
	case h < 9:
		return 1
	case h < 9.5:
		return 0.5
	case h < 13:
		return 0.05 // the odd evening check
	}
	return 0
}

// localClock returns the local day number, weekday and hour of minute m in a time zone.
func localClock(m int64, tzMinutes int) (int64, time.Weekday, float64) {
	lm := m + int64(tzMinutes)
	day := floorDiv(lm, 1440)
	return day, weekday(day), float64(lm-day*1440) / 60
}

func isWeekend(wd time.Weekday) bool { return wd == time.Saturday || wd == time.Sunday }

// workloadShape is customer traffic in the main office's time zone: a daily swell peaking in
// the afternoon, a little lower at weekends.
func (p *population) workloadShape(m int64) float64 {
	if m == p.memoMin {
		return p.memoVal
	}
	_, wd, h := localClock(m, p.org.tz)
	v := 0.55 + 0.45*(1+math.Cos(2*math.Pi*(h-14)/24))/2
	if isWeekend(wd) {
		v *= 0.8
	}
	p.memoMin, p.memoVal = m, v
	return v
}

// regionFor returns where a call lands: global services log in us-east-1.
func regionFor(a *api, preferred string) string {
	switch a.iamPrefix {
	case "iam", "organizations", "route53", "ce", "health", "signin":
		return "us-east-1"
	}
	if a.name == "ListBuckets" {
		return "us-east-1"
	}
	return preferred
}

// ---- workloads -------------------------------------------------------------------------------

const (
	wkEC2 = iota
	wkLambda
	wkECS
)

// workload is a role used by machines: EC2 instances, Lambda functions or ECS tasks, each
// holding rotating session credentials, calling from private addresses at a steady cadence.
type workload struct {
	name      string
	kind      int
	role      *principal
	acct      *account
	region    string
	sessions  []string // instance IDs, the function name or task IDs
	ips       []string
	phase     []int64
	period    int64
	keys      []rotKey
	apis      []*api
	cum       []float64
	ua, ssmUA string
	buckets   []string
	vpce      string
	w         float64
	constant  bool // a scheduled job: the same rate day and night
	svc       string
	kmsShare  float64 // share of calls that are S3 object calls, each followed half the time by KMS
}

type rotKey struct {
	k   int64
	key string
}

func (w *workload) class() int        { return clsWorkload }
func (w *workload) weight() float64   { return w.w }
func (w *workload) scheduled() bool   { return false }
func (w *workload) meanSize() float64 { return 1 + 0.5*w.kmsShare }

func (w *workload) shape(p *population, m int64) float64 {
	if w.constant {
		return 1
	}
	return p.workloadShape(m)
}

func (w *workload) rotationsPerDay() float64 {
	return float64(len(w.sessions)) * 86400 / float64(w.period)
}

// session returns the credentials session i holds at t: a fresh key every period, the same key
// the scenario code derives for a stolen-credential replay.
func (w *workload) session(g *gen, i int, t int64) session {
	k := floorDiv(t-w.phase[i], w.period)
	if w.keys[i].key == "" || w.keys[i].k != k {
		w.keys[i] = rotKey{k, w.keyAt(g.org.seed, i, k)}
	}
	return session{p: w.role, name: w.sessions[i], key: w.keys[i].key, created: w.phase[i] + k*w.period}
}

func (w *workload) keyAt(seed uint64, i int, k int64) string {
	r := newRand(seed, "rotation", w.role.arn, w.sessions[i], itoa(int(k)))
	return w.acct.key(r, true)
}

// rotate emits the AssumeRole an AWS service makes when a session's credentials are renewed.
func (w *workload) rotate(g *gen, m int64) {
	for i := range w.sessions {
		k := floorDiv(m*60-w.phase[i]+w.period-1, w.period) // first renewal at or after the minute's start
		off := w.phase[i] + k*w.period
		if off >= m*60+60 {
			continue
		}
		s := session{p: serviceIdentity(w.svc)}
		c := g.newCall(off, w.acct, w.region, lookup("sts:AssumeRole"), &s, w.svc, w.svc)
		c.noTLS = true
		c.v.set(phRole, w.role.name)
		c.v.set(phRoleArn, w.role.arn)
		c.v.set(phSess, w.sessions[i])
		c.v.set(phAKey, w.keyAt(g.org.seed, i, k))
		g.emit(g.r, c)
	}
}

func (w *workload) act(g *gen, t int64, _ float64) {
	r := g.r
	i := r.IntN(len(w.sessions))
	s := w.session(g, i, t)
	a := w.apis[weighted(r, w.cum)]
	ua := w.ua
	if a.iamPrefix == "ssm" && w.kind == wkEC2 {
		ua = w.ssmUA
	}
	c := g.newCall(t, w.acct, w.region, a, &s, w.ips[i], ua)
	if a.source == "s3.amazonaws.com" && w.vpce != "" {
		c.vpce = w.vpce
	}
	if a.iamPrefix == "s3" && len(w.buckets) > 0 {
		c.v.set(phBucket, w.buckets[r.IntN(len(w.buckets))])
	}
	if a.iamPrefix == "lambda" || a.iamPrefix == "kms" {
		c.v.set(phFn, pickFn(r, w))
	}
	c.v.set(phInstance, w.sessions[i])
	g.fail(r, c, 0.002, 0.006, 0.004)
	obj := a.data && a.iamPrefix == "s3" && c.errCode == ""
	bucket := c.v.get(phBucket)
	g.emit(r, c)
	if obj && r.IntN(2) == 0 {
		// SSE-KMS: S3 calls KMS on the caller's behalf, which CloudTrail logs as the caller
		// invoked by AWS Internal.
		k := lookup("kms:Decrypt")
		if a.name == "PutObject" {
			k = lookup("kms:GenerateDataKey")
		}
		s.invokedBy = "AWS Internal"
		c := g.newCall(t, w.acct, w.region, k, &s, "AWS Internal", "AWS Internal")
		c.noTLS = true
		c.v.set(phBucket, bucket)
		c.v.set(phFn, pickFn(r, w))
		g.emit(r, c)
	}
}

func pickFn(r *rand.Rand, w *workload) string {
	if w.kind == wkLambda {
		return w.sessions[0]
	}
	return pick(r, w.acct.functions)
}

var workloadAPIs = map[int][]struct {
	id string
	w  float64
}{
	// Readers of a bucket list it now and then (ListObjectsV2 is logged as ListObjects).
	wkEC2: {{"s3:GetObject", 30}, {"s3:PutObject", 14}, {"s3:HeadObject", 5}, {"s3:ListObjects", 2}, {"kms:Decrypt", 3}, {"ssm:GetParameter", 6},
		{"ssm:GetParametersByPath", 2}, {"ssm:UpdateInstanceInformation", 5}, {"ssm:ListInstanceAssociations", 2},
		{"secretsmanager:GetSecretValue", 2}, {"sts:GetCallerIdentity", 1}, {"ec2:DescribeTags", 2}, {"logs:CreateLogStream", 1}},
	wkLambda: {{"s3:GetObject", 20}, {"s3:PutObject", 18}, {"s3:ListObjects", 1}, {"dynamodb:DescribeTable", 3}, {"ssm:GetParameter", 8},
		{"secretsmanager:GetSecretValue", 6}, {"kms:Decrypt", 6}, {"sts:GetCallerIdentity", 1}, {"lambda:Invoke", 8}, {"logs:CreateLogStream", 3}},
	wkECS: {{"ecr:GetAuthorizationToken", 2}, {"ecr:BatchGetImage", 2}, {"ecr:GetDownloadUrlForLayer", 6}, {"s3:GetObject", 25},
		{"s3:PutObject", 15}, {"s3:ListObjects", 2}, {"secretsmanager:GetSecretValue", 3}, {"kms:Decrypt", 4}, {"ssm:GetParameters", 4},
		{"sts:GetCallerIdentity", 1}, {"logs:CreateLogStream", 2}},
}

func (w *workload) setAPIs(r *rand.Rand) {
	var s3 float64
	for _, x := range workloadAPIs[w.kind] {
		a := lookup(x.id)
		wt := x.w * (0.5 + r.Float64()) // every workload has its own mix
		w.apis = append(w.apis, a)
		acc := wt
		if n := len(w.cum); n > 0 {
			acc += w.cum[n-1]
		}
		w.cum = append(w.cum, acc)
		if a.data && a.iamPrefix == "s3" {
			s3 += wt
		}
	}
	w.kmsShare = s3 / w.cum[len(w.cum)-1]
}

// wafNames are what the Capital One story's instance role could be called.
var wafNames = []string{"web-waf", "waf-proxy", "edge-waf", "modsec-proxy", "ingress-waf"}

func (p *population) buildWorkloads(g *gen, r *rand.Rand) {
	o := p.org
	add := func(w *workload) {
		w.setAPIs(r)
		w.phase = make([]int64, len(w.sessions))
		w.keys = make([]rotKey, len(w.sessions))
		for i := range w.phase {
			w.phase[i] = r.Int64N(w.period)
		}
		p.workloads = append(p.workloads, w)
		p.actors = append(p.actors, w)
	}
	heavy := func() float64 { return math.Exp(r.NormFloat64() * 0.9) }
	netOf := map[*account]int{o.prod: 16, o.dev: 32, o.sec: 48, o.shared: 64}
	ips := func(a *account, n int) []string {
		var out []string
		for i := 0; i < n; i++ {
			out = append(out, privateIP(r, netOf[a]+r.IntN(4)))
		}
		return out
	}
	// EC2 fleets; the first prod fleet is the WAF of the Capital One story.
	for _, a := range []*account{o.prod, o.dev} {
		fleets := 2 + r.IntN(3)
		insts := a.instances
		for f := 0; f < fleets && len(insts) > 0; f++ {
			name := o.services[f%len(o.services)] + "-app"
			if f == 0 && a == o.prod {
				name = wafNames[r.IntN(len(wafNames))]
			}
			k := 1 + r.IntN(min(4, len(insts)))
			w := &workload{name: name, kind: wkEC2, acct: a, region: o.regions[0], sessions: insts[:k], ips: ips(a, k),
				period: 6 * 3600, w: heavy(), svc: "ec2.amazonaws.com", vpce: hexID(r, "vpce-")}
			insts = insts[k:]
			w.role = newRole(r, a, name+"-role", "/")
			w.role.ec2 = true
			w.ua = agent(r, workloadAgents[[]string{"java", "go", "python"}[r.IntN(3)]])
			if w.ua[:5] == "Boto3" {
				w.ua = agent(r, workloadAgents["go"])
			}
			w.ssmUA = agent(r, workloadAgents["ssm"])
			w.buckets = pickN(r, a.buckets, 1+r.IntN(2))
			if f == 0 && a == o.prod {
				w.w = 1.2 // the WAF is busy but reads a single configuration bucket
				w.buckets = w.buckets[:1]
			}
			add(w)
		}
	}
	// Lambda functions.
	for _, a := range []*account{o.prod, o.dev, o.sec, o.shared} {
		n := len(a.functions)
		if a == o.dev {
			n = min(n, 4)
		}
		for _, fn := range a.functions[:n] {
			region := o.regions[0]
			if r.IntN(6) == 0 {
				region = o.regions[len(o.regions)-1]
			}
			w := &workload{name: fn, kind: wkLambda, acct: a, region: region, sessions: []string{fn}, ips: ips(a, 1),
				period: 12 * 3600, w: heavy() * 0.6, svc: "lambda.amazonaws.com", constant: r.IntN(3) == 0}
			w.role = newRole(r, a, fn+"-role", "/service-role/")
			w.ua = agent(r, workloadAgents[[]string{"python", "node"}[r.IntN(2)]])
			w.buckets = pickN(r, a.buckets, 1+r.IntN(2))
			add(w)
		}
	}
	// ECS services.
	for _, a := range []*account{o.prod, o.dev} {
		for _, svc := range a.services[:min(len(a.services), 3+r.IntN(3))] {
			k := 2 + r.IntN(4)
			tasks := make([]string, k)
			for i := range tasks {
				tasks[i] = hexString(r, 32)
			}
			w := &workload{name: svc, kind: wkECS, acct: a, region: o.regions[0], sessions: tasks, ips: ips(a, k),
				period: 6 * 3600, w: heavy(), svc: "ecs-tasks.amazonaws.com", vpce: hexID(r, "vpce-")}
			w.role = newRole(r, a, svc+"-task", "/")
			w.ua = agent(r, workloadAgents[[]string{"ecs", "java"}[r.IntN(2)]])
			w.buckets = pickN(r, a.buckets, 1+r.IntN(2))
			add(w)
		}
	}
}

func pickN(r *rand.Rand, xs []string, n int) []string {
	c := slices.Clone(xs)
	r.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
	return c[:min(n, len(c))]
}

// waf returns the Capital One story's instance-role workload.
func (p *population) waf() *workload { return p.workloads[0] }
