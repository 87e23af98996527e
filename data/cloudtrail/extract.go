package cloudtrail

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Extract walks the JSON bytes once, validating them, noting where the ~20 wanted values sit,
// and descending only into the objects that hold some (userIdentity and its sessionContext,
// additionalEventData, insightDetails); it then copies the values into one string. It replaced
// a fastjson parse that built a tree of the whole event, looked each field up in it and made a
// string per field: per event of 1.2 KB it takes about half the instructions and time of that,
// and 2 allocations instead of about 20 (BenchmarkExtract). The walk alone costs about what
// fastjson's parse did; the gain is in the lookups and allocations. Scanning strings eight bytes
// at a time is most of what is left.
//
// The results are those of the fastjson version (extractOracle in the tests, compared record by
// record and by FuzzExtract), down to the corners of fastjson's Value.Get:
//   - a key given twice yields its first value;
//   - a key written with escapes ("event\u004eame") is found too, but fastjson first looks for
//     the key written plainly and, once a lookup on an object missed, only ever compares the
//     unescaped keys of that object; see node;
//   - a value that is not a string reads as its JSON text (null as "");
//   - a \u escape of a lone or mismatched UTF-16 surrogate decodes as fastjson decodes it.
//
// Unlike fastjson, which accepts some invalid JSON (NaN, 1.2.3, control characters and bad
// escapes in strings), Extract rejects whatever encoding/json would reject, and like fastjson
// it rejects values nested deeper than 300.
//
// For a record that Decode emitted, Record.Extract (extract_record.go) gives the same result
// without walking the top-level values that no field reads.

// maxNesting is fastjson's MaxDepth: deeper values were a parse error, and still are.
const maxNesting = 300

// The objects Extract reads from, and the keys it wants in each; a key's number indexes node.
type schema uint8

const (
	sNone schema = iota // not read: only validated
	sTop
	sIdentity
	sSessionContext
	sIssuer
	sAttributes
	sAdditional
	sInsight
)

const (
	kEventName = iota
	kEventSource
	kInsightDetails
	kEventTime
	kEventID
	kEventVersion
	kEventType
	kEventCategory
	kAWSRegion
	kSourceIP
	kUserAgent
	kErrorCode
	kErrorMessage
	kRecipientAccount
	kReadOnly
	kUserIdentity
	kAdditionalEventData
	maxKeys // the most keys wanted in one object (the top level)
)

const (
	kType = iota
	kPrincipalID
	kARN
	kAccountID
	kAccessKeyID
	kUserName
	kInvokedBy
	kSessionContext
)

const (
	kSessionIssuer = iota
	kAttributes
)

const (
	kIssuerARN = iota
	kIssuerUserName
)

const kMFAAuthenticated = 0

const kMFAUsed = 0

const (
	kInsightEventName = iota
	kInsightEventSource
)

