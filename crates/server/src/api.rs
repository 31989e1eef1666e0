//! The JSON API under `/api/v1`, for a seller's own tools and the dashboard: stores, the
//! postings list with filters and a cursor, one posting with its legs, merged timeline and
//! alerts, a leg's carrier set by hand, the alerts inbox and acknowledging an alert, and
//! per-carrier statistics.
//!
//! Every request carries `Authorization: Bearer ozt_…`; the token's hash finds it, and every
//! query is limited to the token's stores, so a posting of another store answers exactly like
//! one that does not exist. Errors share one JSON shape with a stable code and never carry
//! internals (those go to the log).

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use ozontrack_domain::alert::AlertState;
use ozontrack_domain::estimate::Basis;
use ozontrack_domain::risk::Severity;
use ozontrack_domain::{Clock, Language, PostingNumber, Scheme, timeline};
use ozontrack_store::{
    AlertFilter, AlertRecord, NewToken, PostingId, PostingQuery, PostingRecord, PostingSummary,
    Store, StoreError, StoreRecord, TokenRecord,
};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::lanes::LaneBook;
use ozontrack_engine::Syncer;

/// What the API needs.
#[derive(Debug, Clone)]
pub struct ApiState<S: Store> {
    pub store: S,
    pub clock: Arc<dyn Clock>,
    /// Sends uploaded tracking numbers to Ozon; without it the upload route answers 503.
    pub syncer: Option<Syncer<S>>,
    /// Lanes' transit times for delivery estimates.
    pub lanes: Arc<LaneBook>,
}

impl<S: Store> ApiState<S> {
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            syncer: None,
            lanes: Arc::default(),
        }
    }

    /// Lets the API send tracking numbers to Ozon.
    #[must_use]
    pub fn with_syncer(mut self, syncer: Syncer<S>) -> Self {
        self.syncer = Some(syncer);
        self
    }
}

/// The API routes, `/healthz` included.
pub fn router<S: Store>(state: ApiState<S>) -> Router {
    Router::new()
        .route("/healthz", get(healthz::<S>))
        .route("/api/v1/stores", get(stores))
        .route("/api/v1/postings", get(postings::<S>))
        .route("/api/v1/postings/{number}", get(posting::<S>))
        .route("/api/v1/alerts", get(alerts::<S>))
        .route("/api/v1/alerts/{id}/ack", post(acknowledge::<S>))
        .route(
            "/api/v1/postings/{number}/legs/{tracking_number}/carrier",
            post(set_carrier::<S>),
        )
        .route("/api/v1/stats/carriers", get(carrier_stats::<S>))
        .route("/api/v1/stats/lanes", get(lane_stats::<S>))
        .route(
            "/api/v1/stores/{store}/tracking-numbers",
            post(upload_tracking_numbers::<S>),
        )
        .route("/api/openapi.json", get(crate::openapi::serve))
        .with_state(state)
}

/// A new API token: the secret to show once, and what the store keeps of it.
pub fn mint_token(
    name: &str,
    read_only: bool,
    stores: Vec<ozontrack_domain::StoreId>,
) -> (String, NewToken) {
    let mut bytes = [0u8; 32];
    // The OS random source does not fail where ozontrack runs; a predictable token must never
    // be handed out if it did.
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    let secret = format!(
        "ozt_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let token = NewToken {
        name: name.to_owned(),
        hash: token_hash(&secret),
        prefix: secret.chars().take(8).collect(),
        read_only,
        stores,
    };
    (secret, token)
}

