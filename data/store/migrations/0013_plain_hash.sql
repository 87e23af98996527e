-- The SHA-256 of each file's plain content, gzip undone: what a CloudTrail digest lists for a
-- log file (and for the digest before it), so that the case can be checked against its digests.
-- Empty for files read before this column was kept.
ALTER TABLE files ADD COLUMN plain_sha256 TEXT NOT NULL DEFAULT '';