// wanted gives a key's number in an object of schema s (-1 if unwanted) and, for an object
// that Extract descends into, the schema of its value.
func wanted(s schema, key []byte) (int, schema) {
	switch s {
	case sTop:
		switch string(key) {
		case "eventName":
			return kEventName, sNone
		case "eventSource":
			return kEventSource, sNone
		case "insightDetails":
			return kInsightDetails, sInsight
		case "eventTime":
			return kEventTime, sNone
		case "eventID":
			return kEventID, sNone
		case "eventVersion":
			return kEventVersion, sNone
		case "eventType":
			return kEventType, sNone
		case "eventCategory":
			return kEventCategory, sNone
		case "awsRegion":
			return kAWSRegion, sNone
		case "sourceIPAddress":
			return kSourceIP, sNone
		case "userAgent":
			return kUserAgent, sNone
		case "errorCode":
			return kErrorCode, sNone
		case "errorMessage":
			return kErrorMessage, sNone
		case "recipientAccountId":
			return kRecipientAccount, sNone
		case "readOnly":
			return kReadOnly, sNone
		case "userIdentity":
			return kUserIdentity, sIdentity
		case "additionalEventData":
			return kAdditionalEventData, sAdditional
		}
	case sIdentity:
		switch string(key) {
		case "type":
			return kType, sNone
		case "principalId":
			return kPrincipalID, sNone
		case "arn":
			return kARN, sNone
		case "accountId":
			return kAccountID, sNone
		case "accessKeyId":
			return kAccessKeyID, sNone
		case "userName":
			return kUserName, sNone
		case "invokedBy":
			return kInvokedBy, sNone
		case "sessionContext":
			return kSessionContext, sSessionContext
		}
	case sSessionContext:
		switch string(key) {
		case "sessionIssuer":
			return kSessionIssuer, sIssuer
		case "attributes":
			return kAttributes, sAttributes
		}
	case sIssuer:
		switch string(key) {
		case "arn":
			return kIssuerARN, sNone
		case "userName":
			return kIssuerUserName, sNone
		}
	case sAttributes:
		if string(key) == "mfaAuthenticated" {
			return kMFAAuthenticated, sNone
		}
	case sAdditional:
		if string(key) == "MFAUsed" {
			return kMFAUsed, sNone
		}
	case sInsight:
		switch string(key) {
		case "eventName":
			return kInsightEventName, sNone
		case "eventSource":
			return kInsightEventSource, sNone
		}
	}
	return -1, sNone
}

// node is an object Extract descends into. fastjson's Object.Get(k) returns the first value
// whose key is written exactly k; failing that, it unescapes all the object's keys, remembers
// it did (keysUnescaped), returns the first value whose unescaped key is k, and from then on
// compares only unescaped keys, even where a later key is written exactly k. Which value a
// lookup yields so depends on the lookups before it; these two answers per key, and the flag,
// are all that it depends on.
type node struct {
	plain     [maxKeys]int32 // 1 + index in vals of the first value under a key written exactly as wanted; 0 if none
	any       [maxKeys]int32 // the same for the first key that unescapes to the wanted one
	unescaped bool           // fastjson's keysUnescaped
}

// val is where a value of interest sits in the event.
type val struct {
	from, to int   // the value's text; a string's without the quotes
	kind     byte  // its first byte: '"', '{', '[', 't', 'f', 'n', or '-' or a digit for a number
	esc      bool  // a string with escapes
	node     int32 // 1 + index in nodes of an object Extract descended into
}

// The string fields of Event, and eventTime, by their place in extractor.fields.
const (
	fEventID = iota
	fEventVersion
	fEventSource
	fEventName
	fEventType
	fEventCategory
	fRegion
	fSourceIP
	fUserAgent
	fErrorCode
	fErrorMessage
	fPrincipalType
	fPrincipalID
	fPrincipalARN
	fPrincipalAccount
	fUserName
	fAccessKey
	fSessionIssuer
	fInvokedBy
	fRecipientAccount
	fEventTime
	nFields
)

// extractor holds one Extract call's scratch space; the pool keeps it from call to call.
type extractor struct {
	b       []byte
	nodes   []node
	vals    []val
	fields  [nFields]int32 // the value each field reads, 1 + index in vals; 0 for none
	scratch []byte         // an escaped key or value, unescaped
}

var extractors = sync.Pool{New: func() any { return new(extractor) }}

// Extract parses a CloudTrail event and fills the extracted fields. raw is kept, not copied;
// the fields' strings do not share its memory. An event without eventID gets one derived from
// a hash of its JSON, so loading is idempotent.
func Extract(raw []byte) (Event, error) {
	x := extractors.Get().(*extractor)
	e, err := x.extract(raw)
	x.release()
	return e, err
}

// release hands x back to the pool.
func (x *extractor) release() {
	x.b = nil
	if cap(x.scratch) <= 64<<10 { // an outsized event's buffer is not worth keeping
		extractors.Put(x)
	}
}

// reset readies x for reading raw.
func (x *extractor) reset(raw []byte) {
	x.b, x.nodes, x.vals = raw, x.nodes[:0], x.vals[:0]
	x.fields = [nFields]int32{}
}

