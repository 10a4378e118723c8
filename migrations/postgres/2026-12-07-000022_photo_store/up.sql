-- Photos in the database, where every instance reaches them (and a backup of the database
-- holds them). With an object store configured, a photo is written here first, in the
-- customer's request, and moved out by the worker: `bytes` is then NULL and `remote` true.
-- `path` is the key the cases hold (photos/ab/<sha256>.jpg, .thumb.jpg) and the object's
-- name in the object store.
CREATE TABLE photos (
    path TEXT PRIMARY KEY NOT NULL,
    bytes BYTEA,
    byte_size BIGINT NOT NULL,
    -- Last uploaded: a photo no case holds is swept a day after it.
    stored_at TIMESTAMP NOT NULL,
    -- Some case refers to it (set by the intake; the sweep checks the cases again).
    held BOOLEAN NOT NULL DEFAULT FALSE,
    remote BOOLEAN NOT NULL DEFAULT FALSE,
    -- Erased while in the object store: the worker deletes the object, then the row.
    deleted_at TIMESTAMP
);
CREATE INDEX photos_to_move ON photos (stored_at) WHERE bytes IS NOT NULL;
CREATE INDEX photos_unheld ON photos (stored_at) WHERE NOT held;
CREATE INDEX photos_deleted ON photos (deleted_at) WHERE deleted_at IS NOT NULL;
