-- The three indexed text columns are also kept as ids into dictionaries of their distinct values
-- folded to lower case (ASCII letters only, as lower() and NOCASE fold). Their indexes then sort
-- integers, which builds them about twice as fast and a third the size, and a wildcard or CIDR
-- is tested once per distinct value in its dictionary instead of once per event.
CREATE TABLE event_names (id INTEGER PRIMARY KEY, value TEXT NOT NULL UNIQUE);
CREATE TABLE source_ips (id INTEGER PRIMARY KEY, value TEXT NOT NULL UNIQUE);
CREATE TABLE principal_arns (id INTEGER PRIMARY KEY, value TEXT NOT NULL UNIQUE);

ALTER TABLE events ADD COLUMN event_name_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN source_ip_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN principal_arn_id INTEGER NOT NULL DEFAULT 0;

INSERT INTO event_names (value) SELECT DISTINCT lower(event_name) FROM events;
INSERT INTO source_ips (value) SELECT DISTINCT lower(source_ip) FROM events;
INSERT INTO principal_arns (value) SELECT DISTINCT lower(principal_arn) FROM events;

DROP INDEX IF EXISTS events_name;
DROP INDEX IF EXISTS events_ip;
DROP INDEX IF EXISTS events_principal;
UPDATE events SET
    event_name_id = (SELECT id FROM event_names WHERE value = lower(events.event_name)),
    source_ip_id = (SELECT id FROM source_ips WHERE value = lower(events.source_ip)),
    principal_arn_id = (SELECT id FROM principal_arns WHERE value = lower(events.principal_arn));

-- Every index on events, whatever a killed load left deferred: the deferred list holds the old
-- forms, so it goes.
DELETE FROM settings WHERE key = 'load_deferred_indexes';
CREATE UNIQUE INDEX IF NOT EXISTS events_event_id ON events (event_id);
CREATE INDEX IF NOT EXISTS events_time ON events (time);
CREATE INDEX events_name ON events (event_name_id, time);
CREATE INDEX events_ip ON events (source_ip_id, time);
CREATE INDEX events_principal ON events (principal_arn_id, time);
