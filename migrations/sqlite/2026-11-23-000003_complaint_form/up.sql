-- The customer's status link: only a hash of its token is kept.
ALTER TABLE cases ADD COLUMN status_token_hash TEXT;
-- The form render a case came from: a second tap on "send" finds the first case.
ALTER TABLE cases ADD COLUMN render_nonce TEXT;
CREATE UNIQUE INDEX cases_render_nonce ON cases (render_nonce);
-- Photo files under the data dir (by content hash); shown to staff only.
ALTER TABLE cases ADD COLUMN photo_path TEXT;
ALTER TABLE cases ADD COLUMN photo_thumb_path TEXT;
-- Category keys offered on this location's form, comma-separated; NULL: the defaults.
ALTER TABLE locations ADD COLUMN categories TEXT;
