//! The 17TRACK API v2.2 fake: `register`, `gettrackinfo`, `stoptrack`, `retrack` and
//! `getquota` under `/track/v2.2/`, with the `{"code", "data": {"accepted", "rejected"}}`
//! envelope, 40 numbers per call, quota accounting, 3 requests/s per token, and
//! `TRACKING_UPDATED` pushes signed with the `sign` header (`parcel-tracking.md` §3).
//!
//! A stopped number keeps answering with what was known when it was stopped, and is pushed no
//! more, until it is restarted (once).
//!
//! While a carrier is in an outage 17TRACK itself answers, but cannot sync that carrier: its
//! events stop at the outage's start and the provider reports `latest_sync_status: Failure`.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Pruning, RateLimiter, SimState, time};
use crate::carriers::{Carrier, Feed};
use crate::world::{CarrierEvent, EventKind, Parcel, SimLeg};

/// How the fake behaves beyond the world it renders.
#[derive(Debug, Clone)]
pub struct SeventeenTrackConfig {
    /// Requests per second per token (17TRACK: 3).
    pub rate_limit: usize,
    /// Registrations the account may make.
    pub quota_total: u64,
    /// Where `TRACKING_UPDATED` pushes go; `None`: no pushes.
    pub webhook_url: Option<String>,
}

impl Default for SeventeenTrackConfig {
    fn default() -> Self {
        Self {
            rate_limit: 3,
            quota_total: 1_000_000,
            webhook_url: None,
        }
    }
}

#[derive(Debug, Clone)]
struct Registration {
    carrier: Option<u32>,
    tag: Value,
    /// When tracking was stopped: a stopped number's answer stays as it was then.
    stopped: Option<DateTime<Utc>>,
    retracked: bool,
    /// Events already pushed, so a push carries only news.
    pushed_events: usize,
}

/// The fake's state, shared by its routes and its push loop.
#[derive(Debug)]
pub struct SeventeenTrack {
    sim: Arc<SimState>,
    config: SeventeenTrackConfig,
    limiter: RateLimiter,
    registrations: Mutex<HashMap<String, Registration>>,
    /// Numbers whose parcels an endless world has dropped are forgotten with them.
    pruned: Pruning,
    quota_used: Mutex<u64>,
}

const MAX_ITEMS: usize = 40;

impl SeventeenTrack {
    pub fn new(sim: Arc<SimState>, config: SeventeenTrackConfig) -> Arc<Self> {
        let limiter = RateLimiter::new(config.rate_limit);
        Arc::new(Self {
            sim,
            config,
            limiter,
            registrations: Mutex::new(HashMap::new()),
            pruned: Pruning::default(),
            quota_used: Mutex::new(0),
        })
    }

    /// Requests refused for breaking the token's rate limit.
    pub fn refusals(&self) -> u64 {
        self.limiter.refusals().values().sum()
    }

