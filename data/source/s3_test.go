package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/trailscope/trailscope/data/source/sourcetest"
)

const bucket = "trail-bucket"

// fault is an injected failure: the first `times` requests that match (all when times < 0)
// get status instead of an answer, or, when cutAfter >= 0, an answer cut after that many body
// bytes.
type fault struct {
	match    func(r *http.Request) bool
	times    int
	status   int
	cutAfter int
}

// faulty wraps the fake S3 server, injecting faults and logging every request.
type faulty struct {
	next   http.Handler
	mu     sync.Mutex
	faults []*fault
	log    []string // "METHOD path?query range"
	// Each listing waits listDelay first; most counts the listings under way at once.
	listDelay      time.Duration
	inflight, most atomic.Int64
}

func (f *faulty) add(ft fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, &ft)
}

func (f *faulty) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slicesClone(f.log)
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

func (f *faulty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.log = append(f.log, strings.TrimSpace(r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Range")))
	var hit *fault
	for _, ft := range f.faults {
		if ft.times != 0 && ft.match(r) {
			hit = ft
			if ft.times > 0 {
				ft.times--
			}
			break
		}
	}
	f.mu.Unlock()
	if isList(r) {
		n := f.inflight.Add(1)
		defer f.inflight.Add(-1)
		for m := f.most.Load(); n > m && !f.most.CompareAndSwap(m, n); m = f.most.Load() {
		}
		time.Sleep(f.listDelay)
	}
	switch {
	case hit == nil:
		f.next.ServeHTTP(w, r)
	case hit.cutAfter >= 0:
		f.next.ServeHTTP(&cutWriter{ResponseWriter: w, left: hit.cutAfter}, r)
	default:
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(hit.status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected</Message></Error>`)
	}
}

// cutWriter passes left body bytes through, then drops the connection mid-body.
type cutWriter struct {
	http.ResponseWriter
	left int
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if len(p) <= c.left {
		c.left -= len(p)
		return c.ResponseWriter.Write(p)
	}
	c.ResponseWriter.Write(p[:c.left])
	if fl, ok := c.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
	panic(http.ErrAbortHandler) // net/http closes the connection without logging
}

func isGet(key string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/"+key)
	}
}

func isList(r *http.Request) bool {
	return r.Method == http.MethodGet && r.URL.Query().Has("list-type")
}

// fakeS3 serves an in-memory S3 holding objects on 127.0.0.1 and returns a real SDK client for it.
func fakeS3(t *testing.T, objects map[string][]byte) (*s3.Client, *faulty, *s3mem.Backend) {
	t.Helper()
	sourcetest.IsolateAWS(t, "")
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	for k, v := range objects {
		if _, err := backend.PutObject(bucket, k, map[string]string{}, bytes.NewReader(v), int64(len(v)), nil); err != nil {
			t.Fatal(err)
		}
	}
	h := &faulty{next: gofakes3.New(backend).Server()}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	client, err := NewS3Client(context.Background(), S3Config{Region: "us-east-1", Endpoint: srv.URL, PathStyle: true, HTTPClient: srv.Client(), MaxBackoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	old := resumeBackoff
	resumeBackoff = time.Millisecond
	t.Cleanup(func() { resumeBackoff = old })
	return client, h, backend
}

func ctKey(account, region, day, stamp, id string) string {
	return fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz", account, region, day, account, region, stamp, id)
}

func TestS3Objects(t *testing.T) {
	const acct = "111122223333"
	keys := map[string]string{
		"a":      ctKey(acct, "us-east-1", "2024/05/08", "20240508T2355Z", "a"),
		"b":      ctKey(acct, "us-east-1", "2024/05/09", "20240509T0005Z", "b"),
		"c":      ctKey(acct, "us-east-1", "2024/05/09", "20240509T2025Z", "c"),
		"d":      ctKey(acct, "us-east-1", "2024/05/10", "20240510T0010Z", "d"),
		"e":      ctKey(acct, "us-east-1", "2024/05/12", "20240512T1000Z", "e"),
		"f":      ctKey(acct, "eu-west-1", "2024/05/09", "20240509T1200Z", "f"),
		"h":      ctKey(acct, "us-east-1", "2023/12/31", "20231231T1200Z", "h"),
		"g":      "AWSLogs/o-abc123/444455556666/CloudTrail/us-east-1/2024/05/09/444455556666_CloudTrail_us-east-1_20240509T1300Z_g.json.gz",
		"i":      "trail/" + ctKey("777788889999", "us-east-1", "2024/05/09", "20240509T1400Z", "i"),
		"digest": "AWSLogs/" + acct + "/CloudTrail-Digest/us-east-1/2024/05/09/" + acct + "_CloudTrail-Digest_us-east-1_main_us-east-1_20240509T210000Z.json.gz",
		"config": "AWSLogs/" + acct + "/Config/us-east-1/2024/05/09/config.json.gz",
		"export": "exports/lookup.json",
	}
	objects := map[string][]byte{"AWSLogs/" + acct + "/CloudTrail/us-east-1/2024/05/09/": nil} // a folder marker
	byKey := map[string]string{}
	for name, k := range keys {
		objects[k] = []byte(name)
		byKey[k] = name
	}
	client, h, _ := fakeS3(t, objects)
	day := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }

	tests := []struct {
		name      string
		prefix    string
		from, to  time.Time
		opts      []S3Option
		want      []string // names, in key order
		notListed []string // prefixes that must not have been listed (pruned)
	}{
		{name: "everything", want: []string{"a", "b", "c", "d", "e", "f", "h", "digest", "g", "export", "i"}},
		{
			name: "one day, with the next for late delivery", from: day("2024-05-09T00:00:00Z"), to: day("2024-05-09T23:59:59Z"),
			want:      []string{"b", "c", "d", "f", "digest", "g", "export", "i"},
			notListed: []string{"AWSLogs/" + acct + "/CloudTrail/us-east-1/2023/", "AWSLogs/" + acct + "/CloudTrail/us-east-1/2024/05/08/", "AWSLogs/" + acct + "/Config/"},
		},
		{
			name: "file names earlier than from are left out", from: day("2024-05-09T12:00:00Z"), to: day("2024-05-09T23:00:00Z"),
			want: []string{"c", "d", "f", "digest", "g", "export", "i"},
		},
		{name: "regions", opts: []S3Option{WithRegions("eu-west-1")}, prefix: "AWSLogs/", want: []string{"f"}},
		{name: "accounts, through an organisation", opts: []S3Option{WithAccounts("444455556666")}, want: []string{"g", "export"}},
		{name: "prefix inside the layout", prefix: "AWSLogs/" + acct + "/CloudTrail/us-east-1/2024/05/", want: []string{"a", "b", "c", "d", "e"}},
		{name: "prefix ends mid-segment", prefix: "AWSLogs/" + acct + "/CloudTrail/us-east-1/2024/05/0", want: []string{"a", "b", "c"}},
		{name: "prefix inside a day", prefix: "AWSLogs/" + acct + "/CloudTrail/us-east-1/2024/05/09/", from: day("2024-05-09T12:00:00Z"), want: []string{"c"}},
		{name: "layout under a trail prefix", prefix: "trail/", want: []string{"i"}},
		{name: "prefix without slash", prefix: "trail", want: []string{"i"}},
		{name: "outside the layout", prefix: "exports/", from: day("2030-01-01T00:00:00Z"), want: []string{"export"}},
		{name: "nothing there", prefix: "nope/", want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.requests())
			objs, err := S3Objects(context.Background(), client, bucket, tc.prefix, tc.from, tc.to, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range objs {
				got = append(got, byKey[o.Key])
				if o.Bucket != bucket || o.Size != int64(len(byKey[o.Key])) || o.LastModified.IsZero() {
					t.Errorf("%s: bucket %q size %d modified %v", o.Key, o.Bucket, o.Size, o.LastModified)
				}
			}
			var want []string
			for _, n := range tc.want {
				want = append(want, n)
			}
			// Expected names are given in key order of their keys; compare as key order.
			sortByKey(want, keys)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
			for _, r := range h.requests()[before:] {
				for _, p := range tc.notListed {
					if strings.Contains(r, "prefix="+urlQueryEscape(p)) {
						t.Errorf("listed %s although the range excludes it: %s", p, r)
					}
				}
			}
		})
	}

	t.Run("layout fields", func(t *testing.T) {
		objs, err := S3Objects(context.Background(), client, bucket, "AWSLogs/o-abc123/", time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		want := Object{Account: "444455556666", Region: "us-east-1", Day: time.Date(2024, 5, 9, 0, 0, 0, 0, time.UTC)}
		if len(objs) != 1 || objs[0].Account != want.Account || objs[0].Region != want.Region || !objs[0].Day.Equal(want.Day) || objs[0].ETag == "" {
			t.Errorf("got %+v, want account, region, day %+v and an ETag", objs, want)
		}
	})
}

func sortByKey(names []string, keys map[string]string) {
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			if keys[names[j]] < keys[names[i]] {
				names[i], names[j] = names[j], names[i]
			}
		}
	}
}

// urlQueryEscape escapes a prefix as the SDK writes it in a query string.
func urlQueryEscape(s string) string { return strings.ReplaceAll(s, "/", "%2F") }

func TestS3ObjectsRetriesAndFails(t *testing.T) {
	client, h, _ := fakeS3(t, map[string][]byte{ctKey("111122223333", "us-east-1", "2024/05/09", "20240509T2025Z", "c"): []byte("c")})
	h.add(fault{match: isList, times: 2, status: 500, cutAfter: -1})
	objs, err := S3Objects(context.Background(), client, bucket, "", time.Time{}, time.Time{})
	if err != nil || len(objs) != 1 {
		t.Fatalf("after two transient failures: %d objects, %v", len(objs), err)
	}
	h.add(fault{match: isList, times: -1, status: 500, cutAfter: -1})
	_, err = S3Objects(context.Background(), client, bucket, "AWSLogs/", time.Time{}, time.Time{})
	if err == nil || !strings.Contains(err.Error(), "list s3://"+bucket+"/AWSLogs/") || !strings.Contains(err.Error(), "500") {
		t.Errorf("permanent failure: %v, want an error naming the prefix and the status", err)
	}
}

// TestS3ObjectsListsAtOnce: an organisation's folders are listed several at once, each listing
// waiting on the network, and all their objects found; a listing that fails fails the whole.
func TestS3ObjectsListsAtOnce(t *testing.T) {
	objects := map[string][]byte{}
	var want []string
	for _, acct := range []string{"111111111111", "222222222222", "333333333333", "444444444444"} {
		for _, region := range []string{"us-east-1", "eu-west-1", "ap-south-1"} {
			for _, day := range []string{"08", "09"} {
				k := "AWSLogs/o-abc123/" + strings.Replace(ctKey(acct, region, "2024/05/"+day, "202405"+day+"T1200Z", "x"), "AWSLogs/", "", 1)
				objects[k] = []byte("x")
				want = append(want, k)
			}
		}
	}
	slices.Sort(want)
	client, h, _ := fakeS3(t, objects)
	h.listDelay = 10 * time.Millisecond
	// What was found so far is reported as the listings go, never two reports at once.
	var reports, last int
	var lastBytes int64
	var in atomic.Bool
	progress := WithProgress(func(objects int, bytes int64) {
		if in.Swap(true) {
			t.Error("two progress reports at once")
		}
		defer in.Store(false)
		if objects < last || bytes < lastBytes {
			t.Errorf("progress went back: %d objects, %d bytes after %d, %d", objects, bytes, last, lastBytes)
		}
		reports, last, lastBytes = reports+1, objects, bytes
	})
	objs, err := S3Objects(context.Background(), client, bucket, "AWSLogs/", time.Time{}, time.Time{}, progress)
	var got []string
	for _, o := range objs {
		got = append(got, o.Key)
	}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("got %d objects (%v), want %d", len(got), err, len(want))
	}
	if m := h.most.Load(); m < 4 {
		t.Errorf("at most %d listings at once", m)
	}
	if reports < 2 || last != len(want) || lastBytes != int64(len(want)) {
		t.Errorf("%d progress reports, the last %d objects of %d bytes; want several, ending at %d", reports, last, lastBytes, len(want))
	}
	bad := "AWSLogs/o-abc123/333333333333/CloudTrail/eu-west-1/2024/05/09/"
	h.add(fault{match: func(r *http.Request) bool { return isList(r) && r.URL.Query().Get("prefix") == bad }, times: -1, status: 500, cutAfter: -1})
	if _, err := S3Objects(context.Background(), client, bucket, "AWSLogs/", time.Time{}, time.Time{}); err == nil || !strings.Contains(err.Error(), "list s3://"+bucket+"/"+bad) {
		t.Errorf("a folder that cannot be listed: %v", err)
	}
}

func TestOpenS3(t *testing.T) {
	const key = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/09/x.json.gz"
	content := bytes.Repeat([]byte(doc+"\n"), 500) // ~45 KB
	tests := []struct {
		name    string
		faults  []fault
		err     string // expected error text, "" for success
		gets    int    // GET requests expected
		resumed bool   // a ranged GET expected
	}{
		{name: "plain", gets: 1},
		{name: "500 then fine", faults: []fault{{match: isGet(key), times: 1, status: 500, cutAfter: -1}}, gets: 2},
		{name: "503 twice then fine", faults: []fault{{match: isGet(key), times: 2, status: 503, cutAfter: -1}}, gets: 3},
		{name: "body cut once", faults: []fault{{match: isGet(key), times: 1, cutAfter: 1000}}, gets: 2, resumed: true},
		{name: "body cut three times", faults: []fault{{match: isGet(key), times: 3, cutAfter: 7000}}, gets: 4, resumed: true},
		{name: "body cut with no progress", faults: []fault{{match: isGet(key), times: -1, cutAfter: 0}}, err: "s3://" + bucket + "/" + key, gets: 1 + maxResumes},
		{name: "permanent 500", faults: []fault{{match: isGet(key), times: -1, status: 500, cutAfter: -1}}, err: "get s3://" + bucket + "/" + key},
		{name: "missing key", faults: []fault{{match: isGet(key), times: -1, status: 404, cutAfter: -1}}, err: "get s3://" + bucket + "/" + key, gets: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client, h, _ := fakeS3(t, map[string][]byte{key: content})
			for _, f := range tc.faults {
				h.add(f)
			}
			got, err := readS3(client, Object{Bucket: bucket, Key: key})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if !bytes.Equal(got, content) {
				t.Fatalf("read %d bytes differing from the %d stored", len(got), len(content))
			}
			var gets, ranged int
			for _, r := range h.requests() {
				if strings.HasPrefix(r, "GET /"+bucket+"/"+key) {
					gets++
					if strings.Contains(r, "bytes=") {
						ranged++
					}
				}
			}
			if tc.gets > 0 && gets != tc.gets {
				t.Errorf("%d GETs, want %d: %q", gets, tc.gets, h.requests())
			}
			if tc.resumed != (ranged > 0) {
				t.Errorf("%d ranged GETs, want some: %v", ranged, tc.resumed)
			}
		})
	}
}

func readS3(client S3Client, obj Object) ([]byte, error) {
	r, err := OpenS3(context.Background(), client, obj)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func TestOpenS3ObjectChanged(t *testing.T) {
	const key = "k.json"
	client, h, backend := fakeS3(t, map[string][]byte{key: bytes.Repeat([]byte("a"), 20000)})
	h.add(fault{match: isGet(key), times: 1, cutAfter: 5000})
	r, err := OpenS3(context.Background(), client, Object{Bucket: bucket, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]byte, 5000)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatal(err)
	}
	// The object is replaced between the cut and the resumed request.
	if _, err := backend.PutObject(bucket, key, map[string]string{}, bytes.NewReader(bytes.Repeat([]byte("b"), 20000)), 20000, nil); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r)
	if err == nil || !strings.Contains(err.Error(), "s3://"+bucket+"/"+key) {
		t.Fatalf("resume on a changed object: %d bytes, error %v; want an error naming the key", len(rest), err)
	}
	if bytes.Contains(rest, []byte("b")) {
		t.Errorf("bytes of the new version were mixed into the old one")
	}
}

func TestOpenS3Cancelled(t *testing.T) {
	const key = "k.json"
	client, h, _ := fakeS3(t, map[string][]byte{key: bytes.Repeat([]byte("a"), 20000)})
	h.add(fault{match: isGet(key), times: -1, cutAfter: 0})
	ctx, cancel := context.WithCancel(context.Background())
	r, err := OpenS3(ctx, client, Object{Bucket: bucket, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cancel()
	if _, err := io.ReadAll(r); !errors.Is(err, context.Canceled) {
		t.Errorf("read after cancel: %v, want context.Canceled", err)
	}
}

func TestS3ThroughExpand(t *testing.T) {
	// The way ingest uses it: list, open, count compressed bytes, expand.
	key := ctKey("111122223333", "us-east-1", "2024/05/09", "20240509T2025Z", "c")
	data := gz(t, []byte(doc))
	client, h, _ := fakeS3(t, map[string][]byte{key: data})
	h.add(fault{match: isGet(key), times: 1, cutAfter: 10})
	objs, err := S3Objects(context.Background(), client, bucket, "", time.Time{}, time.Time{})
	if err != nil || len(objs) != 1 {
		t.Fatalf("%d objects, %v", len(objs), err)
	}
	body, err := OpenS3(context.Background(), client, objs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	c := NewCountingReader(body)
	var leaves []string
	err = Expand(context.Background(), "s3://"+bucket+"/"+key, c, objs[0].Size, Limits{}, func(l Leaf) error {
		if l.Err != nil {
			return l.Err
		}
		b, err := io.ReadAll(l.R)
		leaves = append(leaves, string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(leaves, []string{doc}) || c.N() != int64(len(data)) {
		t.Errorf("leaves %q after %d of %d bytes", leaves, c.N(), len(data))
	}
}

func TestNewS3ClientProfile(t *testing.T) {
	client, _, _ := fakeS3(t, map[string][]byte{"exports/x.json": []byte("x")})
	srvURL := client.Options().BaseEndpoint
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(creds, []byte("[investigator]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("[profile investigator]\nregion = eu-west-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	t.Setenv("AWS_CONFIG_FILE", cfg)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")

	pc, err := NewS3Client(context.Background(), S3Config{Profile: "investigator", Endpoint: *srvURL, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	// A connection kept for each download a load runs at once.
	if bc, ok := pc.Options().HTTPClient.(*awshttp.BuildableClient); !ok || bc.GetTransport().MaxIdleConnsPerHost != MaxConnsPerHost {
		t.Errorf("HTTP client %T keeps too few connections", pc.Options().HTTPClient)
	}
	if pc.Options().Region != "eu-west-1" {
		t.Errorf("region %q, want the profile's eu-west-1", pc.Options().Region)
	}
	got, err := pc.Options().Credentials.Retrieve(context.Background())
	if err != nil || got.AccessKeyID != "AKIDPROFILE" {
		t.Errorf("credentials %q, %v; want the profile's", got.AccessKeyID, err)
	}
	objs, err := S3Objects(context.Background(), pc, bucket, "", time.Time{}, time.Time{})
	if err != nil || len(objs) != 1 {
		t.Errorf("listing with the profile: %d objects, %v", len(objs), err)
	}

	_, err = NewS3Client(context.Background(), S3Config{Profile: "nobody"})
	if err == nil || !strings.Contains(err.Error(), `"nobody"`) {
		t.Errorf("unknown profile: %v, want an error naming it", err)
	}
	if err != nil && strings.Contains(err.Error(), "profile-secret") {
		t.Errorf("error leaks a secret: %v", err)
	}
}

func TestParseS3URL(t *testing.T) {
	tests := []struct {
		in, bucket, prefix string
		ok                 bool
	}{
		{"s3://b", "b", "", true},
		{"s3://b/", "b", "", true},
		{"s3://b/AWSLogs/1/", "b", "AWSLogs/1/", true},
		{"s3:///x", "", "", false},
		{"/tmp/x", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			b, p, err := ParseS3URL(tc.in)
			if (err == nil) != tc.ok || b != tc.bucket || p != tc.prefix {
				t.Errorf("ParseS3URL(%q) = %q, %q, %v", tc.in, b, p, err)
			}
		})
	}
}
