//! The Ozon Seller API fake from the outside, over raw HTTP on a socket (not through
//! ozontrack's own client): header checks, rate limit, envelopes, every documented field of
//! the posting objects with its documented type, paging, and determinism.

// In tests a panic is the failure report, so helpers unwrap freely.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use ozontrack_domain::{Clock, ManualClock};
use ozontrack_sandbox::fakes::ozon::OzonConfig;
use ozontrack_sandbox::{Mode, Parcel, Sandbox, ServeConfig, World, WorldConfig};
use serde_json::{Value, json};

mod common;

use common::raw_post;

struct Fixture {
    sandbox: Sandbox,
    clock: Arc<ManualClock>,
    /// What the sandbox serves: a finite world, so the fakes' window holds all of it.
    world: World,
}

impl Fixture {
    async fn new(parcels: u32, config: OzonConfig) -> Self {
        // Two thirds into the order span: plenty of parcels in every state.
        Self::at(parcels, config, Duration::days(20)).await
    }

    async fn at(parcels: u32, config: OzonConfig, into_span: Duration) -> Self {
        let world = World::generate(WorldConfig {
            parcels,
            ..WorldConfig::default()
        });
        let now = world.config.start + into_span;
        let clock = Arc::new(ManualClock::new(now));
        let serve = ServeConfig {
            ozon: config,
            ..ServeConfig::default()
        };
        let sandbox = Sandbox::start(world.clone(), clock.clone(), &serve)
            .await
            .unwrap();
        Self {
            sandbox,
            clock,
            world,
        }
    }

    /// The first posting visible now that satisfies `what` (given the parcel and now).
    fn visible(&self, what: impl Fn(&Parcel, DateTime<Utc>) -> bool) -> &Parcel {
        let now = self.clock.now();
        let parcels = &self.world.parcels;
        parcels
            .iter()
            .find(|p| p.appears_at <= now && what(p, now))
            .expect("no such posting in the world")
    }

    /// An rFBS posting that is visible now and not yet delivered.
    fn undelivered_rfbs(&self) -> &Parcel {
        self.visible(|p, now| p.mode == Mode::Rfbs && p.delivered_at.is_none_or(|d| d > now))
    }

    async fn call(&self, path: &str, body: Value) -> (u16, Value) {
        let store = &self.sandbox.stores()[0];
        let client_id = store.client_id.to_string();
        let headers = [
            ("Client-Id", client_id.as_str()),
            ("Api-Key", store.api_key.as_str()),
        ];
        let (status, bytes) =
            raw_post(&self.sandbox.urls.ozon, path, &headers, &body.to_string()).await;
        (status, serde_json::from_slice(&bytes).unwrap())
    }
}

fn list_request(cursor: &str, limit: u32) -> Value {
    json!({"filter": {"since": "2026-01-01T00:00:00Z", "to": "2026-12-31T23:59:59Z"},
           "limit": limit, "cursor": cursor, "with": {"analytics_data": true, "financial_data": true}})
}

#[tokio::test]
async fn missing_headers_get_ozons_401_body() {
    let f = Fixture::new(10, OzonConfig::default()).await;
    let (status, body) = raw_post(&f.sandbox.urls.ozon, "/v4/posting/fbs/list", &[], "{}").await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        br#"{"code":16,"message":"Client-Id and Api-Key headers are required"}"#
    );
}

#[tokio::test]
async fn a_non_numeric_client_id_and_a_wrong_key_are_refused_as_ozon_does() {
    let f = Fixture::new(10, OzonConfig::default()).await;
    let url = &f.sandbox.urls.ozon;
    let (status, body) = raw_post(
        url,
        "/v3/posting/fbs/get",
        &[("Client-Id", "abc"), ("Api-Key", "x")],
        "{}",
    )
    .await;
    assert_eq!(
        (status, serde_json::from_slice::<Value>(&body).unwrap()),
        (
            400,
            json!({"code": 3, "message": "Client-Id header value should be positive integer"})
        )
    );
    let client = f.sandbox.stores()[0].client_id.to_string();
    let (status, body) = raw_post(
        url,
        "/v3/posting/fbs/get",
        &[("Client-Id", &client), ("Api-Key", "wrong")],
        "{}",
    )
    .await;
    assert_eq!(
        (status, serde_json::from_slice::<Value>(&body).unwrap()),
        (
            404,
            json!({"code": 5, "message": "Invalid Api-Key, please check the key and try again", "details": []})
        )
    );
}

