package cloudtrail

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden/decode")

// repoRoot is the repository root seen from this package's directory.
const repoRoot = "../.."

func inputPath(name string) string { return filepath.Join(repoRoot, "testdata", "inputs", name) }

// decodeAll runs DecodeContext and collects the records.
func decodeAll(t testing.TB, r io.Reader) ([]Record, Stats, error) {
	t.Helper()
	var recs []Record
	st, err := DecodeContext(context.Background(), r, func(rec Record) error {
		recs = append(recs, rec)
		return nil
	})
	return recs, st, err
}

// checkCompact fails unless raw is valid, compact, UTF-8 JSON that Extract handles.
func checkCompact(t testing.TB, raw []byte) {
	t.Helper()
	if !json.Valid(raw) {
		t.Fatalf("emitted invalid JSON: %.200s", raw)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil || !bytes.Equal(buf.Bytes(), raw) {
		t.Fatalf("emitted JSON is not compact: %.200s", raw)
	}
	if !utf8.Valid(raw) {
		t.Fatalf("emitted invalid UTF-8: %.200s", raw)
	}
	_, _ = Extract(raw) // must not panic
}

func unmarshalAny(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("unmarshal %.200s: %v", b, err)
	}
	return v
}

// Independent readings of what each fixture holds, with encoding/json, to compare the
// decoder's records with.

// topValues reads back-to-back JSON values.
func topValues(t testing.TB, data []byte) []any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, bom)))
	var out []any
	for {
		var v any
		if err := dec.Decode(&v); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("reference decode: %v", err)
		}
		out = append(out, v)
	}
}

func wantRecords(t testing.TB, data []byte) []any {
	var out []any
	for _, v := range topValues(t, data) {
		out = append(out, v.(map[string]any)["Records"].([]any)...)
	}
	return out
}

func wantArray(t testing.TB, data []byte) []any { return topValues(t, data)[0].([]any) }

func wantDetails(t testing.TB, data []byte) []any {
	var out []any
	for _, v := range topValues(t, data) {
		elems, ok := v.([]any)
		if !ok {
			elems = []any{v}
		}
		for _, e := range elems {
			if d := e.(map[string]any)["detail"].(map[string]any); d["eventTime"] != nil {
				out = append(out, d)
			}
		}
	}
	return out
}

func wantLookup(t testing.TB, data []byte) []any {
	var out []any
	for _, e := range topValues(t, data)[0].(map[string]any)["Events"].([]any) {
		out = append(out, unmarshalAny(t, []byte(e.(map[string]any)["CloudTrailEvent"].(string))))
	}
	return out
}

// wantSplunk reads the events out of Splunk's JSON: a "results" array or "result" lines, each
// event a _raw string; a _raw that is no JSON object is not an event.
func wantSplunk(t testing.TB, data []byte) []any {
	var out []any
	for _, v := range topValues(t, data) {
		top := v.(map[string]any)
		var rows []any
		if rs, ok := top["results"].([]any); ok {
			rows = rs
		} else {
			rows = []any{top["result"]}
		}
		for _, row := range rows {
			if raw := row.(map[string]any)["_raw"].(string); strings.HasPrefix(raw, "{") {
				out = append(out, unmarshalAny(t, []byte(raw)))
			}
		}
	}
	return out
}

// wantSources reads the events out of search engine documents: each _source that has an
// eventTime.
func wantSources(t testing.TB, data []byte) []any {
	var out []any
	for _, v := range topValues(t, data) {
		if src := v.(map[string]any)["_source"].(map[string]any); src["eventTime"] != nil {
			out = append(out, src)
		}
	}
	return out
}

// wantSplunkCSV reads the events out of the _raw column of a Splunk CSV export.
func wantSplunkCSV(t testing.TB, data []byte) []any {
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(rows[0], "_raw")
	var out []any
	for _, row := range rows[1:] {
		if strings.HasPrefix(row[col], "{") {
			out = append(out, unmarshalAny(t, []byte(row[col])))
		}
	}
	return out
}