func (x *extractor) extract(raw []byte) (Event, error) {
	x.reset(raw)
	i := skipWS(raw, 0)
	if i == len(raw) {
		return Event{}, fmt.Errorf("parse event: %w", &jsonError{i, "no JSON value"})
	}
	end, top, err := x.value(i, 0, sTop)
	if err == nil {
		if end = skipWS(raw, end); end < len(raw) {
			err = &jsonError{end, "data after the JSON value"}
		}
	}
	if err != nil {
		return Event{}, fmt.Errorf("parse event: %w", err)
	}
	if top == 0 {
		return Event{}, ErrNotEvent
	}
	return x.event(top)
}

// event reads the fields from node top, the event's object, once the values it may read are
// noted in x.vals and x.nodes.
func (x *extractor) event(top int32) (Event, error) {
	raw := x.b
	// Which value each field reads: the old Extract's lookups, in its order, since the order
	// can matter (see node).
	f := &x.fields
	f[fEventName] = x.lookup(top, kEventName)
	f[fEventSource] = x.lookup(top, kEventSource)
	if x.empty(f[fEventName]) && x.empty(f[fEventSource]) {
		// Insights events name the API they are about under insightDetails.
		insight := x.nodeOf(x.lookup(top, kInsightDetails))
		f[fEventName] = x.lookup(insight, kInsightEventName)
		f[fEventSource] = x.lookup(insight, kInsightEventSource)
	}
	f[fEventTime] = x.lookup(top, kEventTime)
	if x.empty(f[fEventTime]) || x.empty(f[fEventName]) && x.empty(f[fEventSource]) {
		return Event{}, ErrNotEvent
	}
	f[fEventID] = x.lookup(top, kEventID)
	f[fEventVersion] = x.lookup(top, kEventVersion)
	f[fEventType] = x.lookup(top, kEventType)
	f[fEventCategory] = x.lookup(top, kEventCategory)
	f[fRegion] = x.lookup(top, kAWSRegion)
	f[fSourceIP] = x.lookup(top, kSourceIP)
	f[fUserAgent] = x.lookup(top, kUserAgent)
	f[fErrorCode] = x.lookup(top, kErrorCode)
	f[fErrorMessage] = x.lookup(top, kErrorMessage)
	f[fRecipientAccount] = x.lookup(top, kRecipientAccount)
	var readOnly *bool
	if ro := x.lookup(top, kReadOnly); ro != 0 {
		b := x.vals[ro-1].kind == 't' || x.vals[ro-1].kind == '"' && x.equalFold(ro, "true")
		readOnly = &b
	}
	mfa := false
	if id := x.nodeOf(x.lookup(top, kUserIdentity)); id != 0 {
		f[fPrincipalType] = x.lookup(id, kType)
		f[fPrincipalID] = x.lookup(id, kPrincipalID)
		f[fPrincipalARN] = x.lookup(id, kARN)
		f[fPrincipalAccount] = x.lookup(id, kAccountID)
		f[fAccessKey] = x.lookup(id, kAccessKeyID)
		f[fUserName] = x.lookup(id, kUserName)
		f[fInvokedBy] = x.lookup(id, kInvokedBy)
		// fastjson looked sessionContext and sessionIssuer up again for each path; a repeated
		// lookup finds the same value, so once is enough.
		session := x.nodeOf(x.lookup(id, kSessionContext))
		issuer := x.nodeOf(x.lookup(session, kSessionIssuer))
		f[fSessionIssuer] = x.lookup(issuer, kIssuerARN)
		if x.empty(f[fUserName]) {
			f[fUserName] = x.lookup(issuer, kIssuerUserName)
		}
		attributes := x.nodeOf(x.lookup(session, kAttributes))
		mfa = x.equalFold(x.lookup(attributes, kMFAAuthenticated), "true")
	}
	if !mfa {
		mfa = x.equalFold(x.lookup(x.nodeOf(x.lookup(top, kAdditionalEventData)), kMFAUsed), "yes")
	}

	// The fields' text, in one string, of the size of their JSON text at most (escapes and
	// whitespace only shrink).
	const hashSize = len("sha256:") + 32
	size := 0
	if x.empty(f[fEventID]) {
		size = hashSize
	}
	for _, v := range f {
		if v != 0 {
			size += x.vals[v-1].to - x.vals[v-1].from
		}
	}
	var sb strings.Builder
	sb.Grow(size)
	var spans [nFields]struct{ from, to int }
	for k, v := range f {
		spans[k].from = sb.Len()
		if v != 0 {
			if val := &x.vals[v-1]; val.kind == '"' && !val.esc {
				sb.Write(raw[val.from:val.to]) // the common case, without text's switch
			} else {
				sb.Write(x.text(v))
			}
		}
		spans[k].to = sb.Len()
	}
	if spans[fEventID].from == spans[fEventID].to {
		var id [hashSize]byte
		sum := sha256.Sum256(raw)
		hex.Encode(id[copy(id[:], "sha256:"):], sum[:16])
		spans[fEventID].from = sb.Len()
		sb.Write(id[:])
		spans[fEventID].to = sb.Len()
	}
	s := sb.String()
	field := func(k int) string { return s[spans[k].from:spans[k].to] }

	ts := field(fEventTime)
	t, err := ParseTime(ts)
	if err != nil {
		return Event{}, fmt.Errorf("eventTime %q: %w", ts, err)
	}
	e := Event{
		EventID:          field(fEventID),
		Time:             t,
		EventVersion:     field(fEventVersion),
		EventSource:      field(fEventSource),
		EventName:        field(fEventName),
		EventType:        field(fEventType),
		EventCategory:    field(fEventCategory),
		Region:           field(fRegion),
		SourceIP:         field(fSourceIP),
		UserAgent:        field(fUserAgent),
		ErrorCode:        field(fErrorCode),
		ErrorMessage:     field(fErrorMessage),
		PrincipalType:    field(fPrincipalType),
		PrincipalID:      field(fPrincipalID),
		PrincipalARN:     field(fPrincipalARN),
		PrincipalAccount: field(fPrincipalAccount),
		UserName:         field(fUserName),
		AccessKey:        field(fAccessKey),
		SessionIssuer:    field(fSessionIssuer),
		InvokedBy:        field(fInvokedBy),
		MFA:              mfa,
		RecipientAccount: field(fRecipientAccount),
		ReadOnly:         readOnly,
		Raw:              raw,
	}
	if e.PrincipalARN == "" {
		e.PrincipalARN = PrincipalOf(&e)
	}
	return e, nil
}

