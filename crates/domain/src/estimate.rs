//! When a parcel will arrive, as a window a buyer and a seller can read, and what it rests on.
//!
//! A journey passes milestones (Ozon has it in process, the first mile accepted it, it left
//! China, arrived in Russia, cleared customs, the last mile accepted it, it waits at a pickup
//! point or is out with a courier). From delivered parcels we learn, per milestone, how long
//! the rest of the journey took; a parcel's window is read at its latest milestone, on the
//! narrowest lane with enough deliveries (its carriers and city, its carriers, the carrier of
//! that stretch, its mode, everything), as the interval between the order statistics that hold a
//! new delivery with probability 95 % whatever the distribution (with a margin for the group's
//! sampling error, and the 5 % left out split between early and late deliveries the way that
//! gives the narrowest window), among the deliveries that took longer than the time already
//! spent since the milestone. So the window narrows as the parcel advances, moves on as
//! time passes, and says what it rests on.
//!
//! The previous method (the lane's median to 90th percentile of "in process → delivered") lives
//! on in `ozontrack bench estimate` as the baseline it measures against.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

use chrono::{DateTime, Duration, Utc};
use foldhash::HashMap;

use crate::Scheme;
use crate::leg::LegRole;
use crate::status::{MainStatus, NormalizedStatus, SubStatus};

/// Deliveries a group needs (after those faster than the time already spent are set aside)
/// before its window is trusted over a coarser group's.
pub const MIN_SAMPLES: usize = 40;

/// Slower deliveries that still make a window for a late parcel, at the coarsest group.
pub const MIN_TAIL: usize = 10;

/// How long ago a milestone must have been reached for its parcels to teach: by then all but a
/// few are delivered (stalls and customs holds included), so the slow ones count too.
pub const SETTLE_DAYS: i64 = 40;

/// The share of deliveries a window is chosen to hold.
pub const COVERAGE: f64 = 0.95;

/// Adds a leg's carrier to a lane's carriers (first mile first): Ozon's own legs and a
/// carrier already on the lane add nothing. The store's lane figures and the estimates look
/// lanes up by the same list, so both build it with this.
pub fn add_lane_carrier(carriers: &mut Vec<String>, code: &str) {
    if joins_lane(carriers, code) {
        carriers.push(code.to_owned());
    }
}

/// Whether a leg's carrier adds to a lane (see [`add_lane_carrier`]).
fn joins_lane(carriers: &[String], code: &str) -> bool {
    code != crate::carrier::OZON && !carriers.iter().any(|c| c == code)
}

closed_enum! {
    /// Where a parcel is, as far as its arrival goes; in journey order.
    pub enum Milestone ("milestone") {
        /// Ozon has the order in process.
        InProcess => "in_process",
        /// The first-mile carrier accepted the parcel.
        FirstMile => "first_mile",
        /// It left the country of origin.
        DepartedOrigin => "departed_origin",
        /// It arrived in the destination country.
        ArrivedDestination => "arrived_destination",
        /// Customs released it.
        CustomsReleased => "customs_released",
        /// The last-mile carrier accepted it.
        LastMile => "last_mile",
        /// It waits at a pickup point.
        AtPickupPoint => "at_pickup_point",
        /// A courier is bringing it.
        OutForDelivery => "out_for_delivery",
    }
}

impl Milestone {
    /// The milestone an event marks, if any.
    pub fn of(role: LegRole, status: &NormalizedStatus) -> Option<Milestone> {
        match (status.main, &status.sub) {
            (MainStatus::Delivered | MainStatus::InfoReceived | MainStatus::Pending, _) => None,
            (MainStatus::OutForDelivery, _) => Some(Milestone::OutForDelivery),
            (MainStatus::AvailableForPickup, _) => Some(Milestone::AtPickupPoint),
            (_, SubStatus::PickedUp) if role != LegRole::LastMile => Some(Milestone::FirstMile),
            (_, SubStatus::DepartedOrigin) => Some(Milestone::DepartedOrigin),
            (_, SubStatus::ArrivedDestination) => Some(Milestone::ArrivedDestination),
            (_, SubStatus::CustomsReleased) => Some(Milestone::CustomsReleased),
            (MainStatus::InTransit, _) if role == LegRole::LastMile => Some(Milestone::LastMile),
            _ => None,
        }
    }
}

