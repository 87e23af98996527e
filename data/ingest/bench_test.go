package ingest

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/trailscope/trailscope/data/cloudtrail"
	"github.com/trailscope/trailscope/data/store"
	"github.com/trailscope/trailscope/data/synth"
)

// The ingest benchmarks load generated corpora into a fresh case in a child process, so that
// the child's peak resident memory (getrusage's ru_maxrss) is the load's alone. The corpora are
// generated once and kept under the repository's git-ignored .cache folder.

// benchEnd fixes the generated week, so the cached corpus is the same on every machine.
var benchEnd = time.Date(2024, 5, 10, 0, 0, 0, 0, time.UTC)

// cacheDir is the repository's .cache folder, from this package's directory.
func cacheDir(b testing.TB) string {
	b.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", ".cache", "bench"))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	return dir
}

// cached returns dir/name, making it with build (into a temporary sibling, renamed when complete)
// when it does not exist yet, so an interrupted generation is never mistaken for a finished one.
// The generator's fingerprint (see fingerprint) is kept beside it in name.generator: a folder
// made by another version of the generator is made again, so the figures describe today's data.
func cached(b testing.TB, name, fp string, build func(tmp string) error) string {
	b.Helper()
	final := filepath.Join(cacheDir(b), name)
	mark := final + ".generator"
	if got, err := os.ReadFile(mark); err == nil && string(got) == fp {
		if _, err := os.Stat(final); err == nil {
			return final
		}
	}
	os.Remove(mark)
	os.RemoveAll(final)
	tmp := final + ".tmp"
	os.RemoveAll(tmp)
	start := time.Now()
	if err := build(tmp); err != nil {
		os.RemoveAll(tmp)
		b.Fatalf("generate %s: %v", final, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(mark, []byte(fp), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %s in %v", final, time.Since(start).Round(time.Second))
	return final
}

// fingerprint names what the generator makes of cfg: a hash of its first records and of how
// they are laid out. Any change to the generator's output changes it.
func fingerprint(b testing.TB, cfg synth.Config, layout string) string {
	b.Helper()
	h := sha256.New()
	fmt.Fprintf(h, "%+v\n%s\n", cfg, layout)
	n := 0
	_, err := synth.Generate(context.Background(), cfg, func(t time.Time, raw []byte) error {
		h.Write(raw)
		if n++; n == 500 {
			return errFull
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFull) {
		b.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// s3Config is the 1,000,000-event corpus's organisation; s3Corpus lays it out 1,000 per file.
var s3Config = synth.Config{Seed: 1, Days: 7, End: benchEnd, TotalEvents: 1_000_000}

// s3Layout is cfg's traffic as .json.gz files of up to perFile records in S3 layout, cached as
// name.
func s3Layout(b testing.TB, name string, cfg synth.Config, perFile int) string {
	return cached(b, name, fingerprint(b, cfg, fmt.Sprintf("s3 layout, %d per file", perFile)), func(tmp string) error {
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return err
		}
		_, _, err := synth.WriteS3Layout(context.Background(), tmp, cfg, perFile)
		return err
	})
}

// s3Corpus is the 1,000,000-event corpus in S3 layout: .json.gz files of up to 1,000 records.
func s3Corpus(b testing.TB) string { return s3Layout(b, "s3-1m-seed1", s3Config, 1000) }

// smallConfig is an organisation's three days laid out as CloudTrail delivers a quiet account's
// logs: a file per region every few minutes holding a handful of events (5 here), so that what
// a load spends per file shows.
var smallConfig = synth.Config{Seed: 3, Days: 3, End: benchEnd, TotalEvents: 100_000}

// smallFilesCorpus is smallConfig in S3 layout, about 20,000 .json.gz files of up to 5 records.
func smallFilesCorpus(b testing.TB) string { return s3Layout(b, "s3-small-files", smallConfig, 5) }

// monthConfig is a month of a larger organisation: 5,000,000 events, past what a first load
// keeps of eventIDs in memory and past the full-text index's limit of segments in one load.
var monthConfig = synth.Config{Seed: 5, Days: 30, End: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), TotalEvents: 5_000_000}

// monthCorpus is monthConfig in S3 layout, 1,000 records a file (about 1 GB).
func monthCorpus(b testing.TB) string { return s3Layout(b, "s3-5m-month", monthConfig, 1000) }

// errFull stops the generator once the big file has its size.
var errFull = errors.New("file is full")

// bigRecordsFile is a single {"Records":[...]} file of about 1 GiB, written as the generator
// streams events, never held in memory.
func bigRecordsFile(b testing.TB) string {
	cfg := synth.Config{Seed: 2, Days: 7, End: benchEnd, TotalEvents: 1_000_000}
	dir := cached(b, "records-1gib", fingerprint(b, cfg, "one Records file of 1 GiB"), func(tmp string) error {
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return err
		}
		f, err := os.Create(filepath.Join(tmp, "records.json"))
		if err != nil {
			return err
		}
		defer f.Close()
		w := bufio.NewWriterSize(f, 1<<20)
		const target = 1 << 30
		var n int64
		w.WriteString(`{"Records":[`)
		_, err = synth.Generate(context.Background(), cfg, func(_ time.Time, raw []byte) error {
			if n > 0 {
				w.WriteByte(',')
			}
			w.Write(raw)
			n += int64(len(raw)) + 1
			if n >= target {
				return errFull
			}
			return nil
		})
		if err != nil && !errors.Is(err, errFull) {
			return err
		}
		if n < target {
			return fmt.Errorf("generator stopped at %d bytes, want %d", n, target)
		}
		w.WriteString("]}\n")
		if err := w.Flush(); err != nil {
			return err
		}
		return f.Close()
	})
	return filepath.Join(dir, "records.json")
}

// nestedArchive is a .tar.gz holding a .zip holding the first 200 files (about 200,000 events)
// of the S3 corpus, each still a .json.gz.
func nestedArchive(b testing.TB) string {
	corpus := s3Corpus(b)
	fp, err := os.ReadFile(corpus + ".generator")
	if err != nil {
		b.Fatal(err)
	}
	dir := cached(b, "nested-200", "tar.gz of a zip of the first 200 files of "+string(fp), func(tmp string) error {
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return err
		}
		var gzs []string
		err := filepath.WalkDir(corpus, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json.gz") {
				gzs = append(gzs, p)
			}
			return err
		})
		if err != nil {
			return err
		}
		sort.Strings(gzs)
		gzs = gzs[:min(200, len(gzs))]
		zipPath := filepath.Join(tmp, "inner.zip")
		if err := writeZip(zipPath, corpus, gzs); err != nil {
			return err
		}
		defer os.Remove(zipPath)
		return writeTarGz(filepath.Join(tmp, "logs.tar.gz"), zipPath)
	})
	return filepath.Join(dir, "logs.tar.gz")
}

func writeZip(path, base string, files []string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for _, p := range files {
		rel, _ := filepath.Rel(base, p)
		// Stored: the entries are gzip already, as an export of S3 objects would be.
		w, err := zw.CreateHeader(&zip.FileHeader{Name: filepath.ToSlash(rel), Method: zip.Store})
		if err != nil {
			return err
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		_, err = io.Copy(w, in)
		in.Close()
		if err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}

func writeTarGz(path, member string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	gw := gzip.NewWriter(f)
	tw := tar.NewWriter(gw)
	st, err := os.Stat(member)
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "export/" + filepath.Base(member), Mode: 0o644, Size: st.Size(), ModTime: benchEnd}); err != nil {
		return err
	}
	in, err := os.Open(member)
	if err != nil {
		return err
	}
	defer in.Close()
	if _, err := io.Copy(tw, in); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gw.Close(); err != nil {
		return err
	}
	return f.Close()
}

// childResult is what TestBenchChild reports back to the benchmark.
type childResult struct {
	Summary   Summary          `json:"summary"`
	CaseBytes int64            `json:"case_bytes"`
	Tables    map[string]int64 `json:"tables"` // bytes per table and index, from dbstat
	LoadCPU   time.Duration    `json:"load_cpu"`
	IndexCPU  time.Duration    `json:"index_cpu"`
}

// cpuTime is the CPU time (user and system) this process has used so far. On a machine shared
// with other work the wall-clock rates fall with the load; CPU time per event does much less.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// childEnv names the environment variable that makes TestBenchChild run: "case|input|out".
const childEnv = "TRAILSCOPE_BENCH_CHILD"

// loadInChild loads input into a fresh case in a child process and returns its result and peak
// resident memory in bytes.
func loadInChild(b *testing.B, input string) (childResult, int64) {
	b.Helper()
	dir := b.TempDir()
	casePath, out := filepath.Join(dir, "case.tsc"), filepath.Join(dir, "result.json")
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchChild$", "-test.bench=^$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+casePath+"|"+input+"|"+out)
	cmd.Stderr = os.Stderr
	if msg, err := cmd.Output(); err != nil {
		b.Fatalf("child load: %v\n%s", err, msg)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	rss := ru.Maxrss * 1024 // KiB on Linux
	body, err := os.ReadFile(out)
	if err != nil {
		b.Fatal(err)
	}
	var res childResult
	if err := json.Unmarshal(body, &res); err != nil {
		b.Fatal(err)
	}
	return res, rss
}

// TestBenchChild is the child process of the ingest benchmarks: it loads one input into a new
// case, full-text index included, and writes a childResult.
func TestBenchChild(t *testing.T) {
	spec := os.Getenv(childEnv)
	if spec == "" {
		t.Skip("child process of the ingest benchmarks")
	}
	parts := strings.Split(spec, "|")
	if len(parts) != 3 {
		t.Fatalf("%s=%q: want case|input|out", childEnv, spec)
	}
	casePath, input, out := parts[0], parts[1], parts[2]
	ctx := context.Background()
	st, err := store.Open(ctx, casePath)
	if err != nil {
		t.Fatal(err)
	}
	// A load as the command runs it: the events stored, the column indexes built, then the
	// full-text index. The load's CPU time is up to the column indexes being built (the last
	// Committed call).
	cpu0 := cpuTime()
	var cpu1 time.Duration
	sum, err := Run(ctx, st, []string{input}, Options{Committed: func(int64) { cpu1 = cpuTime() }})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Failed) > 0 {
		t.Fatalf("failed inputs: %+v", sum.Failed)
	}
	cpu2 := cpuTime()
	tables := tableSizes(ctx, st)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	res := childResult{Summary: sum, Tables: tables, LoadCPU: cpu1 - cpu0, IndexCPU: cpu2 - cpu1}
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(casePath + suffix); err == nil {
			res.CaseBytes += fi.Size()
		}
	}
	body, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, body, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tableSizes returns the bytes each table and index takes, or nil when SQLite lacks dbstat.
