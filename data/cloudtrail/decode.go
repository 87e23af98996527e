package cloudtrail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// How Decode tells the forms apart, from the first bytes and the keys it meets:
//
//   - '{' at the top: an object. A "Records" or "Events" array in it (at any position) is
//     streamed element by element; any other top-level object is buffered (they are small)
//     and then recognised by its keys: an event, an Insights event, a digest, an EventBridge
//     envelope (its detail is emitted), a lookup-events entry (its CloudTrailEvent string
//     is parsed and emitted), a search engine's document (an Elasticsearch or OpenSearch
//     _source object, or its message string), a Splunk result (a _raw string, at the top or
//     inside "result") or a log record (CloudWatch Logs: a message string).
//     Objects may follow one another with or without newlines. A "results" array (Splunk's
//     JSON output), an "events" or "logEvents" array (CloudWatch Logs) and a search
//     response's "hits":{"hits":[…]} are streamed too.
//   - '[' at the top: an array, streamed element by element, each element recognised as above.
//   - a digit: a CloudWatch Logs export line when an RFC 3339 time and an object follow.
//   - anything else: a CSV header naming eventTime and eventName or eventSource starts a
//     CloudTrail Lake (or Athena) result; other text is not CloudTrail; binary is an error.
//
// A value that is not CloudTrail is skipped and counted in Stats.Skipped; only when nothing in
// the input was CloudTrail does Decode return ErrNotCloudTrail. Skipping rather than failing
// keeps, say, an EventBridge archive that mixes CloudTrail with other sources loadable.

// Format names a recognised input form.
type Format string

// The input forms Decode recognises; see DESIGN.md "Inputs".
const (
	FormatRecords      Format = "records"       // S3 delivery: {"Records":[...]}
	FormatArray        Format = "array"         // a bare JSON array of events
	FormatJSONL        Format = "jsonl"         // JSON Lines, objects back to back, or one (pretty) event
	FormatLookupEvents Format = "lookup-events" // `aws cloudtrail lookup-events` output
	FormatCloudWatch   Format = "cloudwatch"    // CloudWatch Logs: an export's "<RFC 3339 time> <event>" lines, or each event in a message string
	FormatEventBridge  Format = "eventbridge"   // EventBridge envelopes whose detail is the event
	FormatLakeCSV      Format = "lake-csv"      // CloudTrail Lake query results as CSV
	FormatSplunk       Format = "splunk"        // Splunk search results: each event in a _raw string
	FormatElastic      Format = "elastic"       // Elasticsearch or OpenSearch documents: each event as _source
	FormatDigest       Format = "digest"        // a CloudTrail digest file
)

// ErrNotCloudTrail is returned for well-formed input that holds no CloudTrail record; the
// wrapping error says what was seen instead.
var ErrNotCloudTrail = errors.New("not CloudTrail")

// ErrEmpty is returned for input that is empty or only whitespace.
var ErrEmpty = errors.New("empty input")

// Stats tells what one decode found.
type Stats struct {
	Format   Format // form of the input; empty when nothing was recognised
	Events   int    // KindEvent records emitted
	Insights int    // KindInsight records emitted
	Digests  int    // KindDigest records emitted
	// Skipped counts values inside a CloudTrail stream that were not CloudTrail (an array
	// element without eventTime, an EventBridge event from another source, …). They are left
	// out, not emitted; FirstSkipped describes the first of them.
	Skipped      int
	FirstSkipped string
}

// Records is the number of records emitted.
func (s Stats) Records() int { return s.Events + s.Insights + s.Digests }

// Decode reads plain (already decompressed) content, recognises its form by content, never by
// file name, and calls emit for every record in input order. Each Record.Raw is a fresh slice of
// compact JSON that parses equal to the original value; the caller may keep it.
//
// Errors: ErrEmpty for empty or whitespace-only input; an error wrapping ErrNotCloudTrail for
// well-formed JSON (or text) holding no CloudTrail record; a *SyntaxError naming the offset
// and line for broken JSON or binary junk; a read error from r, wrapped with its offset; or
// emit's own error, returned as it is. Records emitted before an error stay emitted, so a
// caller keeps the complete events in front of a break. Values that are not CloudTrail in a
// stream that also holds CloudTrail are skipped silently here; DecodeContext counts them.
func Decode(r io.Reader, emit func(Record) error) (Format, error) {
	st, err := DecodeContext(context.Background(), r, emit)
	return st.Format, err
}

