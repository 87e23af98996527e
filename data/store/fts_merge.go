package store

import (
	"bytes"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/trailscope/trailscope/data/internal/sqlitec"
)

// Merging full-text segments in Go.
//
// FTS5's 'merge' reads its segments through a general iterator that compares every entry's
// rowid across all of them, in transpiled C: 21.8 s of CPU for the 1.66M events of a case of
// 1M after a load of 660k, 22 of the 38 s that load spent on its full-text index. The segments
// BuildFTS writes hold disjoint ranges of rowids, one batch of events after another, so a
// term's doclist in the merged segment is its doclists in those segments one after the other.
// The Go merge below reads each segment's leaves once, in order, and writes the merged segment
// with fts5IndexMergeLevel's own writing steps (appendTerm, appendRowid, appendPoslist), so
// its bytes are those FTS5 writes for the same merge (TestFTSMergeMatchesFTS5): 10.4 s of CPU
// for the same merge, 25 s for that load's full-text index. (BenchmarkFTSMerge, 80k events in
// 16 segments: 3.8 µs an event against FTS5's 5.1; the small case's pages are mostly cached.) Segments it does not take (an
// incremental merge under way, delete markers, interleaved rowids, a case not under WAL) are
// left to FTS5.

// ftsUsermerge is FTS5's 'usermerge' default: 'merge' merges a level once it holds this many
// segments.
const ftsUsermerge = 4

// errFTSMergeInput reports segments the Go merge does not take. The merge under way is rolled
// back (those before it stay merged), and FTS5 merges what is left.
var errFTSMergeInput = errors.New("full-text merge: segments the Go merge does not take")

// ftsSegReader reads one segment's terms and doclists in order, leaf after leaf, through a
// cursor of its own on a read connection: the writer's inserts into the same table would have
// the cursor seek again at each step.
type ftsSegReader struct {
	leaves *sqlitec.Stmt
	seg    ftsSeg
	order  int // the segment's place in rowid order, among those merged
	pgno   int
	page   []byte
	szLeaf int
	terms  []int // the offsets of the terms on the leaf, from its footer
	next   int   // the next of them to read
	off    int

	term   []byte
	first  bool   // the next entry is the first of the term's doclist on this leaf
	rowid  int64  // the rowid of the entry read last
	pl     []byte // its size field and positions: in page, or in buf when they span leaves
	buf    []byte
	atTerm bool // the doclist has ended: the reader is at the next term, or at the end
	eof    bool
}

func (r *ftsSegReader) load(pgno int) error {
	row, err := r.leaves.Step()
	if err != nil {
		return err
	}
	if !row || r.leaves.ColumnInt(0) != ftsDataID(r.seg.id, ftsPage{pgno: pgno}) {
		return fmt.Errorf("full-text merge: segment %d leaf %d is missing", r.seg.id, pgno)
	}
	data := r.leaves.ColumnBlob(r.page[:0], 1)
	if len(data) < 4 {
		return fmt.Errorf("full-text merge: segment %d leaf %d is short", r.seg.id, pgno)
	}
	r.pgno, r.page = pgno, data
	r.szLeaf = int(binary.BigEndian.Uint16(data[2:]))
	if r.szLeaf < 4 || r.szLeaf > len(data) {
		return fmt.Errorf("full-text merge: segment %d leaf %d: bad header", r.seg.id, pgno)
	}
	r.terms, r.next = r.terms[:0], 0
	at := 0
	for p := data[r.szLeaf:]; len(p) > 0; {
		v, n := getVarint(p)
		if n == 0 {
			return fmt.Errorf("full-text merge: segment %d leaf %d: bad footer", r.seg.id, pgno)
		}
		p = p[n:]
		at += int(v)
		if at < 4 || at >= r.szLeaf {
			return fmt.Errorf("full-text merge: segment %d leaf %d: bad footer", r.seg.id, pgno)
		}
		r.terms = append(r.terms, at)
	}
	// The first rowid read on a leaf is whole, not a delta: after a term, or at the leaf's
	// first-rowid offset where a doclist goes on from the leaf before.
	r.off, r.first = 4, true
	return nil
}

// varint reads a varint of the current leaf at off.
func (r *ftsSegReader) varint() (uint64, error) {
	if r.off >= r.szLeaf {
		return 0, fmt.Errorf("full-text merge: segment %d leaf %d: doclist runs past the leaf", r.seg.id, r.pgno)
	}
	v, n := getVarint(r.page[r.off:r.szLeaf])
	if n <= 0 {
		return 0, fmt.Errorf("full-text merge: segment %d leaf %d: bad varint", r.seg.id, r.pgno)
	}
	r.off += n
	return v, nil
}