    fn registrations(&self) -> std::sync::MutexGuard<'_, HashMap<String, Registration>> {
        let window = self.sim.window();
        let mut registrations = self
            .registrations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if self.pruned.due(&window) {
            registrations.retain(|number, _| window.carries(number));
        }
        registrations
    }

    /// The routes, under `/track/v2.2/`.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/track/v2.2/register", post(register))
            .route("/track/v2.2/gettrackinfo", post(gettrackinfo))
            .route("/track/v2.2/stoptrack", post(stoptrack))
            .route("/track/v2.2/retrack", post(retrack))
            .route("/track/v2.2/getquota", post(getquota))
            .with_state(self.clone())
    }

    /// Sends one `TRACKING_UPDATED` push for every registered, tracking number whose visible
    /// events grew since its last push. Returns how many pushes were delivered. The loop that
    /// calls this is the caller's; tests call it step by step.
    pub async fn push_once(&self, client: &reqwest::Client) -> usize {
        let Some(url) = &self.config.webhook_url else {
            return 0;
        };
        let now = self.sim.now();
        let due: Vec<(String, Value, usize)> = {
            let registrations = self.registrations();
            registrations
                .iter()
                .filter(|(_, r)| r.stopped.is_none())
                .filter_map(|(number, r)| {
                    let (info, count) = self.track_info(number, now)?;
                    (count > r.pushed_events).then(|| {
                        let data = json!({"number": number, "carrier": r.carrier, "param": null, "tag": r.tag, "track_info": info});
                        (number.clone(), data, count)
                    })
                })
                .collect()
        };
        let mut delivered = 0;
        for (number, data, count) in due {
            let body = json!({"event": "TRACKING_UPDATED", "data": data}).to_string();
            let sign = sign(&body, &self.sim.world.credentials.seventeen_track_token);
            let sent = client
                .post(url)
                .header("content-type", "application/json")
                .header("sign", sign)
                .body(body)
                .send()
                .await;
            if sent.is_ok_and(|r| r.status().is_success()) {
                if let Some(r) = self.registrations().get_mut(&number) {
                    r.pushed_events = count;
                }
                delivered += 1;
            }
        }
        delivered
    }

    /// `track_info` for a number at `now`, and how many events it shows; `None` when the world
    /// has no such number (17TRACK would show "NotFound").
    fn track_info(&self, number: &str, now: DateTime<Utc>) -> Option<(Value, usize)> {
        let window = self.sim.window();
        let legs = window.legs_of(number);
        let (parcel, _) = legs.first()?;
        let mut providers = Vec::new();
        let mut all_events: Vec<(&CarrierEvent, Carrier)> = Vec::new();
        for (_, leg) in &legs {
            // Only what 17TRACK covers: the Chinese carriers, Boxberry, and Russian Post on a
            // direct-mail number.
            if leg.carrier.feed() != Feed::SeventeenTrack && legs.len() == 1 {
                continue;
            }
            let outage = window.outage_at(leg.carrier, now);
            let horizon = outage.map_or(now, |o| o.from);
            let events: Vec<&CarrierEvent> = leg
                .events
                .iter()
                .filter(|e| e.visible_at <= horizon)
                .collect();
            all_events.extend(events.iter().map(|e| (*e, leg.carrier)));
            let rendered: Vec<Value> = events.iter().rev().map(|e| event(e, leg, parcel)).collect();
            providers.push(json!({
                "provider": provider(leg.carrier),
                "service_type": null,
                "latest_sync_status": if outage.is_some() { "Failure" } else { "Success" },
                "latest_sync_time": time(now),
                "events": rendered,
            }));
        }
        all_events.sort_by_key(|(e, _)| e.at);
        let latest = all_events.last();
        let (status, sub_status) = match latest {
            Some((e, _)) => {
                let sub = sub_status(e.kind);
                let quiet = now - e.at;
                if quiet > Duration::days(30)
                    && !matches!(e.kind, EventKind::Delivered | EventKind::Returned)
                {
                    ("Expired", "Expired_Other")
                } else {
                    (sub.split('_').next().unwrap_or(sub), sub)
                }
            }
            None => ("NotFound", "NotFound_Other"),
        };
        let hand_over = parcel.last_mile.as_ref().filter(|last| {
            last.tracking_number != number
                && all_events
                    .iter()
                    .any(|(e, _)| e.kind == EventKind::HandedToLastMile)
        });
        let first_at = all_events.first().map(|(e, _)| e.at);
        let days = |d: Duration| d.num_days().max(0);
        let milestones: Vec<Value> = [
            ("InfoReceived", EventKind::Registered),
            ("PickedUp", EventKind::PickedUp),
            ("Departure", EventKind::DepartedOrigin),
            ("Arrival", EventKind::ArrivedDestination),
            ("AvailableForPickup", EventKind::AtPickupPoint),
            ("OutForDelivery", EventKind::OutForDelivery),
            ("Delivered", EventKind::Delivered),
            ("Returning", EventKind::Returning),
            ("Returned", EventKind::Returned),
        ]
        .into_iter()
        .map(|(key, kind)| {
            let reached = all_events.iter().find(|(e, _)| e.kind == kind);
            json!({
                "key_stage": key,
                "time_iso": reached.map(|(e, _)| iso_local(e.at, e.city)),
                "time_utc": reached.map(|(e, _)| time(e.at)),
                "time_raw": reached.map(|(e, _)| time_raw(e.at, e.city)),
            })
        })
        .collect();
        let info = json!({
            "shipping_info": {
                "shipper_address": address(legs[0].1.events.first().map_or("CN", |e| e.city.country), None),
                "recipient_address": address("RU", Some(parcel.buyer_city)),
            },
            "latest_status": {"status": status, "sub_status": sub_status, "sub_status_descr": null},
            "latest_event": latest.map(|(e, carrier)| {
                let leg = legs.iter().find(|(_, l)| l.carrier == *carrier).map_or(legs[0].1, |(_, l)| *l);
                event(e, leg, parcel)
            }),
            "time_metrics": {
                "days_after_order": days(now - parcel.ordered_at),
                "days_of_transit": first_at.map_or(0, |f| days(now - f)),
                "days_of_transit_done": 0,
                "days_after_last_update": latest.map_or(0, |(e, _)| days(now - e.at)),
                "estimated_delivery_date": {"source": null, "from": null, "to": null},
            },
            "milestone": milestones,
            "misc_info": {
                "risk_factor": 0, "service_type": null, "weight_raw": null, "weight_kg": null,
                "pieces": null, "dimensions": null, "customer_number": null, "reference_number": null,
                "local_number": hand_over.map(|l| l.tracking_number.as_str()),
                "local_provider": hand_over.map(|l| l.carrier.display_name()),
                "local_key": hand_over.and_then(|l| l.carrier.seventeen_track_key()),
            },
            "tracking": {"providers_hash": providers.len(), "providers": providers},
        });
        Some((info, all_events.len()))
    }
}

