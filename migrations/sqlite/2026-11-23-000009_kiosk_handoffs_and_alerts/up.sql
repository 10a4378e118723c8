-- A kiosk's one-time handoff to the complaint form: each tap's key is used by at most
-- one case (the primary key makes the link single-use).
CREATE TABLE kiosk_handoffs (
    tap_key TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX kiosk_handoffs_case ON kiosk_handoffs (case_id);

-- Unhappy kiosk taps: this many (0 = off) within this many minutes alert the store once.
ALTER TABLE locations ADD COLUMN unhappy_taps INTEGER NOT NULL DEFAULT 5;
ALTER TABLE locations ADD COLUMN unhappy_tap_minutes INTEGER NOT NULL DEFAULT 15;
-- The time of the tap that last set off that alert: one alert per window.
ALTER TABLE locations ADD COLUMN unhappy_alerted_at TIMESTAMP;
