-- Secondary indexes for the columns the UI filters, groups and pivots on.
CREATE INDEX events_time ON events (time);
-- NOCASE because the query language matches values case-insensitively: a BINARY index cannot
-- serve `event_name = ? COLLATE NOCASE`, and a rare API would scan the whole index.
CREATE INDEX events_name ON events (event_name COLLATE NOCASE, time);
CREATE INDEX events_ip ON events (source_ip COLLATE NOCASE, time);
CREATE INDEX events_principal ON events (principal_arn COLLATE NOCASE, time);

-- Full-text index over every value of the raw record (not the keys), contentless: its rowid is
-- events.id. It is filled after a load up to the mark kept in settings('fts_done'). Searches
-- only test membership (no bm25 ranking), so the per-row token counts are not kept.
CREATE VIRTUAL TABLE events_fts USING fts5 (vals, content = '', columnsize = 0,
    tokenize = "unicode61 remove_diacritics 0");
