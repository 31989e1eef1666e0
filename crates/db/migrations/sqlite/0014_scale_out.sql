-- Several processes on one database: every kind of work leased, shared rate limits, gauges
-- counted once.
--
-- Risk rounds are leased per store, like syncs and legs, so that several processes share them
-- and a round a dead process left half-done is taken over when its lease expires. What "the
-- last full round" was lives here too, not in one process's memory. The row's id is the
-- store's; rows for stores added later are created by the first claim that misses them.
CREATE TABLE risk_rounds (
    id               INTEGER PRIMARY KEY REFERENCES stores (id) ON DELETE CASCADE,
    -- Every change written before this time has been evaluated (the incremental watermark).
    evaluated_until  TEXT,
    -- When the last full round (every posting still in play) started.
    full_at          TEXT,
    next_check_at    TEXT,
    lease_owner      TEXT,
    lease_until      TEXT
);
INSERT INTO risk_rounds (id, evaluated_until, next_check_at)
    SELECT store_id, evaluated_until, '1970-01-01T00:00:00+00:00' FROM risk_state;
DROP TABLE risk_state;

-- The queue-depth gauges are read from the database by one process at a time.
INSERT INTO chores (id, name, next_check_at) VALUES (2, 'gauges', '1970-01-01T00:00:00+00:00');
CREATE TABLE gauges (
    name         TEXT PRIMARY KEY,
    value        INTEGER NOT NULL,
    measured_at  TEXT NOT NULL
);

-- A rate limit shared by every process that calls one account (17TRACK's per token): a request
-- takes a free slot before it is sent and holds it until a window after its answer; a slot
-- whose holder died frees itself when its guard time passes.
CREATE TABLE rate_slots (
    key         TEXT NOT NULL,
    slot        INTEGER NOT NULL,
    busy_until  TEXT NOT NULL,
    PRIMARY KEY (key, slot)
);