// wantMessages reads the events out of log records that keep each event in a message string:
// CloudWatch Logs' events and logEvents arrays, and search engine documents (_source.message).
// A message that is no JSON object is not an event.
func wantMessages(t testing.TB, data []byte) []any {
	var out []any
	take := func(rec any) {
		if m, _ := rec.(map[string]any)["message"].(string); strings.HasPrefix(m, "{") {
			out = append(out, unmarshalAny(t, []byte(m)))
		}
	}
	for _, v := range topValues(t, data) {
		top := v.(map[string]any)
		for _, key := range []string{"events", "logEvents"} {
			if recs, ok := top[key].([]any); ok {
				for _, r := range recs {
					take(r)
				}
			}
		}
		if src, ok := top["_source"]; ok {
			take(src)
		}
	}
	return out
}

// wantSearchHits reads the events out of a search response's hits.hits documents.
func wantSearchHits(t testing.TB, data []byte) []any {
	var out []any
	for _, h := range topValues(t, data)[0].(map[string]any)["hits"].(map[string]any)["hits"].([]any) {
		if src := h.(map[string]any)["_source"].(map[string]any); src["eventTime"] != nil {
			out = append(out, src)
		}
	}
	return out
}

func wantCloudWatch(t testing.TB, data []byte) []any {
	var out []any
	for line := range strings.Lines(string(data)) {
		if _, ev, ok := strings.Cut(line, " "); ok {
			out = append(out, unmarshalAny(t, []byte(ev)))
		}
	}
	return out
}

func TestDecodeFixtures(t *testing.T) {
	tests := []struct {
		file      string
		format    Format
		stats     Stats // Format and FirstSkipped are not compared
		err       error // matched with errors.Is; syntaxErr for a *SyntaxError
		originals func(testing.TB, []byte) []any
	}{
		{file: "records.json", format: FormatRecords, stats: Stats{Events: 3}, originals: wantRecords},
		{file: "records-bom.json", format: FormatRecords, stats: Stats{Events: 2}, originals: wantRecords},
		{file: "records-key-last.json", format: FormatRecords, stats: Stats{Events: 1}, originals: wantRecords},
		{file: "records-keys-after.json", format: FormatRecords, stats: Stats{Events: 1}, originals: wantRecords},
		{file: "array-pretty.json", format: FormatArray, stats: Stats{Events: 2}, originals: wantArray},
		{file: "events-crlf.jsonl", format: FormatJSONL, stats: Stats{Events: 3}, originals: topValues},
		{file: "firehose-concatenated.json", format: FormatJSONL, stats: Stats{Events: 3}, originals: topValues},
		{file: "single-pretty-event.json", format: FormatJSONL, stats: Stats{Events: 1}, originals: topValues},
		{file: "lookup-events.json", format: FormatLookupEvents, stats: Stats{Events: 3}, originals: wantLookup},
		{file: "cloudwatch-export.log", format: FormatCloudWatch, stats: Stats{Events: 3}, originals: wantCloudWatch},
		{file: "cloudwatch-filter-log-events.json", format: FormatCloudWatch, stats: Stats{Events: 3, Skipped: 1}, originals: wantMessages},
		{file: "cloudwatch-subscription.json", format: FormatCloudWatch, stats: Stats{Events: 2, Skipped: 1}, originals: wantMessages},
		{file: "logstash-message.jsonl", format: FormatElastic, stats: Stats{Events: 3, Skipped: 1}, originals: wantMessages},
		{file: "eventbridge-array.json", format: FormatEventBridge, stats: Stats{Events: 3, Skipped: 1}, originals: wantDetails},
		{file: "eventbridge.jsonl", format: FormatEventBridge, stats: Stats{Events: 2}, originals: wantDetails},
		{file: "lake-results.csv", format: FormatLakeCSV, stats: Stats{Events: 3}},
		{file: "splunk-export.jsonl", format: FormatSplunk, stats: Stats{Events: 3, Skipped: 1}, originals: wantSplunk},
		{file: "splunk-results.json", format: FormatSplunk, stats: Stats{Events: 2}, originals: wantSplunk},
		{file: "splunk-export.csv", format: FormatSplunk, stats: Stats{Events: 3, Skipped: 1}, originals: wantSplunkCSV},
		{file: "elastic-docs.jsonl", format: FormatElastic, stats: Stats{Events: 3, Skipped: 1}, originals: wantSources},
		{file: "elastic-search.json", format: FormatElastic, stats: Stats{Events: 2, Skipped: 1}, originals: wantSearchHits},
		{file: "digest.json", format: FormatDigest, stats: Stats{Digests: 1}, originals: topValues},
		{file: "insight.json", format: FormatRecords, stats: Stats{Insights: 2}, originals: wantRecords},
		{file: "mixed-array.json", format: FormatArray, stats: Stats{Events: 2, Skipped: 2}},
		{file: "not-cloudtrail.json", stats: Stats{Skipped: 1}, err: ErrNotCloudTrail},
		{file: "s3-event-notification.json", stats: Stats{Skipped: 1}, err: ErrNotCloudTrail},
		{file: "license.txt", err: ErrNotCloudTrail},
		{file: "empty.json", err: ErrEmpty},
		{file: "whitespace-only.json", err: ErrEmpty},
		{file: "truncated.json", format: FormatRecords, stats: Stats{Events: 2}, err: errSyntax},
		{file: "broken-middle.jsonl", format: FormatJSONL, stats: Stats{Events: 2}, err: errSyntax},
		{file: "binary-junk.bin", err: errSyntax},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(inputPath(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			recs, st, err := decodeAll(t, bytes.NewReader(data))
			checkErr(t, err, tt.err)
			if st.Format != tt.format {
				t.Errorf("format = %q, want %q", st.Format, tt.format)
			}
			got := st
			got.Format, got.FirstSkipped = "", ""
			if got != tt.stats {
				t.Errorf("stats = %+v, want %+v", got, tt.stats)
			}
			if len(recs) != st.Records() {
				t.Errorf("emitted %d records, stats say %d", len(recs), st.Records())
			}
			for _, r := range recs {
				checkCompact(t, r.Raw)
			}
			if tt.originals != nil {
				want := tt.originals(t, data)
				if len(want) != len(recs) {
					t.Fatalf("%d records, reference has %d", len(recs), len(want))
				}
				for i, r := range recs {
					if g := unmarshalAny(t, r.Raw); !reflect.DeepEqual(g, want[i]) {
						t.Errorf("record %d differs from the original:\n got %s", i, r.Raw)
					}
				}
			}
			// The same input read one byte at a time must give the same result: every
			// buffer boundary falls somewhere inside a token.
			slow, slowSt, slowErr := decodeAll(t, iotest.OneByteReader(bytes.NewReader(data)))
			if fmt.Sprint(slowErr) != fmt.Sprint(err) || slowSt != st || !sameRecords(slow, recs) {
				t.Errorf("one byte at a time: %+v, %v; whole: %+v, %v", slowSt, slowErr, st, err)
			}
		})
	}
	entries, err := os.ReadDir(filepath.Join(repoRoot, "testdata", "inputs"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !seen[e.Name()] {
			t.Errorf("fixture %s has no expectation in this table", e.Name())
		}
	}
}

// errSyntax stands for "a *SyntaxError" in test tables.
var errSyntax = errors.New("syntax error")

func checkErr(t *testing.T, err, want error) {
	t.Helper()
	var se *SyntaxError
	switch {
	case want == nil && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want == errSyntax:
		if !errors.As(err, &se) {
			t.Fatalf("error = %v, want a *SyntaxError", err)
		}
	case want != nil && !errors.Is(err, want):
		t.Fatalf("error = %v, want %v", err, want)
	}
}

func sameRecords(a, b []Record) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Kind != b[i].Kind || !bytes.Equal(a[i].Raw, b[i].Raw) {
			return false
		}
	}
	return true
}

