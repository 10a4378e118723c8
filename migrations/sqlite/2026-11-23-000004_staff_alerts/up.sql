-- Staff alerts: who gets them, when the store is open, what counts as severe, and the
-- escalation chain for cases nobody acknowledges.

-- "mon-fri 08:00-20:00; sat 09:00-14:00" in the store's time zone; NULL: always open.
ALTER TABLE locations ADD COLUMN opening_hours TEXT;
-- Minutes after the manager's escalation before the admins are told.
ALTER TABLE locations ADD COLUMN escalation_minutes INTEGER NOT NULL DEFAULT 15 CHECK (escalation_minutes > 0);
-- Comma-separated category keys and keywords that flag a case as severe.
ALTER TABLE locations ADD COLUMN severe_categories TEXT;
ALTER TABLE locations ADD COLUMN severe_keywords TEXT;

-- Routing: a category's recipients, the fallback list, and the after-hours list.
CREATE TABLE alert_recipients (
    location_id TEXT NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    rule        TEXT NOT NULL CHECK (rule IN ('category', 'fallback', 'after_hours')),
    category    TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL,
    PRIMARY KEY (location_id, rule, category, email)
);

-- One pending escalation per case and level; acknowledging cancels what is pending.
CREATE TABLE escalations (
    case_id      TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    level        INTEGER NOT NULL CHECK (level IN (1, 2)),
    due_at       TIMESTAMP NOT NULL,
    fired_at     TIMESTAMP,
    cancelled_at TIMESTAMP,
    PRIMARY KEY (case_id, level)
);
CREATE INDEX escalations_pending ON escalations (due_at) WHERE fired_at IS NULL AND cancelled_at IS NULL;

-- A message the mail server refused for good (5xx): kept, with its error, for admins.
ALTER TABLE outbox ADD COLUMN failed_at TIMESTAMP;
-- The case a message is about, if any (alerts, escalations, replies, surveys).
ALTER TABLE outbox ADD COLUMN case_id TEXT;
CREATE INDEX outbox_case ON outbox (case_id);
