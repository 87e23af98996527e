package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3Client is the part of the AWS SDK v2 S3 client this package uses; *s3.Client satisfies it.
type S3Client interface {
	s3.ListObjectsV2APIClient
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var _ S3Client = (*s3.Client)(nil)

// S3Config says how to reach S3. The zero value uses the default credential chain
// (environment, shared files, SSO, instance role) and the configured region.
type S3Config struct {
	Profile    string        // named profile in the shared config / credentials files; "" for the default
	Region     string        // overrides the profile's region; us-east-1 when none is configured anywhere
	Endpoint   string        // custom endpoint (an S3-compatible store, tests); "" for AWS
	PathStyle  bool          // bucket in the path rather than the host name, as most custom endpoints need
	HTTPClient *http.Client  // nil for the SDK's default
	MaxBackoff time.Duration // longest wait between the SDK's retries; 0 for its default (20 s)
}

// MaxConnsPerHost is how many idle connections an S3 client keeps to an endpoint: as many as the
// downloads a load runs at once.
const MaxConnsPerHost = 32

// NewS3Client builds an S3 client from cfg. Credentials are resolved by the SDK and never
// logged or stored by Trailscope.
func NewS3Client(ctx context.Context, cfg S3Config) (*s3.Client, error) {
	ac, err := awsConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if bc, ok := ac.HTTPClient.(*awshttp.BuildableClient); ok {
		// A load fetches many objects at once: keep a connection for each rather than the SDK's
		// 10, so that no object waits for a new connection and its TLS handshake.
		ac.HTTPClient = bc.WithTransportOptions(func(tr *http.Transport) { tr.MaxIdleConnsPerHost = MaxConnsPerHost })
	}
	return s3.NewFromConfig(ac, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
		// Progress and results own stderr and stdout: the SDK's note that an S3-compatible
		// store sent no checksum must not interleave with them.
		o.DisableLogOutputChecksumValidationSkipped = true
		if cfg.HTTPClient != nil {
			// Set here rather than in the config loader, which refuses a plain *http.Client
			// when AWS_CA_BUNDLE is set.
			o.HTTPClient = cfg.HTTPClient
		}
	}), nil
}

// Bucket is a bucket the credentials see, with its region when S3 gives it.
type Bucket struct{ Name, Region string }

// S3Buckets lists the buckets the client's credentials can see (s3:ListAllMyBuckets), by name,
// with their regions (S3 gives them when the request sets a page size): a bucket listed from
// another region answers only there.
func S3Buckets(ctx context.Context, client *s3.Client) ([]Bucket, error) {
	var out []Bucket
	for p := s3.NewListBucketsPaginator(client, &s3.ListBucketsInput{MaxBuckets: aws.Int32(1000)}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, fmt.Errorf("list buckets: %w", err)
		}
		for _, b := range page.Buckets {
			out = append(out, Bucket{Name: aws.ToString(b.Name), Region: aws.ToString(b.BucketRegion)})
		}
	}
	slices.SortFunc(out, func(a, b Bucket) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// S3Folders lists the folders one level below prefix (a "folder/" or ""): the common prefixes
// of its keys up to the next '/', without prefix, sorted.
func S3Folders(ctx context.Context, client S3Client, bucket, prefix string) ([]string, error) {
	q := &s3Query{client: client, bucket: bucket}
	var out []string
	err := q.list(ctx, prefix, "/", nil, func(cp string) { out = append(out, strings.TrimSuffix(cp[len(prefix):], "/")) })
	slices.Sort(out)
	return out, err
}

// awsConfig loads the SDK's configuration for cfg's profile and region.
func awsConfig(ctx context.Context, cfg S3Config) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if cfg.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(cfg.Profile))
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.MaxBackoff > 0 {
		opts = append(opts, config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = cfg.MaxBackoff })
		}))
	}
	ac, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		if cfg.Profile != "" {
			return ac, fmt.Errorf("load AWS config for profile %q: %w", cfg.Profile, err)
		}
		return ac, fmt.Errorf("load AWS config: %w", err)
	}
	if ac.Region == "" {
		ac.Region = "us-east-1"
	}
	return ac, nil
}

