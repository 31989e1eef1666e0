//! The Ozon Seller API fake: the current posting methods, rendered from the world at the
//! simulated time, behind Ozon's header checks and its 50 requests/s per Client-Id limit, with
//! the error bodies `ozon-seller-api.md` §9 documents.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{RateLimiter, SimState, Window, time};
use crate::world::{FailureKind, Mode, Parcel};

/// How the fake behaves beyond the world it renders.
#[derive(Debug, Clone)]
pub struct OzonConfig {
    /// Requests per second allowed per Client-Id (Ozon: 50).
    pub rate_limit: usize,
}

impl Default for OzonConfig {
    fn default() -> Self {
        Self { rate_limit: 50 }
    }
}

mod actions;
mod render;

use render::{ListPage, buyer_name, buyer_phone, customer, fbo_posting, fbs_posting};

#[derive(Debug, Clone)]
struct App {
    sim: Arc<SimState>,
    limiter: Arc<RateLimiter>,
    actions: Arc<std::sync::Mutex<actions::Actions>>,
}

/// The store a request authenticated as.
#[derive(Debug, Clone, Copy)]
struct Seller(usize);

/// The Ozon Seller API routes, counting each Client-Id's requests on `limiter` (whose
/// refusals a test or a bench reads).
pub fn router(sim: Arc<SimState>, limiter: Arc<RateLimiter>) -> Router {
    let app = App {
        sim,
        limiter,
        actions: Arc::default(),
    };
    Router::new()
        .route("/v4/posting/fbs/list", post(fbs_list))
        .route(
            "/v4/posting/fbs/unfulfilled/list",
            post(fbs_unfulfilled_list),
        )
        .route("/v3/posting/fbs/get", post(fbs_get))
        .route("/v3/posting/fbo/list", post(fbo_list))
        .route("/v2/posting/fbo/get", post(fbo_get))
        .route("/v2/delivery-method/list", post(delivery_method_list))
        .route("/v2/warehouse/list", post(warehouse_list))
        .route(
            "/v2/fbs/posting/tracking-number/set",
            post(tracking_number_set),
        )
        .route(
            "/v2/posting/fbs/get-by-barcode",
            post(actions::get_by_barcode),
        )
        .route("/v2/fbs/posting/delivering", post(actions::move_delivering))
        .route("/v2/fbs/posting/last-mile", post(actions::move_last_mile))
        .route("/v2/fbs/posting/delivered", post(actions::move_delivered))
        .route("/v1/report/postings/create", post(actions::report_create))
        .route("/v1/report/info", post(actions::report_info))
        .route("/v1/chat/start", post(actions::chat_start))
        .route("/v1/chat/send/message", post(actions::chat_send))
        .layer(middleware::from_fn_with_state(app.clone(), authenticate))
        // Report files are plain downloads, like Ozon's CDN links: no API headers.
        .route("/reports/{file}", axum::routing::get(actions::report_file))
        .with_state(app)
}

/// An error as Ozon reports it: `{"code", "message", "details": []}` with a gRPC code.
#[derive(Debug)]
struct OzonError {
    status: StatusCode,
    code: i32,
    message: String,
    /// Some errors are observed without the `details` key.
    details: bool,
}

impl IntoResponse for OzonError {
    fn into_response(self) -> Response {
        let body = if self.details {
            json!({"code": self.code, "message": self.message, "details": []})
        } else {
            json!({"code": self.code, "message": self.message})
        };
        (self.status, Json(body)).into_response()
    }
}

fn error(status: StatusCode, code: i32, message: &str) -> OzonError {
    OzonError {
        status,
        code,
        message: message.to_owned(),
        details: true,
    }
}

fn bad_request(message: &str) -> OzonError {
    error(StatusCode::BAD_REQUEST, 3, message)
}

type Reply = Result<Json<Value>, OzonError>;

async fn authenticate(State(app): State<App>, mut request: Request, next: Next) -> Response {
    match seller(&app, request.headers()) {
        Ok(seller) => {
            request.extensions_mut().insert(seller);
            next.run(request).await
        }
        Err(e) => e.into_response(),
    }
}

