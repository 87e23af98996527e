package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/trailscope/trailscope/data/cloudtrail"
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
	Format string
	Events int64
	Added  int64
	Status string
	Reason string
}

// Loader writes events in large transactions through the single writer connection. Everything
// it has written since the last Commit is lost together if the process dies, so the case never
// holds half a batch; eventID keys make a rerun add exactly what is missing.
type Loader struct {
	s   *Store
	ctx context.Context
	// exec runs the per-row statements: ctx without its cancellation, because the driver
	// starts a watcher for every statement run under a cancellable context, which costs more
	// than the insert itself. Event checks ctx instead.
	exec                 context.Context
	tx                   *sql.Tx
	event, raw, ins, dig *sql.Stmt
	pending              int
}

// loadCacheKiB is the writer's page cache during a load: enough to keep the hot pages of the
// eventID index, whose inserts land at random, without a pread for most of them.
const loadCacheKiB = 32 << 10

// sortCacheKiB bounds the page cache, and with it the sorter's memory, while indexes are built.
const sortCacheKiB = 16 << 10

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
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = -%d", loadCacheKiB)); err != nil {
		return nil, fmt.Errorf("begin load: %w", err)
	}
	if err := s.BuildDeferredIndexes(ctx); err != nil {
		return nil, err
	}
	if err := s.deferIndexes(ctx); err != nil {
		return nil, err
	}
	l := &Loader{s: s, ctx: ctx, exec: context.WithoutCancel(ctx)}
	if err := l.begin(); err != nil {
		return nil, err
	}
	return l, nil
}

