-- A business sets itself up: stores get what a chain needs (address, region, currency, an
-- external reference for imports, archiving); spots can be ordered, retired and given a
-- new sticker; people can be deactivated; sessions live on the server so they can be
-- ended; every administrative change is logged.
ALTER TABLE locations ADD COLUMN address TEXT;
ALTER TABLE locations ADD COLUMN region TEXT;
ALTER TABLE locations ADD COLUMN currency TEXT NOT NULL DEFAULT 'EUR';
ALTER TABLE locations ADD COLUMN external_ref TEXT;
ALTER TABLE locations ADD COLUMN archived_at TIMESTAMP;
CREATE UNIQUE INDEX locations_external_ref ON locations (external_ref) WHERE external_ref IS NOT NULL;

ALTER TABLE touchpoints ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
ALTER TABLE touchpoints ADD COLUMN retired_at TIMESTAMP;
ALTER TABLE touchpoints ADD COLUMN external_ref TEXT;
-- A replaced sticker's code keeps working until it is retired too.
ALTER TABLE touchpoints ADD COLUMN previous_code TEXT;
ALTER TABLE touchpoints ADD COLUMN previous_code_retired_at TIMESTAMP;
CREATE UNIQUE INDEX touchpoints_previous_code ON touchpoints (previous_code) WHERE previous_code IS NOT NULL;
CREATE UNIQUE INDEX touchpoints_external_ref ON touchpoints (location_id, external_ref) WHERE external_ref IS NOT NULL;

ALTER TABLE kiosk_devices ADD COLUMN touchpoint_id TEXT REFERENCES touchpoints (id);

ALTER TABLE users ADD COLUMN deactivated_at TIMESTAMP;

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    ended_at   TIMESTAMP
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE ended_at IS NULL;

CREATE TABLE admin_log (
    id            TEXT PRIMARY KEY NOT NULL,
    actor_user_id TEXT REFERENCES users (id),
    -- Who, as shown: an email, or "command line".
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    before        TEXT,
    after         TEXT,
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX admin_log_created ON admin_log (created_at);

-- Severity is decided when a case arrives and kept: changing a store's severe keywords
-- later does not relabel old cases. NULL: decided before this column existed.
ALTER TABLE cases ADD COLUMN severe BOOLEAN;

-- A store's own complaint categories, each with a label per language (JSON object
-- {"en": ..., "ko": ...}). A store without rows offers the six defaults.
CREATE TABLE store_categories (
    location_id TEXT NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    labels      TEXT NOT NULL,
    position    INTEGER NOT NULL DEFAULT 0,
    severe      BOOLEAN NOT NULL DEFAULT FALSE,
    retired_at  TIMESTAMP,
    PRIMARY KEY (location_id, key)
);
