//! The JSON API under `/api/v1`, for a seller's own tools and the dashboard: stores, the
//! postings list with filters and a cursor, one posting's whole trail, a leg's carrier set by
//! hand, the alerts inbox with acknowledging and resolving, per-carrier and per-lane figures,
//! tracking-number uploads, and notifications ([`notify`]: destinations, the outbox, previews).
//!
//! Every request carries `Authorization: Bearer ozt_…`; the token's hash finds it, and every
//! query is limited to the token's stores, so a posting of another store answers exactly like
//! one that does not exist. Handlers parse, call one engine function and render a typed body;
//! errors share one JSON shape ([`error`]) and never carry internals.

pub mod admin;
pub mod dto;
pub mod error;
pub mod evidence;
pub mod extract;
pub mod files;
pub mod health;
pub mod notify;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::MethodRouter;
use chrono::{DateTime, Utc};
use ozontrack_db::{AlertFilter, Database, PostingQuery, StoreRecord, TokenRecord};
use ozontrack_domain::finding::{RuleKind, Severity};
use ozontrack_domain::{Clock, Language, PostingId, Role, Scheme, StoreId, carrier};
use ozontrack_engine::alerts::Close;
use ozontrack_engine::estimate::EstimateBook;
use ozontrack_engine::export::Filters;
use ozontrack_engine::upload::{UploadError, UploadOptions};
use ozontrack_engine::{Actor, Note, Syncer};
use ozontrack_i18n::Tr;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa::openapi::path::{HttpMethod, Paths};

use self::admin::*;
use self::dto::*;
pub use self::error::ApiError;
use self::error::{ErrorBody, Problem};
use self::evidence::*;
use self::extract::{Json, Path, Query, form, language};
pub use self::health::NodeRole;
use self::health::*;
use self::notify::*;
use crate::openapi::schemas;

/// What the API needs.
#[derive(Debug, Clone)]
pub struct ApiState<D: Database> {
    pub db: D,
    pub clock: Arc<dyn Clock>,
    /// Sends uploaded tracking numbers to Ozon; without it the upload route answers 503.
    pub syncer: Option<Syncer<D>>,
    /// Lanes' transit times for delivery estimates.
    pub estimates: Arc<EstimateBook>,
    /// The rules each store is held to (the penalty thresholds the dashboard shows against).
    pub rules: Arc<ozontrack_engine::RulesBook>,
    /// Real time, for what notifications schedule (a test message, a retry): sending never runs
    /// on the sandbox's simulated clock.
    pub wall: Arc<dyn Clock>,
    /// Wakes the notification dispatcher (a test message, a retried one); none when this
    /// process runs no dispatcher (the next one to poll sends it).
    pub notify_wake: Option<Arc<tokio::sync::Notify>>,
    /// The dashboard's address as people reach it (`notify.public_url`): an export's link
    /// column points there; none: the column stays empty.
    pub public_url: Option<String>,
    /// What this process runs, for `/healthz`.
    pub node: NodeRole,
    /// This process's workers, for `/healthz`; none on an API node.
    pub workers: Option<ozontrack_engine::supervise::HealthHandle>,
    /// The largest evidence attachment taken, in bytes (`evidence.max_attachment_mb`).
    pub max_attachment: u64,
}

impl<D: Database> ApiState<D> {
    pub fn new(db: D, clock: Arc<dyn Clock>) -> Self {
        Self {
            db,
            clock,
            syncer: None,
            estimates: Arc::default(),
            rules: Arc::default(),
            wall: Arc::new(ozontrack_domain::SystemClock),
            notify_wake: None,
            public_url: None,
            node: NodeRole::All,
            workers: None,
            max_attachment: ozontrack_engine::evidence::DEFAULT_MAX_ATTACHMENT,
        }
    }

    /// Test messages and retries wake this process's dispatcher.
    #[must_use]
    pub fn with_notify_wake(mut self, wake: Arc<tokio::sync::Notify>) -> Self {
        self.notify_wake = Some(wake);
        self
    }

    /// Lets the API send tracking numbers to Ozon.
    #[must_use]
    pub fn with_syncer(mut self, syncer: Syncer<D>) -> Self {
        self.syncer = Some(syncer);
        self
    }
}

