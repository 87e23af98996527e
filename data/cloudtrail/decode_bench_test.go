package cloudtrail

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/valyala/fastjson"
)

// genEvent appends a realistic CloudTrail event of about 1.2 KB (the Invictus average is 1.27 KB), different for each i, in
// the shape and key order CloudTrail delivers (taken from the Invictus data set).
func genEvent(dst []byte, i int) []byte {
	names := [...]string{"Decrypt", "DescribeRouteTables", "GetUser", "GetParameter", "AssumeRole", "GetObject", "ListBuckets"}
	return fmt.Appendf(dst, `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROATFQR7NSCZ6RXFSMBF:i-%017x","arn":"arn:aws:sts::123837392027:assumed-role/ec2-app-role/i-%017x","accountId":"123837392027","accessKeyId":"ASIATFQR7NSC%08X","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROATFQR7NSCZ6RXFSMBF","arn":"arn:aws:iam::123837392027:role/ec2-app-role","accountId":"123837392027","userName":"ec2-app-role"},"attributes":{"creationDate":"2023-07-10T11:42:31Z","mfaAuthenticated":"false"},"ec2RoleDelivery":"2.0"}},"eventTime":"2023-07-10T%02d:%02d:%02dZ","eventSource":"kms.amazonaws.com","eventName":"%s","awsRegion":"us-east-1","sourceIPAddress":"10.0.%d.%d","userAgent":"aws-sdk-go-v2/1.18.1 os/linux lang/go#1.20.5 md/GOOS#linux md/GOARCH#amd64 api/kms#1.22.2","requestParameters":{"encryptionContext":{"aws:ssm:parameter-name":"/app/prod/db-password-%d"},"encryptionAlgorithm":"SYMMETRIC_DEFAULT"},"responseElements":null,"additionalEventData":{"bytesTransferredOut":%d},"requestID":"%08x-2c1f-4a4b-9d0e-5f6a7b8c9d0e","eventID":"%08x-3be5-4a26-ab1b-0f4c54f49959","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123837392027","eventCategory":"Management"}`,
		i*7919, i*7919, i, 11+i/3600%13, i/60%60, i%60, names[i%len(names)], i/256%256, i%256, i%50, 100+i%4000, i*31, i)
}

// recordsReader generates {"Records":[...]} on the fly, so that a large input never exists
// in memory as a whole.
type recordsReader struct {
	n, i   int
	pretty bool
	buf    []byte
	off    int
	done   bool
}

func newRecordsReader(n int, pretty bool) *recordsReader {
	return &recordsReader{n: n, pretty: pretty, buf: []byte(`{"Records":[`)}
}

func (r *recordsReader) Read(p []byte) (int, error) {
	for r.off == len(r.buf) {
		if r.done {
			return 0, io.EOF
		}
		r.buf, r.off = r.buf[:0], 0
		switch {
		case r.i == r.n:
			r.buf = append(r.buf, "]}\n"...)
			r.done = true
		default:
			if r.i > 0 {
				r.buf = append(r.buf, ',')
			}
			if r.pretty {
				var ind bytes.Buffer
				_ = json.Indent(&ind, genEvent(nil, r.i), "  ", "  ")
				r.buf = append(r.buf, "\n  "...)
				r.buf = append(r.buf, ind.Bytes()...)
			} else {
				r.buf = genEvent(r.buf, r.i)
			}
			r.i++
		}
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	return n, nil
}

// TestDecodeMemoryFlat decodes a generated Records file of about 50 MB from a reader and
// checks that the live heap stays far below the input size.
func TestDecodeMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 50 MB")
	}
	const n = 42_000 // ≈ 50 MB at ≈ 1.2 KB per event
	var peak uint64
	var ms runtime.MemStats
	count := 0
	src := &countingReader{r: newRecordsReader(n, false)}
	st, err := DecodeContext(context.Background(), src, func(r Record) error {
		if count++; count%4000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return nil
	})
	if err != nil || st.Events != n || st.Format != FormatRecords {
		t.Fatalf("decoded %+v, %v; want %d events", st, err, n)
	}
	if src.n < 48<<20 {
		t.Fatalf("generated only %d bytes", src.n)
	}
	if peak > 8<<20 {
		t.Errorf("live heap reached %d MB while decoding %d MB", peak>>20, src.n>>20)
	}
	t.Logf("input %d MB, peak live heap %.1f MB", src.n>>20, float64(peak)/(1<<20))
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// recordsFile is one realistic S3 delivery file of 1,000 events.
func recordsFile(tb testing.TB, pretty bool) []byte {
	data, err := io.ReadAll(newRecordsReader(1000, pretty))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func reportRate(b *testing.B, events int) {
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDecodeRecords measures the main path: a 1,000-event Records file on one goroutine.
func BenchmarkDecodeRecords(b *testing.B) {
	data := recordsFile(b, false)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if _, err := Decode(bytes.NewReader(data), func(Record) error { n++; return nil }); err != nil || n != 1000 {
			b.Fatalf("%d events, %v", n, err)
		}
	}
	reportRate(b, 1000)
}

// BenchmarkDecodeForms measures the other common forms with the same events.
func BenchmarkDecodeForms(b *testing.B) {
	compact := recordsFile(b, false)
	var lines bytes.Buffer
	for i := range 1000 {
		lines.Write(genEvent(nil, i))
		lines.WriteString("\r\n")
	}
	forms := []struct {
		name string
		data []byte
	}{
		{"pretty-records", recordsFile(b, true)},
		{"jsonl", lines.Bytes()},
		{"array", bytes.TrimSuffix(bytes.TrimPrefix(compact, []byte(`{"Records":`)), []byte("}\n"))},
	}
	for _, f := range forms {
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(int64(len(f.data)))
			for b.Loop() {
				n := 0
				if _, err := Decode(bytes.NewReader(f.data), func(Record) error { n++; return nil }); err != nil || n != 1000 {
					b.Fatalf("%d events, %v", n, err)
				}
			}
			reportRate(b, 1000)
		})
	}
}

// BenchmarkDecodeAlternatives measures the designs not taken, on the same input, for the
// record: encoding/json's streaming Decoder with json.RawMessage and json.Compact, and the
// same with fastjson validating each element instead.
func BenchmarkDecodeAlternatives(b *testing.B) {
	data := recordsFile(b, false)
	stdlib := func(validate func([]byte) error) func(b *testing.B) {
		return func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				dec := json.NewDecoder(bufio.NewReader(bytes.NewReader(data)))
				n := 0
				for {
					tok, err := dec.Token()
					if err != nil {
						b.Fatal(err)
					}
					if tok == "Records" {
						break
					}
				}
				if _, err := dec.Token(); err != nil { // '['
					b.Fatal(err)
				}
				for dec.More() {
					var raw json.RawMessage
					if err := dec.Decode(&raw); err != nil {
						b.Fatal(err)
					}
					if err := validate(raw); err != nil {
						b.Fatal(err)
					}
					n++
				}
				if n != 1000 {
					b.Fatalf("%d events", n)
				}
			}
			reportRate(b, 1000)
		}
	}
	b.Run("encoding-json-compact", stdlib(func(raw []byte) error {
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return err
		}
		_ = append([]byte(nil), buf.Bytes()...)
		return nil
	}))
	var p fastjson.Parser
	b.Run("encoding-json-fastjson", stdlib(func(raw []byte) error {
		v, err := p.ParseBytes(raw)
		if err != nil {
			return err
		}
		_ = v.MarshalTo(nil)
		return nil
	}))
	b.Run("this-scanner", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := Decode(bytes.NewReader(data), func(Record) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b, 1000)
	})
}
