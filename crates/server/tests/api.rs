//! The JSON API, spawned on port 0 over a fresh database holding a synced sandbox store and a
//! second store: every route answers within the token's stores only, another store's data is
//! indistinguishable from missing data, read-only tokens cannot write, revoked tokens are
//! refused, bad parameters get the one error shape, hostile carrier text stays text, and
//! `/metrics` counts requests by route pattern.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use ozontrack_db::prelude::*;
use ozontrack_db::{RiskOutcome, SqlDatabase};
use ozontrack_domain::PostingId;
use ozontrack_domain::alert::AlertChange;
use ozontrack_domain::finding::{Action, EventRef, Finding, Reason, Severity};
use ozontrack_domain::{
    Clock, EventSource, Leg, LegRole, Location, MainStatus, ManualClock, NormalizedStatus,
    OzonStatus, Posting, PostingNumber, Role, Scheme, StoreId, StoreScope, SubStatus,
    TrackingEvent, TrackingNumber,
};
use ozontrack_sandbox::{Sandbox, ServeConfig, World, WorldConfig};
use ozontrack_server::api::ApiState;
use serde_json::Value;
use tokio::sync::watch;

struct Api {
    base: String,
    http: reqwest::Client,
    store: SqlDatabase,
    mine: StoreId,
    /// My posting whose carrier writes markup into an event, with an open stale alert.
    my_posting: String,
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

