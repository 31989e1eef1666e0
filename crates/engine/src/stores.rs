//! A store's life: connecting it (with Ozon API access or without), rotating its key, pausing
//! and resuming it, renaming and removing it, each recorded in the audit trail.
//!
//! Removing deletes, in one transaction, everything the store held rather than archiving it:
//! its postings carry buyers' names and addresses, which a seller leaving a shop must be able to
//! make ozontrack forget; the audit trail keeps that the store existed and who removed it.

use chrono::{DateTime, Utc};
use ozontrack_db::{Database, DbError, NewStore, RemovedStore, StoreRecord};
use ozontrack_domain::{AuditAction, ClientId, StoreName, StoreSettings};
use secrecy::SecretString;
use serde_json::json;

use crate::{Actor, Error, Problem, audit};

/// A name another store has is a conflict the person can fix, not a failure.
fn taken(e: DbError) -> Error {
    match e {
        DbError::DuplicateStoreName(name) => Error::conflict("name", Problem::Taken(name)),
        other => other.into(),
    }
}

/// How a new store reaches Ozon.
#[derive(Debug, Clone)]
pub enum Connection {
    Api {
        client_id: ClientId,
        api_key: SecretString,
        base_url: String,
    },
    /// No API access yet: its postings come from imported reports.
    Offline,
}

/// Adds a store; one with API access is due for its first sync at once.
pub async fn add<D: Database>(
    db: &D,
    name: StoreName,
    settings: StoreSettings,
    connection: Connection,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<StoreRecord, Error> {
    let record = match connection {
        Connection::Api {
            client_id,
            api_key,
            base_url,
        } => {
            db.add_store(
                NewStore {
                    name,
                    client_id,
                    api_key,
                    ozon_base_url: base_url,
                    settings,
                },
                now,
            )
            .await
        }
        Connection::Offline => db.add_offline_store(name, settings, now).await,
    }
    .map_err(taken)?;
    audit::Entry::new(actor, AuditAction::StoreAdded, now)
        .store(&record)
        .detail(json!({
            "client_id": record.client_id.map(|c| c.to_string()),
            "language": record.settings.language.as_str(),
            "timezone": record.settings.timezone,
        }))
        .record(db)
        .await;
    Ok(record)
}

/// Gives a store its (new) Client-Id and Api-Key, its history kept.
pub async fn set_key<D: Database>(
    db: &D,
    store: &StoreRecord,
    client_id: ClientId,
    api_key: SecretString,
    base_url: &str,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<StoreRecord, Error> {
    db.set_store_connection(store.id, client_id, api_key, base_url, now)
        .await?;
    let record = db.store(store.id).await?.ok_or(Error::NotFound("store"))?;
    // The key itself never reaches the trail.
    audit::Entry::new(actor, AuditAction::StoreKeySet, now)
        .store(&record)
        .detail(json!({"client_id": client_id.to_string()}))
        .record(db)
        .await;
    Ok(record)
}

/// Pauses (`true`) or resumes a store: a paused store is neither synced nor tracked and no
/// rules run on it; resuming makes its sync due at once. False when it already was so.
pub async fn set_paused<D: Database>(
    db: &D,
    store: &StoreRecord,
    paused: bool,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    let changed = db.set_store_paused(store.id, paused, now).await?;
    if changed {
        let action = if paused {
            AuditAction::StorePaused
        } else {
            AuditAction::StoreResumed
        };
        audit::Entry::new(actor, action, now)
            .store(store)
            .record(db)
            .await;
    }
    Ok(changed)
}

/// Renames a store (its postings, keys and scopes follow it: they hold its id).
pub async fn rename<D: Database>(
    db: &D,
    store: &StoreRecord,
    name: &StoreName,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    db.rename_store(store.id, name, now).await.map_err(taken)?;
    audit::Entry::new(actor, AuditAction::StoreRenamed, now)
        .store(store)
        .detail(json!({"from": store.name.as_str(), "to": name.as_str()}))
        .record(db)
        .await;
    Ok(())
}

/// Removes a store and everything it held, in one transaction.
pub async fn remove<D: Database>(
    db: &D,
    store: &StoreRecord,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<RemovedStore, Error> {
    let removed = db.remove_store(store.id).await?;
    audit::Entry::new(actor, AuditAction::StoreRemoved, now)
        .store(store)
        .detail(json!({
            "postings": removed.postings,
            "destinations": removed.destinations,
        }))
        .record(db)
        .await;
    Ok(removed)
}
