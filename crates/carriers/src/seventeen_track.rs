//! 17TRACK API v2.2, the aggregator for the Chinese first-mile carriers (and Boxberry):
//! `register`, `gettrackinfo`, `stoptrack`, `retrack`, `getquota` (40 numbers per call), and the
//! `TRACKING_UPDATED` push with its `sign` header (`parcel-tracking.md` §3).
//!
//! Every event carries its own 17TRACK sub-status; the crosswalk is
//! [`ozontrack_domain::crosswalk::from_17track`], which keeps sub-statuses it does not know.

use std::sync::Arc;

use ozontrack_domain::carrier::{self, CarrierInfo};
use ozontrack_domain::{EventSource, GeoPoint, TrackingEvent, crosswalk};
use ozontrack_http::lenient::{self, Notes, Obj, Refused, Unreadable};
use ozontrack_http::{RateLimiter, SharedLimit};
use secrecy::{ExposeSecret, SecretString};
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
    /// `retrack` of a number that is not stopped: it is being tracked already.
    pub const NOT_STOPPED: i64 = -18_019_904;
    /// `retrack` of a number restarted before: 17TRACK restarts a number once.
    pub const RETRACKED_ONCE: i64 = -18_019_905;
    pub const ALREADY_STOPPED: i64 = -18_019_906;
    pub const DAILY_LIMIT: i64 = -18_019_907;
    pub const QUOTA_EXHAUSTED: i64 = -18_019_908;
    pub const IP_NOT_ALLOWED: i64 = -18_010_001;
    /// A wrong key: not in the reference, the sandbox's choice.
    pub const INVALID_KEY: i64 = -18_010_002;
    pub const RATE_LIMITED: i64 = -18_010_012;
}

// ---- Parsing -----------------------------------------------------------------------------

/// A number or a numeric string, as 17TRACK writes keys in different places.
fn key(o: &Obj<'_>, field: &str) -> Option<u32> {
    o.int(field).and_then(|n| u32::try_from(n).ok())
}

/// One event; refused (the item, not the answer) without a readable time. `time_utc` is
/// preferred; `time_iso` is taken when it carries its offset.
fn event(e: &Obj<'_>) -> Result<TrackingEvent, Refused> {
    let occurred_at = match e
        .raw("time_utc")
        .and_then(|_| e.required_time("time_utc").ok())
    {
        Some(t) => t,
        None => e.required_time("time_iso")?,
    };
    let sub = e.text("sub_status");
    let sub = sub.trim();
    let main = sub.split('_').next().unwrap_or(sub);
    let address = e.obj("address");
    let point = address
        .as_ref()
        .and_then(|a| a.obj("coordinates"))
        .and_then(|c| GeoPoint::new(c.float("latitude")?, c.float("longitude")?).ok());
    let text = |o: Option<&Obj<'_>>, key: &str| o.and_then(|o| o.opt_text(key));
    let location = locate(
        e.opt_text("location").as_deref(),
        text(address.as_ref(), "city").as_deref(),
        text(address.as_ref(), "country").as_deref(),
        point,
    );
    Ok(TrackingEvent::new(
        EventSource::SeventeenTrack,
        occurred_at,
        crosswalk::from_17track(main, sub),
        sub,
        e.text("description").trim(),
        location,
    ))
}

