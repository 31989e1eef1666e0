//! The Ozon push receiver, spawned on port 0 with its push worker, fed by the sandbox: it
//! answers `TYPE_PING` in the documented shape (the sandbox's Ozon checks it as Ozon would),
//! re-fetches the posting of a `TYPE_STATE_CHANGED` within a second, acknowledges a repeat
//! without acting twice, and refuses unknown addresses and broken bodies in Ozon's error shape.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ozontrack_db::prelude::*;
use ozontrack_db::{SqlDatabase, StoreRecord};
use ozontrack_domain::{Clock, ManualClock, PostingNumber};
use ozontrack_engine::PushWorker;
use ozontrack_engine::supervise::{Policy, Schedule, Supervisor};
use ozontrack_sandbox::fakes::ozon_push::{OzonPush, OzonPushConfig};
use ozontrack_sandbox::{Sandbox, ServeConfig, World, WorldConfig};
use ozontrack_server::ozon_push::{self, PushState};
use serde_json::{Value, json};
use tokio::sync::watch;

struct Fixture {
    sandbox: Sandbox,
    clock: Arc<ManualClock>,
    store: SqlDatabase,
    record: StoreRecord,
    push_url: String,
    http: reqwest::Client,
    stop: watch::Sender<bool>,
    _workers: Supervisor,
    _synced: support::Synced,
}

async fn fixture() -> Fixture {
    let world = World::generate(WorldConfig {
        parcels: 600,
        ..WorldConfig::default()
    });
    let clock = Arc::new(ManualClock::new(
        world.config.start + chrono::Duration::days(15),
    ));
    let serve = ServeConfig {
        push_every: None,
        ..ServeConfig::default()
    };
    let sandbox = Sandbox::start(world, clock.clone(), &serve).await.unwrap();
    let synced = support::synced_store(&sandbox, clock.clone()).await;
    let (store, record, syncer) = (
        synced.store.clone(),
        synced.record.clone(),
        synced.syncer.clone(),
    );

    let worker = PushWorker::new(syncer, store.clone(), clock.clone());
    let router = ozon_push::router(PushState {
        store: store.clone(),
        clock: clock.clone(),
        wake: worker.waker(),
    });
    let (stop, rx) = watch::channel(false);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    tokio::spawn(ozontrack_server::run(listener, router, stopped(rx)));
    // A long period: only the receiver's wake-up can make the worker act within a second.
    let wake = worker.waker();
    let mut workers = Supervisor::new(Policy::default());
    workers.spawn(
        worker,
        Schedule::every(Duration::from_secs(600)).woken_by(wake),
    );
    let push_url = format!(
        "{base}/ozon/push/{}",
        store.push_secret(record.id).await.unwrap()
    );
    Fixture {
        sandbox,
        clock,
        store,
        record,
        push_url,
        http: ozontrack_sandbox::http_client(),
        stop,
        _workers: workers,
        _synced: synced,
    }
}

impl Fixture {
    async fn post(&self, url: &str, body: &str) -> (u16, Value) {
        let response = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn stored_substatus(&self, number: &str) -> String {
        let number = PostingNumber::parse(number).unwrap();
        let stored = self.store.posting(self.record.id, &number).await.unwrap();
        stored.unwrap().posting.substatus.as_str().to_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_is_answered_with_name_version_and_time_as_ozon_checks_it() {
    let f = fixture().await;
    let (status, body) = f
        .post(
            &f.push_url,
            r#"{"message_type":"TYPE_PING","time":"2026-10-16T00:00:00Z"}"#,
        )
        .await;
    assert_eq!(status, 200);
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["name", "time", "version"]);
    assert_eq!(body["name"], "ozontrack");
    // The sandbox's Ozon runs the same check Ozon runs when a URL is registered.
    let pusher = OzonPush::new(
        Arc::clone(&f.sandbox.state),
        OzonPushConfig {
            url: f.push_url.clone(),
            retry_base: Duration::from_secs(1),
        },
    );
    pusher.ping(&f.http).await.unwrap();
    let _ = f.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_change_push_refetches_its_posting_within_a_second_and_a_repeat_is_only_acknowledged()
 {
    let f = fixture().await;
    // A day later, find a posting whose Ozon status moved since the sync.
    f.clock.advance(chrono::Duration::days(1));
    let now = f.clock.now();
    let mut changed = None;
    let window = f.sandbox.state.window();
    for p in window
        .parcels()
        .iter()
        .filter(|p| p.appears_at <= now - chrono::Duration::days(1))
    {
        let truth = f.sandbox.state.ozon_at(p, now).substatus;
        if f.stored_substatus(&p.posting_number).await != truth {
            changed = Some((p.posting_number.clone(), truth));
            break;
        }
    }
    let (number, truth) = changed.expect("some posting changed in a day");
    let message = json!({
        "message_type": "TYPE_STATE_CHANGED",
        "posting_number": number,
        "new_state": truth,
        "changed_state_date": "2026-10-16T10:00:00Z",
        "warehouse_id": 1,
        "seller_id": f.record.client_id.unwrap().get(),
    })
    .to_string();
    let sent = Instant::now();
    let (status, body) = f.post(&f.push_url, &message).await;
    assert_eq!((status, body), (200, json!({"result": true})));
    loop {
        if f.stored_substatus(&number).await == truth {
            break;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(1),
            "not re-fetched within a second"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Ozon retries deliveries: the same message is acknowledged and not recorded again.
    let (status, body) = f.post(&f.push_url, &message).await;
    assert_eq!((status, body), (200, json!({"result": true})));
    assert!(f.store.pending_pushes(None, 10).await.unwrap().is_empty());
    let _ = f.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_addresses_broken_bodies_and_unknown_types_get_ozons_answers() {
    let f = fixture().await;
    let base = f.push_url.rsplit_once('/').unwrap().0;
    let (status, body) = f
        .post(
            &format!("{base}/not-a-secret"),
            r#"{"message_type":"TYPE_PING"}"#,
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "ERROR_UNKNOWN");
    let (status, body) = f
        .post(&f.push_url, r#"{"message_type": "TYPE_STATE_"#)
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["details"], Value::Null);
    let (status, body) = f
        .post(&f.push_url, r#"{"message_type":"TYPE_STATE_CHANGED"}"#)
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "ERROR_PARAMETER_VALUE_MISSED");
    let (status, body) = f
        .post(
            &f.push_url,
            r#"{"message_type":"TYPE_TELEPORTED","posting_number":"1-2-3"}"#,
        )
        .await;
    assert_eq!((status, body), (200, json!({"result": true})));
    let _ = f.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandboxs_own_pushes_keep_the_store_up_to_date() {
    let f = fixture().await;
    let pusher = OzonPush::new(
        Arc::clone(&f.sandbox.state),
        OzonPushConfig {
            url: f.push_url.clone(),
            retry_base: Duration::from_secs(1),
        },
    );
    // The first round sets the starting point; changes after it are pushed.
    pusher.push_once(&f.http).await;
    f.clock.advance(chrono::Duration::hours(6));
    let report = pusher.push_once(&f.http).await;
    assert!(report.delivered > 0, "{report:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pending = f.store.pending_pushes(None, 1).await.unwrap();
        if pending.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "pushes not worked off");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = f.stop.send(true);
}
