-- Export lines are binary records (postcard) from here on, not JSON: two thirds of the size, and
-- an export's read ran 1.2-1.8 times as fast (db::export_lines, BENCHMARKS). The JSON lines are
-- dropped and every posting waits for its new line, which the `export_lines` chore makes; until
-- then an export reads each posting the long way, as it always does for a posting with a change
-- waiting.
DROP TABLE export_lines;

CREATE TABLE export_lines (
    posting_id  INTEGER PRIMARY KEY REFERENCES postings (id) ON DELETE CASCADE,
    line        BLOB    NOT NULL
);

INSERT INTO export_changes (posting_id) SELECT id FROM postings;
