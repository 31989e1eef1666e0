//! `POST /webhooks/17track`: 17TRACK's `TRACKING_UPDATED` / `TRACKING_STOPPED` pushes. A push is
//! accepted only with a valid `sign` header (SHA-256 of the raw body, `/` and our API token,
//! compared in constant time); its events go through the same ingestion as polling, and the
//! legs it names are then only re-checked as a safety net. Errors say nothing of internals.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::post;
use ozontrack_carriers::seventeen_track;
use ozontrack_db::Database;
use ozontrack_domain::Clock;
use ozontrack_engine::track::accept_17track_push;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

/// What the webhook needs.
#[derive(Debug, Clone)]
pub struct WebhookState<S: Database> {
    pub store: S,
    pub clock: Arc<dyn Clock>,
    /// The 17TRACK API token, which also signs its pushes.
    pub seventeen_track_token: SecretString,
}

/// The webhook routes.
pub fn router<S: Database>(state: WebhookState<S>) -> Router {
    Router::new()
        .route("/webhooks/17track", post(seventeen_track_push::<S>))
        .with_state(state)
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

async fn seventeen_track_push<S: Database>(
    State(state): State<WebhookState<S>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signature = headers
        .get("sign")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !seventeen_track::verify(
        &body,
        signature,
        state.seventeen_track_token.expose_secret(),
    ) {
        return answer(StatusCode::UNAUTHORIZED, json!({"error": "bad signature"}));
    }
    let push = match seventeen_track::parse_push(&body) {
        Ok(push) => push,
        Err(e) => {
            tracing::warn!(error = %e, "refused a 17TRACK push");
            return answer(StatusCode::BAD_REQUEST, json!({"error": e.to_string()}));
        }
    };
    match accept_17track_push(&state.store, &push, state.clock.now()).await {
        Ok(new_events) => answer(
            StatusCode::OK,
            json!({"ok": true, "new_events": new_events}),
        ),
        Err(e) => {
            tracing::error!(error = %e, "could not store a 17TRACK push");
            answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "internal error"}),
            )
        }
    }
}