/// One accepted number's answer; refused without its number.
fn tracked(item: &Obj<'_>) -> Result<Tracked, Refused> {
    let number = item.required("number")?.to_ascii_uppercase();
    let mut out = Tracked::empty(&number);
    out.carrier = key(item, "carrier").and_then(carrier::by_seventeen_track_key);
    let Some(info) = item.obj("track_info") else {
        out.not_found = true;
        return Ok(out);
    };
    let providers = info
        .obj("tracking")
        .map(|t| t.list("providers"))
        .unwrap_or_default();
    for provider in providers {
        let about = provider.obj("provider");
        if provider.text("latest_sync_status") == "Failure" {
            let name = about
                .as_ref()
                .and_then(|p| key(p, "key"))
                .and_then(carrier::by_seventeen_track_key)
                .map(|c| c.code.to_owned())
                .or_else(|| about.as_ref().and_then(|p| p.opt_text("name")))
                .unwrap_or_else(|| "unknown".to_owned());
            out.stale_carriers.push(name);
        }
        // 17TRACK lists each provider's events newest first.
        let mut events = Vec::new();
        for e in provider.list("events") {
            match event(&e) {
                Ok(event) => events.push(event),
                Err(refused) => e.note_refused(refused),
            }
        }
        events.reverse();
        out.events.extend(events);
    }
    out.sort_events();
    let status = info.obj("latest_status").and_then(|s| s.opt_text("status"));
    out.not_found = out.events.is_empty() && status.as_deref().is_none_or(|s| s == "NotFound");
    if let Some(misc) = info.obj("misc_info") {
        let local = misc
            .opt_text("local_number")
            .map(|n| n.to_ascii_uppercase())
            .filter(|n| *n != number);
        if let Some(local) = local {
            let provider_name = misc.opt_text("local_provider");
            let by_key = key(&misc, "local_key").and_then(carrier::by_seventeen_track_key);
            let by_name = || provider_name.as_deref().and_then(carrier::by_name);
            out.hand_over = Some(HandOver {
                number: local,
                carrier: by_key.or_else(by_name),
                provider_name,
            });
        }
    }
    Ok(out)
}

/// A number 17TRACK refused, with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub number: String,
    pub code: i64,
    pub message: String,
}

fn unreadable(kind: &'static str, e: &Unreadable) -> DecodeError {
    DecodeError {
        kind,
        path: format!("line {}, column {}", e.line, e.column),
        reason: e.reason.clone(),
    }
}