/// A journey as the estimates read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Journey {
    pub scheme: Scheme,
    /// Its carriers in order (see [`add_lane_carrier`]).
    pub lane: Vec<String>,
    pub buyer_city: Option<String>,
    /// When each milestone was first reached, in journey order.
    pub milestones: Vec<(Milestone, DateTime<Utc>)>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl Journey {
    /// A journey from when Ozon took the order in process and its legs' events (the role of the
    /// leg, when it happened, what it meant), in any order.
    pub fn new<'a>(
        scheme: Scheme,
        lane: Vec<String>,
        buyer_city: Option<String>,
        in_process_at: DateTime<Utc>,
        events: impl IntoIterator<Item = (LegRole, DateTime<Utc>, &'a NormalizedStatus)>,
        delivered_at: Option<DateTime<Utc>>,
    ) -> Journey {
        let mut milestones = Vec::new();
        reached(&mut milestones, in_process_at, events);
        Journey {
            scheme,
            lane,
            buyer_city,
            milestones,
            delivered_at,
        }
    }

    /// The journey of another parcel under way, made as [`new`](Self::new) makes it (its lane
    /// from the legs' `carriers` in order, by [`add_lane_carrier`]) in this one's buffers: an
    /// export reads a window for every posting under way, and a journey's five allocations were
    /// a tenth of it.
    pub fn remake<'a, 'c>(
        &mut self,
        scheme: Scheme,
        carriers: impl IntoIterator<Item = &'c str>,
        buyer_city: Option<&str>,
        in_process_at: DateTime<Utc>,
        events: impl IntoIterator<Item = (LegRole, DateTime<Utc>, &'a NormalizedStatus)>,
    ) {
        self.scheme = scheme;
        let mut kept = 0;
        for code in carriers {
            if !joins_lane(&self.lane[..kept], code) {
                continue;
            }
            match self.lane.get_mut(kept) {
                Some(carrier) => {
                    carrier.clear();
                    carrier.push_str(code);
                }
                None => self.lane.push(code.to_owned()),
            }
            kept += 1;
        }
        self.lane.truncate(kept);
        match (&mut self.buyer_city, buyer_city) {
            (Some(city), Some(new)) => {
                city.clear();
                city.push_str(new);
            }
            (city, new) => *city = new.map(str::to_owned),
        }
        self.milestones.clear();
        reached(&mut self.milestones, in_process_at, events);
        self.delivered_at = None;
    }

    /// When Ozon took the order in process (its first milestone).
    pub fn in_process_at(&self) -> Option<DateTime<Utc>> {
        self.milestones
            .iter()
            .find(|(m, _)| *m == Milestone::InProcess)
            .map(|(_, at)| *at)
    }

    /// The latest milestone reached (in journey order) and when.
    pub fn current(&self) -> Option<(Milestone, DateTime<Utc>)> {
        self.milestones.last().copied()
    }

    /// The journey as it was known at `t`: the milestones reached by then, not yet delivered.
    pub fn at(&self, t: DateTime<Utc>) -> Journey {
        Journey {
            milestones: self
                .milestones
                .iter()
                .copied()
                .filter(|(_, at)| *at <= t)
                .collect(),
            delivered_at: self.delivered_at.filter(|d| *d <= t),
            ..self.clone()
        }
    }
}

/// Puts in `milestones` (empty) when each was first reached: in process at `in_process_at`,
/// the others by the legs' events, in journey order. A handful: searched in a vector, not
/// hashed (a journey is made for every posting an export shows under way, and for every
/// delivery learned from).
fn reached<'a>(
    milestones: &mut Vec<(Milestone, DateTime<Utc>)>,
    in_process_at: DateTime<Utc>,
    events: impl IntoIterator<Item = (LegRole, DateTime<Utc>, &'a NormalizedStatus)>,
) {
    milestones.push((Milestone::InProcess, in_process_at));
    for (role, at, status) in events {
        if let Some(m) = Milestone::of(role, status) {
            match milestones.iter_mut().find(|(seen, _)| *seen == m) {
                Some((_, first)) => *first = (*first).min(at),
                None => milestones.push((m, at)),
            }
        }
    }
    milestones.sort();
}

closed_enum! {
    /// Which deliveries a window was learned from, finest first.
    pub enum Level ("estimate level") {
        /// The same carriers to the same city.
        City => "city",
        /// The same carriers.
        Lane => "lane",
        /// The same carrier for this stretch (the first mile before the last mile took over).
        Carrier => "carrier",
        /// The same mode.
        Mode => "mode",
        /// Every delivery.
        All => "all",
    }
}

/// What a window rests on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Basis {
    /// `samples` deliveries of parcels past the same milestone, of this `level`, that took
    /// longer than the time this parcel has already spent since it.
    Learned {
        milestone: Milestone,
        level: Level,
        samples: u64,
    },
    /// Past what every delivery took from this milestone: a window from now, as wide as usual.
    Overdue { milestone: Milestone },
    /// Typical times of the mode: no history yet.
    Typical,
}

