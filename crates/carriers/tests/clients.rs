//! The carrier clients against the sandbox's fakes: what each client reads equals what the
//! world shows at that moment, hand-overs are found, bad credentials are `Auth` errors.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ozontrack_carriers::cdek::CdekClient;
use ozontrack_carriers::russian_post::RussianPostClient;
use ozontrack_carriers::seventeen_track::{self, Registration, SeventeenTrackClient};
use ozontrack_carriers::{CarrierError, Tracked};
use ozontrack_domain::{Clock, ManualClock};
use ozontrack_http::client as http_client;
use ozontrack_sandbox::{Carrier, Mode, Parcel, Sandbox, ServeConfig, SimLeg, World, WorldConfig};
use secrecy::SecretString;

struct Setup {
    sandbox: Sandbox,
    world: World,
    now: DateTime<Utc>,
}

async fn setup() -> Setup {
    let world = World::generate(WorldConfig {
        parcels: 400,
        outages: 0,
        ..WorldConfig::default()
    });
    let now = world.config.start + chrono::Duration::days(40);
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(now));
    let config = ServeConfig {
        push_every: None,
        ..ServeConfig::default()
    };
    let sandbox = Sandbox::start(world.clone(), clock, &config).await.unwrap();
    Setup {
        sandbox,
        world,
        now,
    }
}

fn http() -> reqwest::Client {
    http_client(Duration::from_secs(10)).unwrap()
}

/// The events of `leg` the world shows at `now`.
fn visible(leg: &SimLeg, now: DateTime<Utc>) -> Vec<&ozontrack_sandbox::CarrierEvent> {
    leg.events.iter().filter(|e| e.visible_at <= now).collect()
}

fn find(world: &World, pred: impl Fn(&Parcel) -> bool) -> &Parcel {
    world.parcels.iter().find(|p| pred(p)).unwrap()
}

fn assert_latest_matches(tracked: &Tracked, leg: &SimLeg, now: DateTime<Utc>) {
    let shown = visible(leg, now);
    let last = shown.iter().max_by_key(|e| e.at).unwrap();
    let ours = tracked.events.last().unwrap();
    assert_eq!(ours.occurred_at, last.at);
    assert_eq!(ours.status.main, last.kind.normalized().main);
    assert!(ours.payload_digest.is_some());
}

