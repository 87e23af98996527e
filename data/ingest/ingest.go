// Package ingest loads CloudTrail inputs into a case: it finds the files under the given paths,
// decodes them in parallel goroutines and writes through one writer goroutine in large
// transactions, so a load can be killed at any moment and rerun to the same result.
package ingest

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trailscope/trailscope/data/cloudtrail"
	"github.com/trailscope/trailscope/data/source"
	"github.com/trailscope/trailscope/data/store"
)

// Options tune a load; the zero value is ready to use.
type Options struct {
	Workers     int                              // decoder goroutines; default GOMAXPROCS
	Classify    func(e *cloudtrail.Event) string // direction of each event; nil leaves it empty
	Limits      source.Limits                    // bounds on archive entries
	CommitEvery int                              // events per transaction; default 20,000
	Progress    func(Progress)                   // called at most every 200 ms, and once at the end
	SkipIndex   bool                             // leave the full-text index for later
	Now         func() time.Time                 // clock for rates; default time.Now
	Committed   func(added int64)                // called after each commit with the events added so far
	chunkEvents int                              // events a worker hands over at once (tests shrink it)
}

// Progress is a snapshot of a running load.
type Progress struct {
	Phase      string // "loading", "sorting" (building the column indexes), "indexing" (full text) or "done"; see PhaseListing
	FilesTotal int
	FilesDone  int
	BytesTotal int64 // bytes of the files on disk (compressed)
	BytesRead  int64
	Events     int64 // events decoded
	Added      int64
	Duplicates int64
	Failed     int   // plain streams that failed
	Indexed    int64 // events added to the full-text index
	ToIndex    int64 // events the full-text build has to index, once started: not always Added
	Elapsed    time.Duration
}

// IndexTotal is what Indexed counts up to: the events waiting for the full-text index when its
// build started, which an interrupted load or another process may have made more than this
// load's Added; Added before then.
func (p Progress) IndexTotal() int64 {
	if p.ToIndex > 0 {
		return p.ToIndex
	}
	return p.Added
}

// Rate is events decoded per second so far.
func (p Progress) Rate() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Events) / p.Elapsed.Seconds()
}

// FileResult is the outcome for one plain stream: a loose file or an archive entry.
type FileResult struct {
	Path   string `json:"path"`
	Entry  string `json:"entry,omitempty"`
	Format string `json:"format,omitempty"`
	Status string `json:"status"` // loaded, skipped or failed
	Reason string `json:"reason,omitempty"`
	Events int64  `json:"events"`
	Added  int64  `json:"added"`
	Bytes  int64  `json:"bytes"`
}

// Summary is what a load did; of a load that stopped short (cancelled, or an error), what it
// committed, which is what stays in the case.
type Summary struct {
	Added      int64         `json:"added"`
	Duplicates int64         `json:"duplicates"`
	Insights   int64         `json:"insights"`
	Digests    int64         `json:"digests"`
	Loaded     int           `json:"files_loaded"`
	Skipped    []FileResult  `json:"skipped"`
	Failed     []FileResult  `json:"failed"`
	Bytes      int64         `json:"bytes"` // plain JSON bytes decoded
	Events     int64         `json:"events"`
	LoadTime   time.Duration `json:"load_ns"`   // until the column indexes are built
	IndexTime  time.Duration `json:"index_ns"`  // the full-text index, after LoadTime
	StoredTime time.Duration `json:"stored_ns"` // of LoadTime, until every event was committed
}

// Files counts the plain streams the load read, whatever became of them: 0 when the inputs
// held nothing to read.
func (s Summary) Files() int { return s.Loaded + len(s.Skipped) + len(s.Failed) }

// chunk is a part of one stream's records handed from a decoder to the writer.
type chunk struct {
	key       streamKey
	chunkBufs // the events and their packed JSON
	insights  []cloudtrail.Event
	digests   [][]byte
	final     *FileResult // set on the stream's last chunk
	sha       string      // of the file as stored
	plainSHA  string      // of its plain content, as CloudTrail digests list it
	signature string      // a digest file's, from its S3 metadata
}