/// Checks the headers in Ozon's order: presence, Client-Id syntax, key, then the rate limit.
fn seller(app: &App, headers: &HeaderMap) -> Result<Seller, OzonError> {
    let (Some(client_id), Some(api_key)) =
        (header(headers, "client-id"), header(headers, "api-key"))
    else {
        // Observed in the wild without `details`.
        let message = "Client-Id and Api-Key headers are required";
        return Err(OzonError {
            details: false,
            ..error(StatusCode::UNAUTHORIZED, 16, message)
        });
    };
    let Ok(client_id) = client_id.trim().parse::<u64>() else {
        let message = "Client-Id header value should be positive integer";
        return Err(OzonError {
            details: false,
            ..bad_request(message)
        });
    };
    let stores = &app.sim.world.stores;
    let store = stores
        .iter()
        .position(|s| s.client_id == client_id && s.api_key == api_key);
    let Some(store) = store else {
        let message = "Invalid Api-Key, please check the key and try again";
        return Err(error(StatusCode::NOT_FOUND, 5, message));
    };
    if !app.limiter.allow(client_id) {
        let message = "You have reached request rate limit per second";
        return Err(error(StatusCode::TOO_MANY_REQUESTS, 8, message));
    }
    Ok(Seller(store))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

fn parse<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, OzonError> {
    let body: &[u8] = if body.is_empty() { b"{}" } else { body };
    serde_json::from_slice(body).map_err(|e| bad_request(&format!("invalid request body: {e}")))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct With {
    analytics_data: bool,
    barcodes: bool,
    financial_data: bool,
    legal_info: bool,
}

#[derive(Debug, Deserialize)]
struct Period {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListFilter {
    since: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    statuses: Vec<String>,
    last_changed_status_date: Option<Period>,
    order_numbers: Vec<String>,
    posting_numbers: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct ListRequest {
    #[serde(default)]
    cursor: String,
    filter: Option<ListFilter>,
    limit: Option<i64>,
    #[serde(default)]
    with: With,
}

/// The opaque cursor: base64 of the sort key of the last posting returned (Ozon's cursors
/// look the same, and clients must not parse them).
fn encode_cursor(parcel: &Parcel) -> String {
    let key = json!({"fields": [
        {"name": "in_process_at", "val": time(parcel.ordered_at)},
        {"name": "posting_number", "val": parcel.posting_number},
    ]});
    BASE64.encode(key.to_string())
}

fn decode_cursor(cursor: &str) -> Result<Option<(DateTime<Utc>, String)>, OzonError> {
    if cursor.is_empty() {
        return Ok(None);
    }
    let invalid = || bad_request("invalid cursor");
    let bytes = BASE64.decode(cursor).map_err(|_| invalid())?;
    let key: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let at = key["fields"][0]["val"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(invalid)?;
    let number = key["fields"][1]["val"].as_str().ok_or_else(invalid)?;
    Ok(Some((at, number.to_owned())))
}

fn next_cursor(parcels: &[&Parcel], has_next: bool) -> String {
    match parcels.last() {
        Some(last) if has_next => encode_cursor(last),
        _ => String::new(),
    }
}

/// A page of postings: the parcels, whether more follow, and the time it was rendered at.
type Page<'a> = (Vec<&'a Parcel>, bool, DateTime<Utc>);

/// One page of the seller's postings matching `request`, for FBS or FBO methods.
fn page<'a>(
    app: &App,
    window: &'a Window,
    seller: Seller,
    request: &ListRequest,
    fbo: bool,
    extra: impl Fn(&Parcel, DateTime<Utc>) -> bool,
) -> Result<Page<'a>, OzonError> {
    let Some(filter) = &request.filter else {
        return Err(bad_request("filter is required"));
    };
    let (Some(since), Some(to)) = (filter.since, filter.to) else {
        return Err(bad_request("filter.since and filter.to are required"));
    };
    if to - since > Duration::days(366) {
        return Err(bad_request("PERIOD_IS_TOO_LONG"));
    }
    let limit = request.limit.unwrap_or(0);
    if !(1..=100).contains(&limit) {
        return Err(bad_request("limit must be between 1 and 100"));
    }
    let after = decode_cursor(&request.cursor)?;
    let now = app.sim.now();
    let changed = filter.last_changed_status_date.as_ref();
    // Parcels are sorted by (in_process_at, posting number), the cursor's key: seek to the
    // first one after the cursor (or at `since`) instead of scanning from the start.
    let parcels = window.parcels();
    let start = match &after {
        Some((at, number)) => {
            parcels.partition_point(|p| (p.ordered_at, &p.posting_number) <= (*at, number))
        }
        None => parcels.partition_point(|p| p.ordered_at < since),
    };
    let mut matching = parcels[start..]
        .iter()
        .take_while(|p| p.ordered_at <= to)
        .filter(|p| {
            p.store == seller.0
                && (p.mode == Mode::Fbo) == fbo
                && p.appears_at <= now
                && since <= p.ordered_at
                && (filter.statuses.is_empty()
                    || filter
                        .statuses
                        .iter()
                        .any(|s| s == app.sim.ozon_at(p, now).status))
                && changed.is_none_or(|c| {
                    let last = p.last_changed_at(now);
                    c.from.is_none_or(|f| f <= last) && c.to.is_none_or(|t| last <= t)
                })
                && (filter.order_numbers.is_empty()
                    || filter
                        .order_numbers
                        .iter()
                        .any(|o| p.posting_number.starts_with(o.as_str())))
                && (filter.posting_numbers.is_empty()
                    || filter.posting_numbers.contains(&p.posting_number))
                && extra(p, now)
        });
    // `limit` is 1..=100 here.
    let limit = usize::try_from(limit).unwrap_or(100);
    let parcels: Vec<&Parcel> = matching.by_ref().take(limit).collect();
    let has_next = matching.next().is_some();
    Ok((parcels, has_next, now))
}

/// One list page: the matching parcels rendered by `render`, with the cursor to the next.
fn list<'a, T: serde::Serialize>(
    app: &App,
    window: &'a Window,
    seller: Seller,
    body: &Bytes,
    fbo: bool,
    render: impl Fn(&'a Parcel, DateTime<Utc>, &With) -> T,
) -> Result<Response, OzonError> {
    let request: ListRequest = parse(body)?;
    let (parcels, has_next, now) = page(app, window, seller, &request, fbo, |_, _| true)?;
    let postings = parcels
        .iter()
        .map(|p| render(p, now, &request.with))
        .collect();
    let cursor = next_cursor(&parcels, has_next);
    Ok(Json(ListPage {
        cursor,
        has_next,
        postings,
    })
    .into_response())
}

async fn fbs_list(
    State(app): State<App>,
    Extension(seller): Extension<Seller>,
    body: Bytes,
) -> Result<Response, OzonError> {
    let window = app.sim.window();
    list(&app, &window, seller, &body, false, |p, now, with| {
        fbs_posting(&app, p, now, with)
    })
}

fn is_unfulfilled(sim: &SimState, p: &Parcel, now: DateTime<Utc>) -> bool {
    matches!(
        sim.ozon_at(p, now).status,
        "awaiting_packaging" | "awaiting_deliver"
    )
}

/// Postings still to be shipped: `awaiting_packaging` and `awaiting_deliver`.
async fn fbs_unfulfilled_list(
    State(app): State<App>,
    Extension(seller): Extension<Seller>,
    body: Bytes,
) -> Reply {
    let mut request: ListRequest = parse(&body)?;
    // This method filters by cutoff, not by order time; a year back covers every open one.
    let now = app.sim.now();
    let filter = request.filter.get_or_insert_with(ListFilter::default);
    filter.since = filter.since.or(Some(now - Duration::days(365)));
    filter.to = filter.to.or(Some(now));
    let window = app.sim.window();
    let (parcels, has_next, now) = page(&app, &window, seller, &request, false, |p, now| {
        is_unfulfilled(&app.sim, p, now)
    })?;
    let postings: Vec<_> = parcels
        .iter()
        .map(|p| fbs_posting(&app, p, now, &request.with))
        .collect();
    // `count` is the total number of matches, not the page size (the official example).
    let count = window
        .parcels()
        .iter()
        .filter(|p| p.store == seller.0 && p.mode != Mode::Fbo && p.appears_at <= now)
        .filter(|p| is_unfulfilled(&app.sim, p, now))
        .count();
    let cursor = next_cursor(&parcels, has_next);
    let page = ListPage {
        cursor,
        has_next,
        postings,
    };
    Ok(Json(
        json!({"count": count, "cursor": page.cursor, "has_next": page.has_next, "postings": page.postings}),
    ))
}

#[derive(Debug, Deserialize)]
struct GetRequest {
    posting_number: Option<String>,
    #[serde(default)]
    with: With,
}

fn find<'a>(
    app: &App,
    window: &'a Window,
    seller: Seller,
    body: &Bytes,
    fbo: bool,
) -> Result<(&'a Parcel, With, DateTime<Utc>), OzonError> {
    let request: GetRequest = parse(body)?;
    let Some(number) = request.posting_number.filter(|n| !n.is_empty()) else {
        return Err(bad_request("posting_number is required"));
    };
    let now = app.sim.now();
    match window.parcel(&number, now) {
        Some(p) if p.store == seller.0 && (p.mode == Mode::Fbo) == fbo => {
            Ok((p, request.with, now))
        }
        _ => Err(error(StatusCode::NOT_FOUND, 5, "POSTING_NOT_FOUND")),
    }
}

async fn fbs_get(
    State(app): State<App>,
    Extension(seller): Extension<Seller>,
    body: Bytes,
) -> Reply {
    let window = app.sim.window();
    let (p, with, now) = find(&app, &window, seller, &body, false)?;
    Ok(Json(
        json!({"result": fbs_posting_detail(&app, p, now, &with)}),
    ))
}

async fn fbo_list(
    State(app): State<App>,
    Extension(seller): Extension<Seller>,
    body: Bytes,
) -> Result<Response, OzonError> {
    let window = app.sim.window();
    list(&app, &window, seller, &body, true, |p, now, with| {
        fbo_posting(&app, p, now, with, false)
    })
}

async fn fbo_get(
    State(app): State<App>,
    Extension(seller): Extension<Seller>,
    body: Bytes,
) -> Reply {
    let window = app.sim.window();
    let (p, with, now) = find(&app, &window, seller, &body, true)?;
    Ok(Json(
        json!({"result": fbo_posting(&app, p, now, &with, true)}),
    ))
}

/// `limit` is required (1 or more) on the v2 catalogue methods.
fn check_limit(body: &Bytes) -> Result<(), OzonError> {
    let request: Value = parse(body)?;
    if request
        .get("limit")
        .and_then(Value::as_i64)
        .is_none_or(|l| l < 1)
    {
        return Err(bad_request("limit is required"));
    }
    Ok(())
}

async fn delivery_method_list(State(app): State<App>, body: Bytes) -> Reply {
    check_limit(&body)?;
    let world = &app.sim.world;
    let created = time(world.config.start - Duration::days(90));
    let methods: Vec<Value> = world
        .delivery_methods
        .iter()
        .filter(|m| !world.warehouses[m.warehouse].is_fbo)
        .map(|m| {
            json!({
                "id": m.id,
                "name": m.name,
                "provider_id": m.carrier.tpl_provider_id(),
                "warehouse_id": world.warehouses[m.warehouse].id,
                "template_id": 0,
                "status": "ACTIVE",
                "cutoff": "13:00",
                "sla_cut_in": 1440,
                "is_express": false,
                // The list documents `hybrid` where postings say `hybryd`.
                "tpl_integration_type": if m.integration == "hybryd" { "hybrid" } else { m.integration },
                "tpl_dropoff_point": null,
                "created_at": created,
                "updated_at": created,
            })
        })
        .collect();
    Ok(Json(
        json!({"delivery_methods": methods, "cursor": "", "has_next": false}),
    ))
}

async fn warehouse_list(State(app): State<App>, body: Bytes) -> Reply {
    check_limit(&body)?;
    let world = &app.sim.world;
    let created = time(world.config.start - Duration::days(90));
    let warehouses: Vec<Value> = world
        .warehouses
        .iter()
        .filter(|w| !w.is_fbo)
        .map(|w| {
            json!({
                "warehouse_id": w.id,
                "name": w.name,
                "status": "created",
                "warehouse_type": "FBS",
                "is_rfbs": w.is_rfbs,
                "is_express": false,
                "is_comfort": false,
                "is_kgt": false,
                "is_auto_assembly": false,
                "is_waybill_enabled": false,
                "with_item_list": false,
                "has_entrusted_acceptance": false,
                "has_postings_limit": false,
                "min_postings_limit": 0,
                "postings_limit": -1,
                "sla_cut_in": 1440,
                "cut_in_time": "13:00",
                "phone": "",
                "courier_phones": [],
                "courier_comment": "",
                "carriage_label_type": "UNSPECIFIED",
                "pause_at": null,
                "address_info": {
                    "address": format!("{}, {}", w.city.name_zh, w.name),
                    "latitude": w.city.lat, "longitude": w.city.lon, "utc": "+08:00"
                },
                "first_mile": {
                    "type": "DROP_OFF", "dropoff_point_id": "", "timeslot_id": 0,
                    "timeslot_from": "", "timeslot_to": "", "first_mile_is_changing": false
                },
                "timetable": {
                    "timetable_from": null, "timetable_to": null,
                    "working_hours": [{"time_from": "09:00", "time_to": "18:00"}]
                },
                "working_days": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"],
                "created_at": created,
                "updated_at": created,
            })
        })
        .collect();
    Ok(Json(
        json!({"warehouses": warehouses, "cursor": "", "has_next": false}),
    ))
}

#[derive(Debug, Deserialize)]
struct TrackingNumberSet {
    tracking_numbers: Option<Vec<TrackingPair>>,
}

#[derive(Debug, Deserialize)]
struct TrackingPair {
    posting_number: Option<String>,
    tracking_number: Option<String>,
}

async fn tracking_number_set(
    State(app): State<App>,
    Extension(seller): Extension<Seller>,
    body: Bytes,
) -> Reply {
    let request: TrackingNumberSet = parse(&body)?;
    let pairs = request.tracking_numbers.unwrap_or_default();
    if pairs.is_empty() || pairs.len() > 20 {
        return Err(bad_request("tracking_numbers must hold 1 to 20 items"));
    }
    let now = app.sim.now();
    // Before the lock: moving the window on prunes the uploads.
    let window = app.sim.window();
    let mut uploaded = app
        .sim
        .uploaded_tracking
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let results: Vec<Value> = pairs
        .into_iter()
        .map(|pair| {
            let number = pair.posting_number.unwrap_or_default();
            let track = pair.tracking_number.unwrap_or_default();
            let outcome = match window.parcel(&number, now) {
                _ if track.trim().is_empty() => Err("TRACKING_NUMBER_IS_EMPTY"),
                Some(p) if p.store == seller.0 && p.mode != Mode::Fbo => {
                    if matches!(app.sim.ozon_at(p, now).status, "cancelled" | "delivered") {
                        Err("HAS_INCORRECT_STATUS")
                    } else {
                        uploaded.insert(number.clone(), track.trim().to_owned());
                        Ok(())
                    }
                }
                _ => Err("POSTING_NOT_FOUND"),
            };
            match outcome {
                Ok(()) => json!({"posting_number": number, "result": true, "error": ""}),
                Err(e) => json!({"posting_number": number, "result": false, "error": e}),
            }
        })
        .collect();
    Ok(Json(json!({"result": results})))
}

fn amount(minor: i64) -> String {
    if minor % 100 == 0 {
        (minor / 100).to_string()
    } else {
        format!("{}.{:02}", minor / 100, minor % 100)
    }
}

/// How long a parcel is held up (a stall, a customs hold) before Ozon moves its promise, and by
/// how much it moves it (`TYPE_DELIVERY_DATE_CHANGED`).
pub(crate) const PROMISE_MOVED_AFTER: Duration = Duration::hours(48);
pub(crate) const PROMISE_MOVED_BY: Duration = Duration::days(5);

/// Ozon's own delivery window for the buyer as it stands at `at`: the one promised at the
/// order, moved once a hold-up has lasted [`PROMISE_MOVED_AFTER`].
pub fn promise_at(p: &Parcel, at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let (begin, end) = promised_window(p);
    let moved = p.failures.iter().any(|f| {
        matches!(f.kind, FailureKind::Stall | FailureKind::CustomsHold)
            && f.started_at + PROMISE_MOVED_AFTER <= at
    });
    if moved {
        (begin + PROMISE_MOVED_BY, end + PROMISE_MOVED_BY)
    } else {
        (begin, end)
    }
}

/// Ozon's own delivery window for the buyer, as promised at the order.
pub(crate) fn promised_window(p: &Parcel) -> (DateTime<Utc>, DateTime<Utc>) {
    let days = if p.mode == Mode::Fbo { 5 } else { 18 };
    let begin = (p.ordered_at + Duration::days(days))
        .date_naive()
        .and_hms_opt(7, 0, 0)
        .unwrap_or_default()
        .and_utc();
    (begin, begin + Duration::hours(12))
}

fn tracking_number(app: &App, p: &Parcel, now: DateTime<Utc>) -> String {
    let uploaded = app
        .sim
        .uploaded_tracking
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    uploaded
        .get(&p.posting_number)
        .cloned()
        .unwrap_or_else(|| p.tracking_number_at(now).to_owned())
}

/// A posting as `/v3/posting/fbs/get` shows it: prices as strings, the previous substatus,
/// the carrier's own status text, and the buyer's phone for rFBS.
fn fbs_posting_detail(app: &App, p: &Parcel, now: DateTime<Utc>, with: &With) -> Value {
    // One posting, not a hot path: start from the list shape and adjust it.
    let mut value = serde_json::to_value(fbs_posting(app, p, now, with)).unwrap_or(Value::Null);
    let seen = p.ozon.iter().take_while(|s| s.at <= now).count();
    let previous = seen.checked_sub(2).map_or("", |i| p.ozon[i].substatus);
    let products: Vec<Value> = p
        .products
        .iter()
        .map(|pr| {
            json!({"price": format!("{}.0000", amount(pr.price_minor)), "offer_id": pr.offer_id, "name": pr.name,
                   "sku": pr.sku, "quantity": pr.quantity, "currency_code": "RUB", "is_blr_traceable": false,
                   "is_marketplace_buyout": false, "has_imei": false, "is_weight_needed": false,
                   "weight_min": 0, "weight_max": 0, "jw_uin": [], "mandatory_mark": [],
                   "dimensions": {"height": "120.00", "length": "300.00", "weight": "450", "width": "150.00"}})
        })
        .collect();
    let step = app.sim.ozon_at(p, now);
    let fact = p
        .ozon
        .iter()
        .find(|s| s.substatus == "posting_transferring_to_delivery" && s.at <= now)
        .map_or(Value::Null, |s| json!(time(s.at)));
    let object = value.as_object_mut();
    if let Some(object) = object {
        for key in [
            "delivery_schema",
            "is_click_and_collect",
            "is_presortable",
            "quantum_id",
            "destination_place_id",
            "destination_place_name",
            "volume_weight",
        ] {
            object.remove(key);
        }
        object.insert("previous_substatus".into(), json!(previous));
        object.insert(
            "provider_status".into(),
            json!(provider_status(step.substatus)),
        );
        object.insert("fact_delivery_date".into(), fact);
        object.insert("delivery_price".into(), json!("0"));
        object.insert("products".into(), Value::Array(products));
        object.insert(
            "courier".into(),
            json!({"car_model": "", "car_number": "", "name": "", "phone": ""}),
        );
        object.insert(
            "customer".into(),
            if p.mode == Mode::Rfbs {
                json!(customer(p, true))
            } else {
                Value::Null
            },
        );
        object.insert(
            "addressee".into(),
            if p.mode == Mode::Rfbs {
                json!({"name": buyer_name(p), "phone": buyer_phone(p), "pin": ""})
            } else {
                Value::Null
            },
        );
        object.insert("product_exemplars".into(), Value::Null);
        object.insert(
            "related_postings".into(),
            json!({"related_posting_numbers": []}),
        );
        object.insert("related_weight_postings".into(), json!([]));
        object.insert("additional_data".into(), json!([]));
        object.insert("prr_option".into(), Value::Null);
        object.insert(
            "tariffication".into(),
            json!({"current_tariff_rate": 0, "current_tariff_type": "", "current_tariff_charge": "",
                   "current_tariff_charge_currency_code": "", "next_tariff_rate": 0, "next_tariff_type": "",
                   "next_tariff_charge": "", "next_tariff_starts_at": null, "next_tariff_charge_currency_code": ""}),
        );
    }
    value
}

/// The carrier's own status text Ozon relays (free text in Russian).
fn provider_status(substatus: &str) -> &'static str {
    match substatus {
        "posting_transferring_to_delivery" => "Передано в доставку",
        "posting_on_way_to_city" => "В пути",
        "posting_in_pickup_point" => "Прибыло в пункт выдачи",
        "posting_in_courier_service" => "Передано курьеру",
        "posting_delivered" | "posting_conditionally_delivered" => "Вручено",
        _ => "",
    }
}
