-- Notifications: destinations (where messages go; their keys and secrets encrypted), the
-- transactional outbox (one row per message, written in the transaction of the change that
-- implies it; `dedupe_key` makes that idempotent), every attempt to send (the rate windows are
-- counted from these, so they survive restarts and are shared by every dispatcher), the seller's
-- own templates, and the buyer chats Ozon opened for postings.
CREATE TABLE destinations (
    id              BIGSERIAL PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL,
    address         TEXT    NOT NULL,
    secret_enc      BYTEA,
    language        TEXT    NOT NULL,
    time_zone       TEXT    NOT NULL,
    routing         TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    disabled_cause  TEXT,
    disabled_at     TIMESTAMPTZ,
    blocked_until   TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    next_check_at   TIMESTAMPTZ,
    lease_owner     TEXT,
    lease_until     TIMESTAMPTZ
);
CREATE INDEX destinations_due ON destinations (next_check_at);

CREATE TABLE outbox (
    id               BIGSERIAL PRIMARY KEY,
    destination_id   BIGINT NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
    dedupe_key       TEXT    NOT NULL UNIQUE,
    topic            TEXT    NOT NULL,
    store_id         BIGINT,
    posting_id       BIGINT,
    notice           TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    attempts         BIGINT  NOT NULL DEFAULT 0,
    parts_sent       BIGINT  NOT NULL DEFAULT 0,
    plain            BOOLEAN NOT NULL DEFAULT FALSE,
    held             BOOLEAN NOT NULL DEFAULT FALSE,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    sent_at          TIMESTAMPTZ,
    coalesced_into   BIGINT,
    last_outcome     TEXT,
    last_code        TEXT,
    remote_id        TEXT
);
CREATE INDEX outbox_due ON outbox (destination_id, next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_created ON outbox (created_at);
CREATE INDEX outbox_digest ON outbox (coalesced_into) WHERE coalesced_into IS NOT NULL;

CREATE TABLE outbox_attempts (
    id              BIGSERIAL PRIMARY KEY,
    message_id      BIGINT NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    destination_id  BIGINT  NOT NULL,
    at              TIMESTAMPTZ NOT NULL,
    part            BIGINT  NOT NULL,
    outcome         TEXT    NOT NULL,
    code            TEXT,
    took_ms         BIGINT
);
CREATE INDEX outbox_attempts_recent ON outbox_attempts (destination_id, at);
CREATE INDEX outbox_attempts_message ON outbox_attempts (message_id);

CREATE TABLE notify_templates (
    topic       TEXT NOT NULL,
    audience    TEXT NOT NULL,
    language    TEXT NOT NULL,
    body        TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    updated_by  TEXT,
    PRIMARY KEY (topic, audience, language)
);

CREATE TABLE buyer_chats (
    posting_id  BIGINT PRIMARY KEY REFERENCES postings (id) ON DELETE CASCADE,
    chat_id     TEXT NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL
);

-- Ozon lists `can_create_chat` among a posting's available actions while a buyer chat may be
-- opened for it.
ALTER TABLE postings ADD COLUMN chat_allowed BOOLEAN NOT NULL DEFAULT FALSE;

-- A feed's current (or last) outage: when it began, when it ended, and which outage the
-- sellers were told of (so the recovery is told once, and only after a told outage).
ALTER TABLE feed_health ADD COLUMN down_since TIMESTAMPTZ;
ALTER TABLE feed_health ADD COLUMN recovered_at TIMESTAMPTZ;
ALTER TABLE feed_health ADD COLUMN told_since TIMESTAMPTZ;
