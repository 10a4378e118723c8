-- Managers may get a weekly email with the store's key figures (off unless asked for).
ALTER TABLE locations ADD COLUMN weekly_digest BOOLEAN NOT NULL DEFAULT FALSE;
