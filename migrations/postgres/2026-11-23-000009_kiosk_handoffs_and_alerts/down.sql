ALTER TABLE locations DROP COLUMN unhappy_alerted_at;
ALTER TABLE locations DROP COLUMN unhappy_tap_minutes;
ALTER TABLE locations DROP COLUMN unhappy_taps;
DROP INDEX kiosk_handoffs_case;
DROP TABLE kiosk_handoffs;