/// Registers handlers on a router and their operations in the document, from one list: a route
/// is served if and only if it is described.
macro_rules! documented {
    ($router:ident, $paths:ident, $schemas:ident, $db:ty; $( $handler:ident ),+ $(,)?) => {
        $(
            pastey::paste! {
                let path = <[<__path_ $handler>] as utoipa::Path>::path();
                let methods = <[<__path_ $handler>] as utoipa::Path>::methods();
                let operation = <[<__path_ $handler>] as utoipa::Path>::operation();
                <[<__path_ $handler>] as utoipa::__dev::SchemaReferences>::schemas(&mut $schemas);
                let mut route = MethodRouter::new();
                for method in &methods {
                    route = route.on(method_filter(method), $handler::<$db>);
                }
                $router = $router.route(&path, route);
                $paths.add_path_operation(path, methods, operation);
            }
        )+
    };
}

fn method_filter(method: &HttpMethod) -> axum::routing::MethodFilter {
    use axum::routing::MethodFilter as F;
    match method {
        HttpMethod::Get => F::GET,
        HttpMethod::Post => F::POST,
        HttpMethod::Put => F::PUT,
        HttpMethod::Delete => F::DELETE,
        HttpMethod::Patch => F::PATCH,
        HttpMethod::Head => F::HEAD,
        HttpMethod::Options => F::OPTIONS,
        HttpMethod::Trace => F::TRACE,
    }
}

/// The API routes, `/healthz` and `/api/openapi.json` included.
pub fn router<D: Database>(state: ApiState<D>) -> Router {
    let mut router: Router<ApiState<D>> = Router::new();
    let mut paths = Paths::new();
    let mut schemas = Vec::new();
    documented!(router, paths, schemas, D;
        healthz, readyz, stores, postings, posting, set_carrier, alerts, acknowledge, resolve,
        carrier_stats, lane_stats, penalties, upload_tracking_numbers, export_postings, import_postings,
        list_channels, add_channel, test_channel, disable_channel, enable_channel,
        remove_channel, outbox, retry_message, preview, list_users, add_user, change_user,
        audit, pause_store, resume_store, evidence_pack, list_attachments, add_attachment,
    );
    schemas.push((
        "ErrorBody".to_owned(),
        <ErrorBody as utoipa::PartialSchema>::schema(),
    ));
    <ErrorBody as utoipa::ToSchema>::schemas(&mut schemas);
    let document = Arc::new(crate::openapi::document(paths, schemas));
    router
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let document = Arc::clone(&document);
                async move { axum::Json(document.as_ref().clone()) }
            }),
        )
        .with_state(state)
}

/// Whether a path is the API's, whose errors take its JSON shape.
pub fn is_api_path(path: &str) -> bool {
    path.starts_with("/api/") || path == "/healthz" || path == "/readyz"
}

/// The secret of `Authorization: Bearer …`; the scheme is case-insensitive (RFC 9110 §11.1).
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let (scheme, secret) = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim()
        .split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(secret.trim())
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
            .find(|s| s.name.as_str() == name.trim())
            .ok_or(ApiError::NotFound("store"))
    }

    /// The store named, or every store of the caller.
    fn scope(&self, store: Option<&str>) -> Result<Vec<StoreId>, ApiError> {
        match store {
            Some(name) => Ok(vec![self.store_named(name)?.id]),
            None => Ok(self.stores.iter().map(|s| s.id).collect()),
        }
    }

    fn store(&self, id: StoreId) -> Option<&StoreRecord> {
        self.stores.iter().find(|s| s.id == id)
    }

    /// Refuses a token whose role does not include `needed`.
    fn require(&self, needed: Role) -> Result<(), ApiError> {
        if self.token.role.allows(needed) {
            Ok(())
        } else {
            Err(ApiError::Role {
                has: self.token.role,
                needs: needed,
            })
        }
    }

    /// What serves every store (destinations, the outbox, users, tokens) is only for a token
    /// granted every store.
    fn every_store(&self) -> Result<(), ApiError> {
        if self.token.scope.is_all() {
            Ok(())
        } else {
            Err(ApiError::Scoped)
        }
    }

    /// Who the token acts as: the token, and the person it names when it names one.
    fn actor(&self, by: Option<&str>) -> Result<Actor, ApiError> {
        Ok(Actor::token(&self.token.name, by)?)
    }

    /// The language of the caller's first store, for lists that span stores.
    fn default_language(&self) -> Language {
        self.stores
            .first()
            .map_or(Language::Zh, |s| s.settings.language)
    }
}

