DROP TABLE touchpoint_scans;
ALTER TABLE locations DROP COLUMN logo_etag;
ALTER TABLE locations DROP COLUMN logo_png;
