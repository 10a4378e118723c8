ALTER TABLE locations DROP COLUMN weekly_digest;