// TestDecodeGolden pins the exact output for every fixture: the form, the counts, the error,
// and each record's kind and raw JSON, one per line. Run with -update to rewrite.
func TestDecodeGolden(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join(repoRoot, "testdata", "inputs"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			data, err := os.ReadFile(inputPath(e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			recs, st, derr := decodeAll(t, bytes.NewReader(data))
			var out strings.Builder
			fmt.Fprintf(&out, "format: %s\n", st.Format)
			fmt.Fprintf(&out, "stats: events=%d insights=%d digests=%d skipped=%d\n", st.Events, st.Insights, st.Digests, st.Skipped)
			if st.FirstSkipped != "" {
				fmt.Fprintf(&out, "first skipped: %s\n", st.FirstSkipped)
			}
			if derr != nil {
				fmt.Fprintf(&out, "error: %v\n", derr)
			}
			for _, r := range recs {
				fmt.Fprintf(&out, "%s %s\n", r.Kind, r.Raw)
			}
			golden := filepath.Join(repoRoot, "testdata", "golden", "decode", e.Name()+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if out.String() != string(want) {
				t.Errorf("output differs from %s (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", golden, out.String(), want)
			}
		})
	}
}

// ev is a small valid event for inline cases.
const ev = `{"eventTime":"2024-05-09T20:25:03Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventID":"e1"}`

func TestDecodeInline(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		format Format
		raws   []string // the exact records expected
		err    error
		errMsg string // a substring of the error, when set
	}{
		{name: "empty Records", in: `{"Records":[]}`, format: FormatRecords},
		{name: "empty array", in: " [ ] ", format: FormatArray},
		{name: "empty Events", in: `{"Events":[],"NextToken":null}`, format: FormatLookupEvents},
		{name: "Records not an array", in: `{"Records":5}`, err: ErrNotCloudTrail, errMsg: "JSON object with keys Records"},
		{name: "empty object", in: `{}`, err: ErrNotCloudTrail, errMsg: "empty JSON object"},
		{name: "scalar", in: `"hello"`, err: ErrNotCloudTrail, errMsg: "JSON string"},
		{name: "several non-events", in: "1\n2\n3\n", err: ErrNotCloudTrail, errMsg: "3 values, the first: JSON number"},
		{name: "two Records files back to back", in: `{"Records":[` + ev + `]}` + "\n" + `{"Records":[` + ev + `]}`, format: FormatRecords, raws: []string{ev, ev}},
		{name: "whitespace is removed", in: "{ \"Records\" : [\n\t" + strings.ReplaceAll(ev, ",", " ,\r\n ") + " ] }", format: FormatRecords, raws: []string{ev}},
		{name: "escapes are kept", in: `[{"eventTime":"t\u0031","eventName":"a\"b\\c\/d\n"}]`, format: FormatArray, raws: []string{`{"eventTime":"t\u0031","eventName":"a\"b\\c\/d\n"}`}},
		{name: "invalid UTF-8 becomes U+FFFD", in: "[{\"eventTime\":\"t\",\"eventName\":\"a\xffb\xe2\x82\"}]", format: FormatArray, raws: []string{"{\"eventTime\":\"t\",\"eventName\":\"a\uFFFDb\uFFFD\uFFFD\"}"}},
		{name: "numbers", in: `[{"eventTime":"t","eventName":"n","a":[0,-1,2.50,1e10,-3.2E-4,12345678901234567890]}]`, format: FormatArray, raws: []string{`{"eventTime":"t","eventName":"n","a":[0,-1,2.50,1e10,-3.2E-4,12345678901234567890]}`}},
		{name: "null eventName and empty eventSource", in: `{"eventTime":"t","eventName":null,"eventSource":""}`, err: ErrNotCloudTrail},
		{name: "eventTime null", in: `{"eventTime":null,"eventName":"x"}`, err: ErrNotCloudTrail},
		{name: "insight without eventName", in: `{"eventTime":"t","eventType":"AwsCloudTrailInsight","insightDetails":{"eventName":"x"}}`, format: FormatJSONL, raws: []string{`{"eventTime":"t","eventType":"AwsCloudTrailInsight","insightDetails":{"eventName":"x"}}`}},
		{name: "EventBridge envelope line", in: `{"version":"0","detail-type":"AWS API Call via CloudTrail","detail":` + ev + `}`, format: FormatEventBridge, raws: []string{ev}},
		{name: "lookup entry with pretty inner event", in: `{"Events":[{"EventId":"e1","CloudTrailEvent":"{\n  \"eventTime\": \"t\",\n  \"eventName\": \"x\"\n}"}]}`, format: FormatLookupEvents, raws: []string{`{"eventTime":"t","eventName":"x"}`}},
		{name: "lookup entry with broken inner event", in: `{"Events":[{"EventId":"e1","CloudTrailEvent":"{\"eventTime\":"}]}`, err: ErrNotCloudTrail},
		{name: "search response, documents before total", in: `{"took":3,"hits":{"hits":[{"_id":"1","_source":` + ev + `}],"total":{"value":1}},"_shards":{}}`, format: FormatElastic, raws: []string{ev}},
		{name: "search response without documents", in: `{"took":3,"hits":{"total":{"value":0},"max_score":null}}`, format: FormatElastic},
		{name: "hits not an object", in: `{"hits":5}`, err: ErrNotCloudTrail, errMsg: "JSON object with keys hits"},
		{name: "Splunk _raw with text after the event", in: `{"_raw":"{\"eventTime\":\"t\",\"eventName\":\"x\"} tail"}`, err: ErrNotCloudTrail, errMsg: "Splunk result"},
		{name: "log record line", in: `{"timestamp":1,"message":"{\"eventTime\":\"t\",\"eventName\":\"x\"}"}`, format: FormatCloudWatch, raws: []string{`{"eventTime":"t","eventName":"x"}`}},
		{name: "log record that is not an event", in: `{"timestamp":1,"message":"GET / 200"}`, err: ErrNotCloudTrail, errMsg: "log record whose message"},
		{name: "empty log events", in: `{"events":[],"searchedLogStreams":[]}`, format: FormatCloudWatch},
		{name: "Splunk result line", in: `{"preview":false,"result":{"_raw":"{\"eventTime\":\"t\",\"eventName\":\"x\"}"}}`, format: FormatSplunk, raws: []string{`{"eventTime":"t","eventName":"x"}`}},
		{name: "CloudWatch line with tab", in: "2024-05-09T20:25:03Z\t" + ev + "\n", format: FormatCloudWatch, raws: []string{ev}},
		{name: "number then text", in: "2024 was a year", err: ErrNotCloudTrail, errMsg: "text that is neither JSON"},
		{name: "CSV without CloudTrail columns", in: "name,count\nx,1\n", err: ErrNotCloudTrail, errMsg: "text that is neither JSON"},
		{name: "Lake CSV lower-case header (Athena)", in: "eventtime,eventname,readonly,useridentity\n2024-05-09 20:25:03.000,GetObject,TRUE,\"{\"\"type\"\":\"\"Root\"\"}\"\n,NoTime,,\n", format: FormatLakeCSV, raws: []string{`{"eventTime":"2024-05-09 20:25:03.000","eventName":"GetObject","readOnly":true,"userIdentity":{"type":"Root"}}`}},
		{name: "Lake CSV cell not JSON stays a string", in: "eventTime,eventName,userIdentity\nt,x,\"{type=Root, arn=a}\"\n", format: FormatLakeCSV, raws: []string{`{"eventTime":"t","eventName":"x","userIdentity":"{type=Root, arn=a}"}`}},
		{name: "Lake CSV short row", in: "eventTime,eventName\nt,x\nt\n", format: FormatLakeCSV, raws: []string{`{"eventTime":"t","eventName":"x"}`}, err: errSyntax, errMsg: "line 3"},
		{name: "trailing comma", in: `[` + ev + `,]`, format: FormatArray, raws: []string{ev}, err: errSyntax, errMsg: "offset 112 (line 1): found ']', expected a JSON value"},
		{name: "missing colon", in: "\n\n{\"a\" 1}", err: errSyntax, errMsg: "offset 7 (line 3): found '1', expected ':' after object key"},
		{name: "bad escape", in: `["\x"]`, err: errSyntax, errMsg: `invalid escape \x`},
		{name: "bad unicode escape", in: `["\u12g4"]`, err: errSyntax, errMsg: `four hex digits`},
		{name: "control character in string", in: "[\"a\tb\"]", err: errSyntax, errMsg: "control character"},
		{name: "unclosed string", in: `{"Records":[{"eventTime":"2024`, format: "", err: errSyntax, errMsg: "offset 25 (line 1): string not closed"},
		{name: "bad literal", in: `[tru]`, err: errSyntax, errMsg: `expected "true"`},
		{name: "bad number", in: `[-]`, err: errSyntax, errMsg: `expected a digit`},
		{name: "bad fraction", in: `[1.]`, err: errSyntax, errMsg: `a digit after '.'`},
		{name: "leading zero", in: `[01]`, err: errSyntax, errMsg: `found '1', expected ',' or ']'`},
		{name: "gzip bytes", in: "\x1f\x8b\x08\x00\x00\x00", err: errSyntax, errMsg: "gzip"},
		{name: "garbage after value", in: ev + " }", format: FormatJSONL, raws: []string{ev}, err: errSyntax, errMsg: "found '}'"},
		{name: "deep nesting", in: strings.Repeat("[", maxDepth+5), err: errSyntax, errMsg: "nesting deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, st, err := decodeAll(t, strings.NewReader(tt.in))
			checkErr(t, err, tt.err)
			if tt.errMsg != "" && (err == nil || !strings.Contains(err.Error(), tt.errMsg)) {
				t.Errorf("error %q does not contain %q", err, tt.errMsg)
			}
			if st.Format != tt.format {
				t.Errorf("format = %q, want %q", st.Format, tt.format)
			}
			var raws []string
			for _, r := range recs {
				checkCompact(t, r.Raw)
				raws = append(raws, string(r.Raw))
			}
			if !reflect.DeepEqual(raws, tt.raws) {
				t.Errorf("records:\n got %q\nwant %q", raws, tt.raws)
			}
		})
	}
}

