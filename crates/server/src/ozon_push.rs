//! `POST /ozon/push/{secret}`: Ozon's push notifications for the store whose push secret is in
//! the path. Answers exactly as Ozon requires (`TYPE_PING` with name, version and time; every
//! accepted message with `{"result": true}`), records each message once and wakes the worker
//! that re-fetches its posting. Errors use Ozon's documented error body and say nothing about
//! our internals.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::post;
use ozontrack_db::Database;
use ozontrack_domain::Clock;
use ozontrack_ozon::push::{self, PushAction};
use serde_json::json;
use tokio::sync::Notify;

/// What the receiver needs.
#[derive(Debug, Clone)]
pub struct PushState<S: Database> {
    pub store: S,
    pub clock: Arc<dyn Clock>,
    /// Woken for every new message (the push worker's waker).
    pub wake: Arc<Notify>,
}

/// The receiver's routes.
pub fn router<S: Database>(state: PushState<S>) -> Router {
    Router::new()
        .route("/ozon/push/{secret}", post(receive::<S>))
        .with_state(state)
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"error": {"code": code, "message": message, "details": null}});
    (status, Json(body)).into_response()
}

async fn receive<S: Database>(
    State(state): State<PushState<S>>,
    Path(secret): Path<String>,
    body: Bytes,
) -> Response {
    let record = match state.store.store_by_push_secret(&secret).await {
        Ok(Some(record)) => record,
        Ok(None) => {
            return error(
                StatusCode::NOT_FOUND,
                "ERROR_UNKNOWN",
                "unknown push address",
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "push receiver could not read the store");
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ERROR_UNKNOWN",
                "internal error",
            );
        }
    };
    let message = match push::parse(&body) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(store = record.name.as_str(), error = %e, "refused a push");
            return (StatusCode::BAD_REQUEST, Json(e.body())).into_response();
        }
    };
    let now = state.clock.now();
    match &message.action {
        PushAction::Ping => Json(push::ping_reply(
            "ozontrack",
            env!("CARGO_PKG_VERSION"),
            now,
        ))
        .into_response(),
        PushAction::Ignore => {
            tracing::info!(
                store = record.name.as_str(),
                message_type = message.message_type,
                "acknowledged a push type ozontrack does not act on"
            );
            Json(push::ack()).into_response()
        }
        PushAction::Refetch { posting_number, .. } => {
            match ozontrack_engine::push::accept(&state.store, &record, &message, now).await {
                Ok(new) => {
                    if new {
                        state.wake.notify_one();
                    } else {
                        tracing::debug!(
                            posting = posting_number.as_str(),
                            "a push Ozon sent again"
                        );
                    }
                    Json(push::ack()).into_response()
                }
                Err(e) => {
                    tracing::error!(error = %e, "could not record a push");
                    error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "ERROR_UNKNOWN",
                        "internal error",
                    )
                }
            }
        }
    }
}
