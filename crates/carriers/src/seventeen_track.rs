//! 17TRACK API v2.2, the aggregator for the Chinese first-mile carriers (and Boxberry):
//! `register`, `gettrackinfo`, `stoptrack`, `retrack`, `getquota` (40 numbers per call), and the
//! `TRACKING_UPDATED` push with its `sign` header (`parcel-tracking.md` §3).
//!
//! Every event carries its own 17TRACK sub-status; the crosswalk is
//! [`ozontrack_domain::crosswalk::from_17track`], which keeps sub-statuses it does not know.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ozontrack_domain::carrier::{self, CarrierInfo};
use ozontrack_domain::{EventSource, GeoPoint, TrackingEvent, crosswalk};
use ozontrack_http::RateLimiter;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{CarrierError, DecodeError, HandOver, Tracked, locate, retry_after, transport};

/// Numbers per call on every batch endpoint.
pub const BATCH: usize = 40;

const FEED: &str = "17track";

/// 17TRACK's error codes we act on (`parcel-tracking.md` §3).
pub mod codes {
    /// Already registered: as good as a registration.
    pub const ALREADY_REGISTERED: i64 = -18_019_901;
    pub const NOT_REGISTERED: i64 = -18_019_902;
    pub const ALREADY_STOPPED: i64 = -18_019_906;
    pub const DAILY_LIMIT: i64 = -18_019_907;
    pub const QUOTA_EXHAUSTED: i64 = -18_019_908;
    pub const IP_NOT_ALLOWED: i64 = -18_010_001;
    /// A wrong key: not in the reference, the sandbox's choice.
    pub const INVALID_KEY: i64 = -18_010_002;
    pub const RATE_LIMITED: i64 = -18_010_012;
}

