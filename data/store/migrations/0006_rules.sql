-- Rules: saved queries that run on a schedule; each event a rule matches becomes an indicator.
-- checked_through is the events.id up to which the rule has looked, so that a run reads only
-- what arrived since; an edit sets it back to 0 and drops the rule's indicators.
CREATE TABLE rules (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    query TEXT NOT NULL,
    every_minutes INTEGER NOT NULL DEFAULT 60,
    stage TEXT NOT NULL DEFAULT '',
    severity INTEGER NOT NULL DEFAULT 5,
    label TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '',
    enabled INTEGER NOT NULL DEFAULT 1,
    builtin INTEGER NOT NULL DEFAULT 0,
    checked_through INTEGER NOT NULL DEFAULT 0,
    last_run INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE indicators (
    rule_id INTEGER NOT NULL,
    event_id INTEGER NOT NULL,
    time INTEGER NOT NULL,
    PRIMARY KEY (rule_id, event_id)
) WITHOUT ROWID;
CREATE INDEX indicators_time ON indicators (time);
