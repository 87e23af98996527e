package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// Placeholders the request, response and resource templates use, written %name% in a template.
// Within one record a placeholder resolves once, so a bucket named in requestParameters is the
// bucket in resources.
const (
	phAcct = iota
	phRegion
	phAZ
	phBucket
	phKey
	phSize
	phInstance
	phAMI
	phSnap
	phVol
	phVPC
	phSubnet
	phSG
	phENI
	phIType
	phSecret
	phSecretArn
	phParam
	phFn
	phFnArn
	phCluster
	phService
	phTaskDef
	phTask
	phRepo
	phDigest
	phKMS
	phKMSArn
	phRole
	phRoleArn
	phSess
	phUser
	phTrail
	phTrailArn
	phLogBucket
	phDetector
	phStack
	phStackID
	phTable
	phLogGroup
	phStream
	phZone
	phQueue
	phUUID
	phUUID2
	phHex8
	phN
	phNow
	phExp
	phMs
	phAKey
	phToken
	phPeer
	phNewUser
	phPolicy
	phIP
	phReqID
	phDB
	phFlow
	phAmzID
	phGroup
	phWhen
	phUID
	phCount
)

var phNames = [phCount]string{
	"acct", "region", "az", "bucket", "key", "size", "instance", "ami", "snap", "vol", "vpc", "subnet", "sg", "eni",
	"itype", "secret", "secretArn", "param", "fn", "fnArn", "cluster", "service", "taskdef", "task", "repo",
	"digest", "kms", "kmsArn", "role", "roleArn", "sess", "user", "trail", "trailArn", "logbucket", "detector",
	"stack", "stackId", "table", "loggroup", "stream", "zone", "queue", "uuid", "uuid2", "hex8", "n", "now", "exp",
	"ms", "akey", "token", "peer", "newuser", "policy", "ip", "reqid", "db", "flow", "amzid", "group", "when", "uid",
}

// tmpl is a parsed JSON template: literal text and placeholders. A nil tmpl renders as null.
type tmpl []seg

type seg struct {
	lit string
	ph  int // -1: literal only
}

// mustTemplate parses s; it panics on an unknown placeholder, which the package's tests catch
// because the catalogue is built at init.
func mustTemplate(s string) tmpl {
	if s == "" {
		return nil
	}
	var t tmpl
	for {
		i := strings.IndexByte(s, '%')
		if i < 0 {
			t = append(t, seg{lit: s, ph: -1})
			return t
		}
		j := strings.IndexByte(s[i+1:], '%')
		if j < 0 {
			panic(fmt.Sprintf("synth: unterminated placeholder in template %q", s))
		}
		name := s[i+1 : i+1+j]
		ph := -1
		for k, n := range phNames {
			if n == name {
				ph = k
				break
			}
		}
		if ph < 0 {
			panic(fmt.Sprintf("synth: unknown placeholder %%%s%% in template %q", name, s))
		}
		t = append(t, seg{lit: s[:i], ph: ph})
		s = s[i+j+2:]
	}
}

// vars resolves placeholders for one record.
type vars struct {
	g    *renderer
	c    *call
	r    *rand.Rand
	val  [phCount]string
	have [phCount]bool
}

func (v *vars) reset(g *renderer, c *call, r *rand.Rand) { v.g, v.c, v.r = g, c, r }

// set fixes a placeholder's value for this record before it is rendered.
func (v *vars) set(ph int, s string) { v.val[ph], v.have[ph] = s, true }

func (v *vars) appendTemplate(b []byte, t tmpl) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	for _, s := range t {
		b = append(b, s.lit...)
		if s.ph >= 0 {
			val := v.get(s.ph)
			// Values are plain ASCII names; escape anyway so a template can never break JSON.
			for i := 0; i < len(val); i++ {
				if c := val[i]; c < 0x20 || c == '"' || c == '\\' {
					q := appendJSONString(nil, val)
					val = string(q[1 : len(q)-1])
					break
				}
			}
			b = append(b, val...)
		}
	}
	return b
}

func (v *vars) appendHost(b []byte) []byte {
	a := v.c.api
	if a.name == "ListBuckets" {
		return append(b, "s3.amazonaws.com"...)
	}
	if a.source == "s3.amazonaws.com" {
		b = append(b, v.get(phBucket)...)
		return append(b, ".s3."+v.c.region+".amazonaws.com"...)
	}
	return append(b, a.host(v.c.region)...)
}

func pick(r *rand.Rand, xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return xs[r.IntN(len(xs))]
}

func hexString(r *rand.Rand, n int) string { return randomString(r, hexdig, n) }

func (v *vars) get(ph int) string {
	if v.have[ph] {
		return v.val[ph]
	}
	s := v.resolve(ph)
	v.val[ph], v.have[ph] = s, true
	return s
}

