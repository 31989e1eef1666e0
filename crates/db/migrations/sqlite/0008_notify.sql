-- Notifications: destinations (where messages go; their keys and secrets encrypted), the
-- transactional outbox (one row per message, written in the transaction of the change that
-- implies it; `dedupe_key` makes that idempotent), every attempt to send (the rate windows are
-- counted from these, so they survive restarts and are shared by every dispatcher), the seller's
-- own templates, and the buyer chats Ozon opened for postings.
CREATE TABLE destinations (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL,
    address         TEXT    NOT NULL,
    secret_enc      BLOB,
    language        TEXT    NOT NULL,
    time_zone       TEXT    NOT NULL,
    routing         TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    disabled_cause  TEXT,
    disabled_at     TEXT,
    blocked_until   TEXT,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    next_check_at   TEXT,
    lease_owner     TEXT,
    lease_until     TEXT
);
CREATE INDEX destinations_due ON destinations (next_check_at);

CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    destination_id   INTEGER NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
    dedupe_key       TEXT    NOT NULL UNIQUE,
    topic            TEXT    NOT NULL,
    store_id         INTEGER,
    posting_id       INTEGER,
    notice           TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    parts_sent       INTEGER NOT NULL DEFAULT 0,
    plain            BOOLEAN NOT NULL DEFAULT FALSE,
    held             BOOLEAN NOT NULL DEFAULT FALSE,
    next_attempt_at  TEXT    NOT NULL,
    created_at       TEXT    NOT NULL,
    sent_at          TEXT,
    coalesced_into   INTEGER,
    last_outcome     TEXT,
    last_code        TEXT,
    remote_id        TEXT
);
CREATE INDEX outbox_due ON outbox (destination_id, next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_created ON outbox (created_at);
CREATE INDEX outbox_digest ON outbox (coalesced_into) WHERE coalesced_into IS NOT NULL;

CREATE TABLE outbox_attempts (
    id              INTEGER PRIMARY KEY,
    message_id      INTEGER NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    destination_id  INTEGER NOT NULL,
    at              TEXT    NOT NULL,
    part            INTEGER NOT NULL,
    outcome         TEXT    NOT NULL,
    code            TEXT,
    took_ms         INTEGER
);
CREATE INDEX outbox_attempts_recent ON outbox_attempts (destination_id, at);
CREATE INDEX outbox_attempts_message ON outbox_attempts (message_id);

CREATE TABLE notify_templates (
    topic       TEXT NOT NULL,
    audience    TEXT NOT NULL,
    language    TEXT NOT NULL,
    body        TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT,
    PRIMARY KEY (topic, audience, language)
);

CREATE TABLE buyer_chats (
    posting_id  INTEGER PRIMARY KEY REFERENCES postings (id) ON DELETE CASCADE,
    chat_id     TEXT NOT NULL,
    started_at  TEXT NOT NULL
);

-- Ozon lists `can_create_chat` among a posting's available actions while a buyer chat may be
-- opened for it.
ALTER TABLE postings ADD COLUMN chat_allowed BOOLEAN NOT NULL DEFAULT FALSE;

-- A feed's current (or last) outage: when it began, when it ended, and which outage the
-- sellers were told of (so the recovery is told once, and only after a told outage).
ALTER TABLE feed_health ADD COLUMN down_since TEXT;
ALTER TABLE feed_health ADD COLUMN recovered_at TEXT;
ALTER TABLE feed_health ADD COLUMN told_since TEXT;
