//! The Ozon client from the outside: the reference's published example bodies parse field by
//! field, and on the wire the client sends the auth headers, retries reads (not writes) through
//! 5xx and cut bodies, keeps the readable postings of a page with an unreadable one, waits out
//! 429 with `Retry-After`, and names the store on a bad key.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use chrono::{DateTime, Utc};
use ozontrack_domain::{
    ClientId, Currency, Money, OzonStatus, OzonSubstatus, PostingNumber, Scheme, StoreId,
    TrackingNumber,
};
use ozontrack_http::RateLimiter;
use ozontrack_ozon::wire::{self, Envelope, FbsPosting, Page};
use ozontrack_ozon::{ClientSettings, ListFilter, OzonClient, OzonError, normalize};
use secrecy::SecretString;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

fn time(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

#[test]
fn the_published_fbs_get_example_parses_every_field_ozontrack_reads() {
    let body = wire::decode::<Envelope<FbsPosting>>(fixture("fbs-get.json").as_bytes()).unwrap();
    assert!(body.notes.is_empty(), "{:?}", body.notes);
    let p = body.value.result.as_ref().unwrap();
    assert_eq!(p.posting_number, "58203117-0007-1");
    assert_eq!(p.order_id, Some(40_011_223_344));
    assert_eq!(p.previous_substatus, "posting_on_way_to_city");
    assert_eq!(p.provider_status, "Передано курьеру");
    assert_eq!(p.tpl_integration_type, "3pl_tracking");
    let method = p.delivery_method.as_ref().unwrap();
    assert_eq!(method.id, Some(22_001_234_567_000));
    assert_eq!(method.tpl_provider, "СДЭК");
    assert_eq!(p.fact_delivery_date, Some(time("2026-06-16T10:41:55Z")));
    let address = p.customer.as_ref().unwrap().address.as_ref().unwrap();
    assert_eq!(address.city, "Казань");
    assert_eq!(address.latitude, Some(55.789_123));
    assert_eq!(
        p.analytics_data.as_ref().unwrap().delivery_date_end,
        Some(time("2026-06-17T15:00:00Z"))
    );
    assert_eq!(p.available_actions, ["can_create_chat", "set_track_number"]);

    let n = normalize::fbs(StoreId(1), p).unwrap();
    assert!(n.warnings.is_empty(), "{:?}", n.warnings);
    let posting = n.posting;
    assert_eq!(posting.scheme, Scheme::Rfbs);
    assert_eq!(posting.status, OzonStatus::Delivering);
    assert_eq!(posting.substatus, OzonSubstatus::InCourierService);
    assert_eq!(
        posting.tracking_number,
        Some(TrackingNumber::parse("1523498765").unwrap())
    );
    assert_eq!(posting.ship_by, Some(time("2026-06-16T12:00:00Z")));
    assert_eq!(posting.buyer_city.as_deref(), Some("Казань"));
    assert!(posting.buyer_point.is_some());
    let promised = posting
        .promised
        .expect("Ozon's promise to the buyer is kept");
    assert_eq!(promised.to, time("2026-06-17T15:00:00Z"));
    assert!(promised.from <= promised.to);
    assert_eq!(
        posting.total,
        Some(Money::from_minor(349_000, Currency::Rub))
    );
}

#[test]
fn the_published_v4_list_example_parses_with_its_root_level_envelope() {
    let page = wire::decode::<Page<FbsPosting>>(fixture("fbs-list-v4.json").as_bytes())
        .unwrap()
        .value;
    assert!(page.has_next);
    assert!(page.cursor.starts_with("eyJ"));
    let p = &page.postings[0];
    assert_eq!(p.delivery_schema, "fbs");
    assert_eq!(p.delivering_date, None);
    assert_eq!(p.products[0].price, ("1290".into(), Some("RUB".into())));
    let n = normalize::fbs(StoreId(1), p).unwrap();
    assert_eq!(n.posting.scheme, Scheme::Fbs);
    assert_eq!(n.posting.tracking_number, None);
    assert_eq!(
        n.posting.delivery_method.as_ref().unwrap().tpl_provider_id,
        Some(24)
    );
}

#[test]
fn the_published_push_and_error_examples_parse() {
    let push = ozontrack_ozon::push::parse(fixture("push-state-changed.json").as_bytes()).unwrap();
    assert_eq!(push.new_state, "posting_delivered");
    assert_eq!(push.changed_at, Some(time("2026-06-17T11:20:05.112Z")));
    let error = wire::decode::<wire::ErrorBody>(fixture("error-rate-limit.json").as_bytes())
        .unwrap()
        .value;
    assert_eq!(error.code, 8);
}

/// A server on port 0 answering every call with `answer(call number, headers)`.
async fn serve(
    answer: impl Fn(usize, &HeaderMap) -> (StatusCode, HeaderMap, String)
    + Clone
    + Send
    + Sync
    + 'static,
) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let handler = move |headers: HeaderMap| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let (status, extra, body) = answer(n, &headers);
        async move { (status, extra, body).into_response() }
    };
    let router = Router::new().fallback(post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, calls)
}

fn client(url: &str) -> OzonClient {
    let settings = ClientSettings {
        timeout: Duration::from_secs(2),
        read_attempts: 4,
        backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
    };
    OzonClient::new(
        ozontrack_http::client(settings.timeout).unwrap(),
        url,
        ClientId::parse("123456").unwrap(),
        SecretString::from("key-1".to_owned()),
        "shop-1",
        Arc::new(RateLimiter::new(50)),
        settings,
    )
}

fn filter() -> ListFilter {
    ListFilter {
        since: time("2026-06-01T00:00:00Z"),
        to: time("2026-06-30T00:00:00Z"),
        ..ListFilter::default()
    }
}

