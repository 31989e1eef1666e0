-- ozontrack initial schema (SQLite). Append-only: never edit a migration that has shipped,
-- add a new file with the same name in both backends instead.
--
-- Times are TEXT written by sqlx as RFC 3339 in UTC; they sort correctly as text because every
-- value is written by sqlx with the same offset (+00:00). Work is claimed through the lease
-- columns (next_check_at, lease_owner, lease_until) on the rows themselves.

CREATE TABLE stores (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    client_id       INTEGER NOT NULL,
    api_key_enc     BLOB    NOT NULL,
    ozon_base_url   TEXT    NOT NULL,
    timezone        TEXT    NOT NULL,
    language        TEXT    NOT NULL,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    next_check_at   TEXT,
    lease_owner     TEXT,
    lease_until     TEXT
);

CREATE TABLE postings (
    id                    INTEGER PRIMARY KEY,
    store_id              INTEGER NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    posting_number        TEXT    NOT NULL,
    order_number          TEXT    NOT NULL,
    order_id              INTEGER,
    scheme                TEXT    NOT NULL,
    status                TEXT    NOT NULL,
    substatus             TEXT    NOT NULL,
    delivery_method_id    INTEGER,
    delivery_method_name  TEXT,
    tpl_provider_id       INTEGER,
    tpl_provider          TEXT,
    warehouse_id          INTEGER,
    warehouse_name        TEXT,
    tracking_number       TEXT,
    in_process_at         TEXT,
    ship_by               TEXT,
    delivering_at         TEXT,
    delivered_at          TEXT,
    buyer_city            TEXT,
    buyer_region          TEXT,
    buyer_lat             REAL,
    buyer_lon             REAL,
    total_minor           INTEGER,
    total_currency        TEXT,
    created_at            TEXT    NOT NULL,
    updated_at            TEXT    NOT NULL,
    UNIQUE (store_id, posting_number)
);

CREATE INDEX postings_tracking_number ON postings (tracking_number);

CREATE TABLE legs (
    id               INTEGER PRIMARY KEY,
    posting_id       INTEGER NOT NULL REFERENCES postings (id) ON DELETE CASCADE,
    carrier          TEXT    NOT NULL,
    tracking_number  TEXT    NOT NULL,
    role             TEXT    NOT NULL,
    status_main      TEXT,
    status_sub       TEXT,
    status_raw       TEXT,
    last_event_at    TEXT,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    next_check_at    TEXT,
    lease_owner      TEXT,
    lease_until      TEXT,
    UNIQUE (posting_id, carrier, tracking_number)
);

CREATE INDEX legs_tracking_number ON legs (tracking_number);
CREATE INDEX legs_due ON legs (next_check_at) WHERE next_check_at IS NOT NULL;

CREATE TABLE events (
    id              INTEGER PRIMARY KEY,
    leg_id          INTEGER NOT NULL REFERENCES legs (id) ON DELETE CASCADE,
    occurred_at     TEXT    NOT NULL,
    received_at     TEXT    NOT NULL,
    status_main     TEXT    NOT NULL,
    status_sub      TEXT    NOT NULL,
    status_raw      TEXT,
    raw_code        TEXT    NOT NULL,
    raw_text        TEXT    NOT NULL,
    location_text   TEXT,
    city            TEXT,
    country         TEXT,
    lat             REAL,
    lon             REAL,
    source          TEXT    NOT NULL,
    fingerprint     TEXT    NOT NULL,
    payload_digest  TEXT,
    UNIQUE (leg_id, fingerprint)
);

CREATE INDEX events_leg_time ON events (leg_id, occurred_at);