impl<D: Database> FromRequestParts<ApiState<D>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState<D>,
    ) -> Result<Self, Self::Rejection> {
        let secret = bearer(&parts.headers)
            .filter(|s| s.starts_with("ozt_"))
            .ok_or(ApiError::Unauthorized)?;
        let token = state
            .db
            .token_by_hash(&ozontrack_engine::access::secret_hash(secret))
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let stores = ozontrack_engine::access::stores_of(&state.db, &token.scope).await?;
        Ok(Caller { token, stores })
    }
}

/// The longest page of a list.
const MAX_PAGE: u32 = 200;

/// A list's `limit`: `default` when not given, refused outside 1..=[`MAX_PAGE`] (never clamped:
/// a client asking for 0 or 1 000 has a bug worth hearing about).
fn page_limit(limit: Option<u32>, default: u32) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(default);
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::BadRequest(format!(
            "limit: {limit} is not between 1 and {MAX_PAGE}"
        )))
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/stores",
    tag = "stores",
    responses(
        (status = 200, description = "the stores the token may see", body = StoresBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
    )
)]
// The one list of handlers instantiates each with the database type, used or not.
#[allow(clippy::extra_unused_type_parameters)]
async fn stores<D: Database>(caller: Caller) -> axum::Json<StoresBody> {
    axum::Json(StoresBody {
        items: caller.stores.iter().map(StoreBody::from).collect(),
    })
}

/// Declares a query-parameter struct with the postings list's filters (`store`, `status`,
/// `mode`, `carrier`, `risk`, `from`, `to`, `q`) and the fields given, and its `filters()`: the
/// list, its export and the dashboard's form read the same filters from one declaration.
macro_rules! with_postings_filters {
    ($(#[$meta:meta])* pub struct $name:ident { $($extra:tt)* }) => {
        $(#[$meta])*
        #[derive(Debug, Default, Clone, Deserialize, IntoParams)]
        #[serde(deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            /// Only this store (by name).
            #[serde(default, deserialize_with = "form::optional")]
            #[param(min_length = 1, max_length = 64)]
            pub store: Option<String>,
            /// Ozon's status code, e.g. `delivering`.
            #[serde(default, deserialize_with = "form::optional")]
            #[param(min_length = 1, max_length = 64)]
            pub status: Option<String>,
            #[serde(default, deserialize_with = "form::optional")]
            #[param(schema_with = schemas::mode)]
            pub mode: Option<Scheme>,
            /// A leg's carrier.
            #[serde(default, deserialize_with = "form::optional")]
            #[param(schema_with = schemas::carrier)]
            pub carrier: Option<String>,
            /// Only postings with an open alert at least this severe.
            #[serde(default, deserialize_with = "form::optional")]
            #[param(schema_with = schemas::severity)]
            pub risk: Option<Severity>,
            /// Ordered from (a date `2026-11-01` or an RFC 3339 time).
            #[serde(default, deserialize_with = "form::optional")]
            #[param(value_type = Option<String>, format = DateTime)]
            pub from: Option<String>,
            /// Ordered before.
            #[serde(default, deserialize_with = "form::optional")]
            #[param(value_type = Option<String>, format = DateTime)]
            pub to: Option<String>,
            /// A posting number (or its start) or a tracking number.
            #[serde(default, deserialize_with = "form::optional")]
            #[param(min_length = 1, max_length = 64)]
            pub q: Option<String>,
            $($extra)*
        }

        impl $name {
            /// The filters, as the engine checks them.
            pub fn filters(&self) -> Filters {
                Filters {
                    status: self.status.clone(),
                    mode: self.mode,
                    carrier: self.carrier.clone(),
                    risk: self.risk,
                    from: self.from.clone(),
                    to: self.to.clone(),
                    text: self.q.clone(),
                }
            }
        }
    };
}
pub(crate) use with_postings_filters;

with_postings_filters! {
    /// The postings list's filters, as query parameters (the dashboard's form sends the same;
    /// an empty value is no filter).
    pub struct PostingsParams {
        /// `next_cursor` of the previous page.
        #[serde(default, deserialize_with = "form::optional")]
        #[param(pattern = "^[0-9]{1,18}$")]
        pub cursor: Option<String>,
        /// Page size (default 50).
        #[serde(default, deserialize_with = "form::optional")]
        #[param(minimum = 1, maximum = 200)]
        pub limit: Option<u32>,
        /// The language of names (default: `Accept-Language`, else the first store's).
        #[serde(default, deserialize_with = "form::optional")]
        #[param(schema_with = schemas::language)]
        pub lang: Option<Language>,
    }
}

impl PostingsParams {
    /// The database query for these filters within `stores` (the store filter already applied).
    pub fn query(&self, stores: Vec<StoreId>) -> Result<PostingQuery, ApiError> {
        let mut query = self.filters().query(stores)?;
        query.limit = page_limit(self.limit, 50)?;
        query.before = self
            .cursor
            .as_deref()
            .map(|c| {
                c.parse::<i64>().map(PostingId).map_err(|_| {
                    ApiError::BadRequest(format!("cursor: {c:?} is not a cursor this API gave"))
                })
            })
            .transpose()?;
        Ok(query)
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/postings",
    tag = "postings",
    params(PostingsParams),
    responses(
        (status = 200, description = "a page, newest first", body = PostingsPage),
        (status = 400, description = "a parameter is not understood; the message names it", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 404, description = "no such store", body = ErrorBody),
    )
)]
async fn postings<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    headers: HeaderMap,
    Query(params): Query<PostingsParams>,
) -> Result<axum::Json<PostingsPage>, ApiError> {
    let scope = caller.scope(params.store.as_deref())?;
    let query = params.query(scope)?;
    let tr = Tr::new(language(params.lang, &headers, caller.default_language()));
    let page = state.db.postings_page(&query).await?;
    let next_cursor = (page.len() == query.limit as usize)
        .then(|| page.last().map(|s| s.record.id.0.to_string()))
        .flatten();
    let items = page
        .iter()
        .map(|s| {
            let store = caller.store(s.record.posting.store_id);
            PostingRow::new(s, store.map_or("", |s| s.name.as_str()), &tr)
        })
        .collect();
    Ok(axum::Json(PostingsPage { items, next_cursor }))
}

