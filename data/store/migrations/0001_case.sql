-- The case file: events with extracted columns, their raw JSON kept apart (scans of the columns
-- stay fast), the files they came from, settings, and the analysis results.

CREATE TABLE files (
    id        INTEGER PRIMARY KEY,
    path      TEXT NOT NULL,               -- file on disk, or s3://bucket/key
    entry     TEXT NOT NULL DEFAULT '',    -- location inside archives, levels joined by '!'
    size      INTEGER NOT NULL DEFAULT 0,  -- bytes read (after decompression)
    sha256    TEXT NOT NULL DEFAULT '',
    format    TEXT NOT NULL DEFAULT '',
    events    INTEGER NOT NULL DEFAULT 0,  -- events decoded
    added     INTEGER NOT NULL DEFAULT 0,  -- events new to the case
    status    TEXT NOT NULL,               -- loaded | skipped | failed
    reason    TEXT NOT NULL DEFAULT '',
    loaded_at TEXT NOT NULL,
    UNIQUE (path, entry)
);

CREATE TABLE events (
    id                INTEGER PRIMARY KEY,
    event_id          TEXT NOT NULL,
    time              INTEGER NOT NULL,  -- Unix milliseconds, UTC
    event_source      TEXT NOT NULL DEFAULT '',
    event_name        TEXT NOT NULL DEFAULT '',
    event_type        TEXT NOT NULL DEFAULT '',
    region            TEXT NOT NULL DEFAULT '',
    source_ip         TEXT NOT NULL DEFAULT '',
    user_agent        TEXT NOT NULL DEFAULT '',
    error_code        TEXT NOT NULL DEFAULT '',
    principal_type    TEXT NOT NULL DEFAULT '',
    principal_arn     TEXT NOT NULL DEFAULT '',
    principal_account TEXT NOT NULL DEFAULT '',
    principal_id      TEXT NOT NULL DEFAULT '',
    invoked_by        TEXT NOT NULL DEFAULT '',
    user_name         TEXT NOT NULL DEFAULT '',
    access_key        TEXT NOT NULL DEFAULT '',
    session_issuer    TEXT NOT NULL DEFAULT '',
    recipient_account TEXT NOT NULL DEFAULT '',
    read_only         INTEGER,           -- NULL when the event does not say
    mfa               INTEGER NOT NULL DEFAULT 0,
    direction         TEXT NOT NULL DEFAULT '',
    file_id           INTEGER
);
CREATE UNIQUE INDEX events_event_id ON events (event_id);

-- Raw JSON apart from the columns: rowid equals events.id.
CREATE TABLE event_json (
    id   INTEGER PRIMARY KEY,
    json TEXT NOT NULL
);

CREATE TABLE insights (
    id       INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    time     INTEGER NOT NULL,
    json     TEXT NOT NULL,
    file_id  INTEGER
);

CREATE TABLE digests (
    id      INTEGER PRIMARY KEY,
    key     TEXT NOT NULL UNIQUE,  -- hash of the digest JSON
    json    TEXT NOT NULL,
    file_id INTEGER
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE notes (
    id       INTEGER PRIMARY KEY,
    created  TEXT NOT NULL,
    subject  TEXT NOT NULL DEFAULT '',  -- eventID, anomaly id, address…
    body     TEXT NOT NULL
);