/// What the store keeps of a token, and looks it up by.
pub fn token_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// The API's one error shape.
#[derive(Debug)]
pub enum ApiError {
    Unauthorized,
    ReadOnly,
    NotFound(&'static str),
    BadRequest(String),
    /// Rows of an upload that cannot be sent, each located by line and column.
    InvalidRows(Vec<Value>),
    /// A part of the server this deployment does not run.
    Unavailable(&'static str),
    Internal,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid API token is required: Authorization: Bearer ozt_…".to_owned(),
            ),
            ApiError::ReadOnly => (
                StatusCode::FORBIDDEN,
                "read_only",
                "this token may only read".to_owned(),
            ),
            ApiError::NotFound(what) => (
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no such {what}"),
            ),
            ApiError::BadRequest(message) => (StatusCode::BAD_REQUEST, "bad_request", message),
            ApiError::InvalidRows(problems) => {
                let message = format!(
                    "{} row(s) are invalid and nothing was sent (skip_invalid=true sends the rest)",
                    problems.len()
                );
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(json!({"error": {"code": "invalid_rows", "message": message, "problems": problems}})),
                )
                    .into_response();
            }
            ApiError::Unavailable(message) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                message.to_owned(),
            ),
            ApiError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "something went wrong on our side; it has been logged".to_owned(),
            ),
        };
        (
            status,
            Json(json!({"error": {"code": code, "message": message}})),
        )
            .into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "API request failed in the store");
        ApiError::Internal
    }
}

/// The caller: a live token and the stores it may see.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token: TokenRecord,
    pub stores: Vec<StoreRecord>,
}

impl Caller {
    fn store_named(&self, name: &str) -> Result<&StoreRecord, ApiError> {
        self.stores
            .iter()
            .find(|s| s.name.as_str() == name)
            .ok_or(ApiError::NotFound("store"))
    }

    /// The store named, or every store of the caller.
    fn scope(&self, store: Option<&str>) -> Result<Vec<ozontrack_domain::StoreId>, ApiError> {
        match store {
            Some(name) => Ok(vec![self.store_named(name)?.id]),
            None => Ok(self.stores.iter().map(|s| s.id).collect()),
        }
    }

    fn sees(&self, id: ozontrack_domain::StoreId) -> bool {
        self.stores.iter().any(|s| s.id == id)
    }
}

impl<S: Store> FromRequestParts<ApiState<S>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState<S>,
    ) -> Result<Self, Self::Rejection> {
        let secret = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| t.starts_with("ozt_"))
            .ok_or(ApiError::Unauthorized)?;
        let token = state
            .store
            .token_by_hash(&token_hash(secret))
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let all = state.store.stores().await?;
        let stores = if token.stores.is_empty() {
            all
        } else {
            all.into_iter()
                .filter(|s| token.stores.contains(&s.id))
                .collect()
        };
        Ok(Caller { token, stores })
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn healthz<S: Store>(State(state): State<ApiState<S>>) -> Response {
    match state.store.stores().await {
        Ok(_) => Json(json!({"status": "ok"})).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable"})),
            )
                .into_response()
        }
    }
}

fn store_json(s: &StoreRecord) -> Value {
    json!({
        "id": s.id.0,
        "name": s.name.as_str(),
        "client_id": s.client_id.to_string(),
        "timezone": s.settings.timezone,
        "language": s.settings.language.as_str(),
        "synced_until": s.synced_until.map(time),
    })
}

async fn stores(caller: Caller) -> Json<Value> {
    Json(json!({"items": caller.stores.iter().map(store_json).collect::<Vec<_>>()}))
}

fn posting_json(p: &PostingRecord, caller: &Caller) -> Value {
    let posting = &p.posting;
    json!({
        "posting_number": posting.number.as_str(),
        "store": caller.stores.iter().find(|s| s.id == posting.store_id).map(|s| s.name.as_str()),
        "mode": posting.scheme.as_str(),
        "status": posting.status.as_str(),
        "substatus": posting.substatus.as_str(),
        "tracking_number": posting.tracking_number.as_ref().map(ozontrack_domain::TrackingNumber::as_str),
        "in_process_at": posting.in_process_at.map(time),
        "ship_by": posting.ship_by.map(time),
        "delivered_at": posting.delivered_at.map(time),
        "buyer_city": posting.buyer_city,
        "delivery_method": posting.delivery_method.as_ref().map(|m| m.name.clone()),
        "updated_at": time(p.updated_at),
    })
}

fn summary_json(s: &PostingSummary, caller: &Caller) -> Value {
    let mut value = posting_json(&s.record, caller);
    if let Some(object) = value.as_object_mut() {
        object.insert("carriers".into(), json!(s.carriers));
        object.insert("risk".into(), json!(s.risk.map(Severity::as_str)));
    }
    value
}

