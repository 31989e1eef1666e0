//! Whether this process is fit to work: `/healthz` (the database answers and every worker this
//! process runs is alive, with each worker's figures) for whoever watches the node, and
//! `/readyz` (the database answers) for the proxy deciding where to send requests. Both are
//! open: they tell nothing of any store.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ozontrack_db::Database;
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiState;

/// What a process runs: API nodes and worker nodes can be run and scaled apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NodeRole {
    /// The HTTP side and the workers (one process does it all).
    #[default]
    All,
    /// The API, the dashboard and the receivers of pushes; no workers.
    Api,
    /// The workers, with `/healthz`, `/readyz` and `/metrics` only.
    Workers,
}

impl NodeRole {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeRole::All => "all",
            NodeRole::Api => "api",
            NodeRole::Workers => "workers",
        }
    }

    /// Whether this process serves the API and the dashboard.
    pub fn serves_http(self) -> bool {
        self != NodeRole::Workers
    }

    /// Whether this process runs the workers.
    pub fn runs_workers(self) -> bool {
        self != NodeRole::Api
    }
}

/// `/healthz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`; `unavailable` when the database cannot be reached; `degraded` when a worker this
    /// process runs has stopped.
    #[schema(pattern = "^(ok|degraded|unavailable)$")]
    pub status: String,
    /// What the process runs: `all`, `api` or `workers`.
    #[schema(pattern = "^(all|api|workers)$")]
    pub role: String,
    /// `ok` or `unavailable`.
    #[schema(pattern = "^(ok|unavailable)$")]
    pub database: String,
    /// The workers this process runs (none on an API node).
    pub workers: Vec<WorkerBody>,
    /// The time this process works by: real time, or a sandbox world's when it follows one.
    /// Nodes of one installation that disagree here disagree on leases and deadlines.
    pub now: chrono::DateTime<chrono::Utc>,
}

/// One worker of the process.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerBody {
    pub name: String,
    /// Still running rounds.
    pub alive: bool,
    pub rounds: u64,
    /// Rounds that panicked (the worker was restarted after each).
    pub panics: u64,
    /// Panicked too often in a row: stopped for good; the process should be restarted.
    pub given_up: bool,
}

/// `/readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    /// `ready`, or `unavailable` when the database cannot be reached.
    #[schema(pattern = "^(ready|unavailable)$")]
    pub status: String,
}

/// Whether the database answers; a failure is logged with its cause.
async fn database_answers<D: Database>(state: &ApiState<D>) -> bool {
    match state.db.stores().await {
        Ok(_) => true,
        Err(e) => {
            tracing::error!(error = %ozontrack_engine::Chain(&e), "health check failed");
            false
        }
    }
}

fn answer<T: Serialize>(ok: bool, body: T) -> Response {
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    security(()),
    responses(
        (status = 200, description = "the database answers and every worker of this process runs", body = Health),
        (status = 503, description = "the database cannot be reached, or a worker has stopped", body = Health),
    )
)]
pub(super) async fn healthz<D: Database>(State(state): State<ApiState<D>>) -> Response {
    let database = database_answers(&state).await;
    let workers: Vec<WorkerBody> = state
        .workers
        .as_ref()
        .map(ozontrack_engine::supervise::HealthHandle::workers)
        .unwrap_or_default()
        .into_iter()
        .map(|w| WorkerBody {
            name: w.name.to_owned(),
            alive: w.alive,
            rounds: w.rounds,
            panics: w.panics,
            given_up: w.given_up,
        })
        .collect();
    let working = workers.iter().all(|w| w.alive);
    let status = match (database, working) {
        (false, _) => "unavailable",
        (true, false) => "degraded",
        (true, true) => "ok",
    };
    answer(
        database && working,
        Health {
            status: status.into(),
            role: state.node.as_str().into(),
            database: if database { "ok" } else { "unavailable" }.into(),
            workers,
            now: state.clock.now(),
        },
    )
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    security(()),
    responses(
        (status = 200, description = "this node can take requests", body = Ready),
        (status = 503, description = "the database cannot be reached: send requests elsewhere", body = Ready),
    )
)]
pub(super) async fn readyz<D: Database>(State(state): State<ApiState<D>>) -> Response {
    let ready = database_answers(&state).await;
    answer(
        ready,
        Ready {
            status: if ready { "ready" } else { "unavailable" }.into(),
        },
    )
}

/// `/healthz` and `/readyz` alone, for a worker node (which serves no API).
pub fn router<D: Database>(state: ApiState<D>) -> Router {
    Router::new()
        .route("/healthz", axum::routing::get(healthz::<D>))
        .route("/readyz", axum::routing::get(readyz::<D>))
        .with_state(state)
}
