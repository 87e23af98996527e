package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trailscope/trailscope/data/cloudtrail"
	"github.com/trailscope/trailscope/data/internal/sqlitec"
)

// File statuses in the files table.
const (
	FileLoading = "loading" // the load of this file was started and has not ended
	FileLoaded  = "loaded"
	FileSkipped = "skipped" // not CloudTrail, or empty
	FileFailed  = "failed"
)

// FileRecord is one row of the files table: one plain stream that was read (a loose file, or an
// entry inside archives).
type FileRecord struct {
	ID     int64
	Path   string
	Entry  string
	Size   int64
	SHA256 string
	// PlainSHA256 is the hex SHA-256 of the plain content (any gzip layer undone), as a
	// CloudTrail digest lists it; "" for files read before it was kept.
	PlainSHA256 string
	// Signature is the hex SHA256withRSA signature CloudTrail put in a digest file's S3 metadata,
	// "" for any other file, or one not read from S3.
	Signature string
	Format    string
	Events    int64
	Added     int64
	Status    string
	Reason    string
	// LoadedAt is when the row was last written (RFC 3339, UTC); Loader.File sets it itself.
	LoadedAt string
}

// Name names the file as lists show it: an archive's entry after the archive.
func (f FileRecord) Name() string {
	if f.Entry != "" {
		return f.Path + " ! " + f.Entry
	}
	return f.Path
}

// Loader writes events in large transactions through a connection of its own. Everything it
// has written since the last Commit is lost together if the process dies, so the case never
// holds half a batch; eventID keys make a rerun add exactly what is missing.
//
// The connection is SQLite's C API without database/sql (package sqlitec): binding 22 values
// through database/sql costs a C allocation, copy and free per text value, which measured
// 40% of the writer's time. While a Loader is open it holds the case's write lock between
// commits; the Store's own writer waits for it (busy timeout).
type Loader struct {
	s                        *Store
	ctx                      context.Context
	c                        *sqlitec.Conn
	event, raw, ins, dig     *sqlitec.Stmt
	file, fileAdded          *sqlitec.Stmt
	names, ips, arns, agents *dictWriter
	pack                     []byte // an event's JSON packed here when the caller did not pack it
	inTx                     bool   // a transaction is open; the next write after a commit opens one
	pending                  int
	ckpt                     *checkpointer // nil in rollback mode
	commits                  int
	rollback                 bool // the case is in rollback-journal mode until the loader closes
	holdsFirst               bool // the loader holds s.firstLoad (see Store)

	// While the eventID key is deferred (a first load), eventIDs are kept apart here: the key
	// of each stored eventID and its row. A hash seen before is confirmed against the row, so
	// a collision never drops an event; colliding eventIDs are then kept whole in extra.
	seen  map[uint64]int64
	extra map[string]struct{}
	same  *sqlitec.Stmt // 1 when row ? holds eventID ?
	// unchecked is set once memory holds maxSeen eventIDs: the events after are stored as they
	// come, and Close removes those stored twice (removed counts them).
	unchecked bool
	removed   int64
	// Otherwise the eventID key answers: keyed counts the rows with a key and an eventID.
	keyed *sqlitec.Stmt
}

// eventKeyIndex is the index on eventID keys (cloudtrail.EventKey) that makes loading idempotent.
const eventKeyIndex = "events_key"

// maxSeen bounds the eventIDs kept in memory during a first load: 36 MB of map for 1M (at 2M,
// 72 MB, which the garbage collector's headroom doubles: a 5M-event load peaked at 312 MB
// there). Past it the events are stored unchecked and the duplicates among them found at
// Close, from the sorted eventID key. (Building the key there and then, and checking each
// event against it, made the rest of a 5M-event load a quarter slower.) A variable for tests.
var maxSeen = 1 << 20

// dedupKey is the settings key holding the first events.id a first load stored unchecked: kept
// in the transaction of those events, so that a load killed before Close has its duplicates
// removed by the next BeginLoad or BuildDeferredIndexes.
const dedupKey = "load_dedup_from"

// keyHash, when set, replaces an eventID's key in the in-memory check (tests make it collide);
// the check otherwise uses the key the event is stored with.
var keyHash func(eventID string) uint64

