//! Crosswalks from other taxonomies onto ours: Ozon's posting status and substatus, and the
//! 17TRACK and AfterShip status sets that most carrier data arrives in. Carrier-native codes
//! (Russian Post, CDEK) get their crosswalks with their clients.
//!
//! Every crosswalk is total: a value it cannot place becomes the closest main status with an
//! `Unknown` sub-status holding the raw value, never an error.

use crate::posting::{OzonStatus, OzonSubstatus};
use crate::status::{MainStatus, NormalizedStatus, SubStatus};

/// Where an Ozon posting stands, from its `status` and `substatus`. The substatus is more
/// specific, so it decides whenever it is known; otherwise the status does.
pub fn from_ozon(status: &OzonStatus, substatus: &OzonSubstatus) -> NormalizedStatus {
    use MainStatus as M;
    use OzonSubstatus as Sub;
    use SubStatus as S;
    let n = NormalizedStatus::new;
    let by_sub = match substatus {
        Sub::Created
        | Sub::AcceptanceInProgress
        | Sub::AwaitingRegistration
        | Sub::SplitPending
        | Sub::AwaitingPassportData
        | Sub::Packing => Some(n(M::Pending, S::Registered)),
        Sub::RegistrationError | Sub::ShipFailed => {
            Some(NormalizedStatus::unknown(M::Pending, substatus.as_str()))
        }
        Sub::Registered | Sub::NotInCarriage => Some(n(M::InfoReceived, S::Registered)),
        Sub::TransferringToDelivery | Sub::DriverPickUp | Sub::SentBySeller => {
            Some(n(M::InTransit, S::PickedUp))
        }
        Sub::InCarriage | Sub::OnWayToCity | Sub::OnWayToPickupPoint => {
            Some(n(M::InTransit, S::InTransit))
        }
        Sub::TransferredToCourierService => Some(n(M::InTransit, S::HandedToLastMile)),
        Sub::InCourierService => Some(n(M::OutForDelivery, S::WithCourier)),
        Sub::InPickupPoint => Some(n(M::AvailableForPickup, S::AtPickupPoint)),
        Sub::ConditionallyDelivered => Some(n(M::Delivered, S::ConditionallyDelivered)),
        Sub::Delivered => Some(n(M::Delivered, S::Delivered)),
        Sub::Received => Some(n(M::Delivered, S::PickedUpByRecipient)),
        Sub::ReturnedToWarehouse => Some(n(M::Exception, S::Returning)),
        Sub::InArbitration | Sub::InClientArbitration => Some(n(M::Exception, S::Disputed)),
        Sub::Canceled => Some(n(M::Cancelled, S::Cancelled)),
        Sub::NotInSortCenter => Some(NormalizedStatus::unknown(M::Exception, substatus.as_str())),
        Sub::None | Sub::Unknown(_) => None,
    };
    if let Some(status) = by_sub {
        return status;
    }
    let raw = || {
        if substatus.as_str().is_empty() {
            status.as_str().to_owned()
        } else {
            format!("{}/{}", status.as_str(), substatus.as_str())
        }
    };
    match status {
        OzonStatus::AcceptanceInProgress
        | OzonStatus::AwaitingApprove
        | OzonStatus::AwaitingPackaging
        | OzonStatus::AwaitingRegistration
        | OzonStatus::AwaitingVerification => n(M::Pending, S::Registered),
        OzonStatus::AwaitingDeliver => n(M::InfoReceived, S::Registered),
        OzonStatus::DriverPickup | OzonStatus::SentBySeller => n(M::InTransit, S::PickedUp),
        OzonStatus::Delivering => n(M::InTransit, S::InTransit),
        OzonStatus::Delivered => n(M::Delivered, S::Delivered),
        OzonStatus::Arbitration | OzonStatus::ClientArbitration => n(M::Exception, S::Disputed),
        OzonStatus::Cancelled | OzonStatus::CancelledFromSplitPending => {
            n(M::Cancelled, S::Cancelled)
        }
        OzonStatus::NotAccepted => NormalizedStatus::unknown(M::Exception, raw()),
        OzonStatus::Unknown(_) => NormalizedStatus::unknown(M::Pending, raw()),
    }
}

