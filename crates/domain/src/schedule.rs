//! When a leg is next worth a carrier call. Carrier calls cost quota and rate limit, so a leg
//! is checked often only while that can change what a seller sees: while it moves, and just
//! after it crosses a stall threshold (48 h, 72 h, 7 days without news), so the rules see
//! fresh data within the hour of crossing. Quiet legs are checked rarely, final legs and legs
//! quiet for 30 days never, and legs a webhook covers only as a safety net. A leg whose data
//! came from an aggregator that could not reach the carrier is looked at again within the
//! half hour.

use chrono::{DateTime, Duration, Utc};

use crate::status::NormalizedStatus;

/// What the schedule looks at.
#[derive(Debug, Clone, PartialEq)]
pub struct LegActivity<'a> {
    pub status: Option<&'a NormalizedStatus>,
    /// The latest event's time, if any.
    pub last_event_at: Option<DateTime<Utc>>,
    /// When we started tracking the leg.
    pub tracked_since: DateTime<Utc>,
    /// When a webhook last brought news of the leg.
    pub pushed_at: Option<DateTime<Utc>>,
    /// The last answer came from an aggregator that could not reach the carrier: what we
    /// have may be stale, and the parcel may have moved meanwhile.
    pub source_stale: bool,
}

/// The cadence, in one place so that the benchmark and the settings talk about the same
/// numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cadence {
    /// Between checks while the last event is less than a day old.
    pub moving: Duration,
    /// Between checks while the last event is one to seven days old.
    pub quiet: Duration,
    /// Between checks after a week without news. Kept well under the first threshold: an
    /// event after a long silence must be seen before it is 48 hours old, or its stall would
    /// be noticed late.
    pub dormant: Duration,
    /// Quiet times at which the rules change their verdict; each gets a check just after.
    pub thresholds: Vec<Duration>,
    /// How long after a threshold its check comes (carrier data lags a little).
    pub threshold_margin: Duration,
    /// Tracking stops after this long without news.
    pub give_up_after: Duration,
    /// Between safety-net checks of a leg a webhook keeps up to date.
    pub webhook_safety_net: Duration,
    /// The shortest gap between two checks of a leg.
    pub min_gap: Duration,
    /// How soon a leg whose source was stale is looked at again.
    pub stale_source_retry: Duration,
}

impl Default for Cadence {
    fn default() -> Self {
        Self {
            moving: Duration::hours(12),
            quiet: Duration::hours(24),
            dormant: Duration::hours(36),
            thresholds: vec![Duration::hours(48), Duration::hours(72), Duration::days(7)],
            threshold_margin: Duration::minutes(15),
            give_up_after: Duration::days(30),
            webhook_safety_net: Duration::hours(48),
            min_gap: Duration::minutes(15),
            stale_source_retry: Duration::minutes(30),
        }
    }
}

