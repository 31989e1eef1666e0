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

/// The headers every answer carries unless its handler chose its own: our pages load only our
/// own scripts and styles (carrier text can never become code), are never framed, never sniffed
/// and never leak their address to another site.
fn security_headers(router: Router) -> Router {
    use axum::http::{HeaderName, HeaderValue, header};
    use tower_http::set_header::SetResponseHeaderLayer;
    const HEADERS: [(HeaderName, &str); 4] = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; \
             script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    HEADERS.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ))
    })
}

/// What a client may hold of the server: connections are refused beyond `max_connections`,
/// and a connection that has not sent a whole request head within `header_timeout` (also while
/// idle between requests) is closed, so half-sent requests cannot pile up.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_timeout: std::time::Duration::from_secs(10),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves; requests in flight finish first
/// (for at most ten seconds). Every request runs in a span named by its route pattern (never the
/// posting it names) with its status, and knows the peer's address (`ConnectInfo`).
pub async fn run(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    run_with(listener, router, shutdown, Limits::default()).await
}

/// [`run`] with explicit [`Limits`].
pub async fn run_with(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: Limits,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt as _;

    let router = security_headers(router).layer(
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
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, keep serving.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = std::sync::Arc::clone(&slots).try_acquire_owned() else {
            // Full: closing at once costs less than holding one more.
            drop(stream);
            continue;
        };
        let router = router.clone();
        let service = hyper::service::service_fn(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                router.clone().oneshot(request.map(axum::body::Body::new))
            },
        );
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .keep_alive(true);
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), graceful.shutdown()).await;
    Ok(())
}
