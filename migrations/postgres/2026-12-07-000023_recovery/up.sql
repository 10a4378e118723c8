-- The recovery conversation (issue 27).
-- What the customer said would make it right: one answer per case, which they may change
-- until the case is resolved. `kind` is a `Wish`; `text` is their own words (erased with
-- the case's other personal data).
CREATE TABLE case_wishes (
    case_id TEXT PRIMARY KEY NOT NULL REFERENCES cases (id),
    kind TEXT NOT NULL,
    text TEXT,
    given_at TIMESTAMP NOT NULL
);
-- What people of a role may grant on their own at a store: the compensation types
-- (comma-separated) and an amount per case in the store's currency's minor unit (0: every
-- amount goes to a manager). No row: the defaults of `domain::recovery::limits`.
CREATE TABLE remedy_limits (
    location_id TEXT NOT NULL REFERENCES locations (id),
    role TEXT NOT NULL,
    kinds TEXT NOT NULL,
    max_minor BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (location_id, role)
);
-- A remedy above the proposer's limit, waiting for (or decided by) a manager. Decided once:
-- a conditional update on `decided_at IS NULL`.
CREATE TABLE remedy_proposals (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    proposed_by TEXT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    amount_minor BIGINT,
    currency TEXT,
    reason TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    approved BOOLEAN,
    decided_by TEXT REFERENCES users (id),
    decided_at TIMESTAMP
);
CREATE INDEX remedy_proposals_case ON remedy_proposals (case_id, created_at);
-- A store's short texts to start a message to the customer from ("apology", "on_it"), per
-- language; no row: the catalog's default.
CREATE TABLE store_replies (
    location_id TEXT NOT NULL REFERENCES locations (id),
    kind TEXT NOT NULL,
    language TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (location_id, kind, language)
);
