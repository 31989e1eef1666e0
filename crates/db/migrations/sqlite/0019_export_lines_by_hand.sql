-- Export lines are written and read by hand from here on (db::export_lines, format 2), not by
-- postcard: decoding a line took a third of the instructions (BENCHMARKS, Export). The lines of
-- format 1 are dropped and every posting waits for its new line, which the `export_lines` chore
-- makes; until then an export reads each posting the long way, as it always does for a posting
-- with a change waiting.
DELETE FROM export_lines;

INSERT INTO export_changes (posting_id) SELECT id FROM postings;
