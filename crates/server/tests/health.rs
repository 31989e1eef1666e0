//! What a node says of itself: `/healthz` lists the process's workers and turns 503 when one
//! has stopped or the database is gone, and comes back when the database does; `/readyz` tells
//! a proxy whether to send requests here.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use ozontrack_db::prelude::*;
use ozontrack_db::{Cipher, DatabaseUrl, PoolSettings, SqlDatabase};
use ozontrack_domain::{Clock, SystemClock};
use ozontrack_engine::supervise::{Policy, Schedule, Supervisor, Worker};
use ozontrack_server::api::{ApiState, NodeRole};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// Serves `router` on a free port until the test ends; its base URL.
async fn serve(router: axum::Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(ozontrack_server::run(
        listener,
        router,
        std::future::pending(),
    ));
    base
}

async fn get(base: &str, path: &str) -> (u16, Value) {
    let response = ozontrack_sandbox::http_client()
        .get(format!("{base}{path}"))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

struct Quiet;

impl Worker for Quiet {
    fn name(&self) -> &'static str {
        "quiet"
    }

    async fn round(&self) -> bool {
        false
    }
}

struct Broken;

impl Worker for Broken {
    fn name(&self) -> &'static str {
        "broken"
    }

    async fn round(&self) -> bool {
        panic!("the carrier's answer was not what we expected")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_lists_the_workers_and_is_degraded_when_one_has_stopped() {
    let (store, _dir) = support::empty_store().await;
    let mut supervisor = Supervisor::new(Policy {
        restart_after: Duration::from_millis(10),
        max_restart_after: Duration::from_millis(10),
        give_up_after: 2,
        ..Policy::default()
    });
    supervisor.spawn(Quiet, Schedule::every(Duration::from_millis(20)));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let state = |supervisor: &Supervisor, node| ApiState {
        node,
        workers: Some(supervisor.health_handle()),
        ..ApiState::new(store.clone(), Arc::clone(&clock))
    };
    let base = serve(ozontrack_server::api::health::router(state(
        &supervisor,
        NodeRole::Workers,
    )))
    .await;
    let (status, health) = get(&base, "/healthz").await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["role"], "workers");
    assert_eq!(health["workers"][0]["name"], "quiet");
    assert_eq!(health["workers"][0]["alive"], true);

    // A worker that keeps panicking is given up: the node says so and stays reachable.
    supervisor.spawn(Broken, Schedule::every(Duration::from_millis(20)));
    tokio::time::timeout(Duration::from_secs(10), supervisor.gave_up())
        .await
        .unwrap();
    let base = serve(ozontrack_server::api::health::router(state(
        &supervisor,
        NodeRole::Workers,
    )))
    .await;
    let (status, health) = get(&base, "/healthz").await;
    assert_eq!((status, health["status"].as_str()), (503, Some("degraded")));
    let broken = &health["workers"][1];
    assert_eq!(
        (&broken["name"], &broken["alive"], &broken["given_up"]),
        (
            &Value::from("broken"),
            &Value::from(false),
            &Value::from(true)
        )
    );
    assert_eq!(
        get(&base, "/readyz").await.0,
        200,
        "requests can still come"
    );

    // An API node runs no workers and lists none; the API itself is there.
    let api = serve(ozontrack_server::app(
        ApiState {
            node: NodeRole::Api,
            ..ApiState::new(store.clone(), Arc::clone(&clock))
        },
        ozontrack_server::web::WebSettings::default(),
    ))
    .await;
    let (status, health) = get(&api, "/healthz").await;
    assert_eq!((status, &health["role"]), (200, &Value::from("api")));
    assert_eq!(health["workers"], serde_json::json!([]));
    supervisor.stop().await;
}

/// A TCP relay to PostgreSQL that can be cut (every connection dropped, the port closed) and
/// put back on the same port: the database going away and coming back, as a node sees it.
struct Relay {
    port: u16,
    tasks: JoinSet<()>,
}

impl Relay {
    async fn start(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                connections.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect("127.0.0.1:5432").await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Self { port, tasks }
    }

    /// Drops the listener and every relayed connection (the accept task owns them).
    fn cut(mut self) -> u16 {
        self.tasks.abort_all();
        self.port
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_database_goes_away_is_unhealthy_and_recovers_when_it_returns() {
    let Some(pg) = ozontrack_testkit::postgres().await else {
        return;
    };
    let relay = Relay::start(0).await;
    let url = pg
        .url
        .replace("127.0.0.1:5432", &format!("127.0.0.1:{}", relay.port));
    assert_ne!(url, pg.url, "the test database is on 127.0.0.1:5432");
    let cipher = Cipher::from_base64("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=").unwrap();
    let store = SqlDatabase::connect(
        &DatabaseUrl::parse(&url).unwrap(),
        cipher,
        &PoolSettings {
            max_connections: 2,
            acquire_timeout: Duration::from_secs(2),
        },
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let base = serve(ozontrack_server::app(
        ApiState::new(store.clone(), Arc::new(SystemClock)),
        ozontrack_server::web::WebSettings::default(),
    ))
    .await;
    assert_eq!(get(&base, "/healthz").await.0, 200);

    let port = relay.cut();
    let (status, health) = get(&base, "/healthz").await;
    assert_eq!(
        (status, health["status"].as_str()),
        (503, Some("unavailable"))
    );
    assert_eq!(health["database"], "unavailable");
    assert_eq!(get(&base, "/readyz").await.0, 503);

    let _relay = Relay::start(port).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if get(&base, "/healthz").await.0 == 200 && get(&base, "/readyz").await.0 == 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the node did not recover"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    store.close().await;
}
