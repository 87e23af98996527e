package baseline

import (
	"math"
	"net/netip"
	"regexp"
	"strings"

	"github.com/trailscope/trailscope/data/cloudtrail"
	"github.com/trailscope/trailscope/data/finding"
)

// dim is one attribute of a call whose values the rarity model learns per principal.
type dim uint8

const (
	dimAPI dim = iota
	dimRegion
	dimNetwork
	dimAgent
	dimError
	dimKey
	dimMFA
	numDims
)

var dimNames = [numDims]string{"API", "region", "source network", "user agent", "error code", "access key", "console sign-in"}

// sessionNews reports whether a value new to a counter counts towards its fresh windows. An
// outside address lasts a session: it is used for every call of a deploy or a sign-in, comes
// back for a few windows and may never be seen again. Private addresses are left out: a role
// whose tasks move between subnets has not shown that it moves between outside networks.
func sessionNews(d dim, v string) bool {
	if d != dimNetwork {
		return false
	}
	p, err := netip.ParsePrefix(v)
	return err == nil && public(p.Addr())
}

// orgDims are the dimensions also learned for the whole data set: a value nobody has used is
// stronger evidence than a value one principal has not used.
var orgDims = [numDims]bool{dimAPI: true, dimRegion: true, dimNetwork: true, dimAgent: true, dimError: true, dimMFA: true}

// peerGroup names the kind of principal an event comes from, for the account-wide view: people
// signing in through SSO, IAM users, service-linked roles, other roles, root, AWS services.
func peerGroup(e *cloudtrail.Event) string {
	switch {
	case e.PrincipalType == "AssumedRole" && strings.Contains(e.PrincipalARN, "/AWSReservedSSO_"):
		return "sso"
	case e.PrincipalType == "AssumedRole" && strings.Contains(e.PrincipalARN, "/AWSServiceRole"):
		return "service-linked"
	case e.InvokedBy != "" && e.PrincipalARN == "":
		return "AWSService"
	}
	return e.PrincipalType
}

// ccMax bounds the counts-of-counts histogram: rarity only matters for small counts.
const ccMax = 64

// counter learns how often each value of one dimension occurs, with the counts-of-counts that
// the Good-Turing estimate of "something new" needs.
type counter struct {
	vals map[string]uint32
	n    uint64         // observations
	w    uint64         // windows with at least one observation
	cc   [ccMax + 1]int // cc[c]: values seen exactly c times, c ≤ ccMax
	// fresh counts the windows that brought a new value that lasts a session (sessionNews):
	// how often this principal or group shows one, whatever the session's length.
	fresh uint64
}

func (c *counter) count(v string) uint32 { return c.vals[v] }

// add counts k observations of v and reports whether v was new to the counter.
func (c *counter) add(v string, k uint32) (isNew bool) {
	if c.vals == nil {
		c.vals = make(map[string]uint32, 4)
	}
	old := c.vals[v]
	nw := old + k
	c.vals[v] = nw
	c.n += uint64(k)
	if old > 0 && old <= ccMax {
		c.cc[old]--
	}
	if nw <= ccMax {
		c.cc[nw]++
	}
	return old == 0
}

// window closes one window of observations; news says whether it brought a new value that
// lasts a session.
func (c *counter) window(news bool) {
	c.w++
	if news {
		c.fresh++
	}
}

// surprise is how unlikely, in bits, a value seen k times before is for this counter: minus the
// log of the chance that the next observation is something new (Good-Turing: singletons over
// total) or a value at most as common as this one. It is 0 with no history, and grows with the
// amount of history, so a short history cannot produce a loud finding.
func (c *counter) surprise(k uint32) float64 {
	if c.n == 0 {
		return 0
	}
	mass := float64(c.cc[1] + 1)
	if k > 0 {
		if k > ccMax {
			return 0
		}
		for i := 1; i <= int(k); i++ {
			mass += float64(i * c.cc[i])
		}
	}
	p := mass / float64(c.n+2)
	// A window holds several observations (a person calls ten APIs in five minutes): the
	// chance that one of them is this rare grows with how many a window usually holds.
	if c.w > 0 {
		p *= math.Max(1, float64(c.n)/float64(c.w))
		// Good-Turing reads a value that comes back for a few windows (a CI runner's address
		// over a deploy) as a repeat, not as news; where a value lasts a session, the share of
		// windows that brought something new says how often news comes, and a value at most
		// this common is no rarer.
		p = math.Max(p, float64(c.fresh+1)/float64(c.w+2))
	}
	if p >= 1 {
		return 0
	}
	return -math.Log2(p)
}

