-- The delivery window Ozon promised the buyer (analytics_data.delivery_date_begin/_end).
ALTER TABLE postings ADD COLUMN promised_from TIMESTAMPTZ;
ALTER TABLE postings ADD COLUMN promised_to TIMESTAMPTZ;
