package cloudtrail

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

// checkRecord compares rec.Extract with Extract(rec.Raw), which checkExtract compares with the
// oracle: the same event, or the same error word for word. It also fails when the decoder did
// not note the record's values, so that a test cannot pass by taking the fallback.
func checkRecord(t testing.TB, rec Record) {
	t.Helper()
	if int(rec.values.size) != len(rec.Raw) {
		t.Fatalf("values noted for %d bytes, record has %d: %q", rec.values.size, len(rec.Raw), rec.Raw)
	}
	got, gerr := rec.Extract()
	want, werr := Extract(rec.Raw)
	if errString(gerr) != errString(werr) {
		t.Fatalf("Record.Extract: %v\n       Extract: %v\n%q", gerr, werr, rec.Raw)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Record.Extract differs from Extract on %q\n got %s\nwant %s", rec.Raw, dumpEvent(got), dumpEvent(want))
	}
	if gerr == nil {
		checkNoAlias(t, &got, rec.Raw)
	}
	checkExtract(t, rec.Raw)
}

// checkRecords decodes data and checks every record it emits; it returns how many there were.
// With shallow, which says that data nests nowhere near Extract's limit, no record may be
// marked deep, which would send it the slow way.
func checkRecords(t testing.TB, data []byte, shallow bool) int {
	t.Helper()
	n := 0
	_, _ = Decode(bytes.NewReader(data), func(rec Record) error {
		if shallow && rec.values.deep {
			t.Fatalf("shallow record marked deep: %q", rec.Raw)
		}
		checkRecord(t, rec)
		n++
		return nil
	})
	return n
}

// wrapped puts an event in each form whose records the decoder scans into a buffer of their
// own (EventBridge detail, lookup-events CloudTrailEvent, a search engine's _source, Splunk's
// _raw, a log record's message) as well as the plain ones.
func wrapped(event string) []string {
	quoted, _ := json.Marshal(event)
	return []string{
		event,
		`{"Records":[` + event + `]}`,
		`[` + event + `,` + event + `]`,
		`{"version":"0","detail-type":"AWS API Call via CloudTrail","source":"aws.iam","detail":` + event + `}`,
		`{"Events":[{"EventId":"1","CloudTrailEvent":` + string(quoted) + `}]}`,
		"2023-07-10T11:42:31.000Z " + event + "\n",
		`{"_index":"cloudtrail","_id":"1","_source":` + event + `}`,
		`{"preview":false,"offset":0,"result":{"_raw":` + string(quoted) + `,"sourcetype":"aws:cloudtrail"}}`,
		`{"events":[{"logStreamName":"s","timestamp":1,"message":` + string(quoted) + `}],"nextToken":null}`,
		`{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","timestamp":1,"message":` + string(quoted) + `}]}`,
		`{"_index":"logstash","_source":{"message":` + string(quoted) + `}}`,
	}
}

func TestRecordExtractEdgeCases(t *testing.T) {
	n := 0
	for _, c := range extractEdgeCases {
		for _, in := range wrapped(c) {
			n += checkRecords(t, []byte(in), false)
		}
		if json.Valid([]byte(c)) {
			for _, in := range wrapped(string(indented(t, []byte(c)))) {
				n += checkRecords(t, []byte(in), false)
			}
		}
	}
	if n < 500 {
		t.Fatalf("only %d records decoded from the edge cases", n)
	}
}

