//! ozontrack's HTTP side: the JSON API, the dashboard and the buyer page, `/healthz` and
//! `/metrics`, the Ozon push receiver and the 17TRACK webhook, mounted by `ozontrack serve` and
//! `ozontrack demo`. Handlers hold no business logic: they parse, call one engine function and
//! render.
//!
//! Following mini-redis, the server is `run(listener, router, shutdown)`: tests bind port 0
//! and stop it with a future.

pub mod api;
pub mod metrics;
pub mod openapi;
pub mod ozon_push;
pub mod web;
pub mod webhooks;

use std::future::Future;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use ozontrack_db::Database;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

/// The API, the dashboard, the buyer page and `/metrics`, as `serve` and `demo` mount them
/// (the webhook receivers join with their own secrets). An unknown path or method on the API
/// answers in the API's JSON error shape; elsewhere with a page.
pub fn app<D: Database>(api: api::ApiState<D>, web: web::WebSettings) -> Router {
    api::router(api.clone())
        .merge(web::router(api, web))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn not_found(uri: Uri) -> Response {
    if api::is_api_path(uri.path()) {
        api::ApiError::NoRoute.into_response()
    } else {
        web::WebError::NotFound.into_response()
    }
}

async fn method_not_allowed(uri: Uri) -> Response {
    if api::is_api_path(uri.path()) {
        api::ApiError::MethodNotAllowed.into_response()
    } else {
        (
            axum::http::StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed",
        )
            .into_response()
    }
}

/// Serves `router` on `listener` until `shutdown` resolves; requests in flight finish first.
/// Every request runs in a span named by its route pattern (never the posting it names) with
/// its status.
pub async fn run(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = router.layer(
        TraceLayer::new_for_http()
            .make_span_with(|request: &Request| {
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map_or("unmatched", MatchedPath::as_str);
                tracing::info_span!("request", route, status = tracing::field::Empty)
            })
            .on_response(
                |response: &Response, latency: std::time::Duration, span: &tracing::Span| {
                    span.record("status", response.status().as_u16());
                    tracing::debug!(?latency, "answered");
                },
            ),
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
