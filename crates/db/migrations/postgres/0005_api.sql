-- API tokens: shown once, stored as their SHA-256 (looked up by it), with a display prefix,
-- a read-only switch and the stores they may see (none listed: every store).

CREATE TABLE api_tokens (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT    NOT NULL,
    prefix      TEXT    NOT NULL,
    hash        BYTEA    NOT NULL UNIQUE,
    read_only   BIGINT NOT NULL DEFAULT 0,
    created_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);

CREATE TABLE api_token_stores (
    token_id  BIGINT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    store_id  BIGINT NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    PRIMARY KEY (token_id, store_id)
);

CREATE INDEX postings_store_id ON postings (store_id, id);
