//! What an attacker tries first, each reproduced against a running server on port 0: made-up
//! methods that would grow `/metrics` without end, an open `/metrics`, `next=` that leaves the
//! site or breaks a header, login guessing, half-sent requests held open, connections beyond the
//! cap, error answers without the security headers, an htmx action after the session ended,
//! sessions that outlive a password change, and the auth scheme's case.

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use ozontrack_db::SqlDatabase;
use ozontrack_db::prelude::*;
use ozontrack_domain::{Clock, SystemClock};
use ozontrack_server::api::ApiState;
use tokio::sync::watch;

mod support;

struct Server {
    base: String,
    addr: String,
    http: reqwest::Client,
    store: SqlDatabase,
    token: String,
    stop: watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

const PASSWORD: &str = "correct horse battery";

async fn server(limits: ozontrack_server::Limits) -> Server {
    let (store, dir) = support::empty_store().await;
    let now = SystemClock.now();
    let phc = ozontrack_engine::access::hash_password(PASSWORD.into())
        .await
        .unwrap();
    support::owner(&store, "owner", &phc, now).await;
    let (token, new) = ozontrack_engine::access::mint_token(
        "ops",
        ozontrack_domain::Role::Admin,
        ozontrack_domain::StoreScope::All,
    );
    store.create_token(&new, now).await.unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let router = ozontrack_server::metrics::instrument(
        ozontrack_server::app(
            ApiState::new(store.clone(), Arc::clone(&clock)),
            ozontrack_server::web::WebSettings::default(),
        ),
        store.clone(),
        clock,
        Some("scrape-me"),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop, mut rx) = watch::channel(false);
    tokio::spawn(ozontrack_server::run_with(
        listener,
        router,
        async move {
            let _ = rx.wait_for(|s| *s).await;
        },
        limits,
    ));
    Server {
        base: format!("http://{addr}"),
        addr,
        http: support::browser_client(),
        store,
        token,
        stop,
        _dir: dir,
    }
}

impl Server {
    async fn login(&self, user: &str, password: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/login", self.base))
            .form(&[("user", user), ("password", password)])
            .send()
            .await
            .unwrap()
    }

