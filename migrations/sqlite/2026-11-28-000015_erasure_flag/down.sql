ALTER TABLE cases DROP COLUMN erased_at;
