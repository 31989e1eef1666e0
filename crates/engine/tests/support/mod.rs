//! A sandbox world with its fake Ozon, a fresh database with one store pointing at the fake,
//! and the comparison of what ozontrack stored with the world's truth.

// Each test binary uses its own part of the support code.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ozontrack_db::prelude::*;
use ozontrack_db::{
    Cipher, DatabaseUrl, LeaseOwner, NewStore, PoolSettings, SqlDatabase, StoreRecord,
};
use ozontrack_domain::{ClientId, Clock, PostingNumber, StoreName, StoreSettings};
use ozontrack_engine::{SyncSettings, Syncer};
use ozontrack_http::Limiters;
use ozontrack_ozon::ClientSettings;
use ozontrack_sandbox::fakes::ozon::OzonConfig;
use ozontrack_sandbox::faults::FaultPlan;
use ozontrack_sandbox::{Sandbox, ServeConfig, World, WorldConfig};
use ozontrack_testkit::TestPostgres;
use secrecy::SecretString;

pub(crate) struct Db {
    pub(crate) store: SqlDatabase,
    pub(crate) url: DatabaseUrl,
    _postgres: Option<TestPostgres>,
    _dir: Option<tempfile::TempDir>,
}

pub(crate) fn cipher() -> Cipher {
    // 32 bytes of 7, base64.
    Cipher::from_base64("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=").unwrap()
}

pub(crate) async fn open(url: &DatabaseUrl) -> SqlDatabase {
    let settings = PoolSettings {
        max_connections: 4,
        ..PoolSettings::default()
    };
    let store = SqlDatabase::connect(url, cipher(), &settings)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
}

pub(crate) async fn sqlite() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::Sqlite(dir.path().join("engine.db"));
    Db {
        store: open(&url).await,
        url,
        _postgres: None,
        _dir: Some(dir),
    }
}

/// `None` (skip) when PostgreSQL is unreachable outside CI.
pub(crate) async fn postgres() -> Option<Db> {
    let pg = ozontrack_testkit::postgres().await?;
    let url = DatabaseUrl::parse(&pg.url).unwrap();
    Some(Db {
        store: open(&url).await,
        url,
        _postgres: Some(pg),
        _dir: None,
    })
}

/// A clock the test moves by hand, that can also tick forward on every reading (so that the
/// world changes while a sync pages through it).
#[derive(Debug)]
pub(crate) struct TestClock {
    now: std::sync::Mutex<DateTime<Utc>>,
    tick: std::sync::Mutex<chrono::Duration>,
}

impl TestClock {
    pub(crate) fn new(start: DateTime<Utc>) -> Arc<Self> {
        Arc::new(Self {
            now: std::sync::Mutex::new(start),
            tick: std::sync::Mutex::new(chrono::Duration::zero()),
        })
    }

    pub(crate) fn advance(&self, by: chrono::Duration) {
        *self.now.lock().unwrap() += by;
    }

    /// Every reading from now on moves time by `by` (zero: time stands still).
    pub(crate) fn tick_every_reading(&self, by: chrono::Duration) {
        *self.tick.lock().unwrap() = by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        let tick = *self.tick.lock().unwrap();
        let mut now = self.now.lock().unwrap();
        *now += tick;
        *now
    }
}

pub(crate) struct World1 {
    pub(crate) sandbox: Sandbox,
    pub(crate) clock: Arc<TestClock>,
}

/// A world of `parcels` with the fake Ozon at `ozon` limits and `faults`, its clock `days`
/// into the order span.
pub(crate) async fn world(parcels: u32, days: i64, ozon: OzonConfig, faults: FaultPlan) -> World1 {
    let world = World::generate(WorldConfig {
        parcels,
        ..WorldConfig::default()
    });
    let clock = TestClock::new(world.config.start + chrono::Duration::days(days));
    let serve = ServeConfig {
        ozon,
        faults,
        push_every: None,
        ..ServeConfig::default()
    };
    let sandbox = Sandbox::start(world, clock.clone(), &serve).await.unwrap();
    World1 { sandbox, clock }
}