    /// A PATCH as the admin token of every store.
    async fn call_patch(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .patch(format!("{}{path}", self.base))
            .bearer_auth(&self.everything)
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
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

/// A stale finding: no news for 80 hours after a sorting scan.
fn stale(since: chrono::DateTime<chrono::Utc>) -> Finding {
    Finding {
        severity: Severity::HighRisk,
        leg: None,
        since,
        reason: Reason::Stale {
            quiet_hours: 80,
            threshold_hours: 72,
            allowance_hours: 0,
            learned: None,
            last: Some(EventRef {
                at: since,
                text: "Sorting center".into(),
            }),
        },
        actions: vec![Action::ContactCarrier],
        evidence: Vec::new(),
        held: None,
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
        .add_store(support::offline_store("other-shop", "999"), now)
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
        .postings_page(&ozontrack_db::PostingQuery {
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
        posting_number: ozontrack_domain::PostingNumber::parse("0000000001-0001-1").unwrap(),
        store: store_id,
        changes: vec![AlertChange::Open(stale(now))],
        next_due: None,
        penalty: ozontrack_db::PenaltyPolicy::from(
            &ozontrack_domain::rules::ComplianceRules::default(),
        ),
    };
    store
        .apply_risk(
            &[outcome(mine, first.record.id), outcome(theirs, their_id)],
            now,
            &ozontrack_db::Enqueue::nobody(now),
        )
        .await
        .unwrap();
    let all = store.alerts(&Default::default()).await.unwrap();
    let my_alert = all.iter().find(|a| a.store_id == mine).unwrap().id;
    let their_alert = all.iter().find(|a| a.store_id == theirs).unwrap().id;
    let mint = |name: &str, role: Role, scope: StoreScope| {
        let store = store.clone();
        let (secret, new) = ozontrack_engine::access::mint_token(name, role, scope);
        async move {
            store.create_token(&new, now).await.unwrap();
            secret
        }
    };
    let read_only = mint("dashboard", Role::Viewer, StoreScope::Only(vec![mine])).await;
    let writer = mint("erp", Role::Operator, StoreScope::Only(vec![mine])).await;
    let everything = mint("ops", Role::Admin, StoreScope::All).await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, mut rx) = watch::channel(false);
    let router = ozontrack_server::metrics::instrument(
        ozontrack_server::app(
            ApiState::new(store.clone(), clock.clone()).with_syncer(synced.syncer.clone()),
            ozontrack_server::web::WebSettings::default(),
        ),
        store.clone(),
        clock.clone(),
        None,
    );
    tokio::spawn(ozontrack_server::run(listener, router, async move {
        let _ = rx.wait_for(|s| *s).await;
    }));
    Api {
        base,
        http: ozontrack_sandbox::http_client(),
        store,
        mine,
        my_posting: first.record.posting.number.as_str().to_owned(),
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
        (403, Some("forbidden"))
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
        .alerts(&ozontrack_db::AlertFilter {
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
        let (status, _) = call(&a, "get", path, None).await;
        assert_eq!(status, 200, "{path}");
    }

    // The queue depths a worker node counted, served with their age by this node.
    ozontrack_engine::gauges::measure(&a.store, a.now)
        .await
        .unwrap();
    // Every request was counted by its route pattern, never by the posting it named.
    let metrics = a
        .http
        .get(format!("{}/metrics", a.base))
        .bearer_auth(&a.read_only)
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
    assert!(
        metrics.contains(r#"ozontrack_queue_depth{queue="legs_due"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("ozontrack_queue_depth_age_seconds"),
        "{metrics}"
    );
    assert!(!metrics.contains(&a.theirs_posting), "{metrics}");
    let _ = a.stop.send(true);
}

/// Sends `method path` with a token (and a JSON body on writes); the status and the body,
/// which must be JSON unless it is a success of a file route (an export: then `null`).
async fn call(a: &Api, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
    let mut request = a
        .http
        .request(method.clone(), format!("{}{path}", a.base))
        .bearer_auth(&a.everything);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    if status < 300 && path.starts_with("/api/v1/exports/") {
        return (status, Value::Null);
    }
    assert!(
        kind.starts_with("application/json"),
        "{method} {path}: {status} {kind}"
    );
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_and_the_router_agree_route_by_route_and_every_error_is_json() {
    let a = api().await;
    let (_, doc) = a.get("/api/openapi.json", None).await;
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 11, "{doc}");
    // Every operation the document states is served: an answer it documents, never "no such
    // route" or "method not allowed".
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().unwrap() {
            let concrete = path
                .replace("{number}", "12345678-0001-1")
                .replace("{tracking_number}", "UG123456789YP")
                .replace("{id}", "999999")
                .replace("{store}", "no-such-store");
            let body =
                (method == "post").then(|| serde_json::json!({"note": "x", "carrier": "cdek"}));
            let (status, answer) = call(&a, method, &concrete, body).await;
            let documented = operation["responses"].as_object().unwrap();
            assert!(
                documented.contains_key(&status.to_string()),
                "{method} {path} answered {status}, which the document does not list: {answer}"
            );
            assert_ne!(status, 405, "{method} {path}");
            if status == 404 {
                assert!(
                    !answer["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("no such route"),
                    "{method} {path}"
                );
            }
            // Every enum a parameter takes is stated.
            for param in operation["parameters"].as_array().into_iter().flatten() {
                let name = param["name"].as_str().unwrap();
                if ["mode", "risk", "severity", "rule", "lang", "carrier"].contains(&name) {
                    assert!(param["schema"]["enum"].is_array(), "{path} {name}: {param}");
                }
                if name == "limit" || name == "days" {
                    assert!(param["schema"]["maximum"].is_number(), "{path} {name}");
                }
            }
        }
    }
    // Rejections of the path, the query and the body, unknown routes and methods: the one
    // JSON error shape.
    for (method, path, body, want, code) in [
        (
            "POST",
            "/api/v1/alerts/abc/ack",
            Some(serde_json::json!({"note": "x"})),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/api/v1/alerts/1/ack",
            Some(serde_json::json!({"nope": 1})),
            400,
            "bad_request",
        ),
        ("GET", "/api/v1/postings?limit=0", None, 400, "bad_request"),
        (
            "GET",
            "/api/v1/postings?limit=201",
            None,
            400,
            "bad_request",
        ),
        ("GET", "/api/v1/alerts?lang=de", None, 400, "bad_request"),
        ("GET", "/api/v1/nothing-here", None, 404, "not_found"),
        (
            "DELETE",
            "/api/v1/postings",
            None,
            405,
            "method_not_allowed",
        ),
    ] {
        let (status, answer) = call(&a, method, path, body).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (want, Some(code)),
            "{method} {path}: {answer}"
        );
    }
    let _ = a.stop.send(true);
}

/// A browser-like client that does not follow redirects, with the session cookie it was given.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

impl Browser {
    fn new(base: &str) -> Self {
        Self {
            http: support::browser_client(),
            base: base.to_owned(),
            cookie: None,
        }
    }

    async fn get(&self, path: &str) -> (u16, String, reqwest::header::HeaderMap) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, response.text().await.unwrap(), headers)
    }

    async fn post(
        &self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> (u16, String, reqwest::header::HeaderMap) {
        let mut request = self.http.post(format!("{}{path}", self.base)).form(form);
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, response.text().await.unwrap(), headers)
    }

    /// Keeps the session cookie a sign-in answered with.
    fn keep_session(&mut self, headers: &reqwest::header::HeaderMap) {
        let set = headers
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .unwrap();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Lax"),
            "{set}"
        );
        self.cookie = Some(support::cookie_set(headers));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_wants_a_session_and_every_form_wants_its_csrf_token() {
    let a = api().await;
    let mut browser = Browser::new(&a.base);

    // Signed out, every page sends to the login page.
    for path in [
        "/",
        "/postings",
        "/alerts",
        "/carriers",
        &format!("/postings/{}", a.my_posting),
    ] {
        let (status, _, headers) = browser.get(path).await;
        assert_eq!(status, 303, "{path}");
        assert_eq!(headers["location"], "/login");
    }

    // A wrong password, an unknown user: the same answer.
    let hash = ozontrack_engine::access::hash_password("a long enough password".into())
        .await
        .unwrap();
    support::owner(&a.store, "seller", &hash, a.now).await;
    for (user, password) in [("seller", "wrong"), ("nobody", "a long enough password")] {
        let (status, page, _) = browser
            .post("/login", &[("user", user), ("password", password)], &[])
            .await;
        assert_eq!(status, 401);
        assert!(page.contains("用户名或密码错误"), "{page}");
    }
    // A login form posted from another site is refused.
    let (status, _, _) = browser
        .post(
            "/login",
            &[("user", "seller"), ("password", "a long enough password")],
            &[("origin", "http://evil.example")],
        )
        .await;
    assert_eq!(status, 403);
    let (status, _, headers) = browser
        .post(
            "/login",
            &[("user", "seller"), ("password", "a long enough password")],
            &[],
        )
        .await;
    assert_eq!(status, 303);
    browser.keep_session(&headers);

    // Today, in Chinese by default; the language switch keeps to this site.
    let (status, today, headers) = browser.get("/").await;
    assert_eq!(status, 200);
    assert!(today.contains("今天需要处理的事"));
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    let (_, _, headers) = browser.get("/lang/ru?next=%2F%2Fevil.example").await;
    assert_eq!(headers["location"], "/");
    let (_, _, headers) = browser.get("/lang/ru?next=%2Falerts").await;
    assert_eq!(headers["location"], "/alerts");
    let lang = support::cookie_set(&headers);
    let session = browser.cookie.clone().unwrap();
    browser.cookie = Some(format!("{session}; {lang}"));
    let (_, today, _) = browser.get("/").await;
    assert!(today.contains("Что требует внимания сегодня"), "{today}");
    browser.cookie = Some(session);

    // The posting: carrier markup is text, the alert is there to acknowledge.
    let (status, page, _) = browser.get(&format!("/postings/{}", a.my_posting)).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; sorted"),
        "{page}"
    );
    assert!(
        !page.contains("<script>alert"),
        "carrier markup reached the page"
    );
    assert!(page.contains(&format!("data-alert=\"{}\"", a.my_alert)));
    let (_, list, _) = browser.get(&format!("/postings?q={}", a.my_posting)).await;
    assert!(list.contains(&format!("data-posting=\"{}\"", a.my_posting)));

    // The list says how many postings its filters match, not how many one page shows, and
    // offers Ozon's statuses by name.
    let every_store = a
        .store
        .stores()
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    let total = a
        .store
        .postings_page(&ozontrack_db::PostingQuery {
            stores: every_store,
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .len();
    assert!(total > 2, "{total}");
    let (_, list, _) = browser.get("/postings?limit=2").await;
    assert_eq!(list.matches("data-posting=").count(), 2);
    assert!(list.contains(&format!("共 {total} 个货件")), "{list}");
    assert!(
        list.contains("<option value=\"delivering\" >配送中</option>"),
        "{list}"
    );
    let (_, list, _) = browser.get("/postings?status=teleported").await;
    assert!(
        list.contains("<option value=\"teleported\" selected>teleported</option>"),
        "a status Ozon added since stays chosen: {list}"
    );
    let open = a
        .store
        .alerts(&ozontrack_db::AlertFilter {
            open_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .len();
    assert!(open > 0);
    let (_, inbox, _) = browser.get("/alerts").await;
    assert!(inbox.contains(&format!("共 {open} 条预警</p>")), "{inbox}");
    let (status, route, _) = browser
        .get(&format!("/postings/{}/route.json", a.my_posting))
        .await;
    assert_eq!(status, 200);
    let route: Value = serde_json::from_str(&route).unwrap();
    assert!(route["points"].is_array());

    // Acknowledging: refused without the token, from another site, then done with it.
    let csrf = support::csrf(&page);
    let ack = format!("/alerts/{}/ack", a.my_alert);
    let (status, _, _) = browser.post(&ack, &[("note", "called them")], &[]).await;
    assert_eq!(status, 403);
    let (status, _, _) = browser
        .post(&ack, &[("note", "called them"), ("_csrf", "forged")], &[])
        .await;
    assert_eq!(status, 403);
    let (status, _, _) = browser
        .post(
            &ack,
            &[("note", "called them"), ("_csrf", &csrf)],
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(status, 403);
    let (status, fragment, _) = browser
        .post(
            &ack,
            &[("note", "called them")],
            &[("x-csrf-token", &csrf), ("hx-request", "true")],
        )
        .await;
    assert_eq!(status, 200, "{fragment}");
    assert!(
        fragment.contains("seller") && fragment.contains("called them"),
        "{fragment}"
    );
    let alert = a
        .store
        .alerts(&ozontrack_db::AlertFilter {
            id: Some(a.my_alert),
            ..Default::default()
        })
        .await
        .unwrap()
        .remove(0);
    assert_eq!(alert.acknowledged_by.as_deref(), Some("seller"));

    // Every other page renders.
    for path in [
        "/alerts",
        "/alerts?all=true",
        "/carriers",
        "/api/docs",
        "/assets/app.js",
        "/assets/vendor/land-50m.geojson",
    ] {
        let (status, _, _) = browser.get(path).await;
        assert_eq!(status, 200, "{path}");
    }

    // Logging out ends the session on the server, not only in the browser.
    let (status, _, _) = browser.post("/logout", &[("_csrf", &csrf)], &[]).await;
    assert_eq!(status, 303);
    let (status, _, _) = browser.get("/").await;
    assert_eq!(status, 303);

    // A one-time link signs in once.
    let secret = ozontrack_engine::access::mint_login_link(
        &a.store,
        None,
        ozontrack_domain::SystemClock.now(),
    )
    .await
    .unwrap();
    let mut other = Browser::new(&a.base);
    let (status, _, headers) = other.get(&format!("/login/{secret}")).await;
    assert_eq!(status, 303);
    other.keep_session(&headers);
    let (status, _, _) = other.get("/").await;
    assert_eq!(status, 200);
    let (status, _, _) = Browser::new(&a.base).get(&format!("/login/{secret}")).await;
    assert_eq!(status, 401);
    a.stop.send(true).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_buyer_page_shows_the_journey_in_russian_and_nothing_of_the_sellers() {
    let a = api().await;
    let id = a
        .store
        .posting(a.mine, &PostingNumber::parse(&a.my_posting).unwrap())
        .await
        .unwrap()
        .unwrap()
        .id;
    let token = a.store.buyer_token(id).await.unwrap();
    // A second ask gives the same token: a link sent to a buyer keeps working.
    assert_eq!(a.store.buyer_token(id).await.unwrap(), token);
    let browser = Browser::new(&a.base);
    let (status, page, _) = browser.get(&format!("/t/{token}")).await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"<html lang="ru">"#));
    assert!(page.contains("Где моя посылка?"));
    assert!(
        page.contains("&#60;script&#62;alert"),
        "the journey is missing"
    );
    assert!(!page.contains("<script>alert"));
    let store_name = a.store.store(a.mine).await.unwrap().unwrap().name;
    for private in [
        store_name.as_str(),
        "stale",
        "ack",
        "_csrf",
        "/postings",
        &a.theirs_posting,
    ] {
        assert!(!page.contains(private), "the buyer page shows {private:?}");
    }
    let (_, english, _) = browser.get(&format!("/t/{token}?lang=en")).await;
    assert!(english.contains("Where is my parcel?"));
    let (status, route, _) = browser.get(&format!("/t/{token}/route.json")).await;
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Value>(&route).unwrap()["points"].is_array());
    for wrong in ["nope", "../../etc/passwd", "buyer-token-for-the-tesT"] {
        let (status, page, _) = browser.get(&format!("/t/{wrong}")).await;
        assert_eq!(status, 404, "{wrong}");
        assert!(page.contains("По этому адресу посылки нет") || wrong.contains('/'));
    }
    // The API's detail carries the estimate the page shows.
    let (_, detail) = a
        .get(
            &format!("/api/v1/postings/{}", a.my_posting),
            Some(&a.read_only),
        )
        .await;
    assert!(
        detail["estimate"].is_object() || detail["delivered_at"].is_string(),
        "{detail}"
    );
    a.stop.send(true).unwrap();
}

#[tokio::test]
async fn a_destination_under_a_taken_name_is_a_conflict_not_a_bad_request() {
    let a = api().await;
    let robot = serde_json::json!({
        "name": "ops-group",
        "channel": "wecom",
        "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7aaa-4bc4",
    });
    let (status, body) = a
        .post("/api/v1/channels", &a.everything, robot.clone())
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = a.post("/api/v1/channels", &a.everything, robot).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("ops-group"), "{body}");
    a.stop.send(true).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_checked_row_by_row_and_lanes_are_counted_within_the_tokens_stores() {
    let a = api().await;
    let store_name = a.store.store(a.mine).await.unwrap().unwrap().name;
    let upload = |token: String, store: String, query: &'static str, body: String| {
        let http = a.http.clone();
        let url = format!("{}/api/v1/stores/{store}/tracking-numbers{query}", a.base);
        async move {
            let response = http
                .post(url)
                .bearer_auth(token)
                .header("content-type", "text/csv")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let name = store_name.as_str().to_owned();
    let csv = "posting_number,tracking_number\nnot-a-posting,UG123456789YP\n".to_owned();
    let (status, body) = upload(a.writer.clone(), name.clone(), "", csv.clone()).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "invalid_rows");
    assert_eq!(body["error"]["problems"][0]["line"], 2);
    assert_eq!(body["error"]["problems"][0]["column"], "posting_number");
    let (status, body) = upload(a.read_only.clone(), name.clone(), "", csv.clone()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, _) = upload(a.writer.clone(), "someone-else".into(), "", csv.clone()).await;
    assert_eq!(status, 404);
    let (status, body) = upload(a.writer.clone(), name.clone(), "?skip_invalid=true", csv).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            body["sent"].as_u64(),
            body["problems"].as_array().map(Vec::len)
        ),
        (Some(0), Some(1))
    );
    let (status, body) = upload(a.writer.clone(), name.clone(), "", "no,header\n".into()).await;
    assert_eq!(status, 400, "{body}");
    // A US post's S10 shape with a wrong check digit: checked and sendable, with a warning.
    let (_, rfbs) = a
        .get("/api/v1/postings?mode=rfbs&limit=1", Some(&a.read_only))
        .await;
    let doubtful = format!(
        "posting_number,tracking_number\n{},RB123456786US\n",
        rfbs["items"][0]["posting_number"].as_str().unwrap()
    );
    let (status, body) = upload(a.writer.clone(), name.clone(), "?dry_run=true", doubtful).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checked"], 1, "{body}");
    assert_eq!(body["warnings"][0]["line"], 2, "{body}");
    assert!(
        body["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("check digit"),
        "{body}"
    );

    let (status, lanes) = a
        .get("/api/v1/stats/lanes?days=366", Some(&a.read_only))
        .await;
    assert_eq!(status, 200, "{lanes}");
    let lanes = lanes["items"].as_array().unwrap();
    let counted: u64 = lanes.iter().map(|l| l["postings"].as_u64().unwrap()).sum();
    assert!(counted > 0);
    assert!(counted <= a.store.count_postings(a.mine).await.unwrap());
    let (status, _) = a
        .get("/api/v1/stats/lanes?days=0", Some(&a.read_only))
        .await;
    assert_eq!(status, 400);
    a.stop.send(true).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_stream_every_posting_of_the_tokens_stores_and_a_report_imports_once() {
    let a = api().await;
    let export = |token: String, query: &'static str| {
        let http = a.http.clone();
        let url = format!("{}/api/v1/exports/postings{query}", a.base);
        async move {
            let response = http.get(url).bearer_auth(token).send().await.unwrap();
            let status = response.status().as_u16();
            let kind = response
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            let disposition = response
                .headers()
                .get("content-disposition")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            (
                status,
                kind,
                disposition,
                response.bytes().await.unwrap().to_vec(),
            )
        }
    };
    let numbers = |bytes: &[u8], delimiter: u8| -> Vec<String> {
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .from_reader(&bytes[3..])
            .records()
            .map(|r| r.unwrap()[0].to_owned())
            .collect()
    };
    // A token of one store: every posting of it, once, and nothing of another store.
    let (status, kind, disposition, bytes) = export(a.read_only.clone(), "?lang=en").await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/csv"), "{kind}");
    assert!(
        disposition.starts_with("attachment; filename=\"postings-"),
        "{disposition}"
    );
    let mine = numbers(&bytes, b',');
    let stored = a.store.count_postings(a.mine).await.unwrap() as usize;
    assert_eq!(mine.len(), stored);
    let unique: std::collections::BTreeSet<&String> = mine.iter().collect();
    assert_eq!(unique.len(), stored, "every posting once");
    assert!(mine.contains(&a.my_posting));
    assert!(!mine.contains(&a.theirs_posting), "another store's posting");
    let (_, _, _, bytes) = export(a.everything.clone(), "?lang=ru").await;
    let all = numbers(&bytes, b';');
    assert!(
        all.contains(&a.theirs_posting),
        "a token of every store sees every store"
    );
    // The list's filters apply, and XLSX comes as XLSX.
    let (_, _, _, bytes) = export(
        a.read_only.clone(),
        "?lang=en&risk=warning&columns=posting_number,risk",
    )
    .await;
    assert_eq!(numbers(&bytes, b','), vec![a.my_posting.clone()]);
    let (status, kind, _, bytes) = export(a.read_only.clone(), "?format=xlsx&lang=zh").await;
    assert_eq!(status, 200);
    assert!(kind.contains("spreadsheetml"), "{kind}");
    assert!(bytes.starts_with(b"PK"));
    let (status, _, _, bytes) = export(a.read_only.clone(), "?columns=nope").await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&bytes));
    let (status, _, _, _) = export(a.read_only.clone(), "?store=other-shop").await;
    assert_eq!(status, 404, "another store answers like a missing one");

    // The seller office's report: written once, then unchanged; refused to a reader; a bad
    // file names its problems and writes nothing.
    let store_name = a.store.store(a.mine).await.unwrap().unwrap().name;
    let import = |token: String, body: Vec<u8>| {
        let http = a.http.clone();
        let url = format!(
            "{}/api/v1/stores/{}/imports/postings",
            a.base,
            store_name.as_str()
        );
        async move {
            let response = http
                .post(url)
                .bearer_auth(token)
                .header("content-type", "text/csv")
                .body(body)
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let report = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../reports/tests/reports/fbs-office.csv"
    ))
    .unwrap();
    let (status, body) = import(a.read_only.clone(), report.clone()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, body) = import(a.writer.clone(), report.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            body["postings"].as_u64(),
            body["products"].as_u64(),
            body["new"].as_u64()
        ),
        (Some(3), Some(4), Some(3)),
        "{body}"
    );
    let (_, body) = import(a.writer.clone(), report).await;
    assert_eq!(body["unchanged"], 3, "{body}");
    let mut bad = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../reports/tests/reports/fbo-with-errors.csv"
    ))
    .unwrap();
    bad.extend_from_slice(b"\n");
    let (status, body) = import(a.writer.clone(), bad).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["problems"][0]["line"], 2, "{body}");
    assert_eq!(
        body["error"]["problems"][0]["column"], "Номер отправления",
        "{body}"
    );
    let _ = a.stop.send(true);
}

/// A person signed in to the dashboard with a password.
async fn signed_in(a: &Api, user: &str, password: &str) -> Browser {
    let mut browser = Browser::new(&a.base);
    let (status, _, headers) = browser
        .post("/login", &[("user", user), ("password", password)], &[])
        .await;
    assert_eq!(status, 303, "{user} signs in");
    browser.keep_session(&headers);
    browser
}

/// "boss", an admin of every store added through the API, signed in to the dashboard.
async fn boss(a: &Api) -> Browser {
    let (status, body) = a
        .post(
            "/api/v1/users",
            &a.everything,
            serde_json::json!({"name": "boss", "password": "a long enough password",
                               "role": "admin", "stores": "all"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    signed_in(a, "boss", "a long enough password").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_form_and_an_error_page_speak_the_readers_language() {
    let a = api().await;
    let mut admin = boss(&a).await;
    let (_, users, _) = admin.get("/users").await;
    let csrf = support::csrf(&users);

    // The dashboard's own language (Chinese): a name another user has.
    let (status, page, _) = admin
        .post(
            "/users",
            &[
                ("name", "boss"),
                ("password", "another long password"),
                ("_csrf", &csrf),
            ],
            &[],
        )
        .await;
    assert_eq!(status, 200, "the form again: {page}");
    assert!(page.contains("名称：“boss”已被使用。"), "{page}");
    assert!(!page.contains("already exists"), "no English: {page}");

    // Russian, chosen on the dashboard.
    admin.cookie = admin.cookie.map(|c| format!("{c}; ozt_lang=ru"));
    let (_, page, _) = admin
        .post(
            "/users",
            &[("name", "anna"), ("password", "short"), ("_csrf", &csrf)],
            &[],
        )
        .await;
    assert!(
        page.contains("Пароль (не менее 10 символов): от 10 до 1024 символов."),
        "{page}"
    );
    let add = |name: &'static str, channel: &'static str, token: &'static str| {
        [
            ("name", name),
            ("channel", channel),
            ("url", "https://erp.example.com/hooks/ozon"),
            ("token", token),
        ]
    };
    let (status, _, _) = admin
        .post(
            "/notifications",
            &[add("ops", "webhook", "").as_slice(), &[("_csrf", &csrf)]].concat(),
            &[],
        )
        .await;
    assert_eq!(status, 303, "added");
    let (status, page, _) = admin
        .post(
            "/notifications",
            &[add("ops", "webhook", "").as_slice(), &[("_csrf", &csrf)]].concat(),
            &[],
        )
        .await;
    assert_eq!(
        status, 200,
        "a name taken is the form again, not an error page: {page}"
    );
    assert!(page.contains("Название: «ops» уже занято."), "{page}");
    let (_, page, _) = admin
        .post(
            "/notifications",
            &[
                add("tg", "telegram", "no-colon").as_slice(),
                &[("_csrf", &csrf)],
            ]
            .concat(),
            &[],
        )
        .await;
    assert!(
        page.contains("Секрет: токен бота от @BotFather вида 123456:ABC…."),
        "{page}"
    );

    // An error page, in the same language.
    let (status, page, _) = admin.get("/postings/0000000000-0000-0").await;
    assert_eq!(status, 404);
    assert!(
        page.contains("Не найдено.") && page.contains("Что-то пошло не так"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_creates_an_api_token_on_the_users_page_sees_its_secret_once_and_revokes_it() {
    let a = api().await;
    let store_name = a.get("/api/v1/stores", Some(&a.read_only)).await.1["items"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin = boss(&a).await;
    let (_, users, _) = admin.get("/users").await;
    let csrf = support::csrf(&users);
    let (status, page, headers) = admin
        .post(
            "/tokens",
            &[
                ("name", "bi-tool"),
                ("role", "operator"),
                ("store", &store_name),
                ("_csrf", &csrf),
            ],
            &[],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["cache-control"], "no-store",
        "the secret is not cached"
    );
    let start = page
        .find("<code data-raw>ozt_")
        .expect("the secret is shown")
        + 15;
    let secret = &page[start..start + page[start..].find('<').unwrap()];
    let (status, listed) = a.get("/api/v1/postings?limit=1", Some(secret)).await;
    assert_eq!(status, 200, "{listed}");
    let (status, _) = a.get("/api/v1/users", Some(secret)).await;
    assert_eq!(status, 403, "an operator's token, as created");

    // Listed with its prefix, never its secret again.
    let (_, users, _) = admin.get("/users").await;
    assert!(!users.contains(secret) && users.contains(&secret[..8]));
    let tokens = a.store.tokens().await.unwrap();
    let bi = tokens.iter().find(|t| t.name == "bi-tool").unwrap();
    assert!(users.contains(&format!("data-token=\"{}\"", bi.id)));
    let (status, _, headers) = admin
        .post(
            &format!("/tokens/{}/revoke", bi.id),
            &[("_csrf", &csrf)],
            &[],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(headers["location"], "/users?done=revoked");
    let (status, _) = a.get("/api/v1/postings?limit=1", Some(secret)).await;
    assert_eq!(status, 401, "revoked at once");
    let (status, _, _) = admin
        .post(
            &format!("/tokens/{}/revoke", bi.id),
            &[("_csrf", &csrf)],
            &[],
        )
        .await;
    assert_eq!(
        status, 200,
        "the page again, saying there is no such live token"
    );

    let trail = a
        .store
        .audit_entries(&ozontrack_db::AuditFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let actions: Vec<_> = trail
        .iter()
        .filter(|e| e.entry.actor == "boss")
        .map(|e| e.entry.action.as_str())
        .collect();
    assert_eq!(actions, ["token.revoked", "token.created"], "{trail:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_and_stores_limit_every_route_and_page_on_the_server() {
    let a = api().await;
    let ack = |id: i64| format!("/api/v1/alerts/{id}/ack");
    let note = serde_json::json!({"note": "on it"});

    // API tokens: a viewer reads, an operator acts, only an admin of every store runs users.
    let (status, body) = a.post(&ack(a.my_alert), &a.read_only, note.clone()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, _) = a.post(&ack(a.their_alert), &a.writer, note.clone()).await;
    assert_eq!(status, 404, "another store's alert is a missing one");
    let (status, _) = a.post(&ack(a.my_alert), &a.writer, note.clone()).await;
    assert_eq!(status, 200);
    for (token, path) in [
        (&a.read_only, "/api/v1/users"),
        (&a.writer, "/api/v1/users"),
        (&a.read_only, "/api/v1/audit"),
        (&a.writer, "/api/v1/audit"),
    ] {
        let (status, _) = a.get(path, Some(token)).await;
        assert_eq!(status, 403, "{path}");
    }
    let (status, _) = a
        .post("/api/v1/stores/other-shop/pause", &a.writer, Value::Null)
        .await;
    assert_eq!(status, 404, "a store outside the token is a missing one");

    // An admin adds users through the API: a viewer and an operator of my store, and one
    // granted an empty list of stores, who sees nothing.
    let store_name = a.get("/api/v1/stores", Some(&a.read_only)).await.1["items"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    for (name, role, stores) in [
        ("packer", "viewer", vec![store_name.clone()]),
        ("clerk", "operator", vec![store_name.clone()]),
        ("idle", "admin", Vec::new()),
    ] {
        let (status, body) = a
            .post(
                "/api/v1/users",
                &a.everything,
                serde_json::json!({"name": name, "password": "a long enough password",
                                   "role": role, "stores": stores}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert!(body["stores"].is_array(), "{body}");
    }
    let (status, _) = a
        .post(
            "/api/v1/users",
            &a.everything,
            serde_json::json!({"name": "twice", "password": "a long enough password",
                               "role": "viewer", "stores": "everything"}),
        )
        .await;
    assert_eq!(status, 400, "\"all\" or a list of stores, nothing else");

    // The viewer sees her store's postings, alerts and figures, and no action anywhere.
    let packer = signed_in(&a, "packer", "a long enough password").await;
    let (_, list, _) = packer.get("/postings").await;
    assert!(list.contains(&format!("data-posting=\"{}\"", a.my_posting)));
    assert!(
        !list.contains(&a.theirs_posting),
        "another store's posting listed"
    );
    assert!(!list.contains("import-form"), "an import form for a viewer");
    let (status, _, _) = packer.get(&format!("/postings/{}", a.theirs_posting)).await;
    assert_eq!(status, 404);
    let (status, alerts, _) = packer.get("/alerts?state=all").await;
    assert_eq!(status, 200);
    assert!(alerts.contains(&format!("data-alert=\"{}\"", a.my_alert)));
    assert!(!alerts.contains(&format!("data-alert=\"{}\"", a.their_alert)));
    assert!(!alerts.contains("class=\"ack\"") && !alerts.contains("bulk-ack"));
    let (_, today, _) = packer.get("/").await;
    assert!(!today.contains(&format!("data-alert=\"{}\"", a.their_alert)));
    assert!(!today.contains("href=\"/users\"") && !today.contains("href=\"/notifications\""));
    let csrf = support::csrf(&today);
    let (status, _, _) = packer
        .post(
            &format!("/alerts/{}/ack", a.my_alert),
            &[("note", "hidden is not enough"), ("_csrf", &csrf)],
            &[],
        )
        .await;
    assert_eq!(
        status, 403,
        "the server refuses what the page does not show"
    );
    for path in ["/users", "/audit", "/notifications"] {
        let (status, _, _) = packer.get(path).await;
        assert_eq!(status, 403, "{path}");
    }
    let (status, csv, _) = packer.get("/postings/export?format=csv").await;
    assert_eq!(status, 200);
    assert!(csv.contains(&a.my_posting) && !csv.contains(&a.theirs_posting));

    // An empty grant sees nothing, even as an admin.
    let idle = signed_in(&a, "idle", "a long enough password").await;
    let (_, list, _) = idle.get("/postings").await;
    assert!(
        !list.contains("data-posting="),
        "an empty grant listed postings"
    );

    // The operator acknowledges on the dashboard; the trail names who did what.
    let clerk = signed_in(&a, "clerk", "a long enough password").await;
    let (_, page, _) = clerk.get("/alerts?state=all").await;
    let csrf = support::csrf(&page);
    let (status, _, _) = clerk
        .post(
            &format!("/alerts/{}/ack", a.my_alert),
            &[("note", "called the carrier"), ("_csrf", &csrf)],
            &[],
        )
        .await;
    assert_eq!(status, 303, "acknowledged, back to the posting");
    let (status, _, _) = clerk.get("/users").await;
    assert_eq!(status, 403);
    let (status, trail) = a.get("/api/v1/audit", Some(&a.everything)).await;
    assert_eq!(status, 200);
    let actions: Vec<(&str, &str)> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["actor"].as_str().unwrap(), e["action"].as_str().unwrap()))
        .collect();
    assert!(
        actions.contains(&("token:erp", "alert.acknowledged")),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("token:ops", "user.added")),
        "{actions:?}"
    );

    // Changing the viewer's role signs her out at once; disabling keeps her out.
    let (status, body) = a
        .call_patch(
            "/api/v1/users/packer",
            serde_json::json!({"role": "operator"}),
        )
        .await;
    assert_eq!((status, body["role"].as_str()), (200, Some("operator")));
    let (status, _, _) = packer.get("/").await;
    assert_eq!(status, 303, "the old session ended");
    let (status, _) = a
        .call_patch(
            "/api/v1/users/packer",
            serde_json::json!({"disabled": true}),
        )
        .await;
    assert_eq!(status, 200);
    let again = Browser::new(&a.base);
    let (status, _, _) = again
        .post(
            "/login",
            &[("user", "packer"), ("password", "a long enough password")],
            &[],
        )
        .await;
    assert_eq!(status, 401, "a disabled user cannot sign in");

    // Pausing a store shows on it; an admin of every store does it.
    let pause = format!("/api/v1/stores/{store_name}/pause");
    let (status, _) = a.post(&pause, &a.writer, Value::Null).await;
    assert_eq!(status, 403, "an operator does not pause stores");
    let (status, body) = a.post(&pause, &a.everything, Value::Null).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["paused_at"].is_string());
    let (_, today, _) = clerk.get("/").await;
    assert!(
        today.contains("badge paused"),
        "the dashboard says the store is paused"
    );
    let _ = a.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_today_page_says_when_a_stores_penalty_points_reach_a_threshold() {
    let a = api().await;
    let (status, body) = a
        .post(
            "/api/v1/users",
            &a.everything,
            serde_json::json!({"name": "owner", "password": "a long enough password",
                               "role": "viewer", "stores": "all"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let owner = signed_in(&a, "owner", "a long enough password").await;
    let penalties = |page: &str| {
        let card = &page[page.find("id=\"penalties\"").unwrap()..];
        card[..card.find("</section>").unwrap()].to_owned()
    };
    let (_, today, _) = owner.get("/").await;
    assert!(!penalties(&today).contains("data-penalty"), "{today}");

    // Five parcels shipped with a carrier off the whitelist, 3 points each (the default rules:
    // a warning from 12, advertising suspended from 15, in 90 days).
    let postings = a
        .store
        .postings_page(&ozontrack_db::PostingQuery {
            stores: vec![a.mine],
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(postings.len(), 5);
    for (i, p) in postings.iter().enumerate() {
        let tracking = format!("SYAE{:010}", 1000 + i);
        a.store
            .upsert_leg(
                p.record.id,
                &Leg {
                    carrier: ozontrack_domain::CarrierCode::parse("sunyou").unwrap(),
                    tracking_number: TrackingNumber::parse(&tracking).unwrap(),
                    role: LegRole::FirstMile,
                },
                a.now,
            )
            .await
            .unwrap();
        let violation = Finding {
            severity: Severity::Critical,
            leg: Some(tracking),
            since: a.now,
            reason: Reason::NotWhitelisted {
                carrier: ozontrack_domain::CarrierCode::parse("sunyou").unwrap(),
                points: 3,
            },
            actions: Vec::new(),
            evidence: Vec::new(),
            held: None,
        };
        a.store
            .apply_risk(
                &[RiskOutcome {
                    posting: p.record.id,
                    posting_number: p.record.posting.number.clone(),
                    store: a.mine,
                    changes: vec![AlertChange::Open(violation)],
                    next_due: None,
                    penalty: ozontrack_db::PenaltyPolicy::from(
                        &ozontrack_domain::rules::ComplianceRules::default(),
                    ),
                }],
                a.now,
                &ozontrack_db::Enqueue::nobody(a.now),
            )
            .await
            .unwrap();
        let (_, today, _) = owner.get("/").await;
        let card = penalties(&today);
        match i {
            0..3 => assert!(!card.contains("data-penalty"), "{card}"),
            3 => {
                assert!(card.contains("12 分"), "{card}");
                assert!(card.contains("data-penalty=\"warning\""), "{card}");
                assert!(card.contains("接近 15 分暂停线"), "{card}");
            }
            _ => {
                assert!(card.contains("15 分"), "{card}");
                assert!(card.contains("data-penalty=\"suspension\""), "{card}");
                assert!(card.contains("广告已暂停"), "{card}");
                assert!(card.contains("近 90 天"), "{card}");
            }
        }
    }
    // The API says the same, in the asked language, to a token of the store.
    let (status, body) = a.get("/api/v1/penalties?lang=en", Some(&a.read_only)).await;
    assert_eq!(status, 200, "{body}");
    let mine = &body["items"][0];
    assert_eq!(body["items"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(
        (&mine["total"], &mine["window_days"], &mine["suspension_at"]),
        (&Value::from(15), &Value::from(90), &Value::from(15))
    );
    assert_eq!(mine["level"], "suspension");
    assert_eq!(mine["level_name"], "advertising suspended");
    assert_eq!(mine["violations"].as_array().unwrap().len(), 5);
    assert_eq!(mine["violations"][0]["carrier"], "sunyou");
    let (status, _) = a
        .get("/api/v1/penalties?store=other-shop", Some(&a.read_only))
        .await;
    assert_eq!(status, 404, "another store's points are not the token's");
    let _ = a.stop.send(true);
}

/// What an operation takes: the least role, and whether only a grant of every store may call
/// it (what serves every store: destinations, the outbox, users).
struct Needs {
    method: &'static str,
    path: &'static str,
    role: Role,
    everywhere: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_is_refused_to_a_role_or_grant_short_of_it_and_allowed_otherwise() {
    let a = api().await;
    let (admin_of_mine, new) = ozontrack_engine::access::mint_token(
        "shop-admin",
        Role::Admin,
        StoreScope::Only(vec![a.mine]),
    );
    a.store.create_token(&new, a.now).await.unwrap();
    let store_name = a.get("/api/v1/stores", Some(&a.read_only)).await.1["items"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let needs = |method, path, role, everywhere| Needs {
        method,
        path,
        role,
        everywhere,
    };
    use Role::{Admin, Operator, Viewer};
    let table = [
        needs("get", "/api/v1/stores", Viewer, false),
        needs("get", "/api/v1/postings", Viewer, false),
        needs("get", "/api/v1/postings/{number}", Viewer, false),
        needs(
            "post",
            "/api/v1/postings/{number}/legs/{tracking_number}/carrier",
            Operator,
            false,
        ),
        needs("get", "/api/v1/alerts", Viewer, false),
        needs("post", "/api/v1/alerts/{id}/ack", Operator, false),
        needs("post", "/api/v1/alerts/{id}/resolve", Operator, false),
        needs("get", "/api/v1/stats/carriers", Viewer, false),
        needs("get", "/api/v1/stats/lanes", Viewer, false),
        needs("get", "/api/v1/penalties", Viewer, false),
        needs(
            "post",
            "/api/v1/stores/{store}/tracking-numbers",
            Operator,
            false,
        ),
        needs("get", "/api/v1/exports/postings", Viewer, false),
        needs(
            "post",
            "/api/v1/stores/{store}/imports/postings",
            Operator,
            false,
        ),
        needs("get", "/api/v1/channels", Viewer, true),
        needs("post", "/api/v1/channels", Admin, true),
        needs("post", "/api/v1/channels/{id}/test", Admin, true),
        needs("post", "/api/v1/channels/{id}/disable", Admin, true),
        needs("post", "/api/v1/channels/{id}/enable", Admin, true),
        needs("delete", "/api/v1/channels/{id}", Admin, true),
        needs("get", "/api/v1/outbox", Viewer, true),
        needs("post", "/api/v1/outbox/{id}/retry", Operator, true),
        needs("get", "/api/v1/notify/preview", Viewer, false),
        needs("get", "/api/v1/users", Admin, true),
        needs("post", "/api/v1/users", Admin, true),
        needs("patch", "/api/v1/users/{name}", Admin, true),
        needs("get", "/api/v1/audit", Admin, false),
        needs("post", "/api/v1/stores/{store}/pause", Admin, false),
        needs("post", "/api/v1/stores/{store}/resume", Admin, false),
        needs("get", "/api/v1/postings/{number}/evidence", Operator, false),
        needs(
            "get",
            "/api/v1/postings/{number}/attachments",
            Viewer,
            false,
        ),
        needs(
            "post",
            "/api/v1/postings/{number}/attachments",
            Operator,
            false,
        ),
    ];
    // The table covers every operation the document states (a new route needs its row).
    let (_, doc) = a.get("/api/openapi.json", None).await;
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            assert!(
                ["/healthz", "/readyz"].contains(&path.as_str())
                    || table.iter().any(|n| n.method == method && n.path == path),
                "{method} {path} has no row: which role may call it?"
            );
        }
    }
    let tokens = [
        ("viewer of mine", &a.read_only, Viewer, false),
        ("operator of mine", &a.writer, Operator, false),
        ("admin of mine", &admin_of_mine, Admin, false),
        ("admin of every store", &a.everything, Admin, true),
    ];
    let mut channel = 0;
    for n in &table {
        for (who, token, role, everywhere) in &tokens {
            let path = n
                .path
                .replace("{number}", &a.my_posting)
                .replace("{tracking_number}", "UG123456789YP")
                .replace("{store}", &store_name)
                .replace("{name}", "nobody-here")
                .replace(
                    "{id}",
                    &if n.path.starts_with("/api/v1/alerts") {
                        a.my_alert.to_string()
                    } else {
                        "999999".to_owned()
                    },
                );
            let path = match n.path {
                "/api/v1/stores/{store}/tracking-numbers"
                | "/api/v1/stores/{store}/imports/postings" => format!("{path}?dry_run=true"),
                "/api/v1/notify/preview" => format!("{path}?posting={}", a.my_posting),
                "/api/v1/postings/{number}/attachments" if n.method == "post" => {
                    format!("{path}?name=receipt-{channel}.txt")
                }
                _ => path,
            };
            channel += 1;
            let method = reqwest::Method::from_bytes(n.method.to_uppercase().as_bytes()).unwrap();
            let request = a
                .http
                .request(method, format!("{}{path}", a.base))
                .bearer_auth(token);
            let request = match (n.method, n.path) {
                ("post", "/api/v1/alerts/{id}/ack" | "/api/v1/alerts/{id}/resolve") => {
                    request.json(&serde_json::json!({"note": "checked"}))
                }
                ("post", "/api/v1/postings/{number}/legs/{tracking_number}/carrier") => {
                    request.json(&serde_json::json!({"carrier": "cdek"}))
                }
                ("post", "/api/v1/stores/{store}/tracking-numbers") => {
                    request.body("posting_number,tracking_number\n")
                }
                ("post", "/api/v1/stores/{store}/imports/postings") => request.body("x;y\n"),
                ("post", "/api/v1/postings/{number}/attachments") => {
                    request.body(format!("receipt {channel}"))
                }
                ("post", "/api/v1/channels") => request.json(&serde_json::json!({
                    "name": format!("hook-{channel}"), "channel": "webhook",
                    "url": "https://example.com/hook"})),
                ("post", "/api/v1/users") => request.json(&serde_json::json!({
                    "name": format!("user-{channel}"), "password": "a long enough password",
                    "role": "viewer", "stores": []})),
                ("patch", _) => request.json(&serde_json::json!({"role": "viewer"})),
                _ => request,
            };
            let status = request.send().await.unwrap().status().as_u16();
            let allowed = role.allows(n.role) && (*everywhere || !n.everywhere);
            if allowed {
                assert_ne!(status, 403, "{who}: {} {path} refused", n.method);
                assert!(status < 500, "{who}: {} {path} answered {status}", n.method);
            } else {
                assert_eq!(status, 403, "{who}: {} {path} not refused", n.method);
            }
        }
    }
    let _ = a.stop.send(true);
}

/// A dashboard form: where it posts, its fields, the least role, whether only a grant of every
/// store may post it.
type Form<'a> = (&'a str, Vec<(&'a str, &'a str)>, Role, bool);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_and_form_is_refused_to_a_role_or_grant_short_of_it_and_allowed_otherwise() {
    let a = api().await;
    let store_name = a.get("/api/v1/stores", Some(&a.read_only)).await.1["items"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    use Role::{Admin, Operator, Viewer};
    let people = [
        ("viewer-of-mine", Viewer, false),
        ("operator-of-mine", Operator, false),
        ("admin-of-mine", Admin, false),
        ("admin-of-all", Admin, true),
    ];
    for (name, role, everywhere) in &people {
        let stores = if *everywhere {
            serde_json::json!("all")
        } else {
            serde_json::json!([store_name])
        };
        let (status, body) = a
            .post(
                "/api/v1/users",
                &a.everything,
                serde_json::json!({"name": name, "password": "a long enough password",
                                   "role": role.as_str(), "stores": stores}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    // (path, least role, only for a grant of every store)
    let pages = [
        ("/", Viewer, false),
        ("/postings", Viewer, false),
        ("/postings/export?format=csv", Viewer, false),
        ("/alerts", Viewer, false),
        ("/carriers", Viewer, false),
        ("/notifications", Viewer, true),
        ("/users", Admin, true),
        ("/audit", Admin, false),
    ];
    // (path, fields, least role, only for a grant of every store)
    let my_alert = format!("/alerts/{}/ack", a.my_alert);
    let my_alert_id = a.my_alert.to_string();
    let forms: [Form; 12] = [
        (&my_alert, vec![("note", "on it")], Operator, false),
        (
            "/alerts/ack",
            vec![("id", &my_alert_id), ("note", "on it")],
            Operator,
            false,
        ),
        (
            "/notifications",
            vec![("name", ""), ("channel", "webhook")],
            Admin,
            true,
        ),
        ("/notifications/999999/test", vec![], Admin, true),
        ("/notifications/999999/disable", vec![], Admin, true),
        ("/notifications/999999/route", vec![], Admin, true),
        ("/notifications/outbox/999999/retry", vec![], Operator, true),
        (
            "/users",
            vec![("name", ""), ("role", "viewer")],
            Admin,
            true,
        ),
        ("/users/nobody-here", vec![("role", "viewer")], Admin, true),
        ("/users/nobody-here/disable", vec![], Admin, true),
        (
            "/tokens",
            vec![("name", ""), ("role", "viewer")],
            Admin,
            true,
        ),
        ("/tokens/999999/revoke", vec![], Admin, true),
    ];
    for (name, role, everywhere) in &people {
        let person = signed_in(&a, name, "a long enough password").await;
        let allowed = |needed: &Role, all: &bool| role.allows(*needed) && (*everywhere || !*all);
        for (path, needed, all) in &pages {
            let (status, _, _) = person.get(path).await;
            if allowed(needed, all) {
                assert_eq!(status, 200, "{name}: GET {path}");
            } else {
                assert_eq!(status, 403, "{name}: GET {path} not refused");
            }
        }
        // Another store's posting is a missing one, unless the grant covers every store.
        let (status, _, _) = person.get(&format!("/postings/{}", a.theirs_posting)).await;
        assert_eq!(status, if *everywhere { 200 } else { 404 }, "{name}");
        let (status, _, _) = person.get(&format!("/postings/{}", a.my_posting)).await;
        assert_eq!(status, 200, "{name}");
        let (_, today, _) = person.get("/").await;
        let csrf = support::csrf(&today);
        for (path, fields, needed, all) in &forms {
            let mut fields = fields.clone();
            fields.push(("_csrf", &csrf));
            let (status, _, _) = person.post(path, &fields, &[]).await;
            if allowed(needed, all) {
                assert_ne!(status, 403, "{name}: POST {path} refused");
                assert!(status < 500, "{name}: POST {path} answered {status}");
            } else {
                assert_eq!(status, 403, "{name}: POST {path} not refused");
            }
        }
        let import = person
            .http
            .post(format!(
                "{}/postings/import?store={}&dry_run=true",
                a.base, store_name
            ))
            .header("cookie", person.cookie.clone().unwrap())
            .header("x-csrf-token", &csrf)
            .body("x;y\n")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if role.allows(Operator) {
            assert!(
                import != 403 && import < 500,
                "{name}: import answered {import}"
            );
        } else {
            assert_eq!(import, 403, "{name}: import not refused");
        }
        // The evidence pack and a file for it: an operator's, like the acts of a dispute.
        let (pack, _, _) = person
            .get(&format!("/postings/{}/evidence", a.my_posting))
            .await;
        let attach = person
            .http
            .post(format!(
                "{}/postings/{}/attachments?name=receipt.txt",
                a.base, a.my_posting
            ))
            .header("cookie", person.cookie.clone().unwrap())
            .header("x-csrf-token", &csrf)
            .body(format!("receipt of {name}"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if role.allows(Operator) {
            assert_eq!(pack, 200, "{name}: the evidence pack");
            assert_eq!(attach, 204, "{name}: a file for the evidence");
        } else {
            assert_eq!(pack, 403, "{name}: the evidence pack not refused");
            assert_eq!(attach, 403, "{name}: a file for the evidence not refused");
        }
        if !everywhere {
            let (theirs, _, _) = person
                .get(&format!("/postings/{}/evidence", a.theirs_posting))
                .await;
            assert_eq!(theirs, 404, "{name}: another store's evidence");
        }
    }
    let _ = a.stop.send(true);
}
