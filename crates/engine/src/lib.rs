//! ozontrack's use cases and the worker loops that run them. Each worker is a small loop around
//! a `run_once` that tests drive step by step; the loops only add waiting and shutdown.
//!
//! - [`sync`]: sync a store's postings from Ozon (plan, resumable scans, watermark).
//! - [`push`]: record Ozon pushes and turn them into re-fetches.
//! - [`track`]: follow each leg at its carrier on an adaptive schedule.
//! - [`risk`]: evaluate the risk rules and move alerts through their lifecycle.
//! - [`upload`]: send tracking numbers to Ozon in batches, one result per row.
//!
//! Nothing here parses HTTP or command lines: the server and the CLI do, and call in here.

pub mod push;
pub mod risk;
pub mod sync;
pub mod track;
pub mod upload;

pub use push::{PushRound, PushWorker};
pub use risk::{Evaluator, RiskReport, RiskSettings, RulesBook};
pub use sync::{Progress, SyncError, SyncReport, SyncSettings, Syncer};
pub use track::{Feed, Feeds, TrackError, TrackReport, TrackSettings, Tracker};

/// The loop every worker runs until `shutdown`: a round, then a pause of `period` (none after a
/// round that found work, so a backlog drains), cut short by `wake` when one is given.
pub(crate) async fn rounds<Fut>(
    period: std::time::Duration,
    shutdown: impl std::future::Future<Output = ()>,
    wake: Option<&tokio::sync::Notify>,
    mut round: impl FnMut() -> Fut,
) where
    Fut: std::future::Future<Output = bool>,
{
    tokio::pin!(shutdown);
    loop {
        let pause = if round().await {
            std::time::Duration::ZERO
        } else {
            period
        };
        let woken = async {
            match wake {
                Some(notify) => notify.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = &mut shutdown => return,
            () = woken => {}
            () = tokio::time::sleep(pause) => {}
        }
    }
}