/// The postings list's filters, as query parameters (the dashboard's form sends the same;
/// an empty value is no filter).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostingsParams {
    pub store: Option<String>,
    pub status: Option<String>,
    pub mode: Option<String>,
    pub carrier: Option<String>,
    pub risk: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub q: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

impl PostingsParams {
    /// The same filters without empty values.
    #[must_use]
    pub fn cleaned(&self) -> Self {
        let keep = |v: &Option<String>| {
            v.as_ref()
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
        };
        Self {
            store: keep(&self.store),
            status: keep(&self.status),
            mode: keep(&self.mode),
            carrier: keep(&self.carrier),
            risk: keep(&self.risk),
            from: keep(&self.from),
            to: keep(&self.to),
            q: keep(&self.q),
            cursor: keep(&self.cursor),
            limit: self.limit,
        }
    }

    /// The store query for these filters (already [`Self::cleaned`]) within `stores` (the
    /// store filter already applied).
    pub fn query(&self, stores: Vec<ozontrack_domain::StoreId>) -> Result<PostingQuery, ApiError> {
        let p = self;
        Ok(PostingQuery {
            stores,
            status: p.status.clone(),
            scheme: p
                .mode
                .as_deref()
                .map(|m| Scheme::parse(m).map_err(|e| ApiError::BadRequest(format!("mode: {e}"))))
                .transpose()?,
            carrier: p.carrier.clone(),
            min_risk: p.risk.as_deref().map(parse_severity).transpose()?,
            from: p
                .from
                .as_deref()
                .map(|t| parse_time("from", t))
                .transpose()?,
            to: p.to.as_deref().map(|t| parse_time("to", t)).transpose()?,
            text: p.q.clone(),
            before: p
                .cursor
                .as_deref()
                .map(|c| {
                    c.parse::<i64>().map(PostingId).map_err(|_| {
                        ApiError::BadRequest(format!("cursor: {c:?} is not a cursor this API gave"))
                    })
                })
                .transpose()?,
            limit: p.limit.unwrap_or(50).clamp(1, MAX_PAGE),
        })
    }
}

fn parse_time(field: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        })
        .map_err(|_| {
            ApiError::BadRequest(format!(
                "{field}: {text:?} is not a date (2026-11-01) or an RFC 3339 time"
            ))
        })
}

pub(crate) fn parse_severity(text: &str) -> Result<Severity, ApiError> {
    Severity::parse(text).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "risk: {text:?} is not one of info, warning, high_risk, critical"
        ))
    })
}

const MAX_PAGE: u32 = 200;

async fn postings<S: Store>(
    State(state): State<ApiState<S>>,
    caller: Caller,
    params: Result<Query<PostingsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let p = p.cleaned();
    let query = p.query(caller.scope(p.store.as_deref())?)?;
    let limit = query.limit;
    let page = state.store.postings_page(&query).await?;
    let next = (page.len() == limit as usize)
        .then(|| page.last().map(|s| s.record.id.0.to_string()))
        .flatten();
    Ok(Json(json!({
        "items": page.iter().map(|s| summary_json(s, &caller)).collect::<Vec<_>>(),
        "next_cursor": next,
    })))
}

/// One posting's query parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostingParams {
    lang: Option<String>,
}

/// An alert as the API (and `ozontrack alerts --json`) shows it.
pub fn alert_json(a: &AlertRecord) -> Value {
    json!({
        "id": a.id,
        "posting_number": a.posting_number.as_str(),
        "rule": a.rule.as_str(),
        "leg": a.leg,
        "severity": a.severity.as_str(),
        "state": a.state.as_str(),
        "since": time(a.since),
        "why": a.why,
        "actions": a.actions.iter().map(|x| x.as_str()).collect::<Vec<_>>(),
        "evidence": a.evidence,
        "opened_at": time(a.opened_at),
        "acknowledged_at": a.acknowledged_at.map(time),
        "acknowledged_by": a.acknowledged_by,
        "ack_note": a.ack_note,
        "resolved_at": a.resolved_at.map(time),
        "resolution": a.resolution.map(ozontrack_domain::alert::Resolution::as_str),
    })
}

