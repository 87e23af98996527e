-- Analysis results: anomalies as printed by `trailscope anomalies`, and the per-direction series
-- behind the dashboard charts, precomputed so the dashboard reads them in milliseconds.
CREATE TABLE anomalies (
    id           TEXT PRIMARY KEY,
    risk         INTEGER NOT NULL,
    score        REAL NOT NULL DEFAULT 0,
    direction    TEXT NOT NULL,
    window_start INTEGER NOT NULL,  -- Unix milliseconds
    window_end   INTEGER NOT NULL,
    entity_type  TEXT NOT NULL,
    entity       TEXT NOT NULL,
    title        TEXT NOT NULL,
    json         TEXT NOT NULL      -- the whole anomaly, contract shape
);
CREATE INDEX anomalies_risk ON anomalies (risk DESC, score DESC);
CREATE INDEX anomalies_window ON anomalies (window_start);

CREATE TABLE series (
    direction TEXT NOT NULL,
    bin_start INTEGER NOT NULL,    -- Unix milliseconds
    observed  REAL NOT NULL,
    expected  REAL NOT NULL,
    lower     REAL NOT NULL,
    upper     REAL NOT NULL,
    PRIMARY KEY (direction, bin_start)
) WITHOUT ROWID;
