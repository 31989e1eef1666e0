//! The CDEK API v2 fake: OAuth client-credentials tokens at `/v2/oauth/token` (expiring after
//! `expires_in` seconds of real time) and `GET /v2/orders?cdek_number=` with the order's
//! `statuses` (`parcel-tracking.md` §4.2).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::SimState;
use crate::carriers::Carrier;
use crate::world::EventKind;

/// How the fake behaves beyond the world it renders.
#[derive(Debug, Clone)]
pub struct CdekConfig {
    /// Token lifetime in real seconds (CDEK: about an hour).
    pub token_lifetime: Duration,
}

impl Default for CdekConfig {
    fn default() -> Self {
        Self {
            token_lifetime: Duration::from_secs(3600),
        }
    }
}

#[derive(Debug)]
struct Cdek {
    sim: Arc<SimState>,
    config: CdekConfig,
    tokens: Mutex<HashMap<String, Instant>>,
    issued: Mutex<u64>,
}

/// The routes: `POST /v2/oauth/token`, `GET /v2/orders`.
pub fn router(sim: Arc<SimState>, config: CdekConfig) -> Router {
    let cdek = Arc::new(Cdek {
        sim,
        config,
        tokens: Mutex::new(HashMap::new()),
        issued: Mutex::new(0),
    });
    Router::new()
        .route("/v2/oauth/token", post(token))
        .route("/v2/orders", get(orders))
        .with_state(cdek)
}

#[derive(Debug, Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

async fn token(State(cdek): State<Arc<Cdek>>, Form(request): Form<TokenRequest>) -> Response {
    let credentials = &cdek.sim.world.credentials;
    if request.grant_type.as_deref() != Some("client_credentials") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "unsupported_grant_type"})),
        )
            .into_response();
    }
    if request.client_id.as_deref() != Some(credentials.cdek_client_id.as_str())
        || request.client_secret.as_deref() != Some(credentials.cdek_client_secret.as_str())
    {
        let body =
            json!({"error": "invalid_client", "error_description": "Bad client credentials"});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    let serial = {
        let mut issued = cdek.issued.lock().unwrap_or_else(PoisonError::into_inner);
        *issued += 1;
        *issued
    };
    let token = format!("cdek-token-{serial:08}-{}", credentials.cdek_client_secret);
    cdek.tokens
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(token.clone(), Instant::now());
    Json(json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": cdek.config.token_lifetime.as_secs(),
        "scope": "order:all payment:all",
        "jti": format!("{serial:032x}"),
    }))
    .into_response()
}

fn invalid(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"requests": [{"type": "GET", "state": "INVALID", "errors": [{"code": code, "message": message}]}]});
    (status, Json(body)).into_response()
}

/// CDEK's status for what happened.
pub(crate) fn status(kind: EventKind) -> Option<(&'static str, &'static str)> {
    Some(match kind {
        EventKind::ArrivedSortCenter => (
            "RECEIVED_AT_SHIPMENT_WAREHOUSE",
            "Принят на склад отправителя",
        ),
        EventKind::DepartedSortCenter => ("SENT_TO_RECIPIENT_CITY", "Отправлен в г. получатель"),
        EventKind::AtPickupPoint => ("ACCEPTED_AT_PICK_UP_POINT", "Принят в пункт выдачи"),
        EventKind::OutForDelivery => ("TAKEN_BY_COURIER", "Выдан на доставку"),
        EventKind::Delivered => ("DELIVERED", "Вручен"),
        EventKind::DeliveryFailed => (
            "RETURNED_TO_RECIPIENT_CITY_WAREHOUSE",
            "Возвращен на склад доставки",
        ),
        EventKind::Returning => ("SENT_TO_SENDER_CITY", "Отправлен в г. отправитель"),
        EventKind::Returned => ("NOT_DELIVERED", "Не вручен"),
        _ => return None,
    })
}

fn cdek_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%z").to_string()
}

#[derive(Debug, Deserialize)]
struct OrdersQuery {
    cdek_number: Option<String>,
}

async fn orders(
    State(cdek): State<Arc<Cdek>>,
    headers: HeaderMap,
    Query(query): Query<OrdersQuery>,
) -> Response {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let issued = cdek
        .tokens
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(bearer)
        .copied();
    match issued {
        None => {
            return invalid(
                StatusCode::UNAUTHORIZED,
                "v2_token_invalid",
                "Invalid token",
            );
        }
        Some(at) if at.elapsed() >= cdek.config.token_lifetime => {
            return invalid(
                StatusCode::UNAUTHORIZED,
                "v2_token_expired",
                "Token expired",
            );
        }
        Some(_) => {}
    }
    let now = cdek.sim.now();
    let window = cdek.sim.window();
    if window.is_down(Carrier::Cdek, now) {
        return invalid(
            StatusCode::SERVICE_UNAVAILABLE,
            "v2_internal_error",
            "Service temporarily unavailable",
        );
    }
    let Some(number) = query.cdek_number.filter(|n| !n.is_empty()) else {
        return invalid(
            StatusCode::BAD_REQUEST,
            "v2_field_is_empty",
            "cdek_number or im_number is required",
        );
    };
    let found = window
        .legs_of(&number)
        .into_iter()
        .find(|(_, leg)| leg.carrier == Carrier::Cdek);
    let Some((parcel, leg)) = found else {
        return invalid(
            StatusCode::NOT_FOUND,
            "v2_entity_not_found",
            "Entity is not found",
        );
    };
    let mut statuses: Vec<Value> = leg
        .events
        .iter()
        .filter(|e| e.visible_at <= now)
        .filter_map(|e| {
            let (code, name) = status(e.kind)?;
            Some(json!({"code": code, "name": name, "date_time": cdek_time(e.at), "city": e.city.name_ru}))
        })
        .collect();
    if let Some(first) = leg.events.first().filter(|e| e.visible_at <= now) {
        statuses.insert(0, json!({"code": "CREATED", "name": "Создан", "date_time": cdek_time(first.at), "city": first.city.name_ru}));
    } else {
        return invalid(
            StatusCode::NOT_FOUND,
            "v2_entity_not_found",
            "Entity is not found",
        );
    }
    // CDEK lists the newest status first.
    statuses.reverse();
    let uuid = format!(
        "72753031-{:04x}-{:04x}-{:04x}-{:012x}",
        parcel.index >> 16,
        parcel.index & 0xffff,
        0x4000,
        parcel.order_id
    );
    // "Информация о вручении", once it was handed over.
    let handed = leg
        .events
        .iter()
        .find(|e| e.kind == EventKind::Delivered && e.visible_at <= now);
    let mut entity = json!({
        "uuid": uuid,
        "type": 1,
        "is_return": false,
        "cdek_number": number,
        "number": parcel.posting_number,
        "tariff_code": 136,
        "recipient": {"name": parcel.recipient()},
        "to_location": {"city": parcel.buyer_city.name_ru, "country_code": "RU"},
        "statuses": statuses,
    });
    if let Some(e) = handed {
        entity["delivery_detail"] = json!({
            "date": cdek_time(e.at),
            "recipient_name": parcel.recipient(),
            "payment_sum": 0,
            "delivery_sum": 0,
            "total_sum": 0,
        });
    }
    Json(json!({
        "entity": entity,
        "requests": [{"request_uuid": uuid, "type": "CREATE", "date_time": cdek_time(parcel.ordered_at), "state": "SUCCESSFUL"}],
    }))
    .into_response()
}