// TestRecordExtractNesting checks that the decoder knows, without Extract's walk, when a value
// nests deeper than Extract accepts, wherever it is, also in a record unwrapped from another.
// It may take a record at the limit for one beyond it (the records go the slow way then, which
// gives the same result), but never one nested less than 290 deep.
func TestRecordExtractNesting(t *testing.T) {
	for _, depth := range []int{280, 285, 297, 298, 299, 300, 301} {
		for _, shape := range []struct{ open, empty, close string }{{"[", "", "]"}, {"[", "1", "]"}, {`{"a":`, "{}", "}"}, {`{"a":`, `"s"`, "}"}} {
			deep := strings.Repeat(shape.open, depth) + shape.empty + strings.Repeat(shape.close, depth)
			events := []string{
				`{` + base + `,"requestParameters":` + deep + `}`,
				`{` + base + `,"requestParameters":{"x":[` + deep + `]},"eventName":"N"}`,
				`{` + base + `,"userIdentity":{"sessionContext":{"sessionIssuer":{"arn":` + deep + `}}}}`,
			}
			for _, ev := range events {
				_, want := Extract([]byte(ev))
				for _, in := range wrapped(ev) {
					var recs []Record
					if _, err := Decode(strings.NewReader(in), func(r Record) error { recs = append(recs, r); return nil }); err != nil || len(recs) == 0 {
						t.Fatalf("decoding %.80q…: %d records, %v", in, len(recs), err)
					}
					for _, r := range recs {
						if want != nil && !r.values.deep || depth < 290 && r.values.deep {
							t.Fatalf("depth %d %q in %.60q: deep = %v, Extract's error %v", depth, shape.empty, in, r.values.deep, want)
						}
						checkRecord(t, r)
					}
				}
			}
		}
	}

	// A record nested too deep marks only itself: the next one goes the fast way again.
	deep := `{` + base + `,"requestParameters":` + strings.Repeat("[", 400) + strings.Repeat("]", 400) + `}`
	var recs []Record
	if _, err := Decode(strings.NewReader(`{"Records":[`+deep+`,{`+base+`}]}`), func(r Record) error { recs = append(recs, r); return nil }); err != nil || len(recs) != 2 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	if !recs[0].values.deep || recs[1].values.deep {
		t.Errorf("deep: %v, %v; want true, false", recs[0].values.deep, recs[1].values.deep)
	}
}

func TestRecordExtractFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "testdata", "inputs", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	checkRecordFiles(t, files, 20)
}

func TestRecordExtractSharedData(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(sharedData(t), "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	checkRecordFiles(t, files, 3000) // 2,900 + 310 per README.md
}

// checkRecordFiles runs checkRecords on each file, which must hold at least min records in all.
func checkRecordFiles(t *testing.T, files []string, min int) {
	t.Helper()
	n := 0
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		n += checkRecords(t, data, true)
	}
	if n < min {
		t.Fatalf("only %d records", n)
	}
}

func TestRecordExtractGenerated(t *testing.T) {
	if n := checkRecords(t, recordsFile(t, false), true); n != 1000 {
		t.Fatalf("%d records", n)
	}
	if n := checkRecords(t, recordsFile(t, true), true); n != 1000 {
		t.Fatalf("%d records", n)
	}

	var lines bytes.Buffer
	generated := 0
	synthEvents(t, 11, func(raw []byte) {
		lines.Write(raw)
		lines.WriteByte('\n')
		generated++
	})
	if n := checkRecords(t, lines.Bytes(), true); n != generated {
		t.Fatalf("%d records of %d generated events", n, generated)
	}
}

// TestRecordExtractFallback checks that a Record not as Decode made it is read in full.
func TestRecordExtractFallback(t *testing.T) {
	raw := genEvent(nil, 3)
	want, err := Extract(raw)
	if err != nil {
		t.Fatal(err)
	}
	var rec Record
	if _, err := Decode(bytes.NewReader(genEvent(nil, 4)), func(r Record) error { rec = r; return nil }); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]Record{
		"built":        {Kind: KindEvent, Raw: raw},
		"Raw replaced": {Kind: KindEvent, Raw: raw, values: rec.values},
	} {
		if got, err := r.Extract(); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v\n got %s\nwant %s", name, err, dumpEvent(got), dumpEvent(want))
		}
	}
}

// TestRecordExtractAllocs checks that Record.Extract allocates no more than Extract: the
// fields' string and ReadOnly.
func TestRecordExtractAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	var rec Record
	if _, err := Decode(bytes.NewReader(genEvent(nil, 42)), func(r Record) error { rec = r; return nil }); err != nil {
		t.Fatal(err)
	}
	if allocs := testing.AllocsPerRun(100, func() { _, _ = rec.Extract() }); allocs > 2 {
		t.Errorf("Record.Extract makes %.0f allocations per event, want 2", allocs)
	}
}