// nextTerm moves to the next term of the segment; eof is set after the last.
func (r *ftsSegReader) nextTerm() error {
	for r.next >= len(r.terms) {
		if r.pgno >= r.seg.last {
			r.eof = true
			return nil
		}
		if err := r.load(r.pgno + 1); err != nil {
			return err
		}
	}
	r.off = r.terms[r.next]
	prefix := uint64(0)
	if r.next > 0 {
		var err error
		if prefix, err = r.varint(); err != nil {
			return err
		}
	}
	n, err := r.varint()
	if err != nil {
		return err
	}
	if prefix > uint64(len(r.term)) || uint64(r.off)+n > uint64(r.szLeaf) {
		return fmt.Errorf("full-text merge: segment %d leaf %d: bad term", r.seg.id, r.pgno)
	}
	r.term = append(r.term[:prefix], r.page[r.off:r.off+int(n)]...)
	r.off += int(n)
	r.next++
	r.first, r.atTerm = true, false
	return nil
}

// doclistEnd is where the current doclist stops on this leaf: at the next term, or the footer.
func (r *ftsSegReader) doclistEnd() int {
	if r.next < len(r.terms) {
		return r.terms[r.next]
	}
	return r.szLeaf
}

// nextEntry reads the next entry of the current term's doclist into rowid and pl (the size
// field and the positions); false at the doclist's end.
func (r *ftsSegReader) nextEntry() (bool, error) {
	if r.atTerm {
		return false, nil
	}
	for r.off >= r.doclistEnd() {
		if r.next < len(r.terms) || r.pgno >= r.seg.last {
			r.atTerm = true
			return false, nil
		}
		// The doclist goes on at the next leaf's first rowid, if it has one before a term.
		if err := r.load(r.pgno + 1); err != nil {
			return false, err
		}
		first := int(binary.BigEndian.Uint16(r.page))
		if first == 0 {
			if len(r.terms) == 0 {
				return false, fmt.Errorf("full-text merge: segment %d leaf %d holds neither rowid nor term", r.seg.id, r.pgno)
			}
			r.atTerm = true
			return false, nil
		}
		r.off, r.first = first, true
	}
	v, err := r.varint()
	if err != nil {
		return false, err
	}
	if r.first {
		r.rowid = int64(v)
	} else {
		r.rowid += int64(v)
	}
	r.first = false
	start := r.off
	size, err := r.varint()
	if err != nil {
		return false, err
	}
	if size&1 != 0 || size < 2 {
		return false, fmt.Errorf("%w: size %d", errFTSMergeInput, size)
	}
	rest := int(size / 2)
	if r.off+rest <= r.szLeaf {
		// The usual case, all on this leaf: no copy.
		r.pl = r.page[start : r.off+rest]
		r.off += rest
		return true, nil
	}
	r.buf = append(r.buf[:0], r.page[start:r.off]...)
	// The positions go on over the next leaves, from their fifth byte.
	for rest > 0 {
		if r.off >= r.szLeaf {
			if r.pgno >= r.seg.last {
				return false, fmt.Errorf("full-text merge: segment %d: position list runs past its last leaf", r.seg.id)
			}
			if err := r.load(r.pgno + 1); err != nil {
				return false, err
			}
		}
		n := min(rest, r.szLeaf-r.off)
		r.buf = append(r.buf, r.page[r.off:r.off+n]...)
		r.off += n
		rest -= n
	}
	r.pl = r.buf
	return true, nil
}

// ftsReaders orders segment readers by their term, then by their segment's rowids.
type ftsReaders []*ftsSegReader

func (h ftsReaders) Len() int { return len(h) }
func (h ftsReaders) Less(i, j int) bool {
	if c := bytes.Compare(h[i].term, h[j].term); c != 0 {
		return c < 0
	}
	return h[i].order < h[j].order
}
func (h ftsReaders) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *ftsReaders) Push(x any)   { *h = append(*h, x.(*ftsSegReader)) }
func (h *ftsReaders) Pop() any {
	old := *h
	r := old[len(old)-1]
	*h = old[:len(old)-1]
	return r
}

