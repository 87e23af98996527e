package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/valyala/fastjson"
)

// ftsMark is the settings key holding the highest events.id already in the full-text index.
const ftsMark = "fts_done"

// ftsBatch is how many events one full-text transaction indexes; each becomes one segment.
var ftsBatch = 20000

// ftsHashSize is FTS5's in-memory buffer of pending terms ('hashsize', 1 MiB by default). A
// batch that fits in it is written as one segment rather than as dozens of small ones that
// FTS5 would merge again at once.
var ftsHashSize = 64 << 20

// ftsAutomerge is FTS5's 'automerge': how many segments of one level it merges incrementally
// (4 by default). Off, segments are merged only by FTS5's 'crisismerge' (16 of a level at once),
// which rewrites each entry fewer times: a 1,000,000-event index built with 20% less CPU, at the
// same size, and searches still see at most a few dozen segments.
var ftsAutomerge = 0

// FTSPending is the number of events not yet in the full-text index.
func (s *Store) FTSPending(ctx context.Context) (int64, error) {
	mark, err := s.ftsMark(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.r.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE id > ?`, mark).Scan(&n)
	return n, err
}

func (s *Store) ftsMark(ctx context.Context) (int64, error) {
	v, err := s.Setting(ctx, ftsMark, "0")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(v, 10, 64)
}

// ftsDoc is one event's text for the full-text index.
type ftsDoc struct {
	id   int64
	vals string
}

// BuildFTS adds every event not yet indexed to the full-text index, in batches, reporting the
// number indexed so far. It is built after a load because indexing inline slows the load about
// sixfold; the mark moves in the same transaction as the rows, so an interrupted build resumes.
// One goroutine reads and flattens the next records while the writer indexes the current ones.
func (s *Store) BuildFTS(ctx context.Context, progress func(done int64)) error {
	mark, err := s.ftsMark(ctx)
	if err != nil {
		return err
	}
	for _, opt := range []struct {
		name string
		v    int
	}{{"hashsize", ftsHashSize}, {"automerge", ftsAutomerge}} {
		if _, err := s.w.ExecContext(ctx, `INSERT INTO events_fts (events_fts, rank) VALUES (?, ?)`, opt.name, opt.v); err != nil {
			return fmt.Errorf("full-text index: set %s: %w", opt.name, err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Small chunks keep little text in memory; a transaction (and a segment) spans ftsBatch.
	chunks := make(chan []ftsDoc, 2)
	readErr := make(chan error, 1)
	go func() {
		defer close(chunks)
		readErr <- s.readFTSDocs(ctx, mark, chunks)
	}()
	fail := func(err error) error {
		cancel()
		for range chunks {
		}
		<-readErr
		return err
	}
	var done int64
	var ix *ftsWriter
	for docs := range chunks {
		if ix == nil {
			if ix, err = s.beginFTS(ctx); err != nil {
				return fail(err)
			}
		}
		if err := ix.add(docs); err != nil {
			ix.tx.Rollback()
			return fail(err)
		}
		done += int64(len(docs))
		if ix.n >= ftsBatch {
			if err := ix.commit(); err != nil {
				return fail(err)
			}
			ix = nil
			progress(done)
		}
	}
	if err := <-readErr; err != nil {
		if ix != nil {
			ix.tx.Rollback()
		}
		return err
	}
	if ix != nil {
		if err := ix.commit(); err != nil {
			return err
		}
		progress(done)
	}
	return nil
}

// ftsChunk is how many records the reader flattens and hands over at once.
const ftsChunk = 1000

// readFTSDocs reads the records after mark and hands over their values text in chunks.
func (s *Store) readFTSDocs(ctx context.Context, mark int64, out chan<- []ftsDoc) error {
	var p fastjson.Parser
	var vals []byte
	for {
		rows, err := s.r.QueryContext(ctx, `SELECT id, json FROM event_json WHERE id > ? ORDER BY id LIMIT ?`, mark, ftsChunk)
		if err != nil {
			return fmt.Errorf("full-text index: %w", err)
		}
		docs := make([]ftsDoc, 0, ftsChunk)
		for rows.Next() {
			var id int64
			var raw sql.RawBytes
			if err := rows.Scan(&id, &raw); err != nil {
				rows.Close()
				return fmt.Errorf("full-text index: %w", err)
			}
			vals = vals[:0]
			if v, err := p.ParseBytes(raw); err == nil {
				vals = AppendValues(vals, v)
			}
			docs = append(docs, ftsDoc{id, string(vals)})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("full-text index: %w", err)
		}
		if len(docs) == 0 {
			return nil
		}
		mark = docs[len(docs)-1].id
		select {
		case out <- docs:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ftsWriter is one full-text transaction: rows added, and the mark moved with them at commit.
type ftsWriter struct {
	ctx, exec context.Context
	tx        *sql.Tx
	st        *sql.Stmt
	n         int
	last      int64
}

func (s *Store) beginFTS(ctx context.Context) (*ftsWriter, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("full-text index: %w", err)
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO events_fts (rowid, vals) VALUES (?, ?)`)
	if err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("full-text index: %w", err)
	}
	return &ftsWriter{ctx: ctx, exec: context.WithoutCancel(ctx), tx: tx, st: st}, nil // exec: see Loader.exec
}

func (w *ftsWriter) add(docs []ftsDoc) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	for _, d := range docs {
		if _, err := w.st.ExecContext(w.exec, d.id, d.vals); err != nil {
			return fmt.Errorf("full-text index event %d: %w", d.id, err)
		}
	}
	w.n += len(docs)
	w.last = docs[len(docs)-1].id
	return nil
}

func (w *ftsWriter) commit() error {
	defer w.tx.Rollback()
	if _, err := w.tx.ExecContext(w.ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, ftsMark, strconv.FormatInt(w.last, 10)); err != nil {
		return fmt.Errorf("full-text index: %w", err)
	}
	if err := w.tx.Commit(); err != nil {
		return fmt.Errorf("full-text index: %w", err)
	}
	return nil
}

// AppendValues appends every scalar value of v (strings, numbers, booleans; not keys, not
// nulls) to dst, separated by spaces: the text the full-text index holds for a record.
func AppendValues(dst []byte, v *fastjson.Value) []byte {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		o.Visit(func(_ []byte, x *fastjson.Value) { dst = AppendValues(dst, x) })
	case fastjson.TypeArray:
		a, _ := v.Array()
		for _, x := range a {
			dst = AppendValues(dst, x)
		}
	case fastjson.TypeString:
		if len(dst) > 0 {
			dst = append(dst, ' ')
		}
		dst = append(dst, v.GetStringBytes()...)
	case fastjson.TypeNumber, fastjson.TypeTrue, fastjson.TypeFalse:
		if len(dst) > 0 {
			dst = append(dst, ' ')
		}
		dst = v.MarshalTo(dst)
	}
	return dst
}
