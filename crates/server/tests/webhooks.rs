//! The 17TRACK webhook, spawned on port 0 and fed by the sandbox's 17TRACK: signed pushes are
//! stored as events of every leg with that number (and mark the legs as webhook-covered),
//! forged or broken pushes are refused without touching anything.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use ozontrack_carriers::seventeen_track::{self, SeventeenTrackClient};
use ozontrack_db::LeaseOwner;
use ozontrack_db::prelude::*;
use ozontrack_domain::{Clock, ManualClock};
use ozontrack_engine::{Feeds, TrackSettings, Tracker};
use ozontrack_sandbox::fakes::seventeen_track::SeventeenTrackConfig;
use ozontrack_sandbox::{Sandbox, ServeConfig, World, WorldConfig};
use ozontrack_server::webhooks::{self, WebhookState};
use secrecy::SecretString;
use tokio::sync::watch;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_pushes_are_stored_and_forged_or_broken_ones_refused() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let webhook = format!("http://{}/webhooks/17track", listener.local_addr().unwrap());
    let world = World::generate(WorldConfig {
        parcels: 300,
        outages: 0,
        ..WorldConfig::default()
    });
    let clock = Arc::new(ManualClock::new(
        world.config.start + chrono::Duration::days(12),
    ));
    let serve = ServeConfig {
        push_every: None,
        seventeen_track: SeventeenTrackConfig {
            rate_limit: 1000,
            webhook_url: Some(webhook.clone()),
            ..SeventeenTrackConfig::default()
        },
        ..ServeConfig::default()
    };
    let sandbox = Sandbox::start(world, clock.clone(), &serve).await.unwrap();
    let synced = support::synced_store(&sandbox, clock.clone()).await;
    let store = synced.store.clone();
    let token = sandbox
        .state
        .world
        .credentials
        .seventeen_track_token
        .clone();
    let http = ozontrack_http::client(Duration::from_secs(5)).unwrap();
    let feeds = Arc::new(Feeds {
        seventeen_track: Some(SeventeenTrackClient::with_rate_limit(
            http.clone(),
            &sandbox.urls.seventeen_track,
            SecretString::from(token.clone()),
            1000,
        )),
        ..Feeds::default()
    });
    // One round registers every number with 17TRACK, which then pushes what it learns.
    let tracker = Tracker::new(
        store.clone(),
        feeds,
        TrackSettings::default(),
        clock.clone(),
        LeaseOwner::new("tracker"),
    );
    tracker.run_until_idle(|_| {}).await.unwrap();

    let (stop, mut stopped) = watch::channel(false);
    let router = webhooks::router(WebhookState {
        store: store.clone(),
        clock: clock.clone(),
        seventeen_track_token: SecretString::from(token.clone()),
    });
    let server = tokio::spawn(ozontrack_server::run(listener, router, async move {
        let _ = stopped.wait_for(|s| *s).await;
    }));

    clock.advance(chrono::Duration::days(2));
    let delivered = sandbox.seventeen_track.push_once(&http).await;
    assert!(delivered > 0, "the sandbox had news to push");
    // Every pushed number's legs are covered by the webhook now, and hold the pushed events.
    let mut covered = 0;
    for leg in store
        .legs_by_ids(&(1..2000).map(ozontrack_domain::LegId).collect::<Vec<_>>())
        .await
        .unwrap()
    {
        if leg.pushed_at.is_some() {
            covered += 1;
            assert!(!store.events(leg.id).await.unwrap().is_empty());
            assert_eq!(leg.pushed_at, Some(clock.now()));
        }
    }
    assert!(covered > 0);
    // A push for a number nobody tracks is acknowledged and changes nothing.
    let body = br#"{"event":"TRACKING_UPDATED","data":{"number":"UG000000000YP","carrier":190012,"track_info":null}}"#;
    let post = |body: &'static [u8], sign: String| {
        http.post(&webhook)
            .header("content-type", "application/json")
            .header("sign", sign)
            .body(body)
            .send()
    };
    let ok = post(body, seventeen_track::sign(body, &token))
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let forged = post(body, seventeen_track::sign(body, "not-the-key"))
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let broken = b"{\"event\": ";
    let refused = post(broken, seventeen_track::sign(broken, &token))
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let text = refused.text().await.unwrap();
    assert!(text.contains("line 1"), "{text}");

    let _ = stop.send(true);
    server.await.unwrap().unwrap();
}
