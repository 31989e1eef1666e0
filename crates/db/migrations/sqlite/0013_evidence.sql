-- Dispute evidence: what a carrier says of a delivery's hand-over, the files a seller adds to
-- a posting, and the pack built when a posting enters a dispute.

-- How the parcel was handed over (addressee, e-signature, parcel locker…) and the recipient's
-- name as the carrier recorded it, on delivery events where the carrier says.
ALTER TABLE events ADD COLUMN handover TEXT;
ALTER TABLE events ADD COLUMN recipient TEXT;

-- A seller's files for a posting's disputes: packaging video, photos, receipts. Kept whole in
-- the database (a backup carries them) under a size limit; the same file twice is one.
CREATE TABLE evidence_attachments (
    id          INTEGER PRIMARY KEY,
    posting_id  INTEGER   NOT NULL REFERENCES postings (id) ON DELETE CASCADE,
    file_name   TEXT    NOT NULL,
    media_type  TEXT    NOT NULL,
    size        INTEGER   NOT NULL,
    sha256      TEXT    NOT NULL,
    taken_at    TEXT,
    added_at    TEXT    NOT NULL,
    added_by    TEXT    NOT NULL,
    content     BLOB    NOT NULL,
    UNIQUE (posting_id, sha256)
);

-- The latest pack of a disputed posting, built before the seller asks; rebuilt when the
-- posting, its legs or its attachments change after it.
CREATE TABLE evidence_packs (
    posting_id  INTEGER   PRIMARY KEY REFERENCES postings (id) ON DELETE CASCADE,
    built_at    TEXT    NOT NULL,
    file_name   TEXT    NOT NULL,
    sha256      TEXT    NOT NULL,
    content     BLOB    NOT NULL
);