/// `sign` = lowercase hex SHA-256 of the raw body, `/`, and the API key.
pub fn sign(body: &str, key: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(body.as_bytes());
    hasher.update(b"/");
    hasher.update(key.as_bytes());
    hex::encode(hasher.finalize())
}

fn provider(carrier: Carrier) -> Value {
    json!({
        "key": carrier.seventeen_track_key(),
        "name": carrier.display_name(),
        "alias": carrier.display_name(),
        "tel": null,
        "homepage": null,
        "country": match carrier { Carrier::RussianPost | Carrier::Cdek | Carrier::Boxberry | Carrier::Ozon => "RU", _ => "CN" },
    })
}

/// 17TRACK's sub-status for what happened (its main status is the part before `_`).
fn sub_status(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Registered => "InfoReceived",
        EventKind::PickedUp => "InTransit_PickedUp",
        EventKind::DepartedOrigin => "InTransit_Departure",
        EventKind::ArrivedDestination => "InTransit_Arrival",
        EventKind::CustomsProcessing => "InTransit_CustomsProcessing",
        EventKind::CustomsHeld => "InTransit_CustomsRequiringInformation",
        EventKind::CustomsReleased => "InTransit_CustomsReleased",
        EventKind::AtPickupPoint => "AvailableForPickup_Other",
        EventKind::OutForDelivery => "OutForDelivery_Other",
        EventKind::Delivered => "Delivered_Other",
        EventKind::DeliveryFailed => "DeliveryFailure_NoBody",
        EventKind::Returning => "Exception_Returning",
        EventKind::Returned => "Exception_Returned",
        EventKind::Lost => "Exception_Lost",
        EventKind::ArrivedHub
        | EventKind::DepartedHub
        | EventKind::ExportCustoms
        | EventKind::HandedToLastMile
        | EventKind::ArrivedSortCenter
        | EventKind::DepartedSortCenter => "InTransit_Other",
    }
}

fn stage(kind: EventKind) -> Option<&'static str> {
    match kind {
        EventKind::Registered => Some("InfoReceived"),
        EventKind::PickedUp => Some("PickedUp"),
        EventKind::DepartedOrigin => Some("Departure"),
        EventKind::ArrivedDestination => Some("Arrival"),
        EventKind::AtPickupPoint => Some("AvailableForPickup"),
        EventKind::OutForDelivery => Some("OutForDelivery"),
        EventKind::Delivered => Some("Delivered"),
        EventKind::Returning => Some("Returning"),
        EventKind::Returned => Some("Returned"),
        _ => None,
    }
}