/// The language of one posting's names and sentences.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LangParams {
    /// Default: `Accept-Language`, else the store's language.
    #[serde(default, deserialize_with = "form::optional")]
    #[param(schema_with = schemas::language)]
    pub lang: Option<Language>,
}

#[utoipa::path(
    get,
    path = "/api/v1/postings/{number}",
    tag = "postings",
    params(
        ("number" = String, Path, description = "the posting number", max_length = 40),
        LangParams,
    ),
    responses(
        (status = 200, description = "the posting: legs, merged timeline, alerts, estimate", body = PostingDetail),
        (status = 400, description = "a parameter is not understood", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 404, description = "no such posting in the token's stores", body = ErrorBody),
    )
)]
async fn posting<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    headers: HeaderMap,
    Path(number): Path<String>,
    Query(params): Query<LangParams>,
) -> Result<axum::Json<PostingDetail>, ApiError> {
    let (store, posting) = ozontrack_engine::trail::find_record(&state.db, &caller.stores, &number)
        .await?
        .ok_or(ApiError::NotFound("posting"))?;
    let trail = ozontrack_engine::trail::read_found(
        &state.db,
        &state.estimates,
        store,
        posting,
        state.clock.now(),
    )
    .await?;
    let tr = Tr::new(language(params.lang, &headers, store.settings.language));
    Ok(axum::Json(PostingDetail::new(&trail, store, &tr)))
}