/// When to check a leg next, after a check at `now`; `None`: never again.
pub fn next_check(
    leg: &LegActivity<'_>,
    now: DateTime<Utc>,
    cadence: &Cadence,
) -> Option<DateTime<Utc>> {
    if leg.status.is_some_and(NormalizedStatus::is_final) {
        return None;
    }
    let since = leg.last_event_at.unwrap_or(leg.tracked_since).min(now);
    let quiet = now - since;
    let give_up = since + cadence.give_up_after;
    if now >= give_up {
        return None;
    }
    let earliest = now + cadence.min_gap;
    if leg.pushed_at.is_some() && !leg.source_stale {
        return Some(
            (now + cadence.webhook_safety_net)
                .min(give_up)
                .max(earliest),
        );
    }
    let every = if quiet < Duration::hours(24) {
        cadence.moving
    } else if quiet < Duration::days(7) {
        cadence.quiet
    } else {
        cadence.dormant
    };
    let threshold = cadence
        .thresholds
        .iter()
        .map(|t| since + *t + cadence.threshold_margin)
        .filter(|at| *at >= earliest)
        .min();
    let retry = leg.source_stale.then(|| now + cadence.stale_source_retry);
    let next = [Some(now + every), threshold, retry, Some(give_up)]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(give_up);
    Some(next.max(earliest))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;
    use crate::status::{MainStatus, SubStatus};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
    }

    fn moving() -> NormalizedStatus {
        NormalizedStatus::new(MainStatus::InTransit, SubStatus::InTransit)
    }

    fn activity(status: &NormalizedStatus, last: DateTime<Utc>) -> LegActivity<'_> {
        LegActivity {
            status: Some(status),
            last_event_at: Some(last),
            tracked_since: t0(),
            pushed_at: None,
            source_stale: false,
        }
    }

    #[test]
    fn a_delivered_leg_is_never_checked_again() {
        let done = NormalizedStatus::new(MainStatus::Delivered, SubStatus::Delivered);
        assert_eq!(
            next_check(&activity(&done, t0()), t0(), &Cadence::default()),
            None
        );
    }

    #[test]
    fn a_leg_quiet_for_thirty_days_is_given_up() {
        let s = moving();
        let now = t0() + Duration::days(30);
        assert_eq!(
            next_check(&activity(&s, t0()), now, &Cadence::default()),
            None
        );
    }

    #[test]
    fn a_moving_leg_is_checked_twice_a_day() {
        let s = moving();
        let now = t0() + Duration::hours(2);
        let next = next_check(&activity(&s, t0()), now, &Cadence::default()).unwrap();
        assert_eq!(next, now + Duration::hours(12));
    }

    #[test]
    fn a_check_comes_just_after_the_48_hour_threshold() {
        let s = moving();
        let now = t0() + Duration::hours(40);
        let next = next_check(&activity(&s, t0()), now, &Cadence::default()).unwrap();
        assert_eq!(next, t0() + Duration::hours(48) + Duration::minutes(15));
    }

    #[test]
    fn a_leg_covered_by_a_webhook_is_only_checked_as_a_safety_net() {
        let s = moving();
        let now = t0() + Duration::hours(40);
        let leg = LegActivity {
            pushed_at: Some(now),
            ..activity(&s, t0())
        };
        let next = next_check(&leg, now, &Cadence::default()).unwrap();
        assert_eq!(next, now + Duration::hours(48));
    }

    #[test]
    fn the_slowest_cadence_still_sees_a_new_event_before_its_first_threshold() {
        // Carriers show a scan up to six hours after it happened.
        let cadence = Cadence::default();
        let first = cadence.thresholds.iter().min().copied().unwrap();
        assert!(cadence.dormant + Duration::hours(6) < first);
        assert!(cadence.quiet + Duration::hours(6) < first);
    }

    #[test]
    fn a_leg_whose_carrier_the_aggregator_could_not_reach_is_looked_at_again_soon() {
        let s = moving();
        let now = t0() + Duration::hours(2);
        let leg = LegActivity {
            source_stale: true,
            pushed_at: Some(now),
            ..activity(&s, t0())
        };
        let next = next_check(&leg, now, &Cadence::default()).unwrap();
        assert_eq!(next, now + Duration::minutes(30));
    }

    proptest! {
        /// Whatever the history, a leg that is not final is checked again within a day and a
        /// half while it has news less than 30 days old, never sooner than the minimum gap,
        /// and every stall threshold crossed between two checks has a check within the hour
        /// after it.
        #[test]
        fn checks_are_spaced_and_no_threshold_is_missed(
            last_h in 0i64..800,
            now_h in 0i64..800,
        ) {
            let cadence = Cadence::default();
            let s = moving();
            let last = t0() + Duration::hours(last_h);
            let now = t0() + Duration::hours(now_h.max(last_h));
            match next_check(&activity(&s, last), now, &cadence) {
                None => prop_assert!(now - last >= cadence.give_up_after),
                Some(next) => {
                    prop_assert!(next >= now + cadence.min_gap);
                    prop_assert!(next - now <= cadence.dormant);
                    for t in &cadence.thresholds {
                        let crossing = last + *t;
                        if crossing > now && crossing < next {
                            prop_assert!(next <= crossing + Duration::hours(1));
                        }
                    }
                }
            }
        }
    }
}
