-- A store can exist without Ozon API access: a seller who imports the seller office's postings
-- report until the API key comes. Its client_id is 0 and its key empty, and it is never due for
-- a sync; connecting it later (`stores set-key`) turns the access on.
ALTER TABLE stores ADD COLUMN api_access BOOLEAN NOT NULL DEFAULT TRUE;

-- A posting's product lines, as the seller office's postings report lists them (one row per
-- product line there). Replaced whole when a source lists them again.
CREATE TABLE posting_products (
    posting_id      BIGINT  NOT NULL REFERENCES postings (id) ON DELETE CASCADE,
    line            INTEGER NOT NULL,
    sku             BIGINT,
    offer_id        TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    quantity        INTEGER NOT NULL,
    price_minor     BIGINT,
    price_currency  TEXT,
    PRIMARY KEY (posting_id, line)
);

-- Chores: work done for the whole installation on a schedule (backups), claimed through the
-- same lease columns as legs and stores, so one process does each when several run. Due at
-- once when first seen.
CREATE TABLE chores (
    id             BIGSERIAL PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    next_check_at  TIMESTAMPTZ,
    lease_owner    TEXT,
    lease_until    TIMESTAMPTZ
);
INSERT INTO chores (id, name, next_check_at) VALUES (1, 'backup', '1970-01-01T00:00:00+00:00');
