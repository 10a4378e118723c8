ALTER TABLE kiosk_devices DROP COLUMN version;
ALTER TABLE kiosk_devices DROP COLUMN buffered;
