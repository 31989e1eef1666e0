-- Ozon sync: per-store watermark and push secret, resumable scans, received pushes.
--
-- A sync is planned as scans (one posting list walk each: a window of order time, optionally
-- only postings whose status changed in a window, or only named postings); each scan keeps its
-- cursor, written in the same transaction as the page it came with, so a killed sync resumes
-- at the page it had not yet stored.

ALTER TABLE stores ADD COLUMN push_secret TEXT;
ALTER TABLE stores ADD COLUMN synced_until TIMESTAMPTZ;
UPDATE stores SET push_secret = md5(random()::text || id::text || clock_timestamp()::text)
    WHERE push_secret IS NULL;
CREATE UNIQUE INDEX stores_push_secret ON stores (push_secret);

CREATE TABLE sync_scans (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id         BIGINT      NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    kind             TEXT        NOT NULL,
    purpose          TEXT        NOT NULL,
    full_sync        BOOLEAN     NOT NULL,
    planned_at       TIMESTAMPTZ NOT NULL,
    since            TIMESTAMPTZ NOT NULL,
    until            TIMESTAMPTZ NOT NULL,
    changed_from     TIMESTAMPTZ,
    changed_to       TIMESTAMPTZ,
    posting_numbers  TEXT        NOT NULL,
    cursor           TEXT        NOT NULL,
    done             BOOLEAN     NOT NULL,
    pages            BIGINT      NOT NULL,
    postings         BIGINT      NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);

CREATE INDEX sync_scans_store ON sync_scans (store_id, id);

CREATE TABLE ozon_pushes (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id        BIGINT      NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    dedupe_key      TEXT        NOT NULL,
    message_type    TEXT        NOT NULL,
    posting_number  TEXT,
    fbo             BOOLEAN     NOT NULL,
    changed_at      TIMESTAMPTZ,
    received_at     TIMESTAMPTZ NOT NULL,
    processed_at    TIMESTAMPTZ,
    attempts        BIGINT      NOT NULL,
    last_error      TEXT,
    UNIQUE (store_id, dedupe_key)
);

CREATE INDEX ozon_pushes_pending ON ozon_pushes (id) WHERE processed_at IS NULL;
