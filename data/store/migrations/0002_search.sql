-- Secondary indexes for the columns the UI filters, groups and pivots on.
CREATE INDEX events_time ON events (time);
CREATE INDEX events_name ON events (event_name, time);
CREATE INDEX events_ip ON events (source_ip, time);
CREATE INDEX events_principal ON events (principal_arn, time);

-- Full-text index over every value of the raw record (not the keys), contentless: its rowid is
-- events.id. It is filled after a load up to the mark kept in settings('fts_done'). Searches
-- only test membership (no bm25 ranking), so the per-row token counts are not kept.
CREATE VIRTUAL TABLE events_fts USING fts5 (vals, content = '', columnsize = 0,
    tokenize = "unicode61 remove_diacritics 0");