const EMPTY_PAGE: &str = r#"{"postings": [], "cursor": "", "has_next": false}"#;

#[tokio::test]
async fn reads_carry_the_auth_headers_and_survive_5xx_and_cut_bodies() {
    let (url, calls) = serve(|n, headers| {
        assert_eq!(headers["client-id"], "123456");
        assert_eq!(headers["api-key"], "key-1");
        match n {
            0 => (
                StatusCode::BAD_GATEWAY,
                HeaderMap::new(),
                "Internal error".into(),
            ),
            1 => (
                StatusCode::OK,
                HeaderMap::new(),
                r#"{"postings": [{"posti"#.into(),
            ),
            _ => (StatusCode::OK, HeaderMap::new(), EMPTY_PAGE.into()),
        }
    })
    .await;
    let page = client(&url).fbs_list(&filter(), "").await.unwrap();
    assert!(page.postings.is_empty());
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_page_with_one_unreadable_posting_gives_the_others_at_the_first_try() {
    let (url, calls) = serve(|_, _| {
        let body = r#"{"postings": [
            {"posting_number": "1-1-1", "status": "delivered", "in_process_at": "string"},
            {"posting_number": null, "status": "delivering"},
            {"posting_number": "1-2-1", "order_id": "77", "shipment_date": {"seconds": 1}}],
            "cursor": "", "has_next": false}"#;
        (StatusCode::OK, HeaderMap::new(), body.into())
    })
    .await;
    let page = client(&url).fbs_list(&filter(), "").await.unwrap();
    let numbers: Vec<&str> = page
        .postings
        .iter()
        .map(|p| p.posting_number.as_str())
        .collect();
    assert_eq!(numbers, ["1-1-1", "1-2-1"]);
    assert_eq!(page.postings[1].order_id, Some(77));
    assert_eq!(page.refused[0].item, "postings[1]");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "nothing to retry");
}

#[tokio::test]
async fn a_429_is_waited_out_for_as_long_as_retry_after_says() {
    let (url, calls) = serve(|n, _| {
        if n == 0 {
            let mut h = HeaderMap::new();
            h.insert("retry-after", "1".parse().unwrap());
            let body =
                r#"{"code": 8, "message": "You have reached request rate limit per second"}"#;
            (StatusCode::TOO_MANY_REQUESTS, h, body.into())
        } else {
            (StatusCode::OK, HeaderMap::new(), EMPTY_PAGE.into())
        }
    })
    .await;
    let started = Instant::now();
    client(&url).fbs_list(&filter(), "").await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_write_is_not_repeated_after_a_5xx() {
    let (url, calls) = serve(|_, _| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            HeaderMap::new(),
            String::new(),
        )
    })
    .await;
    let pair = (
        PostingNumber::parse("58203117-0007-1").unwrap(),
        TrackingNumber::parse("1523498765").unwrap(),
    );
    let err = client(&url)
        .set_tracking_numbers(&[pair])
        .await
        .unwrap_err();
    assert!(matches!(err, OzonError::Unavailable { .. }), "{err}");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "a write may have happened: no retry"
    );
}

#[tokio::test]
async fn an_invalid_key_is_a_clear_error_naming_the_store_and_is_not_retried() {
    let (url, calls) = serve(|_, _| {
        let body = r#"{"code": 5, "message": "Invalid Api-Key, please check the key and try again", "details": []}"#;
        (StatusCode::NOT_FOUND, HeaderMap::new(), body.into())
    })
    .await;
    let err = client(&url).fbs_list(&filter(), "").await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, OzonError::Auth { .. }));
    assert!(
        text.contains("shop-1") && text.contains("Invalid Api-Key"),
        "{text}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn against_the_sandbox_a_page_of_postings_normalizes_without_warnings() {
    use ozontrack_sandbox::{Sandbox, ServeConfig, World, WorldConfig};
    let world = World::generate(WorldConfig {
        parcels: 300,
        ..WorldConfig::default()
    });
    let seller = world.stores[0].clone();
    let clock = Arc::new(ozontrack_domain::ManualClock::new(
        world.config.start + chrono::Duration::days(20),
    ));
    let sandbox = Sandbox::start(world, clock, &ServeConfig::default())
        .await
        .unwrap();
    let c = OzonClient::new(
        ozontrack_http::client(Duration::from_secs(5)).unwrap(),
        &sandbox.urls.ozon,
        ClientId::parse(&seller.client_id.to_string()).unwrap(),
        SecretString::from(seller.api_key.clone()),
        "sandbox",
        Arc::new(RateLimiter::new(50)),
        ClientSettings::default(),
    );
    let filter = ListFilter {
        since: time("2026-09-01T00:00:00Z"),
        to: time("2026-11-01T00:00:00Z"),
        ..ListFilter::default()
    };
    let page = c.fbs_list(&filter, "").await.unwrap();
    assert_eq!(page.postings.len(), 100);
    for p in &page.postings {
        let n = normalize::fbs(StoreId(1), p).unwrap();
        assert!(
            n.warnings.is_empty(),
            "{}: {:?}",
            p.posting_number,
            n.warnings
        );
        assert!(n.posting.total.is_some());
    }
    let fbo = c.fbo_list(&filter, "").await.unwrap();
    assert!(!fbo.postings.is_empty());
    let methods = c.delivery_methods().await.unwrap();
    assert!(!methods.is_empty());
    let warehouses = c.warehouses().await.unwrap();
    assert!(!warehouses.is_empty());
    let number = PostingNumber::parse(&page.postings[0].posting_number).unwrap();
    assert_eq!(
        c.fbs_get(&number).await.unwrap().unwrap().posting_number,
        number.as_str()
    );
    sandbox.shutdown().await;
}
