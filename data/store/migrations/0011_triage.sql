-- An analyst's verdict on an anomaly, with a note: kept apart from the analysis, which is
-- replaced whenever it runs again. Anomaly ids are stable when the same data is analysed
-- again, so a verdict outlives a rebuild.
CREATE TABLE triage (
    anomaly_id TEXT PRIMARY KEY,
    verdict    TEXT NOT NULL,            -- finding.Verdicts
    note       TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL             -- RFC 3339, UTC
);