func TestDecodeRecordsAreFresh(t *testing.T) {
	in := `{"Records":[` + ev + `,` + strings.Replace(ev, "e1", "e2", 1) + `]}`
	recs, _, err := decodeAll(t, strings.NewReader(in))
	if err != nil || len(recs) != 2 {
		t.Fatalf("got %d records, %v", len(recs), err)
	}
	if string(recs[0].Raw) != ev {
		t.Errorf("first record was overwritten by a later one: %s", recs[0].Raw)
	}
}

func TestDecodeReadError(t *testing.T) {
	data, err := os.ReadFile(inputPath("records.json"))
	if err != nil {
		t.Fatal(err)
	}
	broken := io.MultiReader(bytes.NewReader(data[:len(data)/2]), iotest.ErrReader(io.ErrUnexpectedEOF))
	_, _, err = decodeAll(t, broken)
	var se *SyntaxError
	if !errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &se) {
		t.Fatalf("error = %v, want the reader's error, not a syntax error", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("offset %d", len(data)/2)) {
		t.Errorf("error %q does not name offset %d", err, len(data)/2)
	}
}

func TestDecodeEmitErrorStops(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	_, err := Decode(strings.NewReader(`[`+ev+`,`+ev+`,`+ev+`]`), func(Record) error {
		n++
		return stop
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("err = %v after %d records, want stop after 1", err, n)
	}
}

func TestDecodeCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err := DecodeContext(ctx, newRecordsReader(10_000, false), func(Record) error {
		if n++; n == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n > 10+256 {
		t.Fatalf("err = %v after %d records, want context.Canceled soon after 10", err, n)
	}
}

// TestSpecial checks the word-at-a-time test against the byte table it stands for.
func TestSpecial(t *testing.T) {
	check := func(b []byte) {
		want := false
		for _, c := range b {
			want = want || !plain[c]
		}
		if got := special(binary.LittleEndian.Uint64(b)) != 0; got != want {
			t.Fatalf("special(%q) != 0 is %v, want %v", b, got, want)
		}
	}
	for pos := range 8 {
		for c := range 256 {
			for _, fill := range []byte{'a', ' ', '!', '#', '[', ']', '~', 0x7f} {
				b := bytes.Repeat([]byte{fill}, 8)
				b[pos] = byte(c)
				check(b)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		var b [8]byte
		for i := range b {
			b[i] = byte(0x1c + r.IntN(0x68)) // mostly around the edges of the plain range
		}
		check(b[:])
	}
}

// TestDecodeBorrowed: every input decodes to the same records, and the same outcome, whether
// Raw is fresh or borrowed; a borrowed Raw is the decoder's buffer, overwritten after emit.
func TestDecodeBorrowed(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join(repoRoot, "testdata", "inputs"))
	if err != nil {
		t.Fatal(err)
	}
	reused := false
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(inputPath(e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var fresh, borrowed []string
		var last []byte
		st1, err1 := DecodeContext(context.Background(), bytes.NewReader(data), func(r Record) error {
			fresh = append(fresh, string(r.Raw))
			return nil
		})
		st2, err2 := DecodeBorrowed(context.Background(), bytes.NewReader(data), func(r Record) error {
			ev, xerr := r.Extract()
			if xerr == nil && ev.Raw != nil && &ev.Raw[0] != &r.Raw[0] {
				t.Errorf("%s: Extract copied the borrowed record", e.Name())
			}
			if last != nil && len(r.Raw) > 0 && &last[0] == &r.Raw[0] {
				reused = true
			}
			last = r.Raw
			borrowed = append(borrowed, string(r.Raw))
			return nil
		})
		if !slices.Equal(fresh, borrowed) || st1 != st2 || fmt.Sprint(err1) != fmt.Sprint(err2) {
			t.Errorf("%s: borrowed decode differs: %d/%d records, %+v/%+v, %v/%v", e.Name(), len(fresh), len(borrowed), st1, st2, err1, err2)
		}
	}
	if !reused {
		t.Error("no input had its records borrowed from one buffer: the test tells nothing")
	}
}