async fn posting<S: Store>(
    State(state): State<ApiState<S>>,
    caller: Caller,
    Path(number): Path<String>,
    params: Result<Query<PostingParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let language = match params.lang.as_deref() {
        None => None,
        Some(text) => {
            Some(Language::parse(text).map_err(|e| ApiError::BadRequest(format!("lang: {e}")))?)
        }
    };
    let (store, record) = scoped_posting(&state, &caller, &number).await?;
    let language = language.unwrap_or(store.settings.language);
    // Legs and events in a few queries, not one per leg.
    let read = state
        .store
        .postings_with_events(&[record.id])
        .await?
        .pop()
        .ok_or(ApiError::NotFound("posting"))?;
    let merged = read.timeline();
    let legs: Vec<&ozontrack_store::LegRecord> = read.legs.iter().map(|(leg, _)| leg).collect();
    let alerts = state
        .store
        .alerts(&AlertFilter {
            posting: Some(record.id),
            ..AlertFilter::default()
        })
        .await?;
    let legs_json: Vec<Value> = legs
        .iter()
        .map(|l| {
            json!({
                "carrier": l.leg.carrier.as_str(),
                "carrier_name": ozontrack_domain::carrier::by_code(l.leg.carrier.as_str()).map(|c| c.name(language)),
                "tracking_number": l.leg.tracking_number.as_str(),
                "role": l.leg.role.as_str(),
                "status": l.status.as_ref().map(|s| s.main.as_str()),
                "last_event_at": l.last_event_at.map(time),
                "continues": l.parent.and_then(|p| legs.iter().find(|x| x.id == p)).map(|p| p.leg.tracking_number.as_str()),
            })
        })
        .collect();
    let timeline_json: Vec<Value> = merged
        .iter()
        .map(|e| {
            json!({
                "occurred_at": time(e.occurred_at),
                "status": e.status.main.as_str(),
                "sub_status": e.status.sub.code(),
                "label": timeline::label(e.status.main, language),
                "carrier": e.carrier,
                "text": e.text,
                "place": e.location.text,
                "city": e.location.city,
                "country": e.location.country,
                "point": e.location.point.map(|p| json!([p.lat(), p.lon()])),
                "sources": e.sources.iter().map(ozontrack_domain::EventSource::as_str).collect::<Vec<_>>(),
            })
        })
        .collect();
    let estimate = state
        .lanes
        .estimate(&state.store, &record, &legs, state.clock.now())
        .map(|w| {
            json!({
                "from": time(w.from),
                "to": time(w.to),
                "basis": match w.basis {
                    Basis::Lane(n) => json!({"lane_deliveries": n}),
                    Basis::Mode => json!("mode_typical"),
                },
            })
        });
    let mut body = posting_json(&record, &caller);
    if let Some(object) = body.as_object_mut() {
        object.insert("estimate".into(), estimate.unwrap_or(Value::Null));
        object.insert("legs".into(), json!(legs_json));
        object.insert("timeline".into(), json!(timeline_json));
        object.insert(
            "alerts".into(),
            json!(alerts.iter().map(alert_json).collect::<Vec<_>>()),
        );
    }
    Ok(Json(body))
}

/// The alerts inbox's filters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsParams {
    store: Option<String>,
    open: Option<bool>,
    severity: Option<String>,
    limit: Option<u32>,
}

async fn alerts<S: Store>(
    State(state): State<ApiState<S>>,
    caller: Caller,
    params: Result<Query<AlertsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let scope = caller.scope(p.store.as_deref())?;
    let min_severity = p.severity.as_deref().map(parse_severity).transpose()?;
    let limit = p.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let mut items = Vec::new();
    for id in scope {
        items.extend(
            state
                .store
                .alerts(&AlertFilter {
                    id: None,
                    store: Some(id),
                    posting: None,
                    open_only: p.open.unwrap_or(false),
                    min_severity,
                    limit,
                })
                .await?,
        );
    }
    items.sort_by_key(|a| std::cmp::Reverse((a.opened_at, a.id)));
    items.truncate(limit as usize);
    Ok(Json(
        json!({"items": items.iter().map(alert_json).collect::<Vec<_>>()}),
    ))
}

/// An acknowledgement's body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AckBody {
    note: String,
    by: Option<String>,
}

