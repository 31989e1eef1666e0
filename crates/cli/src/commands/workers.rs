//! The background side of a running ozontrack: the sync worker, the push worker and the HTTP
//! server with the push receiver, all stopped by one signal. `demo` starts them on the
//! sandbox's simulated clock.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ozontrack_domain::Clock;
use ozontrack_engine::{PushWorker, SyncSettings, Syncer};
use ozontrack_ozon::Limiters;
use ozontrack_server::ozon_push::{self, PushState};
use ozontrack_store::{LeaseOwner, SqlStore};
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

/// Starts the sync worker (every `period` it looks for due stores), the push worker and the
/// server on `listen`.
pub(crate) async fn start(
    store: SqlStore,
    clock: Arc<dyn Clock>,
    settings: SyncSettings,
    owner: LeaseOwner,
    listen: std::net::SocketAddr,
    period: Duration,
) -> anyhow::Result<Workers> {
    let (stop, rx) = watch::channel(false);
    let syncer = Syncer::new(
        store.clone(),
        Arc::clone(&clock),
        Limiters::default(),
        settings,
        owner,
    )?;
    let pushes = PushWorker::new(syncer.clone(), store.clone(), Arc::clone(&clock));
    let router = ozon_push::router(PushState {
        store,
        clock,
        wake: pushes.waker(),
    });
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
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
        tokio::spawn(pushes.run(period, stopped(rx))),
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
