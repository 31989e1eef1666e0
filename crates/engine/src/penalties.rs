//! Each store's standing in Ozon's penalty points: the points of its rolling window against
//! the thresholds its own rules set, read once here so that the CLI and the dashboard show the
//! same total, window and level.

use chrono::{DateTime, Duration, Utc};
use ozontrack_db::{Alerts, PenaltyRecord, StoreRecord};
use ozontrack_domain::notify::PenaltyLevel;
use ozontrack_domain::rules::ComplianceRules;

use crate::Error;
use crate::risk::RulesBook;

/// One store's points and what they mean.
#[derive(Debug, Clone)]
pub struct Standing {
    pub store: StoreRecord,
    /// Points within the window.
    pub total: i64,
    /// The worst threshold reached; none below the warning.
    pub level: Option<PenaltyLevel>,
    /// The window and the thresholds the store is held to.
    pub rules: ComplianceRules,
    /// The violations counted, oldest first.
    pub ledger: Vec<PenaltyRecord>,
}

/// The standing of each store, in their order.
pub async fn standings<D: Alerts>(
    db: &D,
    book: &RulesBook,
    stores: &[StoreRecord],
    now: DateTime<Utc>,
) -> Result<Vec<Standing>, Error> {
    let mut standings = Vec::with_capacity(stores.len());
    for store in stores {
        let rules = book.for_store(store.id).compliance.clone();
        let ledger = db
            .penalties(store.id, now - Duration::days(rules.points_window_days))
            .await?;
        let total = ledger.iter().map(|p| p.points).sum();
        standings.push(Standing {
            store: store.clone(),
            total,
            level: rules.level(total),
            rules,
            ledger,
        });
    }
    Ok(standings)
}