func (v *vars) resolve(ph int) string {
	c, r := v.c, v.r
	a := c.acct
	switch ph {
	case phAcct:
		return a.id
	case phRegion:
		return c.region
	case phAZ:
		return c.region + string("abc"[r.IntN(3)])
	case phBucket:
		return pick(r, a.buckets)
	case phKey:
		return objectKey(v.get(phBucket), c.t, r)
	case phSize:
		return itoa(int(math.Exp(9 + 2*r.NormFloat64())))
	case phInstance:
		return pick(r, a.instances)
	case phAMI:
		return pick(r, a.amis)
	case phSnap:
		return pick(r, a.snapshots)
	case phVol:
		return "vol-0" + hexString(r, 16)
	case phVPC:
		return pick(r, a.vpcs)
	case phSubnet:
		return pick(r, a.subnets)
	case phSG:
		return pick(r, a.sgs)
	case phENI:
		return "eni-0" + hexString(r, 16)
	case phIType:
		return pick(r, instanceTypes)
	case phSecret:
		return pick(r, a.secrets)
	case phSecretArn:
		s := v.get(phSecret)
		return "arn:aws:secretsmanager:" + c.region + ":" + a.id + ":secret:" + s + "-" + stableSuffix(s, 6)
	case phParam:
		return pick(r, a.params)
	case phFn:
		return pick(r, a.functions)
	case phFnArn:
		return "arn:aws:lambda:" + c.region + ":" + a.id + ":function:" + v.get(phFn)
	case phCluster:
		return pick(r, a.clusters)
	case phService:
		return pick(r, a.services)
	case phTaskDef:
		return v.get(phService) + ":" + itoa(40+r.IntN(120))
	case phTask:
		return hexString(r, 32)
	case phRepo:
		return pick(r, a.repos)
	case phDigest:
		return "sha256:" + hexString(r, 64)
	case phKMS:
		return pick(r, a.kmsKeys)
	case phKMSArn:
		return "arn:aws:kms:" + c.region + ":" + a.id + ":key/" + v.get(phKMS)
	case phRole:
		return pick(r, a.roles)
	case phRoleArn:
		return "arn:aws:iam::" + a.id + ":role/" + v.get(phRole)
	case phSess:
		if c.sess.name != "" {
			return c.sess.name
		}
		return "session-" + itoa(r.IntN(1_000_000))
	case phUser:
		return pick(r, a.users)
	case phTrail:
		return a.trail
	case phTrailArn:
		return "arn:aws:cloudtrail:" + c.region + ":" + a.id + ":trail/" + v.get(phTrail)
	case phLogBucket:
		return v.g.org.logBucket
	case phDetector:
		return a.detector
	case phStack:
		return pick(r, a.stacks)
	case phStackID:
		return "arn:aws:cloudformation:" + c.region + ":" + a.id + ":stack/" + v.get(phStack) + "/" + stableUUID(v.get(phStack))
	case phTable:
		return pick(r, a.tables)
	case phLogGroup:
		return pick(r, a.logGroups)
	case phStream:
		return time.Unix(c.t, 0).UTC().Format("2006/01/02") + "/[$LATEST]" + hexString(r, 32)
	case phZone:
		return a.zone
	case phQueue:
		return "https://sqs." + c.region + ".amazonaws.com/" + a.id + "/" + pick(r, a.queues)
	case phUUID, phUUID2:
		return uuidString(r)
	case phHex8:
		return hexString(r, 8)
	case phN:
		return itoa(1 + r.IntN(40))
	case phNow:
		return rfc3339(c.t)
	case phExp:
		return time.Unix(c.t+3600, 0).UTC().Format("Jan 2, 2006, 3:04:05 PM")
	case phMs:
		return itoa(int(c.t)*1000 + r.IntN(1000))
	case phAKey:
		return "ASIA" + a.keyTag + randomString(r, keyChars, 12)
	case phToken:
		return "IQoJb3JpZ2luX2VjE" + randomString(r, base64Set, 480+r.IntN(240))
	case phPeer:
		return v.g.org.partner.id
	case phNewUser:
		return pick(r, a.users)
	case phPolicy:
		return pick(r, managedPolicies)
	case phIP:
		return c.ip
	case phReqID:
		return uuidString(r)
	case phDB:
		return pick(r, a.databases)
	case phFlow:
		return "fl-0" + hexString(r, 16)
	case phAmzID:
		return randomString(r, base64Set, 76)
	case phGroup:
		return pick(r, a.groups)
	case phWhen:
		return time.Unix(c.t, 0).UTC().Format("Jan 2, 2006, 3:04:05 PM")
	case phUID:
		return "AIDA" + a.keyTag + randomString(r, keyChars, 13)
	}
	panic(fmt.Sprintf("synth: placeholder %d has no resolver", ph))
}

// objectKey names an object in bucket, dated like the records a workload writes.
func objectKey(bucket string, t int64, r *rand.Rand) string {
	prefixes := keyPrefixes[int(stableHash(bucket)%uint64(len(keyPrefixes)))]
	p := prefixes[r.IntN(len(prefixes))]
	day := time.Unix(t-int64(r.IntN(30))*86400, 0).UTC().Format("2006/01/02")
	return p.dir + "/" + day + "/" + hexString(r, 12) + p.ext
}

type keyPrefix struct{ dir, ext string }

var keyPrefixes = [][]keyPrefix{
	{{"exports", ".csv.gz"}, {"exports/customers", ".parquet"}, {"reports", ".pdf"}},
	{{"uploads", ".jpg"}, {"uploads/thumbs", ".webp"}, {"media", ".mp4"}},
	{{"events", ".json.gz"}, {"raw/clickstream", ".json.gz"}, {"curated", ".parquet"}},
	{{"invoices", ".pdf"}, {"statements", ".pdf"}, {"ledger", ".csv"}},
	{{"backups/db", ".sql.gz"}, {"backups/config", ".tar.gz"}, {"snapshots", ".bin"}},
	{{"artifacts", ".zip"}, {"builds", ".tar.gz"}, {"releases", ".zip"}},
}

var instanceTypes = []string{"t3.medium", "t3.large", "m6i.large", "m6i.xlarge", "c6i.xlarge", "r6i.large", "m5.large"}

var managedPolicies = []string{
	"arn:aws:iam::aws:policy/ReadOnlyAccess",
	"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
	"arn:aws:iam::aws:policy/CloudWatchLogsFullAccess",
	"arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
	"arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
}
