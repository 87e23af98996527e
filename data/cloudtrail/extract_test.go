package cloudtrail

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/valyala/fastjson"

	"github.com/trailscope/trailscope/data/synth"
)

// extractOracle is Extract as it was before extract.go: a fastjson parse of the whole event.
// It is kept verbatim (but for the names of its helpers, and calling parseTimeOracle) as the
// reference the new Extract must agree with.
func extractOracle(raw []byte) (Event, error) {
	p := oracleParsers.Get()
	defer oracleParsers.Put(p)
	v, err := p.ParseBytes(raw)
	if err != nil {
		return Event{}, fmt.Errorf("parse event: %w", err)
	}
	if v.Type() != fastjson.TypeObject {
		return Event{}, ErrNotEvent
	}
	e := Event{Raw: raw}
	e.EventName = oracleStr(v, "eventName")
	e.EventSource = oracleStr(v, "eventSource")
	if e.EventName == "" && e.EventSource == "" {
		// Insights events name the API they are about under insightDetails.
		e.EventName = oracleStr(v, "insightDetails", "eventName")
		e.EventSource = oracleStr(v, "insightDetails", "eventSource")
	}
	ts := oracleStr(v, "eventTime")
	if e.EventName == "" && e.EventSource == "" || ts == "" {
		return Event{}, ErrNotEvent
	}
	t, err := parseTimeOracle(ts)
	if err != nil {
		return Event{}, fmt.Errorf("eventTime %q: %w", ts, err)
	}
	e.Time = t
	e.EventID = oracleStr(v, "eventID")
	if e.EventID == "" {
		e.EventID = HashID(raw)
	}
	e.EventVersion = oracleStr(v, "eventVersion")
	e.EventType = oracleStr(v, "eventType")
	e.EventCategory = oracleStr(v, "eventCategory")
	e.Region = oracleStr(v, "awsRegion")
	e.SourceIP = oracleStr(v, "sourceIPAddress")
	e.UserAgent = oracleStr(v, "userAgent")
	e.ErrorCode = oracleStr(v, "errorCode")
	e.ErrorMessage = oracleStr(v, "errorMessage")
	e.RecipientAccount = oracleStr(v, "recipientAccountId")
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
		e.PrincipalType = oracleStr(id, "type")
		e.PrincipalID = oracleStr(id, "principalId")
		e.PrincipalARN = oracleStr(id, "arn")
		e.PrincipalAccount = oracleStr(id, "accountId")
		e.AccessKey = oracleStr(id, "accessKeyId")
		e.UserName = oracleStr(id, "userName")
		e.InvokedBy = oracleStr(id, "invokedBy")
		e.SessionIssuer = oracleStr(id, "sessionContext", "sessionIssuer", "arn")
		if e.UserName == "" {
			e.UserName = oracleStr(id, "sessionContext", "sessionIssuer", "userName")
		}
		e.MFA = strings.EqualFold(oracleStr(id, "sessionContext", "attributes", "mfaAuthenticated"), "true")
	}
	if !e.MFA {
		e.MFA = strings.EqualFold(oracleStr(v, "additionalEventData", "MFAUsed"), "yes")
	}
	if e.PrincipalARN == "" {
		e.PrincipalARN = PrincipalOf(&e)
	}
	return e, nil
}

var oracleParsers fastjson.ParserPool

func oracleStr(v *fastjson.Value, keys ...string) string {
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

// parseTimeOracle is ParseTime before its fast path.
func parseTimeOracle(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.000", "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a time")
}

// errClass names the kind of error Extract returned, for comparing with the oracle's.
func errClass(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrNotEvent):
		return "not an event"
	case strings.HasPrefix(err.Error(), "parse event: "):
		return "parse error"
	case strings.HasPrefix(err.Error(), "eventTime "):
		return err.Error() // says which time it could not read: must be the same text
	}
	return "unexpected error " + err.Error()
}

