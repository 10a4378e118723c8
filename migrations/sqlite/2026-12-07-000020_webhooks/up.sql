-- Webhook subscriptions: where to send which events of one store (or of all), in which
-- format, signed with which secret (Standard Webhooks; during a rotation the previous
-- secret signs too, until previous_secret_until).
CREATE TABLE webhook_subscriptions (
    id                    TEXT PRIMARY KEY NOT NULL,
    location_id           TEXT REFERENCES locations (id) ON DELETE CASCADE,
    url                   TEXT NOT NULL,
    format                TEXT NOT NULL,
    secret                TEXT NOT NULL,
    previous_secret       TEXT,
    previous_secret_until TIMESTAMP,
    -- Payloads carry the customer's email only when this is set.
    with_contact          BOOLEAN NOT NULL DEFAULT FALSE,
    created_by            TEXT REFERENCES users (id),
    created_at            TIMESTAMP NOT NULL,
    -- Failing since (the first failure after the last success); disabled after days of it.
    failing_since         TIMESTAMP,
    disabled_at           TIMESTAMP,
    disabled_reason       TEXT
);

CREATE TABLE webhook_subscription_events (
    subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event           TEXT NOT NULL,
    PRIMARY KEY (subscription_id, event)
);

-- One event to one subscription: written in the transaction of the event itself, delivered
-- by the outbox worker (claimed with a lease, retried with backoff), kept as the
-- subscription's delivery log. Deliveries of one case to one subscription go in order.
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY NOT NULL,
    subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event           TEXT NOT NULL,
    location_id     TEXT NOT NULL,
    case_id         TEXT,
    case_event_id   TEXT,
    -- What a non-case event carries (JSON).
    detail          TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    leased_until    TIMESTAMP,
    delivered_at    TIMESTAMP,
    failed_at       TIMESTAMP,
    last_status     INTEGER,
    last_error      TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (subscription_id, created_at);
CREATE INDEX webhook_deliveries_case ON webhook_deliveries (subscription_id, case_id) WHERE delivered_at IS NULL AND failed_at IS NULL;
