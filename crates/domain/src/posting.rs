//! A posting is what Ozon ships: one or more products of an order that travel as one parcel.
//! Its Ozon status and substatus are kept as Ozon spells them, unknown values included.

use chrono::{DateTime, Utc};

use crate::geo::GeoPoint;
use crate::ids::{PostingNumber, StoreId};
use crate::money::Money;
use crate::tracking_number::TrackingNumber;

closed_enum! {
    /// How the order reaches the buyer; decides which carriers and rules apply.
    pub enum Scheme ("mode") {
        /// Seller ships through Ozon logistics or an integrated carrier.
        Fbs => "fbs",
        /// Seller delivers, or a carrier Ozon does not integrate (realFBS).
        Rfbs => "rfbs",
        /// Ozon fulfils from its own warehouse.
        Fbo => "fbo",
        /// Cross-border: the seller's own first mile abroad.
        Crossborder => "crossborder",
    }
}

open_string_enum! {
    /// Ozon's FBS/rFBS/FBO `status`.
    pub enum OzonStatus {
        AcceptanceInProgress => "acceptance_in_progress",
        AwaitingApprove => "awaiting_approve",
        AwaitingPackaging => "awaiting_packaging",
        AwaitingRegistration => "awaiting_registration",
        AwaitingVerification => "awaiting_verification",
        AwaitingDeliver => "awaiting_deliver",
        Arbitration => "arbitration",
        ClientArbitration => "client_arbitration",
        DriverPickup => "driver_pickup",
        Delivering => "delivering",
        Delivered => "delivered",
        Cancelled => "cancelled",
        CancelledFromSplitPending => "cancelled_from_split_pending",
        NotAccepted => "not_accepted",
        SentBySeller => "sent_by_seller",
    }
}

open_string_enum! {
    /// Ozon's `substatus` / `previous_substatus`.
    pub enum OzonSubstatus {
        AcceptanceInProgress => "posting_acceptance_in_progress",
        InArbitration => "posting_in_arbitration",
        Created => "posting_created",
        InCarriage => "posting_in_carriage",
        NotInCarriage => "posting_not_in_carriage",
        Registered => "posting_registered",
        TransferringToDelivery => "posting_transferring_to_delivery",
        AwaitingPassportData => "posting_awaiting_passport_data",
        AwaitingRegistration => "posting_awaiting_registration",
        RegistrationError => "posting_registration_error",
        SplitPending => "posting_split_pending",
        Canceled => "posting_canceled",
        InClientArbitration => "posting_in_client_arbitration",
        Delivered => "posting_delivered",
        Received => "posting_received",
        ConditionallyDelivered => "posting_conditionally_delivered",
        InCourierService => "posting_in_courier_service",
        InPickupPoint => "posting_in_pickup_point",
        OnWayToCity => "posting_on_way_to_city",
        OnWayToPickupPoint => "posting_on_way_to_pickup_point",
        ReturnedToWarehouse => "posting_returned_to_warehouse",
        TransferredToCourierService => "posting_transferred_to_courier_service",
        DriverPickUp => "posting_driver_pick_up",
        NotInSortCenter => "posting_not_in_sort_center",
        Packing => "posting_packing",
        SentBySeller => "sent_by_seller",
        ShipFailed => "ship_failed",
        /// Ozon leaves the substatus empty on some postings.
        None => "",
    }
}

/// The delivery method Ozon assigned, with its third-party logistics provider when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryMethod {
    pub id: i64,
    pub name: String,
    pub tpl_provider_id: Option<i64>,
    pub tpl_provider: Option<String>,
    pub warehouse_id: Option<i64>,
    pub warehouse: Option<String>,
}

/// One product line of a posting.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    /// Ozon's SKU (`OZON id` in older reports), when known.
    pub sku: Option<i64>,
    /// The seller's article (`Артикул`), kept as text: leading zeros matter.
    pub offer_id: String,
    pub name: String,
    pub quantity: u32,
    /// The seller's price for one item.
    pub price: Option<Money>,
}

