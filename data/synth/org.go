package synth

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// account is one AWS account of the organisation and the resources its records name.
type account struct {
	id, name string
	keyTag   string // four characters every access key of the account shares, as real keys do
	buckets, instances, amis, snapshots, vpcs, subnets, sgs, secrets, params, functions,
	clusters, services, repos, kmsKeys, roles, users, stacks, tables, logGroups, queues, databases,
	groups []string
	trail, detector, zone string
	root                  *principal
}

// org is the synthetic organisation a seed describes: accounts, regions, people, workloads.
type org struct {
	seed     uint64
	name     string
	accounts []*account // prod, dev, security, shared-services
	prod     *account
	dev      *account
	sec      *account
	shared   *account
	partner  *account // outside the organisation: a supplier that uploads files
	// regions used, primary first; unused are regions nothing normal ever touches.
	regions   []string
	unused    []string
	logBucket string
	tz        int // minutes east of UTC of the main office
	officeIPs []string
	services  []string // application service names
	usedIPs   map[string]bool
}

var allRegions = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1",
	"eu-north-1", "eu-south-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ap-northeast-2",
	"ap-northeast-3", "ap-south-1", "sa-east-1", "ca-central-1", "af-south-1", "me-south-1", "me-central-1",
	"ap-east-1",
}

// office time zones (minutes east of UTC) and the regions such an organisation would pick.
var homes = []struct {
	tz      int
	regions []string
}{
	{-300, []string{"us-east-1", "us-east-2"}},
	{-480, []string{"us-west-2", "us-west-1"}},
	{60, []string{"eu-west-1", "eu-central-1"}},
	{0, []string{"eu-west-2", "eu-west-1"}},
	{120, []string{"eu-north-1", "eu-central-1"}},
	{600, []string{"ap-southeast-2", "ap-southeast-1"}},
	{330, []string{"ap-south-1", "ap-southeast-1"}},
	{-180, []string{"sa-east-1", "us-east-1"}},
}

var companies = []string{"acme", "globex", "initech", "umbrella", "hooli", "vandelay", "tyrell", "wonka", "soylent",
	"cyberdyne", "massive", "stark", "wayne", "oscorp", "gringotts", "monarch", "aperture", "octan", "duff", "nakatomi"}

var serviceNames = []string{"orders", "payments", "catalog", "accounts", "search", "notifications", "billing",
	"media", "reports", "auth", "inventory", "shipping", "pricing", "reviews", "ledger", "checkout"}

var firstNames = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
	"niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yasmin", "zoe", "amir", "bea", "chen",
	"dmitri", "elena", "farah", "goran", "hana", "ines", "jonas", "kofi", "lena", "mateo", "noor", "oskar", "priya",
	"quinn", "rosa", "sanjay", "tomas", "uma", "vera", "wei", "xavier", "yusuf"}

var lastNames = []string{"martin", "garcia", "smith", "muller", "rossi", "dubois", "kowalski", "nguyen", "tanaka",
	"okafor", "silva", "jensen", "novak", "ivanova", "haddad", "kim", "patel", "lopez", "fischer", "brown", "wilson",
	"moreau", "costa", "larsen", "berg", "sato", "khan", "ali", "schmidt", "murphy"}

// newRand returns a PCG stream derived from the seed and a purpose, so each part of the
// generator draws from its own stream and adding one part never shifts another.
func newRand(seed uint64, purpose ...string) *rand.Rand {
	h := stableHash(purpose...)
	return rand.New(rand.NewPCG(seed^h, splitmix(seed+h)))
}

