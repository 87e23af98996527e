package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/trailscope/trailscope/data/cloudtrail"
)

// Info is what a case holds; its JSON keys are the contract of `trailscope info`.
type Info struct {
	Events       int64      `json:"events"`
	FirstEvent   *time.Time `json:"first_event"`
	LastEvent    *time.Time `json:"last_event"`
	Accounts     []string   `json:"accounts"`
	Regions      []string   `json:"regions"`
	EventSources []string   `json:"event_sources"`
	FilesLoaded  int64      `json:"files_loaded"`
	FilesSkipped int64      `json:"files_skipped"`
	FilesFailed  int64      `json:"files_failed"`
	Insights     int64      `json:"insights"`
	Digests      int64      `json:"digests"`
}

// Info reads what the case holds.
func (s *Store) Info(ctx context.Context) (Info, error) {
	var in Info
	var first, last sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT count(*), min(time), max(time) FROM events`).Scan(&in.Events, &first, &last); err != nil {
		return in, fmt.Errorf("case info: %w", err)
	}
	if first.Valid {
		t, u := time.UnixMilli(first.Int64).UTC(), time.UnixMilli(last.Int64).UTC()
		in.FirstEvent, in.LastEvent = &t, &u
	}
	var err error
	if in.Accounts, err = s.distinct(ctx, `SELECT DISTINCT recipient_account FROM events WHERE recipient_account != ''
		UNION SELECT DISTINCT principal_account FROM events WHERE principal_account != '' ORDER BY 1`); err != nil {
		return in, err
	}
	if in.Regions, err = s.distinct(ctx, `SELECT DISTINCT region FROM events WHERE region != '' ORDER BY 1`); err != nil {
		return in, err
	}
	if in.EventSources, err = s.distinct(ctx, `SELECT DISTINCT event_source FROM events WHERE event_source != '' ORDER BY 1`); err != nil {
		return in, err
	}
	err = s.r.QueryRowContext(ctx, `SELECT
		coalesce(sum(status = 'loaded'), 0), coalesce(sum(status = 'skipped'), 0), coalesce(sum(status IN ('failed', 'loading')), 0)
		FROM files`).Scan(&in.FilesLoaded, &in.FilesSkipped, &in.FilesFailed)
	if err != nil {
		return in, fmt.Errorf("case info: %w", err)
	}
	if err := s.r.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM insights), (SELECT count(*) FROM digests)`).Scan(&in.Insights, &in.Digests); err != nil {
		return in, fmt.Errorf("case info: %w", err)
	}
	return in, nil
}