// mergeSegments writes segs, whose doclists must hold disjoint rowids, as one segment with id
// segid, and returns its number of leaves. Its %_idx rows are written; the inputs are left.
// rc reads the inputs: a read connection that sees them committed.
func (w *ftsWriter) mergeSegments(rc *sqlitec.Conn, segs []ftsSeg, segid int) (int, error) {
	readers := make([]*ftsSegReader, 0, len(segs))
	defer func() {
		for _, r := range readers {
			r.leaves.Close()
		}
	}()
	for _, g := range segs {
		if g.first != 1 {
			return 0, errFTSMergeInput // partly merged already
		}
		st, err := rc.Prepare(`SELECT id, block FROM events_fts_data WHERE id >= ? AND id <= ? ORDER BY id`)
		if err != nil {
			return 0, err
		}
		st.Int(1, ftsDataID(g.id, ftsPage{pgno: 1}))
		st.Int(2, ftsDataID(g.id, ftsPage{pgno: g.last}))
		r := &ftsSegReader{leaves: st, seg: g}
		readers = append(readers, r)
		if err := r.load(1); err != nil {
			return 0, err
		}
		if err := r.nextTerm(); err != nil {
			return 0, err
		}
		if !r.eof {
			// The first rowid, to order the segments by; nextEntry reads it again.
			v, n := getVarint(r.page[r.off:r.szLeaf])
			if n <= 0 {
				return 0, fmt.Errorf("full-text merge: segment %d leaf 1: bad varint", g.id)
			}
			r.rowid = int64(v)
		}
	}
	// Segments in the order of their rowids; each term's doclist is checked to rise as it is
	// written, so that a guess wrong here stops the merge instead of corrupting the index.
	slices.SortStableFunc(readers, func(a, b *ftsSegReader) int {
		switch {
		case a.rowid < b.rowid:
			return -1
		case a.rowid > b.rowid:
			return 1
		}
		return 0
	})
	h := make(ftsReaders, 0, len(readers))
	for i, r := range readers {
		r.order = i
		if !r.eof {
			h = append(h, r)
		}
	}
	heap.Init(&h)

	var werr error
	out := &ftsSegWriter{pgsz: w.pgsz, pgno: 1, firstTermInPage: true, btPage: 1, dlidx: make([]ftsDlidx, 1)}
	out.buf = make([]byte, 4, w.pgsz+64)
	out.sink = func(p ftsPage) {
		if werr == nil {
			werr = w.putData(ftsDataID(segid, p), p.data)
		}
	}
	var term []byte
	var same []*ftsSegReader
	for h.Len() > 0 && werr == nil {
		term = append(term[:0], h[0].term...)
		same = same[:0]
		for h.Len() > 0 && bytes.Equal(h[0].term, term) {
			same = append(same, heap.Pop(&h).(*ftsSegReader))
		}
		out.appendTerm(term)
		last := int64(0)
		for _, r := range same {
			for {
				ok, err := r.nextEntry()
				if err != nil {
					return 0, err
				}
				if !ok {
					break
				}
				if r.rowid <= last && last != 0 || r.rowid <= 0 {
					return 0, fmt.Errorf("%w: term %q rowid %d after %d (segment %d)", errFTSMergeInput, term, r.rowid, last, r.seg.id)
				}
				last = r.rowid
				out.appendRowid(r.rowid)
				out.appendPoslist(r.pl)
			}
			if err := r.nextTerm(); err != nil {
				return 0, err
			}
			if !r.eof {
				heap.Push(&h, r)
			}
		}
	}
	if werr != nil {
		return 0, werr
	}
	out.finish()
	if werr != nil {
		return 0, werr
	}
	for _, e := range out.seg.idx {
		w.putIdx.Int(1, int64(segid))
		w.putIdx.Blob(2, e.term)
		w.putIdx.Int(3, e.pgno)
		if err := w.putIdx.Exec(); err != nil {
			return 0, err
		}
	}
	return out.seg.leaves, nil
}