#[utoipa::path(
    post,
    path = "/api/v1/postings/{number}/legs/{tracking_number}/carrier",
    tag = "postings",
    params(
        ("number" = String, Path, description = "the posting number", max_length = 40),
        ("tracking_number" = String, Path, description = "the leg's tracking number", max_length = 40),
    ),
    request_body = CarrierRequest,
    responses(
        (status = 200, description = "the leg's carrier now; detection never undoes it", body = CarrierSetBody),
        (status = 400, description = "the body is not understood, or the carrier is not one ozontrack knows", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 403, description = "the token's role does not allow it", body = ErrorBody),
        (status = 404, description = "no such posting or leg in the token's stores", body = ErrorBody),
    )
)]
async fn set_carrier<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    Path((number, tracking_number)): Path<(String, String)>,
    Json(body): Json<CarrierRequest>,
) -> Result<axum::Json<CarrierSetBody>, ApiError> {
    // Another store's posting answers "not found" before a read-only token hears 403.
    let (_, id) = ozontrack_engine::trail::find(&state.db, &caller.stores, &number)
        .await?
        .ok_or(ApiError::NotFound("posting"))?;
    let legs = state.db.legs(id).await?;
    if !legs.iter().any(|l| {
        l.leg.carrier.as_str() != carrier::OZON
            && l.leg
                .tracking_number
                .as_str()
                .eq_ignore_ascii_case(tracking_number.trim())
    }) {
        return Err(ApiError::NotFound("leg"));
    }
    caller.require(Role::Operator)?;
    let actor = caller.actor(body.by.as_deref())?;
    let set = ozontrack_engine::legs::set_carrier(
        &state.db,
        &caller.stores,
        &number,
        Some(&tracking_number),
        &body.carrier,
        &actor,
        state.clock.now(),
    )
    .await?;
    Ok(axum::Json(CarrierSetBody {
        posting_number: set.posting_number,
        tracking_number: set.tracking_number,
        carrier: set.carrier.as_str().to_owned(),
        previous_carrier: set.previous.as_str().to_owned(),
        carrier_source: ozontrack_domain::CarrierSource::Manual,
        set_by: set.by,
    }))
}

/// The alerts inbox's filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertsParams {
    /// Only this store's (by name).
    #[serde(default, deserialize_with = "form::optional")]
    #[param(min_length = 1, max_length = 64)]
    pub store: Option<String>,
    /// Only alerts not resolved.
    #[serde(default, deserialize_with = "form::optional")]
    pub open: Option<bool>,
    /// Only alerts at least this severe.
    #[serde(default, deserialize_with = "form::optional")]
    #[param(schema_with = schemas::severity)]
    pub severity: Option<Severity>,
    /// Only this rule's.
    #[serde(default, deserialize_with = "form::optional")]
    #[param(schema_with = schemas::rule)]
    pub rule: Option<RuleKind>,
    /// At most this many, newest first (default 100).
    #[serde(default, deserialize_with = "form::optional")]
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    #[serde(default, deserialize_with = "form::optional")]
    #[param(schema_with = schemas::language)]
    pub lang: Option<Language>,
}

#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    tag = "alerts",
    params(AlertsParams),
    responses(
        (status = 200, description = "alerts, newest first", body = AlertsPage),
        (status = 400, description = "a parameter is not understood", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 404, description = "no such store", body = ErrorBody),
    )
)]
async fn alerts<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    headers: HeaderMap,
    Query(p): Query<AlertsParams>,
) -> Result<axum::Json<AlertsPage>, ApiError> {
    let scope = caller.scope(p.store.as_deref())?;
    let limit = page_limit(p.limit, 100)?;
    let tr = Tr::new(language(p.lang, &headers, caller.default_language()));
    let items = state
        .db
        .alerts(&AlertFilter {
            stores: Some(scope),
            open_only: p.open.unwrap_or(false),
            min_severity: p.severity,
            rule: p.rule,
            limit,
            ..AlertFilter::default()
        })
        .await?
        .iter()
        .map(|a| AlertBody::new(a, caller.store(a.store_id), &tr))
        .collect();
    Ok(axum::Json(AlertsPage { items }))
}

