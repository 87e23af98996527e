package app

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trailscope/trailscope/data/cloudtrail"
	"github.com/trailscope/trailscope/data/ingest"
	"github.com/trailscope/trailscope/data/source"
	"github.com/trailscope/trailscope/data/store"
)

// S3Source is a CloudTrail bucket to load: where it is, how to reach it, and which part of it.
type S3Source struct {
	URL      string // s3://bucket/prefix
	Profile  string // named AWS profile; "" for the default credential chain
	Region   string // the bucket's region; "" for the profile's
	Endpoint string // an S3-compatible endpoint (path-style); "" for AWS
	From, To time.Time
	Accounts []string
	Regions  []string // CloudTrail regions in the delivery layout (not the bucket's region)
}

// IsS3 reports whether a source argument names S3.
func IsS3(arg string) bool { return strings.HasPrefix(arg, "s3://") }

// inputs resolves source arguments — paths on disk and s3:// URLs — into inputs for a load.
// The S3 settings in s3 apply to every s3:// argument (its URL field is ignored). found, when
// set, follows the S3 listings: the objects and bytes found so far, over every URL.
func inputs(ctx context.Context, args []string, s3 S3Source, found func(objects int, bytes int64)) ([]ingest.Input, error) {
	var paths []string
	var out []ingest.Input
	var before int64 // bytes found by the URLs listed already
	for _, a := range args {
		if !IsS3(a) {
			paths = append(paths, a)
			continue
		}
		src := s3
		src.URL = a
		var opts []source.S3Option
		if found != nil {
			n := len(out)
			opts = append(opts, source.WithProgress(func(objects int, bytes int64) { found(n+objects, before+bytes) }))
		}
		in, err := s3Inputs(ctx, src, opts...)
		if err != nil {
			return nil, err
		}
		out = append(out, in...)
		for _, i := range in {
			before += i.Size
		}
	}
	if len(paths) > 0 {
		files, err := source.Files(paths)
		if err != nil {
			return nil, err
		}
		out = append(ingest.DiskInputs(files), out...)
	}
	return out, nil
}

func s3Inputs(ctx context.Context, src S3Source, opts ...source.S3Option) ([]ingest.Input, error) {
	client, bucket, prefix, err := src.bucket(ctx)
	if err != nil {
		return nil, err
	}
	if len(src.Accounts) > 0 {
		opts = append(opts, source.WithAccounts(src.Accounts...))
	}
	if len(src.Regions) > 0 {
		opts = append(opts, source.WithRegions(src.Regions...))
	}
	objs, err := source.S3Objects(ctx, client, bucket, prefix, src.From, src.To, opts...)
	if err != nil {
		return nil, err // it names the listing that failed
	}
	out := make([]ingest.Input, len(objs))
	for i, o := range objs {
		o := o
		out[i] = ingest.Input{
			Name:   "s3://" + o.Bucket + "/" + o.Key,
			Size:   o.Size,
			Open:   func(ctx context.Context) (io.ReadCloser, error) { return source.OpenS3(ctx, client, o) },
			Remote: true,
		}
	}
	return out, nil
}

// PreviewS3 lists what loading src would read: how many objects and their bytes as stored,
// for the days, accounts and regions it asks for. Nothing is downloaded.
// found, when set, follows the listing: the objects and bytes found so far.
func PreviewS3(ctx context.Context, src S3Source, found func(files int, bytes int64)) (files int, bytes int64, err error) {
	var opts []source.S3Option
	if found != nil {
		opts = append(opts, source.WithProgress(found))
	}
	in, err := s3Inputs(ctx, src, opts...)
	for _, i := range in {
		bytes += i.Size
	}
	return len(in), bytes, err
}

// IngestSources loads source arguments (paths and s3:// URLs) into the case.
func (c *Case) IngestSources(ctx context.Context, args []string, s3 S3Source, progress func(ingest.Progress)) (ingest.Summary, error) {
	start := time.Now()
	var listed func(int, int64)
	if progress != nil {
		// A trail's bucket can take a while to list: say what was found so far.
		listed = func(objects int, bytes int64) {
			progress(ingest.Progress{Phase: ingest.PhaseListing, FilesTotal: objects, BytesTotal: bytes, Elapsed: time.Since(start)})
		}
	}
	in, err := inputs(ctx, args, s3, listed)
	if err != nil {
		return ingest.Summary{}, err
	}
	cl, err := c.Classifier(ctx)
	if err != nil {
		return ingest.Summary{}, err
	}
	sum, err := ingest.RunInputs(ctx, c.st, in, ingest.Options{Classify: cl.Classify, Progress: progress})
	if err == nil && sum.Digests > 0 && slices.ContainsFunc(args, IsS3) {
		// Without them the digests' signatures cannot be checked; the load stands either way,
		// and the check says which signatures wait for a key. Bounded: an unreachable API
		// must not hold the finished load.
		kctx, cancel := context.WithTimeout(ctx, keysTimeout)
		c.keepPublicKeys(kctx, s3)
		cancel()
	}
	return sum, err
}

// keysTimeout bounds the fetch of CloudTrail's public keys after a load from S3.
const keysTimeout = 30 * time.Second

