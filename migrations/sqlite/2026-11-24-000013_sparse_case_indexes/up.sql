-- Most complaints have no assignee, contact, photo or merge when they come in, yet each of
-- these indexes took an entry for every new case (NULLs are indexed too): four index
-- writes per complaint in the intake's hot path, a fifth of all its index writes. Every
-- query that uses them asks for one value (`= ?`), which implies NOT NULL, so the
-- partial indexes serve the same queries.
DROP INDEX cases_assignee;
CREATE INDEX cases_assignee ON cases (assignee_id) WHERE assignee_id IS NOT NULL;
DROP INDEX cases_contact;
CREATE INDEX cases_contact ON cases (contact_email) WHERE contact_email IS NOT NULL;
DROP INDEX cases_merged_into;
CREATE INDEX cases_merged_into ON cases (merged_into) WHERE merged_into IS NOT NULL;
DROP INDEX cases_photo_path;
CREATE INDEX cases_photo_path ON cases (photo_path) WHERE photo_path IS NOT NULL;
-- /metrics counts mail given up on at every scrape; without an index that read the whole
-- outbox. Only given-up rows are in it, so sending costs it nothing.
CREATE INDEX outbox_failed ON outbox (failed_at) WHERE failed_at IS NOT NULL;