// freshBits is how surprising, in bits, a new value that lasts a session is for this counter,
// from the share of its windows that brought one.
func (c *counter) freshBits() float64 { return shareBits(c.fresh, c.w) }

// shareBits is minus the log of a share, k of n, taken at the low end of what n allows (the
// Wilson bound, two standard errors), so a short history cannot make news look routine.
func shareBits(k, n uint64) float64 {
	if n == 0 {
		return maxFactorBits
	}
	const z = 2.0
	fn := float64(n)
	p := float64(k) / fn
	lo := (p + z*z/(2*fn) - z*math.Sqrt(p*(1-p)/fn+z*z/(4*fn*fn))) / (1 + z*z/fn)
	if lo <= 0 {
		return maxFactorBits
	}
	return math.Min(-math.Log2(lo), maxFactorBits)
}

// share counts windows of some kind, and those of them that brought a rare kind of news (a
// sensitive API new to the account, a sign-in without MFA): how surprising the next one is.
type share struct{ n, news uint64 }

func (s *share) add(news bool) {
	s.n++
	if news {
		s.news++
	}
}

// bits is how surprising the next such news is, at most as much as a principal's first
// appearance can make anything.
func (s share) bits() float64 { return math.Min(shareBits(s.news, s.n), maxPrincipalBits) }

// firstRate counts, for one peer group, its newcomers' first windows that had a value of each
// dimension, and how many of those brought a value the account had not seen. A person's first
// day brings their own address and laptop; an instance role's first task calls from the VPC.
// So a value that came with a newcomer is judged by how often newcomers of its kind bring one,
// not as if an established principal had changed.
type firstRate struct {
	n, news [numDims]uint64
}

// youngBins is how long after its first window a newcomer's values are judged as what its
// first appearance brought.
const youngBins = 12

// young reports whether the principal ps (nil: first seen in bin b) was first seen less than
// youngBins before bin b.
func young(ps *pstate, b int64) bool { return ps == nil || b-ps.first < youngBins }

// newcomer reports whether the principal ps (nil: first seen in bin b) came a day or more after
// the data began and less than youngBins ago. Over the first day every principal turns up for
// the first time, and being seen first says nothing of being new.
func (e *Engine) newcomer(ps *pstate, b int64) bool {
	first := b
	if ps != nil {
		first = ps.first
	}
	return e.pastFirstDay(first) && young(ps, b)
}

// pastFirstDay reports whether bin b lies a day or more after the data began.
func (e *Engine) pastFirstDay(b int64) bool { return b-e.firstBin >= e.binsPerDay }

// label names how common a value seen k times out of n is.
func label(k uint32, n uint64) string {
	switch {
	case k == 0:
		return finding.LabelNew
	case k <= 2 || float64(k) < 0.01*float64(n):
		return finding.LabelRare
	case float64(k) < 0.1*float64(n):
		return finding.LabelInfrequent
	}
	return finding.LabelFrequent
}

// The values of dimMFA, for a console sign-in.
const (
	mfaWith    = "with MFA"
	mfaWithout = "without MFA"
)

// values returns the value of each dimension for one event; "" means the event has none.
func values(e *cloudtrail.Event, out *[numDims]string) {
	out[dimAPI] = apiKey(e)
	out[dimRegion] = e.Region
	out[dimNetwork] = network(e.SourceIP)
	out[dimAgent] = agentFamily(e.UserAgent)
	if e.InvokedBy != "" || e.PrincipalType == "AWSService" {
		// An AWS service calling on someone's behalf: its address and agent are the service's.
		out[dimNetwork], out[dimAgent] = "", ""
	}
	out[dimError] = e.ErrorCode
	if out[dimError] == "" {
		out[dimError] = "ok" // successes count too: a principal that never fails makes a new error stand out
	}
	out[dimKey] = ""
	if strings.HasPrefix(e.AccessKey, "AKIA") {
		out[dimKey] = e.AccessKey
	}
	out[dimMFA] = ""
	if e.EventName == "ConsoleLogin" {
		if e.MFA {
			out[dimMFA] = mfaWith
		} else {
			out[dimMFA] = mfaWithout
		}
	}
}