// PublicKey is a key CloudTrail signs digest files with in a region.
type PublicKey struct {
	Fingerprint string
	Value       []byte // DER, PKCS #1
	From, To    time.Time
}

// CloudTrailPublicKeys lists the public keys CloudTrail signed digest files with between from
// and to, in cfg's region (a trail's home region), through the CloudTrail API
// (cloudtrail:ListPublicKeys) with cfg's profile; cfg.Endpoint, an S3 store's, is not used
// (AWS_ENDPOINT_URL_CLOUDTRAIL points the SDK elsewhere).
func CloudTrailPublicKeys(ctx context.Context, cfg S3Config, from, to time.Time) ([]PublicKey, error) {
	ac, err := awsConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	client := cloudtrail.NewFromConfig(ac, func(o *cloudtrail.Options) {
		if cfg.HTTPClient != nil {
			o.HTTPClient = cfg.HTTPClient
		}
	})
	in := &cloudtrail.ListPublicKeysInput{StartTime: aws.Time(from), EndTime: aws.Time(to)}
	var keys []PublicKey
	for p := cloudtrail.NewListPublicKeysPaginator(client, in); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			return keys, fmt.Errorf("list CloudTrail's public keys in %s: %w", ac.Region, err)
		}
		for _, k := range out.PublicKeyList {
			keys = append(keys, PublicKey{Fingerprint: aws.ToString(k.Fingerprint), Value: k.Value,
				From: aws.ToTime(k.ValidityStartTime), To: aws.ToTime(k.ValidityEndTime)})
		}
	}
	return keys, nil
}

// ParseS3URL splits "s3://bucket/prefix" into its bucket and prefix (which may be empty).
func ParseS3URL(u string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	if !ok {
		return "", "", fmt.Errorf("parse %q: not an s3:// URL", u)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("parse %q: no bucket name", u)
	}
	return bucket, prefix, nil
}

// Object is one S3 object to load.
type Object struct {
	Bucket       string
	Key          string
	Size         int64
	LastModified time.Time
	ETag         string
	Account      string    // from the CloudTrail layout; "" for a key outside it
	Region       string    // from the CloudTrail layout; "" for a key outside it
	Day          time.Time // delivery day from the layout (UTC midnight); zero for a key outside it
}

// S3Option narrows S3Objects, or follows it.
type S3Option func(*s3Query)

// WithProgress has S3Objects report the objects it has found so far, and their bytes, after
// each page of a listing: a trail's bucket can take minutes to list. Calls do not overlap.
func WithProgress(fn func(objects int, bytes int64)) S3Option {
	return func(q *s3Query) { q.progress = fn }
}

// WithAccounts keeps only these account IDs of the CloudTrail layout.
func WithAccounts(ids ...string) S3Option {
	return func(q *s3Query) { q.accounts = append(q.accounts, ids...) }
}

// WithRegions keeps only these regions of the CloudTrail layout.
func WithRegions(names ...string) S3Option {
	return func(q *s3Query) { q.regions = append(q.regions, names...) }
}

// dayAfter is the slack S3Objects adds after `to`: CloudTrail delivers a file up to about 15
// minutes after its last event, so the last events of a day can sit in the next day's folder.
const dayAfter = 24 * time.Hour

// S3Objects lists the objects under s3://bucket/prefix to load, sorted by key.
//
// It understands the CloudTrail delivery layout
// AWSLogs/[o-orgid/]<account>/CloudTrail/<region>/YYYY/MM/DD/ (and CloudTrail-Insight and
// CloudTrail-Digest beside CloudTrail) wherever it starts under prefix, and lists only the days
// that overlap [from, to] (a zero bound is open; the day after `to` is included because of
// delivery delay), the accounts and regions asked for, skipping other services' logs. The
// prefix may stop anywhere, even inside the layout (".../CloudTrail/us-east-1/2024/05/").
// Objects found outside the layout are all listed: their dates are unknown.
func S3Objects(ctx context.Context, client S3Client, bucket, prefix string, from, to time.Time, opts ...S3Option) ([]Object, error) {
	q := &s3Query{client: client, bucket: bucket, from: from.UTC(), to: to.UTC()}
	for _, o := range opts {
		o(q)
	}
	first := folder{p: prefix, generic: true}
	if i := strings.Index(prefix, "AWSLogs/"); i >= 0 && (i == 0 || prefix[i-1] == '/') {
		lv, st := parseLayout(prefix[i+len("AWSLogs/"):])
		first = folder{p: prefix, lv: lv, st: st}
	}
	if err := q.walk(ctx, first); err != nil {
		return nil, err
	}
	sort.Slice(q.out, func(i, j int) bool { return q.out[i].Key < q.out[j].Key })
	return q.out, nil
}

