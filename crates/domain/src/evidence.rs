//! What a dispute rests on, as facts: the delivery event a seller points Ozon to, the places
//! where sources disagree, and the deadlines Ozon states. The evidence pack (`ozontrack-evidence`)
//! lays these out; the words come from the message catalogue.

use chrono::Duration;

use crate::MainStatus;
use crate::event::TrackingEvent;
use crate::timeline::Entry;
use crate::trail::{Trail, TrailLeg};

closed_enum! {
    /// A deadline Ozon states for a dispute. They are Ozon's policy, which may change: each is
    /// shown with the page it was read from.
    pub enum Deadline ("deadline") {
        /// Ozon's support asks for the packaging video; answer within 2 days or the buyer is
        /// refunded at the seller's cost.
        PackagingVideo => "packaging_video",
        /// A withholding can be contested within 30 days.
        ContestWithholding => "contest_withholding",
        /// A buyer can dispute a refused return within 5 calendar days.
        ReturnDispute => "return_dispute",
        /// Ozon decides a return dispute within 3 days.
        ReturnDecision => "return_decision",
    }
}

impl Deadline {
    /// How long, in days.
    pub fn days(self) -> u32 {
        match self {
            Self::PackagingVideo => 2,
            Self::ContestWithholding => 30,
            Self::ReturnDispute => 5,
            Self::ReturnDecision => 3,
        }
    }

    /// The Ozon page that states it.
    pub fn source(self) -> &'static str {
        match self {
            Self::PackagingVideo => {
                "https://docs.ozon.ru/global/en/fulfillment/rfbs/logistic-settings/order-management/"
            }
            Self::ContestWithholding => {
                "https://global.ozon.ru/en/docs/fulfillment/order-management.html"
            }
            Self::ReturnDispute | Self::ReturnDecision => {
                "https://docs.ozon.ru/global/en/faq/zakazy/"
            }
        }
    }
}

/// The delivery a seller shows: the latest "delivered" event of a carrier's leg, or of Ozon's
/// own when no carrier reported one.
pub fn delivery(trail: &Trail) -> Option<(&TrailLeg, &TrackingEvent)> {
    latest_delivery(trail.carrier_legs()).or_else(|| latest_delivery(trail.legs.iter()))
}

fn latest_delivery<'a>(
    legs: impl Iterator<Item = &'a TrailLeg>,
) -> Option<(&'a TrailLeg, &'a TrackingEvent)> {
    legs.flat_map(|l| l.events.iter().map(move |e| (l, e)))
        .filter(|(_, e)| e.status.main == MainStatus::Delivered)
        .max_by_key(|(_, e)| e.occurred_at)
}

/// Timeline entries whose sources disagree: the same happening reported at different times,
/// or with different codes by the same kind of source. Shown side by side, never resolved.
pub fn conflicts(trail: &Trail) -> impl Iterator<Item = &Entry> {
    trail.timeline.iter().filter(|e| {
        e.reports.len() > 1
            && e.reports
                .iter()
                .any(|r| (r.occurred_at - e.occurred_at).abs() >= Duration::minutes(1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_deadline_names_its_days_and_an_ozon_page() {
        for d in Deadline::ALL {
            assert!(d.days() > 0);
            assert!(d.source().starts_with("https://"), "{d:?}");
            assert!(d.source().contains("ozon.ru"), "{d:?}");
        }
    }
}
