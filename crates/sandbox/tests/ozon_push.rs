//! Ozon push notifications from the fake: what is pushed as simulated time passes, the
//! acknowledgement rule, retries, and the `TYPE_PING` handshake.

// In tests a panic is the failure report, so helpers unwrap freely.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use chrono::Duration;
use ozontrack_domain::ManualClock;
use ozontrack_sandbox::fakes::ozon_push::{OzonPushConfig, PushReport};
use ozontrack_sandbox::{Sandbox, ServeConfig, World, WorldConfig};
use serde_json::{Value, json};

/// A receiver that records bodies and refuses the first `refuse` of them.
async fn receiver(refuse: usize) -> (String, Arc<Mutex<Vec<Value>>>) {
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/ozon/push",
        axum::routing::post(move |Json(body): Json<Value>| {
            let sink = sink.clone();
            let calls = calls.clone();
            async move {
                if body["message_type"] == "TYPE_PING" {
                    return (axum::http::StatusCode::OK, Json(json!({"version": "1.0", "name": "test", "time": "2026-11-26T00:00:00Z"})));
                }
                if calls.fetch_add(1, Ordering::SeqCst) < refuse {
                    return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": {"code": "ERROR_UNKNOWN", "message": "busy", "details": null}})));
                }
                sink.lock().unwrap().push(body);
                (axum::http::StatusCode::OK, Json(json!({"result": true})))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/ozon/push", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

async fn start(url: String) -> (Sandbox, Arc<ManualClock>) {
    let world = World::generate(WorldConfig {
        parcels: 300,
        ..WorldConfig::default()
    });
    let clock = Arc::new(ManualClock::new(world.config.start + Duration::days(10)));
    let serve = ServeConfig {
        ozon_push: Some(OzonPushConfig {
            url,
            retry_base: std::time::Duration::ZERO,
        }),
        push_every: None,
        ..ServeConfig::default()
    };
    (
        Sandbox::start(world, clock.clone(), &serve).await.unwrap(),
        clock,
    )
}

#[tokio::test]
async fn state_changes_are_pushed_with_the_documented_fields_in_time_order() {
    let (url, received) = receiver(0).await;
    let (sandbox, clock) = start(url).await;
    let pusher = sandbox.ozon_push.clone().unwrap();
    let client = ozontrack_sandbox::http_client();
    // The first round sets the starting point: history is not pushed.
    assert_eq!(pusher.push_once(&client).await, PushReport::default());
    clock.advance(Duration::hours(12));
    let report = pusher.push_once(&client).await;
    assert!(report.delivered > 5, "{report:?}");
    let messages = received.lock().unwrap().clone();
    assert_eq!(messages.len(), report.delivered);
    let kinds: std::collections::HashSet<&str> = messages
        .iter()
        .map(|m| m["message_type"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains("TYPE_NEW_POSTING") && kinds.contains("TYPE_STATE_CHANGED"),
        "{kinds:?}"
    );
    for m in &messages {
        let fields: &[&str] = match m["message_type"].as_str().unwrap() {
            "TYPE_NEW_POSTING" => &[
                "posting_number",
                "products",
                "in_process_at",
                "warehouse_id",
                "shipment_date",
                "tpl_integration_type",
                "is_express",
                "tracking_number",
                "delivery_date_begin",
                "delivery_date_end",
                "seller_id",
            ],
            "TYPE_STATE_CHANGED" => &[
                "posting_number",
                "new_state",
                "changed_state_date",
                "warehouse_id",
                "seller_id",
            ],
            "TYPE_POSTING_CANCELLED" => &[
                "posting_number",
                "products",
                "old_state",
                "new_state",
                "changed_state_date",
                "reason",
                "warehouse_id",
                "seller_id",
            ],
            "TYPE_DELIVERY_DATE_CHANGED" => &[
                "posting_number",
                "new_delivery_date_begin",
                "new_delivery_date_end",
                "old_delivery_date_begin",
                "old_delivery_date_end",
                "warehouse_id",
                "seller_id",
            ],
            "TYPE_FBO_POSTING_NEW" => &[
                "posting_number",
                "order_number",
                "uuid",
                "products",
                "creation_date",
                "warehouse_id",
                "seller_id",
            ],
            "TYPE_FBO_POSTING_STATE_CHANGED" => &[
                "posting_number",
                "order_number",
                "uuid",
                "new_state",
                "changed_state_date",
                "warehouse_id",
                "seller_id",
            ],
            "TYPE_FBO_POSTING_CANCELLED" => &[
                "posting_number",
                "order_number",
                "uuid",
                "products",
                "old_state",
                "new_state",
                "cancel_date",
                "reason",
                "warehouse_id",
                "seller_id",
            ],
            other => panic!("unexpected {other}"),
        };
        for field in fields {
            assert!(
                m.get(*field).is_some(),
                "{} lacks {field}: {m}",
                m["message_type"]
            );
        }
    }
    let times: Vec<&str> = messages
        .iter()
        .filter_map(|m| m["changed_state_date"].as_str())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "not in time order");
    assert_eq!(
        pusher.push_once(&client).await,
        PushReport::default(),
        "nothing new, nothing pushed"
    );
}

#[tokio::test]
async fn a_refused_push_is_retried_until_acknowledged() {
    let (url, received) = receiver(2).await;
    let (sandbox, clock) = start(url).await;
    let pusher = sandbox.ozon_push.clone().unwrap();
    let client = ozontrack_sandbox::http_client();
    pusher.push_once(&client).await;
    clock.advance(Duration::hours(3));
    let first = pusher.push_once(&client).await;
    assert_eq!(first.failed, 2, "{first:?}");
    let pending = pusher.pending();
    assert_eq!(pending, 2);
    let second = pusher.push_once(&client).await;
    assert_eq!(
        (second.delivered, second.failed, pusher.pending()),
        (2, 0, 0)
    );
    assert_eq!(received.lock().unwrap().len(), first.delivered + 2);
}

#[tokio::test]
async fn ping_accepts_a_receiver_that_answers_version_name_and_time() {
    let (url, _) = receiver(0).await;
    let (sandbox, _) = start(url).await;
    let answer = sandbox
        .ozon_push
        .clone()
        .unwrap()
        .ping(&ozontrack_sandbox::http_client())
        .await
        .unwrap();
    assert_eq!(answer["name"], "test");
    // A receiver that only says {"result": true} fails the check.
    let app = axum::Router::new().route(
        "/p",
        axum::routing::post(|| async { Json(json!({"result": true})) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bad = format!("http://{}/p", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let (sandbox, _) = start(bad).await;
    let err = sandbox
        .ozon_push
        .clone()
        .unwrap()
        .ping(&ozontrack_sandbox::http_client())
        .await
        .unwrap_err();
    assert!(err.starts_with("WRONG_RESULT_FIELD"), "{err}");
}
