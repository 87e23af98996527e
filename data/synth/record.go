package synth

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Event types CloudTrail writes in eventType.
const (
	typeAPICall      = "AwsApiCall"
	typeServiceEvent = "AwsServiceEvent"
	typeConsole      = "AwsConsoleSignIn"
)

// Principal kinds as CloudTrail writes them in userIdentity.type; kindServiceEvent is the
// type-less identity ({"accountId", "invokedBy"}) that service events carry.
const (
	kindIAMUser       = "IAMUser"
	kindAssumedRole   = "AssumedRole"
	kindRoot          = "Root"
	kindAWSService    = "AWSService"
	kindAWSAccount    = "AWSAccount"
	kindFederatedUser = "FederatedUser"
	kindWebIdentity   = "WebIdentityUser"
	kindServiceEvent  = ""
)

// principal is an identity that can make calls: an IAM user, a role, root, a service, another
// account, a federated user or a web identity.
type principal struct {
	kind   string
	acct   *account
	id     string // AIDA… for users, AROA… for roles, the account ID for root
	name   string // user, role or federated name; the service for AWSService
	arn    string // the user's or the role's ARN (the session issuer for sessions)
	ec2    bool   // an EC2 instance profile role: sessionContext carries ec2RoleDelivery
	parent *principal
	// provider is the OIDC provider ARN of a web identity.
	provider string
}

// session is a principal holding a set of credentials: the access key a call was signed with,
// when the session began and how.
type session struct {
	p         *principal
	name      string // role session name
	key       string // AKIA… or ASIA…; empty for sign-in events
	created   int64  // unix seconds, for sessionContext.attributes.creationDate
	mfa       bool
	console   bool   // credentials issued to a console sign-in
	invokedBy string // a service acting on the principal's behalf
	// foreign is the caller's account when it is not the recipient (userIdentity type AWSAccount).
	foreign *account
}

// call is one CloudTrail record before rendering.
type call struct {
	t        int64 // unix seconds
	acct     *account
	region   string
	api      *api
	sess     *session
	ip, ua   string
	errCode  string
	errMsg   string
	shared   string // sharedEventID
	vpce     string // vpcEndpointId
	noTLS    bool   // calls from AWS networks and the console carry no tlsDetails
	fromCons bool   // sessionCredentialFromConsole
	v        vars
}

// appendJSONString appends s as a JSON string literal.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		case '\t':
			b = append(b, '\\', 't')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hexdig[c>>4], hexdig[c&15])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hexdig = "0123456789abcdef"

// field appends ,"key":"value" (or "key":"value" right after an opening brace).
func field(b []byte, key, val string) []byte {
	if n := len(b); n > 0 && b[n-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendJSONString(b, val)
}

// rawField appends ,"key":raw.
func rawField(b []byte, key string, raw []byte) []byte {
	if n := len(b); n > 0 && b[n-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return append(b, raw...)
}

func boolField(b []byte, key string, v bool) []byte {
	if v {
		return rawField(b, key, []byte("true"))
	}
	return rawField(b, key, []byte("false"))
}

// appendUUID appends a random version-4 UUID drawn from r.
func appendUUID(b []byte, r *rand.Rand) []byte {
	hi, lo := r.Uint64(), r.Uint64()
	hi = hi&^(0xf<<12) | 4<<12
	lo = lo&^(3<<62) | 2<<62
	var u [16]byte
	for i := 0; i < 8; i++ {
		u[i] = byte(hi >> (56 - 8*i))
		u[8+i] = byte(lo >> (56 - 8*i))
	}
	for i, x := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexdig[x>>4], hexdig[x&15])
	}
	return b
}

func uuidString(r *rand.Rand) string { return string(appendUUID(make([]byte, 0, 36), r)) }