// DecodeContext is Decode with cancellation, checked between records, and a count of what
// was emitted and skipped.
func DecodeContext(ctx context.Context, r io.Reader, emit func(Record) error) (Stats, error) {
	return decode(ctx, r, emit, false)
}

// DecodeBorrowed is DecodeContext, but each Record.Raw is the decoder's own buffer, valid only
// until emit returns: a caller that keeps a copy of what it needs (a load that packs each
// record for the store) is spared an allocation and a copy per record.
func DecodeBorrowed(ctx context.Context, r io.Reader, emit func(Record) error) (Stats, error) {
	return decode(ctx, r, emit, true)
}

func decode(ctx context.Context, r io.Reader, emit func(Record) error, borrow bool) (Stats, error) {
	if err := ctx.Err(); err != nil {
		return Stats{}, err
	}
	b := decodeBuffers.Get().(*buffers)
	d := &decoder{scanner: &scanner{r: r, buf: b.buf, line: 1}, ctx: ctx, emit: emit, borrow: borrow,
		top: b.top[:0], elem: b.elem[:0], inner: b.inner[:0], tmp: b.tmp[:0]}
	d.streamFn = d.streamKey
	err := d.run()
	// Nothing of the buffers outlives the decode: borrowed records end with emit, others are copies.
	*b = buffers{buf: d.buf, top: keep(d.top), elem: keep(d.elem), inner: keep(d.inner), tmp: keep(d.tmp)}
	decodeBuffers.Put(b)
	return d.stats, err
}

// decodeBuffers keeps a finished decode's buffers for the next one. CloudTrail delivers a file
// per region every five minutes, most holding a few events: allocating (and zeroing) 64 KiB and
// more for each made small files cost more than their events (BenchmarkIngestSmallFiles).
var decodeBuffers = sync.Pool{New: func() any { return &buffers{buf: make([]byte, readSize)} }}

type buffers struct{ buf, top, elem, inner, tmp []byte }

// keep is a record buffer worth keeping for the next decode: not one a huge record grew.
func keep(b []byte) []byte {
	if cap(b) > 1<<20 {
		return nil
	}
	return b
}

// decoder holds the state of one Decode: the scanner and one reusable buffer per nesting
// role, so that steady-state decoding allocates only the emitted records.
type decoder struct {
	*scanner
	ctx       context.Context
	emit      func(Record) error
	stats     Stats
	container Format // form of the first container seen, reported when it holds no record
	streamed  bool   // the current top-level object's Records/Events array was streamed
	count     int    // records emitted, for spacing cancellation checks
	borrow    bool   // emit records in the decoder's buffers (DecodeBorrowed)
	streamFn  func([]byte) (bool, error)

	top   []byte // current top-level value
	elem  []byte // current element of a streamed array
	inner []byte // event inside a lookup-events entry, a Splunk result or a Lake row
	tmp   []byte // event inside an EventBridge envelope or a search engine's document
	wrap  []byte // a Splunk "result" object, which holds the event's _raw string
	hits  []byte // a search response's "hits" object, less its documents

	innerInfo objInfo // the keys of inner or tmp
	wrapInfo  objInfo // the keys of wrap
}

var bom = []byte{0xEF, 0xBB, 0xBF}

func (d *decoder) run() error {
	if d.ensure(len(bom)); bytes.HasPrefix(d.buf[d.pos:d.end], bom) {
		d.pos += len(bom)
	}
	c, ok := d.skipWS()
	if !ok {
		if d.rerr != nil && !errors.Is(d.rerr, io.EOF) {
			return d.eof("")
		}
		return ErrEmpty
	}
	if c != '{' && c != '[' {
		if header, ok := d.lakeHeader(); ok {
			return d.lake(header)
		}
	}
	text, firstLine := d.sniffText()
	for {
		c, ok := d.skipWS()
		if !ok {
			if d.rerr != nil && !errors.Is(d.rerr, io.EOF) {
				return d.eof("")
			}
			break
		}
		if err := d.topValue(c); err != nil {
			var se *SyntaxError
			if errors.As(err, &se) && d.stats.Records() == 0 {
				if text {
					return fmt.Errorf("%w: text that is neither JSON nor a CloudTrail Lake CSV, starting %q", ErrNotCloudTrail, firstLine)
				}
				if hint := compressedHint(c, d); hint != "" {
					se.Msg += " (" + hint + ")"
				}
			}
			return err
		}
	}
	return d.finish()
}