/// From 17TRACK's `latest_status.status` and `sub_status` (v2.2). Sub-statuses are read as
/// open strings, since 17TRACK adds new ones without notice.
pub fn from_17track(status: &str, sub_status: &str) -> NormalizedStatus {
    use MainStatus as M;
    use SubStatus as S;
    let n = NormalizedStatus::new;
    match sub_status {
        "InfoReceived" => return n(M::InfoReceived, S::Registered),
        "InTransit_PickedUp" => return n(M::InTransit, S::PickedUp),
        "InTransit_Departure" => return n(M::InTransit, S::DepartedOrigin),
        "InTransit_Arrival" => return n(M::InTransit, S::ArrivedDestination),
        "InTransit_CustomsProcessing" => return n(M::InTransit, S::CustomsProcessing),
        "InTransit_CustomsReleased" => return n(M::InTransit, S::CustomsReleased),
        "InTransit_CustomsRequiringInformation" => return n(M::Exception, S::CustomsHeld),
        "InTransit_Other" => return n(M::InTransit, S::InTransit),
        "Expired_Other" => return n(M::Expired, S::NoData),
        "AvailableForPickup_Other" => return n(M::AvailableForPickup, S::AtPickupPoint),
        "OutForDelivery_Other" => return n(M::OutForDelivery, S::WithCourier),
        "DeliveryFailure_NoBody" => return n(M::DeliveryFailed, S::RecipientUnavailable),
        "DeliveryFailure_Security" => return n(M::DeliveryFailed, S::CustomsHeld),
        "DeliveryFailure_Rejected" => return n(M::DeliveryFailed, S::Refused),
        "DeliveryFailure_InvalidAddress" => return n(M::DeliveryFailed, S::AddressProblem),
        "Delivered_Other" => return n(M::Delivered, S::Delivered),
        "Exception_Returning" => return n(M::Exception, S::Returning),
        "Exception_Returned" => return n(M::Exception, S::Returned),
        "Exception_NoBody" => return n(M::Exception, S::RecipientUnavailable),
        "Exception_Security" => return n(M::Exception, S::CustomsHeld),
        "Exception_Damage" => return n(M::Exception, S::Damaged),
        "Exception_Rejected" => return n(M::Exception, S::Refused),
        "Exception_Delayed" => return n(M::Exception, S::Delayed),
        "Exception_Lost" => return n(M::Exception, S::Lost),
        "Exception_Destroyed" => return n(M::Exception, S::Destroyed),
        "Exception_Cancel" => return n(M::Cancelled, S::Cancelled),
        _ => {}
    }
    let main = match status {
        "NotFound" | "InfoReceived" => M::Pending,
        "InTransit" => M::InTransit,
        "Expired" => M::Expired,
        "AvailableForPickup" => M::AvailableForPickup,
        "OutForDelivery" => M::OutForDelivery,
        "DeliveryFailure" => M::DeliveryFailed,
        "Delivered" => M::Delivered,
        "Exception" => M::Exception,
        _ => M::Pending,
    };
    let raw = if sub_status.is_empty() {
        status
    } else {
        sub_status
    };
    NormalizedStatus::unknown(main, raw)
}

