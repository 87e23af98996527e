// Package store is the SQLite case file: one file per case holding every event's raw JSON and
// extracted columns, the files they came from, a full-text index, settings and analysis results.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/trailscope/trailscope/data/cloudtrail"
)

// eventKeyFunc computes cloudtrail.EventKey in SQL, for migration 0006.
const eventKeyFunc = "trailscope_event_key"

func init() {
	sqlite.MustRegisterDeterministicScalarFunction(eventKeyFunc, 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch v := args[0].(type) {
		case string:
			return cloudtrail.EventKey(v), nil
		case []byte:
			return cloudtrail.EventKey(string(v)), nil
		}
		return int64(0), nil
	})
}

//go:embed migrations/*.sql
var migrations embed.FS

// Store is an open case file. Writes go through one connection, except during a load and a
// full-text build, which write through connections of their own (one writer at a time all the
// same: SQLite's write lock); reads use a separate pool, beside the writers in WAL mode (see
// chooseJournal).
type Store struct {
	path string
	w    *sql.DB // the single writer connection
	r    *sql.DB // read pool

	ftsMu sync.Mutex // held by BuildFTS
	// firstLoad is held by a load into an empty case, which writes with the rollback journal
	// until it closes, and by BuildFTS while it turns the case to WAL: that switch would fail
	// (or land in the middle of the load) while such a load runs.
	firstLoad sync.Mutex
}

// pageSize is set before the case's first table, as WAL mode cannot change it; larger pages load
// about 1.5× faster.
const pageSize = 32768

// Open opens the case file at path, creating it (mode 0600) when missing, and applies any
// migrations it lacks.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("open case %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	s := &Store{path: path, w: w}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open case %s: %w", path, err)
	}
	// A first load that was killed left its secondary indexes unbuilt; searches need them.
	if err := s.BuildDeferredIndexes(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open case %s: %w", path, err)
	}
	if err := s.chooseJournal(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open case %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open case %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	s.r = r
	return s, nil
}

// Journal modes (PRAGMA journal_mode).
const (
	journalWAL      = "wal"
	journalRollback = "delete" // SQLite's default
)

// chooseJournal puts a case that holds events in WAL mode, so that searches read while a load
// or a full-text build writes, and an empty case in rollback-journal mode until its first load.
// That load then writes each page once: a rollback journal keeps only the pages a transaction
// changes that existed before it, where WAL writes every page twice (to the log, then into the
// case file): a 1M-event first load reached searchable columns 6% sooner, and its index sort
// could then take the second core (see buildDeferred). Readers wait (busy timeout) while such
// a load commits.
//
// It runs before the read pool opens: leaving WAL takes the only connection to the case. When
// another process holds the case, an empty case stays in WAL, and loads as one with events.
func (s *Store) chooseJournal(ctx context.Context) error {
	var n int
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM events LIMIT 1)`).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return s.ensureWAL(ctx)
	}
	var mode string
	_ = s.w.QueryRowContext(ctx, `PRAGMA journal_mode = `+journalRollback).Scan(&mode)
	return nil
}

// ensureWAL puts the case in WAL mode, which every connection follows at its next read.
func (s *Store) ensureWAL(ctx context.Context) error {
	var mode string
	if err := s.w.QueryRowContext(ctx, `PRAGMA journal_mode = `+journalWAL).Scan(&mode); err != nil {
		return fmt.Errorf("WAL mode: %w", err)
	}
	if mode != journalWAL {
		return fmt.Errorf("WAL mode: the case stays in %s mode", mode)
	}
	return nil
}

// createPrivate makes an empty file with mode 0600 so that SQLite never creates it world-readable.
// An empty file that is there already (a file dialog's Save makes one) becomes a case here too,
// so it is made private as well; SQLite gives the journal and WAL the case file's mode.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 && fi.Mode().Perm() != 0o600 {
			if err := os.Chmod(path, 0o600); err != nil {
				return fmt.Errorf("case %s: make it private: %w", path, err)
			}
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("create case %s: %w", path, err)
	}
	return f.Close()
}

func dsn(p string, readOnly bool) string {
	q := url.Values{}
	// page_size takes effect when migrate creates a new case's first table, before chooseJournal
	// can turn it to WAL.
	pragmas := []string{
		"page_size(" + strconv.Itoa(pageSize) + ")",
		"busy_timeout(10000)",
		"synchronous(NORMAL)",
		"foreign_keys(ON)",
		"temp_store(MEMORY)",
	}
	if readOnly {
		// A larger cache for readers: pivots revisit the same index pages. No memory mapping:
		// the driver maps up to 2 GiB of the file by default, which showed as 1.5 GB resident
		// while analysing a 1M-event case, for no gain in speed (measured: 14 s either way).
		pragmas = []string{"busy_timeout(10000)", "query_only(1)", "cache_size(-65536)", "mmap_size(0)"}
	}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	return "file:" + p + "?" + q.Encode()
}

// Path is the case file's path.
func (s *Store) Path() string { return s.path }

// DB is the read pool, for queries that only read.
func (s *Store) DB() *sql.DB { return s.r }

// Close closes the case. The last connection to close checkpoints the WAL into the case and
// removes it (SQLite does so itself); checkpointing here too reset the WAL under a window that
// still had the case open, which then read a command that only read as a change to reload.
func (s *Store) Close() error {
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	return errors.Join(errs...)
}

// NeedsMigration reports whether Open would change the format of the existing case file at path
// (rebuilding indexes of a large case takes a while); false when there is no such file yet.
func NeedsMigration(ctx context.Context, path string) (bool, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return false, err
	}
	defer db.Close()
	var tables int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name = 'schema_migrations'`).Scan(&tables); err != nil {
		return false, fmt.Errorf("case %s: %w", path, err)
	}
	if tables == 0 {
		return false, nil // a new file: Open creates it
	}
	var applied int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&applied); err != nil {
		return false, fmt.Errorf("case %s: %w", path, err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return false, err
	}
	return applied < len(names), nil
}