// finish decides the result when the input ended cleanly.
func (d *decoder) finish() error {
	if d.stats.Records() > 0 {
		return nil
	}
	if d.stats.Skipped > 0 {
		d.stats.Format = ""
		if d.stats.Skipped == 1 {
			return fmt.Errorf("%w: %s", ErrNotCloudTrail, d.stats.FirstSkipped)
		}
		return fmt.Errorf("%w: %d values, the first: %s", ErrNotCloudTrail, d.stats.Skipped, d.stats.FirstSkipped)
	}
	// An empty container of a known form, e.g. {"Records":[]}: valid, nothing to load.
	d.stats.Format = d.container
	return nil
}

// sniffText looks at the start of the input, without consuming it, to tell plain text (a
// LICENSE, a README) from binary junk when it turns out not to be JSON.
func (d *decoder) sniffText() (bool, string) {
	d.ensure(512)
	head := d.buf[d.pos:min(d.end, d.pos+512)]
	if len(head) == 0 || head[0] == '{' || head[0] == '[' {
		return false, ""
	}
	for i := 0; i < utf8.UTFMax && len(head) > 0 && !utf8.Valid(head); i++ {
		head = head[:len(head)-1] // a rune cut by the 512-byte window
	}
	if !utf8.Valid(head) {
		return false, ""
	}
	for _, c := range head {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' || c == 0x7f {
			return false, ""
		}
	}
	line, _, _ := strings.Cut(string(head), "\n")
	line = strings.TrimSpace(line)
	if r := []rune(line); len(r) > 60 {
		line = string(r[:60]) + "…"
	}
	return true, line
}

// compressedHint recognises compressed or archived content handed over undecoded.
func compressedHint(first byte, d *decoder) string {
	if d.base != 0 || d.pos > len(bom)+512 {
		return "" // the input was read past its start; no magic number to look at
	}
	switch {
	case first == 0x1f:
		return "looks like gzip data: decompress it first"
	case first == 0xff || first == 0xfe:
		return "looks like UTF-16 text: CloudTrail JSON is UTF-8"
	case first == 'P' && bytes.HasPrefix(d.buf[:d.end], []byte("PK\x03\x04")):
		return "looks like a zip archive: open it first"
	}
	return ""
}

// topValue decodes one value at the top level of the input.
func (d *decoder) topValue(c byte) error {
	var err error
	switch {
	case c == '{':
		info := objInfo{stream: d.streamFn}
		if d.top, err = d.appendObject(d.top[:0], 1, &info); err != nil {
			return err
		}
		if d.streamed {
			d.streamed = false
			return nil
		}
		return d.handle(d.top, &info, FormatJSONL)
	case c == '[':
		return d.streamArray(FormatArray)
	case isDigit(c):
		if ok, err := d.cloudWatchLine(); ok || err != nil {
			return err
		}
	}
	if d.top, err = d.appendValue(d.top[:0], 0); err != nil {
		return err
	}
	return d.handle(d.top, &objInfo{}, FormatJSONL)
}

// streamKey is called for each key of a top-level object: a "Records" or "Events" array is
// decoded element by element instead of being buffered, wherever the key sits in the object.
func (d *decoder) streamKey(key []byte) (bool, error) {
	var form Format
	switch string(key) {
	case "Records":
		form = FormatRecords
	case "Events":
		form = FormatLookupEvents
	case "results":
		form = FormatSplunk
	case "events", "logEvents":
		// aws logs filter-log-events / get-log-events output, and the records a CloudWatch Logs
		// subscription delivers (through Firehose to S3): each event in a message string.
		form = FormatCloudWatch
	case "hits":
		return d.streamHits()
	default:
		return false, nil
	}
	if c, ok := d.skipWS(); !ok || c != '[' {
		return false, nil
	}
	d.streamed = true
	return true, d.streamArray(form)
}

// streamHits decodes an Elasticsearch or OpenSearch search response's {"hits":{"hits":[…]}}:
// the documents of the inner array are decoded one at a time, the rest of the outer "hits"
// object (total, max_score) is read past. CloudTrail has no "hits" key, so the top-level
// object is a search response either way, and is not kept.
func (d *decoder) streamHits() (bool, error) {
	if c, ok := d.skipWS(); !ok || c != '{' {
		return false, nil
	}
	inner := objInfo{stream: func(key []byte) (bool, error) {
		if string(key) != "hits" {
			return false, nil
		}
		if c, ok := d.skipWS(); !ok || c != '[' {
			return false, nil
		}
		return true, d.streamArray(FormatElastic)
	}}
	if d.container == "" {
		d.container = FormatElastic // a response with no documents is an empty one, as {"Records":[]}
	}
	var err error
	d.hits, err = d.appendObject(d.hits[:0], 2, &inner)
	d.streamed = true
	return true, err
}

