//! `GET /metrics` in Prometheus' text format, and the layer that counts and times every request
//! by its route pattern (`/api/v1/postings/{number}`, never the number itself), so the series
//! stay few. The workers count their own work through the same `metrics` facade; the queue
//! depths (work due now) are read from the database at each scrape.

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

/// What the scrape reads the queue depths from.
#[derive(Debug, Clone)]
struct Depths<S: Database> {
    store: S,
    clock: Arc<dyn Clock>,
}

async fn render<S: Database>(State(depths): State<Depths<S>>) -> Response {
    match depths.store.queue_depths(depths.clock.now()).await {
        Ok(d) => {
            for (queue, value) in [
                ("legs_due", d.legs_due),
                ("stores_due", d.stores_due),
                ("risk_due", d.risk_due),
                ("pushes_pending", d.pushes_pending),
            ] {
                metrics::gauge!("ozontrack_queue_depth", "queue" => queue).set(value as f64);
            }
        }
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
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("ozontrack_http_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("ozontrack_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Adds `/metrics` to `router` (with the queue depths of `store`) and counts every request it
/// serves.
pub fn instrument<S: Database>(router: Router, store: S, clock: Arc<dyn Clock>) -> Router {
    // Installed before the first request so that nothing is counted into the void.
    let _ = handle();
    router
        .route(
            "/metrics",
            get(render::<S>).with_state(Depths { store, clock }),
        )
        .layer(middleware::from_fn(measure))
}
