//! Running the fakes on loopback: each fake is a router served by [`serve`] on a listener the
//! caller binds, until the caller's shutdown future completes, so tests pick port 0 and stop
//! the world when they are done.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use ozontrack_domain::Clock;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::fakes::{self, SimState};
use crate::world::{SimStore, World};

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// How to run the sandbox's servers.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to bind the fakes on. With port 0 each fake gets a free port; with port P the
    /// fakes take P (Ozon), P+1 (17TRACK), P+2 (Russian Post), P+3 (CDEK), P+4 (the chat
    /// robots, bots and webhook receiver), P+5 (SMTP with STARTTLS) and P+6 (SMTP over TLS).
    pub listen: SocketAddr,
    pub ozon: fakes::ozon::OzonConfig,
    pub seventeen_track: fakes::seventeen_track::SeventeenTrackConfig,
    pub cdek: fakes::cdek::CdekConfig,
    /// How often (real time) the push loops look for news to push; `None` starts no loops
    /// (tests drive `push_once` themselves).
    pub push_every: Option<std::time::Duration>,
    /// Faults to inject into each fake.
    pub faults: crate::faults::FaultPlan,
    /// Where the Ozon fake pushes notifications; `None`: no pushes.
    pub ozon_push: Option<fakes::ozon_push::OzonPushConfig>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ozon: fakes::ozon::OzonConfig::default(),
            seventeen_track: fakes::seventeen_track::SeventeenTrackConfig::default(),
            cdek: fakes::cdek::CdekConfig::default(),
            push_every: Some(std::time::Duration::from_secs(1)),
            faults: crate::faults::FaultPlan::default(),
            ozon_push: None,
        }
    }
}

/// Where the world's clock is published, on the Ozon fake's listener.
pub const CLOCK_PATH: &str = "/sandbox/clock";

/// `GET /sandbox/clock`: the world's time now and how fast it runs (null for a clock moved
/// by hand), so that `ozontrack serve --follow-clock` runs on the world's time.
fn clock_router(clock: Arc<dyn Clock>) -> Router {
    Router::new().route(
        CLOCK_PATH,
        axum::routing::get(move || {
            let clock = Arc::clone(&clock);
            async move { axum::Json(ClockReading::of(clock.as_ref())) }
        }),
    )
}

/// What `/sandbox/clock` answers.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClockReading {
    pub now: chrono::DateTime<chrono::Utc>,
    /// Simulated seconds per real second; none: the clock is moved by hand.
    pub speed: Option<f64>,
}

impl ClockReading {
    pub fn of(clock: &dyn Clock) -> Self {
        Self {
            now: clock.now(),
            speed: clock.speed(),
        }
    }
}

/// Base URLs of the running fakes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Urls {
    /// Ozon Seller API, e.g. `http://127.0.0.1:40123`.
    pub ozon: String,
    /// 17TRACK; the API lives under `/track/v2.2/`.
    pub seventeen_track: String,
    /// Russian Post tracking; the SOAP endpoint is `/rtm34`.
    pub russian_post: String,
    /// CDEK API; methods under `/v2/`.
    pub cdek: String,
    /// The notification services: WeCom (`/cgi-bin/webhook/send`), DingTalk (`/robot/send`),
    /// Feishu (`/open-apis/bot/v2/hook/`), Telegram (`/bot…/sendMessage`), webhook receivers
    /// (`/hooks/NAME`), and `/inbox` to see what arrived.
    pub channels: String,
    /// SMTP submission with STARTTLS, `host:port`.
    pub smtp_starttls: String,
    /// SMTP submission over TLS, `host:port`.
    pub smtp_tls: String,
    /// The world's clock ([`ClockReading`]), e.g. `http://127.0.0.1:40123/sandbox/clock`.
    pub clock: String,
}

/// The running fakes. Dropping it stops them.
#[derive(Debug)]
pub struct Sandbox {
    pub state: Arc<SimState>,
    pub urls: Urls,
    pub seventeen_track: Arc<fakes::seventeen_track::SeventeenTrack>,
    pub ozon_push: Option<Arc<fakes::ozon_push::OzonPush>>,
    /// The Ozon fake's per-Client-Id limit, with its refusals.
    pub ozon_limiter: Arc<fakes::RateLimiter>,
    /// What the notification fakes accept and received.
    pub channels: fakes::channels::FakeChannels,
    /// The mail accounts the SMTP fakes accept.
    pub mailboxes: fakes::smtp::Mailboxes,
    calm: crate::faults::Calm,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<std::io::Result<()>>>,
}

async fn bind(listen: SocketAddr, offset: u16) -> std::io::Result<(TcpListener, String)> {
    let port = if listen.port() == 0 {
        0
    } else {
        listen.port().saturating_add(offset)
    };
    let listener = TcpListener::bind(SocketAddr::new(listen.ip(), port)).await?;
    let url = format!("http://{}", listener.local_addr()?);
    Ok((listener, url))
}

