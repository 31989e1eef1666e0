//! The background side of a running ozontrack: the sync worker, the Ozon push worker, the
//! tracking worker, the risk evaluator, the notification dispatcher and the HTTP server with the
//! JSON API, the Ozon push receiver and the 17TRACK webhook, all stopped by one signal; or, by
//! the node's role, only the HTTP side or only the workers. `serve` starts them on the real
//! clock; `demo` on the sandbox's simulated one.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ozontrack_db::{LeaseOwner, SqlDatabase, Wake};
use ozontrack_domain::{Clock, SystemClock};
use ozontrack_engine::notify::Dispatcher;
use ozontrack_engine::supervise::{Policy, Schedule, Supervisor};
use ozontrack_engine::{
    Evaluator, Feeds, PushWorker, RiskSettings, RulesBook, SyncSettings, Syncer, TrackSettings,
    Tracker,
};
use ozontrack_http::Limiters;
use ozontrack_server::api::{ApiState, NodeRole};
use ozontrack_server::ozon_push::{self, PushState};
use ozontrack_server::webhooks::{self, WebhookState};
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Running workers and server; [`Workers::stop`] ends them all.
#[derive(Debug)]
pub(crate) struct Workers {
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    supervisor: Supervisor,
    /// Wake-ups from other processes (PostgreSQL); none on SQLite or an API node.
    _listening: Option<ozontrack_db::Listening>,
    /// Where the server listens, e.g. `http://127.0.0.1:43117`.
    pub(crate) base_url: String,
}

/// Between two counts of the queue depths: about a Prometheus scrape interval.
const GAUGES_EVERY: Duration = Duration::from_secs(15);
/// Between two looks for changes waiting to become export lines, when the last found none.
const LINES_EVERY: Duration = Duration::from_secs(5);

/// How often each worker runs a round when it found nothing to do.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Periods {
    pub(crate) sync: Duration,
    pub(crate) pushes: Duration,
    pub(crate) tracking: Duration,
    pub(crate) risk: Duration,
    pub(crate) notify: Duration,
}

impl Periods {
    /// Every worker on the same period (the demo's fast world).
    pub(crate) fn all(every: Duration) -> Self {
        Self {
            sync: every,
            pushes: every,
            tracking: every,
            risk: every,
            notify: every,
        }
    }
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
    /// How the dispatcher sends the outbox.
    pub(crate) dispatch: ozontrack_engine::notify::DispatchSettings,
    pub(crate) metrics: MetricsExposure,
    /// Scheduled backups of this database; `None`: none.
    pub(crate) backup: Option<ozontrack_engine::backup::BackupSchedule>,
    /// The largest evidence attachment the API and the dashboard take, in bytes.
    pub(crate) max_attachment: u64,
}

