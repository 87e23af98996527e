package synth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/klauspost/compress/gzip"
)

// WriteS3Layout writes the traffic of cfg under dir as CloudTrail delivers it to S3:
// AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<rand>.json.gz,
// each a gzip of {"Records":[...]} holding up to eventsPerFile events of one account, region and
// UTC day. It returns the labels and the number of files written.
func WriteS3Layout(ctx context.Context, dir string, cfg Config, eventsPerFile int) ([]Label, int, error) {
	return writeS3(ctx, dir, cfg, eventsPerFile, false)
}

// WriteS3LayoutWithDigests is WriteS3Layout for a trail with log file validation on: beside the
// log files, each account and region has a digest file for every hour from its first log file to
// the last of any, under AWSLogs/<account>/CloudTrail-Digest/<region>/…, listing the log files
// delivered in the hour with the SHA-256 of their plain content and linked to the hour before by
// its hash.
// Their signatures are made up: there is no AWS key to sign with. The count returned includes
// the digests.
func WriteS3LayoutWithDigests(ctx context.Context, dir string, cfg Config, eventsPerFile int) ([]Label, int, error) {
	return writeS3(ctx, dir, cfg, eventsPerFile, true)
}

func writeS3(ctx context.Context, dir string, cfg Config, eventsPerFile int, digests bool) ([]Label, int, error) {
	if eventsPerFile <= 0 {
		return nil, 0, fmt.Errorf("synth: eventsPerFile %d must be positive", eventsPerFile)
	}
	w := &layoutWriter{dir: dir, per: eventsPerFile, parts: map[string]*partition{}, dirs: map[string]bool{},
		r: newRand(cfg.Seed, "s3layout")}
	labels, err := generate(ctx, cfg, w.add)
	if err != nil {
		return nil, w.files, err
	}
	for _, p := range w.order {
		if err := w.flush(p); err != nil {
			return nil, w.files, err
		}
	}
	if digests {
		// CloudTrail delivers a digest every hour whether or not the hour had log files, so
		// every chain runs until the trail's last hour, however quiet its region.
		var until int64
		for _, p := range w.order {
			if n := len(p.written); n > 0 {
				until = max(until, p.written[n-1].at/3600*3600)
			}
		}
		for _, p := range w.order {
			if err := w.writeDigests(p, until); err != nil {
				return nil, w.files, err
			}
		}
	}
	return labels, w.files, nil
}

// partition buffers one account and region's events until a file is full or the day ends.
type partition struct {
	acct, region string
	day          int64
	events       [][]byte
	first, last  int64       // times of the buffered events' first and last
	written      []delivered // the log files written, for the digests
}

// delivered is a log file as a digest lists it.
type delivered struct {
	key            string // under dir, with '/'
	at             int64  // the delivery time its name gives
	plainSHA       string
	oldest, newest int64
}

type layoutWriter struct {
	dir   string
	per   int
	parts map[string]*partition
	order []*partition // creation order, so the final flush is deterministic
	dirs  map[string]bool
	r     interface{ Uint64() uint64 }
	files int
	buf   bytes.Buffer
	// fingerprint names the made-up key of the digests (WriteS3LayoutWithDigests).
	fingerprint string
	zw          *gzip.Writer
}

func (w *layoutWriter) add(e *queued) error {
	k := e.acct.id + "/" + e.region
	p := w.parts[k]
	if p == nil {
		p = &partition{acct: e.acct.id, region: e.region}
		w.parts[k] = p
		w.order = append(w.order, p)
	}
	day := e.t / 86400
	if len(p.events) > 0 && day != p.day {
		if err := w.flush(p); err != nil {
			return err
		}
	}
	p.day = day
	if len(p.events) == 0 {
		p.first = e.t
	}
	p.events = append(p.events, e.raw)
	p.last = e.t
	if len(p.events) >= w.per {
		return w.flush(p)
	}
	return nil
}

const nameChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func (w *layoutWriter) flush(p *partition) error {
	if len(p.events) == 0 {
		return nil
	}
	stamp := time.Unix(p.last-p.last%300, 0).UTC()
	suffix := make([]byte, 16)
	for i := range suffix {
		suffix[i] = nameChars[w.r.Uint64()%uint64(len(nameChars))]
	}
	key := fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz", p.acct, p.region, stamp.Format("2006/01/02"),
		p.acct, p.region, stamp.Format("20060102T1504Z"), suffix)
	sum, err := w.writeGzip(key, func(out io.Writer) {
		out.Write([]byte(`{"Records":[`))
		for i, ev := range p.events {
			if i > 0 {
				out.Write([]byte{','})
			}
			out.Write(ev)
		}
		out.Write([]byte("]}"))
	})
	if err != nil {
		return err
	}
	p.written = append(p.written, delivered{key: key, at: stamp.Unix(), plainSHA: sum, oldest: p.first, newest: p.last})
	p.events = p.events[:0]
	return nil
}

