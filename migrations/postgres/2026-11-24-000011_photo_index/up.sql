-- Which cases hold a photo file: asked for each file by the hourly sweep of photos no
-- case holds, and when retention frees a photo.
CREATE INDEX cases_photo_path ON cases (photo_path);