// checkExtract compares Extract with the oracle on raw. Where raw is not valid JSON (which
// fastjson sometimes accepts: NaN, 1.2.3, bad escapes…) Extract must report a parse error;
// elsewhere both must give the same event, or the same kind of error.
func checkExtract(t testing.TB, raw []byte) {
	t.Helper()
	got, gerr := Extract(raw)
	if !json.Valid(raw) {
		if c := errClass(gerr); c != "parse error" {
			t.Fatalf("invalid JSON gave %s, want a parse error\n%q", c, raw)
		}
		return
	}
	want, werr := extractOracle(raw)
	if g, w := errClass(gerr), errClass(werr); g != w {
		t.Fatalf("Extract: %v\noracle: %v\n%q", gerr, werr, raw)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Extract differs from the oracle on %q\n got %s\nwant %s", raw, dumpEvent(got), dumpEvent(want))
	}
	if gerr == nil {
		checkNoAlias(t, &got, raw)
	}
}

func dumpEvent(e Event) string {
	e.Raw = nil
	ro := "nil"
	if e.ReadOnly != nil {
		ro = fmt.Sprint(*e.ReadOnly)
	}
	return fmt.Sprintf("%#v ReadOnly=%s", e, ro)
}

// checkNoAlias fails if a field's string points into raw, which callers may reuse.
func checkNoAlias(t testing.TB, e *Event, raw []byte) {
	t.Helper()
	if len(raw) == 0 {
		return
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(raw)))
	hi := lo + uintptr(cap(raw))
	v := reflect.ValueOf(e).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		if f.Kind() != reflect.String || f.Len() == 0 {
			continue
		}
		if p := uintptr(unsafe.Pointer(unsafe.StringData(f.String()))); p >= lo && p < hi {
			t.Fatalf("%s shares the input's memory", v.Type().Field(i).Name)
		}
	}
}

// decodeRecords decodes a file's content, keeping whatever records come before an error.
func decodeRecords(data []byte) [][]byte {
	var recs [][]byte
	_, _ = Decode(bytes.NewReader(data), func(r Record) error {
		recs = append(recs, r.Raw)
		return nil
	})
	return recs
}

// indented is raw pretty-printed, for the whitespace paths.
func indented(t testing.TB, raw []byte) []byte {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "\r\n", "\t "); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestExtractFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "testdata", "inputs", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	records := 0
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		checkExtract(t, data) // a whole file is seldom an event, but is JSON to walk
		for _, raw := range decodeRecords(data) {
			checkExtract(t, raw)
			checkExtract(t, indented(t, raw))
			records++
		}
	}
	if records < 20 {
		t.Fatalf("only %d records in the fixtures", records)
	}
}

