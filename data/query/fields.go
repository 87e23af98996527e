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
	m := make(map[string]string, len(knownFields)+1)
	for _, f := range knownFields {
		m[strings.ToLower(f)] = f
	}
	m[DirectionField] = DirectionField
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
	// coded: the dictionary holds the exact values, and events keep only the id (NULL for ''),
	// not the text; the id has no index.
	coded bool
}

var columns = map[string]column{
	"eventName":                {name: "event_name", exact: true, dict: "event_names"},
	"eventSource":              {name: "event_source", exact: true},
	"eventType":                {name: "event_type", exact: true},
	"awsRegion":                {name: "region", exact: true},
	"sourceIPAddress":          {name: "source_ip", exact: true, dict: "source_ips"},
	"userAgent":                {name: "user_agent", exact: true, dict: "user_agents", coded: true},
	"errorCode":                {name: "error_code", exact: true},
	"recipientAccountId":       {name: "recipient_account", exact: true},
	"userIdentity.type":        {name: "principal_type", exact: true},
	"userIdentity.principalId": {name: "principal_id", exact: true},
	"userIdentity.accountId":   {name: "principal_account", exact: true},
	"userIdentity.accessKeyId": {name: "access_key", exact: true},
	"userIdentity.invokedBy":   {name: "invoked_by", exact: true},
	"userIdentity.sessionContext.sessionIssuer.arn": {name: "session_issuer", exact: true},
	"userIdentity.arn":      {name: "principal_arn", dict: "principal_arns"},
	"userIdentity.userName": {name: "user_name"},
	"eventID":               {name: "event_id", keyed: true},
	// No part of the record: the lane the case put the event in (DirectionField).
	DirectionField: {name: "direction", exact: true},
}

// DirectionField is the other field that is no part of a record: direction:outbound matches the
// events of the dashboard's outbound lane (inbound, internal and outbound are its values).
// Settings decide it (trusted networks, home accounts, egress APIs), so it says what this case
// thinks of an event, which other tools cannot repeat.
const DirectionField = "direction"

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
// GroupFields in any case, for counting matches by it (a coded column's id, NULL for none). A principal without an ARN (an AWS
// service, say) is counted by the name the case gives it.
func GroupColumn(field string) (string, bool) {
	f := CanonicalField(field)
	c, ok := columns[f]
	if !ok || !slices.Contains(GroupFields, f) {
		return "", false
	}
	return c.sql(), true
}

// sql is the column as it is read from an events row aliased e: for a coded column, its id
// (which groups and counts alike, as the dictionary holds the exact values).
func (c column) sql() string {
	if c.coded {
		return "e." + c.name + "_id"
	}
	return "e." + c.name
}

// fieldPath is a field a rule can count the distinct values of: names joined by dots.
var fieldPath = regexp.MustCompile(`^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$`)

// ValueOf says where an event's value of field is, for counting distinct values: the column of
// an events row (aliased e) that holds exactly the field (a coded column's id, NULL for none),
// or else the JSON path of the field in the raw record ($.requestParameters.secretId), spelled
// as CloudTrail spells it; ok is false for what is no field path.
func ValueOf(field string) (column, path string, ok bool) {
	if !fieldPath.MatchString(field) || isRuleField(field) {
		return "", "", false
	}
	f := CanonicalField(field)
	if c, ok := columns[f]; ok && c.exact {
		return c.sql(), "", true
	}
	return "", "$." + f, true
}
