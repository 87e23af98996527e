// Package cloudtrail holds the CloudTrail event model and the decoders that turn every input
// form Trailscope accepts (Records files, arrays, JSON Lines, lookup-events output, CloudWatch
// and EventBridge exports, CloudTrail Lake CSV) into compact raw events.
package cloudtrail

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/valyala/fastjson"
)

// Kind says what a decoded record is.
type Kind uint8

const (
	// KindEvent is an ordinary CloudTrail event (API call, console sign-in, service event…).
	KindEvent Kind = iota
	// KindInsight is a CloudTrail Insights event (eventType AwsCloudTrailInsight).
	KindInsight
	// KindDigest is a CloudTrail digest file, kept for the integrity check, never counted as an event.
	KindDigest
)

func (k Kind) String() string {
	switch k {
	case KindEvent:
		return "event"
	case KindInsight:
		return "insight"
	case KindDigest:
		return "digest"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Record is one decoded record: its kind and its compact JSON.
type Record struct {
	Kind Kind
	Raw  []byte
}

// Directions an event can take; see DESIGN.md "Direction".
const (
	Inbound  = "inbound"
	Internal = "internal"
	Outbound = "outbound"
)

// Event is a CloudTrail event with the fields the store extracts into columns, plus its raw JSON.
type Event struct {
	EventID          string
	Time             time.Time
	EventVersion     string
	EventSource      string
	EventName        string
	EventType        string
	EventCategory    string
	Region           string
	SourceIP         string
	UserAgent        string
	ErrorCode        string
	ErrorMessage     string
	PrincipalType    string
	PrincipalID      string
	PrincipalARN     string
	PrincipalAccount string
	UserName         string
	AccessKey        string
	SessionIssuer    string // ARN of the role behind a role session
	InvokedBy        string
	MFA              bool
	RecipientAccount string
	ReadOnly         *bool
	Direction        string // filled by the direction classifier at ingest
	Raw              []byte // compact JSON, parsing equal to the original
}

// ErrNotEvent is returned by Extract for JSON that is not a CloudTrail event.
var ErrNotEvent = errors.New("not a CloudTrail event")

var parsers fastjson.ParserPool

// Extract parses a compact CloudTrail event and fills the extracted fields. raw is kept, not copied.
// An event without eventID gets one derived from a hash of its JSON, so loading is idempotent.
func Extract(raw []byte) (Event, error) {
	p := parsers.Get()
	defer parsers.Put(p)
	v, err := p.ParseBytes(raw)
	if err != nil {
		return Event{}, fmt.Errorf("parse event: %w", err)
	}
	if v.Type() != fastjson.TypeObject {
		return Event{}, ErrNotEvent
	}
	e := Event{Raw: raw}
	e.EventName = str(v, "eventName")
	e.EventSource = str(v, "eventSource")
	if e.EventName == "" && e.EventSource == "" {
		// Insights events name the API they are about under insightDetails.
		e.EventName = str(v, "insightDetails", "eventName")
		e.EventSource = str(v, "insightDetails", "eventSource")
	}
	ts := str(v, "eventTime")
	if e.EventName == "" && e.EventSource == "" || ts == "" {
		return Event{}, ErrNotEvent
	}
	t, err := ParseTime(ts)
	if err != nil {
		return Event{}, fmt.Errorf("eventTime %q: %w", ts, err)
	}
	e.Time = t
	e.EventID = str(v, "eventID")
	if e.EventID == "" {
		e.EventID = HashID(raw)
	}
	e.EventVersion = str(v, "eventVersion")
	e.EventType = str(v, "eventType")
	e.EventCategory = str(v, "eventCategory")
	e.Region = str(v, "awsRegion")
	e.SourceIP = str(v, "sourceIPAddress")
	e.UserAgent = str(v, "userAgent")
	e.ErrorCode = str(v, "errorCode")
	e.ErrorMessage = str(v, "errorMessage")
	e.RecipientAccount = str(v, "recipientAccountId")
	if ro := v.Get("readOnly"); ro != nil {
		var b bool
		switch ro.Type() {
		case fastjson.TypeTrue:
			b = true
		case fastjson.TypeString:
			b = strings.EqualFold(string(ro.GetStringBytes()), "true")
		}
		e.ReadOnly = &b
	}
	if id := v.Get("userIdentity"); id != nil && id.Type() == fastjson.TypeObject {
		e.PrincipalType = str(id, "type")
		e.PrincipalID = str(id, "principalId")
		e.PrincipalARN = str(id, "arn")
		e.PrincipalAccount = str(id, "accountId")
		e.AccessKey = str(id, "accessKeyId")
		e.UserName = str(id, "userName")
		e.InvokedBy = str(id, "invokedBy")
		e.SessionIssuer = str(id, "sessionContext", "sessionIssuer", "arn")
		if e.UserName == "" {
			e.UserName = str(id, "sessionContext", "sessionIssuer", "userName")
		}
		e.MFA = strings.EqualFold(str(id, "sessionContext", "attributes", "mfaAuthenticated"), "true")
	}
	if !e.MFA {
		e.MFA = strings.EqualFold(str(v, "additionalEventData", "MFAUsed"), "yes")
	}
	if e.PrincipalARN == "" {
		e.PrincipalARN = PrincipalOf(&e)
	}
	return e, nil
}

// PrincipalOf names who made a call when userIdentity carries no ARN: an AWS service, an
// anonymous caller, or a principal ID.
func PrincipalOf(e *Event) string {
	switch {
	case e.PrincipalARN != "":
		return e.PrincipalARN
	case e.InvokedBy != "":
		return e.InvokedBy
	case e.PrincipalType == "AWSService":
		return e.InvokedBy
	case e.PrincipalID != "":
		return e.PrincipalID
	case e.PrincipalType != "":
		return e.PrincipalType
	}
	return ""
}

func str(v *fastjson.Value, keys ...string) string {
	x := v.Get(keys...)
	if x == nil {
		return ""
	}
	switch x.Type() {
	case fastjson.TypeString:
		return string(x.GetStringBytes())
	case fastjson.TypeNull:
		return ""
	}
	return x.String()
}

// ParseTime accepts the time forms CloudTrail and its exports use (RFC 3339 with or without
// fractional seconds, and CloudTrail Lake's "2006-01-02 15:04:05.000").
func ParseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.000", "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a time")
}

// HashID keys an event that has no eventID by a hash of its compact JSON.
func HashID(raw []byte) string {
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:16])
}

// Compact returns the compact form of a JSON value, appended to dst.
func Compact(dst, raw []byte) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	if err := json.Compact(buf, raw); err != nil {
		return dst, err
	}
	return buf.Bytes(), nil
}