func tableSizes(ctx context.Context, st *store.Store) map[string]int64 {
	rows, err := st.DB().QueryContext(ctx, `SELECT name, sum(pgsize) FROM dbstat GROUP BY name`)
	if err != nil {
		return nil
	}
	defer rows.Close()
	m := map[string]int64{}
	for rows.Next() {
		var name string
		var n int64
		if rows.Scan(&name, &n) == nil {
			m[name] = n
		}
	}
	return m
}

// report prints a load's figures as benchmark metrics, and the size of each table in the log.
func reportLoad(b *testing.B, res childResult, rss int64) {
	b.Helper()
	s := res.Summary
	if s.Added == 0 {
		b.Fatal("the load added no events")
	}
	load, index := s.LoadTime.Seconds(), s.IndexTime.Seconds()
	b.ReportMetric(float64(s.Added)/load, "events/s")
	b.ReportMetric(float64(s.Added)/s.StoredTime.Seconds(), "events/s-stored")
	b.ReportMetric(float64(s.Bytes)/1e6/load, "JSON-MB/s")
	b.ReportMetric(float64(s.Bytes)/float64(s.Events), "JSON-B/event")
	b.ReportMetric(load, "load-s")
	b.ReportMetric(index, "fts-s")
	b.ReportMetric(float64(s.Added)/(load+index), "events/s-with-fts")
	b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MB")
	b.ReportMetric(res.LoadCPU.Seconds(), "load-cpu-s")
	b.ReportMetric((s.LoadTime - s.StoredTime).Seconds(), "of-which-sort-s")
	b.ReportMetric(res.IndexCPU.Seconds(), "fts-cpu-s")
	b.ReportMetric(float64(res.CaseBytes)/float64(s.Added), "case-B/event")
	b.ReportMetric(0, "ns/op") // the figures above say it; one op is the whole load
	if len(res.Tables) > 0 {
		names := make([]string, 0, len(res.Tables))
		for n := range res.Tables {
			names = append(names, n)
		}
		sort.Slice(names, func(i, j int) bool { return res.Tables[names[i]] > res.Tables[names[j]] })
		var sb strings.Builder
		for _, n := range names {
			if res.Tables[n] >= 1<<20 {
				fmt.Fprintf(&sb, " %s=%.0fB/event", n, float64(res.Tables[n])/float64(s.Added))
			}
		}
		b.Logf("%d events; per table:%s", s.Added, sb.String())
	}
}

