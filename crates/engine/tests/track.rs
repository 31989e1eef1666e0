//! The tracking worker against the sandbox: a world run for 30 simulated days, synced and
//! tracked the way the workers do it, ends with every carrier leg equal to the truth, no
//! duplicate events, and every hand-over linked to its last-mile leg; with risk evaluators
//! running too, every true stall is alerted within two hours of its threshold (or of the end
//! of a carrier outage's grace); finished legs are stopped at 17TRACK and restarted before
//! they are read again; a disputed parcel's evidence pack, built by the dispute worker, holds
//! every event its carriers published, with the recipient and hand-over they gave.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ozontrack_carriers::cdek::CdekClient;
use ozontrack_carriers::russian_post::RussianPostClient;
use ozontrack_carriers::seventeen_track::SeventeenTrackClient;
use ozontrack_db::prelude::*;
use ozontrack_db::{Chore, LeaseOwner, LegRecord, SqlDatabase, StoreRecord};
use ozontrack_domain::Clock;
use ozontrack_domain::LegId;
use ozontrack_engine::{
    Evaluator, Feed, Feeds, RiskSettings, RulesBook, TrackReport, TrackSettings, Tracker,
};
use ozontrack_sandbox::fakes::seventeen_track::SeventeenTrackConfig;
use ozontrack_sandbox::{EventKind, FailureKind, Mode, Sandbox, ServeConfig, World, WorldConfig};
use secrecy::SecretString;
use support::{TestClock, World1};

async fn world(parcels: u32) -> World1 {
    let world = World::generate(WorldConfig {
        parcels,
        ..WorldConfig::default()
    });
    let clock = TestClock::new(world.config.start);
    let serve = ServeConfig {
        push_every: None,
        // The sandbox's own limit is real time; simulated days pass in seconds here.
        seventeen_track: SeventeenTrackConfig {
            rate_limit: 100_000,
            ..SeventeenTrackConfig::default()
        },
        ..ServeConfig::default()
    };
    let sandbox = Sandbox::start(world, clock.clone(), &serve).await.unwrap();
    World1 { sandbox, clock }
}

fn feeds(w: &World1) -> Arc<Feeds> {
    let http = ozontrack_http::client(Duration::from_secs(5)).unwrap();
    let c = &w.sandbox.state.world.credentials;
    let urls = &w.sandbox.urls;
    Arc::new(Feeds {
        seventeen_track: Some(SeventeenTrackClient::with_rate_limit(
            http.clone(),
            &urls.seventeen_track,
            SecretString::from(c.seventeen_track_token.clone()),
            100_000,
        )),
        russian_post: Some(RussianPostClient::new(
            http.clone(),
            &urls.russian_post,
            &c.russian_post_login,
            SecretString::from(c.russian_post_password.clone()),
        )),
        cdek: Some(CdekClient::new(
            http,
            &urls.cdek,
            &c.cdek_client_id,
            SecretString::from(c.cdek_client_secret.clone()),
        )),
    })
}

fn tracker(
    store: &SqlDatabase,
    w: &World1,
    feeds: &Arc<Feeds>,
    owner: &str,
) -> Tracker<SqlDatabase> {
    let settings = TrackSettings {
        backoff: chrono::Duration::minutes(10),
        ..TrackSettings::default()
    };
    Tracker::new(
        store.clone(),
        feeds.clone(),
        settings,
        w.clock.clone(),
        LeaseOwner::new(owner),
    )
}

/// Runs the world for `days`: a sync every 6 simulated hours, tracking rounds every hour by
/// each of `trackers` in turn, then a risk round by each of `evaluators` in turn. Returns the
/// tracking totals.
async fn run_days(
    store: &SqlDatabase,
    record: &StoreRecord,
    w: &World1,
    trackers: &[Tracker<SqlDatabase>],
    evaluators: &[Evaluator<SqlDatabase>],
    days: i64,
) -> TrackReport {
    let syncer = support::syncer(store, w, support::settings(1000), "sync");
    let mut total = TrackReport::default();
    for hour in 0..days * 24 {
        if hour % 6 == 0 {
            let progress = Arc::new(ozontrack_engine::Progress::default());
            syncer.sync_store(record, false, progress).await.unwrap();
        }
        let tracker = &trackers[usize::try_from(hour).unwrap() % trackers.len()];
        let round = tracker.run_until_idle(|_| {}).await.unwrap();
        total.add(round);
        if !evaluators.is_empty() {
            let evaluator = &evaluators[usize::try_from(hour).unwrap() % evaluators.len()];
            evaluator.run_once().await.unwrap();
        }
        w.clock.advance(chrono::Duration::hours(1));
    }
    total
}