// serviceSideError reports whether an error code says the service could not or would not serve
// the call just then (throttling, rate limits, internal faults, timeouts), whatever the caller's
// rights: Throttling, ThrottlingException, Client.RequestLimitExceeded, SlowDown,
// TooManyRequestsException, ServiceUnavailable, InternalError, InternalFailure, RequestTimeout.
// EC2's "Client." and "Server." prefixes need no stripping: the words are matched anywhere.
func serviceSideError(code string) bool {
	c := strings.ToLower(code)
	for _, s := range []string{"throttl", "requestlimitexceeded", "slowdown", "toomanyrequests",
		"serviceunavailable", "internalerror", "internalfailure", "internalserver", "requesttimeout"} {
		if strings.Contains(c, s) {
			return true
		}
	}
	return false
}

// notFoundError reports whether an error code says the thing asked for does not exist:
// NoSuchEntity, NoSuchBucketPolicy, ResourceNotFoundException, Client.InvalidGroup.NotFound,
// DBInstanceNotFound, ParameterNotFound, EntityDoesNotExistException.
func notFoundError(code string) bool {
	c := strings.ToLower(code)
	return strings.Contains(c, "notfound") || strings.Contains(c, "nosuch") || strings.Contains(c, "doesnotexist")
}

// apiKey names an API as eventSource/eventName, without Lambda-style version suffixes.
func apiKey(e *cloudtrail.Event) string {
	return e.EventSource + "/" + baseName(e.EventName)
}

// baseName strips the date version some services append ("AddPermission20150331v2").
func baseName(name string) string {
	i := len(name)
	if i > 2 && name[i-2] == 'v' && name[i-1] >= '0' && name[i-1] <= '9' {
		i -= 2
	}
	j := i
	for j > 0 && name[j-1] >= '0' && name[j-1] <= '9' {
		j--
	}
	if i-j == 8 && j > 0 {
		return name[:j]
	}
	return name
}

// network reduces a source address to the network it belongs to (/24 for IPv4, /48 for IPv6),
// so a principal moving within its usual network is not new; AWS service names stay as they are.
// A private IPv4 address counts by its /16, the usual size of a VPC: a task started in another
// subnet of the same VPC has not moved.
func network(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	bits := 24
	switch {
	case a.Is6():
		bits = 48
	case a.IsPrivate():
		bits = 16
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ip
	}
	return p.String()
}

// agentFamily reduces a user agent to the tools it names, without versions, platforms or the
// per-command suffixes some SDKs append ("aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0
// exe/x86_64.ubuntu.22 prompt/off command/s3.ls" is "aws-cli python linux"), so upgrades and
// different commands are not new but a different tool is. Bare words outside parentheses are
// kept with digits and hexadecimal runs folded ("stratus-red-team_#").
func agentFamily(ua string) string {
	if len(ua) > 512 {
		ua = ua[:512]
	}
	if !strings.ContainsAny(ua, "/ (") {
		return foldDigits(ua) // "AWS Internal", "signin.amazonaws.com", "stratus-red-team_<uuid>"
	}
	var b strings.Builder
	depth := 0
	tok := 0
	for _, f := range strings.FieldsFunc(ua, func(r rune) bool { return r == ' ' || r == ',' || r == '[' || r == ']' }) {
		open := strings.Count(f, "(")
		closing := strings.Count(f, ")")
		inside := depth > 0 || strings.HasPrefix(f, "(")
		depth += open - closing
		if depth < 0 {
			depth = 0
		}
		if inside {
			continue
		}
		name, _, hasSlash := strings.Cut(f, "/")
		name = strings.ToLower(name)
		if hasSlash && skipAgentToken[name] {
			continue
		}
		name = foldDigits(name)
		if name == "" || name == "#" {
			continue
		}
		if tok > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(name)
		tok++
		if tok == 8 {
			break
		}
	}
	if b.Len() == 0 {
		return foldDigits(ua)
	}
	return b.String()
}

// skipAgentToken are user-agent fields that describe the call or platform, not the tool.
var skipAgentToken = map[string]bool{"command": true, "md": true, "ua": true, "cfg": true, "exe": true,
	"prompt": true, "os": true, "lang": true, "m": true, "api": true, "app": true, "sid": true, "ft": true}