// BenchmarkIngestS3 loads the 1,000,000-event S3-layout corpus into a fresh case: events/s until
// the columns are searchable, then the full-text index's time, peak memory and case size.
func BenchmarkIngestS3(b *testing.B) {
	corpus := s3Corpus(b)
	for b.Loop() {
		res, rss := loadInChild(b, corpus)
		reportLoad(b, res, rss)
	}
}

// BenchmarkIngestMonth loads 5,000,000 events (a month of a larger organisation): peak memory
// must not follow the number of events, nor the rate fall with it.
func BenchmarkIngestMonth(b *testing.B) {
	corpus := monthCorpus(b)
	for b.Loop() {
		res, rss := loadInChild(b, corpus)
		reportLoad(b, res, rss)
	}
}

// BenchmarkIngestSmallFiles loads 100,000 events from about 20,000 small files: the cost of a
// file, beside the cost of an event.
func BenchmarkIngestSmallFiles(b *testing.B) {
	corpus := smallFilesCorpus(b)
	for b.Loop() {
		res, rss := loadInChild(b, corpus)
		reportLoad(b, res, rss)
		b.ReportMetric(float64(res.Summary.Loaded)/res.Summary.LoadTime.Seconds(), "files/s")
	}
}

// BenchmarkIngestBigFile loads one ~1 GiB {"Records":[...]} file: peak memory must not follow
// the file's size.
func BenchmarkIngestBigFile(b *testing.B) {
	path := bigRecordsFile(b)
	for b.Loop() {
		res, rss := loadInChild(b, path)
		reportLoad(b, res, rss)
	}
}

