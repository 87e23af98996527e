-- CloudTrail signs each digest file in its S3 object's metadata; a load from S3 keeps the
-- signature (hex) with the file, and the region's public keys CloudTrail lists for the span
-- (they are public), so that the digests' signatures can be checked later, offline.
ALTER TABLE files ADD COLUMN signature TEXT NOT NULL DEFAULT '';

CREATE TABLE public_keys (
    fingerprint TEXT PRIMARY KEY,  -- hex, as digests name it
    value       BLOB NOT NULL,     -- DER, PKCS #1 RSA public key
    valid_from  INTEGER NOT NULL,  -- Unix seconds
    valid_to    INTEGER NOT NULL
);
