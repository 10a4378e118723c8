-- Taps not yet acknowledged by the server, oldest first. A row leaves only when the
-- server has said it stored the tap (or refused it for good: see rejected_taps).
CREATE TABLE taps (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    rating INTEGER NOT NULL,
    tapped_at_ms BIGINT NOT NULL
);

-- Taps the server refused as invalid: kept, never retried, counted in /status.
CREATE TABLE rejected_taps (
    key TEXT PRIMARY KEY NOT NULL,
    rating INTEGER NOT NULL,
    tapped_at_ms BIGINT NOT NULL,
    reason TEXT NOT NULL
);

-- What the server last told this kiosk (store name, language, sticker URL), so the
-- screen is right after a restart without network.
CREATE TABLE settings (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
