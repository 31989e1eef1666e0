//! One timeline for a posting: every leg's events (Ozon's own, the first-mile carrier's, the
//! last-mile carrier's) in time order, with the same happening reported by two sources folded
//! into one entry that keeps every report (source, leg, raw code and text, when we received it,
//! the payload digest), and each entry placed on the map when its location names a known city.

use chrono::{DateTime, Duration, Utc};

use crate::event::{EventSource, Fingerprint, Location, TrackingEvent};
use crate::ids::CarrierCode;
use crate::leg::Leg;
use crate::status::NormalizedStatus;
use crate::tracking_number::TrackingNumber;

/// One line of the merged timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub occurred_at: DateTime<Utc>,
    pub status: NormalizedStatus,
    /// The carrier of the leg the first report came from.
    pub carrier: CarrierCode,
    /// The first report's own text, verbatim.
    pub text: String,
    pub location: Location,
    /// Every report of it, first reporter first: what each source said, on which leg, and
    /// when we heard it. Two sources disagreeing on details stay side by side here.
    pub reports: Vec<Report>,
}

impl Entry {
    /// Every source that reported it, first reporter first.
    pub fn sources(&self) -> impl Iterator<Item = &EventSource> {
        self.reports.iter().map(|r| &r.source)
    }
}

/// One source's report of a timeline entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub source: EventSource,
    /// The leg it was reported on.
    pub leg: TrackingNumber,
    /// The time this source gives (folded reports may differ by up to two hours).
    pub occurred_at: DateTime<Utc>,
    pub raw_code: String,
    pub raw_text: String,
    pub received_at: Option<DateTime<Utc>>,
    pub payload_digest: Option<String>,
    pub fingerprint: Fingerprint,
}

impl Report {
    fn of(leg: &Leg, e: &TrackingEvent) -> Self {
        Self {
            source: e.source.clone(),
            leg: leg.tracking_number.clone(),
            occurred_at: e.occurred_at,
            raw_code: e.raw_code.clone(),
            raw_text: e.raw_text.clone(),
            received_at: e.received_at,
            payload_digest: e.payload_digest.clone(),
            fingerprint: e.fingerprint.clone(),
        }
    }
}

/// Reports of the same happening from different sources are at most this far apart.
const FOLD_WINDOW_HOURS: i64 = 2;

/// Merges the events of a posting's legs.
pub fn merge<'a>(legs: impl IntoIterator<Item = (&'a Leg, &'a [TrackingEvent])>) -> Vec<Entry> {
    let mut all: Vec<(&Leg, &TrackingEvent)> = legs
        .into_iter()
        .flat_map(|(leg, events)| events.iter().map(move |e| (leg, e)))
        .collect();
    all.sort_by_key(|(_, e)| e.occurred_at);
    let mut out: Vec<Entry> = Vec::with_capacity(all.len());
    for (leg, e) in all {
        let window = Duration::hours(FOLD_WINDOW_HOURS);
        let same = out
            .iter_mut()
            .rev()
            .take_while(|entry| e.occurred_at - entry.occurred_at <= window)
            .find(|entry| entry.status == e.status && entry.sources().all(|s| *s != e.source));
        if let Some(entry) = same {
            entry.reports.push(Report::of(leg, e));
            if entry.location.point.is_none() {
                entry.location = e.location.clone().placed();
            }
            continue;
        }
        out.push(Entry {
            occurred_at: e.occurred_at,
            status: e.status.clone(),
            carrier: leg.carrier.clone(),
            text: e.raw_text.clone(),
            location: e.location.clone().placed(),
            reports: vec![Report::of(leg, e)],
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::leg::LegRole;
    use crate::status::{MainStatus, SubStatus};

    fn at(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap() + Duration::hours(h)
    }

    fn event(
        source: EventSource,
        h: i64,
        main: MainStatus,
        sub: SubStatus,
        place: &str,
    ) -> TrackingEvent {
        TrackingEvent::new(
            source,
            at(h),
            NormalizedStatus::new(main, sub),
            "c",
            format!("{main:?} at {place}"),
            Location {
                text: Some(place.to_owned()),
                ..Location::default()
            },
        )
    }

    fn leg(carrier: &str, number: &str) -> Leg {
        Leg {
            carrier: CarrierCode::parse(carrier).unwrap(),
            tracking_number: TrackingNumber::parse(number).unwrap(),
            role: LegRole::FirstMile,
        }
    }

    #[test]
    fn legs_merge_in_time_order_and_a_delivery_reported_twice_is_one_entry() {
        let first = [
            event(
                EventSource::SeventeenTrack,
                1,
                MainStatus::InTransit,
                SubStatus::PickedUp,
                "SHENZHEN, CN",
            ),
            event(
                EventSource::SeventeenTrack,
                50,
                MainStatus::InTransit,
                SubStatus::HandedToLastMile,
                "Moscow",
            ),
        ];
        let mut delivered = event(
            EventSource::RussianPost,
            90,
            MainStatus::Delivered,
            SubStatus::Delivered,
            "КАЗАНЬ ПОЧТАМТ",
        );
        delivered.received_at = Some(at(91));
        delivered.payload_digest = Some("ab12".into());
        let last = [delivered];
        let ozon = [event(
            EventSource::Ozon,
            91,
            MainStatus::Delivered,
            SubStatus::Delivered,
            "",
        )];
        let (o, y, r) = (
            leg("ozon", "12345678000101"),
            leg("yanwen", "UG123456789YP"),
            leg("russian_post", "RA123456785RU"),
        );
        let merged = merge([(&o, &ozon[..]), (&y, &first[..]), (&r, &last[..])]);
        assert_eq!(merged.len(), 3);
        assert_eq!(merged[0].carrier.as_str(), "yanwen");
        assert_eq!(merged[0].location.city.as_deref(), Some("Shenzhen"));
        assert!(merged[0].location.point.is_some());
        assert_eq!(merged[2].carrier.as_str(), "russian_post");
        let sources: Vec<&EventSource> = merged[2].sources().collect();
        assert_eq!(sources, [&EventSource::RussianPost, &EventSource::Ozon]);
        assert_eq!(merged[2].location.city.as_deref(), Some("Kazan"));
        // Each report keeps its own leg, receipt time and payload digest.
        let post = &merged[2].reports[0];
        assert_eq!(post.leg.as_str(), "RA123456785RU");
        assert_eq!(post.received_at, Some(at(91)));
        assert_eq!(post.payload_digest.as_deref(), Some("ab12"));
        assert_eq!(merged[2].reports[1].leg.as_str(), "12345678000101");
    }
}
