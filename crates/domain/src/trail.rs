//! A posting's whole trail as one typed read model: the posting and its store, every leg with
//! its events (each with when we received it and the digest of the payload it came from), the
//! merged timeline, the alerts with their history, and the arrival estimate. The API, `ozontrack
//! status`, the dashboard, the map, the buyer page, notifications and the evidence pack all
//! render this one value; the engine builds it in one place.
//!
//! The buyer sees a projection, [`BuyerView`], whose type has no field for anything of the
//! seller's (store, prices, alerts, notes, raw codes, sources): what it cannot hold it cannot
//! leak.

use chrono::{DateTime, Utc};

use crate::alert::{AlertHistoryEntry, AlertRecord};
use crate::estimate::Window;
use crate::event::{Location, TrackingEvent};
use crate::gazetteer::{self, City};
use crate::geo::GeoPoint;
use crate::ids::{PostingId, PostingNumber, StoreId, StoreName};
use crate::leg::{CarrierSource, Leg};
use crate::posting::Posting;
use crate::status::{MainStatus, NormalizedStatus};
use crate::store::StoreSettings;
use crate::timeline::{self, Entry};
use crate::tracking_number::TrackingNumber;

/// One posting's trail.
#[derive(Debug, Clone, PartialEq)]
pub struct Trail {
    pub posting_id: PostingId,
    pub posting: Posting,
    pub store: TrailStore,
    /// When ozontrack last changed what it knows of the posting itself.
    pub updated_at: DateTime<Utc>,
    /// The legs in the order they were added (Ozon's own first, hand-overs last).
    pub legs: Vec<TrailLeg>,
    /// Every leg's events in one time order, the same happening from two sources folded.
    pub timeline: Vec<Entry>,
    /// Newest first.
    pub alerts: Vec<TrailAlert>,
    /// When it should arrive (none once delivered or cancelled, or before Ozon processes it).
    pub estimate: Option<Window>,
}

/// The store a posting belongs to, as its trail needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailStore {
    pub id: StoreId,
    pub name: StoreName,
    pub settings: StoreSettings,
}

/// One leg of a trail.
#[derive(Debug, Clone, PartialEq)]
pub struct TrailLeg {
    pub leg: Leg,
    /// The latest event's status; none before the first event.
    pub status: Option<NormalizedStatus>,
    pub last_event_at: Option<DateTime<Utc>>,
    /// When a carrier is asked next; none when it never will be again.
    pub next_check_at: Option<DateTime<Utc>>,
    /// When ozontrack started following it.
    pub tracked_since: DateTime<Utc>,
    pub carrier_source: CarrierSource,
    /// Who set the carrier by hand, and when.
    pub carrier_set_by: Option<String>,
    pub carrier_set_at: Option<DateTime<Utc>>,
    /// The leg this one continues (a last mile found through a hand-over).
    pub continues: Option<TrackingNumber>,
    /// Its events in time order, each with its receipt time and payload digest.
    pub events: Vec<TrackingEvent>,
}

/// An alert of the posting with every state it went through.
#[derive(Debug, Clone, PartialEq)]
pub struct TrailAlert {
    pub alert: AlertRecord,
    pub history: Vec<AlertHistoryEntry>,
}

/// A place on the route map.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutePoint {
    pub point: GeoPoint,
    /// The city the gazetteer placed it at, for its name in the reader's language.
    pub city: Option<&'static City>,
    /// The carrier's own words for the place, when no city is known.
    pub place: Option<String>,
    pub status: MainStatus,
    pub at: DateTime<Utc>,
}

/// The journey on the map: each place the parcel was seen, in time order (a place seen twice
/// in a row once), and the buyer's city as the destination.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub points: Vec<RoutePoint>,
    pub destination: Option<&'static City>,
}

impl Trail {
    /// Builds the trail from its parts; the timeline is merged here, so every reader sees the
    /// same one.
    pub fn new(
        posting_id: PostingId,
        posting: Posting,
        store: TrailStore,
        updated_at: DateTime<Utc>,
        legs: Vec<TrailLeg>,
        alerts: Vec<TrailAlert>,
        estimate: Option<Window>,
    ) -> Self {
        let timeline = timeline::merge(legs.iter().map(|l| (&l.leg, l.events.as_slice())));
        Self {
            posting_id,
            posting,
            store,
            updated_at,
            legs,
            timeline,
            alerts,
            estimate,
        }
    }

    /// The posting's carriers in order, first mile first, Ozon's own legs left out: its lane.
    pub fn lane(&self) -> Vec<String> {
        let mut carriers = Vec::new();
        for leg in &self.legs {
            crate::estimate::add_lane_carrier(&mut carriers, leg.leg.carrier.as_str());
        }
        carriers
    }

    /// The carrier legs (everything but Ozon's own view of the posting).
    pub fn carrier_legs(&self) -> impl Iterator<Item = &TrailLeg> {
        self.legs
            .iter()
            .filter(|l| l.leg.carrier.as_str() != crate::carrier::OZON)
    }

    /// Ozon's own view of the posting: the events of its Ozon legs, each status change as the
    /// sync observed it.
    pub fn ozon_events(&self) -> impl Iterator<Item = &TrackingEvent> {
        self.legs
            .iter()
            .filter(|l| l.leg.carrier.as_str() == crate::carrier::OZON)
            .flat_map(|l| l.events.iter())
    }

