package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/trailscope/trailscope/data/cloudtrail"
	"github.com/trailscope/trailscope/data/internal/sqlitec"
)

// The full-text index (events_fts, migration 0002) is an FTS5 table, but BuildFTS does not insert
// rows into it: FTS5's own writer spends about 35 µs of CPU per event here (its hash table of
// pending terms, sorting them, and merging the segments it flushed), most of it in transpiled C.
// BuildFTS tokenizes and accumulates the terms in Go and writes each batch as one finished
// segment, in FTS5's file format, straight into the table's shadow tables: the same bytes that
// FTS5 writes when it flushes the same rows as one segment (TestFTSSegmentsMatchFTS5 compares
// them), for under a third of the CPU. Searches go through FTS5 as before.
//
// The writer assumes the table as migration 0002 declares it: one column, detail=full, no prefix
// indexes, contentless, and tokenizer unicode61 with remove_diacritics 0.

// ftsMark is the settings key holding the highest events.id already in the full-text index.
const ftsMark = "fts_done"

// ftsBatch is how many events one full-text transaction indexes; each becomes one segment.
// Searches visit every segment, so fewer and larger ones are quicker to search; a batch holds
// its terms in memory until it is written. Measured on 1M events, for the whole build: peak
// resident memory 215 MB at 25,000 (40 segments; common-word search 44 ms), 290 MB at 50,000,
// 432 MB at 100,000. 20,000 keeps `trailscope ingest` of 1M events at 271 MB (294 MB at
// 25,000, with the column indexes sorting beside it) for a common-word search of 80 ms.
var ftsBatch = 20000

// ftsMaxSegments is how many segments the index may hold before BuildFTS has FTS5 merge them:
// nothing else merges them, and every search visits each one (a first page of a common word
// probes each event's id in every segment: 45 s over 250 segments of 5M events, 0.24 s over one,
// measured before a page's probing was bounded).
var ftsMaxSegments = 64

// FTSPending is the number of events not yet in the full-text index: the highest id less the
// mark, a lookup at the end of the table, since event ids are dense (a rolled-back insert gives
// its id back). The only events ever deleted are those a first load of millions finds it stored
// twice, when it closes; those stored before its last new event leave gaps, and the count is
// that much high. Counting the rows past the mark read them all: 1.6 s on the 1M-event
// benchmark case, at every opening of a case.
func (s *Store) FTSPending(ctx context.Context) (int64, error) {
	mark, err := s.ftsMark(ctx)
	if err != nil {
		return 0, err
	}
	top, err := s.EventsMark(ctx)
	if err != nil {
		return 0, err
	}
	return max(top-mark, 0), nil
}

func (s *Store) ftsMark(ctx context.Context) (int64, error) {
	v, err := s.Setting(ctx, ftsMark, "0")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(v, 10, 64)
}

// ftsDocs are consecutive records' tokens: record i has ids[i] and the tokens ends[docs[i-1]:docs[i]]
// (docs[-1] being 0), token j being text[ends[j-1]:ends[j]].
type ftsDocs struct {
	ids  []int64
	docs []int32
	ends []int32
	text []byte
}

func (d *ftsDocs) reset() {
	d.ids, d.docs, d.ends, d.text = d.ids[:0], d.docs[:0], d.ends[:0], d.text[:0]
}

