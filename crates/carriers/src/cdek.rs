//! CDEK API v2 (`parcel-tracking.md` §4.2): an OAuth client-credentials token cached until just
//! before it expires, and `GET /v2/orders?cdek_number=` whose `entity.statuses` are
//! crosswalked by [`status_of`]; codes CDEK adds later keep their raw code.

use std::time::{Duration, Instant};

use ozontrack_domain::{
    EventSource, Handover, MainStatus, NormalizedStatus, SubStatus, TrackingEvent,
};
use ozontrack_http::lenient::{self, Notes, Obj};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

use crate::{CarrierError, DecodeError, Tracked, locate, retry_after, transport};

const FEED: &str = "cdek";
const KIND: &str = "cdek-order";

/// Where a CDEK order status puts the parcel.
pub fn status_of(code: &str) -> NormalizedStatus {
    use MainStatus as M;
    use SubStatus as S;
    let n = NormalizedStatus::new;
    match code {
        "ACCEPTED" | "CREATED" => n(M::InfoReceived, S::Registered),
        "REMOVED" | "INVALID" => n(M::Cancelled, S::Cancelled),
        "RECEIVED_AT_SHIPMENT_WAREHOUSE"
        | "READY_TO_SHIP_AT_SENDING_OFFICE"
        | "READY_FOR_SHIPMENT_IN_SENDER_CITY"
        | "TAKEN_BY_TRANSPORTER_FROM_SENDER_CITY"
        | "PASSED_TO_CARRIER_AT_SENDING_OFFICE" => n(M::InTransit, S::Sorting),
        "SENT_TO_TRANSIT_CITY"
        | "ACCEPTED_IN_TRANSIT_CITY"
        | "ACCEPTED_AT_TRANSIT_WAREHOUSE"
        | "READY_FOR_SHIPMENT_IN_TRANSIT_CITY"
        | "TAKEN_BY_TRANSPORTER_FROM_TRANSIT_CITY"
        | "ENTERED_TO_TRANSIT_WAREHOUSE"
        | "SENT_TO_RECIPIENT_CITY"
        | "ACCEPTED_IN_RECIPIENT_CITY"
        | "ACCEPTED_AT_RECIPIENT_CITY_WAREHOUSE"
        | "ENTERED_TO_RECIPIENT_CITY_WAREHOUSE"
        | "SHIPPED_TO_DESTINATION"
        | "PASSED_TO_TRANSIT_CARRIER" => n(M::InTransit, S::InTransit),
        "RETURNED_TO_TRANSIT_WAREHOUSE" => n(M::Exception, S::Delayed),
        "IN_CUSTOMS_INTERNATIONAL" | "IN_CUSTOMS_LOCAL" => n(M::InTransit, S::CustomsProcessing),
        "CUSTOMS_COMPLETE" => n(M::InTransit, S::CustomsReleased),
        "ACCEPTED_AT_PICK_UP_POINT" | "ENTERED_TO_PICK_UP_POINT" | "POSTOMAT_POSTED" => {
            n(M::AvailableForPickup, S::AtPickupPoint)
        }
        "TAKEN_BY_COURIER" => n(M::OutForDelivery, S::WithCourier),
        "RETURNED_TO_RECIPIENT_CITY_WAREHOUSE" => n(M::DeliveryFailed, S::RecipientUnavailable),
        "RETURNED_TO_SENDER_CITY_WAREHOUSE"
        | "SENT_TO_SENDER_CITY"
        | "ACCEPTED_IN_SENDER_CITY"
        | "POSTOMAT_SEIZED" => n(M::Exception, S::Returning),
        "POSTOMAT_RECEIVED" => n(M::Delivered, S::PickedUpByRecipient),
        "DELIVERED" => n(M::Delivered, S::Delivered),
        // CDEK's final "not delivered": refused or unclaimed, and back with the shop.
        "NOT_DELIVERED" => n(M::Exception, S::Returned),
        other => NormalizedStatus::unknown(M::InTransit, other),
    }
}

/// Reads a `GET /v2/orders` answer for `number`. An answer carrying only errors is returned
/// as the error it stands for (`v2_entity_not_found` is a number CDEK does not know yet). A
/// status without a readable `date_time` is left out and counted, never the whole answer.
pub fn parse_order(number: &str, body: &[u8]) -> Result<Tracked, CarrierError> {
    let (tracked, notes) = parse_order_noted(number, body)?;
    notes.count("cdek");
    Ok(tracked)
}

/// [`parse_order`] with what had to be tolerated (for `ozontrack decode`).
pub fn parse_order_noted(number: &str, body: &[u8]) -> Result<(Tracked, Notes), CarrierError> {
    let decoded = lenient::decode(body, |o| read_order(number, o)).map_err(|e| DecodeError {
        kind: KIND,
        path: format!("line {}, column {}", e.line, e.column),
        reason: e.reason,
    })?;
    let tracked = decoded.value?;
    Ok((
        crate::with_digest(tracked, &crate::payload_digest(body)),
        decoded.notes,
    ))
}