// keepPublicKeys fetches the public keys CloudTrail signed the case's signed digests with, those
// the case lacks, from the CloudTrail API in each trail's home region over the digests' hours,
// and keeps them in the case: the signatures can then be checked, now and offline later. The
// keys are public; the credentials stay with the SDK.
func (c *Case) keepPublicKeys(ctx context.Context, s3 S3Source) error {
	have, err := c.st.PublicKeys(ctx)
	if err != nil {
		return err
	}
	signed := map[int64]bool{}
	err = c.st.Files(ctx, "", func(f store.FileRecord) error {
		if f.Signature != "" {
			signed[f.ID] = true
		}
		return nil
	})
	if err != nil || len(signed) == 0 {
		return err
	}
	type span struct{ from, to time.Time }
	want := map[string]span{} // home region → the hours of its digests that lack their key
	err = c.st.Digests(ctx, func(raw []byte, fileID int64) error {
		d, err := cloudtrail.ParseDigest(raw)
		if err != nil || !signed[fileID] || d.HomeRegion() == "" {
			return nil
		}
		if _, ok := have[d.Fingerprint]; ok {
			return nil
		}
		sp, ok := want[d.HomeRegion()]
		if !ok || d.Start.Before(sp.from) {
			sp.from = d.Start
		}
		if d.End.After(sp.to) {
			sp.to = d.End
		}
		want[d.HomeRegion()] = sp
		return nil
	})
	if err != nil {
		return err
	}
	var errs []error
	for region, sp := range want {
		keys, err := source.CloudTrailPublicKeys(ctx, source.S3Config{Profile: s3.Profile, Region: region}, sp.from, sp.to)
		errs = append(errs, err)
		var kept []store.PublicKey
		for _, k := range keys {
			kept = append(kept, store.PublicKey{Fingerprint: k.Fingerprint, Value: k.Value, From: k.From, To: k.To})
		}
		errs = append(errs, c.st.SavePublicKeys(ctx, kept))
	}
	return errors.Join(errs...)
}

// AWSProfiles lists the named profiles of the AWS shared config and credentials files (as
// AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE name them, else ~/.aws/config and
// ~/.aws/credentials), sorted: only the section names are read, never a key.
func AWSProfiles() []string {
	home, _ := os.UserHomeDir()
	files := []struct{ env, def string }{
		{"AWS_CONFIG_FILE", filepath.Join(home, ".aws", "config")},
		{"AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, ".aws", "credentials")},
	}
	seen := map[string]bool{}
	for _, f := range files {
		path := os.Getenv(f.env)
		if path == "" {
			path = f.def
		}
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "[") || !strings.HasSuffix(line, "]") {
				continue
			}
			name := strings.TrimSpace(line[1 : len(line)-1])
			// The config file names profiles "profile x" (and "default" alone); sso-session and
			// services sections are no profiles.
			if rest, ok := strings.CutPrefix(name, "profile "); ok {
				name = strings.TrimSpace(rest)
			} else if strings.Contains(name, " ") {
				continue
			}
			if name != "" {
				seen[name] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// S3Buckets lists the buckets src's credentials can see (s3:ListAllMyBuckets), with their
// regions when S3 gives them, for a user who does not have the trail's bucket name at hand.
func S3Buckets(ctx context.Context, src S3Source) ([]source.Bucket, error) {
	client, err := src.client(ctx)
	if err != nil {
		return nil, err
	}
	return source.S3Buckets(ctx, client)
}

// S3TrailAccounts lists the accounts whose CloudTrail logs src's bucket holds under its prefix:
// the folders of AWSLogs/, and of AWSLogs/o-…/ for an organisation's trail.
func S3TrailAccounts(ctx context.Context, src S3Source) ([]string, error) {
	client, bucket, prefix, err := src.bucket(ctx)
	if err != nil {
		return nil, err
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if i := strings.Index(prefix, "AWSLogs/"); i >= 0 {
		prefix = prefix[:i+len("AWSLogs/")] // the accounts beside the one a URL may name
	} else {
		prefix += "AWSLogs/"
	}
	top, err := source.S3Folders(ctx, client, bucket, prefix)
	if err != nil {
		return nil, err
	}
	var accounts []string
	for _, f := range top {
		if !strings.HasPrefix(f, "o-") {
			accounts = append(accounts, f)
			continue
		}
		under, err := source.S3Folders(ctx, client, bucket, prefix+f+"/")
		if err != nil {
			return nil, err
		}
		accounts = append(accounts, under...)
	}
	accounts = slices.DeleteFunc(accounts, func(a string) bool { return !cloudtrail.IsAccountID(a) })
	slices.Sort(accounts)
	return slices.Compact(accounts), nil
}

// bucket is src's URL read as bucket and prefix, with a client to list them.
func (src S3Source) bucket(ctx context.Context) (client *s3.Client, bucket, prefix string, err error) {
	if bucket, prefix, err = source.ParseS3URL(src.URL); err != nil {
		return nil, "", "", err
	}
	client, err = src.client(ctx)
	return client, bucket, prefix, err
}

// client is an S3 client for src's profile, region and endpoint.
func (src S3Source) client(ctx context.Context) (*s3.Client, error) {
	return source.NewS3Client(ctx, source.S3Config{
		Profile: src.Profile, Region: src.Region, Endpoint: src.Endpoint, PathStyle: src.Endpoint != "",
	})
}