// foldDigits replaces runs of digits, and hexadecimal runs of 8 or more holding a digit (UUIDs,
// build hashes), with '#'.
func foldDigits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if isHex(s[i]) {
			j, digits := i, false
			for j < len(s) && (isHex(s[j]) || s[j] == '-') {
				digits = digits || s[j] >= '0' && s[j] <= '9'
				j++
			}
			if digits && j-i >= 8 {
				b.WriteByte('#')
				i = j
				continue
			}
		}
		if s[i] >= '0' && s[i] <= '9' {
			for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
				i++
			}
			b.WriteByte('#')
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// principalKey names who made a call for learning: role sessions collapse to their role, since
// session names (instance IDs, random suffixes) change all the time.
func principalKey(e *cloudtrail.Event) (key, entityType string) {
	switch {
	case e.PrincipalType == "AssumedRole" && e.SessionIssuer != "":
		return e.SessionIssuer, finding.EntityPrincipal
	case e.PrincipalType == "AssumedRole" && strings.Contains(e.PrincipalARN, ":assumed-role/"):
		arn := e.PrincipalARN
		if i := strings.LastIndexByte(arn, '/'); i > strings.Index(arn, ":assumed-role/")+len(":assumed-role/") {
			arn = arn[:i]
		}
		return arn, finding.EntityPrincipal
	}
	if p := cloudtrail.PrincipalOf(e); p != "" {
		return p, finding.EntityPrincipal
	}
	if e.SourceIP != "" {
		return e.SourceIP, finding.EntityIP
	}
	return "unknown", finding.EntityPrincipal
}

// sensKind is the kind of harm a sensitive API can do. A first call of one kind is judged by
// how often news of that kind turns up: an organisation whose pipelines create roles every day
// learns nothing about trail tampering from them.
type sensKind uint8

const (
	sensNone      sensKind = iota
	sensLogging            // blinding or crippling the account: trails, detectors, logs, keys, the organisation
	sensSharing            // opening data or access to others: snapshot and image sharing, bucket policies
	sensSecrets            // reading credentials: secrets, parameters, instance passwords
	sensIdentity           // making or widening identities: users, keys, login profiles, policies, roles
	sensHosts              // reaching into hosts: commands, sessions, keys pushed, instances run or stopped
	sensDiscovery          // looking around and coming in: the bucket list, console sign-ins
	numSensKinds
)

