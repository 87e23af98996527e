// Package direction decides whether a CloudTrail event is inbound, internal or outbound, the
// three lanes of the overview dashboard (DESIGN.md "Direction").
package direction

import (
	"bytes"
	"net/netip"
	"strings"

	"github.com/trailscope/trailscope/data/cloudtrail"
	"github.com/valyala/fastjson"
)

// Settings are the case settings the classifier depends on: which networks count as ours, which
// accounts are home, and which APIs move data or access out of the account.
type Settings struct {
	TrustedNetworks []netip.Prefix // caller networks treated as internal besides private ranges
	HomeAccounts    []string       // accounts a grant may name without being external
	EgressAPIs      []string       // event names that can move data or access out; nil means DefaultEgressAPIs
}

// grantAPIs are the egress APIs that give access to someone: they are outbound when they name an
// external account or the public, wherever the caller sits. The other egress APIs read data out
// and are outbound only when called from outside.
var grantAPIs = map[string]bool{
	"ModifySnapshotAttribute":          true,
	"ModifyImageAttribute":             true,
	"ModifyDBSnapshotAttribute":        true,
	"ModifyDBClusterSnapshotAttribute": true,
	"PutBucketPolicy":                  true,
	"PutBucketAcl":                     true,
	"PutObjectAcl":                     true,
	"PutBucketReplication":             true,
	"CreateResourceShare":              true,
	"AssociateResourceShare":           true,
	"CreateGrant":                      true,
	"AddPermission":                    true,
	"AddLayerVersionPermission":        true,
	"PutResourcePolicy":                true,
	"SetRepositoryPolicy":              true,
	"PutKeyPolicy":                     true,
	"UpdateAssumeRolePolicy":           true,
}

// serviceNotices are AWS service events saying another account has taken data the account
// shared: the data has left whoever called.
var serviceNotices = map[string]bool{"SharedSnapshotCopyInitiated": true, "SharedSnapshotVolumeCreated": true}

// DefaultEgressAPIs returns the egress catalogue: API names through which data or access can leave
// an account. The caller owns the returned slice.
func DefaultEgressAPIs() []string {
	return []string{
		// data read or copied out
		"GetObject", "CopyObject", "UploadPartCopy", "SelectObjectContent", "RestoreObject",
		"GetSecretValue", "BatchGetSecretValue", "GetParameter", "GetParameters", "GetParametersByPath",
		"GetPasswordData", "GetConsoleOutput", "GetConsoleScreenshot", "Decrypt", "ExportSnapshot",
		"GetQueryResults", "CreateDBSnapshotExport", "StartExportTask", "CopySnapshot", "CopyImage",
		"CopyDBSnapshot", "CopyDBClusterSnapshot",
		// access granted out
		"ModifySnapshotAttribute", "ModifyImageAttribute", "ModifyDBSnapshotAttribute",
		"ModifyDBClusterSnapshotAttribute", "PutBucketPolicy", "PutBucketAcl", "PutObjectAcl",
		"PutBucketReplication", "CreateResourceShare", "AssociateResourceShare", "CreateGrant",
		"AddPermission", "AddLayerVersionPermission", "PutResourcePolicy", "SetRepositoryPolicy",
		"PutKeyPolicy", "UpdateAssumeRolePolicy", "SharedSnapshotCopyInitiated",
		"SharedSnapshotVolumeCreated",
	}
}

// Classifier assigns a direction to events; it is safe for concurrent use once built.
type Classifier struct {
	egress  map[string]bool
	trusted []netip.Prefix
	home    map[string]bool
	parsers fastjson.ParserPool
}

// New builds a classifier from the case settings.
func New(s Settings) *Classifier {
	apis := s.EgressAPIs
	if apis == nil {
		apis = DefaultEgressAPIs()
	}
	c := &Classifier{
		egress:  make(map[string]bool, len(apis)),
		trusted: append([]netip.Prefix(nil), s.TrustedNetworks...),
		home:    make(map[string]bool, len(s.HomeAccounts)),
	}
	for _, a := range apis {
		c.egress[BaseName(a)] = true
	}
	for _, a := range s.HomeAccounts {
		c.home[strings.TrimSpace(a)] = true
	}
	return c
}

