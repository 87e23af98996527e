package store

import (
	"context"
	"fmt"
	"strconv"

	"github.com/valyala/fastjson"
)

// ftsMark is the settings key holding the highest events.id already in the full-text index.
const ftsMark = "fts_done"

// ftsBatch is how many events one full-text transaction indexes.
const ftsBatch = 20000

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

// BuildFTS adds every event not yet indexed to the full-text index, in batches, reporting the
// number indexed so far. It is built after a load because indexing inline slows the load about
// sixfold; the mark moves in the same transaction as the rows, so an interrupted build resumes.
func (s *Store) BuildFTS(ctx context.Context, progress func(done int64)) error {
	mark, err := s.ftsMark(ctx)
	if err != nil {
		return err
	}
	var done int64
	var p fastjson.Parser
	var vals []byte
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rows, err := s.r.QueryContext(ctx, `SELECT id, json FROM event_json WHERE id > ? ORDER BY id LIMIT ?`, mark, ftsBatch)
		if err != nil {
			return fmt.Errorf("full-text index: %w", err)
		}
		type doc struct {
			id   int64
			vals string
		}
		var docs []doc
		for rows.Next() {
			var id int64
			var raw []byte
			if err := rows.Scan(&id, &raw); err != nil {
				rows.Close()
				return err
			}
			vals = vals[:0]
			if v, err := p.ParseBytes(raw); err == nil {
				vals = AppendValues(vals, v)
			}
			docs = append(docs, doc{id, string(vals)})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("full-text index: %w", err)
		}
		if len(docs) == 0 {
			return nil
		}
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("full-text index: %w", err)
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO events_fts (rowid, vals) VALUES (?, ?)`)
		if err != nil {
			tx.Rollback()
			return fmt.Errorf("full-text index: %w", err)
		}
		for _, d := range docs {
			if _, err := st.ExecContext(ctx, d.id, d.vals); err != nil {
				tx.Rollback()
				return fmt.Errorf("full-text index event %d: %w", d.id, err)
			}
		}
		mark = docs[len(docs)-1].id
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, ftsMark, strconv.FormatInt(mark, 10)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("full-text index: %w", err)
		}
		done += int64(len(docs))
		progress(done)
	}
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
