//! The JSON API, spawned on port 0 over a fresh database holding a synced sandbox store and a
//! second store: every route answers within the token's stores only, another store's data is
//! indistinguishable from missing data, read-only tokens cannot write, revoked tokens are
//! refused, bad parameters get the one error shape, hostile carrier text stays text, and
//! `/metrics` counts requests by route pattern.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use ozontrack_domain::alert::AlertChange;
use ozontrack_domain::risk::{Action, Finding, RuleKind, Severity};
use ozontrack_domain::{
    ClientId, Clock, EventSource, Leg, LegRole, Location, MainStatus, ManualClock,
    NormalizedStatus, OzonStatus, Posting, PostingNumber, Scheme, StoreId, StoreName,
    StoreSettings, SubStatus, TrackingEvent, TrackingNumber,
};
use ozontrack_sandbox::{Sandbox, ServeConfig, World, WorldConfig};
use ozontrack_server::api::{self, ApiState};
use ozontrack_store::{NewStore, PostingId, RiskOutcome, SqlStore, Store};
use serde_json::Value;
use tokio::sync::watch;

struct Api {
    base: String,
    http: reqwest::Client,
    store: SqlStore,
    mine: StoreId,
    theirs_posting: String,
    my_alert: i64,
    their_alert: i64,
    now: chrono::DateTime<chrono::Utc>,
    read_only: String,
    writer: String,
    everything: String,
    stop: watch::Sender<bool>,
    _synced: support::Synced,
    _sandbox: Sandbox,
}

impl Api {
    async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        assert!(kind.starts_with("application/json"), "{path}: {kind}");
        (status, response.json().await.unwrap())
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }
}

fn finding(rule: RuleKind, since: chrono::DateTime<chrono::Utc>) -> Finding {
    Finding {
        rule,
        severity: Severity::HighRisk,
        leg: None,
        since,
        why: "no new event for 80 h".into(),
        actions: vec![Action::ContactCarrier],
        evidence: Vec::new(),
        suppressed: None,
    }
}

