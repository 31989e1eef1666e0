//! Wall-clock times in a store's zone for every time of an export: chrono-tz finds an instant's
//! offset by a binary search of its zone's transitions, five times a row (a tenth of the CSV
//! writer's work), where a zone keeps one offset for months; so each hour's offset is found
//! once and kept.

use chrono::{DateTime, FixedOffset, NaiveDateTime, Offset as _, TimeZone as _, Utc};
use chrono_tz::Tz;

/// How many hours' offsets are kept, each hour in the slot of its number modulo this: a few
/// kilobytes whatever span of time an export covers.
const SLOTS: usize = 512;

const HOUR: i64 = 3600;

/// A zone's offset for one hour (hours since 1970, UTC).
#[derive(Debug, Clone, Copy)]
struct Kept {
    zone: Tz,
    hour: i64,
    offset: FixedOffset,
}

/// Turns instants into the wall-clock time of a zone, as `with_timezone(zone).naive_local()`
/// does, remembering the offset of each hour it has seen.
#[derive(Debug, Clone)]
pub(crate) struct LocalTimes {
    kept: Vec<Option<Kept>>,
}

impl Default for LocalTimes {
    fn default() -> Self {
        LocalTimes {
            kept: vec![None; SLOTS],
        }
    }
}

impl LocalTimes {
    /// `t` on the wall clocks of `zone`.
    pub(crate) fn local(&mut self, zone: Tz, t: DateTime<Utc>) -> NaiveDateTime {
        let hour = t.timestamp().div_euclid(HOUR);
        // The remainder of a division by 512 fits any integer type.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let slot = hour.rem_euclid(SLOTS as i64) as usize;
        let offset = match self.kept.get(slot).copied().flatten() {
            Some(kept) if kept.zone == zone && kept.hour == hour => Some(kept.offset),
            _ => {
                let offset = whole_hour(zone, hour);
                if let (Some(offset), Some(entry)) = (offset, self.kept.get_mut(slot)) {
                    *entry = Some(Kept { zone, hour, offset });
                }
                offset
            }
        };
        offset
            .and_then(|offset| t.naive_utc().checked_add_offset(offset))
            .unwrap_or_else(|| t.with_timezone(&zone).naive_local())
    }
}

/// The offset `zone` keeps through the whole of `hour`, or `None` when it changes within it (or
/// the hour is beyond what chrono holds). The same offset at the hour's first and last second
/// holds between them: no zone of the tz database changes its offset twice within an hour.
fn whole_hour(zone: Tz, hour: i64) -> Option<FixedOffset> {
    let offset_at = |seconds: i64| {
        DateTime::from_timestamp(seconds, 0)
            .map(|at| zone.offset_from_utc_datetime(&at.naive_utc()).fix())
    };
    let start = hour.checked_mul(HOUR)?;
    let first = offset_at(start)?;
    (offset_at(start.checked_add(HOUR - 1)?)? == first).then_some(first)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    /// Zones with summer time, offsets of half and three quarters of an hour, a half-hour summer
    /// shift (Lord Howe), and the sellers' own.
    const ZONES: [Tz; 8] = [
        chrono_tz::Europe::Moscow,
        chrono_tz::Asia::Shanghai,
        chrono_tz::America::New_York,
        chrono_tz::Asia::Kathmandu,
        chrono_tz::Australia::Lord_Howe,
        chrono_tz::Pacific::Chatham,
        chrono_tz::Asia::Kolkata,
        chrono_tz::Europe::Kaliningrad,
    ];

    proptest! {
        #[test]
        fn a_kept_offset_gives_the_wall_clock_chrono_tz_gives(
            seconds in prop::collection::vec(
                prop_oneof![
                    -2_500_000_000i64..4_200_000_000,
                    1_700_000_000i64..1_800_000_000,
                ],
                1..40,
            ),
            nanos in 0u32..1_000_000_000,
            zone in 0usize..ZONES.len(),
        ) {
            let zone = ZONES[zone];
            let mut times = LocalTimes::default();
            // Each instant twice, so the second reads the offset kept by the first.
            for s in seconds.iter().chain(&seconds) {
                let t = DateTime::from_timestamp(*s, nanos).unwrap();
                prop_assert_eq!(times.local(zone, t), t.with_timezone(&zone).naive_local());
            }
        }
    }

    #[test]
    fn the_hours_around_a_change_of_offset_read_as_chrono_tz_reads_them() {
        let mut times = LocalTimes::default();
        for zone in ZONES {
            // Every quarter of an hour of 2026 and of 2011 (Moscow's last summer time).
            for year_start in [1_293_840_000i64, 1_767_225_600] {
                for quarter in 0..(366 * 96) {
                    let t = DateTime::from_timestamp(year_start + quarter * 900 + 7, 0).unwrap();
                    assert_eq!(
                        times.local(zone, t),
                        t.with_timezone(&zone).naive_local(),
                        "{zone} at {t}"
                    );
                }
            }
        }
    }
}
