package synth

import (
	"bytes"
	"context"
	"fmt"
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
	return labels, w.files, nil
}

// partition buffers one account and region's events until a file is full or the day ends.
type partition struct {
	acct, region string
	day          int64
	events       [][]byte
	last         int64
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
	zw    *gzip.Writer
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
	sub := filepath.Join(w.dir, "AWSLogs", p.acct, "CloudTrail", p.region, stamp.Format("2006"), stamp.Format("01"), stamp.Format("02"))
	if !w.dirs[sub] {
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return fmt.Errorf("synth: create %s: %w", sub, err)
		}
		w.dirs[sub] = true
	}
	suffix := make([]byte, 16)
	for i := range suffix {
		suffix[i] = nameChars[w.r.Uint64()%uint64(len(nameChars))]
	}
	path := filepath.Join(sub, fmt.Sprintf("%s_CloudTrail_%s_%s_%s.json.gz", p.acct, p.region, stamp.Format("20060102T1504Z"), suffix))
	w.buf.Reset()
	if w.zw == nil {
		// BestSpeed: the files feed the ingest benchmark, where writing them must not dominate.
		w.zw, _ = gzip.NewWriterLevel(&w.buf, gzip.BestSpeed)
	} else {
		w.zw.Reset(&w.buf)
	}
	w.zw.Write([]byte(`{"Records":[`))
	for i, ev := range p.events {
		if i > 0 {
			w.zw.Write([]byte{','})
		}
		w.zw.Write(ev)
	}
	w.zw.Write([]byte("]}"))
	if err := w.zw.Close(); err != nil {
		return fmt.Errorf("synth: compress %s: %w", path, err)
	}
	if err := os.WriteFile(path, w.buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("synth: write %s: %w", path, err)
	}
	w.files++
	p.events = p.events[:0]
	return nil
}