// loadCacheKiB is the writer's page cache during a load into a case that has events already,
// where every index is kept up to date row by row: enough to keep the hot pages of the eventID
// key, whose inserts land at random, without a pread for most of them.
const loadCacheKiB = 32 << 10

// sortCacheKiB bounds the page cache, and with it the sorter's memory, while a migration
// rewrites events and builds indexes; indexCacheKiB while a load builds the indexes it deferred.
const (
	sortCacheKiB  = 16 << 10
	indexCacheKiB = 4 << 10
)

// deferredKey is the settings key holding the SQL of the secondary indexes on events that a bulk
// load into an empty case dropped, one statement per line, until they are built again.
const deferredKey = "load_deferred_indexes"

// BeginLoad starts a loader. Only one may be open at a time (the writer has one connection).
//
// Into an empty case, the secondary indexes on events (all but the eventID key) are dropped and
// built once at Close, from sorted keys, which is several times cheaper than keeping them up to
// date row by row. Their SQL is kept in the settings table in the same transaction, so a load
// killed midway has them rebuilt by the next BeginLoad.
func (s *Store) BeginLoad(ctx context.Context) (*Loader, error) {
	if err := s.BuildDeferredIndexes(ctx); err != nil {
		return nil, err
	}
	keyDeferred, err := s.deferIndexes(ctx)
	if err != nil {
		return nil, err
	}
	l := &Loader{s: s, ctx: ctx}
	if keyDeferred {
		l.seen, l.extra = make(map[uint64]int64), make(map[string]struct{})
	}
	s.firstLoad.Lock()
	l.holdsFirst = true
	if err := l.open(); err != nil {
		l.close()
		return nil, fmt.Errorf("begin load: %w", err)
	}
	if !l.rollback {
		l.releaseFirst() // a load beside others, through WAL
	}
	return l, nil
}

// releaseFirst lets go of the Store's firstLoad, if this loader holds it.
func (l *Loader) releaseFirst() {
	if l.holdsFirst {
		l.holdsFirst = false
		l.s.firstLoad.Unlock()
	}
}