// chunkBufs are the buffers of a chunk's events and packed JSON, handed back by the writer once
// it has stored them and taken up by the next chunk a decoder fills. Made anew for each file, a
// chunk's buffers were zeroed, then copied as they grew: with them (and each event no longer
// on the heap) a load of 1M events allocates 0.65 GB instead of 5.4, collects 32 times instead
// of 215, and took 31.1 CPU-s instead of 36.6 (three runs each, alternated).
type chunkBufs struct {
	events []cloudtrail.Event
	packed [][]byte // each event's raw JSON packed for the store (store.PackJSON), in events' order
	arena  []byte   // what packed points into
}

var chunkPool = sync.Pool{New: func() any { return new(chunkBufs) }}

// newChunk returns a chunk for key with room for n events, in buffers the writer has handed
// back when there are some.
func newChunk(key streamKey, n int) chunk {
	b := chunkPool.Get().(*chunkBufs)
	if b.events == nil {
		b.events = make([]cloudtrail.Event, 0, n)
		b.packed = make([][]byte, 0, n)
	}
	if b.arena == nil {
		b.arena = make([]byte, 0, n*packedGuess)
	}
	return chunk{key: key, chunkBufs: *b}
}

// maxPooledArena bounds the packed JSON a chunk's arena may keep room for once stored: a chunk
// of huge records grows its arena far past the usual 1.6 MB, and a pooled buffer in constant use
// would keep that size for the rest of the load.
const maxPooledArena = 8 << 20

// recycle hands a stored chunk's buffers back for another chunk, and drops them from ch.
func (ch *chunk) recycle() {
	if ch.events == nil {
		return // a chunk that only says a stream failed
	}
	clear(ch.events) // the strings they hold are garbage now
	clear(ch.packed)
	b := &chunkBufs{events: ch.events[:0], packed: ch.packed[:0], arena: ch.arena[:0]}
	if cap(b.arena) > maxPooledArena {
		b.arena = nil
	}
	ch.chunkBufs = chunkBufs{}
	chunkPool.Put(b)
}

type streamKey struct{ path, entry string }

// Input is one thing to load: a file on disk, an S3 object, or a stream made in process.
type Input struct {
	Name string // a path, s3://bucket/key, or a name such as "demo:seed=1"; recorded as provenance
	Size int64  // bytes, for progress; 0 when unknown
	Open func(ctx context.Context) (io.ReadCloser, error)
	// Remote marks an input whose opening and reading wait on the network (an S3 object): the
	// load fetches several such inputs ahead of the decoders (see feed).
	Remote bool
}

// DiskInputs turns files found on disk into inputs.
func DiskInputs(files []source.File) []Input {
	out := make([]Input, len(files))
	for i, f := range files {
		path := f.Path
		out[i] = Input{Name: path, Size: f.Size, Open: func(context.Context) (io.ReadCloser, error) { return os.Open(path) }}
	}
	return out
}

// Run loads every CloudTrail input under paths (files, folders, archives) into st. A file that
// fails is reported in the summary and the rest of the load goes on; err is non-nil only when
// the load as a whole could not proceed (the case cannot be written, a path is missing, or ctx
// was cancelled).
func Run(ctx context.Context, st *store.Store, paths []string, opt Options) (Summary, error) {
	files, err := source.Files(paths)
	if err != nil {
		return Summary{}, err
	}
	return RunInputs(ctx, st, DiskInputs(files), opt)
}