    /// A session cookie for `owner`.
    async fn session(&self) -> String {
        let response = self.login("owner", PASSWORD).await;
        assert_eq!(response.status(), 303);
        support::cookie_set(response.headers())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_methods_add_no_metric_series_and_metrics_want_a_token() {
    let s = server(Default::default()).await;
    for i in 0..50 {
        let method = reqwest::Method::from_bytes(format!("X{i}GUESS").as_bytes()).unwrap();
        let _ = s
            .http
            .request(method, format!("{}/metrics", s.base))
            .send()
            .await
            .unwrap();
    }
    let open = s
        .http
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(open.status(), 401);
    let body: serde_json::Value = open.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    for token in ["scrape-me", s.token.as_str()] {
        let scraped = s
            .http
            .get(format!("{}/metrics", s.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(scraped.status(), 200);
        let text = scraped.text().await.unwrap();
        assert!(!text.contains("GUESS"), "{text}");
        assert!(text.contains(r#"method="other""#), "{text}");
    }
    let wrong = s
        .http
        .get(format!("{}/metrics", s.base))
        .bearer_auth("ozt_not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_language_switch_only_returns_to_paths_of_this_site() {
    let s = server(Default::default()).await;
    for next in [
        "/%09/evil.example",
        "/%0a",
        "/%00",
        "//evil.example",
        "/%5Cevil.example",
        "/\\evil.example",
        "https://evil.example/",
        "/%0d%0aSet-Cookie:%20x=1",
    ] {
        let response = s
            .http
            .get(format!("{}/lang/en?next={next}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{next}");
        assert_eq!(response.headers()["location"], "/", "{next}");
    }
    let response = s
        .http
        .get(format!("{}/lang/ru?next=%2Falerts%3Fall%3Dtrue", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["location"], "/alerts?all=true");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_security_headers_errors_included() {
    let s = server(Default::default()).await;
    let requests = [
        s.http.get(format!("{}/nowhere", s.base)),
        s.http.get(format!("{}/api/v1/nowhere", s.base)),
        s.http.delete(format!("{}/login", s.base)),
        s.http.get(format!("{}/api/v1/alerts", s.base)),
        s.http
            .post(format!("{}/api/v1/alerts/1/acknowledge", s.base))
            .bearer_auth(&s.token)
            .header("content-type", "application/json")
            .body("{not json"),
        s.http.get(format!("{}/login", s.base)),
        s.http.get(format!("{}/healthz", s.base)),
    ];
    for request in requests {
        let response = request.send().await.unwrap();
        let headers = response.headers();
        let what = format!("{} {}", response.url(), response.status());
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("script-src 'self'"),
            "{what}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
        assert_eq!(headers["x-frame-options"], "DENY", "{what}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_htmx_action_after_the_session_ended_sends_the_browser_to_the_login_page() {
    let s = server(Default::default()).await;
    let response = s
        .http
        .get(format!("{}/alerts", s.base))
        .header("hx-request", "true")
        .header("cookie", "ozt_session=ended")
        .send()
        .await
        .unwrap();
    // A redirect would be followed inside the XHR and the login page swapped into a card.
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["hx-redirect"], "/login");
    assert!(response.headers().get("location").is_none());
    // Without htmx it is an ordinary redirect.
    let response = s
        .http
        .get(format!("{}/alerts", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/login");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_guesses_are_limited_per_user_and_the_owner_gets_in_after_the_wait_only() {
    let s = server(Default::default()).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(s.login("owner", "guess").await.status().as_u16());
    }
    assert_eq!(&statuses[..5], &[401; 5], "{statuses:?}");
    assert_eq!(&statuses[5..], &[429; 3], "{statuses:?}");
    let throttled = s.login("owner", PASSWORD).await;
    assert_eq!(throttled.status(), 429);
    let wait: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=12).contains(&wait), "{wait}");
    // The address has tries left for other names, but only ten in all.
    let mut others = Vec::new();
    for i in 0..6 {
        others.push(
            s.login(&format!("user{i}"), "guess")
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(others, [401, 401, 401, 401, 401, 429]);
    // Parallel guesses are answered at once, not queued behind password hashes.
    let started = std::time::Instant::now();
    let guesses: Vec<_> = (0..48)
        .map(|i| {
            let http = s.http.clone();
            let url = format!("{}/login", s.base);
            tokio::spawn(async move {
                http.post(url)
                    .form(&[("user", format!("someone{i}")), ("password", "x".into())])
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    for guess in guesses {
        assert_eq!(guess.await.unwrap(), 429);
    }
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_ends_the_users_sessions() {
    let s = server(Default::default()).await;
    let cookie = s.session().await;
    let today = |cookie: String| {
        let http = s.http.clone();
        let url = format!("{}/", s.base);
        async move {
            http.get(url)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(today(cookie.clone()).await, 200);
    let phc = ozontrack_engine::access::hash_password("a new one".into())
        .await
        .unwrap();
    s.store
        .change_user(
            "owner",
            &ozontrack_db::UserChange {
                password_hash: Some(phc),
                ..Default::default()
            },
            SystemClock.now(),
        )
        .await
        .unwrap();
    assert_eq!(today(cookie).await, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_scheme_is_read_in_any_case() {
    let s = server(Default::default()).await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let response = s
            .http
            .get(format!("{}/api/v1/stores", s.base))
            .header("authorization", format!("{scheme} {}", s.token))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{scheme}");
    }
}

/// Whether the server closed `stream` (a read returns nothing) within `within`.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 512];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            // An answer (hyper's 408) before closing still counts as closing.
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_and_idle_connections_are_closed_after_the_header_timeout() {
    let s = server(ozontrack_server::Limits {
        header_timeout: Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    let addr = s.addr.clone();
    tokio::task::spawn_blocking(move || {
        let mut half = TcpStream::connect(&addr).unwrap();
        half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        let mut idle = TcpStream::connect(&addr).unwrap();
        assert!(closed_within(&mut half, Duration::from_secs(5)));
        assert!(closed_within(&mut idle, Duration::from_secs(5)));
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_closed_at_once_and_served_again_when_one_frees() {
    let s = server(ozontrack_server::Limits {
        max_connections: 2,
        header_timeout: Duration::from_secs(30),
    })
    .await;
    let addr = s.addr.clone();
    tokio::task::spawn_blocking(move || {
        let held: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(&addr).unwrap()).collect();
        // Let the server accept both before the third arrives.
        std::thread::sleep(Duration::from_millis(300));
        let mut third = TcpStream::connect(&addr).unwrap();
        assert!(closed_within(&mut third, Duration::from_secs(2)));
        drop(held);
        std::thread::sleep(Duration::from_millis(300));
        let mut again = TcpStream::connect(&addr).unwrap();
        again
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        again.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    })
    .await
    .unwrap();
}