// BuildFTS adds every event not yet indexed to the full-text index, in batches, reporting the
// number indexed so far. It is built after a load because indexing inline slows the load; the
// mark moves in the same transaction as the batch's segment, so an interrupted build resumes.
// Four stages overlap: one goroutine reads, flattens and tokenizes the records, a second gathers
// their terms, a third lays out each batch as a segment, and this one writes the segments.
func (s *Store) BuildFTS(ctx context.Context, progress func(done int64)) error {
	// One build at a time (an import and the completion of an interrupted build may overlap):
	// the second then starts from where the first left the mark.
	s.ftsMu.Lock()
	defer s.ftsMu.Unlock()
	mark, err := s.ftsMark(ctx)
	if err != nil {
		return err
	}
	// Nothing to index, nothing to change. Above all not the journal mode: an empty case opened
	// in the app asks for its index while its first load may hold the rollback journal, and the
	// switch to WAL would wait for that load and fail.
	top, err := s.EventsMark(ctx)
	if err != nil {
		return fmt.Errorf("full-text index: %w", err)
	}
	if top <= mark {
		return nil
	}
	// Its reader gathers while its writer commits segments: that takes WAL, once any first load
	// running in this process has finished (and turned the case to WAL itself).
	s.firstLoad.Lock()
	err = s.ensureWAL(ctx)
	s.firstLoad.Unlock()
	if err != nil {
		return fmt.Errorf("full-text index: %w", err)
	}
	w, err := s.openFTSWriter()
	if err != nil {
		return fmt.Errorf("full-text index: %w", err)
	}
	defer w.close()
	w.after = mark

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// work runs one stage's step unless the build was stopped.
	work := func(f func()) bool {
		if ctx.Err() != nil {
			return false
		}
		f()
		return true
	}
	chunks := make(chan *ftsDocs, 2)
	free := make(chan *ftsDocs, 3) // chunks back to the reader, to reuse their memory
	segs := make(chan *ftsSegment, 1)
	readErr := make(chan error, 1)
	go func() {
		defer close(chunks)
		readErr <- s.readFTSDocs(ctx, mark, work, chunks, free)
	}()
	// Two builders take turns: one gathers a batch while the other's is laid out as a segment
	// (19% off the build's time on 1M events, for about 50 MB more at its peak).
	full := make(chan *ftsBuilder)     // batches gathered, to lay out
	spare := make(chan *ftsBuilder, 1) // a builder laid out and reset, for the next batch
	spare <- newFTSBuilder()
	go func() {
		defer close(segs)
		for b := range full {
			var seg *ftsSegment
			if !work(func() { seg = b.segment(w.pgsz) }) {
				return
			}
			select {
			case segs <- seg:
			case <-ctx.Done():
				return
			}
			b.reset()
			// The gatherer may have stopped without taking the last spare: then this one would
			// wait forever, and the writer with it for segs to close (seen under -race).
			select {
			case spare <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		defer close(full)
		b := newFTSBuilder()
		// send hands the batch over and takes the spare builder, unless the build stops first.
		send := func() bool {
			select {
			case full <- b:
			case <-ctx.Done():
				return false
			}
			select {
			case b = <-spare:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for d := range chunks {
			if !work(func() { b.add(d) }) {
				return
			}
			select {
			case free <- d:
			default:
			}
			if b.rows >= ftsBatch && !send() {
				return
			}
		}
		if b.rows > 0 {
			send()
		}
	}()
	var done int64
	for seg := range segs {
		if err := ctx.Err(); err == nil {
			err = w.write(seg)
		}
		if err != nil {
			cancel()
			for range segs {
			}
			<-readErr
			return err
		}
		done += int64(seg.rows)
		progress(done)
	}
	// The builder stops early only when ctx is done; the reader then reports it.
	if err := <-readErr; err != nil {
		return err
	}
	return w.limitSegments()
}

// ftsChunk is how many records the reader hands over at once. (A variable for tests.)
var ftsChunk = 1000

// readFTSDocs reads the records after mark and hands over their tokens in chunks, reusing the
// chunks that come back on free. Each chunk is read and tokenized inside work. It reads on a
// connection of its own with a small page cache: the records are read once, in order, and the
// read pool's large cache would only fill with them.
func (s *Store) readFTSDocs(ctx context.Context, mark int64, work func(func()) bool, out chan<- *ftsDocs, free <-chan *ftsDocs) error {
	c, err := sqlitec.Open(s.path)
	if err != nil {
		return fmt.Errorf("full-text index: %w", err)
	}
	defer c.Close()
	if err := c.Exec(`PRAGMA query_only = 1; PRAGMA cache_size = -4096`); err != nil {
		return fmt.Errorf("full-text index: %w", err)
	}
	q, err := c.Prepare(`SELECT id, json FROM event_json WHERE id > ? ORDER BY id LIMIT ?`)
	if err != nil {
		return fmt.Errorf("full-text index: %w", err)
	}
	defer q.Close()
	var stored, raw, vals []byte
	for {
		var d *ftsDocs
		select {
		case d = <-free:
			d.reset()
		default:
			d = new(ftsDocs)
		}
		var err error
		ok := work(func() {
			q.Int(1, mark)
			q.Int(2, int64(ftsChunk))
			defer q.Reset()
			for {
				var row bool
				if row, err = q.Step(); err != nil || !row {
					return
				}
				id := q.ColumnInt(0)
				stored = q.ColumnBlob(stored[:0], 1)
				var perr error
				if raw, perr = UnpackJSON(raw[:0], stored); perr != nil {
					raw = raw[:0] // damaged: no text, as for a value that is not JSON
				}
				if vals, perr = cloudtrail.AppendValues(vals[:0], raw); perr != nil {
					vals = vals[:0] // not JSON: no text (the decoder let none in)
				}
				if err = d.add(id, vals); err != nil {
					err = fmt.Errorf("event %d: %w", id, err)
					return
				}
			}
		})
		if !ok {
			return ctx.Err()
		}
		if err != nil {
			return fmt.Errorf("full-text index: %w", err)
		}
		if len(d.ids) == 0 {
			return nil
		}
		mark = d.ids[len(d.ids)-1]
		select {
		case out <- d:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ---- Tokenizing ----

// ftsMaxToken is FTS5_MAX_TOKEN_SIZE: FTS5 indexes only this many leading bytes of a token.
const ftsMaxToken = 32768

// asciiToken maps an ASCII byte to itself folded to lower case when unicode61 counts it as part
// of a token (letters and digits), to 0 when it separates tokens.
var asciiToken = func() (t [128]byte) {
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c)
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = byte(c), byte(c)
	}
	return t
}()

// add appends record id's tokens, as unicode61 (remove_diacritics 0) makes them from text. ASCII
// is split and folded here; each other character is classed once by SQLite's own tokenizer
// (runeClass), and text that is not valid UTF-8, which SQLite decodes its own way, is tokenized
// by SQLite whole.
func (d *ftsDocs) add(id int64, text []byte) error {
	base, baseEnds := len(d.text), len(d.ends)
	start := -1 // offset in d.text of the current token, or -1 between tokens
	end := func() {
		if len(d.text)-start > ftsMaxToken {
			d.text = d.text[:start+ftsMaxToken]
		}
		d.ends = append(d.ends, int32(len(d.text)))
		start = -1
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			if f := asciiToken[c]; f != 0 {
				if start < 0 {
					start = len(d.text)
				}
				d.text = append(d.text, f)
			} else if start >= 0 {
				end()
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(text[i:])
		if r == utf8.RuneError && n == 1 {
			d.text, d.ends = d.text[:base], d.ends[:baseEnds]
			return d.addWhole(id, text)
		}
		cl, err := runeClass(r)
		if err != nil {
			return err
		}
		switch {
		case start < 0 && cl.starts || start >= 0 && cl.continues:
			if start < 0 {
				start = len(d.text)
			}
			d.text = append(d.text, cl.folded...)
		case start >= 0:
			end()
		}
		i += n
	}
	if start >= 0 {
		end()
	}
	d.ids = append(d.ids, id)
	d.docs = append(d.docs, int32(len(d.ends)))
	return nil
}

// addWhole appends record id's tokens as SQLite's tokenizer makes them from text.
func (d *ftsDocs) addWhole(id int64, text []byte) error {
	toks, err := unicode61.tokenize(text)
	if err != nil {
		return err
	}
	for _, t := range toks {
		d.text = append(d.text, t...)
		d.ends = append(d.ends, int32(len(d.text)))
	}
	d.ids = append(d.ids, id)
	d.docs = append(d.docs, int32(len(d.ends)))
	return nil
}

// ftsRune is how unicode61 treats a character outside ASCII: whether it starts a token, whether
// it continues one (combining marks only continue), and what it is folded to in the token.
type ftsRune struct {
	starts, continues bool
	folded            string
}

// unicode61 asks SQLite's unicode61 tokenizer, in a private in-memory database, how it tokenizes:
// its character classes come from Unicode tables of its own, which are not Go's.
var unicode61 sqliteTokenizer

type sqliteTokenizer struct {
	sync.Mutex
	db    *sql.DB
	runes map[rune]ftsRune
}

func runeClass(r rune) (ftsRune, error) {
	u := &unicode61
	u.Lock()
	defer u.Unlock()
	if cl, ok := u.runes[r]; ok {
		return cl, nil
	}
	// Probe "Rx xRx": the first token starts with R's folding if R starts a token (else it is
	// just "x"), and the last is "x", R folded, "x" if R continues a token (else "x" and "x").
	toks, err := u.tokenizeLocked([]byte(string(r) + "x x" + string(r) + "x"))
	if err != nil {
		return ftsRune{}, err
	}
	var cl ftsRune
	if len(toks) == 2 {
		last := toks[1]
		cl.continues = true
		cl.folded = string(last[1 : len(last)-1])
		cl.starts = string(toks[0]) != "x"
	} else if len(toks) != 3 {
		return ftsRune{}, fmt.Errorf("full-text index: unicode61 made %q of U+%04X", toks, r)
	}
	if u.runes == nil {
		u.runes = make(map[rune]ftsRune)
	}
	u.runes[r] = cl
	return cl, nil
}

func (u *sqliteTokenizer) tokenize(text []byte) ([][]byte, error) {
	u.Lock()
	defer u.Unlock()
	return u.tokenizeLocked(text)
}

// tokenizeLocked indexes text alone in a table with the events_fts tokenizer and reads its tokens
// back in order from the index (fts5vocab).
func (u *sqliteTokenizer) tokenizeLocked(text []byte) ([][]byte, error) {
	if u.db == nil {
		db, err := sql.Open("sqlite", "file::memory:")
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(1) // each connection would have a database of its own
		db.SetConnMaxIdleTime(0)
		if _, err := db.Exec(`CREATE VIRTUAL TABLE probe USING fts5 (x, tokenize = "unicode61 remove_diacritics 0");
			CREATE VIRTUAL TABLE probe_v USING fts5vocab (probe, instance)`); err != nil {
			db.Close()
			return nil, fmt.Errorf("full-text index: tokenizer: %w", err)
		}
		u.db = db
	}
	if _, err := u.db.Exec(`INSERT INTO probe (rowid, x) VALUES (1, ?)`, string(text)); err != nil {
		return nil, fmt.Errorf("full-text index: tokenizer: %w", err)
	}
	defer u.db.Exec(`DELETE FROM probe`)
	rows, err := u.db.Query(`SELECT term, "offset" FROM probe_v ORDER BY "offset"`)
	if err != nil {
		return nil, fmt.Errorf("full-text index: tokenizer: %w", err)
	}
	defer rows.Close()
	var toks [][]byte
	for rows.Next() {
		var term []byte
		var off int
		if err := rows.Scan(&term, &off); err != nil {
			return nil, err
		}
		if off != len(toks) {
			return nil, fmt.Errorf("full-text index: tokenizer: token %d at offset %d", len(toks), off)
		}
		toks = append(toks, term)
	}
	return toks, rows.Err()
}

// ---- Gathering a batch's terms ----

// ftsTerm is one term's doclist as FTS5's hash table of pending terms builds it: for each record,
// the rowid (the first in full, then the difference from the previous one), the size of its
// position list times 2, and the positions (each as the difference from the previous one plus 2).
type ftsTerm struct {
	doclist []byte
	rowid   int64 // the last record in doclist
	// While a record is added: the record, and its first and last positions of the term.
	doc         int64
	first, last int32
}

// ftsBuilder gathers the terms of a batch of records.
type ftsBuilder struct {
	ids    map[string]int32 // term → index in terms
	recent *ftsRecent       // in front of ids
	terms  []ftsTerm
	keys   []string
	rows   int
	tokens int64
	last   int64 // the last record's rowid

	// For the record being added: its distinct terms, and for each position the next position
	// of the same term (-1 after the last).
	distinct []int32
	next     []int32
	pos      []byte

	// slab is where new doclists start, ftsSlabCap bytes each: most terms are in one record
	// only, and one allocation for many of them is cheaper. A doclist that outgrows its place
	// moves to memory of its own (append).
	slab []byte
}

const ftsSlabCap = 16

// ftsRecent remembers the term last met in each of its slots, by a hash of the term: most
// tokens of a batch are the same few thousand words, and a slot answers them from memory the
// processor keeps close, where the map of every term in the batch (event IDs, request IDs,
// times: millions) is mostly far.
type ftsRecent struct {
	seed maphash.Seed
	keys [ftsRecentSlots]string
	ids  [ftsRecentSlots]int32 // index in terms + 1; 0 for an empty slot
}

const ftsRecentSlots = 1 << 16

func newFTSBuilder() *ftsBuilder {
	return &ftsBuilder{ids: make(map[string]int32), recent: &ftsRecent{seed: maphash.MakeSeed()}}
}

func (b *ftsBuilder) reset() {
	b.recent.ids = [ftsRecentSlots]int32{}
	clear(b.ids)
	clear(b.terms) // drop the doclists
	b.terms, b.keys, b.slab = b.terms[:0], b.keys[:0], nil
	b.rows, b.tokens = 0, 0
}

// add gathers the records of d, which follow those already added in rowid order.
func (b *ftsBuilder) add(d *ftsDocs) {
	from := 0
	for i, id := range d.ids {
		to := int(d.docs[i])
		b.addDoc(id, d, from, to)
		b.tokens += int64(to - from)
		b.rows++
		b.last = id
		from = to
	}
}

// term returns the index of term in terms, adding it when the batch has not met it.
func (b *ftsBuilder) term(term []byte) int32 {
	if k, ok := b.ids[string(term)]; ok {
		return k
	}
	k := int32(len(b.terms))
	key := string(term)
	b.ids[key] = k
	b.keys = append(b.keys, key)
	if len(b.slab)+ftsSlabCap > cap(b.slab) {
		b.slab = make([]byte, 0, 1<<20)
	}
	n := len(b.slab)
	b.slab = b.slab[:n+ftsSlabCap]
	b.terms = append(b.terms, ftsTerm{doclist: b.slab[n : n : n+ftsSlabCap], doc: math.MinInt64}) // no record yet
	return k
}

// addDoc adds the record id made of tokens from to to of d. Each term's positions are linked
// first, so that its doclist is appended to once per record.
func (b *ftsBuilder) addDoc(id int64, d *ftsDocs, from, to int) {
	b.distinct = b.distinct[:0]
	b.next = slices.Grow(b.next[:0], to-from)[:to-from]
	start := int32(0)
	if from > 0 {
		start = d.ends[from-1]
	}
	for tok := from; tok < to; tok++ {
		end := d.ends[tok]
		pos := int32(tok - from)
		term := d.text[start:end]
		r := b.recent
		slot := maphash.Bytes(r.seed, term) & (ftsRecentSlots - 1)
		k, ok := r.ids[slot]-1, r.ids[slot] != 0 && r.keys[slot] == string(term)
		if !ok {
			k = b.term(term)
			r.keys[slot], r.ids[slot] = b.keys[k], k+1
		}
		start = end
		b.next[pos] = -1
		if t := &b.terms[k]; t.doc != id {
			t.doc, t.first, t.last = id, pos, pos
			b.distinct = append(b.distinct, k)
		} else {
			b.next[t.last] = pos
			t.last = pos
		}
	}
	for _, k := range b.distinct {
		t := &b.terms[k]
		b.pos = b.pos[:0]
		prev := int32(0)
		for p := t.first; p >= 0; p = b.next[p] {
			b.pos = appendVarint(b.pos, uint64(p-prev+2))
			prev = p
		}
		t.doclist = appendVarint(t.doclist, uint64(id-t.rowid))
		t.doclist = appendVarint(t.doclist, uint64(len(b.pos)*2))
		t.doclist = append(t.doclist, b.pos...)
		t.rowid = id
	}
}

// ---- Writing a segment ----

// ftsPage is a record of the %_data table: a leaf of the segment (dlidx false) or a page of a
// doclist index, with its place; its rowid depends on the segment id, chosen when it is written.
type ftsPage struct {
	dlidx  bool
	height int
	pgno   int
	data   []byte
}

// ftsIdxEntry is a row of the %_idx table: the first leaf holding terms from term on, times 2,
// plus 1 when the term before has a doclist index.
type ftsIdxEntry struct {
	term []byte
	pgno int64
}

// ftsSegment is a segment ready to be written.
type ftsSegment struct {
	pages  []ftsPage
	idx    []ftsIdxEntry
	leaves int
	// The batch's records: how many, their tokens, and the last one's rowid.
	rows   int
	tokens int64
	last   int64
}

// ftsDlidx is a level of the doclist index being written (Fts5DlidxWriter).
type ftsDlidx struct {
	pgno      int
	buf       []byte
	prevValid bool
	prev      int64
}

// ftsSegWriter lays out one segment as fts5FlushOneHash and the fts5Write* functions of
// fts5_index.c do, with the same page breaks, so that the bytes are FTS5's own.
type ftsSegWriter struct {
	pgsz int
	seg  ftsSegment

	pgno      int    // the leaf being filled
	buf       []byte // its bytes, from the 4-byte header
	pgidx     []byte // its footer: the offsets of its terms
	prevPgidx int
	term      []byte // the last term written

	firstTermInPage, firstRowidInPage, firstRowidInDoclist bool

	btterm []byte // the separator key of leaf btPage, for %_idx
	btPage int
	nEmpty int // leaves in a row without a term
	dlidx  []ftsDlidx

	// sink, when set, takes each page as it is finished instead of seg.pages keeping it: a
	// merge writes segments larger than memory should hold.
	sink      func(ftsPage)
	prevRowid int64 // the rowid appendRowid wrote last
}

// page hands a finished page to the sink, or keeps it with the segment.
func (w *ftsSegWriter) page(p ftsPage) {
	if w.sink != nil {
		w.sink(p)
		return
	}
	w.seg.pages = append(w.seg.pages, p)
}

// segment lays out the batch's terms as one segment with leaves of about pgsz bytes.
func (b *ftsBuilder) segment(pgsz int) *ftsSegment {
	// Go compares strings as memcmp then length, like FTS5's sort of its hash table. The first
	// 8 bytes, big-endian, decide most comparisons without reading the keys.
	type sortKey struct {
		head uint64
		key  string
		i    int32
	}
	order := make([]sortKey, len(b.terms))
	for i, k := range b.keys {
		var h [8]byte
		copy(h[:], k)
		order[i] = sortKey{binary.BigEndian.Uint64(h[:]), k, int32(i)}
	}
	slices.SortFunc(order, func(x, y sortKey) int {
		if x.head != y.head {
			if x.head < y.head {
				return -1
			}
			return 1
		}
		return strings.Compare(x.key, y.key)
	})
	w := &ftsSegWriter{pgsz: pgsz, pgno: 1, firstTermInPage: true, btPage: 1, dlidx: make([]ftsDlidx, 1)}
	w.buf = make([]byte, 4, pgsz+64)
	key := make([]byte, 0, 64)
	for _, o := range order {
		t := &b.terms[o.i]
		// The index holds each term after a byte naming the index: '0' for the main one.
		key = append(append(key[:0], '0'), o.key...)
		w.appendDoclist(key, t.doclist)
	}
	w.finish()
	w.seg.rows, w.seg.tokens, w.seg.last = b.rows, b.tokens, b.last
	return &w.seg
}

// appendDoclist is one step of fts5FlushOneHash (neither secure-delete nor detail=none).
func (w *ftsSegWriter) appendDoclist(term, doclist []byte) {
	w.appendTerm(term)
	if w.pgsz >= len(w.buf)+len(w.pgidx)+len(doclist)+1 {
		w.buf = append(w.buf, doclist...)
		return
	}
	var rowid, prev int64
	for off := 0; off < len(doclist); {
		delta, n := getVarint(doclist[off:])
		off += n
		rowid += int64(delta)
		if w.firstRowidInPage {
			binary.BigEndian.PutUint16(w.buf[0:], uint16(len(w.buf)))
			w.buf = appendVarint(w.buf, uint64(rowid))
			w.firstRowidInPage = false
			w.dlidxAppend(rowid)
		} else {
			w.buf = appendVarint(w.buf, uint64(rowid-prev))
		}
		prev = rowid
		sz, n := getVarint(doclist[off:])
		nCopy := n + int(sz/2)
		pl := doclist[off : off+nCopy]
		off += nCopy
		if len(w.buf)+len(w.pgidx)+nCopy <= w.pgsz {
			w.buf = append(w.buf, pl...)
			continue
		}
		// The position list is split between leaves, each varint whole on one of them.
		for i := 0; ; {
			space := w.pgsz - len(w.buf) - len(w.pgidx)
			n := nCopy - i
			if n > space {
				n = poslistPrefix(pl[i:], space)
			}
			w.buf = append(w.buf, pl[i:i+n]...)
			i += n
			if len(w.buf)+len(w.pgidx) >= w.pgsz {
				w.flushLeaf()
			}
			if i >= nCopy {
				break
			}
		}
	}
}

// appendRowid is fts5WriteAppendRowid, the merge's way of starting a doclist entry.
func (w *ftsSegWriter) appendRowid(rowid int64) {
	if len(w.buf)+len(w.pgidx) >= w.pgsz {
		w.flushLeaf()
	}
	if w.firstRowidInPage {
		binary.BigEndian.PutUint16(w.buf[0:], uint16(len(w.buf)))
		w.dlidxAppend(rowid)
	}
	if w.firstRowidInDoclist || w.firstRowidInPage {
		w.buf = appendVarint(w.buf, uint64(rowid))
	} else {
		w.buf = appendVarint(w.buf, uint64(rowid-w.prevRowid))
	}
	w.prevRowid = rowid
	w.firstRowidInDoclist, w.firstRowidInPage = false, false
}

// appendPoslist appends an entry's position list after its rowid as the merge does: the size
// field, then the positions by fts5WriteAppendPoslistData, which breaks leaves after the first
// whole varint that reaches the page size. pl is the size field and the positions.
func (w *ftsSegWriter) appendPoslist(pl []byte) {
	_, n := getVarint(pl)
	w.buf = append(w.buf, pl[:n]...)
	a := pl[n:]
	for len(w.buf)+len(w.pgidx)+len(a) >= w.pgsz {
		req := w.pgsz - len(w.buf) - len(w.pgidx)
		k := 0
		for k < req {
			_, m := getVarint(a[k:])
			k += m
		}
		w.buf = append(w.buf, a[:k]...)
		a = a[k:]
		w.flushLeaf()
	}
	w.buf = append(w.buf, a...)
}

// poslistPrefix is the size of the longest run of whole varints at the start of a that fits in
// max bytes, but at least one varint (fts5PoslistPrefix).
func poslistPrefix(a []byte, max int) int {
	_, n := getVarint(a)
	if n < max {
		for {
			_, i := getVarint(a[n:])
			if n+i > max {
				break
			}
			n += i
		}
	}
	return n
}

// appendTerm is fts5WriteAppendTerm.
func (w *ftsSegWriter) appendTerm(term []byte) {
	if len(w.buf)+len(w.pgidx)+len(term)+2 >= w.pgsz && len(w.buf) > 4 {
		w.flushLeaf()
	}
	w.pgidx = appendVarint(w.pgidx, uint64(len(w.buf)-w.prevPgidx))
	w.prevPgidx = len(w.buf)
	prefix := 0
	if w.firstTermInPage {
		if w.pgno != 1 {
			// The separator key in %_idx: the shortest prefix of term greater than the
			// last term of the leaves before.
			n := len(term)
			if len(w.term) > 0 {
				n = 1 + commonPrefix(w.term, term)
			}
			w.flushBtree()
			w.btterm = append(w.btterm[:0], term[:n]...)
			w.btPage = w.pgno
		}
	} else {
		prefix = commonPrefix(w.term, term)
		w.buf = appendVarint(w.buf, uint64(prefix))
	}
	w.buf = appendVarint(w.buf, uint64(len(term)-prefix))
	w.buf = append(w.buf, term[prefix:]...)
	w.term = append(w.term[:0], term...)
	w.firstTermInPage, w.firstRowidInPage, w.firstRowidInDoclist = false, false, true
	w.dlidx[0].pgno = w.pgno
}

func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// flushLeaf is fts5WriteFlushLeaf.
func (w *ftsSegWriter) flushLeaf() {
	binary.BigEndian.PutUint16(w.buf[2:], uint16(len(w.buf)))
	if w.firstTermInPage {
		// A leaf with no term: the doclist index notes a leaf without a rowid as 0.
		if w.firstRowidInPage && len(w.dlidx[0].buf) > 0 {
			w.dlidx[0].buf = appendVarint(w.dlidx[0].buf, 0)
		}
		w.nEmpty++
	} else {
		w.buf = append(w.buf, w.pgidx...)
	}
	w.page(ftsPage{pgno: w.pgno, data: w.buf})
	w.buf = make([]byte, 4, w.pgsz+64)
	w.pgidx = w.pgidx[:0]
	w.prevPgidx = 0
	w.pgno++
	w.firstTermInPage, w.firstRowidInPage = true, true
}

// flushBtree is fts5WriteFlushBtree: the %_idx entry of leaf btPage, and the doclist index of
// the term that ends there when it spans enough leaves (fts5WriteFlushDlidx).
func (w *ftsSegWriter) flushBtree() {
	if w.btPage == 0 {
		return
	}
	flag := int64(0)
	if len(w.dlidx[0].buf) > 0 && w.nEmpty >= 4 { // FTS5_MIN_DLIDX_SIZE
		flag = 1
	}
	for i := range w.dlidx {
		d := &w.dlidx[i]
		if len(d.buf) == 0 {
			break
		}
		if flag == 1 {
			w.page(ftsPage{dlidx: true, height: i, pgno: d.pgno, data: d.buf})
			d.buf = nil
		} else {
			d.buf = d.buf[:0]
		}
		d.prevValid = false
	}
	w.nEmpty = 0
	w.seg.idx = append(w.seg.idx, ftsIdxEntry{term: bytes.Clone(w.btterm), pgno: flag + int64(w.btPage)<<1})
	w.btPage = 0
}

// dlidxAppend is fts5WriteDlidxAppend: rowid is the first on the current leaf.
func (w *ftsSegWriter) dlidxAppend(rowid int64) {
	done := false
	for i := 0; !done; i++ {
		d := &w.dlidx[i]
		if len(d.buf) >= w.pgsz {
			// This page of the doclist index is full: write it, and start the level above
			// when this was the root.
			d.buf[0] = 0x01
			w.page(ftsPage{dlidx: true, height: i, pgno: d.pgno, data: d.buf})
			if len(w.dlidx) < i+2 {
				w.dlidx = append(w.dlidx, ftsDlidx{})
			}
			d = &w.dlidx[i]
			if up := &w.dlidx[i+1]; len(up.buf) == 0 {
				_, n := getVarint(d.buf[1:])
				first, _ := getVarint(d.buf[1+n:])
				up.pgno = d.pgno
				up.buf = appendVarint(appendVarint(appendVarint(up.buf, 0), uint64(d.pgno)), first)
				up.prevValid = true
				up.prev = int64(first)
			}
			d.buf = nil
			d.prevValid = false
			d.pgno++
		} else {
			done = true
		}
		var v uint64
		if d.prevValid {
			v = uint64(rowid - d.prev)
		} else {
			pgno := w.pgno
			if i > 0 {
				pgno = w.dlidx[i-1].pgno
			}
			flag := uint64(1)
			if done {
				flag = 0
			}
			d.buf = appendVarint(appendVarint(d.buf, flag), uint64(pgno))
			v = uint64(rowid)
		}
		d.buf = appendVarint(d.buf, v)
		d.prevValid = true
		d.prev = rowid
	}
}

// finish is fts5WriteFinish.
func (w *ftsSegWriter) finish() {
	if len(w.buf) > 4 {
		w.flushLeaf()
	}
	w.seg.leaves = w.pgno - 1
	if w.pgno > 1 {
		w.flushBtree()
	}
}

// appendVarint appends v in SQLite's varint format (sqlite3PutVarint): big-endian groups of 7
// bits, the high bit set on all bytes but the last; a 9th byte holds 8 bits.
func appendVarint(dst []byte, v uint64) []byte {
	if v <= 0x7f {
		return append(dst, byte(v))
	}
	if v <= 0x3fff {
		return append(dst, byte(v>>7)|0x80, byte(v&0x7f))
	}
	if v&(uint64(0xff000000)<<32) != 0 {
		var b [9]byte
		b[8] = byte(v)
		v >>= 8
		for i := 7; i >= 0; i-- {
			b[i] = byte(v&0x7f) | 0x80
			v >>= 7
		}
		return append(dst, b[:]...)
	}
	var b [9]byte
	n := 0
	for {
		b[n] = byte(v&0x7f) | 0x80
		n++
		v >>= 7
		if v == 0 {
			break
		}
	}
	b[0] &= 0x7f
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, b[i])
	}
	return dst
}

// getVarint reads a varint in SQLite's format and its length; 0, 0 at the end of p.
func getVarint(p []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(p); i++ {
		if i == 8 {
			return v<<8 | uint64(p[8]), 9
		}
		v = v<<7 | uint64(p[i]&0x7f)
		if p[i] < 0x80 {
			return v, i + 1
		}
	}
	return 0, 0
}

// ---- The structure record ----

// ftsStructure is FTS5's structure record (%_data rowid 10): the segments of the index by level,
// oldest first, in the legacy format (not the one of contentless_delete tables).
type ftsStructure struct {
	cookie   [4]byte // the configuration cookie, kept as it is
	writes   uint64  // FTS5's write counter, kept as it is
	levels   []ftsLevel
	nSegment int
}

type ftsLevel struct {
	merge int // segments of this level in an incremental merge
	segs  []ftsSeg
}

type ftsSeg struct{ id, first, last int }

var errStructure = errors.New("full-text index: unexpected structure record")

func parseStructure(p []byte) (*ftsStructure, error) {
	if len(p) < 4 {
		return nil, errStructure
	}
	if len(p) >= 8 && bytes.Equal(p[4:8], []byte{0xff, 0, 0, 1}) {
		return nil, errors.New("full-text index: contentless_delete structure not supported")
	}
	s := &ftsStructure{}
	copy(s.cookie[:], p)
	p = p[4:]
	ok := true
	next := func() uint64 {
		v, n := getVarint(p)
		ok = ok && n > 0
		p = p[n:]
		return v
	}
	nLevel, nSegment := next(), next()
	s.writes = next()
	if !ok || nLevel > 64 || nSegment > 2000 { // FTS5_MAX_LEVEL, FTS5_MAX_SEGMENT
		return nil, errStructure
	}
	for range nLevel {
		l := ftsLevel{merge: int(next())}
		nSeg := next()
		if !ok || nSeg > nSegment {
			return nil, errStructure
		}
		for range nSeg {
			l.segs = append(l.segs, ftsSeg{id: int(next()), first: int(next()), last: int(next())})
		}
		s.levels = append(s.levels, l)
		s.nSegment += int(nSeg)
	}
	if !ok || s.nSegment != int(nSegment) {
		return nil, errStructure
	}
	return s, nil
}

func (s *ftsStructure) encode() []byte {
	b := append([]byte(nil), s.cookie[:]...)
	b = appendVarint(b, uint64(len(s.levels)))
	b = appendVarint(b, uint64(s.nSegment))
	b = appendVarint(b, s.writes)
	for _, l := range s.levels {
		b = appendVarint(b, uint64(l.merge))
		b = appendVarint(b, uint64(len(l.segs)))
		for _, g := range l.segs {
			b = appendVarint(appendVarint(appendVarint(b, uint64(g.id)), uint64(g.first)), uint64(g.last))
		}
	}
	return b
}

// newSegid is fts5AllocateSegid: the smallest id no segment has.
func (s *ftsStructure) newSegid() (int, error) {
	used := make(map[int]bool)
	for _, l := range s.levels {
		for _, g := range l.segs {
			used[g.id] = true
		}
	}
	if len(used) >= 2000 { // FTS5_MAX_SEGMENT
		return 0, errors.New("full-text index: too many segments")
	}
	id := 1
	for used[id] {
		id++
	}
	return id, nil
}

// add puts a new segment on level 0 as fts5FlushOneHash does, then promotes as
// fts5StructurePromote does: segments of higher levels no larger than the new one come down to
// level 0.
func (s *ftsStructure) add(g ftsSeg) {
	if len(s.levels) == 0 {
		s.levels = append(s.levels, ftsLevel{})
	}
	s.levels[0].segs = append(s.levels[0].segs, g)
	s.nSegment++
	s.promote(0)
}

// ---- Writing to the case ----

// ftsWriter writes segments into the case through a connection of its own.
type ftsWriter struct {
	c                      *sqlitec.Conn
	get, put, putIdx, mark *sqlitec.Stmt
	getMark                *sqlitec.Stmt
	after                  int64 // the mark the next segment must follow
	pgsz                   int   // FTS5's 'pgsz': the size leaves are filled to
	path                   string
}

// ftsDataID is FTS5's rowid of a %_data record of a segment (fts5_dri).
func ftsDataID(segid int, p ftsPage) int64 {
	id := int64(segid)<<37 + int64(p.height)<<31 + int64(p.pgno)
	if p.dlidx {
		id += 1 << 36
	}
	return id
}

func (s *Store) openFTSWriter() (*ftsWriter, error) {
	c, err := sqlitec.Open(s.path)
	if err != nil {
		return nil, err
	}
	w := &ftsWriter{c: c, path: s.path, pgsz: 4050} // FTS5_DEFAULT_PAGE_SIZE
	if err := c.Exec(`PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL`); err != nil {
		w.close()
		return nil, err
	}
	p := sqlitec.Preparer{C: c}
	w.get = p.Prepare(`SELECT block FROM events_fts_data WHERE id = ?`)
	w.put = p.Prepare(`REPLACE INTO events_fts_data (id, block) VALUES (?, ?)`)
	w.putIdx = p.Prepare(`INSERT INTO events_fts_idx (segid, term, pgno) VALUES (?, ?, ?)`)
	w.mark = p.Prepare(`INSERT INTO settings (key, value) VALUES ('` + ftsMark + `', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`)
	w.getMark = p.Prepare(`SELECT coalesce((SELECT CAST(value AS INTEGER) FROM settings WHERE key = '` + ftsMark + `'), 0)`)
	cfg := p.Prepare(`SELECT v FROM events_fts_config WHERE k = 'pgsz'`)
	if p.Err != nil {
		w.close()
		return nil, p.Err
	}
	defer cfg.Close()
	if row, err := cfg.Step(); err != nil {
		w.close()
		return nil, err
	} else if row {
		w.pgsz = int(cfg.ColumnInt(0))
	}
	cfg.Reset()
	return w, nil
}

func (w *ftsWriter) close() {
	for _, st := range []*sqlitec.Stmt{w.get, w.put, w.putIdx, w.mark, w.getMark} {
		if st != nil {
			st.Close()
		}
	}
	w.c.Close()
}

// read returns the %_data record id, nil when there is none.
func (w *ftsWriter) read(id int64) ([]byte, error) {
	w.get.Int(1, id)
	defer w.get.Reset()
	row, err := w.get.Step()
	if err != nil || !row {
		return nil, err
	}
	return w.get.ColumnBlob([]byte{}, 0), nil
}

func (w *ftsWriter) putData(id int64, data []byte) error {
	w.put.Int(1, id)
	w.put.Blob(2, data)
	return w.put.Exec()
}

// write adds a batch's segment to the index in one transaction that also moves the mark; FTS5's
// structure and averages records are updated as its own flush would.
func (w *ftsWriter) write(seg *ftsSegment) error {
	if err := w.c.Exec("BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("full-text index: %w", err)
	}
	if err := w.writeTx(seg); err != nil {
		w.c.Exec("ROLLBACK")
		return fmt.Errorf("full-text index: %w", err)
	}
	if err := w.c.Exec("COMMIT"); err != nil {
		w.c.Exec("ROLLBACK")
		return fmt.Errorf("full-text index: %w", err)
	}
	return nil
}

const (
	ftsAveragesID  = 1  // FTS5_AVERAGES_ROWID
	ftsStructureID = 10 // FTS5_STRUCTURE_ROWID
)

// limitSegments merges segments when the index has more than ftsMaxSegments. Each build adds
// at least one segment, so many small loads would otherwise slow every search down.
//
// FTS5's 'merge' merges the level holding the most segments into one segment on the level
// above, and goes on while a level holds 'usermerge' (4) or more. New segments go to level 0,
// so a load's segments are merged with each other, and a merged segment again only when three
// more have joined its level: what each event costs to merge grows with the log of the index,
// not with its size. ('optimize', used before, rewrote the whole index every time: a load of
// 883k events into a case of 1M spent most of its 41 s of full-text indexing on it.)
func (w *ftsWriter) limitSegments() error {
	raw, err := w.read(ftsStructureID)
	if err != nil || raw == nil {
		return err
	}
	st, err := parseStructure(raw)
	if err != nil {
		return err
	}
	if st.nSegment <= ftsMaxSegments {
		return nil
	}
	// The same merge as FTS5's, in Go (fts_merge.go), unless the segments are not in the form
	// it takes: FTS5 takes every form.
	if err := w.mergeLevels(); !errors.Is(err, errFTSMergeInput) {
		if err != nil {
			return fmt.Errorf("full-text index: merge segments: %w", err)
		}
		return nil
	}
	if err := w.c.Exec(`INSERT INTO events_fts (events_fts, rank) VALUES ('merge', 2147483647)`); err != nil {
		return fmt.Errorf("full-text index: merge segments: %w", err)
	}
	return nil
}

func (w *ftsWriter) writeTx(seg *ftsSegment) error {
	// Another build (another process: builds in one are serialised) may have indexed these
	// events meanwhile; adding them again would list them twice.
	if mark, err := w.getMark.Int64(); err != nil {
		return err
	} else if mark != w.after {
		return ErrFTSMoved
	}
	raw, err := w.read(ftsStructureID)
	if err != nil {
		return err
	}
	st, err := parseStructure(raw)
	if err != nil {
		return err
	}
	segid, err := st.newSegid()
	if err != nil {
		return err
	}
	for _, p := range seg.pages {
		if err := w.putData(ftsDataID(segid, p), p.data); err != nil {
			return err
		}
	}
	for _, e := range seg.idx {
		w.putIdx.Int(1, int64(segid))
		w.putIdx.Blob(2, e.term)
		w.putIdx.Int(3, e.pgno)
		if err := w.putIdx.Exec(); err != nil {
			return err
		}
	}
	st.add(ftsSeg{id: segid, first: 1, last: seg.leaves})
	if err := w.putData(ftsStructureID, st.encode()); err != nil {
		return err
	}
	// The averages record: the number of rows, then the number of tokens of each column.
	avg, err := w.read(ftsAveragesID)
	if err != nil {
		return err
	}
	nRow, n := getVarint(avg)
	nTok, _ := getVarint(avg[n:])
	avg = appendVarint(appendVarint(avg[:0], nRow+uint64(seg.rows)), nTok+uint64(seg.tokens))
	if err := w.putData(ftsAveragesID, avg); err != nil {
		return err
	}
	w.mark.Text(1, strconv.FormatInt(seg.last, 10))
	if err := w.mark.Exec(); err != nil {
		return err
	}
	w.after = seg.last
	return nil
}

// ErrFTSMoved reports a full-text build that found the index moved on by another process
// building it at the same time; the other build carries on, and what it leaves is built next time.
var ErrFTSMoved = errors.New("another process is building the full-text index of this case")