    /// The journey on the map.
    pub fn route(&self) -> Route {
        let mut points: Vec<RoutePoint> = Vec::new();
        for e in &self.timeline {
            let Some(point) = e.location.point else {
                continue;
            };
            if points
                .last()
                .is_some_and(|p| (p.point.lat(), p.point.lon()) == (point.lat(), point.lon()))
            {
                continue;
            }
            points.push(RoutePoint {
                point,
                city: e.location.city.as_deref().and_then(gazetteer::by_name),
                place: e.location.text.clone(),
                status: e.status.main,
                at: e.occurred_at,
            });
        }
        Route {
            points,
            destination: self.posting.buyer_city.as_deref().and_then(gazetteer::find),
        }
    }

    /// What the buyer may see.
    pub fn buyer_view(&self) -> BuyerView {
        BuyerView {
            posting_number: self.posting.number.clone(),
            status: self.timeline.last().map(|e| e.status.main),
            delivered_at: self.posting.delivered_at,
            estimate: self.estimate,
            updated_at: self.timeline.last().map(|e| e.occurred_at),
            journey: self
                .timeline
                .iter()
                .map(|e| BuyerEntry {
                    occurred_at: e.occurred_at,
                    status: e.status.clone(),
                    text: e.text.clone(),
                    location: e.location.clone(),
                })
                .collect(),
            route: self.route(),
        }
    }
}

/// What a buyer's tracking page shows: the order, where the parcel is, when it should arrive,
/// and its journey. Nothing of the seller's fits in it.
#[derive(Debug, Clone, PartialEq)]
pub struct BuyerView {
    /// The number Ozon shows the buyer for this shipment.
    pub posting_number: PostingNumber,
    /// The latest event's status; none before the first.
    pub status: Option<MainStatus>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub estimate: Option<Window>,
    pub updated_at: Option<DateTime<Utc>>,
    pub journey: Vec<BuyerEntry>,
    pub route: Route,
}

/// One step of the journey as the buyer reads it: no source, no raw code.
#[derive(Debug, Clone, PartialEq)]
pub struct BuyerEntry {
    pub occurred_at: DateTime<Utc>,
    pub status: NormalizedStatus,
    /// The carrier's own words.
    pub text: String,
    pub location: Location,
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::event::EventSource;
    use crate::leg::LegRole;
    use crate::posting::{OzonStatus, Scheme};
    use crate::status::SubStatus;
    use crate::{CarrierCode, Money};

    fn at(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap() + Duration::hours(h)
    }

    fn trail() -> Trail {
        let mut posting = Posting::new(
            StoreId(1),
            PostingNumber::parse("0132112277-0101-1").unwrap(),
            Scheme::Fbs,
            OzonStatus::Delivering,
        );
        posting.total = Some(Money::from_minor(1_176_000, crate::Currency::Rub));
        posting.buyer_city = Some("Казань".into());
        let event = |h, place: &str| {
            let mut e = TrackingEvent::new(
                EventSource::SeventeenTrack,
                at(h),
                NormalizedStatus::new(MainStatus::InTransit, SubStatus::Sorting),
                "8",
                format!("Sorting in {place}"),
                Location {
                    text: Some(place.into()),
                    ..Location::default()
                },
            );
            e.received_at = Some(at(h + 5));
            e
        };
        let leg = TrailLeg {
            leg: Leg {
                carrier: CarrierCode::parse("yanwen").unwrap(),
                tracking_number: TrackingNumber::parse("UG123456789YP").unwrap(),
                role: LegRole::FirstMile,
            },
            status: None,
            last_event_at: None,
            next_check_at: None,
            tracked_since: at(0),
            carrier_source: CarrierSource::Detected,
            carrier_set_by: None,
            carrier_set_at: None,
            continues: None,
            events: vec![
                event(1, "Shenzhen"),
                event(2, "SHENZHEN"),
                event(30, "Москва"),
            ],
        };
        Trail::new(
            PostingId(7),
            posting,
            TrailStore {
                id: StoreId(1),
                name: StoreName::parse("深圳小店").unwrap(),
                settings: StoreSettings::default(),
            },
            at(31),
            vec![leg],
            Vec::new(),
            None,
        )
    }

    #[test]
    fn the_route_visits_each_place_once_in_a_row_and_ends_at_the_buyers_city() {
        let route = trail().route();
        let cities: Vec<&str> = route
            .points
            .iter()
            .map(|p| p.city.map_or("?", |c| c.name))
            .collect();
        assert_eq!(cities, ["Shenzhen", "Moscow"]);
        assert_eq!(route.destination.map(|c| c.name), Some("Kazan"));
    }

    #[test]
    fn the_buyer_view_keeps_the_journey_and_the_posting_number_only() {
        let t = trail();
        let view = t.buyer_view();
        assert_eq!(view.posting_number.as_str(), "0132112277-0101-1");
        assert_eq!(view.journey.len(), 3);
        assert_eq!(view.updated_at, Some(at(30)));
        assert_eq!(view.status, Some(MainStatus::InTransit));
    }

    #[test]
    fn the_timeline_keeps_when_each_event_was_received() {
        let t = trail();
        assert_eq!(t.timeline[0].reports[0].received_at, Some(at(6)));
        assert_eq!(t.lane(), ["yanwen"]);
    }
}