type s3Query struct {
	client            S3Client
	bucket            string
	from, to          time.Time
	accounts, regions []string
	progress          func(objects int, bytes int64)
	mu                sync.Mutex // guards out, bytes and calls of progress
	out               []Object
	bytes             int64
}

// level is where in the CloudTrail layout a prefix's next segment sits.
type level int

const (
	lvOrgOrAccount level = iota // o-orgid/ or <account>/
	lvAccount                   // <account>/ after an organisation
	lvService                   // CloudTrail/, CloudTrail-Digest/, Config/, …
	lvRegion
	lvYear
	lvMonth
	lvDay
	lvObjects // inside a day: every object
)

// layout is what the segments so far said.
type layout struct {
	account, region string
	year, month     int
	day             time.Time
}

// parseLayout reads the complete segments of a prefix after "AWSLogs/" (the last, unfinished
// one is left to the listing) and says at which level the listing goes on.
func parseLayout(rest string) (level, layout) {
	segs := strings.Split(rest, "/")
	lv, st := lvOrgOrAccount, layout{}
	for _, seg := range segs[:len(segs)-1] {
		lv, st = step(lv, st, seg)
	}
	return lv, st
}

// step moves one segment down the layout.
func step(lv level, st layout, seg string) (level, layout) {
	switch lv {
	case lvOrgOrAccount:
		if strings.HasPrefix(seg, "o-") {
			return lvAccount, st
		}
		st.account = seg
		return lvService, st
	case lvAccount:
		st.account = seg
		return lvService, st
	case lvService:
		return lvRegion, st
	case lvRegion:
		st.region = seg
		return lvYear, st
	case lvYear:
		st.year, _ = strconv.Atoi(seg)
		return lvMonth, st
	case lvMonth:
		st.month, _ = strconv.Atoi(seg)
		return lvDay, st
	case lvDay:
		d, _ := strconv.Atoi(seg)
		st.day = time.Date(st.year, time.Month(st.month), d, 0, 0, 0, 0, time.UTC)
		return lvObjects, st
	}
	return lvObjects, st
}

// overlaps reports whether the period [start, end) meets [from, to + dayAfter].
func (q *s3Query) overlaps(start, end time.Time) bool {
	return (q.to.IsZero() || !start.After(q.to.Add(dayAfter))) && (q.from.IsZero() || end.After(q.from))
}