fn read_order(number: &str, o: &Obj<'_>) -> Result<Tracked, CarrierError> {
    let mut out = Tracked::empty(number);
    out.carrier = ozontrack_domain::carrier::by_code("cdek");
    let Some(entity) = o.obj("entity") else {
        let (code, message) = o
            .list("requests")
            .iter()
            .filter(|r| r.text("state") == "INVALID")
            .flat_map(|r| r.list("errors"))
            .map(|e| (e.text("code"), e.text("message")))
            .next()
            .unwrap_or_default();
        if code == "v2_entity_not_found" {
            out.not_found = true;
            return Ok(out);
        }
        return Err(CarrierError::Rejected {
            feed: FEED,
            code,
            message,
        });
    };
    if let Some(n) = entity.opt_text("cdek_number") {
        out.number = n;
    }
    // "Информация о вручении": to whom a delivered order was handed (`delivery_detail`).
    let recipient = entity
        .obj("delivery_detail")
        .and_then(|d| d.opt_text("recipient_name"));
    // CDEK lists the newest status first.
    for status in entity.list("statuses").iter().rev() {
        let occurred_at = match status.required_time("date_time") {
            Ok(t) => t,
            Err(refused) => {
                status.note_refused(refused);
                continue;
            }
        };
        let code = status.text("code");
        let code = code.trim();
        // CDEK does not say how a `DELIVERED` order was handed over; a locker's is its own code.
        let delivered = matches!(code, "DELIVERED" | "POSTOMAT_RECEIVED");
        let handover = (code == "POSTOMAT_RECEIVED").then_some(Handover::ParcelLocker);
        let recipient = recipient.clone().filter(|_| delivered);
        out.events.push(
            TrackingEvent::new(
                EventSource::Cdek,
                occurred_at,
                status_of(code),
                code,
                status.text("name").trim(),
                locate(status.opt_text("city").as_deref(), None, None, None),
            )
            .with_handover(handover, recipient),
        );
    }
    out.sort_events();
    out.not_found = out.events.is_empty();
    Ok(out)
}

/// A token and when to stop using it.
#[derive(Debug)]
struct Token {
    value: String,
    renew_at: Instant,
}

/// One CDEK integration account.
#[derive(Debug)]
pub struct CdekClient {
    http: reqwest::Client,
    base_url: String,
    client_id: String,
    client_secret: SecretString,
    token: Mutex<Option<Token>>,
}

impl CdekClient {
    /// `base_url` without `/v2` (e.g. `https://api.cdek.ru`).
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        client_id: &str,
        client_secret: SecretString,
    ) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            client_secret,
            token: Mutex::new(None),
        }
    }

    /// The cached token, or a new one when there is none or it is about to expire.
    async fn token(&self, renew: bool) -> Result<String, CarrierError> {
        let mut cached = self.token.lock().await;
        if !renew
            && let Some(token) = cached.as_ref()
            && Instant::now() < token.renew_at
        {
            return Ok(token.value.clone());
        }
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose_secret()),
        ];
        let response = self
            .http
            .post(format!("{}/v2/oauth/token", self.base_url))
            .form(&form)
            .send()
            .await
            .map_err(|e| transport(FEED, &e))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| transport(FEED, &e))?;
        match status {
            200..=299 => {}
            400 | 401 | 403 => {
                return Err(CarrierError::Auth {
                    feed: FEED,
                    message: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
                });
            }
            code => {
                return Err(CarrierError::Unavailable {
                    feed: FEED,
                    reason: format!("token: HTTP {code}"),
                });
            }
        }
        let kind = "cdek-token";
        let decoded = lenient::decode(&bytes, |o| {
            let token = o.required("access_token");
            let expires_in = o.int("expires_in").and_then(|s| u64::try_from(s).ok());
            token.map(|t| (t, expires_in))
        })
        .map_err(|e| DecodeError {
            kind,
            path: format!("line {}, column {}", e.line, e.column),
            reason: e.reason,
        })?;
        let (value, expires_in) = decoded.value.map_err(|r| DecodeError {
            kind,
            path: "access_token".into(),
            reason: r.reason,
        })?;
        // Renew a minute early so that no request goes out with a token about to lapse.
        let lifetime = Duration::from_secs(expires_in.unwrap_or(3600));
        let renew_at = Instant::now() + lifetime.saturating_sub(Duration::from_secs(60));
        *cached = Some(Token {
            value: value.clone(),
            renew_at,
        });
        Ok(value)
    }

    /// The order with CDEK number `number`. A token CDEK calls invalid or expired is renewed
    /// once.
    pub async fn order(&self, number: &str) -> Result<Tracked, CarrierError> {
        let mut renew = false;
        loop {
            let token = self.token(renew).await?;
            let response = self
                .http
                .get(format!("{}/v2/orders", self.base_url))
                .query(&[("cdek_number", number)])
                .bearer_auth(token)
                .send()
                .await
                .map_err(|e| transport(FEED, &e))?;
            let status = response.status().as_u16();
            let after = retry_after(response.headers());
            let bytes = response.bytes().await.map_err(|e| transport(FEED, &e))?;
            match status {
                401 if !renew => renew = true,
                401 | 403 => {
                    return Err(CarrierError::Auth {
                        feed: FEED,
                        message: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
                    });
                }
                429 => {
                    return Err(CarrierError::RateLimited {
                        feed: FEED,
                        retry_after: after,
                    });
                }
                500..=599 => {
                    return Err(CarrierError::Unavailable {
                        feed: FEED,
                        reason: format!("HTTP {status}"),
                    });
                }
                _ => return parse_order(number, &bytes),
            }
        }
    }
}