// writeGzip writes what fill writes, gzipped, to key under the layout's folder, and returns the
// hex SHA-256 of the plain content (what a digest lists).
func (w *layoutWriter) writeGzip(key string, fill func(io.Writer)) (string, error) {
	path := filepath.Join(w.dir, filepath.FromSlash(key))
	if sub := filepath.Dir(path); !w.dirs[sub] {
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return "", fmt.Errorf("synth: create %s: %w", sub, err)
		}
		w.dirs[sub] = true
	}
	w.buf.Reset()
	if w.zw == nil {
		// BestSpeed: the files feed the ingest benchmark, where writing them must not dominate.
		w.zw, _ = gzip.NewWriterLevel(&w.buf, gzip.BestSpeed)
	} else {
		w.zw.Reset(&w.buf)
	}
	h := sha256.New()
	fill(io.MultiWriter(w.zw, h))
	if err := w.zw.Close(); err != nil {
		return "", fmt.Errorf("synth: compress %s: %w", path, err)
	}
	if err := os.WriteFile(path, w.buf.Bytes(), 0o644); err != nil {
		return "", fmt.Errorf("synth: write %s: %w", path, err)
	}
	w.files++
	return hex.EncodeToString(h.Sum(nil)), nil
}

// digestTrail and digestBucket name the made-up trail the digests belong to.
const digestTrail, digestBucket, digestHome = "organization-trail", "org-cloudtrail-logs", "us-east-1"

// writeDigests writes p's hourly digests, from the hour of its first log file to the hour last.
func (w *layoutWriter) writeDigests(p *partition, last int64) error {
	if len(p.written) == 0 {
		return nil
	}
	first := p.written[0].at / 3600 * 3600
	if w.fingerprint == "" {
		// One key signs every digest: CloudTrail's keys are per region, and these digests' trail
		// has one home region.
		w.fingerprint = fmt.Sprintf("%016x%016x", w.r.Uint64(), w.r.Uint64())
	}
	fingerprint := w.fingerprint
	var prevKey, prevHash, prevSig string
	next := 0
	for h := first; h <= last; h += 3600 {
		start, end := time.Unix(h, 0).UTC(), time.Unix(h+3600, 0).UTC()
		type logJSON struct {
			Bucket string `json:"s3Bucket"`
			Object string `json:"s3Object"`
			Hash   string `json:"hashValue"`
			Alg    string `json:"hashAlgorithm"`
			Newest string `json:"newestEventTime"`
			Oldest string `json:"oldestEventTime"`
		}
		logs := []logJSON{}
		for ; next < len(p.written) && p.written[next].at < h+3600; next++ {
			f := p.written[next]
			logs = append(logs, logJSON{digestBucket, f.key, f.plainSHA, "SHA-256",
				time.Unix(f.newest, 0).UTC().Format(time.RFC3339), time.Unix(f.oldest, 0).UTC().Format(time.RFC3339)})
		}
		key := fmt.Sprintf("AWSLogs/%s/CloudTrail-Digest/%s/%s/%s_CloudTrail-Digest_%s_%s_%s_%s.json.gz", p.acct, p.region,
			end.Format("2006/01/02"), p.acct, p.region, digestTrail, digestHome, end.Format("20060102T150405Z"))
		d := map[string]any{"awsAccountId": p.acct, "digestStartTime": start.Format(time.RFC3339),
			"digestEndTime": end.Format(time.RFC3339), "digestS3Bucket": digestBucket, "digestS3Object": key,
			"digestPublicKeyFingerprint": fingerprint, "digestSignatureAlgorithm": "SHA256withRSA",
			"previousDigestSignature": nil, "logFiles": logs}
		if prevKey != "" {
			d["previousDigestS3Bucket"], d["previousDigestS3Object"] = digestBucket, prevKey
			d["previousDigestHashValue"], d["previousDigestHashAlgorithm"] = prevHash, "SHA-256"
			d["previousDigestSignature"] = prevSig
		}
		plain, err := json.Marshal(d)
		if err != nil {
			return err
		}
		sum, err := w.writeGzip(key, func(out io.Writer) { out.Write(plain) })
		if err != nil {
			return err
		}
		prevKey, prevHash = key, sum
		prevSig = fmt.Sprintf("%016x%016x%016x%016x", w.r.Uint64(), w.r.Uint64(), w.r.Uint64(), w.r.Uint64())
	}
	return nil
}
