//! ozontrack's HTTP side: the JSON API, the dashboard and the buyer page, `/healthz` and
//! `/metrics`, the Ozon push receiver and the 17TRACK webhook, mounted by `ozontrack serve` and
//! `ozontrack demo`.
//!
//! Following mini-redis, the server is `run(listener, router, shutdown)`: tests bind port 0
//! and stop it with a future.

pub mod api;
pub mod i18n;
pub mod lanes;
pub mod metrics;
pub mod openapi;
pub mod ozon_push;
pub mod web;
pub mod webhooks;

use std::future::Future;

use axum::Router;
use ozontrack_store::Store;
use tokio::net::TcpListener;

/// The API, the dashboard, the buyer page and `/metrics`, as `serve` and `demo` mount them
/// (the webhook receivers join with their own secrets).
pub fn app<S: Store>(api: api::ApiState<S>, web: web::WebSettings) -> Router {
    api::router(api.clone()).merge(web::router(api, web))
}

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
