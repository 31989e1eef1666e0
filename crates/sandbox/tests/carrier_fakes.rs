//! The 17TRACK, Russian Post and CDEK fakes from the outside, over raw HTTP: envelopes and
//! fields as `parcel-tracking.md` documents them, limits, errors, pushes and outages.

// In tests a panic is the failure report, so helpers unwrap freely.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use chrono::Duration;
use common::{raw, raw_post};
use ozontrack_domain::{Clock, ManualClock};
use ozontrack_sandbox::fakes::cdek::CdekConfig;
use ozontrack_sandbox::fakes::seventeen_track::{SeventeenTrackConfig, sign};
use ozontrack_sandbox::{
    Carrier, EventKind, Mode, Parcel, Sandbox, ServeConfig, World, WorldConfig,
};
use serde_json::{Value, json};

struct Fixture {
    sandbox: Sandbox,
    clock: Arc<ManualClock>,
    /// What the sandbox serves: a finite world, so the fakes' window holds all of it.
    world: World,
}

impl Fixture {
    async fn new(serve: ServeConfig) -> Self {
        let world = World::generate(WorldConfig {
            parcels: 800,
            ..WorldConfig::default()
        });
        let clock = Arc::new(ManualClock::new(world.config.start + Duration::days(25)));
        let sandbox = Sandbox::start(world.clone(), clock.clone(), &serve)
            .await
            .unwrap();
        Self {
            sandbox,
            clock,
            world,
        }
    }