#[tokio::test]
async fn requests_over_the_per_client_limit_get_429_with_code_8() {
    let f = Fixture::new(10, OzonConfig { rate_limit: 5 }).await;
    let started = std::time::Instant::now();
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(f.call("/v2/warehouse/list", json!({"limit": 10})).await);
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "too slow to test a 1 s window"
    );
    let codes: Vec<u16> = statuses.iter().map(|(s, _)| *s).collect();
    assert_eq!(codes, [200, 200, 200, 200, 200, 429, 429, 429]);
    assert_eq!(
        statuses[5].1,
        json!({"code": 8, "message": "You have reached request rate limit per second", "details": []})
    );
}

/// The documented type of a field: `s` string, `n` number, `b` bool, `o` object, `a` array,
/// `?o` object or null, `?s` string or null, `z` always null here.
fn check_fields(object: &Value, fields: &[(&str, &str)], context: &str) {
    for (name, kind) in fields {
        let value = object
            .get(*name)
            .unwrap_or_else(|| panic!("{context}: field {name} missing"));
        let ok = match *kind {
            "s" => value.is_string(),
            "n" => value.is_number(),
            "b" => value.is_boolean(),
            "o" => value.is_object(),
            "a" => value.is_array(),
            "?o" => value.is_object() || value.is_null(),
            "?s" => value.is_string() || value.is_null(),
            "z" => value.is_null(),
            _ => unreachable!(),
        };
        assert!(ok, "{context}: field {name} = {value} is not {kind}");
    }
}

/// `ozon-seller-api.md` §2, column L4.
const V4_POSTING_FIELDS: &[(&str, &str)] = &[
    ("posting_number", "s"),
    ("order_id", "n"),
    ("order_number", "s"),
    ("parent_posting_number", "s"),
    ("status", "s"),
    ("substatus", "s"),
    ("tracking_number", "s"),
    ("tpl_integration_type", "s"),
    ("integration_type_flow", "s"),
    ("delivery_schema", "s"),
    ("delivery_method", "o"),
    ("in_process_at", "s"),
    ("shipment_date", "s"),
    ("shipment_date_without_delay", "s"),
    ("delivering_date", "?s"),
    ("pickup_code_verified_at", "z"),
    ("is_express", "b"),
    ("is_click_and_collect", "b"),
    ("is_multibox", "b"),
    ("multi_box_qty", "n"),
    ("is_presortable", "b"),
    ("quantum_id", "n"),
    ("destination_place_id", "n"),
    ("destination_place_name", "s"),
    ("sorting_center", "?o"),
    ("cancellation", "o"),
    ("customer", "?o"),
    ("addressee", "?o"),
    ("products", "a"),
    ("barcodes", "?o"),
    ("analytics_data", "?o"),
    ("financial_data", "?o"),
    ("legal_info", "?o"),
    ("requirements", "o"),
    ("optional", "o"),
    ("available_actions", "a"),
    ("prr_option", "s"),
    ("tariffication", "o"),
    ("tariffication_steps", "a"),
    ("external_order", "o"),
    ("require_blr_traceable_attrs", "b"),
    ("volume_weight", "n"),
];

