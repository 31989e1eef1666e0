//! The Ozon sync against the sandbox's fake Ozon: a world of 10 000 postings synced in full
//! and then incrementally equals the world's truth, under 429 storms, 5xx, timeouts, cut
//! bodies and pages that shift while they are read; stores are leased to one worker at a time.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use ozontrack_db::prelude::*;
use ozontrack_domain::Clock;
use ozontrack_engine::{Progress, SyncError};
use ozontrack_sandbox::fakes::ozon::OzonConfig;
use ozontrack_sandbox::faults::{FaultPlan, Faults};

mod support;

/// One sync of `record` that must succeed.
async fn run(
    sync: &ozontrack_engine::Syncer<ozontrack_db::SqlDatabase>,
    record: &ozontrack_db::StoreRecord,
) -> ozontrack_engine::SyncReport {
    sync.sync_store(record, false, Arc::default())
        .await
        .unwrap()
}

use support::{add_store, assert_matches_truth, ozon_events, settings, sqlite, syncer, world};

fn stormy() -> FaultPlan {
    FaultPlan {
        ozon: Faults {
            error_rate: 0.05,
            timeout_rate: 0.02,
            malformed_rate: 0.05,
            hang_ms: 3_000,
            ..Faults::default()
        },
        seed: 11,
        ..FaultPlan::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_10000_posting_world_synced_through_faults_and_429_storms_equals_the_truth() {
    // The fake allows 30 requests a second, the client assumes Ozon's 50: a 429 storm.
    let w = world(10_000, 20, OzonConfig { rate_limit: 30 }, stormy()).await;
    let db = sqlite().await;
    let record = add_store(&db.store, &w).await;
    let sync = syncer(&db.store, &w, settings(50), "worker-a");

    let report = run(&sync, &record).await;
    assert!(report.full && !report.resumed);
    let compared = assert_matches_truth(&db.store, &record, &w).await;
    assert!(compared > 6_000, "{compared} postings visible 20 days in");
    let (first_events, repeats) = ozon_events(&db.store, &record, &w).await;
    assert_eq!(
        first_events, compared,
        "one first-sighting event per posting"
    );
    assert!(repeats.is_empty());

    // Two days later: statuses moved, new postings arrived, some arrived late.
    w.clock.advance(chrono::Duration::days(2));
    let report = run(&sync, &record).await;
    assert!(!report.full, "the second sync is incremental");
    assert!(
        report.status_events > 0 && report.new_postings > 0,
        "{report:?}"
    );
    assert_matches_truth(&db.store, &record, &w).await;
    let (events, repeats) = ozon_events(&db.store, &record, &w).await;
    assert!(repeats.is_empty(), "repeated status events: {repeats:?}");

    // Nothing changed since: a third sync adds no event.
    let report = run(&sync, &record).await;
    assert_eq!(report.status_events, 0);
    assert_eq!(ozon_events(&db.store, &record, &w).await.0, events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postings_that_arrive_and_change_while_pages_are_read_are_all_caught_by_the_next_sync() {
    let w = world(
        4_000,
        10,
        OzonConfig { rate_limit: 500 },
        FaultPlan::default(),
    )
    .await;
    let db = sqlite().await;
    let record = add_store(&db.store, &w).await;
    let sync = syncer(&db.store, &w, settings(500), "worker-a");

    // Every clock reading moves the world two minutes on: pages shift under the cursor.
    w.clock.tick_every_reading(chrono::Duration::minutes(2));
    run(&sync, &record).await;
    run(&sync, &record).await;
    w.clock.tick_every_reading(chrono::Duration::zero());
    run(&sync, &record).await;
    assert_matches_truth(&db.store, &record, &w).await;
    let (_, repeats) = ozon_events(&db.store, &record, &w).await;
    assert!(repeats.is_empty(), "repeated status events: {repeats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_sync_resumes_at_its_checkpoint_and_ends_in_the_same_state() {
    let w = world(
        3_000,
        20,
        OzonConfig { rate_limit: 500 },
        FaultPlan::default(),
    )
    .await;
    let db = sqlite().await;
    let record = add_store(&db.store, &w).await;
    let sync = syncer(&db.store, &w, settings(500), "worker-a");

    // Stop the first sync after a few pages, the way a crash would: drop it mid-flight.
    let progress = Arc::new(Progress::default());
    let watched = Arc::clone(&progress);
    let first = {
        let sync = sync.clone();
        let record = record.clone();
        tokio::spawn(async move { sync.sync_store(&record, false, watched).await })
    };
    while progress.pages.load(std::sync::atomic::Ordering::Relaxed) < 5 {
        tokio::task::yield_now().await;
    }
    first.abort();
    let _ = first.await;
    let scans = db.store.scans(record.id).await.unwrap();
    assert!(
        scans.iter().any(|s| s.pages > 0),
        "some pages were checkpointed"
    );
    assert!(scans.iter().any(|s| !s.done), "and some were not");

    // The lease of the dead sync still runs; once it has expired, a restart resumes.
    w.clock.advance(chrono::Duration::minutes(5));
    let report = run(&sync, &record).await;
    assert!(report.resumed, "{report:?}");
    // Postings that appeared during the pause are the next (incremental) sync's.
    let report = run(&sync, &record).await;
    assert!(!report.full);
    assert_matches_truth(&db.store, &record, &w).await;
    // Pages read again after the restart add no event twice; a posting whose status changed
    // during the five minutes' pause has a second, different one (so not an equality: which
    // pages the first sync stored before it died varies from run to run).
    let (events, repeats) = ozon_events(&db.store, &record, &w).await;
    assert!(repeats.is_empty(), "repeated status events: {repeats:?}");
    assert!(events >= db.store.count_postings(record.id).await.unwrap() as usize);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_is_synced_by_one_worker_at_a_time() {
    let w = world(500, 20, OzonConfig::default(), FaultPlan::default()).await;
    let db = sqlite().await;
    let record = add_store(&db.store, &w).await;
    let a = syncer(&db.store, &w, settings(50), "worker-a");
    let b = syncer(&db.store, &w, settings(50), "worker-b");

    let now = w.clock.now();
    assert!(
        db.store
            .lease(
                record.id,
                &ozontrack_db::LeaseOwner::new("worker-a"),
                now,
                now + chrono::Duration::minutes(2)
            )
            .await
            .unwrap()
    );
    let refused = b.sync_store(&record, false, Arc::default()).await;
    assert!(
        matches!(refused, Err(SyncError::Busy { .. })),
        "{refused:?}"
    );
    // The holder itself may go on.
    a.sync_store(&record, false, Arc::default()).await.unwrap();
    // Released with its next sync due later: neither worker finds a due store now.
    assert!(b.run_once().await.unwrap().is_none());
    w.clock.advance(chrono::Duration::minutes(6));
    let report = b.run_once().await.unwrap().unwrap();
    assert!(!report.full);
}

#[tokio::test]
async fn a_wrong_api_key_stops_the_sync_with_an_error_naming_the_store() {
    let w = world(100, 20, OzonConfig::default(), FaultPlan::default()).await;
    let db = sqlite().await;
    let record = add_store(&db.store, &w).await;
    db.store
        .set_store_connection(
            record.id,
            record.client_id.unwrap(),
            secrecy::SecretString::from("wrong-key".to_owned()),
            &w.sandbox.urls.ozon,
            record.created_at,
        )
        .await
        .unwrap();
    let err = syncer(&db.store, &w, settings(50), "worker-a")
        .sync_store(&record, false, Arc::default())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("sandbox-shop") && text.contains("API key"),
        "{text}"
    );
}

mod postgres {
    use super::*;
    use support::{open, postgres};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_workers_on_postgresql_share_stores_and_the_result_equals_the_truth() {
        let Some(db) = postgres().await else { return };
        let w = world(2_000, 20, OzonConfig { rate_limit: 200 }, stormy()).await;
        let record = add_store(&db.store, &w).await;
        // Two processes: two pools on one database, two owners.
        let other = open(&db.url).await;
        let a = syncer(&db.store, &w, settings(200), "host-a:1");
        let b = syncer(&other, &w, settings(200), "host-b:2");
        let (ra, rb) = tokio::join!(a.run_once(), b.run_once());
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        assert!(
            ra.is_some() != rb.is_some(),
            "exactly one worker syncs the store: {ra:?} {rb:?}"
        );
        assert_matches_truth(&db.store, &record, &w).await;

        w.clock.advance(chrono::Duration::hours(6));
        let (ra, rb) = tokio::join!(a.run_once(), b.run_once());
        assert!(ra.unwrap().is_some() != rb.unwrap().is_some());
        assert_matches_truth(&other, &record, &w).await;
        let (_, repeats) = ozon_events(&db.store, &record, &w).await;
        assert!(repeats.is_empty());
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_processes_never_act_on_the_same_push_nor_call_ozon_for_one_store_at_once() {
        let Some(db) = postgres().await else { return };
        let w = world(200, 20, OzonConfig::default(), FaultPlan::default()).await;
        let record = add_store(&db.store, &w).await;
        let other = open(&db.url).await;
        let a = syncer(&db.store, &w, settings(200), "host-a:1");
        a.run_once().await.unwrap().unwrap();
        let b = syncer(&other, &w, settings(200), "host-b:2");
        let now = w.clock.now();
        let numbers: Vec<String> = w
            .sandbox
            .state
            .window()
            .parcels()
            .iter()
            .filter(|p| p.appears_at <= now)
            .map(|p| p.posting_number.clone())
            .take(60)
            .collect();
        for (i, number) in numbers.iter().enumerate() {
            let push = ozontrack_db::NewPush {
                store_id: record.id,
                dedupe_key: format!("push-{i}"),
                message_type: "TYPE_STATE_CHANGED".into(),
                posting_number: Some(number.clone()),
                fbo: false,
                changed_at: Some(now),
            };
            assert!(db.store.record_push(&push, now).await.unwrap());
        }
        let workers = [
            ozontrack_engine::PushWorker::new(a, db.store.clone(), w.clock.clone()),
            ozontrack_engine::PushWorker::new(b, other.clone(), w.clock.clone()),
        ];
        let mut acted = 0;
        loop {
            let (ra, rb) = tokio::join!(workers[0].run_once(), workers[1].run_once());
            let (ra, rb) = (ra.unwrap(), rb.unwrap());
            let count = |r: ozontrack_engine::PushRound| r.refetched + r.unknown + r.failed;
            assert!(
                count(ra) == 0 || count(rb) == 0,
                "both processes acted on one store's pushes at once: {ra:?} {rb:?}"
            );
            if count(ra) + count(rb) == 0 {
                break;
            }
            acted += count(ra) + count(rb);
        }
        assert_eq!(acted, numbers.len(), "every push acted on once");
        assert!(db.store.pending_pushes(None, 10).await.unwrap().is_empty());
        // The store's lease is given back, its sync schedule untouched.
        let stored = db.store.store(record.id).await.unwrap().unwrap();
        assert!(stored.next_sync_at.is_some_and(|t| t > now));
    }
}