func (s *Store) distinct(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("case info: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Files calls fn with each row of the files table, in path and entry order, optionally only
// those with a status; it streams, as a case may hold a year of log files.
func (s *Store) Files(ctx context.Context, status string, fn func(FileRecord) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT id, path, entry, size, sha256, plain_sha256, signature, format, events, added,
		status, reason, coalesce(loaded_at, '') FROM files WHERE ? = '' OR status = ? ORDER BY path, entry`, status, status)
	if err != nil {
		return fmt.Errorf("list files: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var f FileRecord
		if err := rows.Scan(&f.ID, &f.Path, &f.Entry, &f.Size, &f.SHA256, &f.PlainSHA256, &f.Signature, &f.Format, &f.Events,
			&f.Added, &f.Status, &f.Reason, &f.LoadedAt); err != nil {
			return fmt.Errorf("list files: %w", err)
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list files: %w", err)
	}
	return nil
}

// ScanEvents calls fn for every event in time order (ties by id) with its extracted columns;
// Raw is left nil. It streams, so memory does not grow with the case. Rows are read in a
// goroutine of their own, in batches, so that decoding rows and fn's work overlap on two cores.
// The *Event passed to fn must not be kept after fn returns.
func (s *Store) ScanEvents(ctx context.Context, fn func(*cloudtrail.Event) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	const batch = 1024
	batches := make(chan []cloudtrail.Event, 4)
	free := make(chan []cloudtrail.Event, 6)
	readErr := make(chan error, 1)
	go func() {
		defer close(batches)
		readErr <- s.readEvents(ctx, batch, batches, free)
	}()
	var err error
	for b := range batches {
		if err == nil {
			for i := range b {
				if err = fn(&b[i]); err != nil {
					cancel() // stop the reader; keep draining so it can exit
					break
				}
			}
		}
		select {
		case free <- b[:0]:
		default:
		}
	}
	if rerr := <-readErr; err == nil && rerr != nil && !errors.Is(rerr, context.Canceled) {
		err = rerr
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

func (s *Store) readEvents(ctx context.Context, batch int, out chan<- []cloudtrail.Event, free <-chan []cloudtrail.Event) error {
	rows, err := s.r.QueryContext(ctx, `SELECT event_id, time, event_source, event_name, event_type, region, source_ip,
		coalesce(ua.value, ''), error_code, principal_type, principal_arn, principal_account, principal_id, invoked_by, user_name,
		access_key, session_issuer, recipient_account, read_only, mfa, direction FROM events e`+userAgents.join("ua")+` ORDER BY e.time, e.id`)
	if err != nil {
		return fmt.Errorf("scan events: %w", err)
	}
	defer rows.Close()
	next := func() []cloudtrail.Event {
		select {
		case b := <-free:
			return b
		default:
			return make([]cloudtrail.Event, 0, batch)
		}
	}
	b := next()
	var ms int64
	var ro sql.NullInt64
	var mfa int64
	for rows.Next() {
		b = append(b, cloudtrail.Event{})
		e := &b[len(b)-1]
		if err := rows.Scan(&e.EventID, &ms, &e.EventSource, &e.EventName, &e.EventType, &e.Region, &e.SourceIP,
			&e.UserAgent, &e.ErrorCode, &e.PrincipalType, &e.PrincipalARN, &e.PrincipalAccount, &e.PrincipalID,
			&e.InvokedBy, &e.UserName, &e.AccessKey, &e.SessionIssuer, &e.RecipientAccount, &ro, &mfa,
			&e.Direction); err != nil {
			return fmt.Errorf("scan events: %w", err)
		}
		e.Time = time.UnixMilli(ms).UTC()
		if ro.Valid {
			v := ro.Int64 != 0
			e.ReadOnly = &v
		}
		e.MFA = mfa != 0
		if len(b) == batch {
			select {
			case out <- b:
			case <-ctx.Done():
				return ctx.Err()
			}
			b = next()
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("scan events: %w", err)
	}
	if len(b) > 0 {
		select {
		case out <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Reclassify recomputes every event's direction with classify (which sees the extracted fields
// and the raw JSON) and stores the ones that changed, in batches.
func (s *Store) Reclassify(ctx context.Context, classify func(*cloudtrail.Event) string) error {
	const batch = 20000
	var last int64
	for {
		rows, err := s.r.QueryContext(ctx, `SELECT e.id, e.event_id, e.time, e.event_source, e.event_name, e.event_type,
			e.region, e.source_ip, coalesce(ua.value, ''), e.error_code, e.principal_type, e.principal_arn, e.principal_account,
			e.principal_id, e.invoked_by, e.user_name, e.access_key, e.session_issuer, e.recipient_account, e.read_only, e.mfa, e.direction, j.json
			FROM events e JOIN event_json j ON j.id = e.id`+userAgents.join("ua")+` WHERE e.id > ? ORDER BY e.id LIMIT ?`, last, batch)
		if err != nil {
			return fmt.Errorf("reclassify: %w", err)
		}
		type change struct {
			id  int64
			dir string
		}
		var changes []change
		n := 0
		for rows.Next() {
			var e cloudtrail.Event
			var id, ms, mfa int64
			var ro sql.NullInt64
			if err := rows.Scan(&id, &e.EventID, &ms, &e.EventSource, &e.EventName, &e.EventType, &e.Region, &e.SourceIP,
				&e.UserAgent, &e.ErrorCode, &e.PrincipalType, &e.PrincipalARN, &e.PrincipalAccount, &e.PrincipalID,
				&e.InvokedBy, &e.UserName, &e.AccessKey, &e.SessionIssuer, &e.RecipientAccount, &ro, &mfa, &e.Direction, &e.Raw); err != nil {
				rows.Close()
				return fmt.Errorf("reclassify: %w", err)
			}
			e.Time = time.UnixMilli(ms).UTC()
			if ro.Valid {
				b := ro.Int64 != 0
				e.ReadOnly = &b
			}
			e.MFA = mfa != 0
			if e.Raw, err = UnpackJSON(nil, e.Raw); err != nil {
				rows.Close()
				return fmt.Errorf("reclassify: event %s: %w", e.EventID, err)
			}
			if d := classify(&e); d != e.Direction {
				changes = append(changes, change{id, d})
			}
			last = id
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("reclassify: %w", err)
		}
		if n == 0 {
			return nil
		}
		if len(changes) > 0 {
			tx, err := s.w.BeginTx(ctx, nil)
			if err != nil {
				return fmt.Errorf("reclassify: %w", err)
			}
			for _, c := range changes {
				if _, err := tx.ExecContext(ctx, `UPDATE events SET direction = ? WHERE id = ?`, c.dir, c.id); err != nil {
					tx.Rollback()
					return fmt.Errorf("reclassify: %w", err)
				}
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM settings WHERE key = ?`, analysedKey); err != nil {
				tx.Rollback()
				return err
			}
			if err := tx.Commit(); err != nil {
				return fmt.Errorf("reclassify: %w", err)
			}
		}
	}
}