/// Acknowledges or resolves an alert for the caller.
async fn close_alert<D: Database>(
    state: &ApiState<D>,
    caller: &Caller,
    id: i64,
    how: Close,
    body: NoteRequest,
) -> Result<ClosedBody, ApiError> {
    let scope: Vec<StoreId> = caller.stores.iter().map(|s| s.id).collect();
    // Another store's alert answers exactly like a missing one, read-only token or not.
    ozontrack_engine::alerts::find(&state.db, Some(&scope), id).await?;
    caller.require(Role::Operator)?;
    let note = Note::parse(&body.note)?;
    let actor = caller.actor(body.by.as_deref())?;
    let closed = ozontrack_engine::alerts::close(
        &state.db,
        Some(&scope),
        id,
        how,
        &actor,
        &note,
        state.clock.now(),
    )
    .await?;
    Ok(ClosedBody {
        id,
        changed: closed.changed,
        state: closed.alert.state,
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/ack",
    tag = "alerts",
    params(("id" = i64, Path, description = "the alert's id", minimum = 1)),
    request_body = NoteRequest,
    responses(
        (status = 200, description = "acknowledged (it escalates again if it worsens)", body = ClosedBody),
        (status = 400, description = "the body is not understood, or the note is empty or too long", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 403, description = "the token's role does not allow it", body = ErrorBody),
        (status = 404, description = "no such alert in the token's stores", body = ErrorBody),
    )
)]
async fn acknowledge<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<NoteRequest>,
) -> Result<axum::Json<ClosedBody>, ApiError> {
    close_alert(&state, &caller, id, Close::Acknowledge, body)
        .await
        .map(axum::Json)
}

#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/resolve",
    tag = "alerts",
    params(("id" = i64, Path, description = "the alert's id", minimum = 1)),
    request_body = NoteRequest,
    responses(
        (status = 200, description = "resolved by hand (the same condition does not reopen it unless it worsens)", body = ClosedBody),
        (status = 400, description = "the body is not understood, or the note is empty or too long", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 403, description = "the token's role does not allow it", body = ErrorBody),
        (status = 404, description = "no such alert in the token's stores", body = ErrorBody),
    )
)]
async fn resolve<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<NoteRequest>,
) -> Result<axum::Json<ClosedBody>, ApiError> {
    close_alert(&state, &caller, id, Close::Resolve, body)
        .await
        .map(axum::Json)
}

/// The statistics' filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// Only this store (by name).
    #[serde(default, deserialize_with = "form::optional")]
    #[param(min_length = 1, max_length = 64)]
    store: Option<String>,
    /// Over legs tracked since this many days ago (default 30).
    #[serde(default, deserialize_with = "form::optional")]
    #[param(minimum = 1, maximum = 366)]
    days: Option<i64>,
    #[serde(default, deserialize_with = "form::optional")]
    #[param(schema_with = schemas::language)]
    lang: Option<Language>,
}

impl StatsParams {
    /// The caller's stores the figures are over, and since when.
    fn window<D: Database>(
        &self,
        state: &ApiState<D>,
        caller: &Caller,
    ) -> Result<(Vec<StoreId>, DateTime<Utc>), ApiError> {
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

#[utoipa::path(
    get,
    path = "/api/v1/stats/carriers",
    tag = "statistics",
    params(StatsParams),
    responses(
        (status = 200, description = "per-carrier figures", body = CarrierStatsBody),
        (status = 400, description = "a parameter is not understood", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 404, description = "no such store", body = ErrorBody),
    )
)]
async fn carrier_stats<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    headers: HeaderMap,
    Query(p): Query<StatsParams>,
) -> Result<axum::Json<CarrierStatsBody>, ApiError> {
    let (stores, since) = p.window(&state, &caller)?;
    let tr = Tr::new(language(p.lang, &headers, caller.default_language()));
    let rows = state.db.carrier_stats(&stores, since).await?;
    Ok(axum::Json(CarrierStatsBody {
        since,
        items: rows.iter().map(|c| CarrierStatBody::new(c, &tr)).collect(),
    }))
}

/// Which stores' penalty points.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PenaltiesParams {
    /// Only this store (by name).
    #[serde(default, deserialize_with = "form::optional")]
    #[param(min_length = 1, max_length = 64)]
    store: Option<String>,
    #[serde(default, deserialize_with = "form::optional")]
    #[param(schema_with = schemas::language)]
    lang: Option<Language>,
}