func TestExtractSharedData(t *testing.T) {
	root := sharedData(t)
	files, err := filepath.Glob(filepath.Join(root, "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	records := 0
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range decodeRecords(data) {
			checkExtract(t, raw)
			records++
		}
	}
	if records < 3000 { // 2,900 + 310 per README.md
		t.Fatalf("only %d records in %s", records, root)
	}
}

func TestExtractGenerated(t *testing.T) {
	for i := range 2000 {
		raw := genEvent(nil, i)
		checkExtract(t, raw)
		if i%50 == 0 {
			checkExtract(t, indented(t, raw))
		}
	}

	// The synthetic traffic generator covers many more shapes: console sign-ins, service events,
	// errors, federated and web identities, insight-like oddities, every attack scenario.
	synthEvents(t, 7, func(raw []byte) { checkExtract(t, raw) })
}

// synthEvents calls fn on a day of generated traffic with every attack scenario in it, and
// fails the test if there are suspiciously few events.
func synthEvents(t *testing.T, seed uint64, fn func(raw []byte)) {
	t.Helper()
	var specs []synth.ScenarioSpec
	for _, name := range synth.ScenarioNames() {
		specs = append(specs, synth.ScenarioSpec{Name: name})
	}
	perDay := 20000
	if testing.Short() {
		perDay = 4000
	}
	cfg := synth.Config{Seed: seed, Days: 1, End: time.Date(2024, 5, 10, 0, 0, 0, 0, time.UTC), EventsPerDay: perDay, Scenarios: specs}
	n := 0
	if _, err := synth.Generate(t.Context(), cfg, func(_ time.Time, raw []byte) error {
		fn(raw)
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n < perDay/4 {
		t.Fatalf("synth generated only %d events", n)
	}
}

// base is a small event that edge cases vary.
const base = `"eventTime":"2023-07-10T11:42:31Z","eventSource":"iam.amazonaws.com"`

// extractEdgeCases are events and non-events at the corners of the old Extract's behaviour.
var extractEdgeCases = []string{
	// Minimal, and the fields one by one.
	`{` + base + `}`,
	`{` + base + `,"eventName":"GetUser","eventID":"e1","eventVersion":"1.08","eventType":"AwsApiCall","eventCategory":"Management","awsRegion":"us-east-1","sourceIPAddress":"1.2.3.4","userAgent":"cli","errorCode":"AccessDenied","errorMessage":"no","recipientAccountId":"123"}`,
	// Duplicate keys: the first one counts, at every level.
	`{` + base + `,"eventName":"First","eventName":"Second","eventID":"a","eventID":"b"}`,
	`{` + base + `,"userIdentity":{"type":"IAMUser","arn":"a1","arn":"a2"},"userIdentity":{"type":"Root","arn":"r"}}`,
	`{` + base + `,"userIdentity":{"sessionContext":{"sessionIssuer":{"arn":"i1","userName":"u1"},"sessionIssuer":{"arn":"i2"}},"sessionContext":{"attributes":{"mfaAuthenticated":"true"}}}}`,
	`{` + base + `,"readOnly":false,"readOnly":true,"additionalEventData":{"MFAUsed":"No"},"additionalEventData":{"MFAUsed":"Yes"}}`,
	// Keys written with escapes, and the order of lookups that decides between a plain key and
	// an escaped one (fastjson compares only unescaped keys once a lookup missed the plain ones).
	`{"event\u0054ime":"2023-07-10T11:42:31Z","event\u004eame":"Escaped"}`,
	`{` + base + `,"event\u004eame":"Escaped","eventName":"Plain"}`,
	`{"eventTime":"2023-07-10T11:42:31Z","event\u004eame":"N","event\u0053ource":"S1","eventSource":"S2"}`,
	`{"eventTime":"2023-07-10T11:42:31Z","eventName":"N","event\u0053ource":"S1","eventSource":"S2","\u0065ventID":"i1","eventID":"i2"}`,
	`{"eventTime":"2023-07-10T11:42:31Z","eventSource":"S","eventName":"N","r\u0065adOnly":"true","readOnly":false,"\u0061wsRegion":"r1","awsRegion":"r2"}`,
	`{` + base + `,"userIdentity":{"\u0074ype":"T1","type":"T2","arn":"A","\u0061rn":"A2"}}`,
	`{` + base + `,"userIdentity":{"type":"T","sessionContext":{"session\u0049ssuer":{"arn":"I1"},"sessionIssuer":{"arn":"I2"},"attributes":{"mfaAuthenticated":"true"}}}}`,
	`{` + base + `,"userIdentity":{"type":"T","sessionContext":{"sessionIssuer":{"arn":"I1","user\u004eame":"U1","userName":"U2"}}}}`,
	`{` + base + `,"user\u0049dentity":{"arn":"X"},"userIdentity":{"arn":"Y"}}`,
	`{` + base + `,"eventName\u0000":"nul","event\"Name":"quote","eventNames":"longer","eventNam":"shorter","EventName":"case"}`,
	`{` + base + `,"eventName":"N","additional\u0045ventData":{"MFA\u0055sed":"yes"},"additionalEventData":{"MFAUsed":"no"}}`,
	`{"eventTime":"2023-07-10T11:42:31Z","insight\u0044etails":{"event\u004eame":"I1","eventName":"I2","eventSource":"S"},"insightDetails":{"eventName":"I3"}}`,
	// Values that are not strings read as their JSON text.
	`{` + base + `,"eventName":12.5e3,"eventID":-0,"awsRegion":true,"userAgent":false,"errorCode":null,"errorMessage":{"a":[1, 2,{"b" : "c d\"e"}], "f":"\u0041"},"sourceIPAddress":[ ],"recipientAccountId":{ }}`,
	`{` + base + `,"userIdentity":{"type":1,"principalId":[1,"x"],"arn":null,"accountId":{"k":"v"},"userName":true}}`,
	// Strings with escapes: \u, surrogate pairs, lone and mismatched surrogates.
	`{` + base + `,"eventName":"a\"b\\c\/d\be\ff\ng\rh\ti","awsRegion":"\u00e9\u4e2d\ud83d\ude00\u0000x"}`,
	`{` + base + `,"eventName":"lone \ud800 high","awsRegion":"lone \udc00 low","userAgent":"\ud800\u0041 high then not low","errorCode":"\udc00\ud800 low then high","errorMessage":"\ud800\ud800\udc00 two highs","sourceIPAddress":"\ud800\\u0041"}`,
	`{` + base + `,"eventName":"\ud83d","awsRegion":"\ud83d\u","userAgent":"end\\"}`,
	`{` + base + `,"eventName":"bytes ` + "\xff\xfe" + ` not UTF-8 ` + "\xc3" + `"}`,
	// readOnly in every form.
	`{` + base + `,"readOnly":true}`,
	`{` + base + `,"readOnly":"true"}`,
	`{` + base + `,"readOnly":"TRUE"}`,
	`{` + base + `,"readOnly":"tru\u0065"}`,
	`{` + base + `,"readOnly":false}`,
	`{` + base + `,"readOnly":"yes"}`,
	`{` + base + `,"readOnly":1}`,
	`{` + base + `,"readOnly":null}`,
	`{` + base + `,"readOnly":{"true":true}}`,
	// eventTime: forms that parse, forms that do not, and none at all.
	`{"eventSource":"s","eventTime":"2023-07-10T11:42:31.123456789Z"}`,
	`{"eventSource":"s","eventTime":"2023-07-10T11:42:31.1234567891Z"}`,
	`{"eventSource":"s","eventTime":"2023-07-10T11:42:31+02:00"}`,
	`{"eventSource":"s","eventTime":"2023-07-10 11:42:31.000"}`,
	`{"eventSource":"s","eventTime":"2023-07-10T11:42:31"}`,
	`{"eventSource":"s","eventTime":"2024-02-29T23:59:59Z"}`,
	`{"eventSource":"s","eventTime":"2023-02-29T00:00:00Z"}`,
	`{"eventSource":"s","eventTime":"2023-07-10T24:00:00Z"}`,
	`{"eventSource":"s","eventTime":"2023-07-10T11:42:60Z"}`,
	`{"eventSource":"s","eventTime":"2023-07-10t11:42:31z"}`,
	`{"eventSource":"s","eventTime":"yesterday"}`,
	`{"eventSource":"s","eventTime":20230710}`,
	`{"eventSource":"s","eventTime":{"t":"2023-07-10T11:42:31Z"}}`,
	`{"eventSource":"s","eventTime":""}`,
	`{"eventSource":"s","eventTime":null}`,
	`{"eventSource":"s"}`,
	`{"eventTime":"2023-07-10T11:42:31Z"}`,
	`{"eventTime":"2023-07-10T11:42:31Z","eventName":"","eventSource":null}`,
	// Insights events.
	`{"eventVersion":"1.08","eventTime":"2023-07-10T11:42:31Z","eventType":"AwsCloudTrailInsight","insightDetails":{"eventSource":"ec2.amazonaws.com","eventName":"RunInstances","insightType":"ApiCallRateInsight"}}`,
	`{"eventTime":"2023-07-10T11:42:31Z","insightDetails":{"eventName":"OnlyName"}}`,
	`{"eventTime":"2023-07-10T11:42:31Z","insightDetails":"not an object"}`,
	`{"eventTime":"2023-07-10T11:42:31Z","insightDetails":[{"eventName":"in an array"}]}`,
	`{"eventTime":"2023-07-10T11:42:31Z","eventName":"","insightDetails":{"eventName":"N"}}`,
	// eventID missing, empty or null: a hash of the JSON stands in.
	`{` + base + `,"eventID":""}`,
	`{` + base + `,"eventID":null}`,
	// Who made the call when userIdentity has no ARN.
	`{` + base + `,"userIdentity":{"type":"AWSService","invokedBy":"ec2.amazonaws.com"}}`,
	`{` + base + `,"userIdentity":{"type":"AWSService"}}`,
	`{` + base + `,"userIdentity":{"type":"AWSAccount","principalId":"AIDAX","accountId":"1"}}`,
	`{` + base + `,"userIdentity":{"type":"Unknown"}}`,
	`{` + base + `,"userIdentity":{}}`,
	`{` + base + `,"userIdentity":"root"}`,
	`{` + base + `,"userIdentity":["arn"]}`,
	`{` + base + `,"userIdentity":null}`,
	// MFA and the session issuer's name.
	`{` + base + `,"userIdentity":{"sessionContext":{"attributes":{"mfaAuthenticated":"TRUE"}}}}`,
	`{` + base + `,"userIdentity":{"sessionContext":{"attributes":{"mfaAuthenticated":true}}}}`,
	`{` + base + `,"userIdentity":{"sessionContext":{"attributes":{"mfaAuthenticated":"false"}}},"additionalEventData":{"MFAUsed":"Yes"}}`,
	`{` + base + `,"additionalEventData":{"MFAUsed":"ye\u017f"}}`,
	`{` + base + `,"additionalEventData":{"MFAUsed":"YES "}}`,
	`{` + base + `,"additionalEventData":"MFAUsed"}`,
	`{` + base + `,"userIdentity":{"userName":"","sessionContext":{"sessionIssuer":{"userName":"role"}}}}`,
	`{` + base + `,"userIdentity":{"userName":null,"sessionContext":{"sessionIssuer":{"userName":7}}}}`,
	`{` + base + `,"userIdentity":{"userName":"me","sessionContext":{"sessionIssuer":{"userName":"role"}}}}`,
	`{` + base + `,"userIdentity":{"sessionContext":[{"sessionIssuer":{"arn":"x"}}]}}`,
	`{` + base + `,"userIdentity":{"sessionContext":{"sessionIssuer":"x","attributes":["mfaAuthenticated"]}}}`,
	// Whitespace wherever JSON allows it.
	" \t\r\n{ \"eventTime\" :\t\"2023-07-10T11:42:31Z\" ,\n\"eventName\"\r: \"X\" , \"errorMessage\" : { \"a\" : [ 1 , \"x y\" ] } } \n",
	// Nesting at fastjson's limit (300 levels, counting the event itself) and past it.
	`{` + base + `,"requestParameters":` + strings.Repeat("[", 298) + strings.Repeat("]", 298) + `}`,
	`{` + base + `,"requestParameters":` + strings.Repeat("[", 299) + strings.Repeat("]", 299) + `}`,
	`{` + base + `,"requestParameters":` + strings.Repeat("[", 298) + "1" + strings.Repeat("]", 298) + `}`,
	`{` + base + `,"requestParameters":` + strings.Repeat("[", 299) + "1" + strings.Repeat("]", 299) + `}`,
	`{` + base + `,"requestParameters":` + strings.Repeat(`{"a":`, 298) + "{}" + strings.Repeat("}", 298) + `}`,
	`{` + base + `,"requestParameters":` + strings.Repeat(`{"a":`, 299) + "{}" + strings.Repeat("}", 299) + `}`,
	`{` + base + `,"userIdentity":{"sessionContext":{"sessionIssuer":{"arn":` + strings.Repeat("[", 296) + strings.Repeat("]", 296) + `}}}}`,
	`{` + base + `,"userIdentity":{"sessionContext":{"sessionIssuer":{"arn":` + strings.Repeat("[", 297) + strings.Repeat("]", 297) + `}}}}`,
	// Not an event: other JSON values.
	`[{` + base + `}]`, `"event"`, `42`, `null`, `true`, `{}`, `{"Records":[{` + base + `}]}`,
	// Not JSON at all, or JSON that fastjson accepted although it is invalid.
	``, ` `, "\ufeff{" + base + `}`, `{`, `{` + base, `{` + base + `,}`, `{` + base + `} x`, `{` + base + `}{}`,
	`{"eventTime" "x"}`, `{eventTime:"x"}`, `{` + base + `,"a":[1,]}`, `{` + base + `,"a":[1 2]}`, `{` + base + `,"a":tru}`, `{` + base + `,"a":nul}`,
	`{` + base + `,"a":NaN}`, `{` + base + `,"a":nan}`, `{` + base + `,"a":-Inf}`, `{` + base + `,"a":1.2.3}`, `{` + base + `,"a":01}`, `{` + base + `,"a":1.}`,
	`{` + base + `,"a":.5}`, `{` + base + `,"a":+1}`, `{` + base + `,"a":1e}`, `{` + base + `,"a":-}`, `{` + base + `,"a":--1}`, `{` + base + `,"a":1e+-2}`,
	`{` + base + `,"eventName":"tab	inside"}`, `{` + base + `,"eventName":"nul` + "\x00" + `"}`, `{` + base + `,"eventName":"bad \x escape"}`,
	`{` + base + `,"eventName":"short \u12"}`, `{` + base + `,"eventName":"bad \u12g4 hex"}`, `{` + base + `,"eventName":"unterminated}`,
	`{` + base + `,"eventName":"a"` + "\x00" + `}`, `{` + base + `,"a":[` + "\v" + `1]}`,
}

func TestExtractEdgeCases(t *testing.T) {
	for _, c := range extractEdgeCases {
		checkExtract(t, []byte(c))
	}
}

// TestExtractFastjsonCorners pins down, with values read off fastjson itself, the behaviours
// the differential tests rely on, so that a change in fastjson would show here first.
func TestExtractFastjsonCorners(t *testing.T) {
	cases := []struct {
		raw   string
		field func(Event) string
		want  string
	}{
		{`{` + base + `,"eventName":"First","eventName":"Second"}`, func(e Event) string { return e.EventName }, "First"},
		{`{` + base + `,"event\u004eame":"Escaped","eventName":"Plain"}`, func(e Event) string { return e.EventName }, "Plain"},
		{`{"eventTime":"2023-07-10T11:42:31Z","event\u004eame":"N","event\u0053ource":"S1","eventSource":"S2"}`, func(e Event) string { return e.EventSource }, "S1"},
		{`{` + base + `,"errorMessage":{ "a" : [1, "x y"] }}`, func(e Event) string { return e.ErrorMessage }, `{"a":[1,"x y"]}`},
		{`{` + base + `,"eventName":"\ud800\u0041"}`, func(e Event) string { return e.EventName }, "\uFFFD"},
		{`{` + base + `,"eventName":"\ud800x"}`, func(e Event) string { return e.EventName }, `\ud800x`},
		{`{` + base + `,"eventName":1.50}`, func(e Event) string { return e.EventName }, "1.50"},
	}
	for _, c := range cases {
		for name, extract := range map[string]func([]byte) (Event, error){"oracle": extractOracle, "Extract": Extract} {
			e, err := extract([]byte(c.raw))
			if err != nil {
				t.Fatalf("%s(%s): %v", name, c.raw, err)
			}
			if got := c.field(e); got != c.want {
				t.Errorf("%s(%s) = %q, want %q", name, c.raw, got, c.want)
			}
		}
	}
}

// TestExtractErrors checks the kinds of error Extract returns, which callers tell apart.
func TestExtractErrors(t *testing.T) {
	for raw, want := range map[string]string{
		``:                                       "parse error",
		`{"eventTime":`:                          "parse error",
		`{"a":NaN}`:                              "parse error",
		`[1]`:                                    "not an event",
		`{"eventName":"x"}`:                      "not an event",
		`{` + base + `} `:                        "ok",
		`{"eventSource":"s","eventTime":"soon"}`: `eventTime "soon": not a time`,
	} {
		if _, err := Extract([]byte(raw)); errClass(err) != want {
			t.Errorf("Extract(%q) error %v, want %s", raw, err, want)
		}
	}
}

// TestExtractOwnMemory checks that an event's strings survive the reuse of its input buffer,
// and that they come from one allocation (the second is ReadOnly).
func TestExtractOwnMemory(t *testing.T) {
	raw := genEvent(nil, 42)
	want, err := Extract(bytes.Clone(raw))
	if err != nil {
		t.Fatal(err)
	}
	buf := bytes.Clone(raw)
	e, err := Extract(buf)
	if err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] = 'x'
	}
	e.Raw, want.Raw = nil, nil
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("fields changed with the input buffer:\n got %s\nwant %s", dumpEvent(e), dumpEvent(want))
	}
	if allocs := testing.AllocsPerRun(100, func() { _, _ = Extract(raw) }); allocs > 2 && !raceEnabled {
		t.Errorf("Extract makes %.0f allocations per event, want 2", allocs)
	}
}