pub(crate) async fn add_store(store: &SqlDatabase, w: &World1) -> StoreRecord {
    let sim = &w.sandbox.state.world.stores[0];
    store
        .add_store(
            NewStore {
                name: StoreName::parse("sandbox-shop").unwrap(),
                client_id: ClientId::parse(&sim.client_id.to_string()).unwrap(),
                api_key: SecretString::from(sim.api_key.clone()),
                ozon_base_url: w.sandbox.urls.ozon.clone(),
                settings: StoreSettings::default(),
            },
            w.clock.now(),
        )
        .await
        .unwrap()
}

/// Client settings for tests: quick to give up on a hung request, quick to retry.
pub(crate) fn settings(rate_limit: usize) -> SyncSettings {
    SyncSettings {
        rate_limit,
        client: ClientSettings {
            timeout: Duration::from_millis(800),
            read_attempts: 12,
            backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
        },
        ..SyncSettings::default()
    }
}

pub(crate) fn syncer(
    store: &SqlDatabase,
    w: &World1,
    settings: SyncSettings,
    owner: &str,
) -> Syncer<SqlDatabase> {
    Syncer::new(
        store.clone(),
        w.clock.clone(),
        Limiters::default(),
        settings,
        LeaseOwner::new(owner),
    )
    .unwrap()
}

/// Every posting the fake shows now is stored with the same status, substatus and tracking
/// number, and nothing else is stored. Returns how many postings were compared.
pub(crate) async fn assert_matches_truth(
    store: &SqlDatabase,
    record: &StoreRecord,
    w: &World1,
) -> usize {
    let now = w.clock.now();
    let sim = &w.sandbox.state;
    let mut compared = 0;
    let mut mismatches = Vec::new();
    for p in sim
        .window()
        .parcels()
        .iter()
        .filter(|p| p.appears_at <= now)
    {
        let number = PostingNumber::parse(&p.posting_number).unwrap();
        let Some(stored) = store.posting(record.id, &number).await.unwrap() else {
            mismatches.push(format!("{} missing", p.posting_number));
            continue;
        };
        let step = sim.ozon_at(p, now);
        let tracking = p.tracking_number_at(now);
        let got = &stored.posting;
        let got_tracking = got.tracking_number.as_ref().map_or("", |t| t.as_str());
        if got.status.as_str() != step.status
            || got.substatus.as_str() != step.substatus
            || got_tracking != tracking
        {
            mismatches.push(format!(
                "{}: stored {}/{}/{got_tracking:?}, truth {}/{}/{tracking:?}",
                p.posting_number,
                got.status.as_str(),
                got.substatus.as_str(),
                step.status,
                step.substatus
            ));
        }
        compared += 1;
    }
    let count = store.count_postings(record.id).await.unwrap();
    assert!(
        mismatches.is_empty(),
        "{} of {compared} postings differ from the truth, e.g. {:?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(5)]
    );
    assert_eq!(
        count, compared as u64,
        "stored postings that Ozon does not show"
    );
    compared
}

/// How many events Ozon's legs of the store hold, and whether any status appears twice in a
/// row on one leg (a duplicate: a change is recorded once).
pub(crate) async fn ozon_events(
    store: &SqlDatabase,
    record: &StoreRecord,
    w: &World1,
) -> (usize, Vec<String>) {
    let now = w.clock.now();
    let mut total = 0;
    let mut repeats = Vec::new();
    for p in w
        .sandbox
        .state
        .window()
        .parcels()
        .iter()
        .filter(|p| p.appears_at <= now)
    {
        let number = PostingNumber::parse(&p.posting_number).unwrap();
        let Some(posting) = store.posting(record.id, &number).await.unwrap() else {
            continue;
        };
        for leg in store.legs(posting.id).await.unwrap() {
            if leg.leg.carrier.as_str() != "ozon" {
                continue;
            }
            let events = store.events(leg.id).await.unwrap();
            total += events.len();
            for pair in events.windows(2) {
                if pair[0].event.raw_code == pair[1].event.raw_code {
                    repeats.push(format!("{}: {}", p.posting_number, pair[1].event.raw_code));
                }
            }
        }
    }
    (total, repeats)
}