// deferIndexes drops the secondary indexes on events when the case holds no event yet.
func (s *Store) deferIndexes(ctx context.Context) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("defer indexes: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM events LIMIT 1)`).Scan(&n); err != nil {
		return fmt.Errorf("defer indexes: %w", err)
	}
	if n > 0 {
		return nil
	}
	// Unique indexes stay: they are what makes a load idempotent.
	rows, err := tx.QueryContext(ctx, `SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'events'
		AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%' ORDER BY name`)
	if err != nil {
		return fmt.Errorf("defer indexes: %w", err)
	}
	var names, stmts []string
	for rows.Next() {
		var name, sql string
		if err := rows.Scan(&name, &sql); err != nil {
			rows.Close()
			return fmt.Errorf("defer indexes: %w", err)
		}
		names = append(names, name)
		stmts = append(stmts, strings.ReplaceAll(sql, "\n", " "))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("defer indexes: %w", err)
	}
	if len(names) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, deferredKey, strings.Join(stmts, "\n")); err != nil {
		return fmt.Errorf("defer indexes: %w", err)
	}
	for _, n := range names {
		if _, err := tx.ExecContext(ctx, `DROP INDEX "`+n+`"`); err != nil {
			return fmt.Errorf("defer index %s: %w", n, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("defer indexes: %w", err)
	}
	return nil
}

// BuildDeferredIndexes builds the indexes a bulk load deferred, if any: after a load that was
// killed or aborted they are missing until this runs (the next BeginLoad runs it too). Searches
// are right without them, only slower.
func (s *Store) BuildDeferredIndexes(ctx context.Context) error {
	var v string
	err := s.w.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, deferredKey).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore indexes: %w", err)
	}
	// The sorter spills to temporary files rather than holding every key in memory, and its
	// in-memory runs are bounded by the page cache, made smaller for the while.
	if _, err := s.w.ExecContext(ctx, `PRAGMA temp_store = FILE`); err != nil {
		return fmt.Errorf("restore indexes: %w", err)
	}
	var cache int64
	if err := s.w.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&cache); err != nil {
		return fmt.Errorf("restore indexes: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = %d", sortCacheKiB*-1)); err != nil {
		return fmt.Errorf("restore indexes: %w", err)
	}
	defer func() {
		ctx := context.WithoutCancel(ctx)
		s.w.ExecContext(ctx, `PRAGMA temp_store = MEMORY`)
		s.w.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = %d", cache))
	}()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("restore indexes: %w", err)
	}
	defer tx.Rollback()
	for _, stmt := range strings.Split(v, "\n") {
		stmt = strings.Replace(stmt, "CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1)
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("restore index %q: %w", stmt, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM settings WHERE key = ?`, deferredKey); err != nil {
		return fmt.Errorf("restore indexes: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("restore indexes: %w", err)
	}
	return nil
}

func (l *Loader) begin() error {
	tx, err := l.s.w.BeginTx(l.ctx, nil)
	if err != nil {
		return fmt.Errorf("begin load: %w", err)
	}
	l.tx = tx
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = tx.PrepareContext(l.ctx, q)
		return st
	}
	l.event = prep(`INSERT OR IGNORE INTO events (event_id, time, event_source, event_name, event_type, region,
		source_ip, user_agent, error_code, principal_type, principal_arn, principal_account, principal_id, invoked_by,
		user_name, access_key, session_issuer, recipient_account, read_only, mfa, direction, file_id)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	l.raw = prep(`INSERT INTO event_json (id, json) VALUES (?, ?)`)
	l.ins = prep(`INSERT OR IGNORE INTO insights (event_id, time, json, file_id) VALUES (?, ?, ?, ?)`)
	l.dig = prep(`INSERT OR IGNORE INTO digests (key, json, file_id) VALUES (?, ?, ?)`)
	if err != nil {
		tx.Rollback()
		return fmt.Errorf("prepare load: %w", err)
	}
	return nil
}

// Pending is the number of records written since the last commit.
func (l *Loader) Pending() int { return l.pending }

// Event stores one event; added is false when its eventID is already in the case.
func (l *Loader) Event(e *cloudtrail.Event, fileID int64) (added bool, err error) {
	if err := l.ctx.Err(); err != nil {
		return false, err
	}
	var ro any
	if e.ReadOnly != nil {
		ro = boolInt(*e.ReadOnly)
	}
	res, err := l.event.ExecContext(l.exec, e.EventID, e.Time.UnixMilli(), e.EventSource, e.EventName, e.EventType,
		e.Region, e.SourceIP, e.UserAgent, e.ErrorCode, e.PrincipalType, e.PrincipalARN, e.PrincipalAccount,
		e.PrincipalID, e.InvokedBy, e.UserName, e.AccessKey, e.SessionIssuer, e.RecipientAccount, ro, boolInt(e.MFA), e.Direction, fileID)
	if err != nil {
		return false, fmt.Errorf("store event %s: %w", e.EventID, err)
	}
	l.pending++
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	id, err := res.LastInsertId()
	if err != nil {
		return false, err
	}
	if _, err := l.raw.ExecContext(l.exec, id, e.Raw); err != nil {
		return false, fmt.Errorf("store event %s: %w", e.EventID, err)
	}
	return true, nil
}

// Events stores events of one file and returns how many were new to the case. (Multi-row
// INSERTs were measured: no faster with this driver, which binds value by value either way.)
func (l *Loader) Events(es []cloudtrail.Event, fileID int64) (added int, err error) {
	for i := range es {
		ok, err := l.Event(&es[i], fileID)
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
	res, err := l.ins.ExecContext(l.ctx, e.EventID, e.Time.UnixMilli(), e.Raw, fileID)
	if err != nil {
		return false, fmt.Errorf("store insight %s: %w", e.EventID, err)
	}
	l.pending++
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// Digest stores a digest file's JSON for the integrity check.
func (l *Loader) Digest(raw []byte, fileID int64) error {
	if _, err := l.dig.ExecContext(l.ctx, cloudtrail.HashID(raw), raw, fileID); err != nil {
		return fmt.Errorf("store digest: %w", err)
	}
	l.pending++
	return nil
}

// File records (or updates) a file row and returns its id. Path and entry identify it.
func (l *Loader) File(f FileRecord) (int64, error) {
	var id int64
	err := l.tx.QueryRowContext(l.ctx, `INSERT INTO files (path, entry, size, sha256, format, events, added, status, reason, loaded_at)
		VALUES (?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (path, entry) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256, format = excluded.format,
			events = excluded.events, added = CASE WHEN excluded.status = 'loading' THEN files.added ELSE files.added + excluded.added END,
			status = excluded.status, reason = excluded.reason, loaded_at = excluded.loaded_at
		RETURNING id`,
		f.Path, f.Entry, f.Size, f.SHA256, f.Format, f.Events, f.Added, f.Status, f.Reason,
		time.Now().UTC().Format(time.RFC3339)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record file %s: %w", f.Path, err)
	}
	return id, nil
}

// Commit makes everything written so far durable and starts a new transaction.
func (l *Loader) Commit() error {
	if err := l.tx.Commit(); err != nil {
		return fmt.Errorf("commit load: %w", err)
	}
	l.pending = 0
	return l.begin()
}

// Close commits what is pending, builds the indexes the load deferred and ends the loader.
func (l *Loader) Close() error {
	if err := l.tx.Commit(); err != nil {
		return fmt.Errorf("commit load: %w", err)
	}
	if err := l.s.BuildDeferredIndexes(l.ctx); err != nil {
		return err
	}
	if _, err := l.s.w.ExecContext(l.ctx, `PRAGMA cache_size = -2000`); err != nil {
		return fmt.Errorf("end load: %w", err)
	}
	return nil
}

// Abort drops what was written since the last commit. Indexes the load deferred stay missing
// until BuildDeferredIndexes or the next BeginLoad.
func (l *Loader) Abort() { _ = l.tx.Rollback() }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