/// An arrival window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub basis: Basis,
}

impl Window {
    pub fn holds(&self, t: DateTime<Utc>) -> bool {
        self.from <= t && t <= self.to
    }

    pub fn width(&self) -> Duration {
        self.to - self.from
    }
}

/// A group deliveries are learned in and windows read from: a milestone at one level, with what
/// of the journey that level keeps (see [`keys`]).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    milestone: Milestone,
    level: Level,
    scheme: Option<Scheme>,
    lane: Vec<String>,
    city: Option<String>,
}

/// A [`Key`] borrowed from a journey: an export reads a window for every posting under way, and
/// copying each lane and city into five owned keys was most of a window's cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct KeyRef<'a> {
    milestone: Milestone,
    level: Level,
    scheme: Option<Scheme>,
    lane: &'a [String],
    city: Option<&'a str>,
}

impl KeyRef<'_> {
    fn to_key(self) -> Key {
        Key {
            milestone: self.milestone,
            level: self.level,
            scheme: self.scheme,
            lane: self.lane.to_vec(),
            city: self.city.map(str::to_owned),
        }
    }
}

/// What the groups are looked up by, owned or borrowed: both hash and compare as their
/// [`KeyRef`], so a borrowed key finds its owned group.
trait GroupKey {
    fn parts(&self) -> KeyRef<'_>;
}

impl GroupKey for Key {
    fn parts(&self) -> KeyRef<'_> {
        KeyRef {
            milestone: self.milestone,
            level: self.level,
            scheme: self.scheme,
            lane: &self.lane,
            city: self.city.as_deref(),
        }
    }
}

impl GroupKey for KeyRef<'_> {
    fn parts(&self) -> KeyRef<'_> {
        *self
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

impl<'a> Borrow<dyn GroupKey + 'a> for Key {
    fn borrow(&self) -> &(dyn GroupKey + 'a) {
        self
    }
}

impl Hash for dyn GroupKey + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

impl PartialEq for dyn GroupKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn GroupKey + '_ {}

/// What delivered parcels took from each milestone, grouped by level; learned once, read for
/// every window.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// Hours from the milestone to delivery, sorted.
    groups: HashMap<Key, Vec<f64>>,
}

fn hours(d: Duration) -> f64 {
    d.num_seconds() as f64 / 3600.0
}

fn after_hours(t: DateTime<Utc>, h: f64) -> DateTime<Utc> {
    t + Duration::seconds((h * 3600.0).round() as i64)
}

/// The group keys of a journey at a milestone, finest first.
fn keys(j: &Journey, m: Milestone) -> [KeyRef<'_>; 5] {
    // The stretch's carrier: the last mile's once it took over, else the first mile's.
    let stretch = if m >= Milestone::LastMile {
        j.lane.last()
    } else {
        j.lane.first()
    };
    let stretch = stretch.map_or(&[][..], std::slice::from_ref);
    let key = |level, scheme, lane, city| KeyRef {
        milestone: m,
        level,
        scheme,
        lane,
        city,
    };
    [
        key(
            Level::City,
            Some(j.scheme),
            &j.lane[..],
            j.buyer_city.as_deref(),
        ),
        key(Level::Lane, Some(j.scheme), &j.lane[..], None),
        key(Level::Carrier, Some(j.scheme), stretch, None),
        key(Level::Mode, Some(j.scheme), &[], None),
        key(Level::All, None, &[], None),
    ]
}