/// From AfterShip's `tag` and `subtag` (e.g. `InTransit` / `InTransit_004`).
pub fn from_aftership(tag: &str, subtag: &str) -> NormalizedStatus {
    use MainStatus as M;
    use SubStatus as S;
    let n = NormalizedStatus::new;
    match subtag {
        "Pending_001" => return n(M::Pending, S::NoData),
        "InfoReceived_001" => return n(M::InfoReceived, S::Registered),
        "InTransit_001" | "InTransit_008" | "InTransit_009" => {
            return n(M::InTransit, S::InTransit);
        }
        "InTransit_002" => return n(M::InTransit, S::PickedUp),
        "InTransit_003" => return n(M::InTransit, S::Sorting),
        "InTransit_004" => return n(M::InTransit, S::ArrivedDestination),
        "InTransit_005" => return n(M::InTransit, S::CustomsReleased),
        "InTransit_006" => return n(M::InTransit, S::CustomsProcessing),
        "InTransit_007" => return n(M::InTransit, S::DepartedOrigin),
        "OutForDelivery_001" | "OutForDelivery_003" | "OutForDelivery_004" => {
            return n(M::OutForDelivery, S::WithCourier);
        }
        "OutForDelivery_002" | "AvailableForPickup_001" => {
            return n(M::AvailableForPickup, S::AtPickupPoint);
        }
        "AttemptFail_001" => return n(M::DeliveryFailed, S::Unknown(subtag.to_owned())),
        "AttemptFail_002" | "AttemptFail_003" => {
            return n(M::DeliveryFailed, S::RecipientUnavailable);
        }
        "Delivered_001" | "Delivered_003" | "Delivered_004" | "Delivered_005" => {
            return n(M::Delivered, S::Delivered);
        }
        "Delivered_002" => return n(M::Delivered, S::PickedUpByRecipient),
        "Exception_002" | "Exception_007" => return n(M::Exception, S::AddressProblem),
        "Exception_003" | "Exception_009" => return n(M::Exception, S::Refused),
        "Exception_004" | "Exception_006" | "Exception_018" => {
            return n(M::Exception, S::CustomsHeld);
        }
        "Exception_005" | "Exception_016" | "Exception_017" => return n(M::Exception, S::Delayed),
        "Exception_008" => return n(M::Exception, S::RecipientUnavailable),
        "Exception_010" => return n(M::Exception, S::Returning),
        "Exception_011" => return n(M::Exception, S::Returned),
        "Exception_012" => return n(M::Exception, S::Damaged),
        "Exception_013" => return n(M::Exception, S::Lost),
        "Expired_001" => return n(M::Expired, S::NoData),
        _ => {}
    }
    let main = match tag {
        "Pending" => M::Pending,
        "InfoReceived" => M::InfoReceived,
        "InTransit" => M::InTransit,
        "OutForDelivery" => M::OutForDelivery,
        "AttemptFail" => M::DeliveryFailed,
        "Delivered" => M::Delivered,
        "AvailableForPickup" => M::AvailableForPickup,
        "Exception" => M::Exception,
        "Expired" => M::Expired,
        _ => M::Pending,
    };
    let raw = if subtag.is_empty() { tag } else { subtag };
    NormalizedStatus::unknown(main, raw)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn an_ozon_posting_in_a_pickup_point_is_available_for_pickup() {
        let status = from_ozon(&OzonStatus::Delivering, &OzonSubstatus::InPickupPoint);
        assert_eq!(
            status,
            NormalizedStatus::new(MainStatus::AvailableForPickup, SubStatus::AtPickupPoint)
        );
    }

    #[test]
    fn ozon_arbitration_is_a_disputed_exception() {
        for status in [OzonStatus::Arbitration, OzonStatus::ClientArbitration] {
            let normalized = from_ozon(&status, &OzonSubstatus::None);
            assert_eq!(normalized.sub, SubStatus::Disputed);
        }
    }

    #[test]
    fn an_unknown_ozon_substatus_falls_back_to_the_status() {
        let substatus = OzonSubstatus::parse("posting_teleported");
        let normalized = from_ozon(&OzonStatus::Delivered, &substatus);
        assert_eq!(
            normalized,
            NormalizedStatus::new(MainStatus::Delivered, SubStatus::Delivered)
        );
    }

    #[test]
    fn an_unknown_ozon_status_keeps_both_raw_values() {
        let normalized = from_ozon(&OzonStatus::parse("warp"), &OzonSubstatus::parse("drive"));
        assert_eq!(
            normalized,
            NormalizedStatus::unknown(MainStatus::Pending, "warp/drive")
        );
    }

    #[test]
    fn every_documented_17track_sub_status_is_placed() {
        let documented = [
            ("InfoReceived", "InfoReceived"),
            ("InTransit", "InTransit_PickedUp"),
            ("InTransit", "InTransit_Departure"),
            ("InTransit", "InTransit_Arrival"),
            ("InTransit", "InTransit_CustomsProcessing"),
            ("InTransit", "InTransit_CustomsReleased"),
            ("InTransit", "InTransit_CustomsRequiringInformation"),
            ("InTransit", "InTransit_Other"),
            ("Expired", "Expired_Other"),
            ("AvailableForPickup", "AvailableForPickup_Other"),
            ("OutForDelivery", "OutForDelivery_Other"),
            ("DeliveryFailure", "DeliveryFailure_NoBody"),
            ("DeliveryFailure", "DeliveryFailure_Security"),
            ("DeliveryFailure", "DeliveryFailure_Rejected"),
            ("DeliveryFailure", "DeliveryFailure_InvalidAddress"),
            ("Delivered", "Delivered_Other"),
            ("Exception", "Exception_Returning"),
            ("Exception", "Exception_Returned"),
            ("Exception", "Exception_NoBody"),
            ("Exception", "Exception_Security"),
            ("Exception", "Exception_Damage"),
            ("Exception", "Exception_Rejected"),
            ("Exception", "Exception_Delayed"),
            ("Exception", "Exception_Lost"),
            ("Exception", "Exception_Destroyed"),
            ("Exception", "Exception_Cancel"),
        ];
        for (status, sub) in documented {
            let normalized = from_17track(status, sub);
            assert!(
                !matches!(normalized.sub, SubStatus::Unknown(_)),
                "{status}/{sub}"
            );
        }
    }

    #[test]
    fn a_new_17track_sub_status_keeps_its_main_status_and_raw_value() {
        let normalized = from_17track("InTransit", "InTransit_TransportArrived");
        assert_eq!(
            normalized,
            NormalizedStatus::unknown(MainStatus::InTransit, "InTransit_TransportArrived")
        );
    }

    #[test]
    fn aftership_customs_clearance_completed_is_customs_released() {
        let normalized = from_aftership("InTransit", "InTransit_005");
        assert_eq!(normalized.sub, SubStatus::CustomsReleased);
        assert_eq!(
            from_aftership("Exception", "Exception_013").sub,
            SubStatus::Lost
        );
    }

    proptest! {
        #[test]
        fn crosswalks_never_panic_and_keep_unplaced_values(main in "\\PC{0,20}", sub in "\\PC{0,30}") {
            for normalized in [
                from_17track(&main, &sub),
                from_aftership(&main, &sub),
                from_ozon(&OzonStatus::parse(&main), &OzonSubstatus::parse(&sub)),
            ] {
                if let SubStatus::Unknown(raw) = &normalized.sub {
                    prop_assert!(raw.contains(sub.as_str()) || raw.contains(main.as_str()));
                }
            }
        }
    }
}