// streamArray decodes the array at pos one element at a time.
func (d *decoder) streamArray(container Format) error {
	if d.container == "" {
		d.container = container
	}
	d.pos++
	c, ok := d.skipWS()
	if !ok {
		return d.eof("a JSON value or ']'")
	}
	if c == ']' {
		d.pos++
		return nil
	}
	for {
		var info objInfo
		var err error
		if c == '{' {
			d.elem, err = d.appendObject(d.elem[:0], 1, &info)
		} else {
			d.elem, err = d.appendValue(d.elem[:0], 0)
		}
		if err != nil {
			return err
		}
		if err := d.handle(d.elem, &info, container); err != nil {
			return err
		}
		if c, ok = d.skipWS(); !ok {
			return d.eof("',' or ']' after array element")
		}
		switch c {
		case ',':
			d.pos++
			if c, ok = d.skipWS(); !ok {
				return d.eof("a JSON value")
			}
		case ']':
			d.pos++
			return nil
		default:
			return d.unexpected(c, "',' or ']' after array element")
		}
	}
}

// cloudWatchLine decodes "<RFC 3339 time> <event>" when the input at pos has that shape.
func (d *decoder) cloudWatchLine() (bool, error) {
	d.ensure(48)
	w := d.buf[d.pos:min(d.end, d.pos+48)]
	sp := bytes.IndexAny(w, " \t")
	if sp <= 0 {
		return false, nil
	}
	if _, err := time.Parse(time.RFC3339Nano, string(w[:sp])); err != nil {
		return false, nil
	}
	d.pos += sp
	for {
		c, ok := d.peekByte()
		if !ok {
			return true, d.eof("an event after the CloudWatch Logs timestamp")
		}
		if c == ' ' || c == '\t' {
			d.pos++
			continue
		}
		if c != '{' {
			return true, d.unexpected(c, "an event after the CloudWatch Logs timestamp")
		}
		break
	}
	if d.container == "" {
		d.container = FormatCloudWatch
	}
	var info objInfo
	var err error
	if d.top, err = d.appendObject(d.top[:0], 1, &info); err != nil {
		return true, err
	}
	return true, d.handle(d.top, &info, FormatCloudWatch)
}

// handle classifies one decoded value and emits it, or counts it as skipped.
func (d *decoder) handle(raw []byte, info *objInfo, container Format) error {
	d.deep = 0 // raw is scanned: the next value starts afresh (see scanner.deep)
	if d.container == "" {
		d.container = container
	}
	kind, rec, recInfo, form, ok := d.classify(raw, info, container)
	if !ok {
		d.stats.Skipped++
		if d.stats.Skipped == 1 {
			d.stats.FirstSkipped = describe(raw, info, container)
		}
		return nil
	}
	switch kind {
	case KindEvent:
		d.stats.Events++
	case KindInsight:
		d.stats.Insights++
	case KindDigest:
		d.stats.Digests++
	}
	if d.stats.Format == "" {
		d.stats.Format = form
	}
	if d.count++; d.count&255 == 0 {
		if err := d.ctx.Err(); err != nil {
			return err
		}
	}
	out := rec
	if !d.borrow {
		out = make([]byte, len(rec))
		copy(out, rec)
	}
	// Every record is scanned into its buffer from the start, so the offsets noted are Raw's.
	values := recInfo.values
	values.size = int32(len(out))
	return d.emit(Record{Kind: kind, Raw: out, values: values})
}

