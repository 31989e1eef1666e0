-- Carrier tracking: how each leg's carrier was decided (a manual choice is never undone by
-- detection), the aggregator registration and webhook coverage the schedule depends on, the
-- hand-over link from a last-mile leg to the leg it continues, and per-feed health so that
-- "the carrier is down" is told apart from "the parcel stalled".

-- When Ozon showed a posting as stored: a page read earlier but written later (list walks run
-- side by side) must not put an older state back.
ALTER TABLE postings ADD COLUMN observed_at TIMESTAMPTZ;

ALTER TABLE legs ADD COLUMN carrier_source TEXT NOT NULL DEFAULT 'detected';
ALTER TABLE legs ADD COLUMN carrier_set_by TEXT;
ALTER TABLE legs ADD COLUMN carrier_set_at TIMESTAMPTZ;
ALTER TABLE legs ADD COLUMN registered_at  TIMESTAMPTZ;
ALTER TABLE legs ADD COLUMN pushed_at      TIMESTAMPTZ;
ALTER TABLE legs ADD COLUMN checks         BIGINT NOT NULL DEFAULT 0;
ALTER TABLE legs ADD COLUMN parent_leg_id  BIGINT REFERENCES legs (id) ON DELETE SET NULL;

CREATE TABLE feed_health (
    feed           TEXT    PRIMARY KEY,
    ok_at          TIMESTAMPTZ,
    failed_at      TIMESTAMPTZ,
    failures       BIGINT  NOT NULL DEFAULT 0,
    last_error     TEXT,
    backoff_until  TIMESTAMPTZ,
    calls          BIGINT  NOT NULL DEFAULT 0
);
