-- A burst rule may count the distinct values of a field among its matches (ten different
-- secrets read within a minute) instead of the matches themselves.
ALTER TABLE rules ADD COLUMN distinct_field TEXT NOT NULL DEFAULT '';
