-- ozontrack initial schema (PostgreSQL). Append-only: never edit a migration that has shipped,
-- add a new file with the same name in both backends instead.
--
-- Work is claimed through the lease columns (next_check_at, lease_owner, lease_until) on the
-- rows themselves, with FOR UPDATE SKIP LOCKED.

CREATE TABLE stores (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            TEXT        NOT NULL UNIQUE,
    client_id       BIGINT      NOT NULL,
    api_key_enc     BYTEA       NOT NULL,
    ozon_base_url   TEXT        NOT NULL,
    timezone        TEXT        NOT NULL,
    language        TEXT        NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    next_check_at   TIMESTAMPTZ,
    lease_owner     TEXT,
    lease_until     TIMESTAMPTZ
);

CREATE TABLE postings (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id              BIGINT      NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    posting_number        TEXT        NOT NULL,
    order_number          TEXT        NOT NULL,
    order_id              BIGINT,
    scheme                TEXT        NOT NULL,
    status                TEXT        NOT NULL,
    substatus             TEXT        NOT NULL,
    delivery_method_id    BIGINT,
    delivery_method_name  TEXT,
    tpl_provider_id       BIGINT,
    tpl_provider          TEXT,
    warehouse_id          BIGINT,
    warehouse_name        TEXT,
    tracking_number       TEXT,
    in_process_at         TIMESTAMPTZ,
    ship_by               TIMESTAMPTZ,
    delivering_at         TIMESTAMPTZ,
    delivered_at          TIMESTAMPTZ,
    buyer_city            TEXT,
    buyer_region          TEXT,
    buyer_lat             DOUBLE PRECISION,
    buyer_lon             DOUBLE PRECISION,
    total_minor           BIGINT,
    total_currency        TEXT,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL,
    UNIQUE (store_id, posting_number)
);

CREATE INDEX postings_tracking_number ON postings (tracking_number);

CREATE TABLE legs (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    posting_id       BIGINT      NOT NULL REFERENCES postings (id) ON DELETE CASCADE,
    carrier          TEXT        NOT NULL,
    tracking_number  TEXT        NOT NULL,
    role             TEXT        NOT NULL,
    status_main      TEXT,
    status_sub       TEXT,
    status_raw       TEXT,
    last_event_at    TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    next_check_at    TIMESTAMPTZ,
    lease_owner      TEXT,
    lease_until      TIMESTAMPTZ,
    UNIQUE (posting_id, carrier, tracking_number)
);

CREATE INDEX legs_tracking_number ON legs (tracking_number);
CREATE INDEX legs_due ON legs (next_check_at) WHERE next_check_at IS NOT NULL;

CREATE TABLE events (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    leg_id          BIGINT      NOT NULL REFERENCES legs (id) ON DELETE CASCADE,
    occurred_at     TIMESTAMPTZ NOT NULL,
    received_at     TIMESTAMPTZ NOT NULL,
    status_main     TEXT        NOT NULL,
    status_sub      TEXT        NOT NULL,
    status_raw      TEXT,
    raw_code        TEXT        NOT NULL,
    raw_text        TEXT        NOT NULL,
    location_text   TEXT,
    city            TEXT,
    country         TEXT,
    lat             DOUBLE PRECISION,
    lon             DOUBLE PRECISION,
    source          TEXT        NOT NULL,
    fingerprint     TEXT        NOT NULL,
    payload_digest  TEXT,
    UNIQUE (leg_id, fingerprint)
);

CREATE INDEX events_leg_time ON events (leg_id, occurred_at);
