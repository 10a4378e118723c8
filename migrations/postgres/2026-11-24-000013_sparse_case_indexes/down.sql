DROP INDEX outbox_failed;
DROP INDEX cases_photo_path;
CREATE INDEX cases_photo_path ON cases (photo_path);
DROP INDEX cases_merged_into;
CREATE INDEX cases_merged_into ON cases (merged_into);
DROP INDEX cases_contact;
CREATE INDEX cases_contact ON cases (contact_email);
DROP INDEX cases_assignee;
CREATE INDEX cases_assignee ON cases (assignee_id);