#[tokio::test]
async fn seventeen_track_registers_reads_events_and_finds_the_hand_over() {
    let s = setup().await;
    let token = SecretString::from(s.world.credentials.seventeen_track_token.clone());
    let client = SeventeenTrackClient::new(http(), &s.sandbox.urls.seventeen_track, token);
    let parcel = find(&s.world, |p| {
        p.mode == Mode::Rfbs
            && p.last_mile
                .as_ref()
                .is_some_and(|l| visible(l, s.now).len() > 1)
    });
    let first = parcel.first_mile.as_ref().unwrap();
    let registration = Registration {
        number: first.tracking_number.clone(),
        carrier: None,
        tag: "7".into(),
    };
    let (accepted, refused) = client
        .register(std::slice::from_ref(&registration))
        .await
        .unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(accepted[0].1.unwrap().code, first.carrier.code());
    // Registering again is as good as the first time.
    let (again, _) = client.register(&[registration]).await.unwrap();
    assert_eq!(again.len(), 1);

    let (tracked, rejected) = client
        .track_info(&[
            (first.tracking_number.clone(), None),
            ("UNKNOWN123".into(), None),
        ])
        .await
        .unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].code, seventeen_track::codes::NOT_REGISTERED);
    let tracked = &tracked[0];
    assert_eq!(tracked.events.len(), visible(first, s.now).len());
    assert_latest_matches(tracked, first, s.now);
    let last = parcel.last_mile.as_ref().unwrap();
    let hand_over = tracked.hand_over.as_ref().unwrap();
    assert_eq!(hand_over.number, last.tracking_number);
    assert_eq!(hand_over.carrier.unwrap().code, last.carrier.code());

    let quota = client.quota().await.unwrap();
    assert_eq!(quota.quota_used, 1);
    assert!(
        client
            .stop(&[(first.tracking_number.clone(), None)])
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn russian_post_history_matches_the_world_and_bad_credentials_are_auth_errors() {
    let s = setup().await;
    let parcel = find(&s.world, |p| {
        p.last_mile
            .as_ref()
            .is_some_and(|l| l.carrier == Carrier::RussianPost && visible(l, s.now).len() > 1)
            && p.mode == Mode::Rfbs
    });
    let leg = parcel.last_mile.as_ref().unwrap();
    let c = &s.world.credentials;
    let client = RussianPostClient::new(
        http(),
        &s.sandbox.urls.russian_post,
        &c.russian_post_login,
        SecretString::from(c.russian_post_password.clone()),
    );
    let tracked = client.history(&leg.tracking_number).await.unwrap();
    assert_latest_matches(&tracked, leg, s.now);
    assert!(tracked.events.iter().all(|e| e.raw_code.contains('.')));

    let unknown = client.history("10000000000000").await.unwrap();
    assert!(unknown.not_found);

    let wrong = RussianPostClient::new(
        http(),
        &s.sandbox.urls.russian_post,
        "nobody",
        SecretString::from("x".to_owned()),
    );
    let err = wrong.history(&leg.tracking_number).await.unwrap_err();
    assert!(matches!(err, CarrierError::Auth { .. }), "{err}");
}

#[tokio::test]
async fn cdek_orders_match_the_world_with_one_cached_token() {
    let s = setup().await;
    let cdek_legs: Vec<&SimLeg> = s
        .world
        .parcels
        .iter()
        .filter_map(|p| p.last_mile.as_ref())
        .filter(|l| l.carrier == Carrier::Cdek && visible(l, s.now).len() > 1)
        .take(3)
        .collect();
    assert!(!cdek_legs.is_empty());
    let c = &s.world.credentials;
    let client = CdekClient::new(
        http(),
        &s.sandbox.urls.cdek,
        &c.cdek_client_id,
        SecretString::from(c.cdek_client_secret.clone()),
    );
    for leg in &cdek_legs {
        let tracked = client.order(&leg.tracking_number).await.unwrap();
        assert_latest_matches(&tracked, leg, s.now);
        // CDEK adds its own CREATED status before the first scan.
        assert_eq!(tracked.events[0].raw_code, "CREATED");
    }
    assert!(client.order("1999999999").await.unwrap().not_found);
    let wrong = CdekClient::new(
        http(),
        &s.sandbox.urls.cdek,
        "nobody",
        SecretString::from("x".to_owned()),
    );
    let err = wrong
        .order(&cdek_legs[0].tracking_number)
        .await
        .unwrap_err();
    assert!(matches!(err, CarrierError::Auth { .. }), "{err}");
}

#[tokio::test]
async fn an_exhausted_17track_quota_fails_the_feed_not_the_number() {
    let world = World::generate(WorldConfig {
        parcels: 50,
        outages: 0,
        ..WorldConfig::default()
    });
    let now = world.config.start + chrono::Duration::days(20);
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(now));
    let config = ServeConfig {
        push_every: None,
        seventeen_track: ozontrack_sandbox::fakes::seventeen_track::SeventeenTrackConfig {
            quota_total: 1,
            ..Default::default()
        },
        ..ServeConfig::default()
    };
    let sandbox = Sandbox::start(world.clone(), clock, &config).await.unwrap();
    let token = SecretString::from(world.credentials.seventeen_track_token.clone());
    let client = SeventeenTrackClient::new(http(), &sandbox.urls.seventeen_track, token);
    let item = |number: &str| Registration {
        number: number.into(),
        carrier: None,
        tag: String::new(),
    };
    client.register(&[item("UG000000001YP")]).await.unwrap();
    let err = client.register(&[item("UG000000002YP")]).await.unwrap_err();
    assert!(
        matches!(&err, CarrierError::Rejected { code, .. } if *code == seventeen_track::codes::QUOTA_EXHAUSTED.to_string()),
        "{err}"
    );
}
