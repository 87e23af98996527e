-- What a verdict was given on, besides the anomaly's id: its entity, direction and window. The
-- id hashes the window's start, which new, earlier data can move; the verdict then follows the
-- anomaly of the same entity and direction whose window overlaps (Store.SaveAnalysis).
ALTER TABLE triage ADD COLUMN entity TEXT NOT NULL DEFAULT '';
ALTER TABLE triage ADD COLUMN direction TEXT NOT NULL DEFAULT '';
ALTER TABLE triage ADD COLUMN window_start INTEGER NOT NULL DEFAULT 0;  -- Unix milliseconds
ALTER TABLE triage ADD COLUMN window_end INTEGER NOT NULL DEFAULT 0;
UPDATE triage SET (entity, direction, window_start, window_end) =
    (SELECT entity, direction, window_start, window_end FROM anomalies WHERE anomalies.id = triage.anomaly_id)
    WHERE anomaly_id IN (SELECT id FROM anomalies);