fn evaluator(
    store: &SqlDatabase,
    w: &World1,
    feeds: &Arc<Feeds>,
    owner: &str,
) -> Evaluator<SqlDatabase> {
    Evaluator::new(
        store.clone(),
        feeds.clone(),
        RulesBook::default(),
        RiskSettings::default(),
        w.clock.clone(),
        LeaseOwner::new(owner),
    )
}

/// The alerts against the truth: every true stall that crossed 48 hours (72 after leaving the
/// origin country) while its tracking number was known got a stale alert within two hours of
/// crossing (hourly rounds, a check 15 minutes after the threshold), and at most one in a
/// hundred healthy parcels got any alert but a recommendation.
async fn assert_alerts_match_truth(store: &SqlDatabase, record: &StoreRecord, w: &World1) {
    let end = w.clock.now();
    let alerts = store
        .alerts(&ozontrack_db::AlertFilter {
            stores: Some(vec![record.id]),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut by_posting: HashMap<&str, Vec<&ozontrack_domain::alert::AlertRecord>> = HashMap::new();
    for a in &alerts {
        by_posting
            .entry(a.posting_number.as_str())
            .or_default()
            .push(a);
    }
    let (mut stalls, mut caught, mut healthy, mut alarmed) = (0, 0, 0, 0);
    let mut missed = Vec::new();
    let mut examples = Vec::new();
    for p in w.sandbox.state.window().parcels() {
        let mine = by_posting
            .get(p.posting_number.as_str())
            .map_or(&[][..], Vec::as_slice);
        if p.failures.is_empty() && p.appears_at < end {
            healthy += 1;
            if let Some(a) = mine
                .iter()
                .find(|a| a.rule != ozontrack_domain::finding::RuleKind::HighValue)
            {
                alarmed += 1;
                if examples.len() < 8 {
                    examples.push((
                        p.posting_number.clone(),
                        p.mode,
                        a.rule,
                        a.opened_at,
                        a.why.clone(),
                    ));
                }
            }
        }
        for f in p.failures.iter().filter(|f| f.kind == FailureKind::Stall) {
            // Tracked well before the stall began: its whole silence is ours to see.
            let tracked = p
                .tracking_uploaded_at
                .is_some_and(|u| u + chrono::Duration::hours(6) < f.started_at);
            if !tracked {
                continue;
            }
            let abroad = p
                .legs()
                .flat_map(|l| l.events.iter())
                .filter(|e| e.at <= f.started_at)
                .max_by_key(|e| e.at)
                .is_some_and(|e| e.kind == EventKind::DepartedOrigin);
            let crossing = f.started_at + chrono::Duration::hours(if abroad { 72 } else { 48 });
            let mut window = crossing + chrono::Duration::hours(2);
            // A carrier outage holds the verdict back until the feed is back and its grace over.
            let carriers: Vec<_> = p.legs().map(|l| l.carrier).collect();
            for o in w.sandbox.state.window().outages() {
                if carriers.contains(&o.carrier) && o.from <= window && o.until >= crossing {
                    window = window.max(o.until + chrono::Duration::hours(6 + 2));
                }
            }
            if window > end || f.ended_at.is_some_and(|e| e < window) {
                continue;
            }
            stalls += 1;
            let hit = mine.iter().any(|a| {
                a.rule == ozontrack_domain::finding::RuleKind::Stale
                    && a.opened_at >= crossing
                    && a.opened_at <= window
            });
            if hit {
                caught += 1;
            } else {
                missed.push((
                    p.posting_number.clone(),
                    crossing,
                    mine.iter()
                        .map(|a| (a.rule, a.opened_at))
                        .collect::<Vec<_>>(),
                ));
            }
        }
    }
    assert!(stalls > 0, "the world has stalls to find");
    assert_eq!(caught, stalls, "stalls missed: {missed:?}");
    assert!(healthy > 0);
    assert!(
        alarmed * 100 <= healthy,
        "{alarmed} of {healthy} healthy parcels alarmed: {examples:?}"
    );
}

/// Every carrier leg of the store.
async fn carrier_legs(store: &SqlDatabase, record: &StoreRecord, w: &World1) -> Vec<LegRecord> {
    let mut legs = Vec::new();
    for p in w.sandbox.state.window().parcels() {
        let number = ozontrack_domain::PostingNumber::parse(&p.posting_number).unwrap();
        if let Some(posting) = store.posting(record.id, &number).await.unwrap() {
            legs.extend(
                store
                    .legs(posting.id)
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|l| l.leg.carrier.as_str() != "ozon"),
            );
        }
    }
    legs
}

/// The latest event a feed shows for `number` at `now`, as (time, main status).
fn truth(
    sandbox: &Sandbox,
    feed: Feed,
    number: &str,
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, String)> {
    sandbox
        .state
        .window()
        .legs_of(number)
        .into_iter()
        .flat_map(|(_, leg)| leg.events.iter())
        // Russian Post has no operation for an electronic pre-advice.
        .filter(|e| {
            e.visible_at <= now && !(feed == Feed::RussianPost && e.kind == EventKind::Registered)
        })
        .max_by_key(|e| e.at)
        .map(|e| (e.at, e.kind.normalized().main.as_str().to_owned()))
}

async fn assert_legs_match_truth(
    store: &SqlDatabase,
    record: &StoreRecord,
    w: &World1,
    feeds: &Feeds,
) {
    let now = w.clock.now();
    let legs = carrier_legs(store, record, w).await;
    assert!(!legs.is_empty());
    let mut mismatches = Vec::new();
    let mut by_number: HashMap<String, &LegRecord> = HashMap::new();
    for leg in &legs {
        let number = leg.leg.tracking_number.as_str();
        by_number.insert(number.to_owned(), leg);
        let feed = feeds.feed_of(&leg.leg).unwrap();
        let expected = truth(&w.sandbox, feed, number, now);
        let got = leg
            .last_event_at
            .zip(leg.status.as_ref().map(|s| s.main.as_str().to_owned()));
        if got != expected {
            mismatches.push(format!(
                "{number} ({}): stored {got:?}, truth {expected:?}; tracked since {}, \
                 checked {} times, next check {:?}",
                leg.leg.carrier.as_str(),
                leg.created_at,
                leg.checks,
                leg.next_check_at
            ));
        }
        // No event twice: the store holds exactly what the feed shows.
        let events = store.events(leg.id).await.unwrap();
        let mut seen = std::collections::HashSet::new();
        for e in &events {
            let key = (
                e.event.occurred_at,
                e.event.raw_code.clone(),
                e.event.source.as_str().to_owned(),
            );
            assert!(seen.insert(key), "{number}: an event stored twice");
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} legs differ from the truth, e.g. {:#?}",
        mismatches.len(),
        legs.len(),
        &mismatches[..mismatches.len().min(8)]
    );
    // Every hand-over the first mile reported by now is a linked last-mile leg.
    let mut linked = 0;
    for p in w
        .sandbox
        .state
        .window()
        .parcels()
        .iter()
        .filter(|p| p.mode == Mode::Rfbs)
    {
        let (Some(first), Some(last)) = (&p.first_mile, &p.last_mile) else {
            continue;
        };
        let handed = first
            .events
            .iter()
            .any(|e| e.kind == EventKind::HandedToLastMile && e.visible_at <= now);
        let Some(first_leg) = by_number.get(&first.tracking_number) else {
            continue;
        };
        if handed {
            let last_leg = by_number.get(&last.tracking_number).unwrap_or_else(|| {
                panic!(
                    "{}: hand-over to {} not linked",
                    p.posting_number, last.tracking_number
                )
            });
            assert_eq!(last_leg.parent, Some(first_leg.id), "{}", p.posting_number);
            assert_eq!(last_leg.leg.carrier.as_str(), last.carrier.code());
            linked += 1;
        }
    }
    assert!(linked > 0, "no hand-over happened in the world");
}

/// Leaves any carrier outage running at the end, so the last look sees everything.
fn after_outages(w: &World1) {
    let now = w.clock.now();
    if let Some(end) = w
        .sandbox
        .state
        .window()
        .outages()
        .iter()
        .filter(|o| o.from <= now && now < o.until)
        .map(|o| o.until)
        .max()
    {
        w.clock.advance(end - now);
    }
}

/// `ozontrack track --all`: every leg that is still tracked, checked now.
async fn check_all(
    store: &SqlDatabase,
    record: &StoreRecord,
    w: &World1,
    tracker: &Tracker<SqlDatabase>,
) {
    let ids: Vec<LegId> = carrier_legs(store, record, w)
        .await
        .into_iter()
        .filter(|l| l.next_check_at.is_some())
        .map(|l| l.id)
        .collect();
    for chunk in ids.chunks(400) {
        tracker.check_now(chunk).await.unwrap();
    }
    // Hand-overs seen just now added last-mile legs, due at once.
    tracker.run_until_idle(|_| {}).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_10000_parcel_world_tracked_for_30_days_ends_equal_to_the_truth() {
    let db = support::sqlite().await;
    let w = world(10_000).await;
    let record = support::add_store(&db.store, &w).await;
    let feeds = feeds(&w);
    let trackers = [tracker(&db.store, &w, &feeds, "t1")];
    let total = run_days(&db.store, &record, &w, &trackers, &[], 30).await;
    assert!(total.hand_overs > 0);
    after_outages(&w);
    check_all(&db.store, &record, &w, &trackers[0]).await;
    assert_legs_match_truth(&db.store, &record, &w, &feeds).await;
    let health = db.store.feed_health().await.unwrap();
    assert!(health.iter().any(|h| h.feed == "17track" && h.calls > 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_legs_are_stopped_at_17track_and_restarted_before_they_are_read_again() {
    let db = support::sqlite().await;
    let w = world(300).await;
    let record = support::add_store(&db.store, &w).await;
    let feeds = feeds(&w);
    let trackers = [tracker(&db.store, &w, &feeds, "t1")];
    let total = run_days(&db.store, &record, &w, &trackers, &[], 30).await;
    assert!(total.stopped > 0, "{total:?}");
    // Every finished leg registered at 17TRACK is stopped there, and no other leg is.
    let legs = carrier_legs(&db.store, &record, &w).await;
    for leg in &legs {
        let finished = leg.registered_at.is_some() && leg.next_check_at.is_none();
        assert_eq!(leg.stopped_at.is_some(), finished, "{leg:?}");
    }
    let stopped = legs.iter().find(|l| l.stopped_at.is_some()).unwrap();
    let number = (stopped.leg.tracking_number.as_str().to_owned(), None);

    // Checked again (by hand here): restarted first, then read.
    let report = trackers[0].check_now(&[stopped.id]).await.unwrap();
    assert_eq!(report.restarted, 1);
    assert_eq!(report.legs_checked(), 1);
    let leg = db.store.leg(stopped.id).await.unwrap().unwrap();
    assert_eq!(leg.stopped_at, None);
    let client = feeds.seventeen_track.as_ref().unwrap();
    let again = client.retrack(std::slice::from_ref(&number)).await.unwrap();
    assert_eq!(
        again[0].code,
        ozontrack_carriers::seventeen_track::codes::NOT_STOPPED,
        "17TRACK tracks the number again"
    );
    // Still finished: the next round stops it again.
    let round = trackers[0].run_once().await.unwrap();
    assert!(round.stopped >= 1);
    let leg = db.store.leg(stopped.id).await.unwrap().unwrap();
    assert!(leg.stopped_at.is_some());

    // While 17TRACK backs off, finished legs wait to be stopped; then they are.
    db.store.mark_stopped(&[stopped.id], None).await.unwrap();
    let now = w.clock.now();
    let failing = ozontrack_db::FeedOutcome {
        feed: "17track",
        error: Some("HTTP 503"),
        backoff_until: Some(now + chrono::Duration::minutes(10)),
        calls: 1,
    };
    db.store.record_feed(&failing, now).await.unwrap();
    assert_eq!(trackers[0].run_once().await.unwrap().stopped, 0);
    w.clock.advance(chrono::Duration::minutes(11));
    assert!(trackers[0].run_once().await.unwrap().stopped >= 1);
}

/// `pdftotext` of a PDF (poppler-utils; `.ci/run` installs it).
fn pdf_text(pdf: &[u8], name: &str) -> String {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(out.status.success());
    let rendered = std::process::Command::new("pdftoppm")
        .args(["-png", "-r", "70"])
        .arg(&path)
        .arg(dir.join(name.trim_end_matches(".pdf")))
        .status()
        .expect("pdftoppm (poppler-utils) is installed");
    assert!(rendered.success());
    // Lines wrap anywhere in a table cell: words are compared, not lines.
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn zip_entry(zip: &[u8], name: &str) -> Vec<u8> {
    use std::io::Read as _;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut out = Vec::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disputed_parcels_pack_holds_every_event_its_carriers_published_and_who_received_it() {
    let db = support::sqlite().await;
    let w = world(800).await;
    let record = support::add_store(&db.store, &w).await;
    let feeds = feeds(&w);
    let trackers = [tracker(&db.store, &w, &feeds, "t1")];
    run_days(&db.store, &record, &w, &trackers, &[], 30).await;
    after_outages(&w);
    check_all(&db.store, &record, &w, &trackers[0]).await;
    let estimates = Arc::new(ozontrack_engine::estimate::EstimateBook::default());
    let worker = ozontrack_engine::evidence::DisputeWorker::new(
        db.store.clone(),
        Arc::clone(&estimates),
        LeaseOwner::new("this node"),
        w.clock.clone(),
    );
    // While another process holds the chore, this one builds nothing.
    let (other, now) = (LeaseOwner::new("other node"), w.clock.now());
    let held = db
        .store
        .claim_one(
            Chore::DISPUTES,
            &other,
            now,
            now + chrono::Duration::hours(1),
        )
        .await
        .unwrap();
    assert!(held);
    assert_eq!(worker.run_once(now).await.unwrap(), 0);
    assert!(db.store.let_go(Chore::DISPUTES, &other).await.unwrap());
    let built = worker.run_once(w.clock.now()).await.unwrap();
    assert!(built > 0, "the world has disputed parcels");
    // Nothing changed since: the next round builds nothing.
    assert_eq!(worker.run_once(w.clock.now()).await.unwrap(), 0);

    let now = w.clock.now();
    let window = w.sandbox.state.window();
    let mut checked = 0;
    for parcel in window.parcels() {
        let disputed = parcel
            .failures
            .iter()
            .any(|f| f.kind == FailureKind::Disputed);
        let number = ozontrack_domain::PostingNumber::parse(&parcel.posting_number).unwrap();
        let Some(posting) = db.store.posting(record.id, &number).await.unwrap() else {
            continue;
        };
        let kept = db.store.kept_pack(posting.id).await.unwrap();
        let in_dispute = posting.posting.status.as_str().ends_with("arbitration");
        assert_eq!(kept.is_some(), in_dispute, "{}", parcel.posting_number);
        let Some(kept) = kept else { continue };
        assert!(disputed, "only disputed parcels are in arbitration");
        let checked_pack = ozontrack_engine::evidence::verify(&kept.content).unwrap();
        assert!(checked_pack.is_intact(), "{:?}", checked_pack.problems);
        let doc: ozontrack_evidence::Document =
            serde_json::from_slice(&zip_entry(&kept.content, "evidence.json")).unwrap();
        let poppler = std::process::Command::new("pdftotext")
            .arg("-v")
            .output()
            .is_ok();
        assert!(
            poppler || std::env::var_os("CI").is_none(),
            "CI is set but pdftotext is missing"
        );
        let pdf = (ozontrack_evidence::WITH_PDF && poppler).then(|| {
            let pdf = zip_entry(&kept.content, "evidence.pdf");
            pdf_text(&pdf, &format!("evidence-{}.pdf", parcel.posting_number))
        });
        // Every event each carrier published by now is in the pack, on its leg, with its
        // source and when ozontrack received it; and in the PDF's text.
        for sim in [&parcel.first_mile, &parcel.last_mile]
            .into_iter()
            .flatten()
        {
            let number = sim.tracking_number.as_str();
            let legs: Vec<_> = doc
                .legs
                .iter()
                .filter(|l| l.tracking_number == number)
                .collect();
            assert!(!legs.is_empty(), "leg {number} is in the pack");
            let stored: Vec<_> = legs.iter().flat_map(|l| &l.events).collect();
            for e in sim.events.iter().filter(|e| e.visible_at <= now) {
                let at = e.at.format("%Y-%m-%d %H:%M UTC").to_string();
                let found = stored.iter().any(|s| {
                    s.occurred_at == e.at && s.received_at.is_some() && !s.source.is_empty()
                });
                let expected = ozontrack_sandbox::fakes::published(sim.carrier, e.kind)
                    || legs
                        .iter()
                        .any(|l| !matches!(l.carrier.as_str(), "russian_post" | "cdek"));
                if expected {
                    assert!(found, "{number}: {:?} at {at} is in the pack", e.kind);
                }
                if let (Some(text), true) = (&pdf, expected) {
                    assert!(text.contains(&at), "{number}: {at} is in the PDF");
                }
            }
            // And nothing a carrier did not say.
            for s in &stored {
                assert!(
                    s.raw_code == "CREATED"
                        || [&parcel.first_mile, &parcel.last_mile]
                            .into_iter()
                            .flatten()
                            .filter(|l| l.tracking_number == number)
                            .flat_map(|l| &l.events)
                            .any(|e| e.at == s.occurred_at),
                    "{number}: {} at {} has no true event",
                    s.raw_code,
                    s.occurred_at
                );
            }
        }
        let delivery = doc
            .delivery
            .as_ref()
            .expect("a disputed parcel was delivered");
        if matches!(delivery.carrier.as_str(), "russian_post" | "cdek") {
            assert_eq!(
                delivery.event.recipient.as_deref(),
                Some(parcel.recipient())
            );
            if let Some(text) = &pdf {
                assert!(text.contains(parcel.recipient()));
            }
        }
        if delivery.carrier == "russian_post" {
            let (attr, _) = parcel.russian_post_handover();
            assert_eq!(delivery.event.raw_code, format!("2.{attr}"));
            assert!(delivery.event.handover.is_some());
        }
        if let Some(text) = &pdf {
            for needle in ["妥投证据", "Доказательства доставки", "Просим отклонить"]
            {
                assert!(text.contains(needle), "{needle} is in the PDF");
            }
        }
        checked += 1;
    }
    assert!(checked > 0);
}

/// Pauses, resumes and removes the store of a running world, as an admin would under a running
/// server: while paused nothing is synced, tracked or evaluated; resumed, it runs again; removed
/// mid-round, every worker goes on without an error loop, nothing of the store is left, and a
/// token granted only that store sees nothing.
async fn a_store_paused_resumed_and_removed_under_running_workers(db: &support::Db) {
    use ozontrack_domain::{Role, StoreScope};
    let w = world(120).await;
    let record = support::add_store(&db.store, &w).await;
    let feeds = feeds(&w);
    let trackers = [tracker(&db.store, &w, &feeds, "t1")];
    let evaluators = [evaluator(&db.store, &w, &feeds, "r1")];
    run_days(&db.store, &record, &w, &trackers, &evaluators, 3).await;
    let syncer = support::syncer(&db.store, &w, support::settings(1000), "sync");
    let admin = ozontrack_engine::Actor::console("admin").unwrap();

    assert!(
        ozontrack_engine::stores::set_paused(&db.store, &record, true, &admin, w.clock.now())
            .await
            .unwrap()
    );
    for _ in 0..12 {
        w.clock.advance(chrono::Duration::hours(2));
        assert!(
            syncer.run_once().await.unwrap().is_none(),
            "a paused store synced"
        );
        let round = trackers[0].run_once().await.unwrap();
        assert_eq!(round.legs_checked(), 0, "a paused store tracked: {round:?}");
        assert_eq!(round.carrier_calls, 0);
        let risk = evaluators[0].run_once().await.unwrap();
        assert_eq!(risk.evaluated, 0, "rules ran on a paused store: {risk:?}");
    }

    ozontrack_engine::stores::set_paused(&db.store, &record, false, &admin, w.clock.now())
        .await
        .unwrap();
    assert!(
        syncer.run_once().await.unwrap().is_some(),
        "resumed, due at once"
    );
    assert!(trackers[0].run_once().await.unwrap().legs_checked() > 0);

    let (secret, _) = ozontrack_engine::access::create_token(
        &db.store,
        "packer",
        Role::Viewer,
        StoreScope::Only(vec![record.id]),
        &admin,
        w.clock.now(),
    )
    .await
    .unwrap();
    // Removed while a tracking round runs: that round may see its legs vanish, and none after
    // it finds anything to do or fails.
    w.clock.advance(chrono::Duration::hours(6));
    let (round, removed) = tokio::join!(
        trackers[0].run_once(),
        ozontrack_engine::stores::remove(&db.store, &record, &admin, w.clock.now())
    );
    let removed = removed.unwrap();
    assert!(removed.postings > 0);
    drop(round);
    for _ in 0..6 {
        w.clock.advance(chrono::Duration::hours(2));
        assert!(syncer.run_once().await.unwrap().is_none());
        let round = trackers[0].run_once().await.unwrap();
        assert_eq!(round.legs_checked(), 0, "{round:?}");
        evaluators[0].run_once().await.unwrap();
    }
    assert!(db.store.stores().await.unwrap().is_empty());
    let page = db
        .store
        .postings_page(&ozontrack_db::PostingQuery {
            stores: vec![record.id],
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(page.is_empty());
    let alerts = db.store.alerts(&Default::default()).await.unwrap();
    assert!(alerts.is_empty(), "alerts left of a removed store");
    let token = db
        .store
        .token_by_hash(&ozontrack_engine::access::secret_hash(&secret))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        token.scope,
        StoreScope::Only(Vec::new()),
        "the token sees nothing now"
    );
    let trail = ozontrack_engine::audit::entries(&db.store, &StoreScope::All, None, 10)
        .await
        .unwrap();
    let actions: Vec<_> = trail.iter().map(|r| r.entry.action).collect();
    assert_eq!(
        actions[..2],
        [
            ozontrack_domain::AuditAction::StoreRemoved,
            ozontrack_domain::AuditAction::TokenCreated
        ]
    );
}

/// Process A dies in the middle of a store's risk round (its future is dropped after it wrote
/// some batches, its lease left behind); process B, on its own connection pool, finds the store
/// held until A's lease expires, then does the whole round again: the round ends where an
/// undisturbed one would (nothing left for the rules to change) and no alert is there twice.
async fn a_killed_risk_round_is_finished_by_another_process(db: &support::Db, other: SqlDatabase) {
    let w = world(400).await;
    let record = support::add_store(&db.store, &w).await;
    let feeds = feeds(&w);
    let trackers = [tracker(&db.store, &w, &feeds, "t1")];
    run_days(&db.store, &record, &w, &trackers, &[], 12).await;
    let settings = RiskSettings {
        batch: 1,
        ..RiskSettings::default()
    };
    let process = |store: SqlDatabase, owner: &str| {
        Evaluator::new(
            store,
            feeds.clone(),
            RulesBook::default(),
            settings.clone(),
            w.clock.clone(),
            LeaseOwner::new(owner),
        )
    };
    let a = process(db.store.clone(), "a");
    let b = process(other, "b");
    let all = ozontrack_db::AlertFilter::default();

    {
        let mut round = std::pin::pin!(a.run_once());
        loop {
            tokio::select! {
                biased;
                done = &mut round => panic!("the round ended before it was killed: {done:?}"),
                () = tokio::task::yield_now() => {}
            }
            if db.store.alerts(&all).await.unwrap().len() >= 3 {
                break;
            }
        }
    }
    let left_by_a = db.store.alerts(&all).await.unwrap().len();

    let held = b.run_once().await.unwrap();
    assert_eq!(
        held.evaluated, 0,
        "the dead process's lease still holds the store"
    );
    w.clock
        .advance(settings.lease + chrono::Duration::seconds(1));
    let report = b.run_once().await.unwrap();
    assert_eq!(report.full_rounds, 1, "{report:?}");
    assert!(report.evaluated > 0);

    let alerts = db.store.alerts(&all).await.unwrap();
    assert!(alerts.len() > left_by_a, "B went on past where A died");
    let mut seen = std::collections::HashSet::new();
    for alert in &alerts {
        assert!(
            seen.insert((alert.posting_id, alert.rule)),
            "{} has two {:?} alerts",
            alert.posting_number,
            alert.rule
        );
        let opened = db.store.alert_history(alert.id).await.unwrap();
        assert_eq!(
            opened.first().map(|h| h.state),
            Some(ozontrack_domain::alert::AlertState::Open)
        );
    }
    let postings = db
        .store
        .postings_page(&ozontrack_db::PostingQuery {
            stores: vec![record.id],
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    for posting in &postings {
        let left = b.explain(posting.record.id, None).await.unwrap().unwrap();
        assert!(
            left.changes.is_empty(),
            "{} still has changes to make: {:?}",
            posting.record.posting.number,
            left.changes
        );
    }
    // The round is recorded as done: the next one is incremental and finds nearly nothing.
    let next = b.run_once().await.unwrap();
    assert_eq!(next.full_rounds, 0, "{next:?}");
    assert_eq!(
        next.applied,
        ozontrack_db::RiskApplied::default(),
        "{next:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_risk_round_killed_midway_is_finished_by_another_process_without_double_alerts() {
    let db = support::sqlite().await;
    let other = db.store.clone();
    a_killed_risk_round_is_finished_by_another_process(&db, other).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_store_rests_and_a_removed_one_leaves_nothing_under_running_workers() {
    let db = support::sqlite().await;
    a_store_paused_resumed_and_removed_under_running_workers(&db).await;
}

mod postgres {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_paused_store_rests_and_a_removed_one_leaves_nothing_on_postgresql() {
        let Some(db) = support::postgres().await else {
            return;
        };
        a_store_paused_resumed_and_removed_under_running_workers(&db).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_risk_round_killed_midway_on_postgresql_is_finished_by_another_process() {
        let Some(db) = support::postgres().await else {
            return;
        };
        let other = support::open(&db.url).await;
        a_killed_risk_round_is_finished_by_another_process(&db, other).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_trackers_on_postgresql_share_the_legs_and_end_equal_to_the_truth() {
        let Some(db) = support::postgres().await else {
            return;
        };
        let w = world(1_500).await;
        let record = support::add_store(&db.store, &w).await;
        let feeds = feeds(&w);
        let trackers = [
            tracker(&db.store, &w, &feeds, "t1"),
            tracker(&db.store, &w, &feeds, "t2"),
        ];
        let evaluators = [
            evaluator(&db.store, &w, &feeds, "r1"),
            evaluator(&db.store, &w, &feeds, "r2"),
        ];
        run_days(&db.store, &record, &w, &trackers, &evaluators, 30).await;
        assert_alerts_match_truth(&db.store, &record, &w).await;
        after_outages(&w);
        check_all(&db.store, &record, &w, &trackers[1]).await;
        assert_legs_match_truth(&db.store, &record, &w, &feeds).await;
    }
}