// keep says whether a child segment at level lv is worth listing.
func (q *s3Query) keep(lv level, st layout, seg string) bool {
	switch lv {
	case lvOrgOrAccount, lvAccount:
		return strings.HasPrefix(seg, "o-") && lv == lvOrgOrAccount || len(q.accounts) == 0 || slices.Contains(q.accounts, seg)
	case lvService:
		return seg == "CloudTrail" || seg == "CloudTrail-Insight" || seg == "CloudTrail-Digest"
	case lvRegion:
		return len(q.regions) == 0 || slices.Contains(q.regions, seg)
	case lvYear:
		y, err := strconv.Atoi(seg)
		return err == nil && q.overlaps(time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(y+1, 1, 1, 0, 0, 0, 0, time.UTC))
	case lvMonth:
		m, err := strconv.Atoi(seg)
		start := time.Date(st.year, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
		return err == nil && m >= 1 && m <= 12 && q.overlaps(start, start.AddDate(0, 1, 0))
	case lvDay:
		d, err := strconv.Atoi(seg)
		start := time.Date(st.year, time.Month(st.month), d, 0, 0, 0, 0, time.UTC)
		return err == nil && d >= 1 && d <= 31 && q.overlaps(start, start.AddDate(0, 0, 1))
	}
	return true
}

// A listing's folders are listed on several goroutines: each listing is a round trip to S3, and
// a trail has a folder per account, region and day (an organisation of 50 accounts in 17
// regions has 25,000 for a week, minutes one after another).
const listers = 16

// folder is a prefix to list: at level lv of the layout, or outside it (generic).
type folder struct {
	p       string
	lv      level
	st      layout
	generic bool
}

// walk lists first and every folder found below it, on up to listers goroutines, and returns
// the first error; the others' listings are then cancelled.
func (q *s3Query) walk(ctx context.Context, first folder) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		wake  = sync.NewCond(&mu)
		queue = []folder{first}
		busy  int // folders being listed, which may add more
		err   error
	)
	work := func() {
		mu.Lock()
		defer mu.Unlock()
		for {
			for len(queue) == 0 && busy > 0 && err == nil {
				wake.Wait()
			}
			if len(queue) == 0 || err != nil {
				wake.Broadcast()
				return
			}
			f := queue[len(queue)-1] // depth first: the queue stays short
			queue = queue[:len(queue)-1]
			busy++
			mu.Unlock()
			subs, ferr := q.folder(ctx, f)
			mu.Lock()
			busy--
			if ferr != nil && err == nil {
				err = ferr
				cancel()
			}
			queue = append(queue, subs...)
			wake.Broadcast()
		}
	}
	var wg sync.WaitGroup
	for range listers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	wg.Wait()
	return err
}

// folder lists f: the objects it keeps go to out, the folders below worth listing are returned.
func (q *s3Query) folder(ctx context.Context, f folder) ([]folder, error) {
	var subs []folder
	switch {
	case f.generic:
		// Outside the layout: every object, and the layout wherever an AWSLogs/ folder appears.
		err := q.list(ctx, f.p, "/", q.add, func(cp string) {
			if strings.HasSuffix(cp, "/AWSLogs/") || cp == "AWSLogs/" {
				subs = append(subs, folder{p: cp, lv: lvOrgOrAccount})
			} else {
				subs = append(subs, folder{p: cp, generic: true})
			}
		})
		return subs, err
	case f.lv == lvObjects:
		return nil, q.list(ctx, f.p, "", func(o Object) {
			if stamp := fileStamp(o.Key); !stamp.IsZero() && !q.from.IsZero() && stamp.Before(q.from) {
				return // every event in a file comes before the time in its name
			}
			o.Account, o.Region, o.Day = f.st.account, f.st.region, f.st.day
			q.add(o)
		}, nil)
	}
	dir := f.p[:strings.LastIndex(f.p, "/")+1]
	err := q.list(ctx, f.p, "/", nil, func(cp string) {
		seg := strings.TrimSuffix(cp[len(dir):], "/")
		if q.keep(f.lv, f.st, seg) {
			lv, st := step(f.lv, f.st, seg)
			subs = append(subs, folder{p: cp, lv: lv, st: st})
		}
	})
	return subs, err
}

// add keeps an object found by one of the listing goroutines.
func (q *s3Query) add(o Object) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.out = append(q.out, o)
	q.bytes += o.Size
}

// paged reports the objects found so far, after a page of a listing.
func (q *s3Query) paged() {
	if q.progress == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.progress(len(q.out), q.bytes)
}

// list pages through ListObjectsV2 under prefix, handing objects (folder markers left out) and
// common prefixes to the callbacks that are set.
func (q *s3Query) list(ctx context.Context, prefix, delim string, obj func(Object), sub func(string)) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(q.bucket), Prefix: aws.String(prefix)}
	if delim != "" {
		in.Delimiter = aws.String(delim)
	}
	pages := s3.NewListObjectsV2Paginator(q.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list s3://%s/%s: %w", q.bucket, prefix, err)
		}
		if sub != nil {
			for _, cp := range page.CommonPrefixes {
				sub(aws.ToString(cp.Prefix))
			}
		}
		if obj == nil {
			continue
		}
		for _, c := range page.Contents {
			key := aws.ToString(c.Key)
			if strings.HasSuffix(key, "/") {
				continue
			}
			obj(Object{Bucket: q.bucket, Key: key, Size: aws.ToInt64(c.Size), LastModified: aws.ToTime(c.LastModified), ETag: aws.ToString(c.ETag)})
		}
		q.paged()
	}
	return nil
}

