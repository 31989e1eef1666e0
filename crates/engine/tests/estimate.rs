//! Arrival estimates from the database: deliveries of the past teach the window a posting under
//! way is shown, from its latest milestone, saying what it rests on.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use ozontrack_db::NewStore;
use ozontrack_db::prelude::*;
use ozontrack_domain::estimate::{Basis, Level, Milestone};
use ozontrack_domain::{
    CarrierCode, ClientId, EventSource, Language, Leg, LegRole, Location, MainStatus,
    NormalizedStatus, OzonStatus, OzonSubstatus, Posting, PostingNumber, Scheme, StoreName,
    StoreSettings, SubStatus, TrackingEvent, TrackingNumber,
};
use ozontrack_engine::estimate::EstimateBook;
use secrecy::SecretString;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
}

fn event(at: DateTime<Utc>, main: MainStatus, sub: SubStatus) -> TrackingEvent {
    let code = sub.code().to_owned();
    TrackingEvent::new(
        EventSource::SeventeenTrack,
        at,
        NormalizedStatus::new(main, sub),
        code,
        "",
        Location::default(),
    )
}

/// A cross-border posting ordered at `start`: picked up 10 h later, in Russia after 100 h,
/// delivered `total` hours after the pickup (none: still under way).
async fn posting(
    db: &ozontrack_db::SqlDatabase,
    store: ozontrack_domain::StoreId,
    i: u32,
    start: DateTime<Utc>,
    total: Option<i64>,
) -> ozontrack_domain::PostingId {
    let mut p = Posting::new(
        store,
        PostingNumber::parse(&format!("12345678-{i:04}-1")).unwrap(),
        Scheme::Rfbs,
        OzonStatus::Delivering,
    );
    p.in_process_at = Some(start);
    p.buyer_city = Some("Казань".into());
    let picked = start + Duration::hours(10);
    if let Some(total) = total {
        p.status = OzonStatus::Delivered;
        p.substatus = OzonSubstatus::Delivered;
        p.delivered_at = Some(picked + Duration::hours(total));
    }
    let id = db.upsert_posting(&p, start).await.unwrap();
    let leg = Leg {
        carrier: CarrierCode::parse("yanwen").unwrap(),
        tracking_number: TrackingNumber::parse(&format!("UG{:09}YP", 100_000_000 + i)).unwrap(),
        role: LegRole::FirstMile,
    };
    let leg = db.upsert_leg(id, &leg, start).await.unwrap();
    let mut events = vec![
        event(picked, MainStatus::InTransit, SubStatus::PickedUp),
        event(
            picked + Duration::hours(100),
            MainStatus::InTransit,
            SubStatus::ArrivedDestination,
        ),
    ];
    if let Some(total) = total {
        events.push(event(
            picked + Duration::hours(total),
            MainStatus::Delivered,
            SubStatus::Delivered,
        ));
    }
    db.append_events(leg, &events, start).await.unwrap();
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_posting_in_russia_gets_the_window_its_lanes_deliveries_from_there_teach() {
    let db = support::sqlite().await;
    let store = db
        .store
        .add_store(
            NewStore {
                name: StoreName::parse("shop").unwrap(),
                client_id: ClientId::parse("123456").unwrap(),
                api_key: SecretString::from("key".to_owned()),
                ozon_base_url: "https://api-seller.ozon.ru".into(),
                settings: StoreSettings {
                    timezone: "Europe/Moscow".into(),
                    language: Language::Ru,
                },
            },
            t0(),
        )
        .await
        .unwrap();
    // 60 deliveries, 150 to 209 h after pickup (50 to 109 h after arriving in Russia).
    for i in 0..60 {
        posting(&db.store, store.id, i, t0(), Some(150 + i64::from(i))).await;
    }
    // Today, months later: a parcel that arrived in Russia 20 hours ago.
    let now = t0() + Duration::days(120);
    let start = now - Duration::hours(130);
    let id = posting(&db.store, store.id, 100, start, None).await;
    let book = Arc::new(EstimateBook::default());
    book.refresh(&db.store, now).await.unwrap();
    let trail = ozontrack_engine::trail::read(&db.store, &book, id, now)
        .await
        .unwrap()
        .unwrap();
    let w = trail.estimate.unwrap();
    assert!(matches!(
        w.basis,
        Basis::Learned {
            milestone: Milestone::ArrivedDestination,
            level: Level::City,
            samples: 60
        }
    ));
    let arrived = start + Duration::hours(110);
    // 60 samples: the 1st and the 60th order statistics hold a new delivery with probability
    // 59/61 ≥ 95 %.
    assert_eq!(w.from, arrived + Duration::hours(50));
    assert_eq!(w.to, arrived + Duration::hours(109));
    assert!(w.from >= now);
}

#[tokio::test]
async fn learning_once_waits_for_a_background_learning_under_way_rather_than_skipping_it() {
    let db = support::sqlite().await;
    let now = t0();
    let mut p = Posting::new(
        ozontrack_domain::StoreId(1),
        PostingNumber::parse("12345678-0001-1").unwrap(),
        Scheme::Rfbs,
        OzonStatus::Delivering,
    );
    p.in_process_at = Some(now - Duration::hours(30));
    let book = Arc::new(EstimateBook::default());
    // A page view finds the book unlearned and starts learning in the background; on this
    // single-threaded runtime it has not run yet when the export asks.
    let shown = book.estimate(&db.store, &p, &[], now);
    assert!(shown.is_some());
    assert!(!book.learned());
    book.learn_once(&db.store, now).await.unwrap();
    assert!(
        book.learned(),
        "the export would show typical times for rows the model could estimate"
    );
}