async fn acknowledge<S: Store>(
    State(state): State<ApiState<S>>,
    caller: Caller,
    Path(id): Path<i64>,
    body: Result<Json<AckBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    // Another store's alert answers exactly like a missing one, read-only token or not.
    let alert = state
        .store
        .alerts(&AlertFilter {
            id: Some(id),
            ..AlertFilter::default()
        })
        .await?
        .into_iter()
        .find(|a| caller.sees(a.store_id))
        .ok_or(ApiError::NotFound("alert"))?;
    if caller.token.read_only {
        return Err(ApiError::ReadOnly);
    }
    let Json(body) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    if body.note.trim().is_empty() {
        return Err(ApiError::BadRequest("note: say what was done".into()));
    }
    let by = body
        .by
        .unwrap_or_else(|| format!("token:{}", caller.token.name));
    let done = state
        .store
        .acknowledge_alert(alert.id, &by, &body.note, state.clock.now())
        .await?;
    let state_now = if done {
        AlertState::Acknowledged
    } else {
        alert.state
    };
    Ok(Json(
        json!({"id": alert.id, "acknowledged": done, "state": state_now.as_str()}),
    ))
}

/// The posting with this number in one of `stores`, with its store; a posting of another
/// store, like a malformed number, is none.
pub(crate) async fn posting_in<'a, S: Store>(
    store: &S,
    stores: &'a [StoreRecord],
    number: &str,
) -> Result<Option<(&'a StoreRecord, PostingRecord)>, StoreError> {
    let Ok(number) = PostingNumber::parse(number) else {
        return Ok(None);
    };
    for s in stores {
        if let Some(p) = store.posting(s.id, &number).await? {
            return Ok(Some((s, p)));
        }
    }
    Ok(None)
}

/// Finds a posting within the caller's stores (another store's is "not found").
async fn scoped_posting<'c, S: Store>(
    state: &ApiState<S>,
    caller: &'c Caller,
    number: &str,
) -> Result<(&'c StoreRecord, PostingRecord), ApiError> {
    posting_in(&state.store, &caller.stores, number)
        .await?
        .ok_or(ApiError::NotFound("posting"))
}

/// A manual carrier choice's body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarrierBody {
    carrier: String,
    by: Option<String>,
}

async fn set_carrier<S: Store>(
    State(state): State<ApiState<S>>,
    caller: Caller,
    Path((number, tracking_number)): Path<(String, String)>,
    body: Result<Json<CarrierBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let (_, posting) = scoped_posting(&state, &caller, &number).await?;
    let legs = state.store.legs(posting.id).await?;
    let leg = legs
        .iter()
        .filter(|l| l.leg.carrier.as_str() != "ozon")
        .find(|l| {
            l.leg
                .tracking_number
                .as_str()
                .eq_ignore_ascii_case(tracking_number.trim())
        })
        .ok_or(ApiError::NotFound("leg"))?;
    if caller.token.read_only {
        return Err(ApiError::ReadOnly);
    }
    let Json(body) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let code = ozontrack_domain::CarrierCode::parse(&body.carrier)
        .ok()
        .filter(|c| ozontrack_domain::carrier::by_code(c.as_str()).is_some())
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "carrier: {:?} is not a carrier ozontrack knows",
                body.carrier
            ))
        })?;
    let by = body
        .by
        .unwrap_or_else(|| format!("token:{}", caller.token.name));
    state
        .store
        .set_leg_carrier(leg.id, &code, &by, state.clock.now())
        .await?;
    Ok(Json(json!({
        "posting_number": posting.posting.number.as_str(),
        "tracking_number": leg.leg.tracking_number.as_str(),
        "carrier": code.as_str(),
        "carrier_source": "manual",
        "set_by": by,
    })))
}

/// The statistics' filters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsParams {
    store: Option<String>,
    /// Legs tracked since this many days ago (default 30).
    days: Option<i64>,
}

impl StatsParams {
    /// The caller's stores the figures are over, and since when (`days`, 1–366, default 30).
    fn window<S: Store>(
        &self,
        state: &ApiState<S>,
        caller: &Caller,
    ) -> Result<(Vec<ozontrack_domain::StoreId>, DateTime<Utc>), ApiError> {
        let days = self.days.unwrap_or(30);
        if !(1..=366).contains(&days) {
            return Err(ApiError::BadRequest(format!(
                "days: {days} is not between 1 and 366"
            )));
        }
        let since = state.clock.now() - chrono::Duration::days(days);
        Ok((caller.scope(self.store.as_deref())?, since))
    }
}