// BaseName strips the API version that some services append to event names
// (Lambda's "AddPermission20150331v2" is "AddPermission").
func BaseName(name string) string {
	i := len(name)
	// A version suffix is 8 digits of a date, optionally followed by "v" and digits.
	j := i
	for j > 0 && name[j-1] >= '0' && name[j-1] <= '9' {
		j--
	}
	if j < i && j > 0 && name[j-1] == 'v' {
		k := j - 1
		j = k
		for j > 0 && name[j-1] >= '0' && name[j-1] <= '9' {
			j--
		}
		if k-j == 8 && j > 0 {
			return name[:j]
		}
		return name
	}
	if i-j == 8 && j > 0 {
		return name[:j]
	}
	return name
}

// Classify returns cloudtrail.Outbound, cloudtrail.Internal or cloudtrail.Inbound for e, in the
// order DESIGN.md gives. Only egress events have their raw JSON looked into.
func (c *Classifier) Classify(e *cloudtrail.Event) string {
	internal := c.internalCaller(e)
	if c.egress[e.EventName] || c.egress[BaseName(e.EventName)] {
		if !internal || serviceNotices[e.EventName] {
			return cloudtrail.Outbound
		}
		if c.grantsOut(e) {
			return cloudtrail.Outbound
		}
	}
	if internal {
		return cloudtrail.Internal
	}
	return cloudtrail.Inbound
}

// internalCaller reports whether the call came from an AWS service, a private or VPC-endpoint
// address, or a trusted network.
func (c *Classifier) internalCaller(e *cloudtrail.Event) bool {
	if e.InvokedBy != "" || e.PrincipalType == "AWSService" {
		return true
	}
	ip := e.SourceIP
	if ip == "AWS Internal" || strings.HasSuffix(ip, ".amazonaws.com") {
		return true
	}
	if a, err := netip.ParseAddr(ip); err == nil {
		a = a.Unmap()
		if a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() {
			return true
		}
		for _, p := range c.trusted {
			if p.Contains(a) {
				return true
			}
		}
	}
	// Calls through a VPC endpoint carry its ID; only the raw JSON has it.
	return len(e.Raw) > 0 && bytes.Contains(e.Raw, []byte(`"vpcEndpointId":"vpce-`))
}

// grantsOut reports whether an egress event's request names an account other than the home ones,
// or the public, as a new grantee.
func (c *Classifier) grantsOut(e *cloudtrail.Event) bool {
	if !grantAPIs[BaseName(e.EventName)] || len(e.Raw) == 0 {
		return false
	}
	p := c.parsers.Get()
	defer c.parsers.Put(p)
	v, err := p.ParseBytes(e.Raw)
	if err != nil {
		return false
	}
	rp := v.Get("requestParameters")
	if rp == nil {
		return false
	}
	own := func(acct string) bool {
		return acct == e.RecipientAccount || acct == e.PrincipalAccount || c.home[acct]
	}
	return external(rp, "", own)
}

// external walks a request looking for a grantee outside the home accounts: an account ID, an
// ARN in another account, the "all" group, a "*" principal or the S3 AllUsers / AuthenticatedUsers
// groups. Removals are skipped: taking access away sends nothing out.
func external(v *fastjson.Value, key string, own func(string) bool) bool {
	switch v.Type() {
	case fastjson.TypeObject:
		found := false
		v.GetObject().Visit(func(k []byte, x *fastjson.Value) {
			if found {
				return
			}
			ks := string(k)
			lk := strings.ToLower(ks)
			if lk == "remove" || strings.HasPrefix(lk, "valuestoremove") {
				return
			}
			found = external(x, ks, own)
		})
		return found
	case fastjson.TypeArray:
		for _, x := range v.GetArray() {
			if external(x, key, own) {
				return true
			}
		}
	case fastjson.TypeString:
		return externalValue(string(v.GetStringBytes()), key, own)
	}
	return false
}

func externalValue(s, key string, own func(string) bool) bool {
	lk := strings.ToLower(key)
	switch {
	case s == "*":
		return lk == "principal" || lk == "aws" || lk == "granteeprincipal"
	case strings.EqualFold(s, "all"):
		return lk == "group" || lk == "userid" || strings.HasPrefix(lk, "valuestoadd") || lk == "principals"
	case strings.Contains(s, "acs.amazonaws.com/groups/global/AllUsers"),
		strings.Contains(s, "acs.amazonaws.com/groups/global/AuthenticatedUsers"):
		return true
	case cloudtrail.IsAccountID(s):
		return !own(s)
	case strings.HasPrefix(s, "arn:"):
		// arn:partition:service:region:account:resource
		parts := strings.SplitN(s, ":", 6)
		if len(parts) == 6 && cloudtrail.IsAccountID(parts[4]) {
			return !own(parts[4])
		}
	}
	return false
}
