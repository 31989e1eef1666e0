-- API tokens: shown once, stored as their SHA-256 (looked up by it), with a display prefix,
-- a read-only switch and the stores they may see (none listed: every store).

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    prefix      TEXT    NOT NULL,
    hash        BLOB    NOT NULL UNIQUE,
    read_only   INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

CREATE TABLE api_token_stores (
    token_id  INTEGER NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    store_id  INTEGER NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    PRIMARY KEY (token_id, store_id)
);

CREATE INDEX postings_store_id ON postings (store_id, id);
