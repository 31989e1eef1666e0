//! `GET /metrics` in Prometheus' text format, and the layer that counts and times every request
//! by its route pattern (`/api/v1/postings/{number}`, never the number itself), so the series
//! stay few. The workers count their own work through the same `metrics` facade; the queue
//! depths (work due now) are counted by one worker node at a time and read from the database
//! at each scrape, with their age.
//!
//! Every label comes from a fixed set (route patterns, known methods, status codes), so no
//! request can add a series. On the main listener `/metrics` wants a token (any live API token,
//! or the configured metrics token); [`exporter`] serves it alone, open, for a listener of its
//! own on a private address.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use ozontrack_db::Database;
use ozontrack_domain::Clock;
use sha2::{Digest, Sha256};

/// The process's one recorder: installed on first use, shared by every router.
fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(handle) => Some(handle),
            Err(e) => {
                tracing::warn!(error = %e, "metrics recorder not installed");
                None
            }
        })
        .as_ref()
}

/// What the scrape reads the queue depths from, and who may scrape.
#[derive(Debug, Clone)]
struct Depths<S: Database> {
    store: S,
    clock: Arc<dyn Clock>,
    /// The SHA-256 of the metrics token, when one is configured.
    token: Option<Arc<[u8; 32]>>,
}

/// Whether the request may read `/metrics` on the main listener.
async fn allowed<S: Database>(depths: &Depths<S>, headers: &axum::http::HeaderMap) -> bool {
    let Some(secret) = crate::api::bearer(headers) else {
        return false;
    };
    // Hashes are compared, so the time taken says nothing about the secret.
    let hash: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
    if depths.token.as_deref() == Some(&hash) {
        return true;
    }
    secret.starts_with("ozt_")
        && matches!(
            depths
                .store
                .token_by_hash(&ozontrack_engine::access::secret_hash(secret))
                .await,
            Ok(Some(_))
        )
}

async fn guarded<S: Database>(
    State(depths): State<Depths<S>>,
    headers: axum::http::HeaderMap,
) -> Response {
    if !allowed(&depths, &headers).await {
        return crate::api::ApiError::Unauthorized.into_response();
    }
    render(State(depths)).await
}

async fn render<S: Database>(State(depths): State<Depths<S>>) -> Response {
    // Counted by one worker node (the `gauges` chore) and kept in the database: a scrape of any
    // node reads them, and says how old they are.
    match depths.store.kept_queue_depths().await {
        Ok(Some((kept, at))) => {
            for (queue, value) in kept.named() {
                metrics::gauge!("ozontrack_queue_depth", "queue" => queue).set(value as f64);
            }
            let age = (depths.clock.now() - at).num_milliseconds() as f64 / 1000.0;
            metrics::gauge!("ozontrack_queue_depth_age_seconds").set(age.max(0.0));
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "cannot read the queue depths for /metrics"),
    }
    match handle() {
        Some(handle) => (
            [("content-type", "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "metrics are not available in this process",
        )
            .into_response(),
    }
}

async fn measure(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("ozontrack_http_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("ozontrack_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// A method as a label: the standard ones by name, anything made up as `other`.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Adds `/metrics` to `router` (with the queue depths of `store`, for a live API token or
/// `token`) and counts every request it serves.
pub fn instrument<S: Database>(
    router: Router,
    store: S,
    clock: Arc<dyn Clock>,
    token: Option<&str>,
) -> Router {
    // Installed before the first request so that nothing is counted into the void.
    let _ = handle();
    let depths = Depths {
        store,
        clock,
        token: token.map(|t| Arc::new(Sha256::digest(t.as_bytes()).into())),
    };
    router
        .route("/metrics", get(guarded::<S>).with_state(depths))
        .layer(middleware::from_fn(measure))
}

/// `/metrics` alone and open, for a listener of its own (`server.metrics_listen`).
pub fn exporter<S: Database>(store: S, clock: Arc<dyn Clock>) -> Router {
    let _ = handle();
    Router::new().route(
        "/metrics",
        get(render::<S>).with_state(Depths {
            store,
            clock,
            token: None,
        }),
    )
}