async fn carrier_stats<S: Store>(
    State(state): State<ApiState<S>>,
    caller: Caller,
    params: Result<Query<StatsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let (stores, since) = p.window(&state, &caller)?;
    let rows = state.store.carrier_stats(&stores, since).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|c| {
            json!({
                "carrier": c.carrier,
                "legs": c.legs,
                "delivered": c.delivered,
                "stale_open": c.stale_open,
                "stale_rate": stale_rate(c.stale_open, c.legs.saturating_sub(c.delivered)),
                "transit_days": {
                    "p50": c.transit_days_p50,
                    "p90": c.transit_days_p90,
                    "histogram": c.transit_histogram,
                },
            })
        })
        .collect();
    Ok(Json(json!({"since": time(since), "items": items})))
}

/// The share of `of` (legs or postings under way) that is stale now; 0 when none is under way.
pub(crate) fn stale_rate(stale: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        stale as f64 / of as f64
    }
}

async fn lane_stats<S: Store>(
    State(state): State<ApiState<S>>,
    caller: Caller,
    params: Result<Query<StatsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let (stores, since) = p.window(&state, &caller)?;
    let rows = state.store.lane_stats(&stores, since).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|l| {
            json!({
                "carriers": l.carriers,
                "buyer_city": l.buyer_city,
                "postings": l.postings,
                "delivered": l.delivered,
                "stale_open": l.stale_open,
                "stale_rate": stale_rate(l.stale_open, l.postings.saturating_sub(l.delivered)),
                "transit_days": {"p50": l.transit_days_p50, "p90": l.transit_days_p90},
            })
        })
        .collect();
    Ok(Json(json!({"since": time(since), "items": items})))
}

/// The upload's switches.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadParams {
    /// Check every row, send nothing.
    dry_run: Option<bool>,
    /// Send the valid rows even when others are invalid.
    skip_invalid: Option<bool>,
}

/// Tracking numbers for a store's postings, as the CLI's CSV (`posting_number,tracking_number`):
/// every row checked (located problems), the good ones sent to Ozon 20 per call, one result
/// per row.
async fn upload_tracking_numbers<S: Store>(
    State(state): State<ApiState<S>>,
    caller: Caller,
    Path(store): Path<String>,
    params: Result<Query<UploadParams>, axum::extract::rejection::QueryRejection>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let record = caller.store_named(&store)?.clone();
    if caller.token.read_only {
        return Err(ApiError::ReadOnly);
    }
    let (rows, mut problems) = ozontrack_engine::upload::parse_csv(&body)
        .map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    let (good, more) = ozontrack_engine::upload::check_rows(&state.store, record.id, &rows)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "checking an upload failed");
            ApiError::Internal
        })?;
    problems.extend(more);
    problems.sort_by_key(|p| p.line);
    let problems_json: Vec<Value> = problems
        .iter()
        .map(|p| json!({"line": p.line, "column": p.column, "message": p.message}))
        .collect();
    if !problems.is_empty() && !p.skip_invalid.unwrap_or(false) {
        return Err(ApiError::InvalidRows(problems_json));
    }
    let results = if p.dry_run.unwrap_or(false) {
        Vec::new()
    } else {
        let syncer = state
            .syncer
            .as_ref()
            .ok_or(ApiError::Unavailable("this server does not send to Ozon"))?;
        let client = syncer.client(&record).await.map_err(|e| {
            tracing::error!(error = %e, "no Ozon client for an upload");
            ApiError::Internal
        })?;
        ozontrack_engine::upload::send(&client, &good, |_| {}).await
    };
    Ok(Json(json!({
        "checked": good.len(),
        "sent": results.len(),
        "accepted": results.iter().filter(|r| r.ok).count(),
        "results": results.iter().map(|r| json!({
            "line": r.line,
            "posting_number": r.posting,
            "tracking_number": r.tracking,
            "ok": r.ok,
            "error": (!r.error.is_empty()).then_some(&r.error),
        })).collect::<Vec<_>>(),
        "problems": problems_json,
    })))
}
