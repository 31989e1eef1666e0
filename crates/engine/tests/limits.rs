//! 17TRACK counts requests per token, whatever process sends them: two processes on one
//! PostgreSQL, each with its own limiter, stay within the token's limit together only through
//! the limit they share in the database.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use ozontrack_carriers::seventeen_track::SeventeenTrackClient;
use ozontrack_db::SqlDatabase;
use ozontrack_domain::ManualClock;
use ozontrack_engine::Feeds;
use ozontrack_sandbox::fakes::seventeen_track::SeventeenTrackConfig;
use ozontrack_sandbox::{Sandbox, ServeConfig, World, WorldConfig};
use secrecy::SecretString;

const LIMIT: usize = 10;

async fn sandbox() -> Sandbox {
    let world = World::generate(WorldConfig {
        parcels: 10,
        ..WorldConfig::default()
    });
    let clock = Arc::new(ManualClock::new(world.config.start));
    let serve = ServeConfig {
        push_every: None,
        seventeen_track: SeventeenTrackConfig {
            rate_limit: LIMIT,
            ..SeventeenTrackConfig::default()
        },
        ..ServeConfig::default()
    };
    Sandbox::start(world, clock, &serve).await.unwrap()
}

/// A process's 17TRACK client, allowed the token's whole limit on its own.
fn client(sandbox: &Sandbox) -> SeventeenTrackClient {
    SeventeenTrackClient::with_rate_limit(
        ozontrack_http::client(Duration::from_secs(5)).unwrap(),
        &sandbox.urls.seventeen_track,
        SecretString::from(
            sandbox
                .state
                .world
                .credentials
                .seventeen_track_token
                .clone(),
        ),
        LIMIT,
    )
}

fn sharing(client: SeventeenTrackClient, store: &SqlDatabase) -> SeventeenTrackClient {
    Feeds {
        seventeen_track: Some(client),
        ..Feeds::default()
    }
    .sharing_limits(store)
    .seventeen_track
    .unwrap()
}

/// Twenty calls at once from each of two processes.
async fn forty_calls(a: &SeventeenTrackClient, b: &SeventeenTrackClient) {
    let calls = [a, b]
        .into_iter()
        .flat_map(|client| (0..20).map(move |_| client.quota()));
    join_all(calls).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sharing_a_17track_token_stay_within_its_limit_together() {
    let Some(db) = support::postgres().await else {
        return;
    };
    let other = support::open(&db.url).await;

    let alone = sandbox().await;
    forty_calls(&client(&alone), &client(&alone)).await;
    assert!(
        alone.rate_limit_refusals().1 > 0,
        "each within its own limit, together over it"
    );

    let shared = sandbox().await;
    let started = Instant::now();
    forty_calls(
        &sharing(client(&shared), &db.store),
        &sharing(client(&shared), &other),
    )
    .await;
    assert_eq!(shared.rate_limit_refusals().1, 0);
    // Forty calls at ten a second, each slot held a second after its answer.
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}
