//! What one sight of a posting on Ozon means for ozontrack: the legs it implies and, when its
//! status moved, the event that goes on its timeline.

use chrono::{DateTime, Utc};

use crate::carrier;
use crate::crosswalk;
use crate::event::{EventSource, Location, TrackingEvent};
use crate::ids::CarrierCode;
use crate::leg::Leg;
use crate::posting::{OzonStatus, OzonSubstatus, Posting, Product};
use crate::tracking_number::TrackingNumber;

/// A posting as Ozon showed it at `observed_at`, with the legs it implies.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncedPosting {
    pub posting: Posting,
    /// Ozon's own leg: carrier `ozon`, numbered by the posting number. Fed by the sync only.
    pub ozon_leg: Leg,
    /// The leg of the posting's tracking number, to be tracked through its carrier.
    pub carrier_leg: Option<Leg>,
    /// The carrier's status text Ozon relays (only `get` has it).
    pub provider_status: String,
    /// When Ozon last changed the status, if it said (pushes do); else when we looked.
    pub observed_at: DateTime<Utc>,
    /// The posting's product lines, when the source lists them (a postings report does);
    /// `None` leaves what is stored as it is.
    pub products: Option<Vec<Product>>,
}

impl SyncedPosting {
    pub fn new(posting: Posting, provider_status: String, observed_at: DateTime<Utc>) -> Self {
        let method = posting.delivery_method.as_ref();
        let ozon_leg = Leg {
            carrier: ozon_code(),
            tracking_number: posting_as_tracking_number(&posting),
            role: carrier::ozon_leg_role(posting.scheme, method),
        };
        let carrier_leg = posting
            .tracking_number
            .as_ref()
            .filter(|n| n.as_str() != posting.number.as_str())
            .map(|number| {
                let detected = carrier::number_leg(posting.scheme, method, number);
                Leg {
                    carrier: detected.carrier,
                    tracking_number: number.clone(),
                    role: detected.role,
                }
            });
        Self {
            posting,
            ozon_leg,
            carrier_leg,
            provider_status,
            observed_at,
            products: None,
        }
    }

    /// The event for Ozon's leg when the status differs from what we knew (`prior`), or when
    /// the posting is new to us.
    pub fn status_event(
        &self,
        prior: Option<(&OzonStatus, &OzonSubstatus)>,
    ) -> Option<TrackingEvent> {
        let p = &self.posting;
        if prior.is_some_and(|(s, sub)| *s == p.status && *sub == p.substatus) {
            return None;
        }
        let code = if p.substatus.as_str().is_empty() {
            p.status.as_str().to_owned()
        } else {
            format!("{}/{}", p.status.as_str(), p.substatus.as_str())
        };
        Some(TrackingEvent::new(
            EventSource::Ozon,
            self.observed_at,
            crosswalk::from_ozon(&p.status, &p.substatus),
            code,
            self.provider_status.clone(),
            Location::default(),
        ))
    }
}

impl SyncedPosting {
    /// When the posting was delivered: what Ozon said, else what we `known` before, else — a
    /// posting seen delivered for the first time — when we saw it.
    pub fn delivered_at(&self, known: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
        let p = &self.posting;
        p.delivered_at
            .or(known)
            .or((p.status == OzonStatus::Delivered).then_some(self.observed_at))
    }
}

fn ozon_code() -> CarrierCode {
    // "ozon" is a registry code; a test in `carrier` checks every registry code parses.
    CarrierCode::parse(carrier::OZON)
        .unwrap_or_else(|_| unreachable!("ozon is a valid carrier code"))
}

/// Posting numbers are digits and dashes, always a valid tracking number.
fn posting_as_tracking_number(p: &Posting) -> TrackingNumber {
    TrackingNumber::parse(p.number.as_str())
        .unwrap_or_else(|_| unreachable!("posting numbers are valid tracking numbers"))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::ids::{PostingNumber, StoreId};
    use crate::leg::LegRole;
    use crate::posting::{DeliveryMethod, Scheme};

    fn posting(status: &str, sub: &str, track: Option<&str>) -> Posting {
        let mut p = Posting::new(
            StoreId(1),
            PostingNumber::parse("14725836-0041-1").unwrap(),
            Scheme::Fbs,
            OzonStatus::parse(status),
        );
        p.substatus = OzonSubstatus::parse(sub);
        p.tracking_number = track.map(|t| TrackingNumber::parse(t).unwrap());
        p.delivery_method = Some(DeliveryMethod {
            id: 1,
            name: "Доставка Ozon, кроссбордер".into(),
            tpl_provider_id: Some(24),
            tpl_provider: Some("Доставка Ozon".into()),
            warehouse_id: None,
            warehouse: None,
        });
        p
    }

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 10, 3, 12, 0, 0).unwrap()
    }

    #[test]
    fn a_cross_border_posting_has_ozons_last_mile_and_the_uploaded_first_mile() {
        let s = SyncedPosting::new(
            posting("delivering", "posting_in_carriage", Some("UG123456789YP")),
            String::new(),
            at(),
        );
        assert_eq!(s.ozon_leg.role, LegRole::LastMile);
        assert_eq!(s.ozon_leg.tracking_number.as_str(), "14725836-0041-1");
        let first = s.carrier_leg.unwrap();
        assert_eq!(first.carrier.as_str(), "yanwen");
        assert_eq!(first.role, LegRole::FirstMile);
    }

    #[test]
    fn a_delivery_time_once_known_is_kept_and_a_first_sight_of_delivered_dates_it() {
        let delivered = SyncedPosting::new(
            posting("delivered", "posting_delivered", None),
            String::new(),
            at(),
        );
        assert_eq!(delivered.delivered_at(None), Some(at()));
        let earlier = at() - chrono::Duration::days(1);
        assert_eq!(delivered.delivered_at(Some(earlier)), Some(earlier));
        let moving = SyncedPosting::new(posting("delivering", "", None), String::new(), at());
        assert_eq!(moving.delivered_at(None), None);
    }

    #[test]
    fn an_unchanged_status_makes_no_event_and_a_changed_one_does() {
        let s = SyncedPosting::new(
            posting("delivering", "posting_on_way_to_city", None),
            String::new(),
            at(),
        );
        let same = (&OzonStatus::Delivering, &OzonSubstatus::OnWayToCity);
        assert!(s.status_event(Some(same)).is_none());
        let before = (&OzonStatus::AwaitingDeliver, &OzonSubstatus::InCarriage);
        let event = s.status_event(Some(before)).unwrap();
        assert_eq!(event.raw_code, "delivering/posting_on_way_to_city");
        assert_eq!(event.occurred_at, at());
        assert!(
            s.status_event(None).is_some(),
            "a new posting gets its first event"
        );
    }
}
