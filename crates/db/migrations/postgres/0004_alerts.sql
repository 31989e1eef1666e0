-- Risk alerts: one open alert per (posting, rule) with its evidence and suggested actions, the
-- history of every state it went through, the penalty-point ledger of whitelist violations,
-- and what the evaluator needs to work incrementally: when each posting's findings next
-- change on their own, up to when each store was evaluated, and up to when each leg's events
-- are known (a silence is only judged up to our last successful look).

ALTER TABLE postings ADD COLUMN risk_due_at TIMESTAMPTZ;
ALTER TABLE legs ADD COLUMN checked_at TIMESTAMPTZ;

CREATE INDEX postings_risk_due ON postings (store_id, risk_due_at);
CREATE INDEX postings_updated ON postings (store_id, updated_at);
CREATE INDEX legs_updated ON legs (updated_at);

CREATE TABLE alerts (
    id               BIGSERIAL PRIMARY KEY,
    store_id         BIGINT NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    posting_id       BIGINT NOT NULL REFERENCES postings (id) ON DELETE CASCADE,
    rule             TEXT    NOT NULL,
    leg_number       TEXT,
    severity         TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    since            TIMESTAMPTZ NOT NULL,
    why              TEXT    NOT NULL,
    actions          TEXT    NOT NULL,
    evidence         TEXT    NOT NULL,
    opened_at        TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    acknowledged_at  TIMESTAMPTZ,
    acknowledged_by  TEXT,
    ack_note         TEXT,
    resolved_at      TIMESTAMPTZ,
    resolution       TEXT,
    resolved_by      TEXT,
    resolve_note     TEXT
);
CREATE UNIQUE INDEX alerts_one_open ON alerts (posting_id, rule) WHERE resolved_at IS NULL;
CREATE INDEX alerts_posting ON alerts (posting_id);
CREATE INDEX alerts_store_open ON alerts (store_id, resolved_at);

CREATE TABLE alert_history (
    id        BIGSERIAL PRIMARY KEY,
    alert_id  BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    at        TIMESTAMPTZ NOT NULL,
    state     TEXT    NOT NULL,
    severity  TEXT    NOT NULL,
    note      TEXT,
    by_whom   TEXT
);
CREATE INDEX alert_history_alert ON alert_history (alert_id);

CREATE TABLE penalty_points (
    id               BIGSERIAL PRIMARY KEY,
    store_id         BIGINT NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    posting_id       BIGINT NOT NULL REFERENCES postings (id) ON DELETE CASCADE,
    tracking_number  TEXT    NOT NULL,
    carrier          TEXT    NOT NULL,
    points           BIGINT NOT NULL,
    at               TIMESTAMPTZ NOT NULL,
    UNIQUE (posting_id, tracking_number)
);

CREATE TABLE risk_state (
    store_id         BIGINT PRIMARY KEY REFERENCES stores (id) ON DELETE CASCADE,
    evaluated_until  TIMESTAMPTZ
);