// RunInputs loads the given inputs into st; see Run.
func RunInputs(ctx context.Context, st *store.Store, inputs []Input, opt Options) (Summary, error) {
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.CommitEvery <= 0 {
		opt.CommitEvery = 20000
	}
	if opt.chunkEvents <= 0 {
		opt.chunkEvents = 2000
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	start := opt.Now()
	inputs, own := skipCaseFiles(st.Path(), inputs)
	var c counters
	c.filesTotal = len(inputs)
	for _, in := range inputs {
		c.bytesTotal += in.Size
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan Input)
	chunks := make(chan chunk, opt.Workers*2)
	var wg sync.WaitGroup
	for range opt.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range jobs {
				decodeFile(ctx, f, &opt, &c, chunks)
				c.filesDone.Add(1)
			}
		}()
	}
	go feed(ctx, inputs, jobs)
	go func() { wg.Wait(); close(chunks) }()

	stopTicker := startTicker(opt, &c, start)
	defer stopTicker()
	sum, kept, ld, werr := write(ctx, st, chunks, &opt, &c)
	sum.Skipped = slices.Concat(own, sum.Skipped)
	if werr != nil {
		cancel()
		for range chunks { // let the decoders finish
		}
	}
	if werr == nil {
		werr = ctx.Err()
	}
	if werr != nil {
		if ld != nil {
			ld.Abort()
		}
		// What stays is what was committed: the transaction under way went with the abort.
		kept.Skipped = slices.Concat(own, kept.Skipped)
		kept.LoadTime = opt.Now().Sub(start)
		return kept, werr
	}
	// The column indexes first (searches are quick from then on), then the full-text index.
	// Started beside the sorting, the full-text build peaked a quarter higher in memory (257
	// against 202 MB on 1M events) and finished no sooner (measured).
	// Committed, the events are searchable (by scans of their columns); the column indexes
	// built next make the searches quick.
	if err := ld.Commit(); err != nil {
		ld.Abort()
		sum.LoadTime = opt.Now().Sub(start)
		return sum, err
	}
	sum.StoredTime = opt.Now().Sub(start)
	if opt.Committed != nil {
		opt.Committed(sum.Added)
	}
	c.phase.Store(phaseSorting)
	err := ld.Close()
	removed := ld.Removed() // stored twice past the loader's memory of eventIDs
	sum.Added -= removed
	sum.Duplicates += removed
	c.added.Add(-removed)
	c.dups.Add(removed)
	loaded := opt.Now()
	sum.LoadTime = loaded.Sub(start)
	if err != nil {
		return sum, err
	}
	if opt.Committed != nil {
		opt.Committed(sum.Added)
	}
	if !opt.SkipIndex {
		if n, err := st.FTSPending(ctx); err == nil {
			c.toIndex.Store(n)
		}
		c.phase.Store(phaseIndexing)
		err := st.BuildFTS(ctx, func(done int64) { c.indexed.Store(done) })
		sum.IndexTime = opt.Now().Sub(loaded)
		if err != nil {
			return sum, fmt.Errorf("full-text index: %w", err)
		}
	}
	stopTicker()
	report(opt, &c, start, "done")
	return sum, nil
}

// skipCaseFiles sets aside the inputs that are the case file itself or its journal, WAL or
// shared memory: a case saved in the folder of logs it is given would otherwise be read as a
// log and fail (seen in the app).
func skipCaseFiles(casePath string, inputs []Input) (keep []Input, skipped []FileResult) {
	own := map[string]os.FileInfo{} // by base name
	for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
		if fi, err := os.Stat(casePath + suffix); err == nil {
			own[filepath.Base(casePath+suffix)] = fi
		}
	}
	for _, in := range inputs {
		if o, ok := own[filepath.Base(in.Name)]; ok {
			if fi, err := os.Stat(in.Name); err == nil && os.SameFile(o, fi) {
				skipped = append(skipped, FileResult{Path: in.Name, Status: "skipped", Reason: "the case file itself, or its journal"})
				continue
			}
		}
		keep = append(keep, in)
	}
	return keep, skipped
}

// Phases of a load, as Progress.Phase says them.
const (
	phaseLoading  = "loading"
	phaseSorting  = "sorting"
	phaseIndexing = "indexing"
)

