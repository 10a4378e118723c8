ALTER TABLE cases DROP COLUMN anonymized_at;
ALTER TABLE locations DROP COLUMN retention_days;