// FuzzRecordExtract decodes any input and compares Record.Extract with Extract (and Extract
// with the oracle) on every record. Seeds live in testdata/fuzz/FuzzRecordExtract (those of
// FuzzDecode and FuzzExtract); the edge cases in each wrapping are added here.
func FuzzRecordExtract(f *testing.F) {
	for _, c := range extractEdgeCases {
		for _, in := range wrapped(c) {
			f.Add([]byte(in))
		}
	}
	f.Add(recordsFile(f, false)[:20_000])
	f.Fuzz(func(t *testing.T, data []byte) {
		checkRecords(t, data, false)
	})
}

// BenchmarkDecodeExtract measures what a load does with each input: decode it and extract
// every event's fields, either with Extract, which walks each record again, or with
// Record.Extract, which reads only the top-level values the decoder noted; decode-only is the
// decoding alone. It reports the cost per event, in wall-clock time and in the process's CPU
// time (which other work on a shared machine disturbs less), on a generated Records file and
// on the Invictus files when they are there.
func BenchmarkDecodeExtract(b *testing.B) {
	type input struct {
		name  string
		files [][]byte
	}
	inputs := []input{{"generated", [][]byte{recordsFile(b, false)}}}
	if files, _ := filepath.Glob(filepath.Join(repoRoot, "..", "shared", "data", "invictus-aws-dataset", "*.json")); len(files) > 0 {
		in := input{name: "invictus"}
		for _, path := range files {
			data, err := os.ReadFile(path)
			if err != nil {
				b.Fatal(err)
			}
			in.files = append(in.files, data)
		}
		inputs = append(inputs, in)
	}
	// The ways are told apart in the callback rather than by a func value, which would make
	// rec escape to the heap: a load calls rec.Extract directly.
	const (
		decodeOnly = iota
		extract
		recordExtract
	)
	ways := []struct {
		name string
		way  int
	}{{"decode-only", decodeOnly}, {"Extract", extract}, {"Record.Extract", recordExtract}}
	for _, in := range inputs {
		size := 0
		for _, data := range in.files {
			size += len(data)
		}
		for _, way := range ways {
			b.Run(in.name+"/"+way.name, func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				events, cpu0 := 0, cpuTime()
				for b.Loop() {
					for _, data := range in.files {
						if _, err := Decode(bytes.NewReader(data), func(rec Record) error {
							if rec.Kind == KindDigest {
								return nil
							}
							events++
							var err error
							switch way.way {
							case extract:
								_, err = Extract(rec.Raw)
							case recordExtract:
								_, err = rec.Extract()
							}
							return err
						}); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(events), "cpu-ns/event")
			})
		}
	}
}

// BenchmarkRecordExtract measures the extraction alone, Record.Extract beside Extract, on 100
// records (which stay in the CPU's caches as a record does between the decoder and the
// extraction at ingest): generated ones of about 1.2 KB, and a sample of the Invictus data set
// when it is there.
func BenchmarkRecordExtract(b *testing.B) {
	var generated []byte
	for i := range 100 {
		generated = append(genEvent(generated, i*97), '\n')
	}
	sets := []struct {
		name  string
		files [][]byte
	}{{"generated", [][]byte{generated}}}
	if files, _ := filepath.Glob(filepath.Join(repoRoot, "..", "shared", "data", "invictus-aws-dataset", "*.json")); len(files) > 0 {
		var data [][]byte
		for _, path := range files {
			d, err := os.ReadFile(path)
			if err != nil {
				b.Fatal(err)
			}
			data = append(data, d)
		}
		sets = append(sets, struct {
			name  string
			files [][]byte
		}{"invictus", data})
	}
	for _, set := range sets {
		var recs []Record
		for _, data := range set.files {
			if _, err := Decode(bytes.NewReader(data), func(r Record) error { recs = append(recs, r); return nil }); err != nil {
				b.Fatal(err)
			}
		}
		sample := make([]Record, 100)
		for i := range sample {
			sample[i] = recs[i*len(recs)/len(sample)]
		}
		for _, way := range []struct {
			name    string
			extract func(*Record) (Event, error)
		}{
			{"Extract", func(r *Record) (Event, error) { return Extract(r.Raw) }},
			{"Record.Extract", (*Record).Extract},
		} {
			b.Run(set.name+"/"+way.name, func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := way.extract(&sample[i%len(sample)]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}

// cpuTime is the CPU time (user and system) this process has used so far, garbage collection
// included.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