/// The envelope: its own error, or the rejections and what `read` makes of each accepted item.
fn envelope<T>(
    kind: &'static str,
    body: &[u8],
    read: impl Fn(&Obj<'_>) -> Result<T, Refused>,
) -> Result<(Vec<T>, Vec<Rejection>, Notes), CarrierError> {
    let decoded = lenient::decode(body, |o| {
        if let Some(failure) = envelope_failure(o) {
            return Err(failure);
        }
        let Some(data) = o.obj("data") else {
            return Ok((Vec::new(), Vec::new()));
        };
        let rejected = data
            .list("rejected")
            .iter()
            .map(|r| {
                let error = r.obj("error");
                Rejection {
                    number: r.text("number"),
                    code: error.as_ref().and_then(|e| e.int("code")).unwrap_or(0),
                    message: error.map(|e| e.text("message")).unwrap_or_default(),
                }
            })
            .collect();
        let mut accepted = Vec::new();
        for item in data.list("accepted") {
            match read(&item) {
                Ok(v) => accepted.push(v),
                Err(refused) => item.note_refused(refused),
            }
        }
        Ok((accepted, rejected))
    })
    .map_err(|e| unreadable(kind, &e))?;
    let (accepted, rejected) = decoded.value?;
    decoded.notes.count("17track");
    Ok((accepted, rejected, decoded.notes))
}

/// The envelope's own error: a non-zero `code` with the first of `data.errors`.
fn envelope_failure(o: &Obj<'_>) -> Option<CarrierError> {
    let code = o.int("code").unwrap_or(0);
    if code == 0 {
        return None;
    }
    let message = o
        .obj("data")
        .and_then(|d| d.list("errors").first().map(|e| e.text("message")))
        .unwrap_or_default();
    Some(envelope_error(code, message))
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
/// numbers it refused. An accepted item without its number, and an event without a readable
/// time, are left out and noted on the answer's first [`Tracked`] (or returned notes).
pub fn parse_track_info(body: &[u8]) -> Result<(Vec<Tracked>, Vec<Rejection>), CarrierError> {
    let (tracked, rejected, _) = parse_track_info_noted(body)?;
    Ok((tracked, rejected))
}

/// [`parse_track_info`] with what had to be tolerated (for `ozontrack decode`).
pub fn parse_track_info_noted(
    body: &[u8],
) -> Result<(Vec<Tracked>, Vec<Rejection>, Notes), CarrierError> {
    let (accepted, rejected, notes) = envelope("17track-trackinfo", body, tracked)?;
    let digest = crate::payload_digest(body);
    let tracked = accepted
        .into_iter()
        .map(|t| crate::with_digest(t, &digest))
        .collect();
    Ok((tracked, rejected, notes))
}

/// What a 17TRACK push said.
#[derive(Debug, Clone, PartialEq)]
pub struct Push {
    /// `TRACKING_UPDATED` or `TRACKING_STOPPED` (others are kept as they come).
    pub event: String,
    pub tracked: Tracked,
}

/// Reads a push body (after its signature was checked).
pub fn parse_push(body: &[u8]) -> Result<Push, DecodeError> {
    let (push, notes) = parse_push_noted(body)?;
    notes.count("17track-push");
    Ok(push)
}

/// [`parse_push`] with what had to be tolerated (for `ozontrack decode`).
pub fn parse_push_noted(body: &[u8]) -> Result<(Push, Notes), DecodeError> {
    let kind = "17track-push";
    let decoded = lenient::decode(body, |o| {
        let Some(data) = o.obj("data") else {
            return Err(DecodeError {
                kind,
                path: "data".into(),
                reason: "missing".into(),
            });
        };
        let tracked = tracked(&data).map_err(|r| DecodeError {
            kind,
            path: format!("{}.number", r.item),
            reason: "missing".into(),
        })?;
        Ok((o.text("event"), tracked))
    })
    .map_err(|e| unreadable(kind, &e))?;
    let (event, tracked) = decoded.value?;
    let mut tracked = crate::with_digest(tracked, &crate::payload_digest(body));
    if event == "TRACKING_STOPPED" {
        // A stop notice carries no news; what it does carry is not a "not found".
        tracked.not_found = false;
    }
    Ok((Push { event, tracked }, decoded.notes))
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
    /// The account's limit as every process calling it shares it, when several do.
    shared: Option<Arc<dyn SharedLimit>>,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
            shared: None,
        }
    }

    /// Every call also takes a slot of `shared`, the account's limit across processes.
    #[must_use]
    pub fn with_shared_limit(mut self, shared: Arc<dyn SharedLimit>) -> Self {
        self.shared = Some(shared);
        self
    }

    /// The account's requests per second.
    pub fn per_second(&self) -> usize {
        self.limiter.limit()
    }

    /// Names the account without revealing its token: the first bytes of the token's SHA-256.
    pub fn account(&self) -> String {
        let digest = Sha256::digest(self.token.expose_secret().as_bytes());
        hex::encode(&digest[..8])
    }

    async fn call(&self, endpoint: &str, body: &Value) -> Result<Vec<u8>, CarrierError> {
        let Some(shared) = &self.shared else {
            return self.call_limited(endpoint, body).await;
        };
        let slot = shared.take().await;
        let answer = self.call_limited(endpoint, body).await;
        if let Some(slot) = slot {
            shared.free(slot).await;
        }
        answer
    }

    async fn call_limited(&self, endpoint: &str, body: &Value) -> Result<Vec<u8>, CarrierError> {
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
        let (mut ok, rejected, _) = envelope("17track-register", &bytes, |a| {
            Ok((
                a.required("number")?,
                key(a, "carrier").and_then(carrier::by_seventeen_track_key),
            ))
        })?;
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
        let (_, rejected, _) = envelope("17track-stoptrack", &bytes, |_| Ok(()))?;
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
        Ok(envelope("17track-retrack", &bytes, |_| Ok(()))?.1)
    }

    /// The account's balance.
    pub async fn quota(&self) -> Result<Quota, CarrierError> {
        let bytes = self.call("getquota", &json!({})).await?;
        let kind = "17track-getquota";
        lenient::decode(&bytes, |o| {
            if let Some(failure) = envelope_failure(o) {
                return Err(failure);
            }
            let d = o.obj("data").ok_or(DecodeError {
                kind,
                path: "data".into(),
                reason: "missing".into(),
            })?;
            Ok(Quota {
                quota_total: d.int("quota_total").unwrap_or(0),
                quota_used: d.int("quota_used").unwrap_or(0),
                quota_remain: d.int("quota_remain").unwrap_or(0),
            })
        })
        .map_err(|e| unreadable(kind, &e))?
        .value
    }
}
