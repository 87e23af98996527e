package store

import (
	"context"
	"database/sql"
	"fmt"
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
	s                    *Store
	ctx                  context.Context
	tx                   *sql.Tx
	event, raw, ins, dig *sql.Stmt
	pending              int
}

// BeginLoad starts a loader. Only one may be open at a time (the writer has one connection).
func (s *Store) BeginLoad(ctx context.Context) (*Loader, error) {
	l := &Loader{s: s, ctx: ctx}
	if err := l.begin(); err != nil {
		return nil, err
	}
	return l, nil
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
	var ro any
	if e.ReadOnly != nil {
		ro = boolInt(*e.ReadOnly)
	}
	res, err := l.event.ExecContext(l.ctx, e.EventID, e.Time.UnixMilli(), e.EventSource, e.EventName, e.EventType,
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
	if _, err := l.raw.ExecContext(l.ctx, id, e.Raw); err != nil {
		return false, fmt.Errorf("store event %s: %w", e.EventID, err)
	}
	return true, nil
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

// Close commits what is pending and ends the loader.
func (l *Loader) Close() error {
	if err := l.tx.Commit(); err != nil {
		return fmt.Errorf("commit load: %w", err)
	}
	return nil
}

// Abort drops what was written since the last commit.
func (l *Loader) Abort() { _ = l.tx.Rollback() }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
