-- A leg whose tracking ozontrack stopped at the aggregator (17TRACK `stoptrack`) once it had
-- nothing more to say; a stopped number made due again is restarted (`retrack`) before it is
-- read. Legs finished before this migration are stopped by the tracker's next rounds.
ALTER TABLE legs ADD COLUMN stopped_at TIMESTAMPTZ;
CREATE INDEX legs_to_stop ON legs (id) WHERE registered_at IS NOT NULL AND stopped_at IS NULL
    AND next_check_at IS NULL;