/// The delivery window Ozon shows the buyer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Promise {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Promise {
    /// Ozon's pair of times, when both are there and in order (an empty or a reversed window
    /// is no promise ozontrack can show).
    pub fn of(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Option<Promise> {
        match (from, to) {
            (Some(from), Some(to)) if from <= to => Some(Promise { from, to }),
            _ => None,
        }
    }

    /// Whether the parcel misses the promise: delivered after it, or, still under way, expected
    /// (from the start of ozontrack's window) only after it.
    pub fn missed(
        &self,
        delivered_at: Option<DateTime<Utc>>,
        window: Option<&crate::estimate::Window>,
    ) -> bool {
        match (delivered_at, window) {
            (Some(at), _) => at > self.to,
            (None, Some(w)) => w.from > self.to,
            (None, None) => false,
        }
    }
}

/// One Ozon posting as ozontrack keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Posting {
    pub store_id: StoreId,
    pub number: PostingNumber,
    /// Ozon's numeric order id, when Ozon gave it.
    pub order_id: Option<i64>,
    pub scheme: Scheme,
    pub status: OzonStatus,
    pub substatus: OzonSubstatus,
    pub delivery_method: Option<DeliveryMethod>,
    /// The number the seller uploaded (FBS/rFBS) or Ozon assigned; `None` until there is one.
    pub tracking_number: Option<TrackingNumber>,
    /// When Ozon started processing the order (about when it was paid).
    pub in_process_at: Option<DateTime<Utc>>,
    /// The ship-by deadline (`shipment_date`).
    pub ship_by: Option<DateTime<Utc>>,
    /// When the parcel was handed to delivery.
    pub delivering_at: Option<DateTime<Utc>>,
    /// When Ozon says it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// The delivery window Ozon promised the buyer (`analytics_data.delivery_date_begin` and
    /// `_end`; Ozon moves it, and says so with a push, when a parcel is held up).
    pub promised: Option<Promise>,
    pub buyer_city: Option<String>,
    pub buyer_region: Option<String>,
    pub buyer_point: Option<GeoPoint>,
    /// Sum of the products' prices.
    pub total: Option<Money>,
    /// Ozon allows opening a chat with the buyer (`can_create_chat` among the posting's
    /// available actions).
    pub chat_allowed: bool,
}

/// The seller office's words for Ozon's statuses, as its postings report writes them (the
/// sandbox's report writes them, the import reads them back).
const OFFICE_NAMES: &[(OzonStatus, &str)] = &[
    (OzonStatus::AwaitingRegistration, "Ожидает регистрации"),
    (OzonStatus::AcceptanceInProgress, "Идёт приёмка"),
    (OzonStatus::AwaitingApprove, "Ожидает подтверждения"),
    (OzonStatus::AwaitingPackaging, "Ожидает сборки"),
    (OzonStatus::AwaitingVerification, "Создано"),
    (OzonStatus::AwaitingDeliver, "Ожидает отгрузки"),
    (OzonStatus::DriverPickup, "У водителя"),
    (OzonStatus::Delivering, "Доставляется"),
    (OzonStatus::Delivered, "Доставлен"),
    (OzonStatus::Cancelled, "Отменён"),
    (OzonStatus::NotAccepted, "Не принят на сортировочном центре"),
    (OzonStatus::Arbitration, "Арбитраж"),
    (OzonStatus::ClientArbitration, "Клиентский арбитраж"),
    (OzonStatus::SentBySeller, "Отправлено продавцом"),
];

