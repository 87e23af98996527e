package ingest

import (
	"bytes"
	"context"
	"io"
	"sync"

	"golang.org/x/sync/semaphore"

	"github.com/trailscope/trailscope/data/source"
)

// Remote inputs (S3 objects) are fetched ahead of the decoders, several at once. A GET waits tens
// of milliseconds for its first byte, and CloudTrail delivers a file per region every five
// minutes, most of a few kilobytes: decoders opening one object each at a time would spend the
// load waiting on the network. Fetched objects are held in memory until decoded, within a budget.
const (
	fetchers   = source.MaxConnsPerHost // remote inputs fetched at once, a connection each
	maxFetched = 4 << 20                // a larger input is streamed by its decoder, as a local file is
)

// fetchBudget bounds the bytes fetched and not yet decoded. (A variable for tests.)
var fetchBudget int64 = 32 << 20

// feed hands the inputs to the decoders through jobs, in order for local inputs, remote ones
// as their fetches end, and closes jobs when every input is handed over or ctx is done.
func feed(ctx context.Context, inputs []Input, jobs chan<- Input) {
	defer close(jobs)
	send := func(in Input) bool {
		select {
		case jobs <- in:
			return true
		case <-ctx.Done():
			return false
		}
	}
	budget := semaphore.NewWeighted(fetchBudget)
	slots := make(chan struct{}, fetchers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, in := range inputs {
		if !in.Remote || in.Size <= 0 || in.Size > min(maxFetched, fetchBudget) {
			if !send(in) {
				return
			}
			continue
		}
		if budget.Acquire(ctx, in.Size) != nil {
			return
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := fetch(ctx, in, func() { budget.Release(in.Size) })
			<-slots
			send(f)
		}()
	}
}

// fetch reads a remote input whole. The input it returns opens to those bytes, then to the
// error that ended the reading, if any, as its decoder would have met them; opening it again
// after a close gives the same bytes. Closing it (or a failed open) gives back its budget.
func fetch(ctx context.Context, in Input, release func()) Input {
	out := in
	rc, err := in.Open(ctx)
	if err != nil {
		release()
		out.Open = func(context.Context) (io.ReadCloser, error) { return nil, err }
		return out
	}
	buf := bytes.NewBuffer(make([]byte, 0, in.Size+bytes.MinRead))
	_, rerr := buf.ReadFrom(rc)
	var meta map[string]string
	if m, ok := rc.(metadataReader); ok {
		meta = m.Metadata()
	}
	rc.Close()
	var once sync.Once
	out.Open = func(context.Context) (io.ReadCloser, error) {
		return &fetched{r: bytes.NewReader(buf.Bytes()), err: rerr, meta: meta, release: func() { once.Do(release) }}, nil
	}
	return out
}

// metadataReader is an S3 object's reader, which has the object's user metadata.
type metadataReader interface{ Metadata() map[string]string }

// fetched reads a fetched input's bytes. It has no ReadAt on purpose: an archive cut short by
// a network error must fail with that error, not read as a damaged archive.
type fetched struct {
	r       *bytes.Reader
	err     error // what ended the fetch; nil when it read to the end
	meta    map[string]string
	release func()
}

func (f *fetched) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF && f.err != nil {
		err = f.err
	}
	return n, err
}

func (f *fetched) Close() error {
	f.release()
	return nil
}

// Metadata is the fetched object's user metadata (digest signatures: digestSignature).
func (f *fetched) Metadata() map[string]string { return f.meta }