// lookup is fastjson's Object.Get(key number k) on node n, which may be 0 (no object): the
// value found, 1 + its index in vals, or 0.
func (x *extractor) lookup(n int32, k int) int32 {
	if n == 0 {
		return 0
	}
	nd := &x.nodes[n-1]
	if !nd.unescaped {
		if v := nd.plain[k]; v != 0 {
			return v
		}
		nd.unescaped = true
	}
	return nd.any[k]
}

// nodeOf returns the node of value v if it is an object that Extract descended into, else 0.
func (x *extractor) nodeOf(v int32) int32 {
	if v == 0 {
		return 0
	}
	return x.vals[v-1].node
}

// empty reports whether value v reads as "": missing, null or "" (an escape never decodes to
// nothing, and any other value reads as its JSON text).
func (x *extractor) empty(v int32) bool {
	return v == 0 || x.vals[v-1].kind == 'n' || x.vals[v-1].kind == '"' && x.vals[v-1].from == x.vals[v-1].to
}

// text returns value v's text as the old str helper read it: a string unescaped, null and a
// missing value as nothing, anything else as its compact JSON. It may be in raw or in scratch.
func (x *extractor) text(v int32) []byte {
	if v == 0 {
		return nil
	}
	val := &x.vals[v-1]
	text := x.b[val.from:val.to]
	switch {
	case val.kind == '"' && val.esc:
		x.scratch = appendUnescaped(x.scratch[:0], text)
		return x.scratch
	case val.kind == 'n':
		return nil
	case val.kind == '{' || val.kind == '[':
		x.scratch = appendCompact(x.scratch[:0], text)
		return x.scratch
	}
	return text
}

