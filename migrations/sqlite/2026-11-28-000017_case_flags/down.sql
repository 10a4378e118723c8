DROP INDEX cases_flagged;
ALTER TABLE cases DROP COLUMN flagged_at;