fn description(kind: EventKind, leg: &SimLeg, parcel: &Parcel) -> String {
    let chinese = leg.carrier.feed() == Feed::SeventeenTrack && leg.carrier != Carrier::Boxberry;
    match (kind, chinese) {
        (EventKind::Registered, true) => "【电子信息已收到】Shipment information received".into(),
        (EventKind::PickedUp, true) => "【已揽收】Picked up by courier".into(),
        (EventKind::ArrivedHub, true) => "【到达分拣中心】Arrived at sorting center".into(),
        (EventKind::DepartedHub, true) => "【离开分拣中心】Departed from sorting center".into(),
        (EventKind::ExportCustoms, true) => {
            "【出口清关完成】Export customs clearance completed".into()
        }
        (EventKind::DepartedOrigin, true) => "【离开始发国】Departed from origin country".into(),
        (EventKind::ArrivedDestination, _) => "Arrived at destination country".into(),
        (EventKind::CustomsProcessing, _) => "Import customs clearance started".into(),
        (EventKind::CustomsHeld, _) => "Held by customs: documents required".into(),
        (EventKind::CustomsReleased, _) => "Import customs clearance completed".into(),
        (EventKind::HandedToLastMile, _) => match &parcel.last_mile {
            Some(last) if last.tracking_number != leg.tracking_number => format!(
                "Handed over to last mile carrier {}, tracking number {}",
                last.carrier.display_name(),
                last.tracking_number
            ),
            _ => "Handed over to last mile carrier Ozon".into(),
        },
        (EventKind::ArrivedSortCenter, _) => "Прибыло в сортировочный центр".into(),
        (EventKind::DepartedSortCenter, _) => "Покинуло сортировочный центр".into(),
        (EventKind::AtPickupPoint, _) => "Прибыло в пункт выдачи".into(),
        (EventKind::OutForDelivery, _) => "Передано курьеру".into(),
        (EventKind::Delivered, _) => "Вручено адресату".into(),
        (EventKind::DeliveryFailed, _) => "Неудачная попытка вручения".into(),
        (EventKind::Returning, _) => "Возврат отправителю".into(),
        (EventKind::Returned, _) => "Вручено отправителю".into(),
        (EventKind::Lost, _) => "Утрачено".into(),
        (other, false) => format!("{other:?}"),
    }
}