/// How many standard errors of its coverage a group's window adds to [`COVERAGE`]. A window
/// chosen to hold exactly 95 % of a group's deliveries holds 95 % of new ones only on average
/// over groups; one group's sample is off by about √(0.95 · 0.05 / n) either way, and a
/// milestone's windows rest on a few dozen groups, so left at 95 % they held 94.5–95.6 % at
/// their worst milestone in `bench estimate` (seeds 1–10) with equal tails, and 94.0–95.1 % with
/// the split below. Half a standard error more (96.7 % of 40 deliveries, 95.2 % of 4 000) held
/// 95.1–96.2 %.
const MARGIN_SE: f64 = 0.5;

/// How the share a window may miss is split between early and late deliveries: the early
/// part of each candidate (the late part is the rest). A group's window takes the candidate
/// that gives its deliveries the narrowest interval: where stalls and customs holds make a long
/// late tail, the window leaves that tail out rather than stretching into it; where the spread
/// is even, the tails stay equal (the first candidate, kept on a tie).
const EARLY_PARTS: [f64; 5] = [0.5, 0.4, 0.3, 0.2, 0.1];

/// The interval between order statistics that holds a new delivery with probability at least
/// [`COVERAGE`] whatever the distribution: with n sorted samples and shares e early and l late
/// left out, the a-th and b-th (1-based), a = ⌊e (n+1)⌋ and b = ⌈(1 − l)(n+1)⌉, hold it with
/// probability (b − a)/(n + 1) ≥ 1 − e − l (a = 0 is the milestone itself), and e + l is 5 %
/// less the [`MARGIN_SE`] margin. Of the splits [`EARLY_PARTS`], the narrowest on these
/// samples. Only a few candidates, on purpose: the shortest of all intervals holding 95 % of
/// the samples is chosen on the very samples it is judged by and holds less than it claims
/// (93–94 % in `bench estimate`); choosing among five fixed splits costs a fraction of that,
/// which the margin covers.
fn interval(samples: &[f64]) -> (f64, f64) {
    let n = samples.len() as f64;
    let standard_error = (COVERAGE * (1.0 - COVERAGE) / n).sqrt();
    let miss = (1.0 - COVERAGE - MARGIN_SE * standard_error).max(0.0);
    let leaving_out = |early: f64| {
        let late = miss - early;
        let a = ((n + 1.0) * early).floor() as usize;
        let b = (((n + 1.0) * (1.0 - late)).ceil() as usize).clamp(1, samples.len());
        let low = if a == 0 { 0.0 } else { samples[a - 1] };
        (low, samples[b - 1])
    };
    EARLY_PARTS
        .iter()
        .map(|part| leaving_out(part * miss))
        .min_by(|x, y| (x.1 - x.0).total_cmp(&(y.1 - y.0)))
        .unwrap_or((0.0, 0.0))
}