func TestParseTime(t *testing.T) {
	inputs := []string{
		"2023-07-10T11:42:31Z", "2023-07-10T11:42:31.5Z", "2023-07-10T11:42:31.123Z", "2023-07-10T11:42:31.123456789Z",
		"2023-07-10T11:42:31.1234567891Z", "2023-07-10T11:42:31.Z", "2023-07-10T11:42:31,5Z", "2023-07-10T11:42:31+00:00",
		"2023-07-10T11:42:31-07:30", "2023-07-10 11:42:31.000", "2023-07-10 11:42:31", "2023-07-10T11:42:31",
		"0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2000-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2023-04-31T00:00:00Z",
		"2023-00-10T11:42:31Z", "2023-13-10T11:42:31Z", "2023-07-00T11:42:31Z", "2023-07-32T11:42:31Z", "2023-07-10T24:00:00Z",
		"2023-07-10T23:60:00Z", "2023-07-10T23:59:60Z", "2023-07-10T1:42:31Z", "+023-07-10T11:42:31Z", "2023-07-10T11:42:31z",
		"2023-07-10T11:42:31ZZ", "2023-07-10T11:42:31.-5Z", "2023-07-10X11:42:31Z", "", "Z",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		// Mostly valid CloudTrail times, with a field now and then out of range or malformed.
		s := fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d", rng.IntN(10000), rng.IntN(14), rng.IntN(33), rng.IntN(26), rng.IntN(62), rng.IntN(62))
		if d := rng.IntN(12); d > 0 {
			s += "." + fmt.Sprint(rng.Int64())[:min(d, 10)]
		}
		inputs = append(inputs, s+"Z")
	}
	for _, s := range inputs {
		got, gerr := ParseTime(s)
		want, werr := parseTimeOracle(s)
		if (gerr == nil) != (werr == nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("ParseTime(%q) = %v, %v; want %v, %v", s, got, gerr, want, werr)
		}
	}
}

