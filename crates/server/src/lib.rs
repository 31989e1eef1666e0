//! ozontrack's HTTP side: the JSON API, `/healthz` and `/metrics`, the Ozon push receiver and
//! the 17TRACK webhook, mounted by `ozontrack serve` and `ozontrack demo`; the dashboard joins
//! them here.
//!
//! Following mini-redis, the server is `run(listener, router, shutdown)`: tests bind port 0
//! and stop it with a future.

pub mod api;
pub mod metrics;
pub mod openapi;
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
