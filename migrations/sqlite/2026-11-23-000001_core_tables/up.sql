-- The whole data model of Mend, so later features add columns rather than tables.
-- Ids are UUIDv7 text, times are UTC TIMESTAMP: the same on SQLite and PostgreSQL.

CREATE TABLE locations (
    id               TEXT PRIMARY KEY NOT NULL,
    name             TEXT NOT NULL UNIQUE,
    time_zone        TEXT NOT NULL,
    default_language TEXT NOT NULL,
    sla_minutes      INTEGER NOT NULL DEFAULT 15 CHECK (sla_minutes > 0),
    created_at       TIMESTAMP NOT NULL
);

CREATE TABLE touchpoints (
    id          TEXT PRIMARY KEY NOT NULL,
    location_id TEXT NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    label       TEXT NOT NULL,
    code        TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMP NOT NULL,
    UNIQUE (location_id, label)
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('staff', 'manager', 'admin')),
    language      TEXT NOT NULL DEFAULT 'en',
    created_at    TIMESTAMP NOT NULL
);

CREATE TABLE user_locations (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    location_id TEXT NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, location_id)
);

CREATE TABLE cases (
    id              TEXT PRIMARY KEY NOT NULL,
    reference       TEXT NOT NULL UNIQUE,
    location_id     TEXT NOT NULL REFERENCES locations (id),
    touchpoint_id   TEXT NOT NULL REFERENCES touchpoints (id),
    category        TEXT NOT NULL,
    body            TEXT NOT NULL,
    contact_email   TEXT,
    contact_consent BOOLEAN NOT NULL DEFAULT FALSE,
    language        TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    acknowledged_at TIMESTAMP,
    resolved_at     TIMESTAMP
);
CREATE INDEX cases_location_created ON cases (location_id, created_at);
CREATE INDEX cases_status ON cases (status);

CREATE TABLE case_events (
    id            TEXT PRIMARY KEY NOT NULL,
    case_id       TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    actor_user_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    kind          TEXT NOT NULL,
    detail        TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX case_events_case_created ON case_events (case_id, created_at);

CREATE TABLE outbox (
    id              TEXT PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    payload         TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_until   TIMESTAMP,
    sent_at         TIMESTAMP,
    last_error      TEXT,
    dedupe_key      TEXT NOT NULL UNIQUE,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX outbox_due ON outbox (sent_at, next_attempt_at);

CREATE TABLE surveys (
    id                TEXT PRIMARY KEY NOT NULL,
    case_id           TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    token_hash        TEXT NOT NULL UNIQUE,
    sent_at           TIMESTAMP,
    answered_at       TIMESTAMP,
    csat              INTEGER CHECK (csat BETWEEN 1 AND 5),
    fixed             TEXT CHECK (fixed IN ('yes', 'partly', 'no')),
    return_likelihood INTEGER CHECK (return_likelihood BETWEEN 0 AND 10),
    comment           TEXT,
    created_at        TIMESTAMP NOT NULL
);
CREATE INDEX surveys_case ON surveys (case_id);

CREATE TABLE kiosk_devices (
    id           TEXT PRIMARY KEY NOT NULL,
    location_id  TEXT NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP,
    revoked_at   TIMESTAMP
);

CREATE TABLE kiosk_ratings (
    id              TEXT PRIMARY KEY NOT NULL,
    device_id       TEXT NOT NULL REFERENCES kiosk_devices (id) ON DELETE CASCADE,
    location_id     TEXT NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    rating          INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 4),
    idempotency_key TEXT NOT NULL UNIQUE,
    tapped_at       TIMESTAMP NOT NULL,
    received_at     TIMESTAMP NOT NULL
);
CREATE INDEX kiosk_ratings_location_tapped ON kiosk_ratings (location_id, tapped_at);
