//! Ground truth: what really happened to each parcel, as of any time. Benchmarks and
//! integration tests compare ozontrack's picture against it; nothing here is visible to the
//! clients under test.

use chrono::{DateTime, Utc};
use ozontrack_domain::{MainStatus, NormalizedStatus, SubStatus};

use crate::world::{EventKind, FailureKind, Mode, Parcel, TrueFailure};

impl EventKind {
    /// What this event means in ozontrack's taxonomy: the status a correct client arrives at.
    pub fn normalized(self) -> NormalizedStatus {
        use MainStatus as M;
        use SubStatus as S;
        let (main, sub) = match self {
            EventKind::Registered => (M::InfoReceived, S::Registered),
            EventKind::PickedUp => (M::InTransit, S::PickedUp),
            EventKind::ArrivedHub | EventKind::DepartedHub => (M::InTransit, S::Sorting),
            EventKind::ExportCustoms => (M::InTransit, S::CustomsProcessing),
            EventKind::DepartedOrigin => (M::InTransit, S::DepartedOrigin),
            EventKind::ArrivedDestination => (M::InTransit, S::ArrivedDestination),
            EventKind::CustomsProcessing => (M::InTransit, S::CustomsProcessing),
            EventKind::CustomsHeld => (M::Exception, S::CustomsHeld),
            EventKind::CustomsReleased => (M::InTransit, S::CustomsReleased),
            EventKind::HandedToLastMile => (M::InTransit, S::HandedToLastMile),
            EventKind::ArrivedSortCenter | EventKind::DepartedSortCenter => {
                (M::InTransit, S::Sorting)
            }
            EventKind::AtPickupPoint => (M::AvailableForPickup, S::AtPickupPoint),
            EventKind::OutForDelivery => (M::OutForDelivery, S::WithCourier),
            EventKind::Delivered => (M::Delivered, S::Delivered),
            EventKind::DeliveryFailed => (M::DeliveryFailed, S::RecipientUnavailable),
            EventKind::Returning => (M::Exception, S::Returning),
            EventKind::Returned => (M::Exception, S::Returned),
            EventKind::Lost => (M::Exception, S::Lost),
        };
        NormalizedStatus::new(main, sub)
    }
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Stall => "stall",
            FailureKind::Lost => "lost",
            FailureKind::CustomsHold => "customs_hold",
            FailureKind::HandoverBreak => "handover_break",
            FailureKind::PostalSilence => "postal_silence",
            FailureKind::LateTracking => "late_tracking",
            FailureKind::MissingTracking => "missing_tracking",
            FailureKind::Disputed => "disputed",
            FailureKind::Returned => "returned",
            FailureKind::NonWhitelistedCarrier => "non_whitelisted_carrier",
        }
    }
}

/// A parcel's true state at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct TrueState {
    /// The status of the last thing that physically happened (Ozon's own status for FBO).
    pub status: NormalizedStatus,
    pub last_event_at: Option<DateTime<Utc>>,
    /// Failures that had begun by then and had not ended.
    pub active_failures: Vec<TrueFailure>,
    pub delivered: bool,
}

impl Parcel {
    /// The truth at `t`, from the full script (not what any API shows yet).
    pub fn truth_at(&self, t: DateTime<Utc>) -> TrueState {
        let last = self
            .legs()
            .flat_map(|leg| leg.events.iter())
            .filter(|e| e.at <= t)
            .max_by_key(|e| e.at);
        let status = match (last, self.mode) {
            (Some(e), _) => e.kind.normalized(),
            (None, Mode::Fbo) => {
                let step = self.ozon_at(t);
                let status = ozontrack_domain::OzonStatus::parse(step.status);
                let substatus = ozontrack_domain::OzonSubstatus::parse(step.substatus);
                ozontrack_domain::crosswalk::from_ozon(&status, &substatus)
            }
            (None, _) => NormalizedStatus::new(MainStatus::Pending, SubStatus::Registered),
        };
        let active_failures = self
            .failures
            .iter()
            .filter(|f| f.started_at <= t && f.ended_at.is_none_or(|end| t < end))
            .copied()
            .collect();
        TrueState {
            status,
            last_event_at: last.map(|e| e.at),
            active_failures,
            delivered: self.delivered_at.is_some_and(|d| d <= t),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use crate::world::{World, WorldConfig};

    use super::*;

    #[test]
    fn a_delivered_parcel_is_delivered_in_truth_from_its_delivery_on() {
        let world = World::generate(WorldConfig {
            parcels: 300,
            ..WorldConfig::default()
        });
        let parcel = world
            .parcels
            .iter()
            .find(|p| p.mode == Mode::Rfbs && p.failures.is_empty())
            .unwrap();
        let delivered = parcel.delivered_at.unwrap();
        assert!(!parcel.truth_at(delivered - Duration::seconds(1)).delivered);
        let state = parcel.truth_at(delivered);
        assert!(state.delivered);
        assert_eq!(state.status.main, MainStatus::Delivered);
    }

    #[test]
    fn a_stall_is_active_only_between_its_start_and_end() {
        let world = World::generate(WorldConfig {
            parcels: 2_000,
            ..WorldConfig::default()
        });
        let (parcel, stall) = world
            .parcels
            .iter()
            .find_map(|p| {
                p.failures
                    .iter()
                    .find(|f| f.kind == FailureKind::Stall)
                    .map(|f| (p, *f))
            })
            .unwrap();
        let end = stall.ended_at.unwrap();
        assert!(
            parcel
                .truth_at(stall.started_at - Duration::seconds(1))
                .active_failures
                .is_empty()
        );
        assert_eq!(
            parcel
                .truth_at(stall.started_at + Duration::hours(1))
                .active_failures,
            vec![stall]
        );
        assert!(
            parcel
                .truth_at(end)
                .active_failures
                .iter()
                .all(|f| f.kind != FailureKind::Stall)
        );
        // Nothing happens to the parcel while it is stalled.
        let during = parcel.truth_at(end - Duration::seconds(1));
        assert!(during.last_event_at.unwrap() <= stall.started_at);
    }

    #[test]
    fn every_event_kind_maps_to_a_final_status_only_when_the_journey_ends() {
        for kind in [EventKind::Delivered, EventKind::Returned, EventKind::Lost] {
            assert!(kind.normalized().is_final(), "{kind:?}");
        }
        for kind in [
            EventKind::PickedUp,
            EventKind::CustomsHeld,
            EventKind::Returning,
            EventKind::AtPickupPoint,
        ] {
            assert!(!kind.normalized().is_final(), "{kind:?}");
        }
    }
}
