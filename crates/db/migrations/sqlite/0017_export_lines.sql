-- Each posting's export line, kept ready so that an export reads one short row per posting
-- (db::export_lines). A line is current unless a change of its posting waits in
-- export_changes: the triggers below add one on every write to what an export row shows, and
-- the `export_lines` chore turns them into lines. An export never trusts a line with a change
-- waiting; it reads that posting the long way.
CREATE TABLE export_lines (
    posting_id  INTEGER PRIMARY KEY REFERENCES postings (id) ON DELETE CASCADE,
    line        TEXT    NOT NULL
);

CREATE TABLE export_changes (
    seq         INTEGER PRIMARY KEY,
    posting_id  INTEGER NOT NULL
);

CREATE INDEX export_changes_posting ON export_changes (posting_id);

-- Every posting there is has no line yet.
INSERT INTO export_changes (posting_id) SELECT id FROM postings;

INSERT INTO chores (id, name, next_check_at) VALUES (4, 'export_lines', '1970-01-01T00:00:00+00:00');

CREATE TRIGGER postings_export_new AFTER INSERT ON postings BEGIN
    INSERT INTO export_changes (posting_id) VALUES (NEW.id);
END;

CREATE TRIGGER postings_export_changed AFTER UPDATE ON postings
WHEN NEW.store_id IS NOT OLD.store_id OR NEW.posting_number IS NOT OLD.posting_number
    OR NEW.order_id IS NOT OLD.order_id OR NEW.scheme IS NOT OLD.scheme
    OR NEW.status IS NOT OLD.status OR NEW.substatus IS NOT OLD.substatus
    OR NEW.in_process_at IS NOT OLD.in_process_at OR NEW.delivered_at IS NOT OLD.delivered_at
    OR NEW.buyer_city IS NOT OLD.buyer_city OR NEW.total_minor IS NOT OLD.total_minor
    OR NEW.total_currency IS NOT OLD.total_currency
BEGIN
    INSERT INTO export_changes (posting_id) VALUES (NEW.id);
END;

CREATE TRIGGER legs_export_new AFTER INSERT ON legs BEGIN
    INSERT INTO export_changes (posting_id) VALUES (NEW.posting_id);
END;

CREATE TRIGGER legs_export_gone AFTER DELETE ON legs BEGIN
    INSERT INTO export_changes (posting_id) VALUES (OLD.posting_id);
END;

CREATE TRIGGER legs_export_changed AFTER UPDATE ON legs
WHEN NEW.posting_id IS NOT OLD.posting_id OR NEW.carrier IS NOT OLD.carrier
    OR NEW.tracking_number IS NOT OLD.tracking_number OR NEW.role IS NOT OLD.role
    OR NEW.status_main IS NOT OLD.status_main OR NEW.status_sub IS NOT OLD.status_sub
    OR NEW.status_raw IS NOT OLD.status_raw OR NEW.last_event_at IS NOT OLD.last_event_at
BEGIN
    INSERT INTO export_changes (posting_id) VALUES (OLD.posting_id);
    INSERT INTO export_changes (posting_id)
        SELECT NEW.posting_id WHERE NEW.posting_id IS NOT OLD.posting_id;
END;

-- A leg's latest event is the one at the time the leg keeps: a new event at a later time moves
-- that time (the trigger above), one at the very time it keeps does not.
CREATE TRIGGER events_export_new AFTER INSERT ON events
WHEN NEW.occurred_at = (SELECT last_event_at FROM legs WHERE id = NEW.leg_id)
BEGIN
    INSERT INTO export_changes (posting_id) SELECT posting_id FROM legs WHERE id = NEW.leg_id;
END;

CREATE TRIGGER alerts_export_new AFTER INSERT ON alerts BEGIN
    INSERT INTO export_changes (posting_id) VALUES (NEW.posting_id);
END;

CREATE TRIGGER alerts_export_gone AFTER DELETE ON alerts BEGIN
    INSERT INTO export_changes (posting_id) VALUES (OLD.posting_id);
END;

CREATE TRIGGER alerts_export_changed AFTER UPDATE ON alerts
WHEN NEW.posting_id IS NOT OLD.posting_id OR NEW.severity IS NOT OLD.severity
    OR NEW.why IS NOT OLD.why OR NEW.reason IS NOT OLD.reason
    OR NEW.resolved_at IS NOT OLD.resolved_at
BEGIN
    INSERT INTO export_changes (posting_id) VALUES (OLD.posting_id);
    INSERT INTO export_changes (posting_id)
        SELECT NEW.posting_id WHERE NEW.posting_id IS NOT OLD.posting_id;
END;

CREATE TRIGGER penalties_export_new AFTER INSERT ON penalty_points BEGIN
    INSERT INTO export_changes (posting_id) VALUES (NEW.posting_id);
END;

CREATE TRIGGER penalties_export_gone AFTER DELETE ON penalty_points BEGIN
    INSERT INTO export_changes (posting_id) VALUES (OLD.posting_id);
END;

CREATE TRIGGER penalties_export_changed AFTER UPDATE ON penalty_points
WHEN NEW.posting_id IS NOT OLD.posting_id OR NEW.points IS NOT OLD.points
BEGIN
    INSERT INTO export_changes (posting_id) VALUES (OLD.posting_id);
    INSERT INTO export_changes (posting_id)
        SELECT NEW.posting_id WHERE NEW.posting_id IS NOT OLD.posting_id;
END;
