//! When a parcel will arrive, as a window a buyer and a seller can read: from how long the
//! parcels of its lane took (median and 90th percentile from Ozon's "in process" to delivery)
//! or, before a lane has enough history, from typical times of its mode.

use chrono::{DateTime, Duration, Utc};

use crate::Scheme;

/// Delivered parcels a lane needs before its own times are trusted over the mode's.
pub const MIN_LANE_SAMPLES: u64 = 20;

/// Adds a leg's carrier to a lane's carriers (first mile first): Ozon's own legs and a
/// carrier already on the lane add nothing. The store's lane figures and the estimates look
/// lanes up by the same list, so both build it with this.
pub fn add_lane_carrier(carriers: &mut Vec<String>, code: &str) {
    if code != crate::carrier::OZON && !carriers.iter().any(|c| c == code) {
        carriers.push(code.to_owned());
    }
}

/// How long a lane's delivered parcels took, in days.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LaneTransit {
    pub p50_days: f64,
    pub p90_days: f64,
    pub samples: u64,
}

/// Where the estimate's times came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Basis {
    /// This many delivered parcels of the same lane.
    Lane(u64),
    /// Typical times of the mode.
    Mode,
}

/// An arrival window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub basis: Basis,
}

/// Typical (median, 90th percentile) days from "in process" to delivery for a mode with no
/// history yet: cross-border China → Russia runs about two weeks, FBO ships from a Russian
/// warehouse within days.
fn mode_days(scheme: Scheme) -> (f64, f64) {
    match scheme {
        Scheme::Fbo => (3.0, 6.0),
        Scheme::Fbs | Scheme::Rfbs => (8.0, 16.0),
        Scheme::Crossborder => (14.0, 25.0),
    }
}

fn days(d: f64) -> Duration {
    Duration::seconds((d * 86_400.0).round() as i64)
}

/// The window for a parcel started at `started` and not yet delivered, seen at `now`. A parcel
/// already past its lane's 90th percentile is late: its window starts now and spans the
/// spread between median and 90th percentile, never less than a day.
pub fn window(
    started: DateTime<Utc>,
    scheme: Scheme,
    lane: Option<LaneTransit>,
    now: DateTime<Utc>,
) -> Window {
    let (p50, p90, basis) = match lane.filter(|l| l.samples >= MIN_LANE_SAMPLES) {
        Some(l) => (
            l.p50_days,
            l.p90_days.max(l.p50_days),
            Basis::Lane(l.samples),
        ),
        None => {
            let (p50, p90) = mode_days(scheme);
            (p50, p90, Basis::Mode)
        }
    };
    let from = started + days(p50);
    let to = started + days(p90);
    if to >= now {
        return Window {
            from: from.max(now),
            to,
            basis,
        };
    }
    let spread = days((p90 - p50).max(1.0));
    Window {
        from: now,
        to: now + spread,
        basis,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 0, 0, 0).unwrap()
    }

    #[test]
    fn a_lanes_carriers_keep_their_order_without_ozon_or_repeats() {
        let mut lane = Vec::new();
        for code in [
            "ozon",
            "cainiao",
            "cainiao",
            "russian_post",
            "ozon",
            "cainiao",
        ] {
            add_lane_carrier(&mut lane, code);
        }
        assert_eq!(lane, ["cainiao", "russian_post"]);
    }

    #[test]
    fn a_lane_with_history_gives_its_median_to_90th_percentile() {
        let lane = LaneTransit {
            p50_days: 10.0,
            p90_days: 15.0,
            samples: 120,
        };
        let w = window(at(1), Scheme::Crossborder, Some(lane), at(3));
        assert_eq!(w.from, at(11));
        assert_eq!(w.to, at(16));
        assert_eq!(w.basis, Basis::Lane(120));
    }

    #[test]
    fn a_lane_with_few_deliveries_falls_back_to_the_modes_times() {
        let lane = LaneTransit {
            p50_days: 2.0,
            p90_days: 3.0,
            samples: MIN_LANE_SAMPLES - 1,
        };
        let w = window(at(1), Scheme::Fbo, Some(lane), at(1));
        assert_eq!((w.from, w.to, w.basis), (at(4), at(7), Basis::Mode));
    }

    #[test]
    fn a_late_parcels_window_starts_now() {
        let w = window(at(1), Scheme::Fbo, None, at(20));
        assert_eq!(w.from, at(20));
        assert_eq!(w.to, at(23));
    }

    proptest! {
        #[test]
        fn the_window_never_starts_before_now_nor_ends_before_it_starts(
            started in 0i64..10_000_000,
            seen in 0i64..20_000_000,
            p50 in 0.0f64..60.0,
            extra in 0.0f64..60.0,
            samples in 0u64..500,
        ) {
            let started = at(1) + Duration::seconds(started);
            let now = at(1) + Duration::seconds(seen);
            let lane = LaneTransit { p50_days: p50, p90_days: p50 + extra, samples };
            let w = window(started, Scheme::Crossborder, Some(lane), now);
            prop_assert!(w.from >= now);
            prop_assert!(w.to >= w.from);
        }
    }
}