// equalFold reports whether value v reads as s, ignoring case (as strings.EqualFold does).
func (x *extractor) equalFold(v int32, s string) bool {
	return bytes.EqualFold(x.text(v), []byte(s))
}

// jsonError is invalid JSON, at a byte offset of the event.
type jsonError struct {
	off int
	msg string
}

func (e *jsonError) Error() string { return fmt.Sprintf("%s at offset %d", e.msg, e.off) }

func errNesting(at int) error {
	return &jsonError{at, fmt.Sprintf("nesting deeper than %d", maxNesting)}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// value walks the JSON value at b[i] (not whitespace), nested in containers to depth parent,
// and returns where it ends. An object walked with a schema other than sNone becomes a node,
// returned as 1 + its index.
func (x *extractor) value(i, parent int, s schema) (int, int32, error) {
	b := x.b
	if parent >= maxNesting {
		return i, 0, errNesting(i)
	}
	if i >= len(b) {
		return i, 0, &jsonError{i, "unexpected end, expected a value"}
	}
	switch b[i] {
	case '"':
		end, _, err := scanString(b, i+1)
		return end + 1, 0, err
	case '{':
		if s == sNone {
			end, err := x.object(i+1, parent+1, sNone, 0)
			return end, 0, err
		}
		x.nodes = append(x.nodes, node{})
		n := int32(len(x.nodes))
		end, err := x.object(i+1, parent+1, s, n)
		return end, n, err
	case '[':
		end, err := x.array(i+1, parent+1)
		return end, 0, err
	case 't':
		return literal(b, i, "true")
	case 'f':
		return literal(b, i, "false")
	case 'n':
		return literal(b, i, "null")
	}
	end, err := scanNumber(b, i)
	return end, 0, err
}

// object walks the members of an object from just after its '{'. With a schema, it notes the
// wanted keys' values in node n. Keys and string values, most of an event, are scanned here
// rather than through value, which saves a call and a switch for each.
func (x *extractor) object(i, depth int, s schema, n int32) (int, error) {
	b := x.b
	if i = skipWS(b, i); i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, &jsonError{i, "expected a string key"}
		}
		end, keyEsc := plainEnd(b, i+1), false
		if end >= len(b) || b[end] != '"' {
			var err error
			if end, keyEsc, err = scanEscaped(b, end); err != nil {
				return end, err
			}
		}
		key := b[i+1 : end]
		// Compact JSON has ':' right after the key; skipWS only runs where it does not.
		if i = end + 1; i >= len(b) || b[i] != ':' {
			if i = skipWS(b, i); i >= len(b) || b[i] != ':' {
				return i, &jsonError{i, "expected ':' after a key"}
			}
		}
		if i = skipWS(b, i+1); i >= len(b) {
			return i, &jsonError{i, "unexpected end, expected a value"}
		}
		k, sub := -1, sNone
		if s != sNone {
			k, sub = x.wantedKey(s, n, key, keyEsc)
		}
		from, escaped, child := i, false, int32(0)
		if b[i] == '"' {
			if depth >= maxNesting {
				return i, errNesting(i)
			}
			if end = plainEnd(b, i+1); end >= len(b) || b[end] != '"' {
				var err error
				if end, escaped, err = scanEscaped(b, end); err != nil {
					return end, err
				}
			}
			i = end + 1
		} else {
			if b[i] != '{' {
				sub = sNone
			}
			var err error
			if i, child, err = x.value(i, depth, sub); err != nil {
				return i, err
			}
		}
		if k >= 0 {
			x.note(n, k, keyEsc, val{from: from, to: i, kind: b[from], esc: escaped, node: child})
		}
		if i = skipWS(b, i); i >= len(b) {
			return i, &jsonError{i, "unexpected end, expected ',' or '}'"}
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return i, &jsonError{i, "expected ',' or '}'"}
		}
	}
}

