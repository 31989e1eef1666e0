//! The seller's morning: Today shows the worst open alerts first with notices apart, and the
//! alerts inbox filters by severity, rule, store and state and acknowledges in bulk.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use ozontrack_db::prelude::*;
use ozontrack_db::{RiskOutcome, SqlDatabase};
use ozontrack_domain::alert::AlertChange;
use ozontrack_domain::finding::{Finding, Reason, Severity};
use ozontrack_domain::money::{Currency, Money};
use ozontrack_domain::{Clock, OzonStatus, Posting, PostingNumber, Scheme, SystemClock};
use ozontrack_server::api::ApiState;
use tokio::sync::watch;

mod support;

fn finding(severity: Severity, reason: Reason, since: DateTime<Utc>) -> Finding {
    Finding {
        severity,
        leg: None,
        since,
        reason,
        actions: Vec::new(),
        evidence: Vec::new(),
        held: None,
    }
}

struct Dashboard {
    base: String,
    http: reqwest::Client,
    cookie: String,
    store: SqlDatabase,
    _stop: watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

impl Dashboard {
    async fn get(&self, path: &str) -> String {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("cookie", "ozt_lang=en")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.text().await.unwrap()
    }
}

/// Three postings of one store: a critical missing tracking number (oldest), a high-risk stale
/// parcel, and an informational high-value notice (newest).
async fn dashboard() -> Dashboard {
    let (store, dir) = support::empty_store().await;
    let now = SystemClock.now();
    let shop = store
        .add_store(support::offline_store("shop", "123"), now)
        .await
        .unwrap()
        .id;
    let findings = [
        (
            "10000001-0001-1",
            finding(
                Severity::Critical,
                Reason::MissingTracking {
                    ship_by: now - Duration::hours(30),
                },
                now - Duration::hours(30),
            ),
        ),
        (
            "10000002-0001-1",
            finding(
                Severity::HighRisk,
                Reason::Stale {
                    quiet_hours: 80,
                    threshold_hours: 72,
                    allowance_hours: 0,
                    learned: None,
                    last: None,
                },
                now - Duration::hours(8),
            ),
        ),
        (
            "10000003-0001-1",
            finding(
                Severity::Info,
                Reason::HighValue {
                    total: Money::from_minor(9_900_000, Currency::Rub),
                    limit_rub: 50_000,
                },
                now - Duration::hours(1),
            ),
        ),
    ];
    let mut outcomes = Vec::new();
    for (number, finding) in findings {
        let number = PostingNumber::parse(number).unwrap();
        let id = store
            .upsert_posting(
                &Posting::new(shop, number.clone(), Scheme::Fbs, OzonStatus::Delivering),
                now,
            )
            .await
            .unwrap();
        outcomes.push(RiskOutcome {
            posting: id,
            posting_number: number,
            store: shop,
            changes: vec![AlertChange::Open(finding)],
            next_due: None,
            penalty: ozontrack_db::PenaltyPolicy::from(
                &ozontrack_domain::rules::ComplianceRules::default(),
            ),
        });
        // Opened one after another, oldest first.
        store
            .apply_risk(
                &outcomes[outcomes.len() - 1..],
                now,
                &ozontrack_db::Enqueue::nobody(now),
            )
            .await
            .unwrap();
    }
    let phc = ozontrack_engine::access::hash_password("pw".into())
        .await
        .unwrap();
    support::owner(&store, "owner", &phc, now).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, mut rx) = watch::channel(false);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    tokio::spawn(ozontrack_server::run(
        listener,
        ozontrack_server::app(
            ApiState::new(store.clone(), clock),
            ozontrack_server::web::WebSettings::default(),
        ),
        async move {
            let _ = rx.wait_for(|s| *s).await;
        },
    ));
    let http = support::browser_client();
    let login = http
        .post(format!("{base}/login"))
        .form(&[("user", "owner"), ("password", "pw")])
        .send()
        .await
        .unwrap();
    let cookie = support::cookie_set(login.headers());
    Dashboard {
        base,
        http,
        cookie,
        store,
        _stop: stop,
        _dir: dir,
    }
}

/// The text of the page's section `id`.
fn section<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page.find(&format!("<section id=\"{id}\"")).unwrap();
    let end = page[start..].find("</section>").unwrap();
    &page[start..start + end]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn today_puts_the_worst_alerts_first_and_notices_apart() {
    let d = dashboard().await;
    let today = d.get("/").await;
    let first = section(&today, "newest");
    let critical = first.find("10000001-0001-1").unwrap();
    let high = first.find("10000002-0001-1").unwrap();
    assert!(critical < high, "the critical alert comes first");
    assert!(!first.contains("10000003-0001-1"), "{first}");
    assert!(section(&today, "notices").contains("10000003-0001-1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_filters_by_severity_rule_store_and_state_and_acknowledges_in_bulk() {
    let d = dashboard().await;
    let listed = |page: &str| -> Vec<&str> {
        ["10000001-0001-1", "10000002-0001-1", "10000003-0001-1"]
            .into_iter()
            .filter(|n| page.contains(&format!(">{n}</a>")))
            .collect()
    };
    assert_eq!(listed(&d.get("/alerts").await).len(), 3);
    assert_eq!(
        listed(&d.get("/alerts?severity=critical").await),
        ["10000001-0001-1"]
    );
    assert_eq!(
        listed(&d.get("/alerts?rule=stale&store=shop").await),
        ["10000002-0001-1"]
    );
    let page = d
        .get("/alerts?severity=&rule=&store=&state=unresolved")
        .await;
    let csrf = support::csrf(&page);
    let ids: Vec<i64> = d
        .store
        .alerts(&Default::default())
        .await
        .unwrap()
        .iter()
        .filter(|a| a.severity >= Severity::HighRisk)
        .map(|a| a.id)
        .collect();
    assert_eq!(ids.len(), 2);
    let mut form = vec![
        ("_csrf".to_owned(), csrf),
        ("note".to_owned(), "asked the carrier".to_owned()),
        ("back".to_owned(), "/alerts?state=unresolved".to_owned()),
    ];
    form.extend(ids.iter().map(|id| ("id".to_owned(), id.to_string())));
    let done = d
        .http
        .post(format!("{}/alerts/ack", d.base))
        .header("cookie", &d.cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    assert_eq!(
        done.headers()["location"],
        "/alerts?state=unresolved&acknowledged=2"
    );
    let acknowledged = d.get("/alerts?state=acknowledged").await;
    assert_eq!(
        listed(&acknowledged),
        ["10000001-0001-1", "10000002-0001-1"]
    );
    assert!(
        d.get("/alerts?state=unresolved&acknowledged=2")
            .await
            .contains("2 alerts acknowledged.")
    );
    // Nothing ticked: nothing changes, and the list says so.
    let none = d
        .http
        .post(format!("{}/alerts/ack", d.base))
        .header("cookie", &d.cookie)
        .form(&form[..3])
        .send()
        .await
        .unwrap();
    assert_eq!(
        none.headers()["location"],
        "/alerts?state=unresolved&acknowledged=0"
    );
    // An unknown state is a clear 400, not an empty list.
    let bad = d
        .http
        .get(format!("{}/alerts?state=sleeping", d.base))
        .header("cookie", &d.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}
