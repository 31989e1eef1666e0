-- Each posting's export line, kept ready so that an export reads one short row per posting
-- (db::export_lines). A line is current unless a change of its posting waits in
-- export_changes: the triggers below add one on every write to what an export row shows, and
-- the `export_lines` chore turns them into lines. An export never trusts a line with a change
-- waiting; it reads that posting the long way. Changes are only ever appended (never upserted),
-- so writers of different postings' rows take no lock on each other here.
CREATE TABLE export_lines (
    posting_id  BIGINT PRIMARY KEY REFERENCES postings (id) ON DELETE CASCADE,
    line        TEXT   NOT NULL
);

CREATE TABLE export_changes (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    posting_id  BIGINT NOT NULL
);

CREATE INDEX export_changes_posting ON export_changes (posting_id);

-- Every posting there is has no line yet.
INSERT INTO export_changes (posting_id) SELECT id FROM postings;

INSERT INTO chores (id, name, next_check_at) VALUES (4, 'export_lines', '1970-01-01T00:00:00+00:00');

-- A posting's own row changed (`id`).
CREATE FUNCTION export_posting_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO export_changes (posting_id) VALUES (NEW.id);
    RETURN NULL;
END $$;

-- A row that names its posting (`posting_id`) came, went or changed.
CREATE FUNCTION export_part_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO export_changes (posting_id) VALUES (OLD.posting_id);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.posting_id IS DISTINCT FROM OLD.posting_id) THEN
        INSERT INTO export_changes (posting_id) VALUES (NEW.posting_id);
    END IF;
    RETURN NULL;
END $$;

-- A leg's latest event is the one at the time the leg keeps: a new event at a later time moves
-- that time (the legs' trigger), one at the very time it keeps does not.
CREATE FUNCTION export_event_came() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO export_changes (posting_id)
        SELECT posting_id FROM legs WHERE id = NEW.leg_id AND last_event_at = NEW.occurred_at;
    RETURN NULL;
END $$;

CREATE TRIGGER postings_export_new AFTER INSERT ON postings
    FOR EACH ROW EXECUTE FUNCTION export_posting_changed();

CREATE TRIGGER postings_export_changed AFTER UPDATE ON postings FOR EACH ROW
    WHEN (NEW.store_id IS DISTINCT FROM OLD.store_id
        OR NEW.posting_number IS DISTINCT FROM OLD.posting_number
        OR NEW.order_id IS DISTINCT FROM OLD.order_id OR NEW.scheme IS DISTINCT FROM OLD.scheme
        OR NEW.status IS DISTINCT FROM OLD.status OR NEW.substatus IS DISTINCT FROM OLD.substatus
        OR NEW.in_process_at IS DISTINCT FROM OLD.in_process_at
        OR NEW.delivered_at IS DISTINCT FROM OLD.delivered_at
        OR NEW.buyer_city IS DISTINCT FROM OLD.buyer_city
        OR NEW.total_minor IS DISTINCT FROM OLD.total_minor
        OR NEW.total_currency IS DISTINCT FROM OLD.total_currency)
    EXECUTE FUNCTION export_posting_changed();

CREATE TRIGGER legs_export_came_or_went AFTER INSERT OR DELETE ON legs
    FOR EACH ROW EXECUTE FUNCTION export_part_changed();

CREATE TRIGGER legs_export_changed AFTER UPDATE ON legs FOR EACH ROW
    WHEN (NEW.posting_id IS DISTINCT FROM OLD.posting_id OR NEW.carrier IS DISTINCT FROM OLD.carrier
        OR NEW.tracking_number IS DISTINCT FROM OLD.tracking_number
        OR NEW.role IS DISTINCT FROM OLD.role
        OR NEW.status_main IS DISTINCT FROM OLD.status_main
        OR NEW.status_sub IS DISTINCT FROM OLD.status_sub
        OR NEW.status_raw IS DISTINCT FROM OLD.status_raw
        OR NEW.last_event_at IS DISTINCT FROM OLD.last_event_at)
    EXECUTE FUNCTION export_part_changed();

CREATE TRIGGER events_export_new AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION export_event_came();

CREATE TRIGGER alerts_export_came_or_went AFTER INSERT OR DELETE ON alerts
    FOR EACH ROW EXECUTE FUNCTION export_part_changed();

CREATE TRIGGER alerts_export_changed AFTER UPDATE ON alerts FOR EACH ROW
    WHEN (NEW.posting_id IS DISTINCT FROM OLD.posting_id
        OR NEW.severity IS DISTINCT FROM OLD.severity OR NEW.why IS DISTINCT FROM OLD.why
        OR NEW.reason IS DISTINCT FROM OLD.reason
        OR NEW.resolved_at IS DISTINCT FROM OLD.resolved_at)
    EXECUTE FUNCTION export_part_changed();

CREATE TRIGGER penalties_export_came_or_went AFTER INSERT OR DELETE ON penalty_points
    FOR EACH ROW EXECUTE FUNCTION export_part_changed();

CREATE TRIGGER penalties_export_changed AFTER UPDATE ON penalty_points FOR EACH ROW
    WHEN (NEW.posting_id IS DISTINCT FROM OLD.posting_id OR NEW.points IS DISTINCT FROM OLD.points)
    EXECUTE FUNCTION export_part_changed();
