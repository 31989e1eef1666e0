//! Ozon pushes as work: a received message is recorded once (by its de-duplication key) and
//! then turned into a targeted re-fetch of its posting. Recording is separate from acting so
//! that the receiver answers Ozon within its 5-second budget whatever Ozon's API is doing.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use ozontrack_domain::{Clock, PostingNumber, StoreId};
use ozontrack_ozon::OzonClient;
use ozontrack_ozon::push::{PushAction, PushMessage};
use ozontrack_store::{NewPush, Store, StoreRecord};
use tokio::sync::Notify;

use crate::sync::{SyncError, Syncer};

/// Failed re-fetches of one push before it is given up (the next sync covers it anyway).
pub const MAX_ATTEMPTS: i64 = 5;

/// Records a push for `store`; false when the same message was recorded before. Pings and
/// ignored types are not recorded.
pub async fn accept<S: Store>(
    store: &S,
    record: &StoreRecord,
    message: &PushMessage,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, SyncError> {
    let (posting_number, fbo) = match &message.action {
        PushAction::Refetch {
            posting_number,
            fbo,
        } => (Some(posting_number.clone()), *fbo),
        PushAction::Ping | PushAction::Ignore => return Ok(false),
    };
    let push = NewPush {
        store_id: record.id,
        dedupe_key: message.dedupe_key(),
        message_type: message.message_type.clone(),
        posting_number,
        fbo,
        changed_at: message.changed_at,
    };
    Ok(store.record_push(&push, now).await?)
}

/// Acts on recorded pushes: re-fetches each one's posting.
#[derive(Debug, Clone)]
pub struct PushWorker<S: Store> {
    syncer: Syncer<S>,
    store: S,
    clock: Arc<dyn Clock>,
    /// Woken by the receiver when a push arrives.
    wake: Arc<Notify>,
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushRound {
    pub refetched: usize,
    pub unknown: usize,
    pub failed: usize,
}

impl<S: Store> PushWorker<S> {
    pub fn new(syncer: Syncer<S>, store: S, clock: Arc<dyn Clock>) -> Self {
        Self {
            syncer,
            store,
            clock,
            wake: Arc::new(Notify::new()),
        }
    }

    /// The handle a receiver uses to wake this worker.
    pub fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }

    /// Handles every pending push once.
    pub async fn run_once(&self) -> Result<PushRound, SyncError> {
        let mut round = PushRound::default();
        let pending = self.store.pending_pushes(200).await?;
        if pending.is_empty() {
            return Ok(round);
        }
        let stores = self.store.stores().await?;
        // One client per store and round: building one reads and decrypts the store's key.
        let mut clients: HashMap<StoreId, OzonClient> = HashMap::new();
        for item in pending {
            let record = stores.iter().find(|s| s.id == item.push.store_id);
            let number = item
                .push
                .posting_number
                .as_deref()
                .and_then(|n| PostingNumber::parse(n).ok());
            let (Some(record), Some(number)) = (record, number) else {
                // Nothing to fetch (the store is gone, or the number is not one).
                self.store
                    .finish_push(item.id, None, MAX_ATTEMPTS, self.clock.now())
                    .await?;
                round.unknown += 1;
                continue;
            };
            // A store whose client cannot be built fails its own pushes, not the round.
            let client = match clients.entry(record.id) {
                Entry::Occupied(known) => Ok(known.get().clone()),
                Entry::Vacant(slot) => self
                    .syncer
                    .client(record)
                    .await
                    .map(|c| slot.insert(c).clone()),
            };
            let outcome = match client {
                Ok(client) => {
                    let (fbo, changed_at) = (item.push.fbo, item.push.changed_at);
                    self.syncer
                        .refetch(&client, record, &number, fbo, changed_at)
                        .await
                }
                Err(e) => Err(e),
            };
            let error = match &outcome {
                Ok(true) => {
                    round.refetched += 1;
                    None
                }
                Ok(false) => {
                    round.unknown += 1;
                    None
                }
                Err(e) => {
                    round.failed += 1;
                    tracing::warn!(store = record.name.as_str(), posting = number.as_str(), error = %e, "push re-fetch failed");
                    Some(e.to_string())
                }
            };
            self.store
                .finish_push(item.id, error.as_deref(), MAX_ATTEMPTS, self.clock.now())
                .await?;
        }
        Ok(round)
    }

    /// Runs rounds until `shutdown` resolves: after every wake-up, and every `period` as a
    /// safety net for pushes recorded by another process.
    pub async fn run(
        self,
        period: std::time::Duration,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        let this = &self;
        crate::rounds(period, shutdown, Some(&self.wake), move || async move {
            if let Err(e) = this.run_once().await {
                tracing::warn!(error = %e, "push round failed");
            }
            false
        })
        .await;
    }
}
