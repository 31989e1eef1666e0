//! Dispute evidence at rest: the files a seller adds to a posting (packaging video, photos,
//! receipts), kept whole with their SHA-256, and the latest pack of each disputed posting, built
//! before the seller asks for it.

use std::future::Future;

use chrono::{DateTime, Utc};
use ozontrack_domain::PostingId;

use sqlx::AssertSqlSafe;

use crate::DbError;
use crate::sql::{Db, SqlDatabase};

/// A file to add to a posting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    pub posting: PostingId,
    /// The name it had on the seller's disk, without directories.
    pub file_name: String,
    pub media_type: String,
    /// `sha256:` and the hex digest of `content`.
    pub sha256: String,
    /// When the file was made (its modification time), as the seller's disk says.
    pub taken_at: Option<DateTime<Utc>>,
    pub added_at: DateTime<Utc>,
    pub added_by: String,
    pub content: Vec<u8>,
}

/// A stored attachment, without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRecord {
    pub id: i64,
    pub posting: PostingId,
    pub file_name: String,
    pub media_type: String,
    pub size: u64,
    pub sha256: String,
    pub taken_at: Option<DateTime<Utc>>,
    pub added_at: DateTime<Utc>,
    pub added_by: String,
}

/// A built pack, as kept for a disputed posting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackRecord {
    pub posting: PostingId,
    pub built_at: DateTime<Utc>,
    pub file_name: String,
    /// `sha256:` and the hex digest of `content`.
    pub sha256: String,
    pub content: Vec<u8>,
}

