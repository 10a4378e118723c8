-- The case workflow: who has the case, how it was resolved, and merged duplicates.
ALTER TABLE cases ADD COLUMN assignee_id TEXT;
-- What was done, and why it happened (from the location's list of root causes).
ALTER TABLE cases ADD COLUMN resolution TEXT;
ALTER TABLE cases ADD COLUMN root_cause TEXT;
ALTER TABLE cases ADD COLUMN compensation_type TEXT CHECK (compensation_type IN ('apology', 'discount', 'refund', 'voucher', 'replacement', 'other'));
-- In the currency's minor unit (cents), so sums are exact on both backends.
ALTER TABLE cases ADD COLUMN compensation_minor INTEGER CHECK (compensation_minor >= 0);
ALTER TABLE cases ADD COLUMN compensation_currency TEXT;
-- A duplicate points at the case it was merged into; resolving that resolves it.
ALTER TABLE cases ADD COLUMN merged_into TEXT;
-- A hash of the form's device cookie: the same phone complaining again is a repeat
-- complainant even without an email.
ALTER TABLE cases ADD COLUMN device_hash TEXT;
CREATE INDEX cases_device ON cases (device_hash);
CREATE INDEX cases_assignee ON cases (assignee_id);
CREATE INDEX cases_contact ON cases (contact_email);
CREATE INDEX cases_merged_into ON cases (merged_into);
-- Comma-separated root causes offered when resolving; NULL: the defaults.
ALTER TABLE locations ADD COLUMN root_causes TEXT;
