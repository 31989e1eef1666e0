-- Evidence packs of disputed postings are built by one process at a time when several share
-- the database.
INSERT INTO chores (id, name, next_check_at) VALUES (3, 'disputes', '1970-01-01T00:00:00+00:00');
