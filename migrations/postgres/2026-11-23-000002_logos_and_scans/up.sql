-- A location's sticker logo (normalised PNG) and its fingerprint for cache validation.
ALTER TABLE locations ADD COLUMN logo_png BYTEA;
ALTER TABLE locations ADD COLUMN logo_etag TEXT;

-- Form views per touchpoint per store-local day: counts only, no personal data.
CREATE TABLE touchpoint_scans (
    touchpoint_id TEXT NOT NULL REFERENCES touchpoints (id) ON DELETE CASCADE,
    day           DATE NOT NULL,
    scans         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (touchpoint_id, day)
);
