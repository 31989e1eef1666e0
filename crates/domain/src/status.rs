//! The normalized two-level status every source is mapped onto: a main status a seller can act
//! on, and a sub-status that says what exactly happened. A carrier's code we cannot place still
//! gets a main status plus an `Unknown` sub-status carrying the raw value.

use std::fmt;

use crate::ParseError;

closed_enum! {
    /// Where a parcel stands, in the words the dashboard and rules use.
    pub enum MainStatus ("main status") {
        Pending => "pending",
        InfoReceived => "info_received",
        InTransit => "in_transit",
        OutForDelivery => "out_for_delivery",
        AvailableForPickup => "available_for_pickup",
        DeliveryFailed => "delivery_failed",
        Delivered => "delivered",
        Exception => "exception",
        Expired => "expired",
        Cancelled => "cancelled",
    }
}

/// What exactly happened, under a main status.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SubStatus {
    /// The seller or Ozon created the shipment; the carrier has data only.
    Registered,
    /// The carrier collected the parcel (first scan).
    PickedUp,
    /// A scan somewhere on the way with nothing more specific to say.
    InTransit,
    /// Sorted or processed at a hub.
    Sorting,
    /// Left the origin country (export, departure from the exchange office).
    DepartedOrigin,
    /// Reached the destination country.
    ArrivedDestination,
    /// In customs.
    CustomsProcessing,
    /// Customs released the parcel.
    CustomsReleased,
    /// Customs holds the parcel (documents, duties, inspection).
    CustomsHeld,
    /// Handed from the international carrier to the last-mile carrier.
    HandedToLastMile,
    /// With a courier for delivery.
    WithCourier,
    /// Waiting at a pickup point or parcel locker.
    AtPickupPoint,
    /// Delivered to the buyer.
    Delivered,
    /// Collected by the buyer at a pickup point.
    PickedUpByRecipient,
    /// Delivered but not yet confirmed by the buyer (Ozon's "conditionally delivered").
    ConditionallyDelivered,
    /// Nobody at the address.
    RecipientUnavailable,
    /// The buyer refused the parcel.
    Refused,
    /// The address is wrong or incomplete.
    AddressProblem,
    /// Delayed beyond its planned transit.
    Delayed,
    /// On its way back to the sender.
    Returning,
    /// Back with the sender.
    Returned,
    /// Lost by the carrier.
    Lost,
    /// Damaged.
    Damaged,
    /// Destroyed (customs, carrier).
    Destroyed,
    /// Buyer and seller dispute the delivery (Ozon arbitration).
    Disputed,
    /// No carrier data for too long.
    NoData,
    /// The order was cancelled.
    Cancelled,
    /// A source value we cannot place; keeps the raw value.
    Unknown(String),
}