#[tokio::test]
async fn v4_fbs_list_pages_through_every_visible_posting_exactly_once_with_documented_fields() {
    let f = Fixture::new(600, OzonConfig::default()).await;
    let now = f.clock.now();
    let expected: HashSet<String> = f
        .world
        .parcels
        .iter()
        .filter(|p| p.mode != Mode::Fbo && p.appears_at <= now)
        .map(|p| p.posting_number.clone())
        .collect();
    let mut seen = HashSet::new();
    let mut cursor = String::new();
    loop {
        let (status, body) = f
            .call("/v4/posting/fbs/list", list_request(&cursor, 100))
            .await;
        assert_eq!(status, 200, "{body}");
        for posting in body["postings"].as_array().unwrap() {
            check_fields(posting, V4_POSTING_FIELDS, "v4 posting");
            check_fields(
                &posting["delivery_method"],
                &[
                    ("id", "n"),
                    ("name", "s"),
                    ("warehouse_id", "n"),
                    ("warehouse", "s"),
                    ("tpl_provider_id", "n"),
                    ("tpl_provider", "s"),
                ],
                "delivery_method",
            );
            check_fields(
                &posting["products"][0],
                &[
                    ("sku", "n"),
                    ("offer_id", "s"),
                    ("name", "s"),
                    ("quantity", "n"),
                    ("price", "o"),
                    ("imei", "a"),
                ],
                "product",
            );
            check_fields(
                &posting["analytics_data"],
                &[
                    ("delivery_date_begin", "s"),
                    ("delivery_date_end", "s"),
                    ("tpl_provider_id", "n"),
                    ("client_delivery_date_begin", "z"),
                ],
                "analytics_data",
            );
            assert!(
                seen.insert(posting["posting_number"].as_str().unwrap().to_owned()),
                "a posting came twice"
            );
        }
        if !body["has_next"].as_bool().unwrap() {
            assert_eq!(body["cursor"], "");
            break;
        }
        cursor = body["cursor"].as_str().unwrap().to_owned();
    }
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn list_requests_are_validated_as_documented() {
    let f = Fixture::new(10, OzonConfig::default()).await;
    let (status, _) = f.call("/v4/posting/fbs/list", list_request("", 101)).await;
    assert_eq!(status, 400);
    let (status, body) = f.call("/v4/posting/fbs/list", json!({"limit": 10})).await;
    assert_eq!((status, body["code"].clone()), (400, json!(3)));
    let too_long = json!({"filter": {"since": "2024-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "limit": 10});
    let (status, body) = f.call("/v3/posting/fbo/list", too_long).await;
    assert_eq!(
        (status, body["message"].clone()),
        (400, json!("PERIOD_IS_TOO_LONG"))
    );
    let (status, _) = f
        .call("/v4/posting/fbs/list", list_request("not-a-cursor", 10))
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn fbs_get_shows_the_detail_fields_and_404s_an_unknown_posting() {
    let f = Fixture::new(300, OzonConfig::default()).await;
    let rfbs = f.visible(|p, _| p.mode == Mode::Rfbs);
    let (status, body) = f
        .call(
            "/v3/posting/fbs/get",
            json!({"posting_number": rfbs.posting_number, "with": {"analytics_data": true}}),
        )
        .await;
    assert_eq!(status, 200);
    let result = &body["result"];
    check_fields(
        result,
        &[
            ("previous_substatus", "s"),
            ("provider_status", "s"),
            ("fact_delivery_date", "?s"),
            ("delivery_price", "s"),
            ("courier", "o"),
            ("customer", "o"),
            ("addressee", "o"),
            ("product_exemplars", "z"),
            ("related_postings", "o"),
            ("related_weight_postings", "a"),
            ("additional_data", "a"),
            ("prr_option", "z"),
            ("tariffication", "o"),
            ("analytics_data", "o"),
        ],
        "v3 get",
    );
    check_fields(
        &result["customer"]["address"],
        &[
            ("city", "s"),
            ("region", "s"),
            ("latitude", "n"),
            ("longitude", "n"),
            ("pvz_code", "n"),
            ("provider_pvz_code", "s"),
        ],
        "address",
    );
    check_fields(
        &result["products"][0],
        &[
            ("price", "s"),
            ("currency_code", "s"),
            ("dimensions", "o"),
            ("jw_uin", "a"),
        ],
        "v3 product",
    );
    assert!(
        result["products"][0]["price"]
            .as_str()
            .unwrap()
            .ends_with(".0000")
    );
    let (status, body) = f
        .call(
            "/v3/posting/fbs/get",
            json!({"posting_number": "99999999-0001-1"}),
        )
        .await;
    assert_eq!(
        (status, body["message"].clone()),
        (404, json!("POSTING_NOT_FOUND"))
    );
}

#[tokio::test]
async fn fbo_list_and_get_render_fbo_postings_only() {
    let f = Fixture::new(300, OzonConfig::default()).await;
    let request = json!({"filter": {"since": "2026-01-01T00:00:00Z", "to": "2026-12-31T00:00:00Z"}, "limit": 100, "with": {"analytics_data": true}});
    let (status, body) = f.call("/v3/posting/fbo/list", request).await;
    assert_eq!(status, 200);
    let first = &body["postings"][0];
    check_fields(
        first,
        &[
            ("posting_number", "s"),
            ("order_id", "n"),
            ("order_number", "s"),
            ("status", "s"),
            ("substatus", "s"),
            ("cancel_reason_id", "n"),
            ("cancellation", "o"),
            ("created_at", "s"),
            ("in_process_at", "s"),
            ("products", "a"),
            ("analytics_data", "o"),
            ("financial_data", "z"),
            ("legal_info", "z"),
            ("external_order", "o"),
            ("additional_data", "a"),
        ],
        "fbo posting",
    );
    check_fields(
        &first["analytics_data"],
        &[
            ("city", "s"),
            ("delivery_type", "s"),
            ("warehouse_id", "n"),
            ("warehouse_name", "s"),
        ],
        "fbo analytics",
    );
    let number = first["posting_number"].as_str().unwrap();
    let mode = f
        .world
        .parcels
        .iter()
        .find(|p| p.posting_number == number)
        .unwrap()
        .mode;
    assert_eq!(mode, Mode::Fbo);
    let (status, body) = f
        .call("/v2/posting/fbo/get", json!({"posting_number": number}))
        .await;
    assert_eq!(status, 200);
    check_fields(
        &body["result"],
        &[("fact_delivery_date", "?s"), ("products", "a")],
        "fbo get",
    );
    assert!(body["result"]["products"][0]["price"].is_string());
}

#[tokio::test]
async fn delivery_methods_and_warehouses_use_the_v2_envelopes() {
    let f = Fixture::new(10, OzonConfig::default()).await;
    let (status, body) = f
        .call("/v2/delivery-method/list", json!({"limit": 50}))
        .await;
    assert_eq!(status, 200);
    check_fields(
        &body,
        &[
            ("delivery_methods", "a"),
            ("cursor", "s"),
            ("has_next", "b"),
        ],
        "delivery methods",
    );
    let flows: Vec<&str> = body["delivery_methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["tpl_integration_type"].as_str().unwrap())
        .collect();
    assert!(
        flows.contains(&"hybrid") && !flows.contains(&"hybryd"),
        "{flows:?}"
    );
    let (status, body) = f.call("/v2/warehouse/list", json!({"limit": 50})).await;
    assert_eq!(status, 200);
    check_fields(
        &body["warehouses"][0],
        &[
            ("warehouse_id", "n"),
            ("name", "s"),
            ("is_rfbs", "b"),
            ("address_info", "o"),
            ("first_mile", "o"),
            ("working_days", "a"),
        ],
        "warehouse",
    );
}

#[tokio::test]
async fn tracking_numbers_are_set_twenty_at_most_with_per_item_results() {
    let f = Fixture::new(300, OzonConfig::default()).await;
    let parcel = f.undelivered_rfbs();
    let items: Vec<Value> = (0..21)
        .map(|i| json!({"posting_number": format!("1-{i}"), "tracking_number": "X"}))
        .collect();
    let (status, _) = f
        .call(
            "/v2/fbs/posting/tracking-number/set",
            json!({"tracking_numbers": items}),
        )
        .await;
    assert_eq!(status, 400);
    let body = json!({"tracking_numbers": [
        {"posting_number": parcel.posting_number, "tracking_number": "RB123456785GB"},
        {"posting_number": "99999999-0001-1", "tracking_number": "RB123456785GB"}]});
    let (status, body) = f.call("/v2/fbs/posting/tracking-number/set", body).await;
    assert_eq!(status, 200);
    assert_eq!(body["result"][0]["result"], true);
    assert_eq!(
        body["result"][1],
        json!({"posting_number": "99999999-0001-1", "result": false, "error": "POSTING_NOT_FOUND"})
    );
    let (_, got) = f
        .call(
            "/v3/posting/fbs/get",
            json!({"posting_number": parcel.posting_number}),
        )
        .await;
    assert_eq!(got["result"]["tracking_number"], "RB123456785GB");
}

#[tokio::test]
async fn the_same_seed_and_time_give_byte_identical_responses() {
    let (a, b) = (
        Fixture::new(400, OzonConfig::default()).await,
        Fixture::new(400, OzonConfig::default()).await,
    );
    for (path, body) in [
        ("/v4/posting/fbs/list", list_request("", 100)),
        ("/v3/posting/fbo/list", list_request("", 50)),
        ("/v2/delivery-method/list", json!({"limit": 50})),
    ] {
        let call = |f: &Fixture| {
            let store = f.sandbox.stores()[0].clone();
            let url = f.sandbox.urls.ozon.clone();
            let body = body.to_string();
            async move {
                let id = store.client_id.to_string();
                raw_post(
                    &url,
                    path,
                    &[("Client-Id", &id), ("Api-Key", &store.api_key)],
                    &body,
                )
                .await
            }
        };
        let (x, y) = (call(&a).await, call(&b).await);
        assert_eq!(x.0, 200);
        assert_eq!(x, y, "{path} differs between two runs of the same seed");
    }
}

#[tokio::test]
async fn postings_move_and_appear_as_simulated_time_passes() {
    let f = Fixture::at(400, OzonConfig::default(), Duration::days(2)).await;
    let count = |body: &Value| body["postings"].as_array().unwrap().len();
    let (_, before) = f.call("/v4/posting/fbs/list", list_request("", 100)).await;
    let first = before["postings"][0].clone();
    assert_eq!(
        first["status"], "awaiting_deliver",
        "two days in, the first order is not yet on its way"
    );
    f.clock.advance(Duration::days(10));
    let (_, after) = f.call("/v4/posting/fbs/list", list_request("", 100)).await;
    assert!(
        count(&after) > count(&before),
        "no new postings appeared in 10 days"
    );
    assert_eq!(
        after["postings"][0]["posting_number"],
        first["posting_number"]
    );
    assert_ne!(
        after["postings"][0]["status"], first["status"],
        "the oldest posting did not move in 10 days"
    );
}

#[tokio::test]
async fn an_endless_world_three_years_on_lists_this_weeks_orders_and_has_forgotten_the_first() {
    let world = World::generate(WorldConfig {
        parcels: 300,
        endless: true,
        ..WorldConfig::default()
    });
    let clock = Arc::new(ManualClock::new(world.config.start + Duration::days(14)));
    let sandbox = Sandbox::start(world.clone(), clock.clone(), &ServeConfig::default())
        .await
        .unwrap();
    let f = Fixture {
        sandbox,
        clock,
        world,
    };
    let first = f.world.parcels[0].posting_number.clone();
    f.clock.advance(Duration::days(3 * 365));
    let now = f.clock.now();
    let week = json!({"filter": {"since": time(now - Duration::days(7)), "to": time(now)},
                      "limit": 100, "cursor": "", "with": {}});
    let (status, body) = f.call("/v4/posting/fbs/list", week).await;
    assert_eq!(status, 200, "{body}");
    let postings = body["postings"].as_array().unwrap();
    assert!(!postings.is_empty(), "no orders in the last week: {body}");
    for p in postings {
        let at: chrono::DateTime<chrono::Utc> =
            p["in_process_at"].as_str().unwrap().parse().unwrap();
        assert!(now - at <= Duration::days(7), "{at} is not this week's");
    }
    let (status, _) = f
        .call("/v3/posting/fbs/get", json!({"posting_number": first}))
        .await;
    assert_eq!(status, 404, "a posting of three years ago is still served");
}

#[tokio::test]
async fn a_label_barcode_finds_its_posting() {
    let f = Fixture::new(200, OzonConfig::default()).await;
    let parcel = f.visible(|p, _| p.mode == Mode::Rfbs);
    let barcode = format!("2{:014}", parcel.index);
    let (status, body) = f
        .call(
            "/v2/posting/fbs/get-by-barcode",
            json!({"barcode": barcode}),
        )
        .await;
    assert_eq!(status, 200);
    check_fields(
        &body["result"],
        &[
            ("order_id", "n"),
            ("order_number", "s"),
            ("posting_number", "s"),
            ("status", "s"),
            ("cancel_reason_id", "n"),
            ("created_at", "s"),
            ("in_process_at", "s"),
            ("shipment_date", "s"),
            ("products", "a"),
            ("barcodes", "o"),
        ],
        "by barcode",
    );
    assert_eq!(
        body["result"]["posting_number"],
        parcel.posting_number.as_str()
    );
}

#[tokio::test]
async fn rfbs_status_moves_follow_the_allowed_transitions() {
    let f = Fixture::new(1_500, OzonConfig::default()).await;
    let direct = f.visible(|p, now| {
        p.mode == Mode::DirectMail && p.ozon_at(now).status == "awaiting_deliver"
    });
    let cdek = f.visible(|p, _| p.mode == Mode::Rfbs);
    let moved = |number: &str| json!({"posting_number": [number]});
    let (status, body) = f
        .call("/v2/fbs/posting/delivering", moved(&direct.posting_number))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["result"][0],
        json!({"posting_number": direct.posting_number, "result": true, "error": []})
    );
    let (_, got) = f
        .call(
            "/v3/posting/fbs/get",
            json!({"posting_number": direct.posting_number}),
        )
        .await;
    assert_eq!(got["result"]["status"], "delivering");
    let (_, again) = f
        .call("/v2/fbs/posting/delivering", moved(&direct.posting_number))
        .await;
    assert_eq!(again["result"][0]["error"], "TRANSITION_IS_NOT_POSSIBLE");
    let (_, integrated) = f
        .call("/v2/fbs/posting/delivered", moved(&cdek.posting_number))
        .await;
    assert_eq!(
        integrated["result"][0]["error"],
        "HAS_INCORRECT_TPL_INTEGRATION_TYPE"
    );
}

#[tokio::test]
async fn the_postings_report_is_processed_then_downloadable_as_csv() {
    let f = Fixture::new(300, OzonConfig::default()).await;
    let request = json!({"filter": {"processed_at_from": "2026-09-01T00:00:00Z", "processed_at_to": "2026-12-01T00:00:00Z", "delivery_schema": ["fbs"]}, "language": "RU"});
    let (status, created) = f.call("/v1/report/postings/create", request).await;
    assert_eq!(status, 200);
    let code = created["result"]["code"].as_str().unwrap().to_owned();
    assert!(code.starts_with("REPORT_seller_postings"));
    let (_, first) = f.call("/v1/report/info", json!({"code": code})).await;
    assert_eq!(first["result"]["status"], "processing");
    let (_, second) = f.call("/v1/report/info", json!({"code": code})).await;
    assert_eq!(second["result"]["status"], "success");
    let url = second["result"]["file"].as_str().unwrap();
    let path = &url[url.find("/reports/").unwrap()..];
    let (status, _, bytes) = common::raw(&f.sandbox.urls.ozon, "GET", path, &[], "").await;
    assert_eq!(status, 200);
    let csv = String::from_utf8(bytes).unwrap();
    assert!(
        csv.starts_with("\u{feff}\"Номер заказа\";\"Номер отправления\";\"Принят в обработку\";"),
        "{csv}"
    );
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with("\"Перевозчик\";\"Название метода\""),
        "the office's 39 FBS columns"
    );
    let now = f.clock.now();
    // One row per product line, as the office writes it.
    let expected: usize = f
        .world
        .parcels
        .iter()
        .filter(|p| p.mode != Mode::Fbo && p.appears_at <= now)
        .map(|p| p.products.len())
        .sum();
    assert_eq!(csv.lines().count() - 1, expected);
    let (status, _) = f.call("/v1/report/postings/create", json!({"filter": {"processed_at_from": "2026-09-01T00:00:00Z", "processed_at_to": "2026-12-01T00:00:00Z", "delivery_schema": ["fbo", "fbs"]}})).await;
    assert_eq!(status, 400, "exactly one delivery schema");
}

#[tokio::test]
async fn a_chat_is_started_for_a_posting_and_takes_messages_of_up_to_1000_characters() {
    let f = Fixture::new(300, OzonConfig::default()).await;
    let parcel = f.undelivered_rfbs();
    let (status, body) = f
        .call(
            "/v1/chat/start",
            json!({"posting_number": parcel.posting_number}),
        )
        .await;
    assert_eq!(status, 200);
    let chat_id = body["result"]["chat_id"].as_str().unwrap().to_owned();
    let (status, sent) = f
        .call(
            "/v1/chat/send/message",
            json!({"chat_id": chat_id, "text": "Здравствуйте! Посылка в пути."}),
        )
        .await;
    assert_eq!((status, sent), (200, json!({"result": "success"})));
    let (status, _) = f
        .call(
            "/v1/chat/send/message",
            json!({"chat_id": chat_id, "text": "я".repeat(1001)}),
        )
        .await;
    assert_eq!(status, 400);
    let log = f.sandbox.state.buyer_messages.lock().unwrap().clone();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].posting_number, parcel.posting_number);
}

#[tokio::test]
async fn a_store_without_premium_is_refused_the_chat_with_ozons_code_7() {
    let f = Fixture::new(300, OzonConfig::default()).await;
    let parcel = f.undelivered_rfbs();
    f.sandbox
        .state
        .chat_refused
        .lock()
        .unwrap()
        .insert(parcel.store);
    let (status, body) = f
        .call(
            "/v1/chat/start",
            json!({"posting_number": parcel.posting_number}),
        )
        .await;
    assert_eq!((status, body["code"].as_i64()), (403, Some(7)));
}

#[tokio::test]
async fn a_late_posting_appears_behind_the_paging_cursor_with_its_original_in_process_at() {
    let f = Fixture::new(2_000, OzonConfig::default()).await;
    let world = &f.world;
    let late = world
        .parcels
        .iter()
        .find(|p| p.mode != Mode::Fbo && p.appears_at > p.ordered_at + Duration::hours(2))
        .unwrap();
    let find = |body: &Value| {
        body["postings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["posting_number"] == late.posting_number.as_str())
    };
    let window = json!({"filter": {"since": time(late.ordered_at - Duration::minutes(1)), "to": time(late.ordered_at + Duration::minutes(1))}, "limit": 100});
    f.clock.set(late.appears_at - Duration::minutes(1));
    let (_, before) = f.call("/v4/posting/fbs/list", window.clone()).await;
    assert!(!find(&before), "visible before it appeared");
    f.clock.set(late.appears_at);
    let (_, after) = f.call("/v4/posting/fbs/list", window).await;
    assert!(find(&after), "not visible once it appeared");
    let shown = after["postings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["posting_number"] == late.posting_number.as_str())
        .unwrap();
    assert_eq!(shown["in_process_at"], time(late.ordered_at));
}

#[tokio::test]
async fn injected_faults_fail_a_share_of_requests_and_cut_bodies() {
    use ozontrack_sandbox::faults::{FaultPlan, Faults};
    let faults = FaultPlan {
        ozon: Faults {
            error_rate: 0.3,
            malformed_rate: 0.3,
            ..Faults::default()
        },
        ..FaultPlan::default()
    };
    let world = World::generate(WorldConfig {
        parcels: 50,
        ..WorldConfig::default()
    });
    let clock = Arc::new(ManualClock::new(world.config.start + Duration::days(20)));
    let serve = ServeConfig {
        faults,
        ozon: OzonConfig { rate_limit: 1000 },
        ..ServeConfig::default()
    };
    let sandbox = Sandbox::start(world, clock, &serve).await.unwrap();
    let store = sandbox.stores()[0].clone();
    let id = store.client_id.to_string();
    let (mut errors, mut malformed, mut fine) = (0, 0, 0);
    for _ in 0..100 {
        let (status, body) = raw_post(
            &sandbox.urls.ozon,
            "/v2/warehouse/list",
            &[("Client-Id", &id), ("Api-Key", &store.api_key)],
            r#"{"limit": 10}"#,
        )
        .await;
        match (status, serde_json::from_slice::<Value>(&body)) {
            (500..=599, _) => errors += 1,
            (200, Err(_)) => malformed += 1,
            (200, Ok(_)) => fine += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!((15..=45).contains(&errors), "{errors} errors");
    assert!((15..=45).contains(&malformed), "{malformed} malformed");
    assert!(fine >= 20, "{fine} fine");
}

fn time(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[tokio::test]
async fn the_unfulfilled_list_holds_only_postings_still_to_ship_and_counts_them_all() {
    let f = Fixture::new(1_000, OzonConfig::default()).await;
    let now = f.clock.now();
    let (status, body) = f
        .call(
            "/v4/posting/fbs/unfulfilled/list",
            json!({"limit": 10, "filter": {}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    check_fields(
        &body,
        &[
            ("count", "n"),
            ("cursor", "s"),
            ("has_next", "b"),
            ("postings", "a"),
        ],
        "unfulfilled",
    );
    let expected = f
        .world
        .parcels
        .iter()
        .filter(|p| p.mode != Mode::Fbo && p.appears_at <= now)
        .filter(|p| {
            matches!(
                p.ozon_at(now).status,
                "awaiting_packaging" | "awaiting_deliver"
            )
        })
        .count();
    assert_eq!(body["count"], expected);
    for posting in body["postings"].as_array().unwrap() {
        let status = posting["status"].as_str().unwrap();
        assert!(
            matches!(status, "awaiting_packaging" | "awaiting_deliver"),
            "{status}"
        );
    }
}