// removeSegment deletes a segment's records (fts5DataRemoveSegment).
func (w *ftsWriter) removeSegment(segid int) error {
	for _, del := range []struct {
		sql  string
		args []int64
	}{
		{`DELETE FROM events_fts_data WHERE id >= ? AND id < ?`, []int64{ftsDataID(segid, ftsPage{}), ftsDataID(segid+1, ftsPage{})}},
		{`DELETE FROM events_fts_idx WHERE segid = ?`, []int64{int64(segid)}},
	} {
		st, err := w.c.Prepare(del.sql)
		if err != nil {
			return err
		}
		for i, a := range del.args {
			st.Int(i+1, a)
		}
		err = st.Exec()
		st.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// mergeLevels is FTS5's 'merge' with no bound on the pages written (fts5IndexMerge): while a
// level holds ftsUsermerge segments or more, the one holding the most (the lowest of equals) is
// merged into one segment at the end of the level above, and segments are promoted as
// fts5StructurePromote does. Each merge is a transaction of its own, so that the read
// connection sees the segment the one before wrote.
func (w *ftsWriter) mergeLevels() error {
	// Under a rollback journal the read connection's lock would keep the writer from spilling
	// its cache (BuildFTS turns the case to WAL first; tests may not).
	if jm, err := w.journalMode(); err != nil {
		return err
	} else if jm != "wal" {
		return errFTSMergeInput
	}
	rc, err := sqlitec.Open(w.path)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := rc.Exec(`PRAGMA query_only = 1; PRAGMA cache_size = -4096`); err != nil {
		return err
	}
	for {
		if err := w.c.Exec("BEGIN IMMEDIATE"); err != nil {
			return err
		}
		merged, err := w.mergeLevel(rc)
		if err == nil {
			err = w.c.Exec("COMMIT")
		}
		if err != nil {
			w.c.Exec("ROLLBACK")
			return err
		}
		if !merged {
			return nil
		}
	}
}

// mergeLevel is one step of mergeLevels, in the current transaction: false when no level holds
// enough segments.
func (w *ftsWriter) mergeLevel(rc *sqlitec.Conn) (bool, error) {
	raw, err := w.read(ftsStructureID)
	if err != nil || raw == nil {
		return false, err
	}
	st, err := parseStructure(raw)
	if err != nil {
		return false, err
	}
	best, n := -1, 0
	for i, l := range st.levels {
		if l.merge != 0 {
			return false, errFTSMergeInput // an incremental merge is under way
		}
		if len(l.segs) > n {
			best, n = i, len(l.segs)
		}
	}
	if n < ftsUsermerge {
		return false, nil
	}
	segid, err := st.newSegid()
	if err != nil {
		return false, err
	}
	in := st.levels[best].segs
	leaves, err := w.mergeSegments(rc, in, segid)
	if err != nil {
		return false, err
	}
	for _, g := range in {
		if err := w.removeSegment(g.id); err != nil {
			return false, err
		}
	}
	if best == len(st.levels)-1 {
		st.levels = append(st.levels, ftsLevel{})
	}
	st.levels[best].segs = nil
	st.nSegment -= len(in)
	if leaves > 0 {
		st.levels[best+1].segs = append(st.levels[best+1].segs, ftsSeg{id: segid, first: 1, last: leaves})
		st.nSegment++
	}
	st.promote(best + 1)
	return true, w.putData(ftsStructureID, st.encode())
}

// promote is fts5StructurePromote after a segment was written at the end of level lvl: it goes
// down to the nearest lower level holding a segment at least as large, and segments of the
// levels above no larger than what that level takes come down to it.
func (s *ftsStructure) promote(lvl int) {
	if len(s.levels[lvl].segs) == 0 {
		return
	}
	g := s.levels[lvl].segs[len(s.levels[lvl].segs)-1]
	size := g.last - g.first + 1
	to, limit := lvl, size
	tst := lvl - 1
	for tst >= 0 && len(s.levels[tst].segs) == 0 {
		tst--
	}
	if tst >= 0 {
		largest := 0
		for _, t := range s.levels[tst].segs {
			largest = max(largest, t.last-t.first+1)
		}
		if largest >= size {
			to, limit = tst, largest
		}
	}
	s.promoteTo(to, limit)
}

// promoteTo is fts5StructurePromoteTo: segments of the levels above to, from the newest, come
// down to it while they are no larger than limit.
func (s *ftsStructure) promoteTo(to, limit int) {
	out := &s.levels[to]
	if out.merge != 0 {
		return
	}
	for il := to + 1; il < len(s.levels); il++ {
		l := &s.levels[il]
		if l.merge != 0 {
			return
		}
		for is := len(l.segs) - 1; is >= 0; is-- {
			if l.segs[is].last-l.segs[is].first+1 > limit {
				return
			}
			out.segs = slices.Insert(out.segs, 0, l.segs[is])
			l.segs = l.segs[:is]
		}
	}
}

// journalMode is the case's journal mode, as SQLite names it.
func (w *ftsWriter) journalMode() (string, error) {
	st, err := w.c.Prepare(`PRAGMA journal_mode`)
	if err != nil {
		return "", err
	}
	defer st.Close()
	return st.String()
}
