//! What people do about alerts: acknowledge one ("I am on it"; it escalates again if it gets
//! worse) or resolve one by hand (the same condition does not reopen it unless it worsens). The
//! API, the dashboard and the CLI all come here; an alert of a store the caller may not see
//! answers exactly like a missing one.

use chrono::{DateTime, Utc};
use ozontrack_db::{AlertFilter, Database, StoreRecord};
use ozontrack_domain::alert::AlertRecord;
use ozontrack_domain::{AuditAction, StoreId};

use crate::{Actor, Error, Note, Problem, audit};

/// What to do with an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    Acknowledge,
    Resolve,
}

/// The alert after the action, and whether the action changed it (an alert already resolved
/// is left as it is).
#[derive(Debug, Clone, PartialEq)]
pub struct Closed {
    pub alert: AlertRecord,
    pub changed: bool,
}

/// The alert `id` if `scope` (none: every store) lets the caller see it.
pub async fn find<D: Database>(
    db: &D,
    scope: Option<&[StoreId]>,
    id: i64,
) -> Result<AlertRecord, Error> {
    db.alerts(&AlertFilter {
        id: Some(id),
        ..AlertFilter::default()
    })
    .await?
    .into_iter()
    .find(|a| scope.is_none_or(|stores| stores.contains(&a.store_id)))
    .ok_or(Error::NotFound("alert"))
}

/// Acknowledges or resolves the alert `id`, recording who and why in its history.
/// The most alerts one bulk acknowledgement takes.
pub const MAX_BULK: usize = 200;

/// Acknowledges several alerts with one note (the inbox's bulk action): every one is checked
/// against `scope` first, so a list holding another store's alert changes nothing. How many
/// changed (already acknowledged or resolved ones do not; none chosen changes none).
pub async fn acknowledge_many<D: Database>(
    db: &D,
    scope: Option<&[StoreId]>,
    ids: &[i64],
    actor: &Actor,
    note: &Note,
    now: DateTime<Utc>,
) -> Result<usize, Error> {
    if ids.len() > MAX_BULK {
        return Err(Error::invalid("id", Problem::TooMany(MAX_BULK)));
    }
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        found.push(find(db, scope, *id).await?);
    }
    // Read once for the trail; an alert's store and posting do not change when it is closed.
    let stores = db.stores().await?;
    let mut changed = 0;
    for alert in &found {
        if db
            .acknowledge_alert(alert.id, actor.as_str(), note.as_str(), now)
            .await?
        {
            changed += 1;
            let store = stores.iter().find(|s| s.id == alert.store_id);
            trace(db, alert, store, Close::Acknowledge, actor, note, now).await;
        }
    }
    Ok(changed)
}

pub async fn close<D: Database>(
    db: &D,
    scope: Option<&[StoreId]>,
    id: i64,
    how: Close,
    actor: &Actor,
    note: &Note,
    now: DateTime<Utc>,
) -> Result<Closed, Error> {
    find(db, scope, id).await?;
    let changed = match how {
        Close::Acknowledge => {
            db.acknowledge_alert(id, actor.as_str(), note.as_str(), now)
                .await?
        }
        Close::Resolve => {
            db.resolve_alert(id, actor.as_str(), note.as_str(), now)
                .await?
        }
    };
    let alert = find(db, scope, id).await?;
    if changed {
        let store = db.store(alert.store_id).await?;
        trace(db, &alert, store.as_ref(), how, actor, note, now).await;
    }
    Ok(Closed { alert, changed })
}

/// The audit entry of a closed alert.
async fn trace<D: Database>(
    db: &D,
    alert: &AlertRecord,
    store: Option<&StoreRecord>,
    how: Close,
    actor: &Actor,
    note: &Note,
    now: DateTime<Utc>,
) {
    let action = match how {
        Close::Acknowledge => AuditAction::AlertAcknowledged,
        Close::Resolve => AuditAction::AlertResolved,
    };
    let mut entry = audit::Entry::new(actor, action, now)
        .posting(alert.posting_number.as_str())
        .subject(format!("#{}", alert.id))
        .detail(serde_json::json!({"rule": alert.rule.as_str(), "note": note.as_str()}));
    if let Some(store) = store {
        entry = entry.store(store);
    }
    entry.record(db).await;
}
