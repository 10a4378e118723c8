-- A resolved case flagged by an unhappy survey answer (when the store's setting does not
-- reopen it) stays in the inbox until someone has handled the answer.
ALTER TABLE cases ADD COLUMN flagged_at TIMESTAMP;
CREATE INDEX cases_flagged ON cases (flagged_at) WHERE flagged_at IS NOT NULL;
