//! Where time comes from. Everything that asks "what time is it" takes a [`Clock`], so tests
//! set the time by hand and the sandbox runs a week of parcels in a minute.

use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, Duration, DurationRound, Utc};

/// A source of the current time, truncated to microseconds so that a time read from the
/// clock, stored in either database and read back compares equal.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;

    /// How many seconds pass on this clock per real second, when it runs on its own: what
    /// another process needs to follow it. None for a clock moved by hand.
    fn speed(&self) -> Option<f64> {
        None
    }

    /// A span of real time as this clock counts it. Leases protect work that takes real time
    /// (requests, queries), so a lease of two minutes lasts two real minutes on a sandbox
    /// world's fast clock too; a clock moved by hand counts it as given.
    fn lasting(&self, real: Duration) -> Duration {
        match self.speed() {
            Some(speed) if speed != 1.0 => {
                let micros = real.num_microseconds().unwrap_or(i64::MAX) as f64 * speed;
                // Saturates rather than wraps for absurd spans.
                #[allow(clippy::cast_possible_truncation)]
                Duration::microseconds(micros.min(i64::MAX as f64 / 2.0) as i64)
            }
            _ => real,
        }
    }
}

fn to_micros(time: DateTime<Utc>) -> DateTime<Utc> {
    // Truncating to a microsecond only fails for times near the end of chrono's range.
    time.duration_trunc(Duration::microseconds(1))
        .unwrap_or(time)
}

/// The machine's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        // The one place that reads the wall clock directly.
        #[allow(clippy::disallowed_methods)]
        let now = Utc::now();
        to_micros(now)
    }

    fn speed(&self) -> Option<f64> {
        Some(1.0)
    }
}

/// A clock that moves only when told to, for tests.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(to_micros(start)),
        }
    }

    pub fn set(&self, time: DateTime<Utc>) {
        *self.lock() = to_micros(time);
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now = to_micros(*now + by);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        // A panic while holding this lock cannot leave the time half-written, so a poisoned
        // lock still holds a valid time.
        self.now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

/// Simulated time: starts at `origin` and runs `speed` times faster than real time, until
/// `stops_at` if given, where it stands still.
#[derive(Debug)]
pub struct ScaledClock {
    origin: DateTime<Utc>,
    started: Instant,
    speed: f64,
    stops_at: Option<DateTime<Utc>>,
}

impl ScaledClock {
    /// `speed` must be positive and finite; anything else is treated as real time (1×).
    pub fn new(origin: DateTime<Utc>, speed: f64) -> Self {
        let speed = if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            1.0
        };
        Self {
            origin: to_micros(origin),
            started: Instant::now(),
            speed,
            stops_at: None,
        }
    }

    /// The same clock, standing still from `at` on: a world whose end is fixed, so that runs
    /// over it can be compared at one moment however long they take to get there.
    #[must_use]
    pub fn stopping_at(mut self, at: DateTime<Utc>) -> Self {
        self.stops_at = Some(to_micros(at));
        self
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> DateTime<Utc> {
        let real = self.started.elapsed().as_secs_f64();
        // Microseconds of simulated time; f64 keeps microsecond precision for centuries.
        #[allow(clippy::cast_possible_truncation)]
        let simulated = (real * self.speed * 1e6) as i64;
        let now = to_micros(self.origin + Duration::microseconds(simulated));
        self.stops_at.map_or(now, |end| now.min(end))
    }

    fn speed(&self) -> Option<f64> {
        // A clock that stood still no longer runs at its speed.
        match self.stops_at {
            Some(end) if self.now() >= end => None,
            _ => Some(self.speed),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let start = Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0).unwrap();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::hours(48));
        assert_eq!(clock.now(), start + Duration::hours(48));
    }

    #[test]
    fn clocks_give_microsecond_precision_only() {
        let start = Utc.timestamp_opt(1_700_000_000, 123_456_789).unwrap();
        assert_eq!(
            ManualClock::new(start).now().timestamp_subsec_nanos(),
            123_456_000
        );
        assert_eq!(SystemClock.now().timestamp_subsec_nanos() % 1000, 0);
    }

    #[test]
    fn a_lease_lasts_as_long_in_real_time_on_a_fast_clock_and_as_given_on_a_manual_one() {
        let start = Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap();
        let two_minutes = Duration::minutes(2);
        assert_eq!(
            ScaledClock::new(start, 3600.0).lasting(two_minutes),
            Duration::hours(120)
        );
        assert_eq!(SystemClock.lasting(two_minutes), two_minutes);
        assert_eq!(ManualClock::new(start).lasting(two_minutes), two_minutes);
        assert_eq!(ManualClock::new(start).speed(), None);
    }

    #[test]
    fn a_scaled_clock_runs_faster_than_real_time() {
        let start = Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap();
        let clock = ScaledClock::new(start, 3600.0);
        let before = Instant::now();
        while before.elapsed() < std::time::Duration::from_millis(20) {
            std::hint::spin_loop();
        }
        // 20 ms of real time at 3600× is at least 72 simulated seconds.
        assert!(clock.now() - start >= Duration::seconds(72));
    }

    #[test]
    fn a_scaled_clock_told_where_to_stop_stands_still_there() {
        let start = Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap();
        let end = start + Duration::seconds(30);
        let clock = ScaledClock::new(start, 3600.0).stopping_at(end);
        assert_eq!(Clock::speed(&clock), Some(3600.0), "running until then");
        let before = Instant::now();
        while before.elapsed() < std::time::Duration::from_millis(20) {
            std::hint::spin_loop();
        }
        assert_eq!(clock.now(), end);
        assert_eq!(
            Clock::speed(&clock),
            None,
            "a clock that stands still has no speed"
        );
    }

    #[test]
    fn a_nonsensical_speed_falls_back_to_real_time() {
        let start = Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap();
        assert_eq!(ScaledClock::new(start, f64::NAN).speed(), 1.0);
        assert_eq!(ScaledClock::new(start, -5.0).speed(), 1.0);
    }
}