// PhaseListing is the phase before a load from S3, for a caller that lists the objects to load
// and reports it through the same callback: FilesTotal and BytesTotal count the objects found
// so far.
const PhaseListing = "listing"

type counters struct {
	filesTotal                     int
	bytesTotal                     int64
	filesDone, failed              atomic.Int64
	bytesRead, events, added, dups atomic.Int64
	indexed, toIndex               atomic.Int64
	phase                          atomic.Value // string: phaseLoading until the load moves on
}

func report(opt Options, c *counters, start time.Time, phase string) {
	if opt.Progress == nil {
		return
	}
	opt.Progress(Progress{
		Phase: phase, FilesTotal: c.filesTotal, FilesDone: int(c.filesDone.Load()),
		BytesTotal: c.bytesTotal, BytesRead: c.bytesRead.Load(), Events: c.events.Load(),
		Added: c.added.Load(), Duplicates: c.dups.Load(), Failed: int(c.failed.Load()),
		Indexed: c.indexed.Load(), ToIndex: c.toIndex.Load(), Elapsed: opt.Now().Sub(start),
	})
}

func startTicker(opt Options, c *counters, start time.Time) (stop func()) {
	if opt.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				phase, _ := c.phase.Load().(string)
				report(opt, c, start, cmp.Or(phase, phaseLoading))
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

// decodeFile expands one input and decodes every plain stream in it, handing records to the
// writer in chunks.
func decodeFile(ctx context.Context, in Input, opt *Options, c *counters, out chan<- chunk) {
	send := func(ch chunk) bool {
		select {
		case out <- ch:
			return true
		case <-ctx.Done():
			return false
		}
	}
	fail := func(entry string, err error) {
		c.failed.Add(1)
		send(chunk{key: streamKey{in.Name, entry}, final: &FileResult{Path: in.Name, Entry: entry, Status: store.FileFailed, Reason: err.Error()}})
	}
	rc, err := in.Open(ctx)
	if err != nil {
		fail("", err)
		return
	}
	defer rc.Close()
	sig := digestSignature(rc)
	var r io.Reader = countingReader{rc, &c.bytesRead}
	if fh, ok := rc.(*os.File); ok {
		r = fileCounter{fh, &c.bytesRead}
	}
	before := c.bytesRead.Load()
	err = source.Expand(ctx, in.Name, r, in.Size, opt.Limits, func(leaf source.Leaf) error {
		if leaf.Err != nil {
			fail(leaf.Entry, leaf.Err)
			return ctx.Err()
		}
		return decodeLeaf(ctx, leaf, sig, opt, c, send)
	})
	// Account for a zip read through ReaderAt, which the counting wrapper cannot see.
	if read := c.bytesRead.Load() - before; read < in.Size {
		c.bytesRead.Add(in.Size - read)
	}
	if err != nil && ctx.Err() == nil {
		fail("", err)
	}
}

// countingReader counts the bytes read, for progress.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// fileCounter is an *os.File that counts sequential reads yet still offers ReaderAt, so that
// zip archives keep random access.
type fileCounter struct {
	*os.File
	n *atomic.Int64
}

func (f fileCounter) Read(p []byte) (int, error) {
	n, err := f.File.Read(p)
	f.n.Add(int64(n))
	return n, err
}

// plainCounter counts and hashes the plain bytes read through it. The hash is what a CloudTrail
// digest lists for the file (BenchmarkIngestS3 showed no change in load CPU with it).
type plainCounter struct {
	r io.Reader
	n int64
	h hash.Hash
}

func (c *plainCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.h.Write(p[:n])
	return n, err
}

// digestSignature is the signature CloudTrail put in the metadata of the S3 object r reads, if r
// reads one and it is signed as CloudTrail signs digest files; "" otherwise.
func digestSignature(r io.Reader) string {
	m, ok := r.(metadataReader)
	if !ok {
		return ""
	}
	var sig, alg string
	for k, v := range m.Metadata() {
		switch strings.ToLower(k) {
		case "signature":
			sig = v
		case "signature-algorithm":
			alg = v
		}
	}
	if !strings.EqualFold(alg, "SHA256withRSA") {
		return ""
	}
	return sig
}

// decodeLeaf decodes one plain stream; sig is its S3 object's digest signature, if any.
func decodeLeaf(ctx context.Context, leaf source.Leaf, sig string, opt *Options, c *counters, send func(chunk) bool) error {
	key := streamKey{leaf.Path, leaf.Entry}
	hr := &plainCounter{r: leaf.R, h: sha256.New()}
	// Without buffers to reuse, a file's first chunk starts small and grows with it: CloudTrail
	// delivers a file per region every five minutes, most of them holding a few events, and a
	// full-size chunk for each (2.5 MB, zeroed) cost more than decoding them. Once a file has
	// filled a chunk, the next ones are full-size from the start.
	cur := newChunk(key, min(firstChunkEvents, opt.chunkEvents))
	res := FileResult{Path: leaf.Path, Entry: leaf.Entry}
	var extractErr error
	// Each record's JSON is borrowed from the decoder until the callback returns: an event's is
	// packed, and insights and digests keep a copy.
	stats, err := cloudtrail.DecodeBorrowed(ctx, hr, func(rec cloudtrail.Record) error {
		switch rec.Kind {
		case cloudtrail.KindDigest:
			cur.digests = append(cur.digests, bytes.Clone(rec.Raw))
			return nil
		}
		e, err := rec.Extract()
		if err != nil {
			// The decoder recognised the record; a field it cannot read (a bad eventTime) fails the file.
			extractErr = err
			return err
		}
		res.Events++
		c.events.Add(1)
		if rec.Kind == cloudtrail.KindInsight {
			e.Raw = bytes.Clone(e.Raw)
			cur.insights = append(cur.insights, e)
			return nil
		}
		// Classified where it is kept: e, whose address Classify would take, stays off the heap.
		cur.events = append(cur.events, e)
		last := &cur.events[len(cur.events)-1]
		if opt.Classify != nil {
			last.Direction = opt.Classify(last) // which may read the JSON
		}
		// Packed here, the JSON costs the writer less than half the bytes to store.
		p := store.PackJSON(cur.arena, last.Raw)
		cur.packed = append(cur.packed, p[len(cur.arena):len(p):len(p)])
		cur.arena, last.Raw = p, nil
		if len(cur.events) >= opt.chunkEvents {
			if !send(cur) {
				return ctx.Err()
			}
			cur = newChunk(key, opt.chunkEvents)
		}
		return nil
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, cloudtrail.ErrNotCloudTrail) || errors.Is(err, cloudtrail.ErrEmpty) {
		// The decoder judged the content by its start; a read error further on (a truncated
		// gzip stream) is the real story. (A decoded file is read to its end, which the plain
		// hash needs: TestPlainHash.)
		if _, rerr := io.Copy(io.Discard, hr); rerr != nil {
			err = fmt.Errorf("read: %w", rerr)
		}
	}
	sha, herr := leaf.SHA256()
	if herr != nil && (err == nil || errors.Is(err, cloudtrail.ErrNotCloudTrail) || errors.Is(err, cloudtrail.ErrEmpty)) {
		err = fmt.Errorf("read: %w", herr) // bytes past the end of the content would not read
	}
	res.Format = string(stats.Format)
	res.Bytes = hr.n
	switch {
	case err == nil:
		res.Status = store.FileLoaded
	case errors.Is(err, cloudtrail.ErrNotCloudTrail), errors.Is(err, cloudtrail.ErrEmpty):
		res.Status = store.FileSkipped
		res.Reason = err.Error()
	default:
		res.Status = store.FileFailed
		if extractErr != nil {
			err = extractErr
		}
		res.Reason = err.Error()
		c.failed.Add(1)
	}
	cur.final = &res
	cur.sha, cur.plainSHA = sha, hex.EncodeToString(hr.h.Sum(nil))
	if stats.Digests > 0 {
		cur.signature = sig
	}
	send(cur)
	return nil
}

// packedGuess is about the bytes an event's JSON takes packed, to size a chunk's arena.
const packedGuess = 800

// firstChunkEvents is the room a file's first chunk starts with.
const firstChunkEvents = 32

// fileRecord is the files row of a stream's last chunk.
func fileRecord(ch *chunk) store.FileRecord {
	f := ch.final
	return store.FileRecord{Path: f.Path, Entry: f.Entry, Size: f.Bytes, SHA256: ch.sha, PlainSHA256: ch.plainSHA, Signature: ch.signature,
		Format: f.Format, Events: f.Events, Added: f.Added, Status: f.Status, Reason: f.Reason}
}

// write is the single writer: it stores chunks in large transactions and records each stream in
// the files table once its last chunk is stored. It returns the loader with everything
// written and its deferred indexes still to build (Close), or aborted on an error. kept is the
// summary as of the last commit: what stays in the case when the load stops short.
func write(ctx context.Context, st *store.Store, chunks <-chan chunk, opt *Options, c *counters) (sum, kept Summary, _ *store.Loader, _ error) {
	ld, err := st.BeginLoad(ctx)
	if err != nil {
		return sum, kept, nil, err
	}
	ids := map[streamKey]int64{}
	added := map[streamKey]int64{}
	for ch := range chunks {
		id, ok := ids[ch.key]
		whole := !ok && ch.final != nil // the stream in one chunk, as most delivered files come
		if !ok {
			rec := store.FileRecord{Path: ch.key.path, Entry: ch.key.entry, Status: store.FileLoading}
			if whole {
				// Recorded finished at once (in the same transaction as its events), and its
				// count of new events added once they are stored: one upsert on the path.
				rec = fileRecord(&ch)
			}
			id, err = ld.File(rec)
			if err != nil {
				ld.Abort()
				return sum, kept, nil, err
			}
			ids[ch.key] = id
		}
		if len(ch.events) > 0 {
			n, err := ld.Events(ch.events, ch.packed, id)
			if err != nil {
				ld.Abort()
				return sum, kept, nil, err
			}
			added[ch.key] += int64(n)
			sum.Added += int64(n)
			c.added.Add(int64(n))
			sum.Duplicates += int64(len(ch.events) - n)
			c.dups.Add(int64(len(ch.events) - n))
		}
		ch.recycle()
		for i := range ch.insights {
			ok, err := ld.Insight(&ch.insights[i], id)
			if err != nil {
				ld.Abort()
				return sum, kept, nil, err
			}
			if ok {
				sum.Insights++
			}
		}
		for _, d := range ch.digests {
			if err := ld.Digest(d, id); err != nil {
				ld.Abort()
				return sum, kept, nil, err
			}
			sum.Digests++
		}
		if f := ch.final; f != nil {
			f.Added = added[ch.key]
			delete(ids, ch.key)
			delete(added, ch.key)
			switch {
			case !whole:
				_, err = ld.File(fileRecord(&ch))
			case f.Added > 0:
				err = ld.FileAdded(id, f.Added)
			}
			if err != nil {
				ld.Abort()
				return sum, kept, nil, err
			}
			sum.Events += f.Events
			sum.Bytes += f.Bytes
			switch f.Status {
			case store.FileLoaded:
				sum.Loaded++
			case store.FileSkipped:
				sum.Skipped = append(sum.Skipped, *f)
			default:
				sum.Failed = append(sum.Failed, *f)
			}
		}
		if ld.Pending() >= opt.CommitEvery {
			if err := ld.Commit(); err != nil {
				ld.Abort()
				return sum, kept, nil, err
			}
			kept = sum
			if opt.Committed != nil {
				opt.Committed(sum.Added)
			}
		}
	}
	if ctx.Err() != nil {
		ld.Abort()
		return sum, kept, nil, ctx.Err()
	}
	return sum, kept, ld, nil
}