// deferIndexes drops the indexes on events when the case holds no event yet, the eventID key
// among them (keyDeferred): the Loader then keeps eventIDs apart in memory instead.
func (s *Store) deferIndexes(ctx context.Context) (keyDeferred bool, err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("defer indexes: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM events LIMIT 1)`).Scan(&n); err != nil {
		return false, fmt.Errorf("defer indexes: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'events'
		AND sql IS NOT NULL ORDER BY name`)
	if err != nil {
		return false, fmt.Errorf("defer indexes: %w", err)
	}
	var names, stmts []string
	for rows.Next() {
		var name, sql string
		if err := rows.Scan(&name, &sql); err != nil {
			rows.Close()
			return false, fmt.Errorf("defer indexes: %w", err)
		}
		names = append(names, name)
		keyDeferred = keyDeferred || name == eventKeyIndex
		stmts = append(stmts, strings.ReplaceAll(sql, "\n", " "))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("defer indexes: %w", err)
	}
	if len(names) == 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, deferredKey, strings.Join(stmts, "\n")); err != nil {
		return false, fmt.Errorf("defer indexes: %w", err)
	}
	for _, n := range names {
		if _, err := tx.ExecContext(ctx, `DROP INDEX "`+n+`"`); err != nil {
			return false, fmt.Errorf("defer index %s: %w", n, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("defer indexes: %w", err)
	}
	return keyDeferred, nil
}

// BuildDeferredIndexes builds the indexes a bulk load deferred, if any: after a load that was
// killed or aborted they are missing until this runs (the next BeginLoad runs it too). Searches
// are right without them, only slower. It builds them as a load's Close does.
func (s *Store) BuildDeferredIndexes(ctx context.Context) error {
	// Most cases have none: a query on the open connection spares opening a loader's.
	var n int
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM settings WHERE key = ?`, deferredKey).Scan(&n); err != nil {
		return fmt.Errorf("restore indexes: %w", err)
	}
	if n == 0 {
		return nil
	}
	l := &Loader{s: s, ctx: ctx}
	defer l.close()
	err := l.open()
	if err == nil {
		_, err = l.dedup()
	}
	if err == nil {
		err = l.buildDeferred(func(string) bool { return true }, true)
	}
	if err == nil {
		err = l.Commit()
	}
	if err != nil {
		return fmt.Errorf("restore indexes: %w", err)
	}
	return nil
}

// open opens the loader's connection, prepares its statements and begins the first transaction.
func (l *Loader) open() error {
	c, err := sqlitec.Open(l.s.path)
	if err != nil {
		return err
	}
	l.c = c
	if err := c.Exec(fmt.Sprintf(`PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;
		PRAGMA cache_size = -%d; PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 0`, loadCacheKiB)); err != nil {
		return err
	}
	mode, err := journalMode(c)
	if err != nil {
		return err
	}
	if l.rollback = mode != journalWAL; l.rollback {
		// A first load (chooseJournal): the journal's few pages are synced before the case file
		// is written, as SQLite's default asks in this mode; there is no log to checkpoint.
		// Each commit waits for the searches under way to end, which may scan the events stored
		// so far without an index for a few seconds: a long timeout keeps the load from failing.
		if err := c.Exec(`PRAGMA synchronous = FULL; PRAGMA busy_timeout = 120000`); err != nil {
			return err
		}
	} else if l.ckpt, err = newCheckpointer(l.s.path); err != nil {
		return err
	}
	p := sqlitec.Preparer{C: c}
	l.event = p.Prepare(`INSERT INTO events (event_id, time, event_source, event_name, event_type, region,
		source_ip, user_agent_id, error_code, principal_type, principal_arn, principal_account, principal_id, invoked_by,
		user_name, access_key, session_issuer, recipient_account, read_only, mfa, direction, file_id,
		event_name_id, source_ip_id, principal_arn_id, event_key)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	l.names, l.ips, l.arns = newDictWriter(&p, eventNames), newDictWriter(&p, sourceIPs), newDictWriter(&p, principalARNs)
	l.agents = newDictWriter(&p, userAgents)
	l.raw = p.Prepare(`INSERT INTO event_json (id, json) VALUES (?, ?)`)
	l.ins = p.Prepare(`INSERT OR IGNORE INTO insights (event_id, time, json, file_id) VALUES (?, ?, ?, ?)`)
	l.dig = p.Prepare(`INSERT OR IGNORE INTO digests (key, json, file_id) VALUES (?, ?, ?)`)
	l.same = p.Prepare(`SELECT count(*) FROM events WHERE id = ? AND event_id = ?`)
	l.keyed = p.Prepare(`SELECT count(*) FROM events WHERE event_key = ? AND event_id = ?`)
	l.file = p.Prepare(`INSERT INTO files (path, entry, size, sha256, format, events, added, status, reason, loaded_at, plain_sha256,
			signature)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (path, entry) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256,
			plain_sha256 = excluded.plain_sha256, signature = excluded.signature, format = excluded.format,
			events = excluded.events, added = CASE WHEN excluded.status = 'loading' THEN files.added ELSE files.added + excluded.added END,
			status = excluded.status, reason = excluded.reason, loaded_at = excluded.loaded_at
		RETURNING id`)
	l.fileAdded = p.Prepare(`UPDATE files SET added = added + ? WHERE id = ?`)
	return p.Err
}

// begin opens a transaction when none is: the write lock is taken again only when there is
// something to write, which lets the Store's own writer in between two commits.
func (l *Loader) begin() error {
	if l.inTx {
		return nil
	}
	if err := l.c.Exec("BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("begin load: %w", err)
	}
	l.inTx = true
	return nil
}

// close releases the statements and the connection; an open transaction is rolled back.
func (l *Loader) close() {
	for _, st := range []*sqlitec.Stmt{l.event, l.raw, l.ins, l.dig, l.file, l.fileAdded, l.same, l.keyed} {
		if st != nil {
			st.Close()
		}
	}
	for _, d := range []*dictWriter{l.names, l.ips, l.arns, l.agents} {
		if d != nil {
			d.close()
		}
	}
	if l.c != nil {
		if l.rollback {
			// Searches beside the full-text build, and later loads, need WAL again. Should the
			// switch fail, the next Store.Open or full-text build makes it.
			if l.inTx {
				l.c.Exec("ROLLBACK")
			}
			l.c.Exec(`PRAGMA journal_mode = ` + journalWAL)
		}
		l.c.Close() // rolls back what was not committed
		l.c = nil
	}
	if l.ckpt != nil {
		l.ckpt.close()
		l.ckpt = nil
	}
	l.releaseFirst()
}

// journalMode is the case's journal mode as c sees it.
func journalMode(c *sqlitec.Conn) (string, error) {
	st, err := c.Prepare(`PRAGMA journal_mode`)
	if err != nil {
		return "", err
	}
	defer st.Close()
	return st.String()
}

// Pending is the number of records written since the last commit.
func (l *Loader) Pending() int { return l.pending }

// Event stores one event; added is false when its eventID is already in the case. packed is
// e.Raw as it is to be stored, PackJSON's output (plain JSON is stored as text, as cases
// written before packing hold it), or nil for the loader to pack it.
func (l *Loader) Event(e *cloudtrail.Event, packed []byte, fileID int64) (added bool, err error) {
	if err := l.begin(); err != nil {
		return false, err
	}
	key := cloudtrail.EventKey(e.EventID)
	var h uint64
	var dup, collided bool
	switch {
	case l.unchecked:
	case l.seen != nil:
		h = uint64(key)
		if keyHash != nil {
			h = keyHash(e.EventID)
		}
		dup, collided, err = l.stored(h, e.EventID)
	default:
		l.keyed.Int(1, key)
		l.keyed.Text(2, e.EventID)
		var n int64
		n, err = l.keyed.Int64()
		dup = n > 0
	}
	if err != nil {
		return false, fmt.Errorf("store event %s: %w", e.EventID, err)
	}
	if dup {
		l.pending++
		return false, nil
	}
	st := l.event
	st.Text(1, e.EventID)
	st.Int(2, e.Time.UnixMilli())
	st.Text(3, e.EventSource)
	st.Text(4, e.EventName)
	st.Text(5, e.EventType)
	st.Text(6, e.Region)
	st.Text(7, e.SourceIP)
	if e.UserAgent == "" {
		st.Null(8)
	} else {
		id, err := l.agents.id(e.UserAgent)
		if err != nil {
			return false, fmt.Errorf("store event %s: %w", e.EventID, err)
		}
		st.Int(8, id)
	}
	st.Text(9, e.ErrorCode)
	st.Text(10, e.PrincipalType)
	st.Text(11, e.PrincipalARN)
	st.Text(12, e.PrincipalAccount)
	st.Text(13, e.PrincipalID)
	st.Text(14, e.InvokedBy)
	st.Text(15, e.UserName)
	st.Text(16, e.AccessKey)
	st.Text(17, e.SessionIssuer)
	st.Text(18, e.RecipientAccount)
	if e.ReadOnly != nil {
		st.Int(19, int64(boolInt(*e.ReadOnly)))
	} else {
		st.Null(19)
	}
	st.Int(20, int64(boolInt(e.MFA)))
	st.Text(21, e.Direction)
	st.Int(22, fileID)
	for i, v := range [...]struct {
		d *dictWriter
		s string
	}{{l.names, e.EventName}, {l.ips, e.SourceIP}, {l.arns, e.PrincipalARN}} {
		id, err := v.d.id(v.s)
		if err != nil {
			return false, fmt.Errorf("store event %s: %w", e.EventID, err)
		}
		st.Int(23+i, id)
	}
	st.Int(26, key)
	if err := st.Exec(); err != nil {
		return false, fmt.Errorf("store event %s: %w", e.EventID, err)
	}
	l.pending++
	id := l.c.LastInsertRowid()
	if l.seen != nil {
		if err := l.remember(h, collided, e.EventID, id); err != nil {
			return false, err
		}
	}
	if packed == nil {
		l.pack = PackJSON(l.pack[:0], e.Raw)
		packed = l.pack
	}
	l.raw.Int(1, id)
	if isPacked(packed) {
		l.raw.BlobBytes(2, packed)
	} else {
		l.raw.TextBytes(2, packed)
	}
	if err := l.raw.Exec(); err != nil {
		return false, fmt.Errorf("store event %s: %w", e.EventID, err)
	}
	return true, nil
}

// stored reports whether eventID (hashed to h) is in the case already, from memory; collided
// is true when its hash belongs to another eventID.
func (l *Loader) stored(h uint64, eventID string) (dup, collided bool, err error) {
	row, ok := l.seen[h]
	if !ok {
		return false, false, nil
	}
	l.same.Int(1, row)
	l.same.Text(2, eventID)
	n, err := l.same.Int64()
	if err != nil || n > 0 {
		return n > 0, false, err
	}
	_, dup = l.extra[eventID]
	return dup, true, nil
}

// remember notes a stored eventID; when memory holds enough of them, the events after are
// stored unchecked from the next row on.
func (l *Loader) remember(h uint64, collided bool, eventID string, row int64) error {
	if collided {
		l.extra[eventID] = struct{}{}
	} else {
		l.seen[h] = row
	}
	if len(l.seen) < maxSeen {
		return nil
	}
	st, err := l.c.Prepare(`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`)
	if err != nil {
		return err
	}
	defer st.Close()
	st.Text(1, dedupKey)
	st.Text(2, strconv.FormatInt(row+1, 10))
	if err := st.Exec(); err != nil {
		return fmt.Errorf("store events unchecked: %w", err)
	}
	l.seen, l.extra, l.unchecked = nil, nil, true
	return nil
}

// isKeyIndex picks the eventID key from the deferred indexes.
func isKeyIndex(stmt string) bool { return strings.Contains(stmt, " "+eventKeyIndex+" ") }

// dedup removes the events a first load stored twice past maxSeen, if it stored any unchecked:
// it builds the eventID key (deferred by that load), finds in it the keys held by more than one
// row, and keeps the first row of each eventID. The files the others came from count them no
// longer as added. It returns how many it removed.
func (l *Loader) dedup() (int64, error) {
	v, ok, err := l.setting(dedupKey)
	if err != nil || !ok {
		return 0, err
	}
	from, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("setting %s = %q: %w", dedupKey, v, err)
	}
	if err := l.buildDeferred(isKeyIndex, true); err != nil {
		return 0, err
	}
	if err := l.begin(); err != nil {
		return 0, err
	}
	// Rows before from were checked among themselves: a key stored twice has a row past it.
	var keys []int64
	p := sqlitec.Preparer{C: l.c}
	groups := p.Prepare(`SELECT event_key FROM events GROUP BY event_key HAVING count(*) > 1 AND max(id) >= ?`)
	rows := p.Prepare(`SELECT id, event_id, ifnull(file_id, 0) FROM events WHERE event_key = ? ORDER BY id`)
	delEvent := p.Prepare(`DELETE FROM events WHERE id = ?`)
	delJSON := p.Prepare(`DELETE FROM event_json WHERE id = ?`)
	fileLess := p.Prepare(`UPDATE files SET added = max(added - ?, 0) WHERE id = ?`)
	unmark := p.Prepare(`DELETE FROM settings WHERE key = ?`)
	defer func() {
		for _, st := range []*sqlitec.Stmt{groups, rows, delEvent, delJSON, fileLess, unmark} {
			if st != nil {
				st.Close()
			}
		}
	}()
	if p.Err != nil {
		return 0, p.Err
	}
	groups.Int(1, from)
	err = eachRow(groups, func() { keys = append(keys, groups.ColumnInt(0)) })
	if err != nil {
		return 0, err
	}
	var drop []int64
	perFile := map[int64]int64{}
	var buf []byte
	for _, k := range keys {
		kept := map[string]bool{}
		rows.Int(1, k)
		err := eachRow(rows, func() {
			buf = rows.ColumnBlob(buf[:0], 1)
			if id, eventID, file := rows.ColumnInt(0), string(buf), rows.ColumnInt(2); kept[eventID] {
				drop = append(drop, id)
				perFile[file]++
			} else {
				kept[eventID] = true
			}
		})
		if err != nil {
			return 0, err
		}
	}
	for _, id := range drop {
		for _, st := range []*sqlitec.Stmt{delEvent, delJSON} {
			st.Int(1, id)
			if err := st.Exec(); err != nil {
				return 0, err
			}
		}
	}
	for file, n := range perFile {
		fileLess.Int(1, n)
		fileLess.Int(2, file)
		if err := fileLess.Exec(); err != nil {
			return 0, err
		}
	}
	unmark.Text(1, dedupKey)
	if err := unmark.Exec(); err != nil {
		return 0, err
	}
	return int64(len(drop)), l.Commit()
}

// setting reads a settings value through the loader's connection (inside its transaction);
// ok is false when there is none.
func (l *Loader) setting(key string) (v string, ok bool, err error) {
	get, err := l.c.Prepare(`SELECT value FROM settings WHERE key = ?`)
	if err != nil {
		return "", false, err
	}
	defer get.Close()
	get.Text(1, key)
	v, err = get.String()
	if errors.Is(err, sqlitec.ErrNoRow) {
		return "", false, nil
	}
	return v, err == nil, err
}

// eachRow steps st through its rows, calling row on each, and resets it.
func eachRow(st *sqlitec.Stmt, row func()) error {
	defer st.Reset()
	for {
		ok, err := st.Step()
		if err != nil || !ok {
			return err
		}
		row()
	}
}

// Removed is the number of events Close found stored twice and removed: past maxSeen, a first
// load's Events count an event it has stored already as added.
func (l *Loader) Removed() int64 { return l.removed }

// buildDeferred builds the deferred indexes that pick selects and takes them off the list kept
// in settings: inside the current transaction, or with each set, one transaction per index, so
// that the checkpointer copies one index into the case file while the next is built.
func (l *Loader) buildDeferred(pick func(stmt string) bool, each bool) error {
	list, ok, err := l.setting(deferredKey)
	if err != nil || !ok {
		return err
	}
	put, err := l.c.Prepare(`UPDATE settings SET value = ? WHERE key = ?`)
	if err != nil {
		return err
	}
	defer put.Close()
	// The sorter spills to temporary files rather than holding every key in memory, in runs
	// bounded by the page cache, made small for the while; a helper thread sorts each run while
	// this one reads the table on. On 1M events the five indexes took 6.9 s without the helper
	// and a 16 MiB cache, 5.5 s with it and 4 MiB (3 runs each), since the decoders have left
	// the second core. (Under WAL the checkpointer had it, and the helper made no difference.)
	if err := l.c.Exec(fmt.Sprintf(`PRAGMA temp_store = FILE; PRAGMA threads = 1; PRAGMA cache_size = -%d`, indexCacheKiB)); err != nil {
		return err
	}
	defer l.c.Exec(fmt.Sprintf(`PRAGMA temp_store = MEMORY; PRAGMA threads = 0; PRAGMA cache_size = -%d`, loadCacheKiB))
	// A cancelled load stops the index being built; what is left stays on the list.
	interrupted := make(chan struct{})
	stop := context.AfterFunc(l.ctx, func() { defer close(interrupted); l.c.Interrupt() })
	defer func() {
		if !stop() {
			<-interrupted // the connection must outlive the interrupt
		}
	}()
	rest := strings.Split(list, "\n")
	for _, stmt := range slices.Clone(rest) {
		if !pick(stmt) {
			continue
		}
		if err := l.ctx.Err(); err != nil {
			return err
		}
		if err := l.begin(); err != nil {
			return err
		}
		if err := l.c.Exec(ifNotExists(stmt)); err != nil {
			if l.ctx.Err() != nil {
				return l.ctx.Err()
			}
			return fmt.Errorf("build index %q: %w", stmt, err)
		}
		rest = slices.DeleteFunc(rest, func(s string) bool { return s == stmt })
		put.Text(1, strings.Join(rest, "\n"))
		put.Text(2, deferredKey)
		if err := put.Exec(); err != nil {
			return err
		}
		if each {
			if err := l.Commit(); err != nil {
				return err
			}
		}
	}
	if len(rest) == 0 {
		return l.c.Exec(fmt.Sprintf(`DELETE FROM settings WHERE key = '%s'`, deferredKey))
	}
	return nil
}

// ifNotExists makes an index's SQL harmless to run when the index is there already.
func ifNotExists(stmt string) string {
	stmt = strings.Replace(stmt, "CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1)
	return strings.Replace(stmt, "CREATE UNIQUE INDEX ", "CREATE UNIQUE INDEX IF NOT EXISTS ", 1)
}

// Events stores events of one file and returns how many were new to the case. packed holds
// each event's JSON packed (PackJSON), or is nil for the loader to pack them: packing on the
// caller's goroutines takes that work off the writer. (Multi-row INSERTs were measured: no
// faster.)
func (l *Loader) Events(es []cloudtrail.Event, packed [][]byte, fileID int64) (added int, err error) {
	if err := l.ctx.Err(); err != nil {
		return 0, err
	}
	for i := range es {
		var p []byte
		if packed != nil {
			p = packed[i]
		}
		ok, err := l.Event(&es[i], p, fileID)
		if err != nil {
			return added, err
		}
		if ok {
			added++
		}
	}
	return added, nil
}

// Insight stores a CloudTrail Insights event.
func (l *Loader) Insight(e *cloudtrail.Event, fileID int64) (added bool, err error) {
	if err := l.begin(); err != nil {
		return false, err
	}
	l.ins.Text(1, e.EventID)
	l.ins.Int(2, e.Time.UnixMilli())
	l.ins.TextBytes(3, e.Raw)
	l.ins.Int(4, fileID)
	if err := l.ins.Exec(); err != nil {
		return false, fmt.Errorf("store insight %s: %w", e.EventID, err)
	}
	l.pending++
	return l.c.Changes() > 0, nil
}

// Digest stores a digest file's JSON for the integrity check.
func (l *Loader) Digest(raw []byte, fileID int64) error {
	if err := l.begin(); err != nil {
		return err
	}
	l.dig.Text(1, cloudtrail.HashID(raw))
	l.dig.TextBytes(2, raw)
	l.dig.Int(3, fileID)
	if err := l.dig.Exec(); err != nil {
		return fmt.Errorf("store digest: %w", err)
	}
	l.pending++
	return nil
}

// File records (or updates) a file row and returns its id. Path and entry identify it.
func (l *Loader) File(f FileRecord) (int64, error) {
	if err := l.begin(); err != nil {
		return 0, err
	}
	st := l.file
	st.Text(1, f.Path)
	st.Text(2, f.Entry)
	st.Int(3, f.Size)
	st.Text(4, f.SHA256)
	st.Text(5, f.Format)
	st.Int(6, f.Events)
	st.Int(7, f.Added)
	st.Text(8, f.Status)
	st.Text(9, f.Reason)
	st.Text(10, time.Now().UTC().Format(time.RFC3339))
	st.Text(11, f.PlainSHA256)
	st.Text(12, f.Signature)
	id, err := st.Int64()
	if err != nil {
		return 0, fmt.Errorf("record file %s: %w", f.Path, err)
	}
	return id, nil
}

// FileAdded counts added more events new to the case in the files row id, as File does when it
// records a finished stream: a stream recorded finished before its events were stored (one that
// came whole) gets its count so, without a second upsert on its path.
func (l *Loader) FileAdded(id, added int64) error {
	if err := l.begin(); err != nil {
		return err
	}
	l.fileAdded.Int(1, added)
	l.fileAdded.Int(2, id)
	if err := l.fileAdded.Exec(); err != nil {
		return fmt.Errorf("record file %d: %w", id, err)
	}
	return nil
}

// Commit makes everything written so far durable and starts a new transaction.
func (l *Loader) Commit() error {
	if !l.inTx {
		return nil
	}
	if err := l.c.Exec("COMMIT"); err != nil {
		return fmt.Errorf("commit load: %w", err)
	}
	l.inTx = false
	l.pending = 0
	l.commits++
	if l.ckpt == nil {
		return nil // rollback-journal mode: nothing to checkpoint
	}
	var err error
	if l.commits%restartEvery == 0 {
		err = l.ckpt.catchUp() // the next transaction starts the WAL over
	} else {
		l.ckpt.start()
	}
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// Close commits what is pending, builds the indexes the load deferred and ends the loader. When
// the load's context ends meanwhile, the index being built stops, Close returns the context's
// error, and the indexes left are built by the next BeginLoad or Open.
func (l *Loader) Close() error {
	err := l.Commit()
	if err == nil {
		l.removed, err = l.dedup()
	}
	if err == nil {
		err = l.buildDeferred(func(string) bool { return true }, true)
	}
	if err == nil {
		err = l.Commit()
	}
	l.close()
	return err
}

// Abort drops what was written since the last commit. Indexes the load deferred stay missing
// until BuildDeferredIndexes or the next BeginLoad.
func (l *Loader) Abort() { l.close() }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