// DataVersion changes whenever another connection commits to the case: another process, or this
// one's loads and full-text builds; commits through the Store's own writer leave it as it is.
// A window polls it to notice an import, an analysis or a setting made elsewhere.
func (s *Store) DataVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.w.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("data version: %w", err)
	}
	return v, nil
}

// Digests calls fn with the JSON of every digest file in the case and the id of the file it was
// read from, in the order they were stored.
func (s *Store) Digests(ctx context.Context, fn func(raw []byte, fileID int64) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT json, coalesce(file_id, 0) FROM digests ORDER BY id`)
	if err != nil {
		return fmt.Errorf("list digests: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var raw []byte
		var id int64
		if err := rows.Scan(&raw, &id); err != nil {
			return fmt.Errorf("list digests: %w", err)
		}
		if err := fn(raw, id); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list digests: %w", err)
	}
	return nil
}

// PublicKey is one of the keys CloudTrail signs digest files with.
type PublicKey struct {
	Fingerprint string // hex, as digests name it
	Value       []byte // DER, PKCS #1
	From, To    time.Time
}

// SavePublicKeys keeps keys in the case (they are public), replacing any of the same fingerprint.
func (s *Store) SavePublicKeys(ctx context.Context, keys []PublicKey) error {
	for _, k := range keys {
		_, err := s.w.ExecContext(ctx, `INSERT INTO public_keys (fingerprint, value, valid_from, valid_to) VALUES (?, ?, ?, ?)
			ON CONFLICT (fingerprint) DO UPDATE SET value = excluded.value, valid_from = excluded.valid_from, valid_to = excluded.valid_to`,
			k.Fingerprint, k.Value, k.From.Unix(), k.To.Unix())
		if err != nil {
			return fmt.Errorf("save public keys: %w", err)
		}
	}
	return nil
}

// PublicKeys returns the keys the case keeps, by fingerprint.
func (s *Store) PublicKeys(ctx context.Context) (map[string]PublicKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT fingerprint, value, valid_from, valid_to FROM public_keys`)
	if err != nil {
		return nil, fmt.Errorf("read public keys: %w", err)
	}
	defer rows.Close()
	keys := map[string]PublicKey{}
	for rows.Next() {
		var k PublicKey
		var from, to int64
		if err := rows.Scan(&k.Fingerprint, &k.Value, &from, &to); err != nil {
			return nil, fmt.Errorf("read public keys: %w", err)
		}
		k.From, k.To = time.Unix(from, 0).UTC(), time.Unix(to, 0).UTC()
		keys[k.Fingerprint] = k
	}
	return keys, rows.Err()
}