// sensitive APIs weigh a little more when they are new for a principal, which breaks ties; one
// nobody in the account has called is judged by how rarely calls of its kind turn up
// (noveltyFactors).
var sensitive = map[string]sensKind{
	"StopLogging": sensLogging, "DeleteTrail": sensLogging, "UpdateTrail": sensLogging, "PutEventSelectors": sensLogging,
	"PutInsightSelectors": sensLogging, "DeleteDetector": sensLogging, "UpdateDetector": sensLogging,
	"DeleteFlowLogs": sensLogging, "DeleteResolverQueryLogConfig": sensLogging, "DisableSecurityHub": sensLogging,
	"DeleteConfigurationRecorder": sensLogging, "StopConfigurationRecorder": sensLogging,
	"LeaveOrganization": sensLogging, "DeleteLogGroup": sensLogging, "DisableKey": sensLogging,
	"ScheduleKeyDeletion": sensLogging,

	"ModifySnapshotAttribute": sensSharing, "ModifyImageAttribute": sensSharing, "ModifyDBSnapshotAttribute": sensSharing,
	"ModifyDBClusterSnapshotAttribute": sensSharing, "PutBucketPolicy": sensSharing, "PutBucketAcl": sensSharing,
	"DeleteBucketPolicy": sensSharing, "PutBucketReplication": sensSharing, "CreateResourceShare": sensSharing,
	"AddPermission": sensSharing, "AuthorizeSecurityGroupIngress": sensSharing,
	"SharedSnapshotCopyInitiated": sensSharing, "SharedSnapshotVolumeCreated": sensSharing,

	"GetSecretValue": sensSecrets, "BatchGetSecretValue": sensSecrets, "GetParameters": sensSecrets,
	"GetPasswordData": sensSecrets, "GetFederationToken": sensSecrets,

	"CreateAccessKey": sensIdentity, "CreateLoginProfile": sensIdentity, "UpdateLoginProfile": sensIdentity,
	"CreateUser": sensIdentity, "AttachUserPolicy": sensIdentity, "AttachRolePolicy": sensIdentity,
	"PutUserPolicy": sensIdentity, "PutRolePolicy": sensIdentity, "UpdateAssumeRolePolicy": sensIdentity,
	"CreateRole": sensIdentity, "CreateTrustAnchor": sensIdentity, "UpdateFunctionCode": sensIdentity,

	"SendCommand": sensHosts, "StartSession": sensHosts, "SendSSHPublicKey": sensHosts,
	"SendSerialConsoleSSHPublicKey": sensHosts, "RunInstances": sensHosts, "StopInstances": sensHosts,

	"ListBuckets": sensDiscovery, "ConsoleLogin": sensDiscovery,

	// Less common in the scenarios, as well known to responders: tampering with CloudTrail Lake,
	// GuardDuty's membership and suppression, alarms and log streams; opening keys, repositories
	// and resources by policy, or Block Public Access removed; policy versions, groups, MFA
	// devices, identity providers and password policy; key pairs; the whole IAM picture read at
	// once. Not what workloads and deployments do all day (GetParameter, function configuration,
	// instance attributes): as sensitive, their first calls lifted routine windows to 7–8 (make
	// eval's middle days, 21 → 24 over three seeds).
	"DeleteEventDataStore": sensLogging, "StopEventDataStoreIngestion": sensLogging,
	"DisassociateFromMasterAccount": sensLogging, "DisassociateFromAdministratorAccount": sensLogging,
	"DeleteMembers": sensLogging, "StopMonitoringMembers": sensLogging, "CreateIPSet": sensLogging,
	"CreateFilter": sensLogging, "DeleteAccessAnalyzer": sensLogging, "DeleteLogStream": sensLogging,
	"DeleteSubscriptionFilter": sensLogging, "DeleteAlarms": sensLogging, "DisableAlarmActions": sensLogging,
	"BatchDisableStandards": sensLogging, "DisableEbsEncryptionByDefault": sensLogging,

	"PutKeyPolicy": sensSharing, "SetRepositoryPolicy": sensSharing, "PutResourcePolicy": sensSharing,
	"DeletePublicAccessBlock": sensSharing, "DeleteAccountPublicAccessBlock": sensSharing,
	"AddLayerVersionPermission": sensSharing, "CreateFunctionUrlConfig": sensSharing,

	"CreatePolicyVersion": sensIdentity, "SetDefaultPolicyVersion": sensIdentity, "AddUserToGroup": sensIdentity,
	"AttachGroupPolicy": sensIdentity, "PutGroupPolicy": sensIdentity, "CreateVirtualMFADevice": sensIdentity,
	"DeactivateMFADevice": sensIdentity, "DeleteVirtualMFADevice": sensIdentity,
	"DeleteAccountPasswordPolicy": sensIdentity, "UpdateAccountPasswordPolicy": sensIdentity,
	"CreateSAMLProvider": sensIdentity, "UpdateSAMLProvider": sensIdentity, "CreateOpenIDConnectProvider": sensIdentity,
	"CreateServiceSpecificCredential": sensIdentity, "UploadSSHPublicKey": sensIdentity,
	"AssociateIamInstanceProfile": sensIdentity, "ReplaceIamInstanceProfileAssociation": sensIdentity,

	"CreateKeyPair": sensHosts, "ImportKeyPair": sensHosts,
	"GetConsoleScreenshot": sensHosts,

	"GetAccountAuthorizationDetails": sensDiscovery,
}

// sensitiveKind is the kind of a sensitive API (source/name or a bare name), sensNone for any
// other. Lambda's names carry the version of its API (UpdateFunctionCode20150331v2): the name
// without it is looked up.
func sensitiveKind(api string) sensKind {
	name := apiName(api)
	if k, ok := sensitive[name]; ok {
		return k
	}
	if m := apiVersion.FindStringIndex(name); m != nil {
		return sensitive[name[:m[0]]]
	}
	return sensNone
}

// apiVersion is the date and version some services append to their API names.
var apiVersion = regexp.MustCompile(`20[0-9]{6}(v[0-9]+)?$`)
