-- Export blocks: the export lines of a store's postings whose ids share a bucket (id / 512),
-- deflated together into one row, which an export that filters by store alone reads a page at a
-- time: a few rows instead of thousands (db::export_lines, BENCHMARKS). The `export_lines`
-- chore rebuilds the blocks of every bucket whose changes it turns into lines, in the same
-- transaction; every posting waits for its block.
CREATE TABLE export_blocks (
    store_id  BIGINT NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    bucket    BIGINT NOT NULL,
    block     BYTEA  NOT NULL,
    PRIMARY KEY (store_id, bucket)
);

-- Kept as written: a block is deflated already, and PostgreSQL inflating its own compression
-- on every read was half a page's time.
ALTER TABLE export_blocks ALTER COLUMN block SET STORAGE EXTERNAL;

INSERT INTO export_changes (posting_id) SELECT id FROM postings;
