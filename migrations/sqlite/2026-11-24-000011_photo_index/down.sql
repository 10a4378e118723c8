DROP INDEX cases_photo_path;
