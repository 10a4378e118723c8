-- What a kiosk last said in its heartbeat: taps waiting in its outbox, and its version.
ALTER TABLE kiosk_devices ADD COLUMN buffered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE kiosk_devices ADD COLUMN version TEXT;