impl Sandbox {
    /// Binds and starts every fake over `world` at the time `clock` tells.
    pub async fn start(
        world: World,
        clock: Arc<dyn Clock>,
        config: &ServeConfig,
    ) -> std::io::Result<Sandbox> {
        let state = SimState::new(world, clock);
        let (stop, stopped) = watch::channel(false);
        let (ozon, ozon_url) = bind(config.listen, 0).await?;
        let (seventeen, seventeen_url) = bind(config.listen, 1).await?;
        let (russian_post, russian_post_url) = bind(config.listen, 2).await?;
        let (cdek, cdek_url) = bind(config.listen, 3).await?;
        let (channels_listener, channels_url) = bind(config.listen, 4).await?;
        let (smtp_starttls, smtp_starttls_url) = bind(config.listen, 5).await?;
        let (smtp_tls, smtp_tls_url) = bind(config.listen, 6).await?;
        let channels = fakes::channels::FakeChannels::new();
        let mailboxes = fakes::smtp::Mailboxes::default();
        let seventeen_track = fakes::seventeen_track::SeventeenTrack::new(
            state.clone(),
            config.seventeen_track.clone(),
        );
        let plan = &config.faults;
        let ozon_limiter = Arc::new(fakes::RateLimiter::new(config.ozon.rate_limit));
        let routers = [
            (
                ozon,
                fakes::ozon::router(state.clone(), Arc::clone(&ozon_limiter)),
                &plan.ozon,
            ),
            (seventeen, seventeen_track.router(), &plan.seventeen_track),
            (
                russian_post,
                fakes::russian_post::router(state.clone()),
                &plan.russian_post,
            ),
            (
                cdek,
                fakes::cdek::router(state.clone(), config.cdek.clone()),
                &plan.cdek,
            ),
            (channels_listener, channels.router(), &plan.channels),
        ];
        let calm = crate::faults::Calm::default();
        let mut tasks = Vec::new();
        for (stream, (listener, router, faults)) in (0u64..).zip(routers) {
            let router = if faults.is_none() {
                router
            } else {
                let state = crate::faults::FaultState::calmed_by(
                    faults.clone(),
                    plan.seed,
                    stream,
                    calm.clone(),
                );
                router.layer(axum::middleware::from_fn_with_state(
                    state,
                    crate::faults::inject,
                ))
            };
            // The world's clock, beside the Ozon fake and never faulted: processes told to
            // follow it read it once, at start.
            let router = if stream == 0 {
                router.merge(clock_router(Arc::clone(&state.clock)))
            } else {
                router
            };
            tasks.push(tokio::spawn(serve(
                listener,
                router,
                wait_for(stopped.clone()),
            )));
        }
        if let (Some(every), Some(_)) = (config.push_every, &config.seventeen_track.webhook_url) {
            let fake = seventeen_track.clone();
            tasks.push(repeat(every, stopped.clone(), move |client| {
                let fake = fake.clone();
                async move {
                    fake.push_once(&client).await;
                }
            }));
        }
        let ozon_push = config
            .ozon_push
            .clone()
            .map(|push| fakes::ozon_push::OzonPush::new(state.clone(), push));
        if let (Some(every), Some(pusher)) = (config.push_every, ozon_push.clone()) {
            tasks.push(repeat(every, stopped.clone(), move |client| {
                let pusher = pusher.clone();
                async move {
                    pusher.push_once(&client).await;
                }
            }));
        }
        for (listener, security) in [
            (smtp_starttls, fakes::smtp::SmtpSecurity::Starttls),
            (smtp_tls, fakes::smtp::SmtpSecurity::Implicit),
        ] {
            let serving =
                fakes::smtp::serve(listener, security, mailboxes.clone(), channels.clone());
            let stop = wait_for(stopped.clone());
            tasks.push(tokio::spawn(async move {
                tokio::select! {
                    result = serving => result,
                    () = stop => Ok(()),
                }
            }));
        }
        let host_port = |url: &str| url.trim_start_matches("http://").to_owned();
        let urls = Urls {
            clock: format!("{ozon_url}{CLOCK_PATH}"),
            ozon: ozon_url,
            seventeen_track: seventeen_url,
            russian_post: russian_post_url,
            cdek: cdek_url,
            channels: channels_url,
            smtp_starttls: host_port(&smtp_starttls_url),
            smtp_tls: host_port(&smtp_tls_url),
        };
        Ok(Sandbox {
            state,
            urls,
            ozon_limiter,
            seventeen_track,
            ozon_push,
            channels,
            mailboxes,
            calm,
            stop,
            tasks,
        })
    }

    /// Requests the fakes refused for a broken rate limit: by Ozon Client-Id, and for the
    /// 17TRACK token. Injected 429s (faults) are not counted.
    pub fn rate_limit_refusals(&self) -> (HashMap<u64, u64>, u64) {
        (
            self.ozon_limiter.refusals(),
            self.seventeen_track.refusals(),
        )
    }

    /// Stops every fault from now on: a run reads the world's end state as it is.
    pub fn calm(&self) {
        self.calm.calm();
    }

    /// The requests the fake Ozon let through, by Client-Id.
    pub fn ozon_traffic(&self) -> HashMap<u64, fakes::Traffic> {
        self.ozon_limiter.traffic()
    }

    /// The seller accounts of the world, with the credentials the fakes accept.
    pub fn stores(&self) -> &[SimStore] {
        &self.state.world.stores
    }

    /// Stops every fake and waits for them to finish their requests.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Runs `round` every `period` (real time) until stopped: the push loops.
fn repeat<F, Fut>(
    period: std::time::Duration,
    mut stopped: watch::Receiver<bool>,
    mut round: F,
) -> JoinHandle<std::io::Result<()>>
where
    F: FnMut(reqwest::Client) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let client = crate::http_client();
        loop {
            round(client.clone()).await;
            tokio::select! {
                () = tokio::time::sleep(period) => {}
                _ = stopped.wait_for(|stop| *stop) => return Ok(()),
            }
        }
    })
}

async fn wait_for(mut stopped: watch::Receiver<bool>) {
    // An error means the sender is gone, which also means stop.
    let _ = stopped.wait_for(|stop| *stop).await;
}
