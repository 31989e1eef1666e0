//! `ozontrack bench login`: whether a login flood can take the server down. The real app (API,
//! dashboard, login) is started on loopback over a scratch SQLite database; `--attackers`
//! clients, each from an address of its own (127.0.1.x: loopback answers for the whole
//! 127.0.0.0/8), post wrong passwords as fast as they are answered, while `--concurrency`
//! clients send `--requests` requests to `/healthz`. Each attacker guesses names no other one
//! tries, so only the per-address limit holds it back: the most password checks a flood gets. Measured at the client: `/healthz`
//! latency under the flood, and what the flood got (refused by the password check or held
//! back by the throttle before any hash).

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use ozontrack_db::prelude::*;
use ozontrack_domain::{Clock, SystemClock};
use ozontrack_server::api::ApiState;
use serde_json::json;

use super::{Scratch, ms, percentile};
use crate::cli::BenchLoginArgs;
use crate::output;

const GOAL_P99_MS: f64 = 50.0;

/// What the flood got back.
#[derive(Debug, Default)]
struct Flood {
    refused: AtomicU64,
    throttled: AtomicU64,
    other: AtomicU64,
}

pub(crate) async fn login(args: &BenchLoginArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let scratch = Scratch::new("login").await?;
    let store = scratch.store.clone();
    let now = SystemClock.now();
    let phc = ozontrack_engine::access::hash_password("the owner's own password".into())
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    store
        .add_user(
            &ozontrack_db::NewUser {
                name: "owner".into(),
                password_hash: phc,
                role: ozontrack_domain::Role::Admin,
                scope: ozontrack_domain::StoreScope::All,
            },
            now,
        )
        .await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let router = ozontrack_server::app(
        ApiState::new(store.clone(), clock),
        ozontrack_server::web::WebSettings::default(),
    );
    let server = tokio::spawn(ozontrack_server::run(listener, router, async move {
        let _ = stopped.wait_for(|s| *s).await;
    }));

    let flooding = Arc::new(AtomicBool::new(true));
    let flood = Arc::new(Flood::default());
    let mut attackers = Vec::new();
    for a in 0..args.attackers {
        let from = IpAddr::V4(Ipv4Addr::new(127, 0, 1, u8::try_from(a % 250 + 1)?));
        let http = ozontrack_http::client_builder(Duration::from_secs(60))
            .local_address(from)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("cannot build an attacker's client")?;
        let (flooding, flood) = (Arc::clone(&flooding), Arc::clone(&flood));
        attackers.push(tokio::spawn(async move {
            let mut guess = 0u64;
            while flooding.load(Ordering::Relaxed) {
                guess += 1;
                // Names of its own: only the per-address limit stops it, the worst case for
                // the password pool.
                let user = format!("a{a}-user{}", guess % 7);
                let answer = http
                    .post(format!("http://127.0.0.1:{port}/login"))
                    .form(&[("user", user.as_str()), ("password", "123456")])
                    .send()
                    .await;
                let counter = match answer.map(|r| r.status().as_u16()) {
                    Ok(401) => &flood.refused,
                    Ok(429) => &flood.throttled,
                    _ => &flood.other,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // The flood first fills the password pool, then the load comes.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let http = ozontrack_http::client(Duration::from_secs(60)).context("the load's client")?;
    let per_client = (args.requests / args.concurrency.max(1)).max(1);
    let started = Instant::now();
    let clients: Vec<_> = (0..args.concurrency)
        .map(|_| {
            let http = http.clone();
            tokio::spawn(async move {
                let mut times = Vec::with_capacity(per_client as usize);
                for _ in 0..per_client {
                    let t = Instant::now();
                    let response = http
                        .get(format!("http://127.0.0.1:{port}/healthz"))
                        .send()
                        .await?;
                    let status = response.status();
                    response.bytes().await?;
                    times.push(t.elapsed());
                    anyhow::ensure!(status.is_success(), "/healthz: HTTP {status}");
                }
                Ok::<_, anyhow::Error>(times)
            })
        })
        .collect();
    let mut times = Vec::new();
    for client in clients {
        times.extend(client.await??);
    }
    let wall = started.elapsed();
    flooding.store(false, Ordering::Relaxed);
    for attacker in attackers {
        let _ = attacker.await;
    }
    let _ = stop.send(true);
    let _ = server.await;
    scratch.close().await;

    times.sort();
    let (p50, p99) = (ms(percentile(&times, 50.0)), ms(percentile(&times, 99.0)));
    let (refused, throttled, other) = (
        flood.refused.load(Ordering::Relaxed),
        flood.throttled.load(Ordering::Relaxed),
        flood.other.load(Ordering::Relaxed),
    );
    let mut table = output::table(&["figure", "measured", "goal", "ratio"]);
    table.add_row(vec![
        format!(
            "/healthz p99 ({} requests, {} concurrent)",
            times.len(),
            args.concurrency
        ),
        format!("{p99:.2} ms"),
        format!("≤ {GOAL_P99_MS} ms"),
        format!("{:.3}", p99 / GOAL_P99_MS),
    ]);
    table.add_row(vec![
        "/healthz p50".into(),
        format!("{p50:.2} ms"),
        String::new(),
        String::new(),
    ]);
    output::print_table(out, &table)?;
    writeln!(
        out,
        "{} attackers from {} addresses during {:.1} s: {refused} wrong passwords checked, \
         {throttled} held back before any hash, {other} other answers",
        args.attackers,
        args.attackers.min(250),
        wall.as_secs_f64()
    )?;
    let summary = json!({
        "bench": "login",
        "attackers": args.attackers,
        "requests": times.len(),
        "concurrency": args.concurrency,
        "healthz_p50_ms": p50,
        "healthz_p99_ms": p99,
        "goal_p99_ms": GOAL_P99_MS,
        "ratio": p99 / GOAL_P99_MS,
        "logins_refused": refused,
        "logins_throttled": throttled,
        "logins_other": other,
        "ok": p99 <= GOAL_P99_MS,
    });
    writeln!(out, "{summary}")?;
    Ok(())
}