// stableHash is FNV-1a over the parts, separated so ("ab","c") differs from ("a","bc").
func stableHash(parts ...string) uint64 {
	h := uint64(14695981039346656037)
	for _, p := range parts {
		for i := 0; i < len(p); i++ {
			h ^= uint64(p[i])
			h *= 1099511628211
		}
		h ^= 0xff
		h *= 1099511628211
	}
	return splitmix(h)
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// stableSuffix is a short alphanumeric suffix that depends only on s (Secrets Manager ARNs end in one).
func stableSuffix(s string, n int) string {
	return randomString(rand.New(rand.NewPCG(stableHash(s), 1)), upperAlnum[:26]+"abcdefghijklmnopqrstuvwxyz", n)
}

func stableUUID(s string) string { return uuidString(rand.New(rand.NewPCG(stableHash(s), 2))) }

func accountID(r *rand.Rand) string { return fmt.Sprintf("%012d", 100000000000+r.Int64N(899999999999)) }

// ISP-like first octets for people's addresses; attackers come from other blocks (see attackerIP).
var homeOctets = []int{24, 31, 37, 46, 62, 68, 73, 77, 78, 81, 82, 84, 86, 88, 90, 92, 94, 98, 109, 151, 176, 178, 188, 212, 213, 217}

func (o *org) publicIP(r *rand.Rand, octets []int) string {
	for {
		ip := fmt.Sprintf("%d.%d.%d.%d", octets[r.IntN(len(octets))], r.IntN(256), r.IntN(256), 1+r.IntN(254))
		if !o.usedIPs[ip] {
			o.usedIPs[ip] = true
			return ip
		}
	}
}

func privateIP(r *rand.Rand, net int) string {
	return fmt.Sprintf("10.%d.%d.%d", net, r.IntN(64), 4+r.IntN(250))
}

func newOrg(seed uint64) *org {
	r := newRand(seed, "org")
	o := &org{seed: seed, usedIPs: map[string]bool{}}
	o.name = companies[r.IntN(len(companies))]
	home := homes[r.IntN(len(homes))]
	o.tz = home.tz
	primary := home.regions[r.IntN(len(home.regions))]
	o.regions = []string{primary}
	if primary != "us-east-1" {
		o.regions = append(o.regions, "us-east-1") // global services (IAM, sign-in) log there
	}
	if len(o.regions) < 2 || r.IntN(2) == 0 {
		for {
			x := allRegions[r.IntN(len(allRegions))]
			if !slices.Contains(o.regions, x) {
				o.regions = append(o.regions, x)
				break
			}
		}
	}
	for _, x := range allRegions {
		if !slices.Contains(o.regions, x) {
			o.unused = append(o.unused, x)
		}
	}
	svcs := slices.Clone(serviceNames)
	r.Shuffle(len(svcs), func(i, j int) { svcs[i], svcs[j] = svcs[j], svcs[i] })
	o.services = svcs[:5+r.IntN(5)]
	for _, name := range []string{"prod", "dev", "security", "shared-services"} {
		a := &account{id: accountID(r), name: name, keyTag: randomString(r, keyChars, 4)}
		a.root = &principal{kind: kindRoot, acct: a, id: a.id, arn: "arn:aws:iam::" + a.id + ":root"}
		o.accounts = append(o.accounts, a)
	}
	o.prod, o.dev, o.sec, o.shared = o.accounts[0], o.accounts[1], o.accounts[2], o.accounts[3]
	o.partner = &account{id: accountID(r), name: "partner", keyTag: randomString(r, keyChars, 4)}
	o.logBucket = o.name + "-cloudtrail-logs-" + o.sec.id
	for i := 0; i < 2; i++ {
		o.officeIPs = append(o.officeIPs, o.publicIP(r, homeOctets))
	}
	for _, a := range o.accounts {
		o.fillAccount(r, a)
	}
	return o
}

func hexID(r *rand.Rand, prefix string) string { return prefix + "0" + hexString(r, 16) }

func (o *org) fillAccount(r *rand.Rand, a *account) {
	env := a.name
	if env == "shared-services" {
		env = "shared"
	}
	n := func(lo, hi int) int { return lo + r.IntN(hi-lo+1) }
	svcs := o.services
	switch a.name {
	case "prod", "dev":
		words := []string{"customer-data", "exports", "uploads", "invoices", "backups", "analytics", "media", "reports", "app-logs", "static-assets", "data-lake", "partner-inbound"}
		r.Shuffle(len(words), func(i, j int) { words[i], words[j] = words[j], words[i] })
		k := n(7, 12)
		if a.name == "dev" {
			k = n(4, 7)
		}
		for _, w := range words[:k] {
			a.buckets = append(a.buckets, o.name+"-"+env+"-"+w)
		}
		if a.name == "prod" && !slices.Contains(a.buckets, o.name+"-prod-partner-inbound") {
			a.buckets = append(a.buckets, o.name+"-prod-partner-inbound")
		}
		for _, s := range svcs {
			a.secrets = append(a.secrets, env+"/"+s+"/db-credentials", env+"/"+s+"/api-key")
			a.params = append(a.params, "/"+s+"/"+env+"/config", "/"+s+"/"+env+"/feature-flags")
			a.functions = append(a.functions, s+"-"+[]string{"processor", "worker", "handler", "sync", "notifier"}[r.IntN(5)])
			a.services = append(a.services, s)
			a.repos = append(a.repos, s)
			a.stacks = append(a.stacks, s+"-"+env)
			a.tables = append(a.tables, s+"-"+env)
			a.queues = append(a.queues, s+"-"+env+"-events")
			a.logGroups = append(a.logGroups, "/aws/lambda/"+a.functions[len(a.functions)-1], "/ecs/"+s)
		}
		a.clusters = []string{env + "-cluster"}
		a.databases = []string{o.services[0] + "-" + env + "-db", o.services[1] + "-" + env + "-db"}
		for i := n(8, 20); i > 0; i-- {
			a.instances = append(a.instances, hexID(r, "i-"))
		}
	case "security":
		a.buckets = []string{o.logBucket, o.name + "-config-" + a.id, o.name + "-security-findings"}
		a.functions = []string{"findings-forwarder", "guardduty-notifier"}
		a.secrets = []string{"security/siem/api-token"}
		a.params = []string{"/security/siem/endpoint"}
		a.logGroups = []string{"/aws/lambda/findings-forwarder"}
		a.tables = []string{"findings"}
		a.stacks = []string{"security-baseline"}
		a.instances = []string{hexID(r, "i-")}
	case "shared-services":
		a.buckets = []string{o.name + "-artifacts", o.name + "-terraform-state", o.name + "-shared-config"}
		a.functions = []string{"artifact-cleanup", "dns-sync"}
		a.secrets = []string{"shared/ci/github-app-key", "shared/ci/npm-token"}
		a.params = []string{"/ci/terraform/version"}
		a.repos = slices.Clone(svcs)
		a.logGroups = []string{"/aws/lambda/artifact-cleanup"}
		a.stacks = []string{"shared-network", "ci-roles"}
		a.tables = []string{"terraform-locks"}
		a.instances = []string{hexID(r, "i-"), hexID(r, "i-")}
	}
	for i := n(2, 4); i > 0; i-- {
		a.amis = append(a.amis, hexID(r, "ami-"))
	}
	for i := n(4, 9); i > 0; i-- {
		a.snapshots = append(a.snapshots, hexID(r, "snap-"))
	}
	for i := n(1, 2); i > 0; i-- {
		a.vpcs = append(a.vpcs, hexID(r, "vpc-"))
	}
	for i := n(3, 6); i > 0; i-- {
		a.subnets = append(a.subnets, hexID(r, "subnet-"))
	}
	for i := n(4, 9); i > 0; i-- {
		a.sgs = append(a.sgs, hexID(r, "sg-"))
	}
	for i := n(2, 5); i > 0; i-- {
		a.kmsKeys = append(a.kmsKeys, uuidString(r))
	}
	a.trail = o.name + "-" + env + "-trail"
	a.detector = hexString(r, 32)
	a.zone = "Z0" + randomString(r, upperAlnum, 18)
	a.groups = []string{"developers", "operations", "readonly", "admins"}
}

// key returns a long-term (AKIA) or session (ASIA) access key of the account.
func (a *account) key(r *rand.Rand, session bool) string {
	if session {
		return "ASIA" + a.keyTag + randomString(r, keyChars, 12)
	}
	return "AKIA" + a.keyTag + randomString(r, keyChars, 12)
}

// newUser makes an IAM user principal in a.
func newUser(r *rand.Rand, a *account, name string) *principal {
	a.users = append(a.users, name)
	return &principal{kind: kindIAMUser, acct: a, id: "AIDA" + a.keyTag + randomString(r, keyChars, 13), name: name,
		arn: "arn:aws:iam::" + a.id + ":user/" + name}
}

// newRole makes an IAM role principal in a; path is "/" or a service-role path.
func newRole(r *rand.Rand, a *account, name, path string) *principal {
	if !slices.Contains(a.roles, name) {
		a.roles = append(a.roles, name)
	}
	return &principal{kind: kindAssumedRole, acct: a, id: "AROA" + a.keyTag + randomString(r, keyChars, 13), name: name,
		arn: "arn:aws:iam::" + a.id + ":role" + path + name}
}

func serviceIdentity(svc string) *principal { return &principal{kind: kindAWSService, name: svc} }