// FuzzExtract compares Extract with the oracle on any input (see checkExtract). Seeds live in
// testdata/fuzz/FuzzExtract; the edge cases and a generated event are added here.
func FuzzExtract(f *testing.F) {
	for _, c := range extractEdgeCases {
		f.Add([]byte(c))
	}
	f.Add(genEvent(nil, 1))
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkExtract(t, raw)
	})
}

// BenchmarkExtract measures Extract on generated events of about 1.2 KB, and on real events
// of the Invictus data set when it is there, beside the fastjson version it replaced. Each set
// is 100 events, which stay in the CPU's caches as an event does between the decoder and
// Extract at ingest.
func BenchmarkExtract(b *testing.B) {
	const n = 100
	var generated [][]byte
	for i := range n {
		generated = append(generated, genEvent(nil, i*97))
	}
	sets := []struct {
		name string
		recs [][]byte
	}{{"generated", generated}}
	if files, _ := filepath.Glob(filepath.Join(repoRoot, "..", "shared", "data", "invictus-aws-dataset", "*.json")); len(files) > 0 {
		var recs [][]byte
		for _, path := range files {
			data, err := os.ReadFile(path)
			if err != nil {
				b.Fatal(err)
			}
			recs = append(recs, decodeRecords(data)...)
		}
		sample := make([][]byte, n)
		for i := range sample {
			sample[i] = recs[i*len(recs)/n]
		}
		sets = append(sets, struct {
			name string
			recs [][]byte
		}{"invictus", sample})
	}
	for _, set := range sets {
		size := 0
		for _, r := range set.recs {
			size += len(r)
		}
		for _, impl := range []struct {
			name    string
			extract func([]byte) (Event, error)
		}{{"new", Extract}, {"oracle", extractOracle}} {
			b.Run(set.name+"/"+impl.name, func(b *testing.B) {
				b.SetBytes(int64(size / len(set.recs)))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := impl.extract(set.recs[i%len(set.recs)]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}

// BenchmarkParseTime measures ParseTime's fast path beside time.Parse, and a form it leaves
// to time.Parse.
func BenchmarkParseTime(b *testing.B) {
	for _, s := range []string{"2023-07-10T11:42:31Z", "2023-07-10T11:42:31.123Z", "2023-07-10 11:42:31.000"} {
		for _, impl := range []struct {
			name  string
			parse func(string) (time.Time, error)
		}{{"new", ParseTime}, {"oracle", parseTimeOracle}} {
			b.Run(s+"/"+impl.name, func(b *testing.B) {
				for b.Loop() {
					if _, err := impl.parse(s); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