// ---- Parsing -----------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct WireItem {
    number: Option<String>,
    carrier: Option<Value>,
    track_info: Option<WireTrackInfo>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireTrackInfo {
    latest_status: Option<WireLatestStatus>,
    misc_info: Option<WireMisc>,
    tracking: Option<WireTracking>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireLatestStatus {
    status: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireMisc {
    local_number: Option<String>,
    local_provider: Option<String>,
    local_key: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireTracking {
    providers: Option<Vec<WireProvider>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireProvider {
    provider: Option<WireProviderInfo>,
    latest_sync_status: Option<String>,
    events: Option<Vec<WireEvent>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireProviderInfo {
    key: Option<Value>,
    name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireEvent {
    time_iso: Option<String>,
    time_utc: Option<String>,
    description: Option<String>,
    location: Option<String>,
    sub_status: Option<String>,
    address: Option<WireAddress>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireAddress {
    country: Option<String>,
    city: Option<String>,
    coordinates: Option<WireCoordinates>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireCoordinates {
    longitude: Option<f64>,
    latitude: Option<f64>,
}

/// A number or a numeric string, as 17TRACK writes keys in different places.
fn key(value: Option<&Value>) -> Option<u32> {
    match value? {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn time(e: &WireEvent) -> Option<DateTime<Utc>> {
    [e.time_utc.as_deref(), e.time_iso.as_deref()]
        .into_iter()
        .flatten()
        .find_map(|t| DateTime::parse_from_rfc3339(t.trim()).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn event(e: &WireEvent) -> Option<TrackingEvent> {
    let occurred_at = time(e)?;
    let sub = e.sub_status.as_deref().unwrap_or("").trim();
    let main = sub.split('_').next().unwrap_or(sub);
    let address = e.address.as_ref();
    let point = address
        .and_then(|a| a.coordinates.as_ref())
        .and_then(|c| GeoPoint::new(c.latitude?, c.longitude?).ok());
    let location = locate(
        e.location.as_deref(),
        address.and_then(|a| a.city.as_deref()),
        address.and_then(|a| a.country.as_deref()),
        point,
    );
    Some(TrackingEvent::new(
        EventSource::SeventeenTrack,
        occurred_at,
        crosswalk::from_17track(main, sub),
        sub,
        e.description.as_deref().unwrap_or("").trim(),
        location,
    ))
}

fn tracked(item: WireItem) -> Tracked {
    let number = item.number.unwrap_or_default().trim().to_ascii_uppercase();
    let mut out = Tracked::empty(&number);
    out.carrier = key(item.carrier.as_ref()).and_then(carrier::by_seventeen_track_key);
    let Some(info) = item.track_info else {
        out.not_found = true;
        return out;
    };
    for provider in info.tracking.and_then(|t| t.providers).unwrap_or_default() {
        if provider.latest_sync_status.as_deref() == Some("Failure") {
            let info = provider.provider.unwrap_or_default();
            let name = key(info.key.as_ref())
                .and_then(carrier::by_seventeen_track_key)
                .map(|c| c.code.to_owned())
                .or(info.name)
                .unwrap_or_else(|| "unknown".to_owned());
            out.stale_carriers.push(name);
        }
        // 17TRACK lists each provider's events newest first.
        let mut events: Vec<TrackingEvent> = provider
            .events
            .unwrap_or_default()
            .iter()
            .filter_map(event)
            .collect();
        events.reverse();
        out.events.extend(events);
    }
    out.sort_events();
    let status = info.latest_status.and_then(|s| s.status);
    out.not_found = out.events.is_empty() && status.as_deref().is_none_or(|s| s == "NotFound");
    if let Some(misc) = info.misc_info {
        let local = misc
            .local_number
            .map(|n| n.trim().to_ascii_uppercase())
            .filter(|n| !n.is_empty() && *n != number);
        if let Some(local) = local {
            let by_key = key(misc.local_key.as_ref()).and_then(carrier::by_seventeen_track_key);
            let by_name = || misc.local_provider.as_deref().and_then(carrier::by_name);
            out.hand_over = Some(HandOver {
                number: local,
                carrier: by_key.or_else(by_name),
                provider_name: misc.local_provider,
            });
        }
    }
    out
}

/// A number 17TRACK refused, with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub number: String,
    pub code: i64,
    pub message: String,
}

#[derive(Debug, Deserialize)]
struct WireEnvelope {
    code: Option<i64>,
    data: Option<WireData>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireData {
    accepted: Option<Vec<Value>>,
    rejected: Option<Vec<WireRejected>>,
    errors: Option<Vec<WireError>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireRejected {
    number: Option<String>,
    error: Option<WireError>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireError {
    code: Option<i64>,
    message: Option<String>,
}

fn decode_error(kind: &'static str, e: &serde_json::Error) -> DecodeError {
    DecodeError {
        kind,
        path: format!("line {}, column {}", e.line(), e.column()),
        reason: e.to_string(),
    }
}

/// The envelope's accepted items (raw) and rejections, or the envelope's own error.
fn envelope(kind: &'static str, body: &[u8]) -> Result<(Vec<Value>, Vec<Rejection>), CarrierError> {
    let wire: WireEnvelope = serde_json::from_slice(body).map_err(|e| decode_error(kind, &e))?;
    let data = wire.data.unwrap_or_default();
    let code = wire.code.unwrap_or(0);
    if code != 0 {
        let error = data.errors.unwrap_or_default().into_iter().next();
        return Err(envelope_error(
            code,
            error.and_then(|e| e.message).unwrap_or_default(),
        ));
    }
    let rejected = data
        .rejected
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            let error = r.error.unwrap_or_default();
            Rejection {
                number: r.number.unwrap_or_default(),
                code: error.code.unwrap_or(0),
                message: error.message.unwrap_or_default(),
            }
        })
        .collect();
    Ok((data.accepted.unwrap_or_default(), rejected))
}

fn envelope_error(code: i64, message: String) -> CarrierError {
    match code {
        codes::RATE_LIMITED => CarrierError::RateLimited {
            feed: FEED,
            retry_after: None,
        },
        codes::IP_NOT_ALLOWED | codes::INVALID_KEY => CarrierError::Auth {
            feed: FEED,
            message,
        },
        _ => CarrierError::Rejected {
            feed: FEED,
            code: code.to_string(),
            message,
        },
    }
}

/// Reads a `gettrackinfo` answer: what 17TRACK knows of each accepted number, and the
/// numbers it refused.
pub fn parse_track_info(body: &[u8]) -> Result<(Vec<Tracked>, Vec<Rejection>), CarrierError> {
    let kind = "17track-trackinfo";
    let (accepted, rejected) = envelope(kind, body)?;
    let mut out = Vec::with_capacity(accepted.len());
    let digest = crate::payload_digest(body);
    for (i, item) in accepted.into_iter().enumerate() {
        let item: WireItem = serde_json::from_value(item).map_err(|e| DecodeError {
            kind,
            path: format!("data.accepted[{i}]"),
            reason: e.to_string(),
        })?;
        out.push(crate::with_digest(tracked(item), &digest));
    }
    Ok((out, rejected))
}

/// What a 17TRACK push said.
#[derive(Debug, Clone, PartialEq)]
pub struct Push {
    /// `TRACKING_UPDATED` or `TRACKING_STOPPED` (others are kept as they come).
    pub event: String,
    pub tracked: Tracked,
}

#[derive(Debug, Deserialize)]
struct WirePush {
    event: Option<String>,
    data: Option<WireItem>,
}

/// Reads a push body (after its signature was checked).
pub fn parse_push(body: &[u8]) -> Result<Push, DecodeError> {
    let kind = "17track-push";
    let wire: WirePush = serde_json::from_slice(body).map_err(|e| decode_error(kind, &e))?;
    let data = wire.data.ok_or_else(|| DecodeError {
        kind,
        path: "data".into(),
        reason: "missing".into(),
    })?;
    if data.number.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(DecodeError {
            kind,
            path: "data.number".into(),
            reason: "missing".into(),
        });
    }
    let mut tracked = crate::with_digest(tracked(data), &crate::payload_digest(body));
    if wire.event.as_deref() == Some("TRACKING_STOPPED") {
        // A stop notice carries no news; what it does carry is not a "not found".
        tracked.not_found = false;
    }
    Ok(Push {
        event: wire.event.unwrap_or_default(),
        tracked,
    })
}

/// The push signature: lowercase hex SHA-256 of the raw body, `/`, and the API key.
pub fn sign(body: &[u8], key: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(body);
    hasher.update(b"/");
    hasher.update(key.as_bytes());
    hex::encode(hasher.finalize())
}

/// Whether `signature` is the right one for `body`, compared in constant time.
pub fn verify(body: &[u8], signature: &str, key: &str) -> bool {
    let expected = sign(body, key);
    let given = signature.trim().to_ascii_lowercase();
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

// ---- Client ------------------------------------------------------------------------------

/// Requests per second 17TRACK allows a token.
pub const RATE_LIMIT: usize = 3;

/// One 17TRACK account. Clones share the account's rate limiter.
#[derive(Debug, Clone)]
pub struct SeventeenTrackClient {
    http: reqwest::Client,
    base_url: String,
    token: SecretString,
    limiter: Arc<RateLimiter>,
}

/// A number to register, with our carrier's key when we know it (17TRACK detects otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub number: String,
    pub carrier: Option<u32>,
    /// Echoed back in pushes: our leg id.
    pub tag: String,
}

/// Account balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Quota {
    pub quota_total: i64,
    pub quota_used: i64,
    pub quota_remain: i64,
}

impl SeventeenTrackClient {
    /// `base_url` without the `/track/v2.2` part (e.g. `https://api.17track.net`).
    pub fn new(http: reqwest::Client, base_url: &str, token: SecretString) -> Self {
        Self::with_rate_limit(http, base_url, token, RATE_LIMIT)
    }

    /// A client allowed `per_second` requests (an account with a higher limit, or the sandbox).
    pub fn with_rate_limit(
        http: reqwest::Client,
        base_url: &str,
        token: SecretString,
        per_second: usize,
    ) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            token,
            limiter: Arc::new(RateLimiter::new(per_second)),
        }
    }

    async fn call(&self, endpoint: &str, body: &Value) -> Result<Vec<u8>, CarrierError> {
        let url = format!("{}/track/v2.2/{endpoint}", self.base_url);
        // Held until the answer is in (and a second after): see `ozontrack_http::limit`.
        let _permit = self.limiter.acquire().await;
        let response = self
            .http
            .post(url)
            .header("17token", self.token.expose_secret())
            .json(body)
            .send()
            .await
            .map_err(|e| transport(FEED, &e))?;
        let status = response.status();
        let after = retry_after(response.headers());
        let bytes = response.bytes().await.map_err(|e| transport(FEED, &e))?;
        match status.as_u16() {
            200..=299 => Ok(bytes.to_vec()),
            401 | 403 => Err(CarrierError::Auth {
                feed: FEED,
                message: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
            }),
            429 => Err(CarrierError::RateLimited {
                feed: FEED,
                retry_after: after,
            }),
            code => Err(CarrierError::Unavailable {
                feed: FEED,
                reason: format!("HTTP {code}"),
            }),
        }
    }

    fn numbers(numbers: &[(String, Option<u32>)]) -> Value {
        Value::Array(
            numbers
                .iter()
                .map(|(n, c)| json!({"number": n, "carrier": c}))
                .collect(),
        )
    }

    /// Registers up to [`BATCH`] numbers; an already registered number counts as accepted.
    /// Returns the accepted numbers with the carrier 17TRACK chose, and the refusals.
    pub async fn register(
        &self,
        items: &[Registration],
    ) -> Result<(Vec<(String, Option<&'static CarrierInfo>)>, Vec<Rejection>), CarrierError> {
        let body = Value::Array(
            items
                .iter()
                .map(|r| json!({"number": r.number, "carrier": r.carrier, "tag": r.tag}))
                .collect(),
        );
        let bytes = self.call("register", &body).await?;
        let (accepted, rejected) = envelope("17track-register", &bytes)?;
        let mut ok: Vec<(String, Option<&'static CarrierInfo>)> = accepted
            .iter()
            .map(|a| {
                let number = a["number"].as_str().unwrap_or("").to_owned();
                (
                    number,
                    key(a.get("carrier")).and_then(carrier::by_seventeen_track_key),
                )
            })
            .collect();
        // Out of quota is the account's trouble, not the number's: the feed fails as a whole
        // (and backs off) rather than each number being refused.
        if let Some(r) = rejected
            .iter()
            .find(|r| matches!(r.code, codes::QUOTA_EXHAUSTED | codes::DAILY_LIMIT))
        {
            return Err(CarrierError::Rejected {
                feed: FEED,
                code: r.code.to_string(),
                message: r.message.clone(),
            });
        }
        let (again, refused): (Vec<Rejection>, Vec<Rejection>) = rejected
            .into_iter()
            .partition(|r| r.code == codes::ALREADY_REGISTERED);
        ok.extend(again.into_iter().map(|r| (r.number, None)));
        Ok((ok, refused))
    }

    /// Everything 17TRACK knows of up to [`BATCH`] registered numbers.
    pub async fn track_info(
        &self,
        numbers: &[(String, Option<u32>)],
    ) -> Result<(Vec<Tracked>, Vec<Rejection>), CarrierError> {
        let bytes = self.call("gettrackinfo", &Self::numbers(numbers)).await?;
        parse_track_info(&bytes)
    }

    /// Stops tracking (a final leg costs nothing more); already stopped counts as done.
    pub async fn stop(
        &self,
        numbers: &[(String, Option<u32>)],
    ) -> Result<Vec<Rejection>, CarrierError> {
        let bytes = self.call("stoptrack", &Self::numbers(numbers)).await?;
        let (_, rejected) = envelope("17track-stoptrack", &bytes)?;
        Ok(rejected
            .into_iter()
            .filter(|r| r.code != codes::ALREADY_STOPPED)
            .collect())
    }

    /// Restarts tracking of stopped numbers (17TRACK allows it once per number).
    pub async fn retrack(
        &self,
        numbers: &[(String, Option<u32>)],
    ) -> Result<Vec<Rejection>, CarrierError> {
        let bytes = self.call("retrack", &Self::numbers(numbers)).await?;
        Ok(envelope("17track-retrack", &bytes)?.1)
    }

    /// The account's balance.
    pub async fn quota(&self) -> Result<Quota, CarrierError> {
        let bytes = self.call("getquota", &json!({})).await?;
        let wire: Value =
            serde_json::from_slice(&bytes).map_err(|e| decode_error("17track-getquota", &e))?;
        if let Some(code) = wire["code"].as_i64().filter(|c| *c != 0) {
            let message = wire["data"]["errors"][0]["message"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            return Err(envelope_error(code, message));
        }
        serde_json::from_value(wire["data"].clone()).map_err(|e| {
            DecodeError {
                kind: "17track-getquota",
                path: "data".into(),
                reason: e.to_string(),
            }
            .into()
        })
    }
}
