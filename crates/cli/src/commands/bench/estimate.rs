//! `ozontrack bench estimate`: arrival windows scored against the truth. A sandbox world is cut
//! in two: the estimates learn from what was delivered before the cut, then every parcel
//! ordered after it is followed milestone by milestone, and the window shown the moment each
//! milestone is reached is checked against when the parcel really arrived — for the milestone
//! model, the previous method (the lane's median to 90th percentile) and Ozon's own delivery
//! window for the buyer (as the fake Ozon reports it then) side by side, and the hindsight
//! floor: how narrow a lane's window could have been at best, chosen knowing the deliveries it
//! is judged by.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use ozontrack_domain::estimate::{self, Journey, Milestone, Model};
use ozontrack_domain::{LegRole, NormalizedStatus, Scheme, crosswalk};
use ozontrack_domain::{OzonStatus, OzonSubstatus};
use ozontrack_sandbox::world::{Mode, Parcel};
use ozontrack_sandbox::{World, WorldConfig};
use serde_json::json;

use crate::cli::BenchEstimateArgs;
use crate::output;

/// The goals of issue 19: the share of deliveries inside the window at every milestone, and the
/// median width at first-mile acceptance and from arrival in Russia on.
const COVERAGE_GOAL: f64 = 0.95;
const FIRST_MILE_WIDTH_DAYS: f64 = 4.0;
const IN_RUSSIA_WIDTH_DAYS: f64 = 2.0;

fn scheme(mode: Mode) -> Scheme {
    match mode {
        Mode::Fbo => Scheme::Fbo,
        Mode::FbsCrossborder => Scheme::Fbs,
        Mode::Rfbs | Mode::DirectMail => Scheme::Rfbs,
    }
}

/// A parcel's whole journey as ozontrack would come to know it: its carriers' events and
/// Ozon's status steps, each with the status a correct client reads.
fn journey(p: &Parcel) -> Journey {
    let mut lane = Vec::new();
    let mut events: Vec<(LegRole, DateTime<Utc>, NormalizedStatus)> = Vec::new();
    for (leg, role) in [
        (p.first_mile.as_ref(), LegRole::FirstMile),
        (p.last_mile.as_ref(), LegRole::LastMile),
    ] {
        let Some(leg) = leg else { continue };
        // Direct mail carries one number end to end: the Russian stretch is the same leg.
        if role == LegRole::LastMile && p.mode == Mode::DirectMail {
            continue;
        }
        estimate::add_lane_carrier(&mut lane, leg.carrier.code());
        let role = if p.mode == Mode::DirectMail {
            LegRole::Single
        } else {
            role
        };
        events.extend(leg.events.iter().map(|e| (role, e.at, e.kind.normalized())));
    }
    for step in &p.ozon {
        let status = crosswalk::from_ozon(
            &OzonStatus::parse(step.status),
            &OzonSubstatus::parse(step.substatus),
        );
        events.push((LegRole::Marketplace, step.at, status));
    }
    Journey::new(
        scheme(p.mode),
        lane,
        Some(p.buyer_city.name.to_owned()),
        p.ordered_at,
        events.iter().map(|(role, at, s)| (*role, *at, s)),
        p.delivered_at,
    )
}

/// The previous method used a lane's own times once it had this many deliveries.
const MIN_LANE_SAMPLES: usize = 20;

type LaneKey = (Vec<String>, Option<String>);

/// The previous method's lanes: days from "in process" to delivery, median and 90th
/// percentile, per (carriers, city) with enough deliveries.
fn lanes(learned: &[Journey]) -> HashMap<LaneKey, (f64, f64)> {
    let mut days: HashMap<LaneKey, Vec<f64>> = HashMap::new();
    for j in learned {
        if let (Some(started), Some(d)) = (j.in_process_at(), j.delivered_at) {
            days.entry((j.lane.clone(), j.buyer_city.clone()))
                .or_default()
                .push((d - started).num_seconds() as f64 / 86_400.0);
        }
    }
    days.into_iter()
        .filter(|(_, d)| d.len() >= MIN_LANE_SAMPLES)
        .map(|(key, mut d)| {
            d.sort_by(f64::total_cmp);
            (key, (nearest_rank(&d, 0.5), nearest_rank(&d, 0.9)))
        })
        .collect()
}

fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The window the previous method shows at `now`: the lane's median to 90th percentile from
/// "in process", or the mode's typical times for a thin lane.
fn previous_window(
    lanes: &HashMap<LaneKey, (f64, f64)>,
    j: &Journey,
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let started = j.in_process_at()?;
    Some(match lanes.get(&(j.lane.clone(), j.buyer_city.clone())) {
        Some(&(p50, p90)) => estimate::days_after(started, p50, p90, now),
        None => {
            let w = estimate::typical_window(started, j.scheme, now);
            (w.from, w.to)
        }
    })
}

/// Windows shown at one milestone, and how many held the delivery.
#[derive(Debug, Default)]
struct Tally {
    shown: u64,
    held: u64,
    widths: Vec<f64>,
}

impl Tally {
    fn add(&mut self, (from, to): (DateTime<Utc>, DateTime<Utc>), delivered: DateTime<Utc>) {
        self.shown += 1;
        self.held += u64::from(from <= delivered && delivered <= to);
        self.widths
            .push((to - from).num_seconds() as f64 / 86_400.0);
    }

    /// The share held, and the median and 90th-percentile widths in days.
    fn summary(&mut self) -> (f64, f64, f64) {
        if self.shown == 0 {
            return (0.0, 0.0, 0.0);
        }
        self.widths.sort_by(f64::total_cmp);
        (
            self.held as f64 / self.shown as f64,
            nearest_rank(&self.widths, 0.5),
            nearest_rank(&self.widths, 0.9),
        )
    }
}

/// The narrowest width (days) any one window per lane could have at a milestone: the shortest
/// interval holding [`COVERAGE_GOAL`] of the lane's scored deliveries, chosen knowing them. In
/// this world each step of a journey takes a time drawn independently of all a parcel shows
/// (and a stall or customs hold strikes at random), so no window shown at the milestone can hold
/// as many deliveries with a narrower width; the floor says what the world allows, the
/// estimator's width what it achieves.
#[derive(Debug, Default)]
struct Floor {
    /// Hours from the milestone to delivery, per lane (mode and carriers).
    lanes: HashMap<(Scheme, Vec<String>), Vec<f64>>,
}

impl Floor {
    fn add(&mut self, j: &Journey, at: DateTime<Utc>, delivered: DateTime<Utc>) {
        self.lanes
            .entry((j.scheme, j.lane.clone()))
            .or_default()
            .push((delivered - at).num_seconds() as f64 / 3600.0);
    }

    /// The median, over parcels, of their lane's floor in days.
    fn median_days(&mut self) -> f64 {
        let mut widths = Vec::new();
        for hours in self.lanes.values_mut() {
            hours.sort_by(f64::total_cmp);
            let n = hours.len();
            let held = ((n as f64 * COVERAGE_GOAL).ceil() as usize).clamp(1, n);
            let narrowest = (0..=n - held)
                .map(|i| hours[i + held - 1] - hours[i])
                .fold(f64::INFINITY, f64::min);
            widths.extend(std::iter::repeat_n(narrowest / 24.0, n));
        }
        if widths.is_empty() {
            return 0.0;
        }
        widths.sort_by(f64::total_cmp);
        nearest_rank(&widths, 0.5)
    }
}