async fn api() -> Api {
    let world = World::generate(WorldConfig {
        parcels: 120,
        ..WorldConfig::default()
    });
    let clock = Arc::new(ManualClock::new(
        world.config.start + chrono::Duration::days(10),
    ));
    let serve = ServeConfig {
        push_every: None,
        ..ServeConfig::default()
    };
    let sandbox = Sandbox::start(world, clock.clone(), &serve).await.unwrap();
    let synced = support::synced_store(&sandbox, clock.clone()).await;
    let store = synced.store.clone();
    let now = clock.now();
    let mine = synced.record.id;
    let theirs = store
        .add_store(
            NewStore {
                name: StoreName::parse("other-shop").unwrap(),
                client_id: ClientId::parse("999").unwrap(),
                api_key: secrecy::SecretString::from("k".to_owned()),
                ozon_base_url: "http://127.0.0.1:9".into(),
                settings: StoreSettings::default(),
            },
            now,
        )
        .await
        .unwrap()
        .id;
    let theirs_posting = "77777777-0001-1".to_owned();
    let their_id = store
        .upsert_posting(
            &Posting::new(
                theirs,
                PostingNumber::parse(&theirs_posting).unwrap(),
                Scheme::Fbs,
                OzonStatus::Delivering,
            ),
            now,
        )
        .await
        .unwrap();
    // A posting of mine with a carrier that writes markup into its event text.
    let first = store
        .postings_page(&ozontrack_store::PostingQuery {
            stores: vec![mine],
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .remove(0);
    let leg = store
        .upsert_leg(
            first.record.id,
            &Leg {
                carrier: ozontrack_domain::CarrierCode::parse("yanwen").unwrap(),
                tracking_number: TrackingNumber::parse("UG123456789YP").unwrap(),
                role: LegRole::FirstMile,
            },
            now,
        )
        .await
        .unwrap();
    store
        .append_events(
            leg,
            &[TrackingEvent::new(
                EventSource::SeventeenTrack,
                now - chrono::Duration::hours(3),
                NormalizedStatus::new(MainStatus::InTransit, SubStatus::Sorting),
                "InTransit_Other",
                "<script>alert('x')</script> sorted",
                Location::default(),
            )],
            now,
        )
        .await
        .unwrap();
    let outcome = |store_id: StoreId, posting: PostingId| RiskOutcome {
        posting,
        store: store_id,
        changes: vec![AlertChange::Open(finding(RuleKind::Stale, now))],
        next_due: None,
        points_per_violation: 3,
    };
    store
        .apply_risk(
            &[outcome(mine, first.record.id), outcome(theirs, their_id)],
            now,
        )
        .await
        .unwrap();
    let all = store.alerts(&Default::default()).await.unwrap();
    let my_alert = all.iter().find(|a| a.store_id == mine).unwrap().id;
    let their_alert = all.iter().find(|a| a.store_id == theirs).unwrap().id;
    let mint = |name: &str, read_only: bool, stores: Vec<StoreId>| {
        let store = store.clone();
        let (secret, new) = api::mint_token(name, read_only, stores);
        async move {
            store.create_token(&new, now).await.unwrap();
            secret
        }
    };
    let read_only = mint("dashboard", true, vec![mine]).await;
    let writer = mint("erp", false, vec![mine]).await;
    let everything = mint("ops", false, Vec::new()).await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, mut rx) = watch::channel(false);
    let router = ozontrack_server::metrics::instrument(ozontrack_server::app(
        ApiState::new(store.clone(), clock.clone()),
        ozontrack_server::web::WebSettings::default(),
    ));
    tokio::spawn(ozontrack_server::run(listener, router, async move {
        let _ = rx.wait_for(|s| *s).await;
    }));
    Api {
        base,
        http: ozontrack_sandbox::http_client(),
        store,
        mine,
        theirs_posting,
        my_alert,
        their_alert,
        now,
        read_only,
        writer,
        everything,
        stop,
        _synced: synced,
        _sandbox: sandbox,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_stays_inside_the_tokens_stores_and_answers_in_one_error_shape() {
    let a = api().await;
    let (status, health) = a.get("/healthz", None).await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));

    // No token, a wrong one: 401 in the one shape.
    let (status, body) = a.get("/api/v1/postings", None).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    let (status, _) = a.get("/api/v1/postings", Some("ozt_not-a-token")).await;
    assert_eq!(status, 401);

    // Stores: only mine for a scoped token, both for an unscoped one.
    let (_, stores) = a.get("/api/v1/stores", Some(&a.read_only)).await;
    assert_eq!(stores["items"].as_array().unwrap().len(), 1);
    assert_eq!(stores["items"][0]["id"], a.mine.0);
    let (_, stores) = a.get("/api/v1/stores", Some(&a.everything)).await;
    assert_eq!(stores["items"].as_array().unwrap().len(), 2);

    // The postings list pages with its cursor and never shows another store's posting.
    let mut seen = Vec::new();
    let mut path = "/api/v1/postings?limit=25".to_owned();
    loop {
        let (status, page) = a.get(&path, Some(&a.read_only)).await;
        assert_eq!(status, 200, "{page}");
        for item in page["items"].as_array().unwrap() {
            seen.push(item["posting_number"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/postings?limit=25&cursor={cursor}"),
            None => break,
        }
    }
    let stored = a.store.count_postings(a.mine).await.unwrap();
    assert_eq!(seen.len() as u64, stored);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no posting twice across pages");
    assert!(!seen.contains(&a.theirs_posting));
    let (_, found) = a
        .get("/api/v1/postings?q=UG123456789YP", Some(&a.read_only))
        .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    assert_eq!(found["items"][0]["risk"], "high_risk");
    let (_, risky) = a
        .get("/api/v1/postings?risk=critical", Some(&a.read_only))
        .await;
    assert!(risky["items"].as_array().unwrap().is_empty());
    let (_, by_store) = a
        .get("/api/v1/postings?store=other-shop", Some(&a.read_only))
        .await;
    assert_eq!(by_store["error"]["code"], "not_found");

    // Bad parameters: 400 naming the parameter.
    for bad in [
        "/api/v1/postings?risk=scary",
        "/api/v1/postings?from=yesterday",
        "/api/v1/postings?cursor=abc",
        "/api/v1/postings?mode=drone",
        "/api/v1/postings?colour=red",
        "/api/v1/alerts?severity=loud",
    ] {
        let (status, body) = a.get(bad, Some(&a.read_only)).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "bad_request");
    }

    // One posting: another store's answers exactly like a missing one.
    let (status, missing) = a
        .get("/api/v1/postings/12345678-0001-1", Some(&a.read_only))
        .await;
    assert_eq!(status, 404);
    let (status, theirs) = a
        .get(
            &format!("/api/v1/postings/{}", a.theirs_posting),
            Some(&a.read_only),
        )
        .await;
    assert_eq!((status, &theirs), (404, &missing));
    let (status, _) = a
        .get(
            &format!("/api/v1/postings/{}", a.theirs_posting),
            Some(&a.everything),
        )
        .await;
    assert_eq!(status, 200);

    // The detail: legs, merged timeline with the carrier's text as plain text, alerts.
    let number = found["items"][0]["posting_number"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, detail) = a
        .get(
            &format!("/api/v1/postings/{number}?lang=ru"),
            Some(&a.read_only),
        )
        .await;
    assert_eq!(status, 200);
    assert!(detail["legs"].as_array().unwrap().len() >= 2, "{detail}");
    let texts: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert!(
        texts.contains(&"<script>alert('x')</script> sorted"),
        "{texts:?}"
    );
    assert_eq!(detail["alerts"][0]["rule"], "stale");

    // Alerts: mine only; acknowledging another store's is 404, a read-only token's 403.
    let (_, inbox) = a.get("/api/v1/alerts?open=true", Some(&a.read_only)).await;
    let ids: Vec<i64> = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [a.my_alert]);
    let note = serde_json::json!({"note": "called the carrier"});
    let (status, body) = a
        .post(
            &format!("/api/v1/alerts/{}/ack", a.their_alert),
            &a.writer,
            note.clone(),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, body) = a
        .post(
            &format!("/api/v1/alerts/{}/ack", a.my_alert),
            &a.read_only,
            note.clone(),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("read_only"))
    );
    let (status, body) = a
        .post(
            &format!("/api/v1/alerts/{}/ack", a.my_alert),
            &a.writer,
            serde_json::json!({"note": " "}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = a
        .post(
            &format!("/api/v1/alerts/{}/ack", a.my_alert),
            &a.writer,
            note,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "acknowledged");
    let alert = a
        .store
        .alerts(&ozontrack_store::AlertFilter {
            id: Some(a.my_alert),
            ..Default::default()
        })
        .await
        .unwrap()
        .remove(0);
    assert_eq!(alert.acknowledged_by.as_deref(), Some("token:erp"));

    // A leg's carrier set by hand: inside the token's stores, by a writer, to a known carrier.
    let path = format!("/api/v1/postings/{number}/legs/UG123456789YP/carrier");
    let (status, _) = a
        .post(&path, &a.read_only, serde_json::json!({"carrier": "4px"}))
        .await;
    assert_eq!(status, 403);
    let (status, body) = a
        .post(&path, &a.writer, serde_json::json!({"carrier": "pigeon"}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("bad_request"))
    );
    let (status, body) = a
        .post(
            &path,
            &a.writer,
            serde_json::json!({"carrier": "4px", "by": "anna"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, detail) = a
        .get(&format!("/api/v1/postings/{number}"), Some(&a.read_only))
        .await;
    assert!(
        detail["legs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["tracking_number"] == "UG123456789YP" && l["carrier"] == "4px"),
        "{detail}"
    );
    let theirs = format!(
        "/api/v1/postings/{}/legs/UG123456789YP/carrier",
        a.theirs_posting
    );
    let (status, _) = a
        .post(&theirs, &a.writer, serde_json::json!({"carrier": "4px"}))
        .await;
    assert_eq!(status, 404);

    // Carrier statistics over the token's stores.
    let (status, stats) = a
        .get("/api/v1/stats/carriers?days=60", Some(&a.read_only))
        .await;
    assert_eq!(status, 200, "{stats}");
    let items = stats["items"].as_array().unwrap();
    assert!(items.iter().any(|c| c["carrier"] == "4px"), "{stats}");
    assert!(
        items
            .iter()
            .all(|c| c["legs"].as_u64().unwrap() >= c["delivered"].as_u64().unwrap())
    );
    let (status, _) = a
        .get("/api/v1/stats/carriers?days=0", Some(&a.read_only))
        .await;
    assert_eq!(status, 400);

    // A revoked token is refused from then on.
    let listed = a.store.tokens().await.unwrap();
    let erp = listed.iter().find(|t| t.name == "erp").unwrap();
    a.store.revoke_token(erp.id, a.now).await.unwrap();
    let (status, _) = a.get("/api/v1/stores", Some(&a.writer)).await;
    assert_eq!(status, 401);

    // The OpenAPI document is public, and every GET it lists without path parameters answers.
    let (status, doc) = a.get("/api/openapi.json", None).await;
    assert_eq!(status, 200);
    for (path, methods) in doc["paths"].as_object().unwrap() {
        if path.contains('{') || methods.get("get").is_none() || path == "/metrics" {
            continue;
        }
        let (status, _) = a.get(path, Some(&a.everything)).await;
        assert_eq!(status, 200, "{path}");
    }

    // Every request was counted by its route pattern, never by the posting it named.
    let metrics = a
        .http
        .get(format!("{}/metrics", a.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"route="/api/v1/postings/{number}""#),
        "{metrics}"
    );
    assert!(metrics.contains("ozontrack_http_request_duration_seconds"));
    assert!(!metrics.contains(&a.theirs_posting), "{metrics}");
    let _ = a.stop.send(true);
}
