//! The audit trail's writing side: every use case that changes something records who did it,
//! to which store and posting, after the change is made. Reading it is [`entries`], limited
//! to what the reader may see.

use chrono::{DateTime, Utc};
use ozontrack_db::{
    Audit, AuditEntry, AuditFilter, AuditRecord, DatabaseUrl, DbError, StoreRecord,
};
use ozontrack_domain::{AuditAction, StoreScope};
use serde_json::Value;

use crate::{Actor, Chain, Error};

/// One entry to record; built by the use case that made the change.
#[derive(Debug, Clone)]
#[must_use = "an audit entry is kept only when recorded"]
pub struct Entry(AuditEntry);

impl Entry {
    pub fn new(actor: &Actor, action: AuditAction, now: DateTime<Utc>) -> Self {
        Self(AuditEntry {
            at: now,
            actor: actor.as_str().to_owned(),
            action,
            store: None,
            posting: None,
            subject: None,
            detail: None,
        })
    }

    pub fn store(mut self, store: &StoreRecord) -> Self {
        self.0.store = Some((store.id, store.name.as_str().to_owned()));
        self
    }

    pub fn posting(mut self, number: &str) -> Self {
        self.0.posting = Some(number.to_owned());
        self
    }

    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.0.subject = Some(subject.into());
        self
    }

    /// The values set, as a JSON object.
    pub fn detail(mut self, detail: Value) -> Self {
        self.0.detail = Some(detail);
        self
    }

    /// Appends the entry. The change it describes is already made, so a failure to record it
    /// is logged loudly rather than turned into a failure of the change (which a client would
    /// then repeat).
    pub async fn record<D: Audit>(self, db: &D) {
        let recorded = db.record_audit(&self.0).await;
        self.logged(recorded);
    }

    /// [`record`](Self::record) into the database at `url`, which nothing has open (a restored
    /// one).
    pub async fn record_at(self, url: &DatabaseUrl) {
        let recorded = ozontrack_db::audit::record_audit_at(url, &self.0).await;
        self.logged(recorded);
    }

    fn logged(&self, recorded: Result<(), DbError>) {
        if let Err(e) = recorded {
            tracing::error!(
                error = %Chain(&e),
                action = self.0.action.as_str(),
                actor = %self.0.actor,
                "an audit entry could not be recorded"
            );
        }
    }
}

/// The newest entries a reader of `scope` may see, older than `before`: an admin of every
/// store sees every entry; one of some stores sees those stores' entries only (the trail of
/// users, tokens and channels, which span stores, is not theirs to read).
pub async fn entries<D: Audit>(
    db: &D,
    scope: &StoreScope,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<AuditRecord>, Error> {
    let stores = match scope {
        StoreScope::All => None,
        StoreScope::Only(stores) => Some(stores.clone()),
    };
    Ok(db
        .audit_entries(&AuditFilter {
            stores,
            before,
            limit,
        })
        .await?)
}
