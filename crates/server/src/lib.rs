//! ozontrack's HTTP side. For now the Ozon push receiver and the 17TRACK webhook, mounted by
//! `ozontrack demo`; the JSON API and the dashboard join them here.
//!
//! Following mini-redis, the server is `run(listener, router, shutdown)`: tests bind port 0
//! and stop it with a future.

pub mod api;
pub mod ozon_push;
pub mod webhooks;

use std::future::Future;

use axum::Router;
use tokio::net::TcpListener;

/// Serves `router` on `listener` until `shutdown` resolves; requests in flight finish first.
pub async fn run(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