    fn world(&self) -> &World {
        &self.world
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// A parcel with a leg by `carrier` that shows an event of `kind` by now, and none of
    /// whose carriers is in an outage.
    fn parcel(&self, mode: Mode, carrier: Carrier, kind: EventKind) -> &Parcel {
        let now = self.now();
        self.world()
            .parcels
            .iter()
            .find(|p| {
                p.mode == mode
                    && p.legs().any(|l| {
                        l.carrier == carrier
                            && l.events
                                .iter()
                                .any(|e| e.kind == kind && e.visible_at <= now)
                    })
                    && !p.legs().any(|l| self.world().is_down(l.carrier, now))
            })
            .unwrap_or_else(|| panic!("no {mode:?} parcel with {carrier:?} showing {kind:?}"))
    }

    async fn seventeen(&self, endpoint: &str, body: Value) -> (u16, Value) {
        let token = self.world().credentials.seventeen_track_token.clone();
        let path = format!("/track/v2.2/{endpoint}");
        let (status, bytes) = raw_post(
            &self.sandbox.urls.seventeen_track,
            &path,
            &[("17token", &token)],
            &body.to_string(),
        )
        .await;
        (status, serde_json::from_slice(&bytes).unwrap())
    }
}

fn fast_17track() -> ServeConfig {
    ServeConfig {
        seventeen_track: SeventeenTrackConfig {
            rate_limit: 1000,
            ..SeventeenTrackConfig::default()
        },
        ..ServeConfig::default()
    }
}

// ---- 17TRACK ------------------------------------------------------------------------------

#[tokio::test]
async fn seventeen_track_refuses_a_wrong_token_and_more_than_40_numbers() {
    let f = Fixture::new(fast_17track()).await;
    let (status, _) = raw_post(
        &f.sandbox.urls.seventeen_track,
        "/track/v2.2/register",
        &[("17token", "nope")],
        "[]",
    )
    .await;
    assert_eq!(status, 401);
    let items: Vec<Value> = (0..41)
        .map(|i| json!({"number": format!("UG{i:09}YP")}))
        .collect();
    let (status, body) = f.seventeen("register", Value::Array(items)).await;
    assert_eq!((status, body["code"].clone()), (200, json!(-18_010_014)));
}

#[tokio::test]
async fn seventeen_track_registers_once_detects_the_carrier_and_counts_quota() {
    let f = Fixture::new(fast_17track()).await;
    let parcel = f.parcel(Mode::Rfbs, Carrier::Yanwen, EventKind::PickedUp);
    let number = &parcel.first_mile.as_ref().unwrap().tracking_number;
    let (_, body) = f
        .seventeen("register", json!([{"number": number, "tag": "t1"}]))
        .await;
    assert_eq!(body["code"], 0);
    assert_eq!(
        body["data"]["accepted"][0],
        json!({"number": number, "carrier": 190_012, "origin": 1, "tag": "t1"})
    );
    let (_, again) = f.seventeen("register", json!([{"number": number}])).await;
    assert_eq!(again["data"]["rejected"][0]["error"]["code"], -18_019_901);
    let (_, quota) = f.seventeen("getquota", json!({})).await;
    assert_eq!(quota["data"]["quota_used"], 1);
    assert_eq!(quota["data"]["quota_remain"], 999_999);
}

#[tokio::test]
async fn seventeen_track_info_has_the_documented_shape_and_the_last_mile_hand_over() {
    let f = Fixture::new(fast_17track()).await;
    let parcel = f.parcel(Mode::Rfbs, Carrier::Cdek, EventKind::DepartedSortCenter);
    let first = parcel.first_mile.as_ref().unwrap();
    let last = parcel.last_mile.as_ref().unwrap();
    f.seventeen("register", json!([{"number": first.tracking_number}]))
        .await;
    let (_, body) = f
        .seventeen("gettrackinfo", json!([{"number": first.tracking_number}]))
        .await;
    let item = &body["data"]["accepted"][0];
    let info = &item["track_info"];
    for key in [
        "shipping_info",
        "latest_status",
        "latest_event",
        "time_metrics",
        "milestone",
        "misc_info",
        "tracking",
    ] {
        assert!(info.get(key).is_some(), "track_info.{key} missing");
    }
    for key in [
        "days_after_order",
        "days_of_transit",
        "days_of_transit_done",
        "days_after_last_update",
        "estimated_delivery_date",
    ] {
        assert!(
            info["time_metrics"].get(key).is_some(),
            "time_metrics.{key} missing"
        );
    }
    assert_eq!(
        info["misc_info"]["local_number"],
        last.tracking_number.as_str()
    );
    assert_eq!(info["misc_info"]["local_provider"], "СДЭК");
    assert_eq!(info["misc_info"]["local_key"], 100_030);
    let provider = &info["tracking"]["providers"][0];
    assert_eq!(
        provider["provider"]["key"],
        first.carrier.seventeen_track_key().unwrap()
    );
    let event = &provider["events"][0];
    for key in [
        "time_iso",
        "time_utc",
        "time_raw",
        "description",
        "location",
        "stage",
        "sub_status",
        "address",
    ] {
        assert!(event.get(key).is_some(), "event.{key} missing");
    }
    assert!(event["time_utc"].as_str().unwrap().ends_with('Z'));
    let visible = first
        .events
        .iter()
        .filter(|e| e.visible_at <= f.now())
        .count();
    assert_eq!(provider["events"].as_array().unwrap().len(), visible);
    assert_eq!(
        info["latest_status"]["sub_status"], "InTransit_Other",
        "the first mile ends at the hand-over"
    );
    let milestones: Vec<&str> = info["milestone"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["key_stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        milestones,
        [
            "InfoReceived",
            "PickedUp",
            "Departure",
            "Arrival",
            "AvailableForPickup",
            "OutForDelivery",
            "Delivered",
            "Returning",
            "Returned"
        ]
    );
}

#[tokio::test]
async fn seventeen_track_stops_and_retracks_only_as_documented() {
    let f = Fixture::new(fast_17track()).await;
    let parcel = f.parcel(Mode::FbsCrossborder, Carrier::FourPx, EventKind::PickedUp);
    let number = parcel.first_mile.as_ref().unwrap().tracking_number.clone();
    f.seventeen("register", json!([{"number": number}])).await;
    let code = |body: &Value| body["data"]["rejected"][0]["error"]["code"].clone();
    let (_, body) = f.seventeen("retrack", json!([{"number": number}])).await;
    assert_eq!(code(&body), -18_019_904);
    let (_, body) = f.seventeen("stoptrack", json!([{"number": number}])).await;
    assert_eq!(body["data"]["accepted"][0]["number"], number.as_str());
    let (_, body) = f.seventeen("stoptrack", json!([{"number": number}])).await;
    assert_eq!(code(&body), -18_019_906);
    let (_, body) = f.seventeen("retrack", json!([{"number": number}])).await;
    assert_eq!(body["data"]["accepted"][0]["number"], number.as_str());
    f.seventeen("stoptrack", json!([{"number": number}])).await;
    let (_, body) = f.seventeen("retrack", json!([{"number": number}])).await;
    assert_eq!(code(&body), -18_019_905);
}

#[tokio::test]
async fn seventeen_track_allows_three_requests_a_second() {
    let f = Fixture::new(ServeConfig::default()).await;
    let started = std::time::Instant::now();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(f.seventeen("getquota", json!({})).await.0);
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
}

#[tokio::test]
async fn seventeen_track_pushes_news_once_signed_with_the_key() {
    // A receiver that records what it gets.
    let received: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let sink = sink.clone();
            async move {
                let sign = headers.get("sign").unwrap().to_str().unwrap().to_owned();
                sink.lock().unwrap().push((sign, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let serve = ServeConfig {
        seventeen_track: SeventeenTrackConfig {
            rate_limit: 1000,
            webhook_url: Some(hook),
            ..SeventeenTrackConfig::default()
        },
        push_every: None,
        ..ServeConfig::default()
    };
    let f = Fixture::new(serve).await;
    // A first mile that has started and will show more later.
    let now = f.now();
    let parcel = f
        .world()
        .parcels
        .iter()
        .find(|p| {
            p.first_mile.as_ref().is_some_and(|l| {
                l.carrier != Carrier::ChinaPost
                    && l.events.iter().any(|e| e.visible_at <= now)
                    && l.events
                        .iter()
                        .any(|e| e.visible_at > now && e.visible_at <= now + Duration::days(30))
            })
        })
        .expect("a moving parcel");
    let first = parcel.first_mile.as_ref().unwrap();
    f.seventeen("register", json!([{"number": first.tracking_number}]))
        .await;
    let client = ozontrack_sandbox::http_client();
    assert_eq!(f.sandbox.seventeen_track.push_once(&client).await, 1);
    assert_eq!(
        f.sandbox.seventeen_track.push_once(&client).await,
        0,
        "no news, no push"
    );
    let (signature, body) = received.lock().unwrap()[0].clone();
    assert_eq!(
        signature,
        sign(&body, &f.world().credentials.seventeen_track_token)
    );
    let push: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(push["event"], "TRACKING_UPDATED");
    assert_eq!(push["data"]["number"], first.tracking_number.as_str());
    f.clock.advance(Duration::days(30));
    assert_eq!(
        f.sandbox.seventeen_track.push_once(&client).await,
        1,
        "30 days later there is news"
    );
}

#[tokio::test]
async fn during_a_carrier_outage_17track_reports_a_failed_sync_and_stale_events() {
    let f = Fixture::new(fast_17track()).await;
    let world = f.world();
    let outage = world
        .outages
        .iter()
        .find(|o| matches!(o.carrier, Carrier::Yanwen | Carrier::FourPx));
    let Some(outage) = outage.copied() else {
        // The default seed's outages include a first-mile carrier; if that ever changes this
        // test must pick a seed that has one.
        panic!("the default world has no first-mile outage");
    };
    let mid = outage.from + Duration::hours(12);
    f.clock.set(mid);
    let parcel = world
        .parcels
        .iter()
        .find(|p| {
            p.first_mile.as_ref().is_some_and(|l| {
                l.carrier == outage.carrier
                    && l.events
                        .iter()
                        .any(|e| e.visible_at > outage.from && e.visible_at <= mid)
            })
        })
        .expect("a parcel moving during the outage");
    let number = &parcel.first_mile.as_ref().unwrap().tracking_number;
    f.seventeen("register", json!([{"number": number}])).await;
    let (_, body) = f
        .seventeen("gettrackinfo", json!([{"number": number}]))
        .await;
    let provider = &body["data"]["accepted"][0]["track_info"]["tracking"]["providers"][0];
    assert_eq!(provider["latest_sync_status"], "Failure");
    let shown = provider["events"].as_array().unwrap().len();
    let before_outage = parcel
        .first_mile
        .as_ref()
        .unwrap()
        .events
        .iter()
        .filter(|e| e.visible_at <= outage.from)
        .count();
    assert_eq!(shown, before_outage);
}

// ---- Russian Post -------------------------------------------------------------------------

fn soap_request(barcode: &str, login: &str, password: &str) -> String {
    format!(
        r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" xmlns:oper="http://russianpost.org/operationhistory" xmlns:data="http://russianpost.org/operationhistory/data"><soap:Header/><soap:Body><oper:getOperationHistory><data:OperationHistoryRequest><data:Barcode>{barcode}</data:Barcode><data:MessageType>0</data:MessageType><data:Language>RUS</data:Language></data:OperationHistoryRequest><data:AuthorizationHeader soap:mustUnderstand="1"><data:login>{login}</data:login><data:password>{password}</data:password></data:AuthorizationHeader></oper:getOperationHistory></soap:Body></soap:Envelope>"#
    )
}

async fn russian_post(f: &Fixture, barcode: &str, login: &str, password: &str) -> (u16, String) {
    let headers = [("Content-Type", "application/soap+xml; charset=utf-8")];
    let (status, bytes) = raw_post(
        &f.sandbox.urls.russian_post,
        "/rtm34",
        &headers,
        &soap_request(barcode, login, password),
    )
    .await;
    (status, String::from_utf8(bytes).unwrap())
}

#[tokio::test]
async fn russian_post_answers_bad_credentials_with_an_authorization_fault() {
    let f = Fixture::new(ServeConfig::default()).await;
    let (status, body) = russian_post(&f, "RA644000001RU", "who", "me").await;
    assert_eq!(status, 500);
    assert!(
        body.contains("<S:Fault>") && body.contains("AuthorizationFaultReason"),
        "{body}"
    );
}

#[tokio::test]
async fn russian_post_lists_operations_with_type_attribute_and_date() {
    let f = Fixture::new(ServeConfig::default()).await;
    let creds = f.world().credentials.clone();
    let parcel = f.parcel(
        Mode::Rfbs,
        Carrier::RussianPost,
        EventKind::DepartedSortCenter,
    );
    let leg = parcel.last_mile.as_ref().unwrap();
    let (status, body) = russian_post(
        &f,
        &leg.tracking_number,
        &creds.russian_post_login,
        &creds.russian_post_password,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let visible = leg
        .events
        .iter()
        .filter(|e| e.visible_at <= f.now())
        .count();
    assert_eq!(body.matches("<ns3:historyRecord>").count(), visible);
    assert!(body.contains("<ns3:OperType><ns3:Id>8</ns3:Id><ns3:Name>Обработка</ns3:Name></ns3:OperType><ns3:OperAttr><ns3:Id>3</ns3:Id>"), "{body}");
    assert!(body.contains("<ns3:OperDate>") && body.contains("getOperationHistoryResponse"));
}

#[tokio::test]
async fn russian_post_shows_the_chinese_part_of_direct_mail() {
    let f = Fixture::new(ServeConfig::default()).await;
    let creds = f.world().credentials.clone();
    let parcel = f.parcel(
        Mode::DirectMail,
        Carrier::RussianPost,
        EventKind::ArrivedSortCenter,
    );
    let number = &parcel.first_mile.as_ref().unwrap().tracking_number;
    let (_, body) = russian_post(
        &f,
        number,
        &creds.russian_post_login,
        &creds.russian_post_password,
    )
    .await;
    assert!(
        body.contains("<ns3:Code2A>CN</ns3:Code2A>")
            && body.contains("<ns3:Code2A>RU</ns3:Code2A>"),
        "{body}"
    );
    assert!(
        body.contains("<ns3:Id>14</ns3:Id>"),
        "customs clearance missing: {body}"
    );
}

// ---- CDEK ---------------------------------------------------------------------------------

async fn cdek_token(f: &Fixture, id: &str, secret: &str) -> (u16, Value) {
    let form = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
    let headers = [("Content-Type", "application/x-www-form-urlencoded")];
    let (status, bytes) = raw_post(&f.sandbox.urls.cdek, "/v2/oauth/token", &headers, &form).await;
    (status, serde_json::from_slice(&bytes).unwrap())
}

async fn cdek_order(f: &Fixture, token: &str, number: &str) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    let path = format!("/v2/orders?cdek_number={number}");
    let (status, _, bytes) = raw(
        &f.sandbox.urls.cdek,
        "GET",
        &path,
        &[("Authorization", &auth)],
        "",
    )
    .await;
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn cdek_issues_tokens_for_good_credentials_only() {
    let f = Fixture::new(ServeConfig::default()).await;
    let (status, body) = cdek_token(&f, "x", "y").await;
    assert_eq!(
        (status, body["error"].clone()),
        (401, json!("invalid_client"))
    );
    let creds = f.world().credentials.clone();
    let (status, body) = cdek_token(&f, &creds.cdek_client_id, &creds.cdek_client_secret).await;
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body["access_token"].is_string());
}

#[tokio::test]
async fn cdek_orders_show_statuses_newest_first_and_refuse_missing_tokens() {
    let f = Fixture::new(ServeConfig::default()).await;
    let creds = f.world().credentials.clone();
    let (_, token) = cdek_token(&f, &creds.cdek_client_id, &creds.cdek_client_secret).await;
    let token = token["access_token"].as_str().unwrap().to_owned();
    let parcel = f.parcel(Mode::Rfbs, Carrier::Cdek, EventKind::DepartedSortCenter);
    let leg = parcel.last_mile.as_ref().unwrap();
    let (status, _) = cdek_order(&f, "forged", &leg.tracking_number).await;
    assert_eq!(status, 401);
    let (status, body) = cdek_order(&f, &token, &leg.tracking_number).await;
    assert_eq!(status, 200, "{body}");
    let statuses = body["entity"]["statuses"].as_array().unwrap();
    assert_eq!(statuses.last().unwrap()["code"], "CREATED");
    for s in statuses {
        for key in ["code", "name", "date_time", "city"] {
            assert!(s[key].is_string(), "status.{key}: {s}");
        }
    }
    assert!(
        statuses[0]["date_time"].as_str() >= statuses[1]["date_time"].as_str(),
        "not newest first"
    );
    let (status, body) = cdek_order(&f, &token, "1000000000").await;
    assert_eq!(
        (status, body["requests"][0]["errors"][0]["code"].clone()),
        (404, json!("v2_entity_not_found"))
    );
}

#[tokio::test]
async fn an_expired_cdek_token_is_refused() {
    let serve = ServeConfig {
        cdek: CdekConfig {
            token_lifetime: std::time::Duration::ZERO,
        },
        ..ServeConfig::default()
    };
    let f = Fixture::new(serve).await;
    let creds = f.world().credentials.clone();
    let (_, token) = cdek_token(&f, &creds.cdek_client_id, &creds.cdek_client_secret).await;
    let (status, body) =
        cdek_order(&f, token["access_token"].as_str().unwrap(), "1234567890").await;
    assert_eq!(
        (status, body["requests"][0]["errors"][0]["code"].clone()),
        (401, json!("v2_token_expired"))
    );
}

#[tokio::test]
async fn the_same_seed_and_time_give_byte_identical_carrier_responses() {
    let (a, b) = (
        Fixture::new(fast_17track()).await,
        Fixture::new(fast_17track()).await,
    );
    let parcel = a
        .parcel(
            Mode::Rfbs,
            Carrier::RussianPost,
            EventKind::DepartedSortCenter,
        )
        .clone();
    let cdek = a
        .parcel(Mode::Rfbs, Carrier::Cdek, EventKind::DepartedSortCenter)
        .clone();
    let mut answers = Vec::new();
    for f in [&a, &b] {
        let creds = f.world().credentials.clone();
        let first = &parcel.first_mile.as_ref().unwrap().tracking_number;
        f.seventeen("register", json!([{"number": first}])).await;
        let track = f
            .seventeen("gettrackinfo", json!([{"number": first}]))
            .await
            .1
            .to_string();
        let post = russian_post(
            f,
            &parcel.last_mile.as_ref().unwrap().tracking_number,
            &creds.russian_post_login,
            &creds.russian_post_password,
        )
        .await
        .1;
        let token = cdek_token(f, &creds.cdek_client_id, &creds.cdek_client_secret)
            .await
            .1;
        let order = cdek_order(
            f,
            token["access_token"].as_str().unwrap(),
            &cdek.last_mile.as_ref().unwrap().tracking_number,
        )
        .await
        .1
        .to_string();
        answers.push((track, post, token.to_string(), order));
    }
    assert_eq!(answers[0], answers[1]);
}
