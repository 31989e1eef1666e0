//! The background side of a running ozontrack: the sync worker, the Ozon push worker, the
//! tracking worker, the risk evaluator and the HTTP server with the JSON API, the Ozon push
//! receiver and the 17TRACK webhook, all stopped by one signal. `serve` starts them on the real
//! clock; `demo` on the sandbox's simulated one.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ozontrack_domain::Clock;
use ozontrack_engine::{
    Evaluator, Feeds, PushWorker, RiskSettings, RulesBook, SyncSettings, Syncer, TrackSettings,
    Tracker,
};
use ozontrack_ozon::Limiters;
use ozontrack_server::api::ApiState;
use ozontrack_server::ozon_push::{self, PushState};
use ozontrack_server::webhooks::{self, WebhookState};
use ozontrack_store::{LeaseOwner, SqlStore};
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Running workers and server; [`Workers::stop`] ends them all.
#[derive(Debug)]
pub(crate) struct Workers {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// Where the server listens, e.g. `http://127.0.0.1:43117`.
    pub(crate) base_url: String,
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    // An error means the sender is gone, which also means stop.
    let _ = rx.wait_for(|stop| *stop).await;
}

/// What the tracking and risk workers, the 17TRACK webhook and the dashboard need.
#[derive(Debug)]
pub(crate) struct Setup {
    pub(crate) feeds: Arc<Feeds>,
    pub(crate) settings: TrackSettings,
    /// Verifies 17TRACK's pushes; without it the webhook is not mounted.
    pub(crate) webhook_token: Option<SecretString>,
    /// The rules the risk evaluator holds each store to.
    pub(crate) rules: RulesBook,
    pub(crate) risk: RiskSettings,
    pub(crate) web: ozontrack_server::web::WebSettings,
}

/// Binds the server's address (before anything is started, so that its URL can be handed to
/// whoever pushes to it).
pub(crate) async fn bind(listen: std::net::SocketAddr) -> anyhow::Result<(TcpListener, String)> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let base_url = format!("http://{}", listener.local_addr()?);
    Ok((listener, base_url))
}

/// Starts the sync worker (every `period` it looks for due stores), the push worker, the
/// tracking worker and the server on `listener`.
pub(crate) async fn start(
    store: SqlStore,
    clock: Arc<dyn Clock>,
    settings: SyncSettings,
    tracking: Setup,
    owner: LeaseOwner,
    listener: TcpListener,
    period: Duration,
) -> anyhow::Result<Workers> {
    let (stop, rx) = watch::channel(false);
    let tracker_owner = owner.clone();
    let syncer = Syncer::new(
        store.clone(),
        Arc::clone(&clock),
        Limiters::default(),
        settings,
        owner,
    )?;
    let pushes = PushWorker::new(syncer.clone(), store.clone(), Arc::clone(&clock));
    let evaluator = Evaluator::new(
        store.clone(),
        Arc::clone(&tracking.feeds),
        tracking.rules,
        tracking.risk,
        Arc::clone(&clock),
    );
    let tracker = Tracker::new(
        store.clone(),
        tracking.feeds,
        tracking.settings,
        Arc::clone(&clock),
        // One process, one lease owner for stores and legs alike.
        tracker_owner,
    );
    let mut router = ozon_push::router(PushState {
        store: store.clone(),
        clock: Arc::clone(&clock),
        wake: pushes.waker(),
    })
    .merge(ozontrack_server::app(
        ApiState::new(store.clone(), Arc::clone(&clock)).with_syncer(syncer.clone()),
        tracking.web,
    ));
    if let Some(token) = tracking.webhook_token {
        router = router.merge(webhooks::router(WebhookState {
            store: store.clone(),
            clock: Arc::clone(&clock),
            seventeen_track_token: token,
        }));
    }
    let router = ozontrack_server::metrics::instrument(router, store, clock);
    let base_url = format!("http://{}", listener.local_addr()?);
    let server = {
        let shutdown = stopped(rx.clone());
        tokio::spawn(async move {
            if let Err(e) = ozontrack_server::run(listener, router, shutdown).await {
                tracing::error!(error = %e, "the HTTP server stopped");
            }
        })
    };
    let tasks = vec![
        server,
        tokio::spawn(syncer.run(period, stopped(rx.clone()))),
        tokio::spawn(pushes.run(period, stopped(rx.clone()))),
        tokio::spawn(tracker.run(period, stopped(rx.clone()))),
        tokio::spawn(evaluator.run(period, stopped(rx))),
    ];
    Ok(Workers {
        stop,
        tasks,
        base_url,
    })
}

impl Workers {
    /// Stops everything and waits for it; work in flight is checkpointed, not lost.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