pub(crate) fn estimate(args: &BenchEstimateArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let started = Instant::now();
    let config = WorldConfig {
        seed: args.seed,
        parcels: args.parcels,
        order_span: Duration::days(args.learn_days + args.score_days),
        ..WorldConfig::default()
    };
    let world = World::generate(config);
    let cut = world.config.start + Duration::days(args.learn_days);
    // What ozontrack has learned at the cut: the journeys delivered by then, as known then.
    let learned: Vec<Journey> = world
        .parcels
        .iter()
        .filter(|p| p.delivered_at.is_some_and(|d| d <= cut))
        .map(journey)
        .collect();
    let model = Model::learn(&learned, cut);
    let baseline = lanes(&learned);
    let mut new: BTreeMap<Milestone, Tally> = BTreeMap::new();
    let mut old: BTreeMap<Milestone, Tally> = BTreeMap::new();
    let mut ozon: BTreeMap<Milestone, Tally> = BTreeMap::new();
    let mut floor: BTreeMap<Milestone, Floor> = BTreeMap::new();
    let mut scored = 0u64;
    let mut unestimated = 0u64;
    for p in world.parcels.iter().filter(|p| p.ordered_at >= cut) {
        let Some(delivered) = p.delivered_at else {
            continue;
        };
        scored += 1;
        let whole = journey(p);
        for &(milestone, at) in &whole.milestones {
            if at >= delivered {
                continue;
            }
            // The window shown the moment the milestone is reached.
            let known = whole.at(at);
            match model.window(&known, at) {
                Some(w) => new
                    .entry(milestone)
                    .or_default()
                    .add((w.from, w.to), delivered),
                None => unestimated += 1,
            }
            if let Some(w) = previous_window(&baseline, &whole, at) {
                old.entry(milestone).or_default().add(w, delivered);
            }
            // What `analytics_data.delivery_date_begin/end` and the date-changed pushes say.
            ozon.entry(milestone)
                .or_default()
                .add(ozontrack_sandbox::fakes::ozon::promise_at(p, at), delivered);
            floor
                .entry(milestone)
                .or_default()
                .add(&whole, at, delivered);
        }
    }
    let mut table = output::table(&[
        "milestone",
        "windows",
        "held (milestones)",
        "median width d",
        "p90 width d",
        "floor d",
        "held (median–p90)",
        "median width d",
        "p90 width d",
        "held (Ozon's date)",
        "median width d",
    ]);
    let mut figures = Vec::new();
    let mut met = true;
    for (milestone, tally) in &mut new {
        let (share, median, p90) = tally.summary();
        let (before_share, before_median, before_p90) = old
            .get_mut(milestone)
            .map_or((0.0, 0.0, 0.0), Tally::summary);
        let (ozon_share, ozon_median, ozon_p90) = ozon
            .get_mut(milestone)
            .map_or((0.0, 0.0, 0.0), Tally::summary);
        let floor_median = floor.get_mut(milestone).map_or(0.0, Floor::median_days);
        let width_goal = match milestone {
            Milestone::FirstMile => Some(FIRST_MILE_WIDTH_DAYS),
            m if *m >= Milestone::ArrivedDestination => Some(IN_RUSSIA_WIDTH_DAYS),
            _ => None,
        };
        met &= share >= COVERAGE_GOAL && width_goal.is_none_or(|g| median <= g);
        table.add_row(vec![
            milestone.as_str().to_owned(),
            tally.shown.to_string(),
            format!("{:.1} %", share * 100.0),
            format!("{median:.2}"),
            format!("{p90:.2}"),
            format!("{floor_median:.2}"),
            format!("{:.1} %", before_share * 100.0),
            format!("{before_median:.2}"),
            format!("{before_p90:.2}"),
            format!("{:.1} %", ozon_share * 100.0),
            format!("{ozon_median:.2}"),
        ]);
        figures.push(json!({
            "milestone": milestone.as_str(),
            "windows": tally.shown,
            "held": share,
            "held_goal": COVERAGE_GOAL,
            "held_ratio": share / COVERAGE_GOAL,
            "median_width_days": median,
            "p90_width_days": p90,
            "median_width_goal_days": width_goal,
            "median_width_ratio": width_goal.map(|g| median / g),
            "floor_median_width_days": floor_median,
            "baseline": {
                "held": before_share,
                "median_width_days": before_median,
                "p90_width_days": before_p90,
            },
            "ozon": {
                "held": ozon_share,
                "median_width_days": ozon_median,
                "p90_width_days": ozon_p90,
            },
        }));
    }
    output::print_table(out, &table)?;
    writeln!(
        out,
        "{scored} delivered parcels ordered after day {} scored; learned from {} deliveries; \
         {unestimated} milestones without a window; {:.1} s",
        args.learn_days,
        learned.len(),
        started.elapsed().as_secs_f64()
    )?;
    writeln!(
        out,
        "{}",
        json!({
            "bench": "estimate",
            "parcels": args.parcels,
            "learn_days": args.learn_days,
            "score_days": args.score_days,
            "seed": args.seed,
            "scored": scored,
            "learned": learned.len(),
            "milestones": figures,
            "goals_met": met,
        })
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_is_the_narrowest_interval_holding_95_percent_of_each_lane() {
        let mut floor = Floor::default();
        // Twenty deliveries an hour apart and one held ten days: 20 of 21 must be held, so the
        // narrowest leaves the held one out.
        let mut hours: Vec<f64> = (0..20).map(f64::from).collect();
        hours.push(240.0);
        floor
            .lanes
            .insert((Scheme::Rfbs, vec!["yanwen".into()]), hours);
        // A lane of three where every delivery must be held.
        floor
            .lanes
            .insert((Scheme::Fbo, Vec::new()), vec![48.0, 0.0, 24.0]);
        // 21 parcels of 19 h, three of 48 h: the median parcel's lane is the first.
        assert_eq!(floor.median_days(), 19.0 / 24.0);
    }
}
