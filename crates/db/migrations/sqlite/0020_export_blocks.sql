-- Export blocks: the export lines of a store's postings whose ids share a bucket (id / 512),
-- deflated together into one row, which an export that filters by store alone reads a page at a
-- time: a few rows instead of thousands (db::export_lines, BENCHMARKS). The `export_lines`
-- chore rebuilds the blocks of every bucket whose changes it turns into lines, in the same
-- transaction; every posting waits for its block.
CREATE TABLE export_blocks (
    store_id  INTEGER NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    bucket    INTEGER NOT NULL,
    block     BLOB    NOT NULL,
    PRIMARY KEY (store_id, bucket)
);

INSERT INTO export_changes (posting_id) SELECT id FROM postings;