// ErrNotCase is Open's refusal of a file that is not a case: one that is not an SQLite database,
// or the database of another application (a case is never made inside it).
var ErrNotCase = errors.New("not a Trailscope case")

// sqliteNotADB is SQLITE_NOTADB, the code of a file that is not a database.
const sqliteNotADB = 26

func (s *Store) migrate(ctx context.Context) error {
	// Before anything is written: Open is given files a user picked, and a wrong pick must leave
	// the file as it was.
	var foreign bool
	err := s.w.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name NOT LIKE 'sqlite_%')
		AND NOT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations')`).Scan(&foreign)
	var coded interface{ Code() int }
	if errors.As(err, &coded) && coded.Code() == sqliteNotADB {
		return fmt.Errorf("%w: not an SQLite database", ErrNotCase)
	}
	if err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	if foreign {
		return fmt.Errorf("%w: an SQLite database of another application, left as it was", ErrNotCase)
	}
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	bounded := false
	for _, name := range names {
		base := path.Base(name)
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: version: %w", base, err)
		}
		var n int
		if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, v).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		if !bounded {
			// A migration may rewrite every event and build indexes: sort on disk and leave the
			// file unmapped, or a large case's migration grows the process by gigabytes.
			if _, err := s.w.ExecContext(ctx, fmt.Sprintf(`PRAGMA temp_store = FILE; PRAGMA mmap_size = 0; PRAGMA cache_size = -%d`, sortCacheKiB)); err != nil {
				return err
			}
			defer s.w.ExecContext(ctx, `PRAGMA temp_store = MEMORY; PRAGMA cache_size = -2000`)
			bounded = true
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", base, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			v, base, time.Now().UTC().Format(time.RFC3339)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
	}
	return nil
}

// Setting returns a case setting, or def when it is not set.
func (s *Store) Setting(ctx context.Context, key, def string) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return def, nil
	}
	if err != nil {
		return "", fmt.Errorf("read setting %s: %w", key, err)
	}
	return v, nil
}

// Settings returns every case setting.
func (s *Store) Settings(ctx context.Context) (map[string]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT key, value FROM settings ORDER BY key`)
	if err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, rows.Err()
}

// SetSetting stores a case setting.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("write setting %s: %w", key, err)
	}
	return nil
}