// classify says whether raw is a CloudTrail record, which one, and where its event is:
// raw itself, the detail of an EventBridge envelope, or the CloudTrailEvent string of a
// lookup-events entry, with the keys noted in it. form refines the container's form by what the
// record was wrapped in.
func (d *decoder) classify(raw []byte, info *objInfo, container Format) (kind Kind, rec []byte, recInfo *objInfo, form Format, ok bool) {
	if len(raw) == 0 || raw[0] != '{' {
		return 0, nil, nil, "", false
	}
	if k, ok := eventKind(raw, info); ok {
		return k, raw, info, container, true
	}
	refine := func(f Format) Format {
		if container == FormatJSONL || container == FormatArray {
			return f
		}
		return container
	}
	switch {
	case info.present(raw, info.digestStart) && (info.present(raw, info.digestEnd) || info.present(raw, info.logFiles)):
		return KindDigest, raw, info, refine(FormatDigest), true
	case info.present(raw, info.detailType) && info.present(raw, info.detail) && raw[info.detail.from] == '{':
		if k, rec, si, ok := d.eventInObject(raw, info.detail); ok {
			return k, rec, si, refine(FormatEventBridge), true
		}
	case info.present(raw, info.ctEvent) && raw[info.ctEvent.from] == '"':
		if k, rec, si, ok := d.eventInString(raw, info.ctEvent); ok {
			return k, rec, si, refine(FormatLookupEvents), true
		}
	case info.present(raw, info.source) && raw[info.source.from] == '{':
		k, rec, si, ok := d.eventInObject(raw, info.source)
		if !ok && si != nil && si.present(rec, si.message) && rec[si.message.from] == '"' {
			// Logstash without a json filter keeps the line as it came, in message.
			k, rec, si, ok = d.eventInString(rec, si.message)
		}
		if ok {
			return k, rec, si, refine(FormatElastic), true
		}
	case info.present(raw, info.raw) && raw[info.raw.from] == '"':
		if k, rec, si, ok := d.eventInString(raw, info.raw); ok {
			return k, rec, si, refine(FormatSplunk), true
		}
	case info.present(raw, info.message) && raw[info.message.from] == '"':
		if k, rec, si, ok := d.eventInString(raw, info.message); ok {
			return k, rec, si, refine(FormatCloudWatch), true
		}
	case info.present(raw, info.result) && raw[info.result.from] == '{':
		// Splunk's export writes each result as {"preview":…,"result":{"_raw":"…",…}}.
		wi := &d.wrapInfo
		*wi = objInfo{}
		var err error
		if d.wrap, err = newBytesScanner(raw[info.result.from:info.result.to]).appendObject(d.wrap[:0], 1, wi); err != nil {
			return 0, nil, nil, "", false
		}
		if wi.present(d.wrap, wi.raw) && d.wrap[wi.raw.from] == '"' {
			if k, rec, si, ok := d.eventInString(d.wrap, wi.raw); ok {
				return k, rec, si, refine(FormatSplunk), true
			}
		}
	}
	return 0, nil, nil, "", false
}

// eventInObject recognises an event in the object at v of raw (an envelope's detail, a
// document's _source), compacted into d.tmp.
func (d *decoder) eventInObject(raw []byte, v span) (Kind, []byte, *objInfo, bool) {
	si := &d.innerInfo
	*si = objInfo{}
	var err error
	if d.tmp, err = newBytesScanner(raw[v.from:v.to]).appendObject(d.tmp[:0], 1, si); err != nil {
		return 0, nil, nil, false
	}
	k, ok := eventKind(d.tmp, si)
	return k, d.tmp, si, ok
}

// eventInString recognises an event written as a JSON string at v of raw (lookup-events'
// CloudTrailEvent, Splunk's _raw), parsed into d.inner. The string must hold one object and
// nothing else.
func (d *decoder) eventInString(raw []byte, v span) (Kind, []byte, *objInfo, bool) {
	var s string
	if json.Unmarshal(raw[v.from:v.to], &s) != nil {
		return 0, nil, nil, false
	}
	si := &d.innerInfo
	if !d.objectIn([]byte(s), si) {
		return 0, nil, nil, false
	}
	k, ok := eventKind(d.inner, si)
	return k, d.inner, si, ok
}

// objectIn compacts text into d.inner, noting its keys in info, when text is one JSON object
// and nothing else: an event written inside a string or a CSV cell.
func (d *decoder) objectIn(text []byte, info *objInfo) bool {
	*info = objInfo{}
	sc := newBytesScanner(text)
	if c, ok := sc.skipWS(); !ok || c != '{' {
		return false
	}
	var err error
	if d.inner, err = sc.appendObject(d.inner[:0], 1, info); err != nil {
		return false
	}
	_, more := sc.skipWS()
	return !more
}

// eventKind recognises a CloudTrail event the way Extract does (eventTime plus eventName or
// eventSource, neither null nor empty), and an Insights event by its eventType, whose
// eventName and eventSource live under insightDetails. Records of S3, SQS or DynamoDB event
// notifications look alike but name their source "aws:…"; they are not CloudTrail.
func eventKind(raw []byte, info *objInfo) (Kind, bool) {
	if !info.present(raw, info.eventTime) {
		return 0, false
	}
	if string(raw[info.eventType.from:info.eventType.to]) == `"AwsCloudTrailInsight"` {
		return KindInsight, true
	}
	if !info.present(raw, info.eventName) && !info.present(raw, info.eventSource) {
		return 0, false
	}
	if bytes.HasPrefix(raw[info.eventSource.from:info.eventSource.to], []byte(`"aws:`)) {
		return 0, false
	}
	return KindEvent, true
}

