-- Alerts keep their reason as facts: a JSON object with a `code` and typed parameters
-- (domain::finding::Reason), rendered in the reader's language when shown. Alerts written
-- before keep their English sentence in `why` (and no `reason`) and are shown as they were;
-- new alerts leave `why` empty.
ALTER TABLE alerts ADD COLUMN reason TEXT;
