ALTER TABLE locations DROP COLUMN categories;
ALTER TABLE cases DROP COLUMN photo_thumb_path;
ALTER TABLE cases DROP COLUMN photo_path;
DROP INDEX cases_render_nonce;
ALTER TABLE cases DROP COLUMN render_nonce;
ALTER TABLE cases DROP COLUMN status_token_hash;
