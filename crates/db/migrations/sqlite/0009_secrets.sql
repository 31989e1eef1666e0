-- Handed-out secrets leave the database. A store's push URL secret and a posting's buyer-page
-- token are now derived from the secret key (HMAC-SHA256 of the store's or posting's id), so
-- the same link can be shown again without keeping it; a buyer token's SHA-256 (hex) is kept
-- in `postings.buyer_token` for the lookup, and nothing is kept of push secrets (the column
-- goes).
--
-- Upgrading changes both: the push URL must be set again in Ozon's seller office (`ozontrack
-- stores list`), and buyer links sent before no longer open.
DROP INDEX stores_push_secret;
ALTER TABLE stores DROP COLUMN push_secret;
UPDATE postings SET buyer_token = NULL WHERE buyer_token IS NOT NULL;
