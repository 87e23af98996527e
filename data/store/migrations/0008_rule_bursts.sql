-- Burst rules: a rule with a threshold above 1 makes indicators only of matches that come at
-- least that many within window_minutes, sharing the value of the field group_by names (all
-- matches together when it is empty).
ALTER TABLE rules ADD COLUMN threshold INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rules ADD COLUMN window_minutes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rules ADD COLUMN group_by TEXT NOT NULL DEFAULT '';