impl Model {
    /// Learns, at `now`, from journeys; only delivered ones count, and only from milestones
    /// reached at least [`SETTLE_DAYS`] ago: of parcels past a milestone more recently, only the
    /// fast ones are delivered yet, and learning from them would make every window too early.
    pub fn learn<'a>(journeys: impl IntoIterator<Item = &'a Journey>, now: DateTime<Utc>) -> Model {
        let settled = now - Duration::days(SETTLE_DAYS);
        let mut groups: HashMap<Key, Vec<f64>> = HashMap::default();
        for j in journeys {
            let Some(delivered) = j.delivered_at else {
                continue;
            };
            for &(m, at) in &j.milestones {
                if at > delivered || at > settled {
                    continue;
                }
                let left = hours(delivered - at);
                for key in keys(j, m) {
                    match groups.get_mut(&key as &dyn GroupKey) {
                        Some(samples) => samples.push(left),
                        None => {
                            groups.insert(key.to_key(), vec![left]);
                        }
                    }
                }
            }
        }
        for samples in groups.values_mut() {
            samples.sort_by(f64::total_cmp);
        }
        Model { groups }
    }

    /// Delivered journeys learned from, per milestone (at the coarsest level).
    pub fn samples(&self, m: Milestone) -> usize {
        self.groups
            .get(&KeyRef {
                milestone: m,
                level: Level::All,
                scheme: None,
                lane: &[],
                city: None,
            } as &dyn GroupKey)
            .map_or(0, Vec::len)
    }

    /// The window of a journey under way, seen at `now`; `None` when the model knows nothing
    /// of its latest milestone.
    pub fn window(&self, j: &Journey, now: DateTime<Utc>) -> Option<Window> {
        let (milestone, at) = j.current()?;
        let spent = hours(now - at).max(0.0);
        let learned = |level: Level, longer: &[f64]| {
            let (low, high) = interval(longer);
            Window {
                from: after_hours(at, low).max(now),
                to: after_hours(at, high),
                basis: Basis::Learned {
                    milestone,
                    level,
                    samples: longer.len() as u64,
                },
            }
        };
        let mut coarsest: Option<(Level, &[f64], &[f64])> = None;
        for key in keys(j, milestone) {
            let level = key.level;
            let Some(samples) = self.groups.get(&key as &dyn GroupKey) else {
                continue;
            };
            // Only deliveries that took longer than the time already spent are still possible.
            let longer = &samples[samples.partition_point(|h| *h <= spent)..];
            if longer.len() >= MIN_SAMPLES {
                return Some(learned(level, longer));
            }
            coarsest = Some((level, samples, longer));
        }
        let (level, all, longer) = coarsest.filter(|(_, all, _)| all.len() >= MIN_SAMPLES)?;
        // Late, with a few slower deliveries still ahead: all of them.
        if longer.len() >= MIN_TAIL {
            return Some(learned(level, longer));
        }
        // Later than (nearly) every delivery seen: from now, as wide as the usual window.
        let (low, high) = interval(all);
        Some(Window {
            from: now,
            to: after_hours(now, (high - low).max(24.0)),
            basis: Basis::Overdue { milestone },
        })
    }
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

/// From `p50_days` to `p90_days` after `started`, seen at `now`. A parcel already past it is
/// late: its window starts now and spans the spread between the two, never less than a day.
pub fn days_after(
    started: DateTime<Utc>,
    p50_days: f64,
    p90_days: f64,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let p90_days = p90_days.max(p50_days);
    let (from, to) = (started + days(p50_days), started + days(p90_days));
    if to >= now {
        return (from.max(now), to);
    }
    (now, now + days((p90_days - p50_days).max(1.0)))
}

