//! Ozon pushes as work: a received message is recorded once (by its de-duplication key) and
//! then turned into a targeted re-fetch of its posting. Recording is separate from acting so
//! that the receiver answers Ozon within its 5-second budget whatever Ozon's API is doing.
//!
//! A push is acted on only under its store's lease (the one a sync takes): however many
//! processes run, one at a time calls Ozon for a store, so together they keep within its
//! per-Client-Id rate limit, and no two act on the same push.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use ozontrack_db::{Database, LeaseOwner, NewPush, StoreRecord};
use ozontrack_domain::{Clock, PostingNumber, StoreId};
use ozontrack_ozon::OzonClient;
use ozontrack_ozon::push::{PushAction, PushMessage};
use tokio::sync::Notify;

use crate::sync::{SyncError, Syncer};

/// Failed re-fetches of one push before it is given up (the next sync covers it anyway).
pub const MAX_ATTEMPTS: i64 = 5;

/// Stores whose pushes one round takes.
const STORES_PER_ROUND: u32 = 20;

/// Records a push for `store`; false when the same message was recorded before. Pings and
/// ignored types are not recorded.
pub async fn accept<D: Database>(
    db: &D,
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
    let recorded = db.record_push(&push, now).await?;
    if recorded {
        // The push worker may run in another process (a worker node behind this API node).
        crate::wake_others(db, ozontrack_db::Wake::Pushes).await;
    }
    Ok(recorded)
}

/// Acts on recorded pushes: re-fetches each one's posting.
#[derive(Debug, Clone)]
pub struct PushWorker<D: Database> {
    syncer: Syncer<D>,
    db: D,
    clock: Arc<dyn Clock>,
    /// The leases of the stores whose pushes a round takes: apart from the syncer's, so that
    /// letting a store go never ends a sync of this very process.
    owner: LeaseOwner,
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

impl<D: Database> PushWorker<D> {
    pub fn new(syncer: Syncer<D>, db: D, clock: Arc<dyn Clock>) -> Self {
        let owner = LeaseOwner::new(format!("{}:pushes", syncer.owner().as_str()));
        Self {
            owner,
            syncer,
            db,
            clock,
            wake: Arc::new(Notify::new()),
        }
    }

    /// The handle a receiver uses to wake this worker.
    pub fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }

    /// Handles the pending pushes of the stores nobody holds (a paused store's wait for it to
    /// resume), each store under its lease, given back when done.
    pub async fn run_once(&self) -> Result<PushRound, SyncError> {
        let claimed = self
            .db
            .claim_push_stores(
                &self.owner,
                STORES_PER_ROUND,
                self.clock.now(),
                self.syncer.lease_until(),
            )
            .await?;
        if claimed.is_empty() {
            return Ok(PushRound::default());
        }
        let done = self.act_on(&claimed).await;
        for store in claimed {
            self.db.let_go(store, &self.owner).await?;
        }
        done
    }

    /// Re-fetches the pending pushes of `stores`, whose leases this worker holds.
    async fn act_on(&self, claimed: &[StoreId]) -> Result<PushRound, SyncError> {
        let mut round = PushRound::default();
        let pending = self.db.pending_pushes(Some(claimed), 200).await?;
        let stores = self.db.stores().await?;
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
                self.db
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
                    tracing::warn!(store = record.name.as_str(), posting = number.as_str(), error = %crate::Chain(e), "push re-fetch failed");
                    Some(e.to_string())
                }
            };
            self.db
                .finish_push(item.id, error.as_deref(), MAX_ATTEMPTS, self.clock.now())
                .await?;
        }
        Ok(round)
    }
}

impl<D: Database> crate::supervise::Worker for PushWorker<D> {
    fn name(&self) -> &'static str {
        "pushes"
    }

    async fn round(&self) -> bool {
        match self.run_once().await {
            // A full batch may have left more behind.
            Ok(round) => round.refetched + round.unknown + round.failed > 0,
            Err(e) => {
                tracing::warn!(error = %crate::Chain(&e), "push round failed");
                false
            }
        }
    }
}
