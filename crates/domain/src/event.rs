//! What a source reported about a leg at one moment. Events are append-only: the evidence a
//! seller attaches to a dispute is exactly what carriers said, with when we heard it.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::geo::GeoPoint;
use crate::status::NormalizedStatus;

open_string_enum! {
    /// Who told us about an event.
    pub enum EventSource {
        Ozon => "ozon",
        SeventeenTrack => "17track",
        RussianPost => "russian_post",
        Cdek => "cdek",
        /// Typed in or imported by a person.
        Manual => "manual",
        /// Read from a seller-office report file.
        Import => "import",
    }
}

open_string_enum! {
    /// How a carrier says a parcel was handed over at delivery: the attribute a dispute rests
    /// on (Russian Post's `OperAttr` of an `OperType` 2 "Вручение").
    pub enum Handover {
        /// Into the addressee's hands.
        Addressee => "addressee",
        /// Against a simple electronic signature (ПЭП: a code from the buyer's app or SMS).
        ESignature => "e_signature",
        ParcelLocker => "parcel_locker",
        Postman => "postman",
        Courier => "courier",
    }
}

impl Handover {
    /// What Russian Post's attribute of a delivery operation (`OperType` 2) says, when it says
    /// how (`parcel-tracking.md` §4.1; attribute 2 is a return to the sender, not a delivery).
    pub fn of_russian_post(attr: u32) -> Option<Self> {
        Some(match attr {
            1 => Self::Addressee,
            3 | 4 => Self::ParcelLocker,
            6 => Self::Postman,
            8 => Self::Courier,
            13 => Self::ESignature,
            _ => return None,
        })
    }
}

/// Where an event happened, as far as the source says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Location {
    /// The source's own location text, verbatim.
    pub text: Option<String>,
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2 code, upper case.
    pub country: Option<String>,
    pub point: Option<GeoPoint>,
}

impl Location {
    /// The location with what the built-in gazetteer knows of it: when its city or its text
    /// names a known city, the city under its English name and, where the source gave none,
    /// the country and coordinates.
    pub fn placed(self) -> Self {
        let known = [self.city.as_deref(), self.text.as_deref()]
            .into_iter()
            .flatten()
            .find_map(crate::gazetteer::find);
        match known {
            None => self,
            Some(city) => Location {
                city: Some(city.name.to_owned()),
                country: self.country.or_else(|| Some(city.country.to_owned())),
                point: self.point.or_else(|| Some(city.point())),
                text: self.text,
            },
        }
    }
}

/// A stable digest of what makes an event *this* event, used to drop the copies a carrier sends
/// again on every poll. It must never change for the same input: stored rows depend on it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// FNV-1a (64 bit) over the source, the time to the microsecond, the raw code, the raw
    /// text and the location text, separated so that fields cannot run into each other.
    pub fn compute(
        source: &EventSource,
        occurred_at: DateTime<Utc>,
        raw_code: &str,
        raw_text: &str,
        location_text: &str,
    ) -> Self {
        const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let time = occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true);
        let mut hash = OFFSET;
        for field in [source.as_str(), &time, raw_code, raw_text, location_text] {
            for byte in field.bytes().chain([0x1f]) {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(PRIME);
            }
        }
        Self(format!("{hash:016x}"))
    }

    /// A fingerprint read back from storage.
    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One event on a leg's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackingEvent {
    pub occurred_at: DateTime<Utc>,
    pub status: NormalizedStatus,
    /// The source's own status code, verbatim (empty when it has none).
    pub raw_code: String,
    /// The source's own description, verbatim.
    pub raw_text: String,
    pub location: Location,
    pub source: EventSource,
    pub fingerprint: Fingerprint,
    /// Digest of the raw payload this event was read from, for evidence.
    pub payload_digest: Option<String>,
    /// When ozontrack stored it (first received it); `None` for an event not stored yet.
    /// Not part of the fingerprint: the same report received twice is one event.
    pub received_at: Option<DateTime<Utc>>,
    /// For a delivery: how the carrier says it was handed over, when it says.
    pub handover: Option<Handover>,
    /// For a delivery: the recipient's name exactly as the carrier recorded it (Russian Post's
    /// `Rcpn`, CDEK's `delivery_detail.recipient_name`). A buyer's personal data: it goes into
    /// the evidence pack for Ozon and nowhere else.
    pub recipient: Option<String>,
}

impl TrackingEvent {
    /// An event whose fingerprint is computed from its own fields.
    pub fn new(
        source: EventSource,
        occurred_at: DateTime<Utc>,
        status: NormalizedStatus,
        raw_code: impl Into<String>,
        raw_text: impl Into<String>,
        location: Location,
    ) -> Self {
        let raw_code = raw_code.into();
        let raw_text = raw_text.into();
        let fingerprint = Fingerprint::compute(
            &source,
            occurred_at,
            &raw_code,
            &raw_text,
            location.text.as_deref().unwrap_or(""),
        );
        Self {
            occurred_at,
            status,
            raw_code,
            raw_text,
            location,
            source,
            fingerprint,
            payload_digest: None,
            received_at: None,
            handover: None,
            recipient: None,
        }
    }

    /// The event with what the carrier says of its hand-over (neither is part of the
    /// fingerprint: a carrier adding a recipient later does not make another event).
    pub fn with_handover(mut self, handover: Option<Handover>, recipient: Option<String>) -> Self {
        self.handover = handover;
        self.recipient = recipient.filter(|r| !r.trim().is_empty());
        self
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::status::{MainStatus, SubStatus};

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, hour, 0, 0).unwrap()
    }

    #[test]
    fn the_fingerprint_of_a_given_event_never_changes() {
        // Stored rows are de-duplicated by this value: if this test fails, existing databases
        // would accept every event again. The value was computed independently (Python FNV-1a).
        let fp = Fingerprint::compute(&EventSource::Cdek, at(8), "ACCEPTED", "Принят", "Москва");
        assert_eq!(fp.as_str(), "ea5724535c26c526");
    }

    #[test]
    fn fields_cannot_run_into_each_other_in_the_fingerprint() {
        let a = Fingerprint::compute(&EventSource::Cdek, at(8), "AB", "C", "");
        let b = Fingerprint::compute(&EventSource::Cdek, at(8), "A", "BC", "");
        assert_ne!(a, b);
    }

    #[test]
    fn the_same_report_from_another_source_is_another_event() {
        let status = NormalizedStatus::new(MainStatus::InTransit, SubStatus::Sorting);
        let e = |source| {
            TrackingEvent::new(
                source,
                at(9),
                status.clone(),
                "8",
                "Sorting",
                Location::default(),
            )
        };
        assert_ne!(
            e(EventSource::RussianPost).fingerprint,
            e(EventSource::SeventeenTrack).fingerprint
        );
    }
}