// stampRE finds the time in a CloudTrail file name: <account>_CloudTrail_<region>_20240509T2025Z_<id>.json.gz.
var stampRE = regexp.MustCompile(`_(\d{8}T\d{4}Z)_[^/]*$`)

// fileStamp returns the time in a CloudTrail file name, or zero.
func fileStamp(key string) time.Time {
	m := stampRE.FindStringSubmatch(key)
	if m == nil {
		return time.Time{}
	}
	t, err := time.Parse("20060102T1504Z", m[1])
	if err != nil {
		return time.Time{}
	}
	return t
}

// Resuming a cut download: how often in a row without progress, and how long to wait first.
const maxResumes = 4

var resumeBackoff = 200 * time.Millisecond

// OpenS3 opens obj for reading. The SDK retries failed requests (5xx, throttling, connection
// errors); a body cut in the middle is resumed where it stopped with a ranged GET of the same
// version (If-Match on its ETag), up to a few times in a row without progress. Errors name the
// object as s3://bucket/key.
func OpenS3(ctx context.Context, client S3Client, obj Object) (io.ReadCloser, error) {
	r := &s3Reader{ctx: ctx, client: client, obj: obj, etag: obj.ETag}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

type s3Reader struct {
	ctx     context.Context
	client  S3Client
	obj     Object
	etag    string
	body    io.ReadCloser // nil after a cut, until reopened
	off     int64         // bytes delivered so far
	resumes int           // resumes in a row without progress
	err     error         // sticky
	meta    map[string]string
}

// Metadata is the object's user metadata (x-amz-meta-*) as S3 returned it with the object:
// CloudTrail signs each digest file there (signature, signature-algorithm).
func (r *s3Reader) Metadata() map[string]string { return r.meta }

func (r *s3Reader) url() string { return "s3://" + r.obj.Bucket + "/" + r.obj.Key }

func (r *s3Reader) open() error {
	in := &s3.GetObjectInput{Bucket: aws.String(r.obj.Bucket), Key: aws.String(r.obj.Key)}
	if r.etag != "" {
		in.IfMatch = aws.String(r.etag)
	}
	if r.off > 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", r.off))
	}
	out, err := r.client.GetObject(r.ctx, in)
	if err != nil {
		if r.off > 0 {
			return fmt.Errorf("get %s from byte %d: %w", r.url(), r.off, err)
		}
		return fmt.Errorf("get %s: %w", r.url(), err)
	}
	if etag := aws.ToString(out.ETag); r.etag != "" && etag != "" && etag != r.etag {
		out.Body.Close()
		return fmt.Errorf("get %s: object changed while reading (ETag %s, was %s)", r.url(), etag, r.etag)
	} else if r.etag == "" {
		r.etag = etag
	}
	if r.meta == nil {
		r.meta = out.Metadata
	}
	r.body = out.Body
	return nil
}

func (r *s3Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for {
		if r.body == nil {
			if err := r.open(); err != nil {
				r.err = err
				return 0, err
			}
		}
		n, err := r.body.Read(p)
		r.off += int64(n)
		if n > 0 {
			r.resumes = 0
		}
		if err == nil || err == io.EOF {
			return n, err
		}
		r.body.Close()
		r.body = nil
		if cerr := r.ctx.Err(); cerr != nil {
			r.err = fmt.Errorf("read %s: %w", r.url(), cerr)
			return n, r.err
		}
		r.resumes++
		if r.resumes > maxResumes {
			r.err = fmt.Errorf("read %s at byte %d: gave up after %d resumed downloads: %w", r.url(), r.off, maxResumes, err)
			return n, r.err
		}
		if n > 0 {
			return n, nil // reopen on the next call
		}
		if err := sleep(r.ctx, resumeBackoff<<(r.resumes-1)); err != nil {
			r.err = fmt.Errorf("read %s: %w", r.url(), err)
			return 0, r.err
		}
	}
}

func (r *s3Reader) Close() error {
	if r.body == nil {
		return nil
	}
	err := r.body.Close()
	r.body = nil
	if r.err == nil {
		r.err = errors.New("read " + r.url() + ": closed")
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
