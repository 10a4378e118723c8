-- REST API tokens. A token acts for one person (never more than they may), with a scope
-- (read, write, admin) and optionally only some of that person's stores. Only the
-- SHA-256 of the token is kept: the token itself is shown once, when it is made.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    scope        TEXT NOT NULL,
    created_by   TEXT REFERENCES users (id),
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP,
    revoked_at   TIMESTAMP,
    last_used_at TIMESTAMP
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- A token limited to some stores: one row each. No rows: all of its person's stores.
CREATE TABLE api_token_locations (
    token_id    TEXT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    location_id TEXT NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    PRIMARY KEY (token_id, location_id)
);

-- A POST that creates something, sent with an Idempotency-Key: the answer it got, kept
-- with the key so the same request sent again gets the same answer and creates nothing.
-- Written in the transaction that creates the thing.
CREATE TABLE api_idempotency (
    token_id     TEXT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (token_id, key)
);
CREATE INDEX api_idempotency_created ON api_idempotency (created_at);