const (
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	keyChars   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	base64Set  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

// appendRandom appends n characters of set drawn from r.
func appendRandom(b []byte, r *rand.Rand, set string, n int) []byte {
	for n > 0 {
		x := r.Uint64()
		for k := 0; k < 8 && n > 0; k++ {
			b = append(b, set[int(x&0xff)%len(set)])
			x >>= 8
			n--
		}
	}
	return b
}

func randomString(r *rand.Rand, set string, n int) string {
	return string(appendRandom(make([]byte, 0, n), r, set, n))
}

// timeCache formats eventTime quickly: events arrive minute by minute, so the
// "2006-01-02T15:04:" prefix is reused and only the seconds change.
type timeCache struct {
	minute int64
	prefix []byte
}

func (tc *timeCache) append(b []byte, sec int64) []byte {
	m := sec / 60
	if tc.prefix == nil || m != tc.minute {
		tc.minute = m
		tc.prefix = time.Unix(m*60, 0).UTC().AppendFormat(tc.prefix[:0], "2006-01-02T15:04:")
	}
	b = append(b, tc.prefix...)
	s := sec - m*60
	b = append(b, byte('0'+s/10), byte('0'+s%10), 'Z')
	return b
}

func rfc3339(sec int64) string { return time.Unix(sec, 0).UTC().Format(time.RFC3339) }

// appendIdentity renders userIdentity.
func (tc *timeCache) appendIdentity(b []byte, s *session) []byte {
	p := s.p
	b = append(b, '{')
	switch p.kind {
	case kindServiceEvent:
		b = field(b, "accountId", p.acct.id)
		b = field(b, "invokedBy", p.name)
		return append(b, '}')
	case kindAWSService:
		b = field(b, "type", kindAWSService)
		b = field(b, "invokedBy", p.name)
		return append(b, '}')
	case kindWebIdentity:
		b = field(b, "type", kindWebIdentity)
		b = field(b, "principalId", p.id)
		b = field(b, "userName", p.name)
		b = field(b, "identityProvider", p.provider)
		return append(b, '}')
	case kindAWSAccount:
		b = field(b, "type", kindAWSAccount)
		if s.name != "" {
			b = field(b, "principalId", p.id+":"+s.name)
		} else {
			b = field(b, "principalId", p.id)
		}
		b = field(b, "accountId", p.acct.id)
		if s.invokedBy != "" {
			b = field(b, "invokedBy", s.invokedBy)
		}
		return append(b, '}')
	}
	b = field(b, "type", p.kind)
	switch p.kind {
	case kindIAMUser, kindRoot:
		b = field(b, "principalId", p.id)
		b = field(b, "arn", p.arn)
		b = field(b, "accountId", p.acct.id)
		if s.key != "" {
			b = field(b, "accessKeyId", s.key)
		}
		if p.kind == kindIAMUser {
			b = field(b, "userName", p.name)
		}
		if s.console && s.key != "" {
			b = append(b, `,"sessionContext":{"sessionIssuer":{},"webIdFederationData":{},"attributes":{"creationDate":"`...)
			b = tc.append(b, s.created)
			b = append(b, `","mfaAuthenticated":`...)
			b = appendBoolString(b, s.mfa)
			b = append(b, "}}"...)
		}
	case kindAssumedRole:
		b = field(b, "principalId", p.id+":"+s.name)
		b = append(b, `,"arn":"arn:aws:sts::`...)
		b = append(b, p.acct.id...)
		b = append(b, ":assumed-role/"...)
		b = append(b, p.name...)
		b = append(b, '/')
		b = append(b, s.name...)
		b = append(b, '"')
		b = field(b, "accountId", p.acct.id)
		b = field(b, "accessKeyId", s.key)
		b = append(b, `,"sessionContext":{"sessionIssuer":{"type":"Role"`...)
		b = field(b, "principalId", p.id)
		b = field(b, "arn", p.arn)
		b = field(b, "accountId", p.acct.id)
		b = field(b, "userName", p.name)
		b = append(b, `},"webIdFederationData":{},"attributes":{"creationDate":"`...)
		b = tc.append(b, s.created)
		b = append(b, `","mfaAuthenticated":`...)
		b = appendBoolString(b, s.mfa)
		b = append(b, '}')
		if p.ec2 {
			b = append(b, `,"ec2RoleDelivery":"2.0"`...)
		}
		b = append(b, '}')
	case kindFederatedUser:
		b = field(b, "principalId", p.acct.id+":"+p.name)
		b = field(b, "arn", "arn:aws:sts::"+p.acct.id+":federated-user/"+p.name)
		b = field(b, "accountId", p.acct.id)
		b = field(b, "accessKeyId", s.key)
		b = append(b, `,"sessionContext":{"sessionIssuer":{"type":"IAMUser"`...)
		b = field(b, "principalId", p.parent.id)
		b = field(b, "arn", p.parent.arn)
		b = field(b, "accountId", p.acct.id)
		b = field(b, "userName", p.parent.name)
		b = append(b, `},"webIdFederationData":{},"attributes":{"creationDate":"`...)
		b = tc.append(b, s.created)
		b = append(b, `","mfaAuthenticated":"false"}}`...)
	}
	if s.invokedBy != "" {
		b = field(b, "invokedBy", s.invokedBy)
	}
	return append(b, '}')
}

func appendBoolString(b []byte, v bool) []byte {
	if v {
		return append(b, `"true"`...)
	}
	return append(b, `"false"`...)
}

// eventVersion is fixed per service, as CloudTrail moves services to new versions one by one.
func eventVersion(source string) string {
	h := uint32(2166136261)
	for i := 0; i < len(source); i++ {
		h = (h ^ uint32(source[i])) * 16777619
	}
	switch h % 4 {
	case 0:
		return "1.08"
	case 1, 2:
		return "1.09"
	}
	return "1.10"
}

// render appends the compact JSON of c to b and returns it with the event's ID. r supplies the
// random identifiers (eventID, requestID, x-amz-id-2…).
func (g *renderer) render(b []byte, c *call, r *rand.Rand) ([]byte, string) {
	a := c.api
	c.v.reset(g, c, r)
	b = append(b, `{"eventVersion":"`...)
	b = append(b, a.version...)
	b = append(b, `","userIdentity":`...)
	b = g.tc.appendIdentity(b, c.sess)
	b = append(b, `,"eventTime":"`...)
	b = g.tc.append(b, c.t)
	b = append(b, `","eventSource":"`...)
	b = append(b, a.source...)
	b = append(b, `","eventName":"`...)
	b = append(b, a.name...)
	b = append(b, `","awsRegion":"`...)
	b = append(b, c.region...)
	b = append(b, '"')
	b = field(b, "sourceIPAddress", c.ip)
	b = field(b, "userAgent", c.ua)
	if c.errCode != "" {
		b = field(b, "errorCode", c.errCode)
		if c.errMsg != "" {
			b = field(b, "errorMessage", c.errMsg)
		}
	}
	// requestID first: some responses echo it.
	var reqID string
	if a.kind != typeServiceEvent && a.kind != typeConsole {
		if a.source == "s3.amazonaws.com" {
			reqID = randomString(r, upperAlnum[:36], 16)
		} else {
			reqID = uuidString(r)
		}
		c.v.set(phReqID, reqID)
	}
	b = append(b, `,"requestParameters":`...)
	b = c.v.appendTemplate(b, a.params)
	b = append(b, `,"responseElements":`...)
	if c.errCode != "" {
		b = append(b, "null"...)
	} else {
		b = c.v.appendTemplate(b, a.resp)
	}
	if a.addl != nil {
		b = append(b, `,"additionalEventData":`...)
		b = c.v.appendTemplate(b, a.addl)
	}
	if reqID != "" {
		b = field(b, "requestID", reqID)
	}
	b = append(b, `,"eventID":"`...)
	idStart := len(b)
	b = appendUUID(b, r)
	id := string(b[idStart:])
	b = append(b, '"')
	b = boolField(b, "readOnly", a.readOnly)
	if a.res != nil {
		b = append(b, `,"resources":`...)
		b = c.v.appendTemplate(b, a.res)
	}
	b = field(b, "eventType", a.kind)
	if a.apiVersion != "" {
		b = field(b, "apiVersion", a.apiVersion)
	}
	b = boolField(b, "managementEvent", !a.data)
	b = field(b, "recipientAccountId", c.acct.id)
	if c.shared != "" {
		b = field(b, "sharedEventID", c.shared)
	}
	if c.vpce != "" {
		b = field(b, "vpcEndpointId", c.vpce)
	}
	if a.svcDetails != nil {
		b = append(b, `,"serviceEventDetails":`...)
		b = c.v.appendTemplate(b, a.svcDetails)
	}
	if a.data {
		b = append(b, `,"eventCategory":"Data"`...)
	} else {
		b = append(b, `,"eventCategory":"Management"`...)
	}
	if !c.noTLS && a.kind != typeServiceEvent {
		if c.api.tls13 {
			b = append(b, `,"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"`...)
		} else {
			b = append(b, `,"tlsDetails":{"tlsVersion":"TLSv1.2","cipherSuite":"ECDHE-RSA-AES128-GCM-SHA256","clientProvidedHostHeader":"`...)
		}
		b = c.v.appendHost(b)
		b = append(b, `"}`...)
	}
	if c.fromCons {
		b = append(b, `,"sessionCredentialFromConsole":"true"`...)
	}
	return append(b, '}'), id
}

// renderer holds what rendering reuses between records.
type renderer struct {
	tc  timeCache
	org *org
}

// accessDenied returns the error code and message a service gives a caller not allowed to call.
func accessDenied(c *call) (string, string) {
	a := c.api
	action := a.iamPrefix + ":" + a.action
	who := c.sess.arnString()
	switch a.iamPrefix {
	case "ec2":
		return "Client.UnauthorizedOperation", "You are not authorized to perform this operation. User: " + who + " is not authorized to perform: " + action + " because no identity-based policy allows the " + action + " action"
	case "kms", "secretsmanager", "ssm", "lambda", "ecr", "ecs", "logs", "dynamodb", "guardduty", "securityhub", "athena", "glue", "config", "ce":
		return "AccessDeniedException", "User: " + who + " is not authorized to perform: " + action + " because no identity-based policy allows the " + action + " action"
	case "s3":
		return "AccessDenied", "Access Denied"
	}
	return "AccessDenied", "User: " + who + " is not authorized to perform: " + action + " on resource: " + c.resourceHint() + " because no identity-based policy allows the " + action + " action"
}

func (c *call) resourceHint() string {
	switch c.api.iamPrefix {
	case "iam":
		return "arn:aws:iam::" + c.acct.id + ":user/*"
	case "sts":
		return "arn:aws:iam::" + c.acct.id + ":role/*"
	}
	return "*"
}

// arnString is the ARN an error message names for the session's principal.
func (s *session) arnString() string {
	p := s.p
	switch p.kind {
	case kindAssumedRole:
		return "arn:aws:sts::" + p.acct.id + ":assumed-role/" + p.name + "/" + s.name
	case kindFederatedUser:
		return "arn:aws:sts::" + p.acct.id + ":federated-user/" + p.name
	case kindIAMUser, kindRoot:
		return p.arn
	}
	return p.name
}

// throttled returns the throttling error a service gives.
func throttled(a *api) (string, string) {
	switch a.iamPrefix {
	case "ec2":
		return "Client.RequestLimitExceeded", "Request limit exceeded."
	case "s3":
		return "SlowDown", "Please reduce your request rate."
	case "iam", "sts", "cloudformation", "autoscaling", "elasticloadbalancing", "rds", "cloudwatch":
		return "Throttling", "Rate exceeded"
	}
	return "ThrottlingException", "Rate exceeded"
}

func itoa(n int) string { return strconv.Itoa(n) }

func hostFor(source, region string) string {
	svc := strings.TrimSuffix(source, ".amazonaws.com")
	switch svc {
	case "iam", "organizations", "route53", "ce", "health", "cloudfront":
		return source
	case "signin":
		return "signin.aws.amazon.com"
	case "sts":
		if region == "us-east-1" {
			return "sts.amazonaws.com"
		}
	}
	return svc + "." + region + ".amazonaws.com"
}