// BenchmarkIngestNested loads a .tar.gz holding a .zip holding .json.gz files.
func BenchmarkIngestNested(b *testing.B) {
	path := nestedArchive(b)
	for b.Loop() {
		res, rss := loadInChild(b, path)
		reportLoad(b, res, rss)
	}
}

// BenchmarkWriter measures the single writer alone: 50,000 events of the S3 corpus, decoded and
// packed beforehand (as the decoders do), stored into a fresh case in chunks as the decoders hand them over (secondary
// indexes built at the end, as in a first load). It tells the writer's share of a load apart
// from decoding.
func BenchmarkWriter(b *testing.B) {
	corpus := s3Corpus(b)
	var events []cloudtrail.Event
	err := filepath.WalkDir(corpus, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || len(events) >= 50_000 {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		_, err = cloudtrail.Decode(zr, func(rec cloudtrail.Record) error {
			e, err := cloudtrail.Extract(rec.Raw)
			if err == nil && rec.Kind == cloudtrail.KindEvent {
				events = append(events, e)
			}
			return err
		})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	packed := make([][]byte, len(events))
	for i := range events {
		packed[i] = store.PackJSON(nil, events[i].Raw)
	}
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		st, err := store.Open(ctx, filepath.Join(b.TempDir(), "case.tsc"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		ld, err := st.BeginLoad(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < len(events); i += 2000 {
			j := min(i+2000, len(events))
			if _, err := ld.Events(events[i:j], packed[i:j], 0); err != nil {
				b.Fatal(err)
			}
			if ld.Pending() >= 20000 {
				if err := ld.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := ld.Close(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(len(events))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
