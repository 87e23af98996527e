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
	"time"
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

// Record is one decoded record: its kind and its compact JSON. Record.Extract reads its fields.
type Record struct {
	Kind Kind
	Raw  []byte
	// values locates the top-level values Extract reads, noted by the decoder so that
	// Record.Extract can skip the rest of Raw.
	values recordValues
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

// ParseTime accepts the time forms CloudTrail and its exports use (RFC 3339 with or without
// fractional seconds, and CloudTrail Lake's "2006-01-02 15:04:05.000").
func ParseTime(s string) (time.Time, error) {
	if t, ok := parseUTC(s); ok {
		return t, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.000", "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a time")
}

// IsAccountID reports whether s is an AWS account number: 12 digits.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
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