#[utoipa::path(
    get,
    path = "/api/v1/penalties",
    tag = "statistics",
    params(PenaltiesParams),
    responses(
        (status = 200, description = "each store's penalty points in its rolling window (the whitelist ledger), with the threshold reached", body = PenaltiesBody),
        (status = 400, description = "a parameter is not understood", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 404, description = "no such store", body = ErrorBody),
    )
)]
async fn penalties<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    headers: HeaderMap,
    Query(p): Query<PenaltiesParams>,
) -> Result<axum::Json<PenaltiesBody>, ApiError> {
    let stores = match p.store.as_deref() {
        Some(name) => vec![caller.store_named(name)?.clone()],
        None => caller.stores.clone(),
    };
    let tr = Tr::new(language(p.lang, &headers, caller.default_language()));
    let standings =
        ozontrack_engine::penalties::standings(&state.db, &state.rules, &stores, state.clock.now())
            .await?;
    Ok(axum::Json(PenaltiesBody {
        items: standings
            .iter()
            .map(|s| PenaltyStandingBody::new(s, &tr))
            .collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/stats/lanes",
    tag = "statistics",
    params(StatsParams),
    responses(
        (status = 200, description = "per-lane figures (carriers in order, buyer city)", body = LaneStatsBody),
        (status = 400, description = "a parameter is not understood", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 404, description = "no such store", body = ErrorBody),
    )
)]
async fn lane_stats<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    Query(p): Query<StatsParams>,
) -> Result<axum::Json<LaneStatsBody>, ApiError> {
    let (stores, since) = p.window(&state, &caller)?;
    let rows = state.db.lane_stats(&stores, since).await?;
    Ok(axum::Json(LaneStatsBody {
        since,
        items: rows.iter().map(LaneStatBody::from).collect(),
    }))
}

/// The upload's switches.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// Check every row, send nothing.
    #[serde(default, deserialize_with = "form::optional")]
    dry_run: Option<bool>,
    /// Send the valid rows even when others are invalid.
    #[serde(default, deserialize_with = "form::optional")]
    skip_invalid: Option<bool>,
}