fn iso_local(t: DateTime<Utc>, city: &ozontrack_domain::gazetteer::City) -> String {
    t.with_timezone(&city.utc_offset())
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn time_raw(t: DateTime<Utc>, city: &ozontrack_domain::gazetteer::City) -> Value {
    let local = t.with_timezone(&city.utc_offset());
    json!({"date": local.format("%Y-%m-%d").to_string(), "time": local.format("%H:%M:%S").to_string(), "timezone": local.format("%:z").to_string()})
}

fn address(country: &str, city: Option<&ozontrack_domain::gazetteer::City>) -> Value {
    json!({
        "country": country,
        "state": city.map(|c| c.region),
        "city": city.map(|c| c.name),
        "street": null,
        "postal_code": null,
        "coordinates": {"longitude": city.map(|c| c.lon), "latitude": city.map(|c| c.lat)},
    })
}

fn event(e: &CarrierEvent, leg: &SimLeg, parcel: &Parcel) -> Value {
    json!({
        "time_iso": iso_local(e.at, e.city),
        "time_utc": time(e.at),
        "time_raw": time_raw(e.at, e.city),
        "description": description(e.kind, leg, parcel),
        "description_translation": null,
        "location": format!("{}, {}", e.city.name.to_uppercase(), e.city.country),
        "stage": stage(e.kind),
        "sub_status": sub_status(e.kind),
        "address": {
            "country": e.city.country, "state": null, "city": e.city.name, "street": null,
            "postal_code": null, "coordinates": {"longitude": e.city.lon, "latitude": e.city.lat},
        },
    })
}

// ---- HTTP -------------------------------------------------------------------------------

/// A 17TRACK error: `{"code", "data": {"errors": [...]}}`. 17TRACK reports errors inside a
/// 200 envelope, except for authentication and rate limits.
#[derive(Debug)]
pub(crate) struct TrackError {
    status: StatusCode,
    code: i64,
    message: String,
}

impl IntoResponse for TrackError {
    fn into_response(self) -> Response {
        failure(self.status, self.code, &self.message)
    }
}

fn track_error(status: StatusCode, code: i64, message: &str) -> TrackError {
    TrackError {
        status,
        code,
        message: message.to_owned(),
    }
}

type Reply = Result<Response, TrackError>;

fn failure(status: StatusCode, code: i64, message: &str) -> Response {
    (
        status,
        Json(json!({"code": code, "data": {"errors": [{"code": code, "message": message}]}})),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct Item {
    number: Option<String>,
    carrier: Option<u32>,
    #[serde(default)]
    tag: Value,
}

/// Checks the token and the rate limit; every endpoint starts here.
fn authorize(fake: &SeventeenTrack, headers: &HeaderMap) -> Result<(), TrackError> {
    let token = headers
        .get("17token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if token != fake.sim.world.credentials.seventeen_track_token {
        // 17TRACK's code for a wrong key is not in the reference; this one is ours.
        return Err(track_error(
            StatusCode::UNAUTHORIZED,
            -18_010_002,
            "Invalid access key.",
        ));
    }
    if !fake.limiter.allow(0) {
        return Err(track_error(
            StatusCode::TOO_MANY_REQUESTS,
            -18_010_012,
            "Request frequency exceeded.",
        ));
    }
    Ok(())
}

/// Authorizes the request and parses its item array (at most 40).
fn items(
    fake: &SeventeenTrack,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Vec<Item>, TrackError> {
    authorize(fake, headers)?;
    let items: Vec<Item> = serde_json::from_slice(if body.is_empty() { b"[]" } else { body })
        .map_err(|e| {
            track_error(
                StatusCode::OK,
                -18_010_003,
                &format!("Invalid request body: {e}"),
            )
        })?;
    if items.len() > MAX_ITEMS {
        return Err(track_error(
            StatusCode::OK,
            -18_010_014,
            "The number of items exceeds the limit of 40.",
        ));
    }
    Ok(items)
}

fn rejected(number: &str, code: i64, message: &str) -> Value {
    json!({"number": number, "error": {"code": code, "message": message}})
}

fn envelope(accepted: &[Value], rejected: &[Value]) -> Response {
    Json(json!({"code": 0, "data": {"accepted": accepted, "rejected": rejected}})).into_response()
}

/// The carrier 17TRACK detects for a number: the world's carrier of its first leg.
fn detected_carrier(fake: &SeventeenTrack, number: &str) -> Option<u32> {
    fake.sim
        .window()
        .legs_of(number)
        .first()
        .and_then(|(_, leg)| leg.carrier.seventeen_track_key())
}

async fn register(
    State(fake): State<Arc<SeventeenTrack>>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let items = items(&fake, &headers, &body)?;
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    let mut registrations = fake.registrations();
    let mut used = fake
        .quota_used
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    for item in items {
        let number = item.number.unwrap_or_default().trim().to_ascii_uppercase();
        if !(5..=50).contains(&number.len()) || !number.bytes().all(|b| b.is_ascii_alphanumeric()) {
            bad.push(rejected(
                &number,
                -18_019_903,
                "The tracking number is invalid.",
            ));
            continue;
        }
        let carrier = item.carrier.or_else(|| detected_carrier(&fake, &number));
        match registrations.entry(number.clone()) {
            Entry::Occupied(_) => {
                let message = "The tracking number is already registered.";
                bad.push(rejected(&number, -18_019_901, message));
            }
            Entry::Vacant(_) if *used >= fake.config.quota_total => {
                bad.push(rejected(&number, -18_019_908, "Quota exhausted."));
            }
            Entry::Vacant(slot) => {
                *used += 1;
                ok.push(
                    json!({"number": number, "carrier": carrier, "origin": 1, "tag": item.tag}),
                );
                slot.insert(Registration {
                    carrier,
                    tag: item.tag,
                    stopped: None,
                    retracked: false,
                    pushed_events: 0,
                });
            }
        }
    }
    Ok(envelope(&ok, &bad))
}

async fn gettrackinfo(
    State(fake): State<Arc<SeventeenTrack>>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let items = items(&fake, &headers, &body)?;
    let now = fake.sim.now();
    // Only the asked numbers' registrations are copied out of the lock.
    let asked: Vec<(Item, String)> = items
        .into_iter()
        .map(|item| {
            let number = item
                .number
                .clone()
                .unwrap_or_default()
                .trim()
                .to_ascii_uppercase();
            (item, number)
        })
        .collect();
    let registrations: HashMap<String, Registration> = {
        let all = fake.registrations();
        asked
            .iter()
            .filter_map(|(_, n)| all.get(n).map(|r| (n.clone(), r.clone())))
            .collect()
    };
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    for (item, number) in asked {
        let Some(registration) = registrations.get(&number) else {
            bad.push(rejected(
                &number,
                -18_019_902,
                "The tracking number is not registered.",
            ));
            continue;
        };
        let right_carrier = item.carrier.is_none_or(|c| Some(c) == registration.carrier)
            && registration.carrier == detected_carrier(&fake, &number);
        let info = right_carrier
            .then(|| fake.track_info(&number, registration.stopped.unwrap_or(now)))
            .flatten()
            .map_or_else(not_found, |(info, _)| info);
        ok.push(json!({"number": number, "carrier": registration.carrier, "param": null, "tag": registration.tag, "track_info": info}));
    }
    Ok(envelope(&ok, &bad))
}

/// What 17TRACK shows for a number its carrier does not know.
fn not_found() -> Value {
    json!({
        "shipping_info": {"shipper_address": address("", None), "recipient_address": address("", None)},
        "latest_status": {"status": "NotFound", "sub_status": "NotFound_Other", "sub_status_descr": null},
        "latest_event": null,
        "time_metrics": {"days_after_order": 0, "days_of_transit": 0, "days_of_transit_done": 0, "days_after_last_update": 0,
                         "estimated_delivery_date": {"source": null, "from": null, "to": null}},
        "milestone": [],
        "misc_info": {"risk_factor": 0, "service_type": null, "weight_raw": null, "weight_kg": null, "pieces": null,
                      "dimensions": null, "customer_number": null, "reference_number": null,
                      "local_number": null, "local_provider": null, "local_key": null},
        "tracking": {"providers_hash": 0, "providers": []},
    })
}

async fn stoptrack(
    State(fake): State<Arc<SeventeenTrack>>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    change_tracking(&fake, &headers, &body, true)
}

async fn retrack(
    State(fake): State<Arc<SeventeenTrack>>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    change_tracking(&fake, &headers, &body, false)
}

fn change_tracking(fake: &SeventeenTrack, headers: &HeaderMap, body: &Bytes, stop: bool) -> Reply {
    let items = items(fake, headers, body)?;
    let now = fake.sim.now();
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    let mut registrations = fake.registrations();
    for item in items {
        let number = item.number.unwrap_or_default().trim().to_ascii_uppercase();
        let Some(registration) = registrations.get_mut(&number) else {
            bad.push(rejected(
                &number,
                -18_019_902,
                "The tracking number is not registered.",
            ));
            continue;
        };
        let outcome = match (stop, registration.stopped.is_some(), registration.retracked) {
            (true, true, _) => Err((-18_019_906, "The tracking number is already stopped.")),
            (true, false, _) => {
                registration.stopped = Some(now);
                Ok(())
            }
            (false, false, _) => Err((-18_019_904, "Only stopped numbers can be retracked.")),
            (false, true, true) => Err((
                -18_019_905,
                "The tracking number can be retracked only once.",
            )),
            (false, true, false) => {
                registration.stopped = None;
                registration.retracked = true;
                Ok(())
            }
        };
        match outcome {
            Ok(()) => ok.push(json!({"number": number, "carrier": registration.carrier})),
            Err((code, message)) => bad.push(rejected(&number, code, message)),
        }
    }
    Ok(envelope(&ok, &bad))
}

/// `getquota` takes no items, only the token.
async fn getquota(State(fake): State<Arc<SeventeenTrack>>, headers: HeaderMap) -> Reply {
    authorize(&fake, &headers)?;
    let used = *fake
        .quota_used
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let total = fake.config.quota_total;
    Ok(Json(json!({"code": 0, "data": {
        "quota_total": total, "quota_used": used, "quota_remain": total.saturating_sub(used),
        "today_used": used, "max_track_daily": total, "free_email_quota": 0, "free_email_quotaused": 0,
    }}))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_sha256_of_body_slash_key() {
        // sha256("{}/key"), computed independently with sha256sum.
        assert_eq!(
            sign("{}", "key"),
            "461a224c100d7b686157238995a9c7bd82a226ec5c8e51a4aa00518eb432f61f"
        );
    }
}