// wantedKey gives the number of key in schema s, or -1 if its value need not be noted in node
// n: unwanted, or not the first of its name either way fastjson might look it up (see node).
// The second result is the schema to read an object value with.
func (x *extractor) wantedKey(s schema, n int32, key []byte, escaped bool) (int, schema) {
	if escaped {
		x.scratch = appendUnescaped(x.scratch[:0], key)
		key = x.scratch
	}
	k, sub := wanted(s, key)
	if k < 0 {
		return -1, sNone
	}
	if nd := &x.nodes[n-1]; nd.any[k] != 0 && (escaped || nd.plain[k] != 0) {
		return -1, sNone
	}
	return k, sub
}

// note records v as the value of key number k in node n, written with escapes or not.
func (x *extractor) note(n int32, k int, keyEsc bool, v val) {
	if v.kind == '"' {
		v.from, v.to = v.from+1, v.to-1
	}
	x.vals = append(x.vals, v)
	id := int32(len(x.vals))
	nd := &x.nodes[n-1]
	if nd.plain[k] == 0 && !keyEsc {
		nd.plain[k] = id
	}
	if nd.any[k] == 0 {
		nd.any[k] = id
	}
}

// array walks the elements of an array from just after its '['.
func (x *extractor) array(i, depth int) (int, error) {
	b := x.b
	if i = skipWS(b, i); i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		if i, _, err = x.value(i, depth, sNone); err != nil {
			return i, err
		}
		if i = skipWS(b, i); i >= len(b) {
			return i, &jsonError{i, "unexpected end, expected ',' or ']'"}
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case ']':
			return i + 1, nil
		default:
			return i, &jsonError{i, "expected ',' or ']'"}
		}
	}
}

func literal(b []byte, i int, lit string) (int, int32, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, 0, &jsonError{i, "invalid literal, expected " + lit}
	}
	return i + len(lit), 0, nil
}

// scanNumber checks the number at b[i] against JSON's grammar and returns its end.
func scanNumber(b []byte, i int) (int, error) {
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = skipDigits(b, i+1)
	default:
		return i, &jsonError{start, "invalid value"}
	}
	if i < len(b) && b[i] == '.' {
		if j := skipDigits(b, i+1); j > i+1 {
			i = j
		} else {
			return j, &jsonError{j, "expected a digit after '.'"}
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if j := skipDigits(b, i); j > i {
			i = j
		} else {
			return j, &jsonError{j, "expected a digit in the exponent"}
		}
	}
	return i, nil
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// specials marks with its high bit each byte of w (little-endian) that ends a run of plain
// string content: '"', '\\' or a control character. XOR with 0x02 maps '"' to 0x20 and keeps
// control characters below 0x20, so one "has a byte below 0x21" test covers both, and the
// "has a zero byte" test finds '\\'. A borrow only propagates upwards from a real match, so the
// lowest bit set is exact; higher ones may not be.
func specials(w uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	y := w ^ (lo * 0x02)
	e := w ^ (lo * '\\')
	return ((y-lo*0x21)&^y | (e-lo)&^e) & hi
}

// scanString returns the index of the closing quote of the string whose content starts at
// b[i], and whether the string has escapes. Bytes that are not UTF-8 pass, as with
// encoding/json and fastjson.
func scanString(b []byte, i int) (int, bool, error) {
	j := plainEnd(b, i)
	if j < len(b) && b[j] == '"' {
		return j, false, nil
	}
	return scanEscaped(b, j)
}

// plainEnd returns the index of the first '"', '\\' or control character at or after b[i],
// or an index before which all is plain and after which fewer than eight bytes remain. It
// is small enough to be inlined, which saves a call per string in object.
func plainEnd(b []byte, i int) int {
	for i+8 <= len(b) {
		j := i + bits.TrailingZeros64(specials(binary.LittleEndian.Uint64(b[i:i+8])))>>3
		if j < i+8 {
			return j
		}
		i = j
	}
	return i
}

// scanEscaped finishes scanString byte by byte, from an escape, a control character or the
// buffer's last bytes.
func scanEscaped(b []byte, i int) (int, bool, error) {
	escaped := false
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i, escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				return i, escaped, &jsonError{i, "unexpected end in a string"}
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+6 > len(b) || !hexDigit[b[i+2]] || !hexDigit[b[i+3]] || !hexDigit[b[i+4]] || !hexDigit[b[i+5]] {
					return i, escaped, &jsonError{i, `invalid \u escape`}
				}
				i += 5
			default:
				return i, escaped, &jsonError{i, "invalid escape"}
			}
		case c < 0x20:
			return i, escaped, &jsonError{i, "control character in a string"}
		}
	}
	return i, escaped, &jsonError{i, "unexpected end in a string"}
}

