-- "You said, we did": a manager records what a store (or several) changed because of
-- complaints, tied to a category and/or a root cause, with its text per language (JSON
-- object {"en": ..., "ko": ...}). It is shown on the stores' public pages and, when asked,
-- mailed to the customers who complained about it in a period.
CREATE TABLE process_changes (
    id             TEXT PRIMARY KEY NOT NULL,
    created_by     TEXT REFERENCES users (id),
    created_at     TIMESTAMP NOT NULL,
    -- The day it takes effect (the stores' own calendar).
    effective_on   DATE NOT NULL,
    category       TEXT,
    root_cause     TEXT,
    texts          TEXT NOT NULL,
    -- The customers to tell: complaints made in [mail_from, mail_to) (UTC); NULL: nobody.
    mail_from      TIMESTAMP,
    mail_to        TIMESTAMP,
    -- How far the mailing has gone through the matching cases, newest first
    -- ("created_at|id" of the last case looked at), and when it was done.
    mail_cursor    TEXT,
    mailed_at      TIMESTAMP,
    mailed_count   INTEGER NOT NULL DEFAULT 0,
    withdrawn_at   TIMESTAMP
);
CREATE INDEX process_changes_mailing ON process_changes (created_at) WHERE mail_from IS NOT NULL AND mailed_at IS NULL;

CREATE TABLE process_change_stores (
    change_id   TEXT NOT NULL REFERENCES process_changes (id) ON DELETE CASCADE,
    location_id TEXT NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    PRIMARY KEY (change_id, location_id)
);
CREATE INDEX process_change_stores_location ON process_change_stores (location_id);
