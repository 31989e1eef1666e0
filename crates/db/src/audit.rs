//! The audit trail: who did what, to which store and posting, when. Entries are appended and
//! never changed; they name what they touched by value (a removed store keeps its entries).

use std::future::Future;

use chrono::{DateTime, Utc};
use ozontrack_domain::{AuditAction, StoreId};

use crate::sql::{Db, SqlDatabase};
use crate::{DatabaseUrl, DbError};

/// One write, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// Who: a dashboard user, `token:NAME`, `cli:USER`.
    pub actor: String,
    pub action: AuditAction,
    /// The store it concerned, with the name it had then.
    pub store: Option<(StoreId, String)>,
    pub posting: Option<String>,
    /// What else it named, by its name or `#id` (a user, a token, a channel, an alert): an
    /// identifier, never words, which the reader's language could not translate.
    pub subject: Option<String>,
    /// The values it set, as a JSON object (never a sentence).
    pub detail: Option<serde_json::Value>,
}

/// A recorded entry.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub id: i64,
    pub entry: AuditEntry,
}

/// Which entries to read, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only entries of these stores; `None`: every entry, those of no store included.
    pub stores: Option<Vec<StoreId>>,
    /// Only entries older than this id (the next page).
    pub before: Option<i64>,
    pub limit: u32,
}

/// Appending to and reading the audit trail.
pub trait Audit: Clone + Send + Sync + 'static {
    fn record_audit(&self, entry: &AuditEntry) -> impl Future<Output = Result<(), DbError>> + Send;

    fn audit_entries(
        &self,
        filter: &AuditFilter,
    ) -> impl Future<Output = Result<Vec<AuditRecord>, DbError>> + Send;
}

type AuditRow = (
    i64,
    DateTime<Utc>,
    String,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Appends `$entry` (an [`AuditEntry`]) through `$exec`: a pool or a connection of either engine.
macro_rules! insert_audit {
    ($exec:expr, $entry:expr) => {{
        let entry: &AuditEntry = $entry;
        let detail = entry.detail.as_ref().map(serde_json::Value::to_string);
        sqlx::query(
            "INSERT INTO audit_log (at, actor, action, store_id, store_name, posting_number, \
             subject, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(entry.at)
        .bind(&entry.actor)
        .bind(entry.action.as_str())
        .bind(entry.store.as_ref().map(|(id, _)| id.0))
        .bind(entry.store.as_ref().map(|(_, name)| name.as_str()))
        .bind(entry.posting.as_deref())
        .bind(entry.subject.as_deref())
        .bind(detail.as_deref())
        .execute($exec)
        .await?;
    }};
}

/// Appends `entry` to the trail of the database at `url` through one connection of its own:
/// for a database no [`SqlDatabase`] has open, such as the one a restore has just replaced
/// (which needs no key to be written to).
pub async fn record_audit_at(url: &DatabaseUrl, entry: &AuditEntry) -> Result<(), DbError> {
    on_url!(url, read_only = false, |conn| insert_audit!(
        &mut conn, entry
    ));
    Ok(())
}

impl Audit for SqlDatabase {
    async fn record_audit(&self, entry: &AuditEntry) -> Result<(), DbError> {
        on_db!(&self.db, |pool| insert_audit!(pool, entry));
        Ok(())
    }

    async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>, DbError> {
        let rows = on_db!(&self.db, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT id, at, actor, action, store_id, store_name, posting_number, subject, \
                 detail FROM audit_log WHERE 1 = 1",
            );
            if let Some(stores) = &filter.stores {
                if stores.is_empty() {
                    return Ok(Vec::new());
                }
                query.push(" AND store_id");
                push_in!(query, stores.iter().map(|s| &s.0));
            }
            if let Some(before) = filter.before {
                query.push(" AND id < ").push_bind(before);
            }
            query
                .push(" ORDER BY id DESC LIMIT ")
                .push_bind(i64::from(filter.limit));
            query.build_query_as::<AuditRow>().fetch_all(pool).await?
        });
        rows.into_iter()
            .map(
                |(id, at, actor, action, store_id, store_name, posting, subject, detail)| {
                    let corrupt = |reason: String| DbError::Corrupt {
                        table: "audit_log",
                        id,
                        reason,
                    };
                    Ok(AuditRecord {
                        id,
                        entry: AuditEntry {
                            at,
                            actor,
                            action: AuditAction::parse(&action)
                                .map_err(|e| corrupt(e.to_string()))?,
                            store: store_id.map(|s| (StoreId(s), store_name.unwrap_or_default())),
                            posting,
                            subject,
                            detail: detail
                                .map(|d| serde_json::from_str(&d))
                                .transpose()
                                .map_err(|e| corrupt(e.to_string()))?,
                        },
                    })
                },
            )
            .collect()
    }
}