// appendUnescaped appends the decoded content s of a valid JSON string, decoded as fastjson
// does: a \u escape of a UTF-16 surrogate is taken together with the \u escape after it, as
// utf16.DecodeRune takes them (U+FFFD when they are not a pair), or kept as written when no
// \u escape follows.
func appendUnescaped(dst, s []byte) []byte {
	for {
		n := bytes.IndexByte(s, '\\')
		if n < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:n]...)
		c := s[n+1]
		s = s[n+2:]
		switch c {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(s)
			if !utf16.IsSurrogate(r) {
				dst = utf8.AppendRune(dst, r)
				s = s[4:]
				break
			}
			if len(s) < 10 || s[4] != '\\' || s[5] != 'u' {
				dst = append(dst, `\u`...)
				dst = append(dst, s[:4]...)
				s = s[4:]
				break
			}
			dst = utf8.AppendRune(dst, utf16.DecodeRune(r, hex4(s[6:])))
			s = s[10:]
		default: // '"', '\\' or '/'
			dst = append(dst, c)
		}
	}
}

// hex4 decodes the four hex digits at the start of s, which scanString checked.
func hex4(s []byte) rune {
	var r rune
	for _, c := range s[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c >= 'a':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// appendCompact appends the JSON text v without the whitespace between its tokens, as
// fastjson wrote a value back out.
func appendCompact(dst, v []byte) []byte {
	inStr := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case inStr:
			if c == '\\' {
				dst = append(dst, c)
				i++
				c = v[i]
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == ' ' || c == '\n' || c == '\r' || c == '\t':
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// parseUTC reads the form CloudTrail writes, "2006-01-02T15:04:05Z" with or without up to nine
// digits of fractional seconds, in a sixth of time.Parse's instructions (BenchmarkParseTime).
// Whatever it does not take, ParseTime hands to time.Parse, including out-of-range fields, so
// that it only needs to agree with time.Parse on what it takes (TestParseTime compares them).
func parseUTC(s string) (time.Time, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return time.Time{}, false
	}
	century, ok1 := digits2(s, 0)
	yy, ok2 := digits2(s, 2)
	month, ok3 := digits2(s, 5)
	day, ok4 := digits2(s, 8)
	hour, ok5 := digits2(s, 11)
	minute, ok6 := digits2(s, 14)
	sec, ok7 := digits2(s, 17)
	year := century*100 + yy
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) || year < 1 || month < 1 || month > 12 || day < 1 ||
		day > 28 && day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if frac := s[19 : len(s)-1]; frac != "" {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		for i := 1; i < 10; i++ {
			nsec *= 10
			if i < len(frac) {
				c := frac[i] - '0'
				if c > 9 {
					return time.Time{}, false
				}
				nsec += int(c)
			}
		}
	}
	// Days since 1970-01-01 by Howard Hinnant's days_from_civil, with years starting in March
	// so that the leap day comes last.
	y := year
	if month <= 2 {
		y--
	}
	era, yoe := y/400, y%400
	doy := (153*((month+9)%12)+2)/5 + day - 1
	days := era*146097 + yoe*365 + yoe/4 - yoe/100 + doy - 719468
	return time.Unix(int64(days)*86400+int64(hour*3600+minute*60+sec), int64(nsec)).UTC(), true
}

// digits2 reads the two decimal digits at s[i:]; false if they are not digits.
func digits2(s string, i int) (int, bool) {
	a, b := s[i]-'0', s[i+1]-'0'
	return int(a)*10 + int(b), a <= 9 && b <= 9
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
