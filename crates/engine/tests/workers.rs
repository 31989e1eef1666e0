//! Workers as the supervisor runs them, against a real database: a round that fails in the
//! database says why in the log, with the driver's own words, not only "database error".

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use chrono::TimeZone;
use ozontrack_domain::ManualClock;
use ozontrack_engine::supervise::Worker;
use ozontrack_engine::{Evaluator, Feeds, RiskSettings, RulesBook};

#[tokio::test]
async fn a_round_that_fails_in_the_database_logs_the_underlying_cause() {
    let db = support::sqlite().await;
    let clock = Arc::new(ManualClock::new(
        chrono::Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
    ));
    let evaluator = Evaluator::new(
        db.store.clone(),
        Arc::new(Feeds::default()),
        RulesBook::default(),
        RiskSettings::default(),
        clock,
        ozontrack_db::LeaseOwner::new("risk"),
    );
    // The database goes away under the worker.
    db.store.close().await;
    let (guard, logs) = ozontrack_testkit::logs::capture();
    let found_work = evaluator.round().await;
    drop(guard);
    assert!(!found_work);
    let text = logs.text();
    assert!(text.contains("risk round failed"), "{text}");
    assert!(
        text.contains("database error: ") && text.contains("closed pool"),
        "the log names the cause: {text}"
    );
}