/// Attachments and kept packs.
pub trait Evidence: Clone + Send + Sync + 'static {
    /// Adds a file to its posting; the same content added again is the stored one (`false`).
    fn add_attachment(
        &self,
        attachment: &NewAttachment,
    ) -> impl Future<Output = Result<(AttachmentRecord, bool), DbError>> + Send;

    /// A posting's attachments, oldest first.
    fn attachments(
        &self,
        posting: PostingId,
    ) -> impl Future<Output = Result<Vec<AttachmentRecord>, DbError>> + Send;

    /// One attachment's bytes.
    fn attachment_content(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, DbError>> + Send;

    /// Keeps a posting's latest pack, replacing the one before.
    fn keep_pack(&self, pack: &PackRecord) -> impl Future<Output = Result<(), DbError>> + Send;

    /// The posting's kept pack.
    fn kept_pack(
        &self,
        posting: PostingId,
    ) -> impl Future<Output = Result<Option<PackRecord>, DbError>> + Send;

    /// Postings in a dispute (Ozon's `arbitration`, `client_arbitration`) whose kept pack is
    /// missing or older than something it shows: the posting, an event received, an alert
    /// changed, an attachment added.
    fn disputes_without_pack(
        &self,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<PostingId>, DbError>> + Send;
}

type AttachmentRow = (
    i64,
    i64,
    String,
    String,
    i64,
    String,
    Option<DateTime<Utc>>,
    DateTime<Utc>,
    String,
);

const ATTACHMENT_COLUMNS: &str =
    "id, posting_id, file_name, media_type, size, sha256, taken_at, added_at, added_by";

fn attachment(row: AttachmentRow) -> AttachmentRecord {
    let (id, posting, file_name, media_type, size, sha256, taken_at, added_at, added_by) = row;
    AttachmentRecord {
        id,
        posting: PostingId(posting),
        file_name,
        media_type,
        size: u64::try_from(size).unwrap_or(0),
        sha256,
        taken_at,
        added_at,
        added_by,
    }
}

impl Evidence for SqlDatabase {
    async fn add_attachment(&self, a: &NewAttachment) -> Result<(AttachmentRecord, bool), DbError> {
        let size = i64::try_from(a.content.len()).unwrap_or(i64::MAX);
        let (row, added) = on_db!(&self.db, |pool| {
            let inserted: Option<AttachmentRow> = sqlx::query_as(AssertSqlSafe(format!(
                "INSERT INTO evidence_attachments (posting_id, file_name, media_type, size, \
                 sha256, taken_at, added_at, added_by, content) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (posting_id, sha256) DO NOTHING RETURNING {ATTACHMENT_COLUMNS}"
            )))
            .bind(a.posting.0)
            .bind(&a.file_name)
            .bind(&a.media_type)
            .bind(size)
            .bind(&a.sha256)
            .bind(a.taken_at)
            .bind(a.added_at)
            .bind(&a.added_by)
            .bind(a.content.as_slice())
            .fetch_optional(pool)
            .await
            .map_err(|e| missing_posting(e, a.posting))?;
            match inserted {
                Some(row) => (row, true),
                None => {
                    let row: AttachmentRow = sqlx::query_as(AssertSqlSafe(format!(
                        "SELECT {ATTACHMENT_COLUMNS} FROM evidence_attachments \
                         WHERE posting_id = $1 AND sha256 = $2"
                    )))
                    .bind(a.posting.0)
                    .bind(&a.sha256)
                    .fetch_one(pool)
                    .await?;
                    (row, false)
                }
            }
        });
        Ok((attachment(row), added))
    }

    async fn attachments(&self, posting: PostingId) -> Result<Vec<AttachmentRecord>, DbError> {
        let rows: Vec<AttachmentRow> = on_db!(&self.db, |pool| {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {ATTACHMENT_COLUMNS} FROM evidence_attachments WHERE posting_id = $1 \
                 ORDER BY id"
            )))
            .bind(posting.0)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(attachment).collect())
    }

    async fn attachment_content(&self, id: i64) -> Result<Option<Vec<u8>>, DbError> {
        Ok(on_db!(&self.db, |pool| {
            sqlx::query_scalar("SELECT content FROM evidence_attachments WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    async fn keep_pack(&self, pack: &PackRecord) -> Result<(), DbError> {
        on_db!(&self.db, |pool| {
            sqlx::query(
                "INSERT INTO evidence_packs (posting_id, built_at, file_name, sha256, content) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (posting_id) DO UPDATE SET \
                 built_at = excluded.built_at, file_name = excluded.file_name, \
                 sha256 = excluded.sha256, content = excluded.content",
            )
            .bind(pack.posting.0)
            .bind(pack.built_at)
            .bind(&pack.file_name)
            .bind(&pack.sha256)
            .bind(pack.content.as_slice())
            .execute(pool)
            .await
            .map_err(|e| missing_posting(e, pack.posting))?;
        });
        Ok(())
    }

    async fn kept_pack(&self, posting: PostingId) -> Result<Option<PackRecord>, DbError> {
        type Row = (DateTime<Utc>, String, String, Vec<u8>);
        let row: Option<Row> = on_db!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT built_at, file_name, sha256, content FROM evidence_packs \
                 WHERE posting_id = $1",
            )
            .bind(posting.0)
            .fetch_optional(pool)
            .await?
        });
        Ok(
            row.map(|(built_at, file_name, sha256, content)| PackRecord {
                posting,
                built_at,
                file_name,
                sha256,
                content,
            }),
        )
    }

    async fn disputes_without_pack(&self, limit: u32) -> Result<Vec<PostingId>, DbError> {
        // A dispute is rare (about one posting in a hundred), so the disputed postings are
        // found first and only their own rows are compared with the pack's time.
        let ids: Vec<i64> = on_db!(&self.db, |pool| {
            sqlx::query_scalar(
                "SELECT p.id FROM postings p LEFT JOIN evidence_packs k ON k.posting_id = p.id \
                 WHERE p.status IN ('arbitration', 'client_arbitration') AND (k.posting_id IS NULL \
                 OR k.built_at < p.updated_at \
                 OR EXISTS (SELECT 1 FROM legs l JOIN events e ON e.leg_id = l.id \
                            WHERE l.posting_id = p.id AND e.received_at > k.built_at) \
                 OR EXISTS (SELECT 1 FROM alerts a WHERE a.posting_id = p.id \
                            AND a.updated_at > k.built_at) \
                 OR EXISTS (SELECT 1 FROM evidence_attachments t WHERE t.posting_id = p.id \
                            AND t.added_at > k.built_at)) \
                 ORDER BY p.id LIMIT $1",
            )
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        Ok(ids.into_iter().map(PostingId).collect())
    }
}

/// A foreign-key failure on `posting_id` is a posting that is not there (removed meanwhile).
fn missing_posting(e: sqlx::Error, posting: PostingId) -> DbError {
    match &e {
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
            DbError::PostingNotFound(posting.0)
        }
        _ => DbError::from(e),
    }
}
