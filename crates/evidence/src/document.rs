//! `evidence.json`: the machine copy of the PDF, in a versioned schema. Codes, verbatim carrier
//! and Ozon texts and UTC times only; no sentence of ours (the PDF renders those from the
//! catalogue), so a program reading it needs no language.

use chrono::{DateTime, FixedOffset, Utc};
use ozontrack_domain::evidence::{self, Deadline};
use ozontrack_domain::trail::{Trail, TrailLeg};
use ozontrack_domain::{ClientId, TrackingEvent, gazetteer};
use serde::{Deserialize, Serialize};

use crate::Input;

/// The schema of `evidence.json`; a change that removes or retypes a field takes a new number.
pub const SCHEMA: &str = "ozontrack.evidence/1";

/// The whole pack as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub schema: String,
    pub generated_at: DateTime<Utc>,
    /// The same moment in Moscow time, which Ozon's support works in.
    pub generated_at_moscow: DateTime<FixedOffset>,
    pub ozontrack_version: String,
    pub posting: PostingPart,
    pub store: StorePart,
    pub products: Vec<ProductPart>,
    /// Ozon's own view of the posting, each change with when ozontrack observed it.
    pub ozon_timeline: Vec<EventPart>,
    /// Every carrier leg, first mile first, with all its events.
    pub legs: Vec<LegPart>,
    /// The delivery the seller points to, when there is one.
    pub delivery: Option<DeliveryPart>,
    /// Happenings two sources reported differently, side by side.
    pub conflicts: Vec<ConflictPart>,
    pub alerts: Vec<AlertPart>,
    pub deadlines: Vec<DeadlinePart>,
    pub attachments: Vec<AttachmentPart>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostingPart {
    pub number: String,
    pub order_number: String,
    pub order_id: Option<i64>,
    pub scheme: String,
    pub status: String,
    pub substatus: String,
    pub tracking_number: Option<String>,
    pub delivery_method: Option<String>,
    pub tpl_provider: Option<String>,
    pub warehouse: Option<String>,
    pub in_process_at: Option<DateTime<Utc>>,
    pub ship_by: Option<DateTime<Utc>>,
    pub delivering_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The delivery window Ozon promised the buyer, when it gave one (packs built before it
    /// was kept have neither).
    #[serde(default)]
    pub promised_from: Option<DateTime<Utc>>,
    #[serde(default)]
    pub promised_to: Option<DateTime<Utc>>,
    pub buyer_city: Option<String>,
    pub total: Option<MoneyPart>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoneyPart {
    /// In the currency's minor units (kopecks, fen).
    pub minor: i64,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorePart {
    pub name: String,
    /// The Client-Id with all but its last three digits hidden.
    pub client_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductPart {
    pub sku: Option<i64>,
    pub offer_id: String,
    pub name: String,
    pub quantity: u32,
    pub price: Option<MoneyPart>,
}

/// One event as its source reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventPart {
    pub occurred_at: DateTime<Utc>,
    /// The same moment on the clock of the place it happened, when the place is known.
    pub local_time: Option<DateTime<FixedOffset>>,
    /// The normalized status: main and sub codes.
    pub status: String,
    pub substatus: String,
    /// The source's own code and text, verbatim.
    pub raw_code: String,
    pub raw_text: String,
    pub place: Option<String>,
    pub country: Option<String>,
    pub source: String,
    /// When ozontrack first received it.
    pub received_at: Option<DateTime<Utc>>,
    /// SHA-256 of the payload it was read from.
    pub payload_digest: Option<String>,
    pub handover: Option<String>,
    pub recipient: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegPart {
    pub carrier: String,
    pub tracking_number: String,
    pub role: String,
    /// The leg this one continues (a last mile found through a hand-over).
    pub continues: Option<String>,
    pub tracked_since: DateTime<Utc>,
    pub events: Vec<EventPart>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryPart {
    pub carrier: String,
    pub tracking_number: String,
    pub event: EventPart,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConflictPart {
    pub occurred_at: DateTime<Utc>,
    pub status: String,
    pub substatus: String,
    pub reports: Vec<ReportPart>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportPart {
    pub source: String,
    pub tracking_number: String,
    pub occurred_at: DateTime<Utc>,
    pub raw_code: String,
    pub raw_text: String,
    pub received_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertPart {
    pub id: i64,
    pub rule: String,
    pub severity: String,
    pub state: String,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub history: Vec<AlertStepPart>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertStepPart {
    pub at: DateTime<Utc>,
    pub state: String,
    pub by: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlinePart {
    pub kind: String,
    pub days: u32,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentPart {
    /// Its path inside the pack.
    pub path: String,
    pub file_name: String,
    pub media_type: String,
    pub size: u64,
    pub sha256: String,
    pub taken_at: Option<DateTime<Utc>>,
    pub added_at: DateTime<Utc>,
    pub added_by: String,
}

impl Document {
    pub fn of(input: &Input<'_>) -> Self {
        let trail = input.trail;
        let p = &trail.posting;
        let ozon_timeline = trail.ozon_events().map(event).collect();
        Document {
            schema: SCHEMA.to_owned(),
            generated_at: input.generated_at,
            generated_at_moscow: input
                .generated_at
                .with_timezone(&chrono_tz::Europe::Moscow)
                .fixed_offset(),
            ozontrack_version: input.version.to_owned(),
            posting: PostingPart {
                number: p.number.as_str().to_owned(),
                order_number: p.number.order_number().as_str().to_owned(),
                order_id: p.order_id,
                scheme: p.scheme.as_str().to_owned(),
                status: p.status.as_str().to_owned(),
                substatus: p.substatus.as_str().to_owned(),
                tracking_number: p.tracking_number.as_ref().map(|t| t.as_str().to_owned()),
                delivery_method: p.delivery_method.as_ref().map(|m| m.name.clone()),
                tpl_provider: p
                    .delivery_method
                    .as_ref()
                    .and_then(|m| m.tpl_provider.clone()),
                warehouse: p.delivery_method.as_ref().and_then(|m| m.warehouse.clone()),
                in_process_at: p.in_process_at,
                ship_by: p.ship_by,
                delivering_at: p.delivering_at,
                delivered_at: p.delivered_at,
                promised_from: p.promised.map(|w| w.from),
                promised_to: p.promised.map(|w| w.to),
                buyer_city: p.buyer_city.clone(),
                total: p.total.map(money),
            },
            store: StorePart {
                name: trail.store.name.as_str().to_owned(),
                client_id: input.client_id.map(mask),
            },
            products: input
                .products
                .iter()
                .map(|p| ProductPart {
                    sku: p.sku,
                    offer_id: p.offer_id.clone(),
                    name: p.name.clone(),
                    quantity: p.quantity,
                    price: p.price.map(money),
                })
                .collect(),
            ozon_timeline,
            legs: trail.carrier_legs().map(leg).collect(),
            delivery: evidence::delivery(trail).map(|(l, e)| DeliveryPart {
                carrier: l.leg.carrier.as_str().to_owned(),
                tracking_number: l.leg.tracking_number.as_str().to_owned(),
                event: event(e),
            }),
            conflicts: conflicts(trail),
            alerts: trail
                .alerts
                .iter()
                .map(|a| AlertPart {
                    id: a.alert.id,
                    rule: a.alert.rule.as_str().to_owned(),
                    severity: a.alert.severity.as_str().to_owned(),
                    state: a.alert.state.as_str().to_owned(),
                    opened_at: a.alert.opened_at,
                    resolved_at: a.alert.resolved_at,
                    history: a
                        .history
                        .iter()
                        .map(|h| AlertStepPart {
                            at: h.at,
                            state: h.state.as_str().to_owned(),
                            by: h.by.clone(),
                            note: h.note.clone(),
                        })
                        .collect(),
                })
                .collect(),
            deadlines: Deadline::ALL
                .iter()
                .map(|d| DeadlinePart {
                    kind: d.as_str().to_owned(),
                    days: d.days(),
                    source: d.source().to_owned(),
                })
                .collect(),
            attachments: input
                .attachments
                .iter()
                .enumerate()
                .map(|(i, a)| AttachmentPart {
                    path: a.path(i),
                    file_name: a.file_name.clone(),
                    media_type: a.media_type.clone(),
                    size: a.content.len() as u64,
                    sha256: a.sha256.clone(),
                    taken_at: a.taken_at,
                    added_at: a.added_at,
                    added_by: a.added_by.clone(),
                })
                .collect(),
        }
    }

    /// Every payload digest the events name, once each, in the order first named.
    pub fn payload_digests(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        let events = self
            .ozon_timeline
            .iter()
            .chain(self.legs.iter().flat_map(|l| &l.events));
        for digest in events.filter_map(|e| e.payload_digest.as_deref()) {
            if !out.contains(&digest) {
                out.push(digest);
            }
        }
        out
    }
}

fn money(m: ozontrack_domain::Money) -> MoneyPart {
    MoneyPart {
        minor: m.minor,
        currency: m.currency.code().to_owned(),
    }
}

/// A Client-Id shown so that the seller recognises it and a reader of the pack cannot use it.
pub fn mask(id: ClientId) -> String {
    let digits = id.to_string();
    let keep = digits.len().min(3);
    let hidden = digits.len() - keep;
    format!("{}{}", "*".repeat(hidden), &digits[hidden..])
}

fn leg(l: &TrailLeg) -> LegPart {
    LegPart {
        carrier: l.leg.carrier.as_str().to_owned(),
        tracking_number: l.leg.tracking_number.as_str().to_owned(),
        role: l.leg.role.as_str().to_owned(),
        continues: l.continues.as_ref().map(|n| n.as_str().to_owned()),
        tracked_since: l.tracked_since,
        events: l.events.iter().map(event).collect(),
    }
}

pub(crate) fn event(e: &TrackingEvent) -> EventPart {
    EventPart {
        occurred_at: e.occurred_at,
        local_time: local_time(e),
        status: e.status.main.as_str().to_owned(),
        substatus: e.status.sub.code().to_owned(),
        raw_code: e.raw_code.clone(),
        raw_text: e.raw_text.clone(),
        place: e.location.text.clone().or_else(|| e.location.city.clone()),
        country: e.location.country.clone(),
        source: e.source.as_str().to_owned(),
        received_at: e.received_at,
        payload_digest: e.payload_digest.clone(),
        handover: e.handover.as_ref().map(|h| h.as_str().to_owned()),
        recipient: e.recipient.clone(),
    }
}

/// The event's time on the local clock of its city, when the gazetteer knows the city.
pub(crate) fn local_time(e: &TrackingEvent) -> Option<DateTime<FixedOffset>> {
    let city = [e.location.city.as_deref(), e.location.text.as_deref()]
        .into_iter()
        .flatten()
        .find_map(gazetteer::find)?;
    let offset = FixedOffset::east_opt(city.utc_offset_hours * 3600)?;
    Some(e.occurred_at.with_timezone(&offset))
}

fn conflicts(trail: &Trail) -> Vec<ConflictPart> {
    evidence::conflicts(trail)
        .map(|entry| ConflictPart {
            occurred_at: entry.occurred_at,
            status: entry.status.main.as_str().to_owned(),
            substatus: entry.status.sub.code().to_owned(),
            reports: entry
                .reports
                .iter()
                .map(|r| ReportPart {
                    source: r.source.as_str().to_owned(),
                    tracking_number: r.leg.as_str().to_owned(),
                    occurred_at: r.occurred_at,
                    raw_code: r.raw_code.clone(),
                    raw_text: r.raw_text.clone(),
                    received_at: r.received_at,
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_id_keeps_only_its_last_three_digits() {
        let id: ClientId = "1234567".parse().unwrap();
        assert_eq!(mask(id), "****567");
        let short: ClientId = "12".parse().unwrap();
        assert_eq!(mask(short), "12");
    }
}