/// The window from typical times of the mode (see [`days_after`]), for a parcel started at
/// `started` while nothing is learned.
pub fn typical_window(started: DateTime<Utc>, scheme: Scheme, now: DateTime<Utc>) -> Window {
    let (p50, p90) = mode_days(scheme);
    let (from, to) = days_after(started, p50, p90, now);
    Window {
        from,
        to,
        basis: Basis::Typical,
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

    fn h(hours: i64) -> DateTime<Utc> {
        at(1) + Duration::hours(hours)
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
    fn nothing_learned_gives_the_modes_typical_times_and_a_late_parcel_a_window_from_now() {
        let w = typical_window(at(1), Scheme::Fbo, at(1));
        assert_eq!((w.from, w.to, w.basis), (at(4), at(7), Basis::Typical));
        let late = typical_window(at(1), Scheme::Fbo, at(20));
        assert_eq!((late.from, late.to), (at(20), at(23)));
        assert_eq!(days_after(at(1), 10.0, 15.0, at(3)), (at(11), at(16)));
    }

    fn status(main: MainStatus, sub: SubStatus) -> NormalizedStatus {
        NormalizedStatus::new(main, sub)
    }

    #[test]
    fn events_mark_milestones_by_their_meaning_and_leg() {
        use LegRole::{FirstMile, LastMile};
        use MainStatus as M;
        use SubStatus as S;
        let of = |role, main, sub| Milestone::of(role, &status(main, sub));
        assert_eq!(
            of(FirstMile, M::InTransit, S::PickedUp),
            Some(Milestone::FirstMile)
        );
        assert_eq!(of(FirstMile, M::InTransit, S::Sorting), None);
        assert_eq!(
            of(FirstMile, M::InTransit, S::ArrivedDestination),
            Some(Milestone::ArrivedDestination)
        );
        assert_eq!(
            of(LastMile, M::InTransit, S::Sorting),
            Some(Milestone::LastMile)
        );
        assert_eq!(of(LastMile, M::InfoReceived, S::Registered), None);
        assert_eq!(
            of(LastMile, M::AvailableForPickup, S::AtPickupPoint),
            Some(Milestone::AtPickupPoint)
        );
        assert_eq!(of(LastMile, M::Delivered, S::Delivered), None);
    }

    /// A cross-border journey: picked up at `start`, in Russia 100 h later, at the pickup
    /// point after 150 h, delivered after `total` h.
    fn journey(start: i64, total: i64) -> Journey {
        let picked = status(MainStatus::InTransit, SubStatus::PickedUp);
        let arrived = status(MainStatus::InTransit, SubStatus::ArrivedDestination);
        let pickup = status(MainStatus::AvailableForPickup, SubStatus::AtPickupPoint);
        let events = [
            (LegRole::FirstMile, h(start), &picked),
            (LegRole::FirstMile, h(start + 100), &arrived),
            (LegRole::LastMile, h(start + 150), &pickup),
        ];
        Journey::new(
            Scheme::Rfbs,
            vec!["yanwen".into(), "cdek".into()],
            Some("Казань".into()),
            h(start - 10),
            events.into_iter().filter(|(_, t, _)| *t < h(start + total)),
            Some(h(start + total)),
        )
    }

    #[test]
    fn a_journey_made_over_in_anothers_buffers_is_the_journey_made_new() {
        let picked = status(MainStatus::InTransit, SubStatus::PickedUp);
        let mut journey = journey(0, 300);
        journey.delivered_at = Some(h(300));
        for (carriers, city) in [
            (&["ozon", "cainiao", "cdek", "cainiao"][..], None),
            (&["russian_post"][..], Some("Омск")),
            (&["yanwen", "cdek", "boxberry"][..], Some("Санкт-Петербург")),
            (&[][..], None),
        ] {
            let events = [(LegRole::FirstMile, h(20), &picked)];
            journey.remake(Scheme::Fbs, carriers.iter().copied(), city, h(5), events);
            let mut lane = Vec::new();
            for code in carriers {
                add_lane_carrier(&mut lane, code);
            }
            let new = Journey::new(Scheme::Fbs, lane, city.map(Into::into), h(5), events, None);
            assert_eq!(journey, new);
        }
    }

    #[test]
    fn the_window_narrows_as_the_parcel_advances_and_holds_the_learned_share() {
        // Deliveries 160 to 259 h after pickup: 100 of them, evenly spread.
        let learned: Vec<Journey> = (0..100).map(|i| journey(0, 160 + i)).collect();
        let model = Model::learn(&learned, h(10_000));
        let fresh = journey(1000, 200);
        let at_pickup = fresh.at(h(1000));
        let w1 = model.window(&at_pickup, h(1000)).unwrap();
        let in_russia = fresh.at(h(1100));
        let w2 = model.window(&in_russia, h(1100)).unwrap();
        assert!(w2.width() <= w1.width());
        assert!(matches!(
            w2.basis,
            Basis::Learned {
                milestone: Milestone::ArrivedDestination,
                level: Level::City,
                samples: 100
            }
        ));
        let held = learned
            .iter()
            .filter(|j| w1.holds(h(1000) + (j.delivered_at.unwrap() - h(0))))
            .count();
        assert!(held >= 95, "{held} of 100");
    }

    #[test]
    fn time_spent_since_the_milestone_sets_faster_deliveries_aside() {
        let learned: Vec<Journey> = (0..100).map(|i| journey(0, 160 + i)).collect();
        let model = Model::learn(&learned, h(10_000));
        // At the pickup point (150 h after pickup) for 50 h: deliveries 10 to 109 h after the
        // pickup point were learned; 59 of them took longer than 50 h.
        let j = journey(1000, 300).at(h(1200));
        let w = model.window(&j, h(1200)).unwrap();
        assert!(w.from >= h(1200) && w.from <= h(1150 + 53));
        assert!(w.to >= h(1150 + 107) && w.to <= h(1150 + 109));
        assert!(matches!(
            w.basis,
            Basis::Learned {
                milestone: Milestone::AtPickupPoint,
                level: Level::City,
                samples: 59
            }
        ));
        // 80 h: only 29 slower ones, too few for any group but enough for a late window.
        let w = model
            .window(&journey(1000, 300).at(h(1230)), h(1230))
            .unwrap();
        assert_eq!(
            (w.from, w.to),
            (h(1230), h(1259)),
            "the 29 slower deliveries"
        );
        assert!(matches!(
            w.basis,
            Basis::Learned {
                level: Level::All,
                samples: 29,
                ..
            }
        ));
        // Past every delivery seen: overdue, from now.
        let w = model
            .window(&journey(1000, 400).at(h(1290)), h(1290))
            .unwrap();
        assert_eq!(w.from, h(1290));
        assert!(matches!(
            w.basis,
            Basis::Overdue {
                milestone: Milestone::AtPickupPoint
            }
        ));
    }

    #[test]
    fn a_long_late_tail_of_holds_is_left_out_while_an_even_spread_keeps_equal_tails() {
        // 960 deliveries spread over 100–200 h, and 40 held for days (300–495 h).
        let mut held: Vec<f64> = (0..960)
            .map(|i| 100.0 + f64::from(i) * 100.0 / 959.0)
            .collect();
        held.extend((0..40).map(|i| 300.0 + f64::from(i) * 5.0));
        let (low, high) = interval(&held);
        assert!(high <= 200.0, "the held parcels are left out: {low}–{high}");
        assert!(low > 100.0 && low < 101.0, "{low}");
        // An even spread: as many left out early as late (2.3 % each, to the order statistic).
        let even: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(interval(&even), (23.0, 978.0));
    }

    #[test]
    fn a_thin_lane_falls_back_to_a_coarser_group() {
        let mut learned: Vec<Journey> = (0..100).map(|i| journey(0, 160 + i)).collect();
        for j in learned.iter_mut().take(90) {
            j.buyer_city = Some("Омск".into());
        }
        let model = Model::learn(&learned, h(10_000));
        let w = model
            .window(&journey(1000, 200).at(h(1000)), h(1000))
            .unwrap();
        assert!(matches!(
            w.basis,
            Basis::Learned {
                level: Level::Lane,
                samples: 100,
                ..
            }
        ));
        assert_eq!(
            Model::default().window(&journey(0, 200).at(h(0)), h(0)),
            None
        );
    }

    proptest! {
        #[test]
        fn a_window_never_starts_before_now_nor_ends_before_it_starts(
            totals in prop::collection::vec(120i64..600, 40..120),
            spent in 0i64..800,
        ) {
            let learned: Vec<Journey> = totals.iter().map(|t| journey(0, *t)).collect();
            let model = Model::learn(&learned, h(10_000));
            let j = journey(1000, 10_000).at(h(1000 + spent));
            let now = h(1000 + spent);
            if let Some(w) = model.window(&j, now) {
                prop_assert!(w.from >= now);
                prop_assert!(w.to >= w.from);
            }
        }

        #[test]
        fn a_days_after_window_never_starts_before_now_nor_ends_before_it_starts(
            started in 0i64..10_000_000,
            seen in 0i64..20_000_000,
            p50 in 0.0f64..60.0,
            extra in 0.0f64..60.0,
        ) {
            let started = at(1) + Duration::seconds(started);
            let now = at(1) + Duration::seconds(seen);
            let (from, to) = days_after(started, p50, p50 + extra, now);
            prop_assert!(from >= now);
            prop_assert!(to >= from);
        }
    }
}