#[utoipa::path(
    post,
    path = "/api/v1/stores/{store}/tracking-numbers",
    tag = "stores",
    params(
        ("store" = String, Path, description = "the store's name", max_length = 64),
        UploadParams,
    ),
    request_body(
        content = String,
        content_type = "text/csv",
        description = "UTF-8 (BOM or not) with a header `posting_number,tracking_number` (`,` or `;`)",
    ),
    responses(
        (status = 200, description = "every row checked; the valid ones sent, one result each", body = UploadBody),
        (status = 400, description = "the file cannot be read as such a CSV", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 403, description = "the token's role does not allow it", body = ErrorBody),
        (status = 404, description = "no such store in the token's stores", body = ErrorBody),
        (status = 422, description = "rows are invalid and nothing was sent; every problem located", body = ErrorBody),
        (status = 503, description = "this server does not send to Ozon", body = ErrorBody),
    )
)]
async fn upload_tracking_numbers<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    Path(store): Path<String>,
    Query(p): Query<UploadParams>,
    body: axum::body::Bytes,
) -> Result<axum::Json<UploadBody>, ApiError> {
    let record = caller.store_named(&store)?.clone();
    caller.require(Role::Operator)?;
    let options = UploadOptions {
        dry_run: p.dry_run.unwrap_or(false),
        skip_invalid: p.skip_invalid.unwrap_or(false),
    };
    let problem = |p: &ozontrack_engine::upload::RowProblem| Problem {
        line: p.line,
        column: p.column.clone(),
        message: p.message.clone(),
    };
    let report = ozontrack_engine::upload::upload(
        &state.db,
        state.syncer.as_ref(),
        &record,
        &body,
        options,
        &caller.actor(None)?,
        state.wall.now(),
    )
    .await
    .map_err(|e| match e {
        UploadError::Unreadable(e) => ApiError::BadRequest(format!("body: {e}")),
        UploadError::InvalidRows { problems, .. } => {
            ApiError::InvalidRows(problems.iter().map(problem).collect())
        }
        UploadError::Failed(e) => e.into(),
    })?;
    Ok(axum::Json(UploadBody {
        checked: report.valid,
        sent: report.results.len(),
        accepted: report.accepted(),
        results: report
            .results
            .iter()
            .map(|r| UploadResultBody {
                line: r.line,
                posting_number: r.posting.clone(),
                tracking_number: r.tracking.clone(),
                ok: r.ok,
                error: (!r.error.is_empty()).then(|| r.error.clone()),
            })
            .collect(),
        problems: report.problems.iter().map(problem).collect(),
        warnings: report.warnings.iter().map(problem).collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/exports/postings",
    tag = "postings",
    params(files::ExportParams),
    responses(
        (status = 200, description = "every posting the filters match, newest first, as a file to save (CSV streamed as it is read; no row limit)",
            content(
                (String = "text/csv"),
                (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                (Vec<u8> = "application/zip"),
            )),
        (status = 400, description = "a parameter is not understood; the message names it", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 404, description = "no such store", body = ErrorBody),
    )
)]
async fn export_postings<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    headers: HeaderMap,
    Query(params): Query<files::ExportParams>,
) -> Result<Response, ApiError> {
    let ids = caller.scope(params.store.as_deref())?;
    let scope: Vec<StoreRecord> = caller
        .stores
        .iter()
        .filter(|s| ids.contains(&s.id))
        .cloned()
        .collect();
    let language = language(params.lang, &headers, caller.default_language());
    files::export(&state, scope, &params, language, state.clock.now()).await
}

/// How to read a postings report.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// Read everything, write nothing.
    #[serde(default, deserialize_with = "form::optional")]
    dry_run: Option<bool>,
    /// `fbs` or `fbo` (default: told by the FBS-only columns).
    #[serde(default, deserialize_with = "form::optional")]
    #[param(schema_with = schemas::report_mode)]
    mode: Option<String>,
    /// The zone the report's times are in (default `Europe/Moscow`).
    #[serde(default, deserialize_with = "form::optional")]
    #[param(min_length = 1, max_length = 64)]
    zone: Option<String>,
    /// The language of the problems' words (default: `Accept-Language`, else the store's).
    #[serde(default, deserialize_with = "form::optional")]
    #[param(schema_with = schemas::language)]
    lang: Option<Language>,
}

/// The largest report the API takes (the seller office's exports are far smaller).
const MAX_REPORT_BYTES: usize = 64 * 1024 * 1024;

#[utoipa::path(
    post,
    path = "/api/v1/stores/{store}/imports/postings",
    tag = "stores",
    params(
        ("store" = String, Path, description = "the store's name", max_length = 64),
        ImportParams,
    ),
    request_body(
        content = String,
        content_type = "text/csv",
        description = "the seller office's FBS or FBO postings report: CSV (`;`, UTF-8 or Windows-1251) or XLSX",
    ),
    responses(
        (status = 200, description = "the report read and (unless a dry run) written in one transaction", body = ImportBody),
        (status = 400, description = "a parameter is not understood", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 403, description = "the token's role does not allow it", body = ErrorBody),
        (status = 404, description = "no such store in the token's stores", body = ErrorBody),
        (status = 413, description = "the file is larger than 64 MiB", body = ErrorBody),
        (status = 422, description = "the file has problems and nothing was written; every problem located", body = ErrorBody),
    )
)]
async fn import_postings<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    Path(store): Path<String>,
    headers: HeaderMap,
    Query(p): Query<ImportParams>,
    body: axum::body::Body,
) -> Result<axum::Json<ImportBody>, ApiError> {
    let record = caller.store_named(&store)?.clone();
    caller.require(Role::Operator)?;
    let options = ozontrack_reports::ReadOptions::parse(p.zone.as_deref(), p.mode.as_deref())
        .map_err(ozontrack_engine::Error::from)?;
    let tr = Tr::new(language(p.lang, &headers, record.settings.language));
    let bytes = axum::body::to_bytes(body, MAX_REPORT_BYTES)
        .await
        .map_err(|_| ApiError::TooLarge)?;
    let outcome = ozontrack_engine::import::import_postings(
        &state.db,
        &record,
        "body",
        bytes.to_vec(),
        options,
        p.dry_run.unwrap_or(false),
        &caller.actor(None)?,
        state.clock.now(),
    )
    .await
    .map_err(|e| ApiError::from_engine(e, &tr))?;
    Ok(axum::Json(ImportBody {
        mode: outcome.scheme.as_str().to_owned(),
        rows: outcome.rows,
        postings: outcome.postings,
        products: outcome.products,
        new: outcome.new,
        updated: outcome.updated,
        unchanged: outcome.unchanged,
        ignored_columns: outcome.ignored_columns,
        dry_run: outcome.dry_run,
    }))
}