/// Who reads `/metrics`: holders of an API token or of `token` on the main listener, anyone
/// on `listen` when it is set (an address meant to be private).
#[derive(Debug, Default)]
pub(crate) struct MetricsExposure {
    pub(crate) token: Option<SecretString>,
    pub(crate) listen: Option<std::net::SocketAddr>,
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

/// Starts what `role` runs: the sync worker, the push worker, the tracking worker, the risk
/// evaluator, the dispatcher (and the scheduled backup) under one supervisor, each on its own
/// period; and the server on `listener` — the API, the dashboard and the receivers, or on a
/// worker node only `/healthz`, `/readyz` and `/metrics`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn start(
    store: SqlDatabase,
    clock: Arc<dyn Clock>,
    settings: SyncSettings,
    tracking: Setup,
    owner: LeaseOwner,
    listener: TcpListener,
    periods: Periods,
    role: NodeRole,
) -> anyhow::Result<Workers> {
    let (stop, rx) = watch::channel(false);
    let tracker_owner = owner.clone();
    let chores_owner = owner.clone();
    let syncer = Syncer::new(
        store.clone(),
        Arc::clone(&clock),
        Limiters::default(),
        settings,
        owner,
    )?;
    let pushes = PushWorker::new(syncer.clone(), store.clone(), Arc::clone(&clock));
    // New alerts wake the dispatcher at once, and so do test messages from the dashboard.
    let notify_wake = Arc::new(tokio::sync::Notify::new());
    let estimates = Arc::new(ozontrack_engine::estimate::EstimateBook::default());
    let public_url = tracking.dispatch.public_url.clone();
    let rules = Arc::new(tracking.rules.clone());
    let dispatcher = Dispatcher::new(
        store.clone(),
        Arc::clone(&clock),
        // Rate limits and retries protect real services: they run on real time.
        Arc::new(SystemClock),
        tracking.rules.clone(),
        tracking.dispatch,
        tracker_owner.clone(),
    )?
    .with_ozon(Arc::new(syncer.clone()))
    .with_estimates(Arc::clone(&estimates));
    let evaluator = Evaluator::new(
        store.clone(),
        Arc::clone(&tracking.feeds),
        tracking.rules,
        tracking.risk,
        Arc::clone(&clock),
        tracker_owner.clone(),
    )
    .with_wake(Arc::clone(&notify_wake));
    let tracker = Tracker::new(
        store.clone(),
        tracking.feeds,
        tracking.settings,
        Arc::clone(&clock),
        // One process, one lease owner for stores and legs alike.
        tracker_owner,
    );
    let push_wake = pushes.waker();
    let tracker_wake = Arc::new(tokio::sync::Notify::new());
    // The workers first, so that the health handle the server reads holds every one.
    let mut supervisor = Supervisor::new(Policy::default());
    let mut listening = None;
    if role.runs_workers() {
        // Work another process writes (a push an API node received, a message it queued, a
        // leg set to be checked now) wakes these workers at once.
        listening = ozontrack_db::Wakeups::listen(
            &store,
            vec![
                (Wake::Pushes, Arc::clone(&push_wake)),
                (Wake::Legs, Arc::clone(&tracker_wake)),
                (Wake::Outbox, Arc::clone(&notify_wake)),
            ],
        );
        supervisor.spawn(syncer.clone(), Schedule::every(periods.sync));
        supervisor.spawn(
            pushes,
            Schedule::every(periods.pushes).woken_by(Arc::clone(&push_wake)),
        );
        supervisor.spawn(
            tracker,
            Schedule::every(periods.tracking).woken_by(tracker_wake),
        );
        supervisor.spawn(evaluator, Schedule::every(periods.risk));
        // A posting entering a dispute gets its evidence pack within a risk round's time.
        supervisor.spawn(
            ozontrack_engine::evidence::DisputeWorker::new(
                store.clone(),
                Arc::clone(&estimates),
                chores_owner.clone(),
                Arc::clone(&clock),
            ),
            Schedule::every(periods.risk),
        );
        supervisor.spawn(
            dispatcher,
            Schedule::every(periods.notify).woken_by(Arc::clone(&notify_wake)),
        );
        // The queue depths every node's /metrics serves, counted by one worker node at a time.
        supervisor.spawn(
            ozontrack_engine::gauges::GaugeWorker::new(
                store.clone(),
                chores_owner.clone(),
                Arc::clone(&clock),
                chrono::Duration::from_std(GAUGES_EVERY).unwrap_or_default(),
            ),
            Schedule::every(GAUGES_EVERY),
        );
        // The postings' export lines, kept current by one worker node at a time.
        supervisor.spawn(
            ozontrack_engine::export::LineWorker::new(
                store.clone(),
                chores_owner.clone(),
                Arc::clone(&clock),
            ),
            Schedule::every(LINES_EVERY),
        );
        if let Some(schedule) = tracking.backup {
            let worker = ozontrack_engine::backup::BackupWorker::new(
                store.clone(),
                schedule,
                chores_owner,
                Arc::new(SystemClock),
            );
            // Whether the chore is due is the database's to say; asking every few minutes is
            // cheap.
            supervisor.spawn(worker, Schedule::every(Duration::from_secs(300)));
        }
    }
    let api = ApiState {
        estimates,
        rules,
        public_url,
        node: role,
        workers: role.runs_workers().then(|| supervisor.health_handle()),
        max_attachment: tracking.max_attachment,
        ..ApiState::new(store.clone(), Arc::clone(&clock))
            .with_syncer(syncer)
            .with_notify_wake(notify_wake)
    };
    let mut router = if role.serves_http() {
        // On an API node no push worker listens to the wake: a worker node's poll finds the push.
        ozon_push::router(PushState {
            store: store.clone(),
            clock: Arc::clone(&clock),
            wake: push_wake,
        })
        .merge(ozontrack_server::app(api, tracking.web))
    } else {
        ozontrack_server::api::health::router(api)
    };
    if let Some(token) = tracking.webhook_token.filter(|_| role.serves_http()) {
        router = router.merge(webhooks::router(WebhookState {
            store: store.clone(),
            clock: Arc::clone(&clock),
            seventeen_track_token: token,
        }));
    }
    let router = ozontrack_server::metrics::instrument(
        router,
        store.clone(),
        Arc::clone(&clock),
        tracking
            .metrics
            .token
            .as_ref()
            .map(ExposeSecret::expose_secret),
    );
    if let Some(listen) = tracking.metrics.listen {
        let (listener, _) = bind(listen).await?;
        let exporter = ozontrack_server::metrics::exporter(store.clone(), Arc::clone(&clock));
        let shutdown = stopped(rx.clone());
        tokio::spawn(async move {
            if let Err(e) = ozontrack_server::run(listener, exporter, shutdown).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
    }
    let base_url = format!("http://{}", listener.local_addr()?);
    let server = {
        let shutdown = stopped(rx);
        tokio::spawn(async move {
            if let Err(e) = ozontrack_server::run(listener, router, shutdown).await {
                tracing::error!(error = %e, "the HTTP server stopped");
            }
        })
    };
    Ok(Workers {
        stop,
        server,
        supervisor,
        _listening: listening,
        base_url,
    })
}

impl Workers {
    /// Resolves when a worker was given up after panicking again and again: the process
    /// should stop with an error rather than limp on without it.
    pub(crate) fn failed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.supervisor.gave_up()
    }

    /// Stops everything within a bound: the server finishes the requests in flight, a worker's
    /// round in flight gets a grace and is then cancelled (its work is checkpointed, not lost).
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(true);
        self.supervisor.stop().await;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.server).await;
    }
}