impl OzonStatus {
    /// The statuses after which nothing more happens to a parcel (a dispute still can): the
    /// one list the rules, the sync and every SQL filter of "postings still in play" use.
    pub const FINAL: &'static [OzonStatus] = &[
        OzonStatus::Delivered,
        OzonStatus::Cancelled,
        OzonStatus::CancelledFromSplitPending,
    ];

    /// The status the seller office's report names (`Доставлен`, `Отменен` without the ё, any
    /// case); a name it does not know is kept as it is written.
    pub fn from_office_name(name: &str) -> OzonStatus {
        let wanted = name.trim().to_lowercase().replace('ё', "е");
        OFFICE_NAMES
            .iter()
            .find(|(_, n)| n.to_lowercase().replace('ё', "е") == wanted)
            .map_or_else(|| OzonStatus::parse(name.trim()), |(s, _)| s.clone())
    }

    /// The seller office's name of the status; a code it has no name for, as it is.
    pub fn office_name(&self) -> &str {
        OFFICE_NAMES
            .iter()
            .find(|(s, _)| s == self)
            .map_or_else(|| self.as_str(), |(_, n)| n)
    }

    /// Whether the status is one of [`Self::FINAL`].
    pub fn is_final(&self) -> bool {
        Self::FINAL.contains(self)
    }
}

impl Posting {
    /// Delivered or cancelled: nothing more will happen to the parcel (a dispute can still).
    pub fn is_over(&self) -> bool {
        self.status.is_final()
    }

    /// A posting with only what every posting has; the rest starts empty.
    pub fn new(
        store_id: StoreId,
        number: PostingNumber,
        scheme: Scheme,
        status: OzonStatus,
    ) -> Self {
        Self {
            store_id,
            number,
            order_id: None,
            scheme,
            status,
            substatus: OzonSubstatus::None,
            delivery_method: None,
            tracking_number: None,
            in_process_at: None,
            ship_by: None,
            delivering_at: None,
            delivered_at: None,
            promised: None,
            buyer_city: None,
            buyer_region: None,
            buyer_point: None,
            total: None,
            chat_allowed: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::estimate::{Basis, Window};

    #[test]
    fn a_promise_is_missed_when_delivered_after_it_or_expected_only_after_it() {
        let at = |day: u32, hour: u32| Utc.with_ymd_and_hms(2026, 10, day, hour, 0, 0).unwrap();
        assert_eq!(
            Promise::of(Some(at(27, 19)), Some(at(27, 7))),
            None,
            "reversed"
        );
        assert_eq!(Promise::of(Some(at(27, 7)), None), None, "half a window");
        let promise = Promise::of(Some(at(27, 7)), Some(at(27, 19))).unwrap();
        let window = |from, to| Window {
            from,
            to,
            basis: Basis::Typical,
        };
        assert!(!promise.missed(None, Some(&window(at(25, 0), at(28, 0)))));
        assert!(promise.missed(None, Some(&window(at(28, 0), at(30, 0)))));
        assert!(!promise.missed(Some(at(27, 18)), None));
        assert!(promise.missed(Some(at(27, 20)), Some(&window(at(25, 0), at(26, 0)))));
        assert!(!promise.missed(None, None), "nothing to judge by");
    }

    #[test]
    fn an_ozon_status_we_have_never_seen_is_kept_verbatim() {
        let status = OzonStatus::parse("awaiting_teleport");
        assert_eq!(status, OzonStatus::Unknown("awaiting_teleport".into()));
        assert_eq!(status.as_str(), "awaiting_teleport");
        assert!(!status.is_known());
    }

    #[test]
    fn known_ozon_values_round_trip() {
        for status in OzonStatus::KNOWN {
            assert_eq!(&OzonStatus::parse(status.as_str()), status);
        }
        for sub in OzonSubstatus::KNOWN {
            assert_eq!(&OzonSubstatus::parse(sub.as_str()), sub);
        }
    }

    #[test]
    fn schemes_parse_in_any_case() {
        assert_eq!(Scheme::parse("FBO").unwrap(), Scheme::Fbo);
        assert!(Scheme::parse("dbs").is_err());
    }

    #[test]
    fn delivered_and_both_cancellations_are_final_statuses() {
        assert!(OzonStatus::Delivered.is_final());
        assert!(OzonStatus::CancelledFromSplitPending.is_final());
        assert!(!OzonStatus::Arbitration.is_final());
        assert!(!OzonStatus::Unknown("delivered_twice".into()).is_final());
    }
}
