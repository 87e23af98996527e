package query

import (
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
)

// knownFields are CloudTrail record fields in their canonical spelling; a query may spell them
// in any case and prints them like this.
var knownFields = []string{
	"eventVersion", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
	"userAgent", "errorCode", "errorMessage", "requestParameters", "responseElements",
	"additionalEventData", "requestID", "eventID", "eventType", "apiVersion", "managementEvent",
	"readOnly", "resources", "resources.ARN", "resources.accountId", "resources.type",
	"recipientAccountId", "serviceEventDetails", "sharedEventID", "vpcEndpointId",
	"vpcEndpointAccountId", "eventCategory", "addendum", "sessionCredentialFromConsole",
	"edgeDeviceDetails", "tlsDetails", "tlsDetails.tlsVersion", "tlsDetails.cipherSuite",
	"tlsDetails.clientProvidedHostHeader", "insightDetails",
	"userIdentity", "userIdentity.type", "userIdentity.principalId", "userIdentity.arn",
	"userIdentity.accountId", "userIdentity.accessKeyId", "userIdentity.userName",
	"userIdentity.invokedBy", "userIdentity.identityProvider", "userIdentity.credentialId",
	"userIdentity.onBehalfOf", "userIdentity.sessionContext",
	"userIdentity.sessionContext.sessionIssuer", "userIdentity.sessionContext.sessionIssuer.type",
	"userIdentity.sessionContext.sessionIssuer.principalId",
	"userIdentity.sessionContext.sessionIssuer.arn",
	"userIdentity.sessionContext.sessionIssuer.accountId",
	"userIdentity.sessionContext.sessionIssuer.userName",
	"userIdentity.sessionContext.webIdFederationData",
	"userIdentity.sessionContext.attributes",
	"userIdentity.sessionContext.attributes.creationDate",
	"userIdentity.sessionContext.attributes.mfaAuthenticated",
	"userIdentity.sessionContext.sourceIdentity",
	"userIdentity.sessionContext.ec2RoleDelivery",
}

var canonical = func() map[string]string {
	m := make(map[string]string, len(knownFields))
	for _, f := range knownFields {
		m[strings.ToLower(f)] = f
	}
	return m
}()

// CanonicalField spells a field path the way CloudTrail does, as far as its leading segments are
// known CloudTrail fields (eventname → eventName, requestparameters.bucketName →
// requestParameters.bucketName); unknown segments keep their spelling. Matching is
// case-insensitive either way, so this only changes how the query prints.
func CanonicalField(f string) string {
	segs := strings.Split(f, ".")
	for n := len(segs); n > 0; n-- {
		if c, ok := canonical[strings.ToLower(strings.Join(segs[:n], "."))]; ok {
			return strings.Join(append([]string{c}, segs[n:]...), ".")
		}
	}
	return f
}

// column is an extracted column of the events table that holds a field's value.
type column struct {
	name string
	// exact is true when the column holds exactly the JSON string (and '' when it is absent or
	// null); otherwise the column is only a necessary condition for a non-empty match (it has a
	// fallback value when the field is missing) and the JSON is checked as well.
	exact bool
	// dict names the table holding the column's distinct values folded to lower case, each
	// with an id; events keep the id in the column's name plus "_id", which leads an index.
	dict string
	// keyed: events keep cloudtrail.EventKey of the column in event_key, which is indexed.
	keyed bool
}

var columns = map[string]column{
	"eventName":                {"event_name", true, "event_names", false},
	"eventSource":              {"event_source", true, "", false},
	"eventType":                {"event_type", true, "", false},
	"awsRegion":                {"region", true, "", false},
	"sourceIPAddress":          {"source_ip", true, "source_ips", false},
	"userAgent":                {"user_agent", true, "", false},
	"errorCode":                {"error_code", true, "", false},
	"recipientAccountId":       {"recipient_account", true, "", false},
	"userIdentity.type":        {"principal_type", true, "", false},
	"userIdentity.principalId": {"principal_id", true, "", false},
	"userIdentity.accountId":   {"principal_account", true, "", false},
	"userIdentity.accessKeyId": {"access_key", true, "", false},
	"userIdentity.invokedBy":   {"invoked_by", true, "", false},
	"userIdentity.sessionContext.sessionIssuer.arn": {"session_issuer", true, "", false},
	"userIdentity.arn":      {"principal_arn", false, "principal_arns", false},
	"userIdentity.userName": {"user_name", false, "", false},
	"eventID":               {"event_id", false, "", true},
}

// RuleField is the field that is no part of a record: rule:NAME matches the events the rule of
// that name made indicators of.
const RuleField = "rule"

func isRuleField(f string) bool { return strings.EqualFold(f, RuleField) }

// isTimeField reports whether a field is the event time, compared as a time (the time column).
func isTimeField(f string) bool { return f == "eventTime" }

// parseTimeValue parses an RFC 3339 time or a YYYY-MM-DD date (the whole UTC day) into the
// half-open interval [from, to) in Unix milliseconds.
func parseTimeValue(s string) (from, to int64, ok bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		ms := t.UnixMilli()
		return ms, ms + 1, true
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.UnixMilli(), t.AddDate(0, 0, 1).UnixMilli(), true
	}
	return 0, 0, false
}

// Tokens splits text the way the full-text index does (SQLite FTS5 unicode61: runs of letters,
// digits and private-use characters), folded to lower case.
func Tokens(s string) []string {
	var out []string
	start := -1
	for i, r := range s {
		if tokenChar(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			out = append(out, strings.ToLower(s[start:i]))
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, strings.ToLower(s[start:]))
	}
	return out
}

func tokenChar(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Co, r)
}

// GroupFields are the fields a rule can count its matches by (see GroupColumn), the most useful
// first: who, from where, with which key.
var GroupFields = []string{"userIdentity.arn", "sourceIPAddress", "userIdentity.accessKeyId", "userIdentity.accountId",
	"recipientAccountId", "awsRegion", "eventName", "eventSource", "userAgent", "errorCode"}

// GroupColumn returns the column of an events row (aliased e) that holds field, one of
// GroupFields in any case, for counting matches by it. A principal without an ARN (an AWS
// service, say) is counted by the name the case gives it.
func GroupColumn(field string) (string, bool) {
	f := CanonicalField(field)
	c, ok := columns[f]
	if !ok || !slices.Contains(GroupFields, f) {
		return "", false
	}
	return "e." + c.name, true
}

// fieldPath is a field a rule can count the distinct values of: names joined by dots.
var fieldPath = regexp.MustCompile(`^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$`)

// ValueOf says where an event's value of field is, for counting distinct values: the column of
// an events row (aliased e) that holds exactly the field, or else the JSON path of the field in
// the raw record ($.requestParameters.secretId), spelled as CloudTrail spells it; ok is false
// for what is no field path.
func ValueOf(field string) (column, path string, ok bool) {
	if !fieldPath.MatchString(field) || isRuleField(field) {
		return "", "", false
	}
	f := CanonicalField(field)
	if c, ok := columns[f]; ok && c.exact {
		return "e." + c.name, "", true
	}
	return "", "$." + f, true
}