// span is a value's place in a compact buffer.
type span struct{ from, to int }

// objInfo notes where the keys that identify a record sit in a compact object.
type objInfo struct {
	eventTime, eventName, eventSource, eventType span
	detailType, detail                           span
	digestStart, digestEnd, logFiles             span
	ctEvent, source, raw, result, message        span         // lookup-events, Elasticsearch, Splunk, logs
	values                                       recordValues // what Extract reads, for Record.Extract
	keys                                         [3]span      // the first keys, to describe what was seen
	nkeys                                        int
	// stream, on a top-level object only, may take over a key's value (see streamKey).
	stream func(key []byte) (bool, error)
}

func (i *objInfo) note(kstart, kend, vstart, vend int, buf []byte) {
	key := span{kstart + 1, kend - 1}
	if i.nkeys < len(i.keys) {
		i.keys[i.nkeys] = key
	}
	i.nkeys++
	v := span{vstart, vend}
	name := buf[key.from:key.to]
	// One look-up of the name serves both the decoder and Record.Extract, for most keys.
	k, _ := wanted(sTop, name)
	switch k {
	case kEventTime:
		i.eventTime = v
	case kEventName:
		i.eventName = v
	case kEventSource:
		i.eventSource = v
	case kEventType:
		i.eventType = v
	case -1:
		i.noteOther(name, v)
		if bytes.IndexByte(name, '\\') >= 0 {
			i.values.noteEscaped(name, v)
		}
		return
	}
	i.values.note(k, false, v)
}

// noteOther notes the keys the decoder wants that Extract does not.
func (i *objInfo) noteOther(name []byte, v span) {
	switch string(name) {
	case "detail-type":
		i.detailType = v
	case "detail":
		i.detail = v
	case "digestStartTime":
		i.digestStart = v
	case "digestEndTime":
		i.digestEnd = v
	case "logFiles":
		i.logFiles = v
	case "CloudTrailEvent":
		i.ctEvent = v
	case "_source":
		i.source = v
	case "_raw":
		i.raw = v
	case "result":
		i.result = v
	case "message":
		i.message = v
	}
}

// present reports a key with a value other than null or "".
func (i *objInfo) present(raw []byte, v span) bool {
	if v.to <= v.from {
		return false
	}
	s := string(raw[v.from:v.to])
	return s != "null" && s != `""`
}

// describe names a value that is not CloudTrail, for messages and Stats.FirstSkipped.
func describe(raw []byte, info *objInfo, container Format) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		what := "JSON object"
		if container == FormatLakeCSV {
			what = "CSV row"
		}
		if src := raw[info.eventSource.from:info.eventSource.to]; bytes.HasPrefix(src, []byte(`"aws:`)) {
			return fmt.Sprintf("event notification from %s", src)
		}
		if info.present(raw, info.detailType) {
			return fmt.Sprintf("EventBridge event of detail-type %s", raw[info.detailType.from:info.detailType.to])
		}
		if info.present(raw, info.source) {
			// Beats and Logstash modules map CloudTrail to their own fields: only a document
			// that keeps the event as CloudTrail wrote it can be read.
			return "search engine document whose _source is not a CloudTrail event (an ECS mapping?)"
		}
		if info.present(raw, info.raw) || info.present(raw, info.result) {
			return "Splunk result whose _raw is not a CloudTrail event"
		}
		if info.present(raw, info.message) {
			return "log record whose message is not a CloudTrail event"
		}
		if info.nkeys == 0 {
			return "empty " + what
		}
		names := make([]string, 0, len(info.keys))
		for _, k := range info.keys[:min(info.nkeys, len(info.keys))] {
			name := string(raw[k.from:k.to])
			if r := []rune(name); len(r) > 60 {
				name = string(r[:60]) + "…"
			}
			names = append(names, name)
		}
		s := what + " with keys " + strings.Join(names, ", ")
		if info.nkeys > len(info.keys) {
			s += fmt.Sprintf(" and %d more", info.nkeys-len(info.keys))
		}
		return s
	case '[':
		return "JSON array"
	case '"':
		return "JSON string"
	case 't', 'f':
		return "JSON boolean"
	case 'n':
		return "JSON null"
	}
	return "JSON number"
}