impl SubStatus {
    /// Stored spelling. `Unknown` is stored as `unknown`; its raw value lives on the event.
    pub fn code(&self) -> &'static str {
        match self {
            SubStatus::Registered => "registered",
            SubStatus::PickedUp => "picked_up",
            SubStatus::InTransit => "in_transit",
            SubStatus::Sorting => "sorting",
            SubStatus::DepartedOrigin => "departed_origin",
            SubStatus::ArrivedDestination => "arrived_destination",
            SubStatus::CustomsProcessing => "customs_processing",
            SubStatus::CustomsReleased => "customs_released",
            SubStatus::CustomsHeld => "customs_held",
            SubStatus::HandedToLastMile => "handed_to_last_mile",
            SubStatus::WithCourier => "with_courier",
            SubStatus::AtPickupPoint => "at_pickup_point",
            SubStatus::Delivered => "delivered",
            SubStatus::PickedUpByRecipient => "picked_up_by_recipient",
            SubStatus::ConditionallyDelivered => "conditionally_delivered",
            SubStatus::RecipientUnavailable => "recipient_unavailable",
            SubStatus::Refused => "refused",
            SubStatus::AddressProblem => "address_problem",
            SubStatus::Delayed => "delayed",
            SubStatus::Returning => "returning",
            SubStatus::Returned => "returned",
            SubStatus::Lost => "lost",
            SubStatus::Damaged => "damaged",
            SubStatus::Destroyed => "destroyed",
            SubStatus::Disputed => "disputed",
            SubStatus::NoData => "no_data",
            SubStatus::Cancelled => "cancelled",
            SubStatus::Unknown(_) => "unknown",
        }
    }

    /// Every sub-status but `Unknown`, in declaration order.
    pub const KNOWN: [SubStatus; 27] = [
        SubStatus::Registered,
        SubStatus::PickedUp,
        SubStatus::InTransit,
        SubStatus::Sorting,
        SubStatus::DepartedOrigin,
        SubStatus::ArrivedDestination,
        SubStatus::CustomsProcessing,
        SubStatus::CustomsReleased,
        SubStatus::CustomsHeld,
        SubStatus::HandedToLastMile,
        SubStatus::WithCourier,
        SubStatus::AtPickupPoint,
        SubStatus::Delivered,
        SubStatus::PickedUpByRecipient,
        SubStatus::ConditionallyDelivered,
        SubStatus::RecipientUnavailable,
        SubStatus::Refused,
        SubStatus::AddressProblem,
        SubStatus::Delayed,
        SubStatus::Returning,
        SubStatus::Returned,
        SubStatus::Lost,
        SubStatus::Damaged,
        SubStatus::Destroyed,
        SubStatus::Disputed,
        SubStatus::NoData,
        SubStatus::Cancelled,
    ];

    /// Reads a stored code; `raw` is the event's raw value, given back to `Unknown`.
    pub fn from_code(code: &str, raw: &str) -> Result<Self, ParseError> {
        if code == "unknown" {
            return Ok(SubStatus::Unknown(raw.to_owned()));
        }
        // Searched where it lies: the constant by value was a copy of all of them and their
        // drops at each call (a thirtieth of an export's decoding, under callgrind).
        static KNOWN: [SubStatus; 27] = SubStatus::KNOWN;
        KNOWN
            .iter()
            .find(|s| s.code() == code)
            .cloned()
            .ok_or_else(|| {
                ParseError::new("sub-status", code, "not one of ozontrack's sub-statuses")
            })
    }
}

impl fmt::Display for SubStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubStatus::Unknown(raw) => write!(f, "unknown ({raw})"),
            known => f.write_str(known.code()),
        }
    }
}

/// A main status and what exactly happened under it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NormalizedStatus {
    pub main: MainStatus,
    pub sub: SubStatus,
}

impl NormalizedStatus {
    pub fn new(main: MainStatus, sub: SubStatus) -> Self {
        Self { main, sub }
    }

    /// A status whose main level is known but whose detail is a raw value we cannot place.
    pub fn unknown(main: MainStatus, raw: impl Into<String>) -> Self {
        Self {
            main,
            sub: SubStatus::Unknown(raw.into()),
        }
    }

    /// Final statuses end tracking: nothing will change without a new shipment.
    pub fn is_final(&self) -> bool {
        match self.main {
            MainStatus::Delivered | MainStatus::Cancelled => true,
            MainStatus::Exception => matches!(
                self.sub,
                SubStatus::Returned | SubStatus::Lost | SubStatus::Destroyed
            ),
            _ => false,
        }
    }
}

impl fmt::Display for NormalizedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.main, self.sub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_main_status_round_trips_through_its_stored_spelling() {
        for status in MainStatus::ALL {
            assert_eq!(MainStatus::parse(status.as_str()).unwrap(), *status);
        }
        assert!(MainStatus::parse("lost_in_space").is_err());
    }

    #[test]
    fn an_unknown_sub_status_gets_its_raw_value_back_from_the_event() {
        let sub = SubStatus::from_code("unknown", "CC_HO_OUT_SUCCESS").unwrap();
        assert_eq!(sub, SubStatus::Unknown("CC_HO_OUT_SUCCESS".into()));
        assert_eq!(sub.code(), "unknown");
    }

    #[test]
    fn known_sub_statuses_round_trip_through_their_codes() {
        for code in [
            "customs_held",
            "handed_to_last_mile",
            "returned",
            "address_problem",
        ] {
            assert_eq!(SubStatus::from_code(code, "").unwrap().code(), code);
        }
    }

    #[test]
    fn delivered_cancelled_and_lost_are_final_but_returning_is_not() {
        let s = NormalizedStatus::new;
        assert!(s(MainStatus::Delivered, SubStatus::Delivered).is_final());
        assert!(s(MainStatus::Cancelled, SubStatus::Cancelled).is_final());
        assert!(s(MainStatus::Exception, SubStatus::Lost).is_final());
        assert!(!s(MainStatus::Exception, SubStatus::Returning).is_final());
        assert!(!s(MainStatus::InTransit, SubStatus::CustomsHeld).is_final());
    }
}
