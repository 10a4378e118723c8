-- Erasure is a flag on the case, not its text: a complaint that happened to read like the
-- marker could not be erased by its author. Cases erased before carry the marker.
ALTER TABLE cases ADD COLUMN erased_at TIMESTAMP;
UPDATE cases SET erased_at = COALESCE(anonymized_at, created_at)
 WHERE body = '(erased at the customer''s request)';
