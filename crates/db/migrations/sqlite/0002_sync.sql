-- Ozon sync: per-store watermark and push secret, resumable scans, received pushes.
--
-- A sync is planned as scans (one posting list walk each: a window of order time, optionally
-- only postings whose status changed in a window, or only named postings); each scan keeps its
-- cursor, written in the same transaction as the page it came with, so a killed sync resumes
-- at the page it had not yet stored.

ALTER TABLE stores ADD COLUMN push_secret TEXT;
ALTER TABLE stores ADD COLUMN synced_until TEXT;
UPDATE stores SET push_secret = lower(hex(randomblob(16))) WHERE push_secret IS NULL;
CREATE UNIQUE INDEX stores_push_secret ON stores (push_secret);

CREATE TABLE sync_scans (
    id               INTEGER PRIMARY KEY,
    store_id         INTEGER NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    kind             TEXT    NOT NULL,
    purpose          TEXT    NOT NULL,
    full_sync        BOOLEAN NOT NULL,
    planned_at       TEXT    NOT NULL,
    since            TEXT    NOT NULL,
    until            TEXT    NOT NULL,
    changed_from     TEXT,
    changed_to       TEXT,
    posting_numbers  TEXT    NOT NULL,
    cursor           TEXT    NOT NULL,
    done             BOOLEAN NOT NULL,
    pages            INTEGER NOT NULL,
    postings         INTEGER NOT NULL,
    updated_at       TEXT    NOT NULL
);

CREATE INDEX sync_scans_store ON sync_scans (store_id, id);

CREATE TABLE ozon_pushes (
    id              INTEGER PRIMARY KEY,
    store_id        INTEGER NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    dedupe_key      TEXT    NOT NULL,
    message_type    TEXT    NOT NULL,
    posting_number  TEXT,
    fbo             BOOLEAN NOT NULL,
    changed_at      TEXT,
    received_at     TEXT    NOT NULL,
    processed_at    TEXT,
    attempts        INTEGER NOT NULL,
    last_error      TEXT,
    UNIQUE (store_id, dedupe_key)
);

CREATE INDEX ozon_pushes_pending ON ozon_pushes (id) WHERE processed_at IS NULL;
