package ingest

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trailscope/trailscope/data/source"
)

// slowRemote turns local files into remote inputs that wait before their first byte, as a GET
// does, and counts how many are open at once.
type slowRemote struct {
	wait            time.Duration
	open, most      atomic.Int64 // open now, and at most
	opened          atomic.Int64 // ever
	fail, cut, meta string       // base names: Open fails; reading fails half-way; has a signature
}

func (s *slowRemote) inputs(t *testing.T, dir string) []Input {
	t.Helper()
	files, err := source.Files([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var out []Input
	for _, in := range DiskInputs(files) {
		local := in.Open
		base := filepath.Base(in.Name)
		in.Remote = true
		in.Open = func(ctx context.Context) (io.ReadCloser, error) {
			s.opened.Add(1)
			n := s.open.Add(1)
			for m := s.most.Load(); n > m && !s.most.CompareAndSwap(m, n); m = s.most.Load() {
			}
			select {
			case <-time.After(s.wait):
			case <-ctx.Done():
				s.open.Add(-1)
				return nil, ctx.Err()
			}
			if base == s.fail {
				s.open.Add(-1)
				return nil, errors.New("get " + base + ": 403 Forbidden")
			}
			rc, err := local(ctx)
			if err != nil {
				s.open.Add(-1)
				return nil, err
			}
			r := &slowReader{ReadCloser: rc, done: func() { s.open.Add(-1) }}
			if base == s.cut {
				r.cutAt = 500
			}
			if base == s.meta {
				r.meta = map[string]string{"Signature": "abcd", "Signature-Algorithm": "SHA256withRSA"}
			}
			return r, nil
		}
		out = append(out, in)
	}
	return out
}

type slowReader struct {
	io.ReadCloser
	read  int
	cutAt int // > 0: the connection drops after this many bytes
	meta  map[string]string
	once  sync.Once
	done  func()
}

func (r *slowReader) Read(p []byte) (int, error) {
	if r.cutAt > 0 {
		if r.read >= r.cutAt {
			return 0, errors.New("connection reset by peer")
		}
		p = p[:min(len(p), r.cutAt-r.read)]
	}
	n, err := r.ReadCloser.Read(p)
	r.read += n
	return n, err
}

func (r *slowReader) Close() error {
	r.once.Do(r.done)
	return r.ReadCloser.Close()
}

func (r *slowReader) Metadata() map[string]string { return r.meta }

// TestRemoteInputsFetchedAhead: remote inputs are fetched several at once, beyond the decoders,
// and load exactly as the same files do from disk: an open that fails and a read cut half-way
// fail their file with the network's error, and a signature in the object's metadata is kept.
func TestRemoteInputsFetchedAhead(t *testing.T) {
	dir := writeRecordsFiles(t, 40, 10)
	ctx := context.Background()
	want, err := Run(ctx, openCase(t, filepath.Join(t.TempDir(), "local.tsc")), []string{dir}, Options{Workers: 2})
	if err != nil || want.Added != 400 {
		t.Fatalf("local load: %+v, %v", want, err)
	}
	s := &slowRemote{wait: 20 * time.Millisecond, fail: "f007.json", cut: "f013.json", meta: "f021.json"}
	st := openCase(t, filepath.Join(t.TempDir(), "remote.tsc"))
	sum, err := RunInputs(ctx, st, s.inputs(t, dir), Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Added != 380 || sum.Loaded != 38 || len(sum.Failed) != 2 {
		t.Fatalf("remote load: added %d, loaded %d, failed %+v; want 380, 38 and two failures", sum.Added, sum.Loaded, sum.Failed)
	}
	reasons := map[string]string{}
	for _, f := range sum.Failed {
		reasons[filepath.Base(f.Path)] = f.Reason
	}
	if !strings.Contains(reasons["f007.json"], "403 Forbidden") || !strings.Contains(reasons["f013.json"], "connection reset by peer") {
		t.Errorf("failures: %q", reasons)
	}
	if m := s.most.Load(); m <= 2 {
		t.Errorf("at most %d remote inputs open at once: not fetched ahead of the 2 decoders", m)
	}
	if s.open.Load() != 0 {
		t.Errorf("%d remote inputs left open", s.open.Load())
	}
	// The object's metadata (a digest's signature) comes with the fetched bytes.
	for _, in := range s.inputs(t, dir) {
		if filepath.Base(in.Name) != s.meta {
			continue
		}
		rc, err := fetch(ctx, in, func() {}).Open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if sig := digestSignature(rc); sig != "abcd" {
			t.Errorf("signature of a fetched object: %q", sig)
		}
		rc.Close()
	}
}

// TestFetchWithinBudget: fetched inputs wait for a decoder within the budget, and a cancelled
// load stops fetching.
func TestFetchWithinBudget(t *testing.T) {
	dir := writeRecordsFiles(t, 30, 10)
	s := &slowRemote{}
	inputs := s.inputs(t, dir)
	size := slices.MaxFunc(inputs, func(a, b Input) int { return int(a.Size - b.Size) }).Size
	defer func(b int64) { fetchBudget = b }(fetchBudget)
	fetchBudget = 3 * size // three inputs held at most
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	jobs := make(chan Input)
	go feed(ctx, inputs, jobs)
	var got []io.ReadCloser
	for range 3 {
		in := <-jobs
		rc, err := in.Open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rc) // held, as by a decoder that has not finished
	}
	time.Sleep(50 * time.Millisecond)
	if n := s.opened.Load(); n != 3 {
		t.Errorf("%d inputs fetched while 3 were held, with a budget for 3", n)
	}
	for _, rc := range got {
		b, err := io.ReadAll(rc)
		if err != nil || len(b) == 0 {
			t.Fatalf("a fetched input read %d bytes, %v", len(b), err)
		}
		rc.Close()
	}
	<-jobs // the budget given back, fetching goes on
	cancel()
	for range jobs { // closed once the fetches in flight end
	}
}
