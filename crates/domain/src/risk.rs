//! What is wrong with a posting now, and what to do about it: the rules of [`crate::rules`]
//! evaluated over a posting, its legs and their events. Pure: the caller passes `now` and the
//! feed health, so the same inputs always give the same findings, in any order.

use chrono::{DateTime, Duration, Utc};

use crate::event::TrackingEvent;
use crate::finding::{Action, EventRef, Finding, Hold, LearnedGap, Reason, Severity};
use crate::leg::{Leg, LegRole};
use crate::posting::{OzonStatus, Posting, Scheme};
use crate::rules::Rules;
use crate::status::{MainStatus, SubStatus};

/// A leg with what we know of it.
#[derive(Debug, Clone, Copy)]
pub struct LegInput<'a> {
    pub leg: &'a Leg,
    pub events: &'a [TrackingEvent],
    pub tracked_since: DateTime<Utc>,
    /// The feed that reads this leg is failing since then.
    pub feed_down_since: Option<DateTime<Utc>>,
    /// The feed last recovered then.
    pub feed_up_since: Option<DateTime<Utc>>,
    /// The leg's events are known up to then (its last check or webhook); `None`: no feed
    /// reads the leg, so what we have is all there will be. Silence is only measured up to
    /// here: a parcel that moved after our last look is not stale.
    pub known_until: Option<DateTime<Utc>>,
}

/// A posting with its legs.
#[derive(Debug, Clone)]
pub struct PostingInput<'a> {
    pub posting: &'a Posting,
    pub legs: Vec<LegInput<'a>>,
    /// Quiet gaps that are normal on each carrier's lanes, learned from delivered parcels.
    pub learned: Option<&'a LearnedGaps>,
}

/// A lane: a carrier, and the sub-status its parcels are quiet after.
pub type Lane = (String, String);

/// The normal quiet gap of each lane: a high percentile of the gaps between consecutive
/// events of delivered parcels, with how many gaps it rests on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LearnedGaps {
    pub lanes: std::collections::HashMap<Lane, LaneGap>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LaneGap {
    pub hours: f64,
    pub samples: u64,
}

impl LearnedGaps {
    /// Learns from `(lane, gap)` samples: the `percentile` of each lane's gaps.
    pub fn learn(samples: impl IntoIterator<Item = (Lane, Duration)>, percentile: f64) -> Self {
        let mut by_lane: std::collections::HashMap<Lane, Vec<f64>> =
            std::collections::HashMap::new();
        for (lane, gap) in samples {
            by_lane
                .entry(lane)
                .or_default()
                .push(gap.num_seconds() as f64 / 3600.0);
        }
        let lanes = by_lane
            .into_iter()
            .map(|(lane, mut gaps)| {
                gaps.sort_by(f64::total_cmp);
                let rank = ((percentile / 100.0) * (gaps.len() - 1) as f64).round() as usize;
                let hours = gaps[rank.min(gaps.len() - 1)];
                let samples = gaps.len() as u64;
                (lane, LaneGap { hours, samples })
            })
            .collect();
        Self { lanes }
    }
}

fn hours(h: i64) -> Duration {
    Duration::hours(h)
}

/// The latest of `events`, ties broken by fingerprint so that order never matters.
fn latest<'a>(events: impl Iterator<Item = &'a TrackingEvent>) -> Option<&'a TrackingEvent> {
    events.max_by(|a, b| (a.occurred_at, &a.fingerprint).cmp(&(b.occurred_at, &b.fingerprint)))
}

/// Every finding for the posting at `now`, sorted by rule and leg.
pub fn evaluate(input: &PostingInput<'_>, rules: &Rules, now: DateTime<Utc>) -> Vec<Finding> {
    let mut findings = Vec::new();
    stale(input, rules, now, &mut findings);
    break_points(input, rules, now, &mut findings);
    compliance(input, rules, &mut findings);
    posting_rules(input, rules, now, &mut findings);
    findings.sort_by(|a, b| (a.rule(), &a.leg).cmp(&(b.rule(), &b.leg)));
    findings
}

/// The next time after `now` at which the findings can change with no new data: a stale
/// threshold, a break point's deadline, the end of an outage's grace, a ship-by date passing.
/// The engine evaluates a posting again then, or sooner when its data changes.
pub fn next_change(
    input: &PostingInput<'_>,
    rules: &Rules,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut at: Vec<DateTime<Utc>> = Vec::new();
    if let Some(clock) = stale_clock(input, rules) {
        let (warning, _) =
            warning_threshold(input, clock.active, clock.last, clock.allowance, rules);
        let l = stale_levels(input, clock.active, rules);
        for h in [warning, l.high_risk_hours, l.critical_hours] {
            at.push(clock.since + hours(h + clock.allowance));
        }
    }
    if !input.posting.is_over() {
        for leg in carrier_legs(input) {
            if let Some(up) = leg.feed_up_since {
                at.push(up + hours(rules.outage_grace_hours));
            }
            // The break point's deadline counts from the leg's latest arrival, as the rule does.
            if let Some(arrival) = latest(leg.events.iter().filter(|e| arrived(e))) {
                at.push(arrival.occurred_at + Duration::days(break_point_days(leg, rules)));
            }
        }
        if let Some(ship_by) = input.posting.ship_by {
            at.push(ship_by + hours(rules.missing_tracking.grace_hours));
        }
    }
    at.into_iter().filter(|t| *t > now).min()
}

/// Days a leg may stay without a last-mile event after it reached Russia: direct mail (one
/// number end to end) has its own, longer allowance.
fn break_point_days(leg: &LegInput<'_>, rules: &Rules) -> i64 {
    if leg.leg.role == LegRole::Single {
        rules.break_point.postal_silence_days
    } else {
        rules.break_point.last_mile_days
    }
}

/// Events that say the parcel reached Russia: a last mile should follow.
fn arrived(e: &TrackingEvent) -> bool {
    matches!(
        e.status.sub,
        SubStatus::ArrivedDestination | SubStatus::CustomsReleased | SubStatus::HandedToLastMile
    )
}

/// The carrier legs. Ozon's own legs (its marketplace view, or its last mile on FBS
/// cross-border) are fed only by coarse posting statuses days apart: their silence is not a
/// carrier's, though their news still shows a parcel moved on.
fn carrier_legs<'a, 'b>(input: &'b PostingInput<'a>) -> impl Iterator<Item = &'b LegInput<'a>> {
    input.legs.iter().filter(|l| {
        l.leg.role != LegRole::Marketplace && l.leg.carrier.as_str() != crate::carrier::OZON
    })
}

/// What the stale rule measures: the leg that spoke last (or first tracked), its latest
/// event, and since when (plus what allowance) the posting has been quiet.
struct StaleClock<'i, 'a> {
    legs: Vec<&'i LegInput<'a>>,
    active: &'i LegInput<'a>,
    last: Option<&'a TrackingEvent>,
    since: DateTime<Utc>,
    allowance: i64,
}

fn stale_clock<'i, 'a>(input: &'i PostingInput<'a>, rules: &Rules) -> Option<StaleClock<'i, 'a>> {
    let r = &rules.stale;
    if !r.enabled || input.posting.is_over() {
        return None;
    }
    let legs: Vec<&LegInput<'_>> = carrier_legs(input).collect();
    // The latest event with its leg; two legs can carry the same event (a hand-over seen on
    // both numbers), so ties fall to the tracking number to keep the answer order-free.
    let newest = legs
        .iter()
        .flat_map(|l| l.events.iter().map(move |e| (*l, e)))
        .max_by(|(la, a), (lb, b)| {
            (
                a.occurred_at,
                &a.fingerprint,
                la.leg.tracking_number.as_str(),
            )
                .cmp(&(
                    b.occurred_at,
                    &b.fingerprint,
                    lb.leg.tracking_number.as_str(),
                ))
        });
    let last = newest.map(|(_, e)| e);
    // A parcel waiting at a pickup point waits for the buyer, not for a carrier. One handed
    // to a last mile we have no leg for (Ozon's own, seen only through the posting status) is
    // the break-point rule's business until a last-mile leg speaks.
    let handed_on = |e: &TrackingEvent| {
        e.status.sub == SubStatus::HandedToLastMile
            && !legs.iter().any(|l| l.leg.role == LegRole::LastMile)
    };
    if last.is_some_and(|e| {
        e.status.is_final() || e.status.main == MainStatus::AvailableForPickup || handed_on(e)
    }) {
        return None;
    }
    // Ozon's own last mile (its leg stands in for the last carrier) has the parcel once the
    // posting is on its way to the buyer's city: only Ozon's coarse statuses follow.
    let ozon_last_mile = input
        .legs
        .iter()
        .any(|l| l.leg.role == LegRole::LastMile && l.leg.carrier.as_str() == crate::carrier::OZON);
    if ozon_last_mile && input.posting.status == OzonStatus::Delivering {
        return None;
    }
    // The leg the latest event is on, or the first tracked leg while none has spoken.
    let active = newest.map(|(l, _)| l).or_else(|| {
        legs.iter()
            .min_by_key(|l| (l.tracked_since, l.leg.tracking_number.as_str()))
            .copied()
    })?;
    let (since, allowance) = match last {
        Some(e) => {
            let abroad = matches!(e.status.sub, SubStatus::DepartedOrigin);
            (
                e.occurred_at,
                if abroad {
                    r.international_allowance_hours
                } else {
                    0
                },
            )
        }
        // No event yet: silence counts from the hand-over, after the carriers' usual lag.
        None => (active.tracked_since, r.handover_grace_hours),
    };
    Some(StaleClock {
        legs,
        active,
        last,
        since,
        allowance,
    })
}

fn stale(input: &PostingInput<'_>, rules: &Rules, now: DateTime<Utc>, out: &mut Vec<Finding>) {
    let r = &rules.stale;
    let Some(StaleClock {
        legs,
        active,
        last,
        since,
        allowance,
    }) = stale_clock(input, rules)
    else {
        return;
    };
    let quiet = known_as_of(&legs, since, now) - since;
    let levels_here = stale_levels(input, active, rules);
    let (warning_hours, learned) = warning_threshold(input, active, last, allowance, rules);
    let levels = [
        (levels_here.critical_hours, Severity::Critical),
        (levels_here.high_risk_hours, Severity::HighRisk),
        (warning_hours, Severity::Warning),
    ];
    let Some((threshold, severity)) = levels
        .into_iter()
        .find(|(h, _)| quiet >= hours(h + allowance))
    else {
        return;
    };
    let actions = match severity {
        Severity::Critical => r.critical_actions.clone(),
        Severity::HighRisk => r.high_risk_actions.clone(),
        _ => r.warning_actions.clone(),
    };
    out.push(Finding {
        severity,
        leg: Some(active.leg.tracking_number.as_str().to_owned()),
        since,
        reason: Reason::Stale {
            quiet_hours: quiet.num_hours(),
            threshold_hours: threshold,
            allowance_hours: allowance,
            learned: learned.filter(|_| severity == Severity::Warning),
            last: last.map(event_ref),
        },
        actions,
        evidence: last.map(|e| e.fingerprint.clone()).into_iter().collect(),
        held: outage(active, rules, now),
    });
}

fn event_ref(e: &TrackingEvent) -> EventRef {
    EventRef {
        at: e.occurred_at,
        text: e.raw_text.clone(),
    }
}

/// Up to when we know the legs that could speak next: those whose own latest news (an event,
/// or the start of tracking) is no older than `since`. A leg that went quiet before the
/// posting's latest event is looked at rarely and would hold every verdict back.
fn known_as_of(legs: &[&LegInput<'_>], since: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    legs.iter()
        .filter(|l| {
            l.events
                .iter()
                .map(|e| e.occurred_at)
                .max()
                .unwrap_or(l.tracked_since)
                >= since
        })
        .filter_map(|l| l.known_until)
        .min()
        .map_or(now, |known| known.min(now))
}

/// The warning threshold (before `allowance`): the fixed one, or the lane's learned normal gap
/// when that is longer than fixed threshold and allowance together and rests on enough
/// history; never past the high-risk threshold, which is Ozon's.
fn warning_threshold(
    input: &PostingInput<'_>,
    active: &LegInput<'_>,
    last: Option<&TrackingEvent>,
    allowance: i64,
    rules: &Rules,
) -> (i64, Option<LearnedGap>) {
    let r = &rules.stale;
    let levels = stale_levels(input, active, rules);
    let fixed = levels.warning_hours;
    if !r.learned_gaps {
        return (fixed, None);
    }
    let (Some(learned), Some(last)) = (input.learned, last) else {
        return (fixed, None);
    };
    let lane = (
        active.leg.carrier.as_str().to_owned(),
        last.status.sub.code().to_owned(),
    );
    match learned.lanes.get(&lane) {
        Some(gap) if gap.samples >= r.learned_min_samples => {
            let hours = (gap.hours.ceil() as i64 - allowance).clamp(fixed, levels.high_risk_hours);
            let learned = LearnedGap {
                hours: gap.hours.ceil() as i64,
                samples: gap.samples,
            };
            (hours, (hours > fixed).then_some(learned))
        }
        _ => (fixed, None),
    }
}

/// The stale thresholds for the posting's mode and the quiet leg's phase.
fn stale_levels(
    input: &PostingInput<'_>,
    active: &LegInput<'_>,
    rules: &Rules,
) -> crate::rules::StaleLevels {
    rules.stale.levels(input.posting.scheme, active.leg.role)
}

/// Why a finding on `leg` is held back: its feed is down, or only just came back.
fn outage(leg: &LegInput<'_>, rules: &Rules, now: DateTime<Utc>) -> Option<Hold> {
    if let Some(since) = leg.feed_down_since {
        return Some(Hold::FeedDown { since });
    }
    let at = leg.feed_up_since?;
    (now < at + hours(rules.outage_grace_hours)).then_some(Hold::FeedRecovered { at })
}

fn break_points(
    input: &PostingInput<'_>,
    rules: &Rules,
    now: DateTime<Utc>,
    out: &mut Vec<Finding>,
) {
    let r = &rules.break_point;
    if !r.enabled || input.posting.is_over() {
        return;
    }
    let fed: Vec<&LegInput<'_>> = carrier_legs(input).collect();
    for leg in carrier_legs(input) {
        let Some(arrival) = latest(leg.events.iter().filter(|e| arrived(e))) else {
            continue;
        };
        let postal = leg.leg.role == LegRole::Single;
        let after_arrival = |e: &TrackingEvent| e.occurred_at > arrival.occurred_at;
        // Another leg speaking at the very moment of the hand-over is the last mile taking it.
        let from_arrival = |e: &TrackingEvent| e.occurred_at >= arrival.occurred_at;
        // Direct mail keeps its number: its own later events are the last mile.
        let moved_on = if postal {
            leg.events.iter().any(after_arrival)
        } else {
            input
                .legs
                .iter()
                .filter(|other| other.leg.tracking_number != leg.leg.tracking_number)
                .flat_map(|other| other.events.iter())
                .any(from_arrival)
        };
        let days = break_point_days(leg, rules);
        if moved_on
            || known_as_of(&fed, arrival.occurred_at, now) - arrival.occurred_at
                < Duration::days(days)
        {
            continue;
        }
        let arrival_ref = event_ref(arrival);
        out.push(Finding {
            severity: Severity::HighRisk,
            leg: Some(leg.leg.tracking_number.as_str().to_owned()),
            since: arrival.occurred_at,
            reason: if postal {
                Reason::PostalSilence {
                    arrival: arrival_ref,
                    days,
                }
            } else {
                Reason::BreakPoint {
                    arrival: arrival_ref,
                    days,
                }
            },
            actions: vec![
                Action::ContactCarrier,
                Action::NotifyBuyer,
                Action::OpenOzonTicket,
            ],
            evidence: vec![arrival.fingerprint.clone()],
            held: outage(leg, rules, now),
        });
    }
}

fn compliance(input: &PostingInput<'_>, rules: &Rules, out: &mut Vec<Finding>) {
    let r = &rules.compliance;
    let p = input.posting;
    if !r.enabled
        || r.overseas_warehouse_exception
        || !matches!(p.scheme, Scheme::Fbs | Scheme::Rfbs)
    {
        return;
    }
    for leg in carrier_legs(input).filter(|l| l.leg.role == LegRole::FirstMile) {
        let carrier = &leg.leg.carrier;
        if carrier.as_str() == crate::carrier::UNKNOWN_CARRIER || rules.whitelisted(carrier) {
            continue;
        }
        out.push(Finding {
            severity: Severity::Warning,
            leg: Some(leg.leg.tracking_number.as_str().to_owned()),
            since: leg.tracked_since,
            reason: Reason::NotWhitelisted {
                carrier: leg.leg.carrier.clone(),
                points: r.points_per_violation,
            },
            actions: vec![Action::ReviewCarrierChoice],
            evidence: Vec::new(),
            held: None,
        });
    }
}

fn posting_rules(
    input: &PostingInput<'_>,
    rules: &Rules,
    now: DateTime<Utc>,
    out: &mut Vec<Finding>,
) {
    let p = input.posting;
    let seller_ships = matches!(p.scheme, Scheme::Fbs | Scheme::Rfbs | Scheme::Crossborder);
    if rules.missing_tracking.enabled
        && seller_ships
        && p.tracking_number.is_none()
        && !p.is_over()
        && let Some(ship_by) = p.ship_by
        && now >= ship_by + hours(rules.missing_tracking.grace_hours)
    {
        out.push(Finding {
            severity: Severity::HighRisk,
            leg: None,
            since: ship_by,
            reason: Reason::MissingTracking { ship_by },
            actions: vec![Action::UploadTrackingNumber],
            evidence: Vec::new(),
            held: None,
        });
    }
    if rules.dispute.enabled
        && matches!(
            p.status,
            OzonStatus::Arbitration | OzonStatus::ClientArbitration
        )
    {
        let since = latest(input.legs.iter().flat_map(|l| l.events.iter()))
            .filter(|e| e.status.main == MainStatus::Exception)
            .map_or(now, |e| e.occurred_at);
        out.push(Finding {
            severity: Severity::HighRisk,
            leg: None,
            since,
            reason: Reason::Dispute {
                status: p.status.clone(),
            },
            actions: vec![Action::PrepareEvidence, Action::OpenOzonTicket],
            evidence: Vec::new(),
            held: None,
        });
    }
    if rules.high_value.enabled
        && let Some(total) = p.total
        && total.currency == crate::money::Currency::Rub
        && total.minor >= rules.high_value.min_total_rub.saturating_mul(100)
        && !p.is_over()
    {
        out.push(Finding {
            severity: Severity::Info,
            leg: None,
            since: p.in_process_at.unwrap_or(now),
            reason: Reason::HighValue {
                total,
                limit_rub: rules.high_value.min_total_rub,
            },
            actions: vec![Action::RequireSignature],
            evidence: Vec::new(),
            held: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;
    use crate::event::{EventSource, Location};
    use crate::finding::RuleKind;
    use crate::ids::{CarrierCode, PostingNumber, StoreId};
    use crate::status::NormalizedStatus;
    use crate::tracking_number::TrackingNumber;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
    }

    fn posting(scheme: Scheme) -> Posting {
        let mut p = Posting::new(
            StoreId(1),
            PostingNumber::parse("12345678-0001-1").unwrap(),
            scheme,
            OzonStatus::Delivering,
        );
        p.tracking_number = Some(TrackingNumber::parse("UG123456789YP").unwrap());
        p
    }

    fn leg(carrier: &str, number: &str, role: LegRole) -> Leg {
        Leg {
            carrier: CarrierCode::parse(carrier).unwrap(),
            tracking_number: TrackingNumber::parse(number).unwrap(),
            role,
        }
    }

    fn event(h: i64, main: MainStatus, sub: SubStatus) -> TrackingEvent {
        let name = format!("{sub:?}");
        TrackingEvent::new(
            EventSource::SeventeenTrack,
            t0() + Duration::hours(h),
            NormalizedStatus::new(main, sub),
            name.clone(),
            format!("{name} at hour {h}"),
            Location::default(),
        )
    }

    fn input<'a>(p: &'a Posting, legs: &[(&'a Leg, &'a [TrackingEvent])]) -> PostingInput<'a> {
        PostingInput {
            posting: p,
            legs: legs
                .iter()
                .map(|(leg, events)| LegInput {
                    leg,
                    events,
                    tracked_since: t0(),
                    feed_down_since: None,
                    feed_up_since: None,
                    known_until: None,
                })
                .collect(),
            learned: None,
        }
    }

    fn stale_severity(findings: &[Finding]) -> Option<Severity> {
        findings
            .iter()
            .find(|f| f.rule() == RuleKind::Stale)
            .map(|f| f.severity)
    }

    #[test]
    fn silence_is_a_warning_at_48_h_high_risk_at_72_h_and_critical_at_a_week() {
        let p = posting(Scheme::Fbs);
        let first = leg("yanwen", "UG123456789YP", LegRole::FirstMile);
        let events = [event(0, MainStatus::InTransit, SubStatus::PickedUp)];
        let at = |h| {
            stale_severity(&evaluate(
                &input(&p, &[(&first, &events)]),
                &Rules::default(),
                t0() + Duration::hours(h),
            ))
        };
        assert_eq!(at(47), None);
        assert_eq!(at(48), Some(Severity::Warning));
        assert_eq!(at(72), Some(Severity::HighRisk));
        assert_eq!(at(24 * 7), Some(Severity::Critical));
    }

    #[test]
    fn a_lane_with_longer_normal_gaps_warns_later_but_never_after_ozons_flag() {
        let p = posting(Scheme::Fbs);
        let first = leg("yanwen", "UG123456789YP", LegRole::FirstMile);
        let events = [event(0, MainStatus::InTransit, SubStatus::Sorting)];
        let lane = ("yanwen".to_owned(), "sorting".to_owned());
        let learned = |hours: f64, samples: u64| LearnedGaps {
            lanes: [(lane.clone(), LaneGap { hours, samples })]
                .into_iter()
                .collect(),
        };
        let at = |gaps: &LearnedGaps, h: i64| {
            let mut i = input(&p, &[(&first, &events)]);
            i.learned = Some(gaps);
            evaluate(&i, &Rules::default(), t0() + Duration::hours(h))
        };
        let slow = learned(59.2, 500);
        assert_eq!(stale_severity(&at(&slow, 55)), None);
        let warned = at(&slow, 60);
        assert_eq!(stale_severity(&warned), Some(Severity::Warning));
        assert!(
            matches!(
                warned[0].reason,
                Reason::Stale {
                    learned: Some(LearnedGap {
                        hours: 60,
                        samples: 500
                    }),
                    ..
                }
            ),
            "{:?}",
            warned[0].reason
        );
        // Too little history: the fixed threshold.
        assert_eq!(
            stale_severity(&at(&learned(59.2, 10), 48)),
            Some(Severity::Warning)
        );
        // However slow the lane, Ozon flags the order at 72 h.
        assert_eq!(
            stale_severity(&at(&learned(300.0, 500), 72)),
            Some(Severity::HighRisk)
        );
        // And the next look is due at the learned threshold.
        let mut i = input(&p, &[(&first, &events)]);
        i.learned = Some(&slow);
        assert_eq!(
            next_change(&i, &Rules::default(), t0() + Duration::hours(1)),
            Some(t0() + Duration::hours(60))
        );
    }

    #[test]
    fn silence_after_our_last_look_is_not_judged_yet() {
        let p = posting(Scheme::Fbs);
        let first = leg("yanwen", "UG123456789YP", LegRole::FirstMile);
        let events = [event(0, MainStatus::InTransit, SubStatus::Sorting)];
        let mut i = input(&p, &[(&first, &events)]);
        i.legs[0].known_until = Some(t0() + Duration::hours(40));
        assert_eq!(
            stale_severity(&evaluate(&i, &Rules::default(), t0() + Duration::hours(50))),
            None
        );
        i.legs[0].known_until = Some(t0() + Duration::hours(49));
        assert_eq!(
            stale_severity(&evaluate(&i, &Rules::default(), t0() + Duration::hours(50))),
            Some(Severity::Warning)
        );
    }

    #[test]
    fn a_parcel_handed_to_ozons_own_last_mile_is_not_stale() {
        // posting() is `delivering`: on its way to the buyer's city, in Ozon's hands.
        let p = posting(Scheme::Fbs);
        let first = leg("yanwen", "UG123456789YP", LegRole::FirstMile);
        let ozon = leg("ozon", "12345678000101", LegRole::LastMile);
        // 17TRACK often words the hand-over as a plain transit event.
        let events = [event(0, MainStatus::InTransit, SubStatus::Sorting)];
        let statuses = [event(-30, MainStatus::InTransit, SubStatus::Sorting)];
        let findings = evaluate(
            &input(&p, &[(&first, &events), (&ozon, &statuses)]),
            &Rules::default(),
            t0() + Duration::hours(60),
        );
        assert_eq!(stale_severity(&findings), None, "{findings:?}");
    }

    #[test]
    fn a_parcel_between_countries_gets_the_international_allowance() {
        let p = posting(Scheme::Fbs);
        let first = leg("yanwen", "UG123456789YP", LegRole::FirstMile);
        let events = [event(0, MainStatus::InTransit, SubStatus::DepartedOrigin)];
        let findings = evaluate(
            &input(&p, &[(&first, &events)]),
            &Rules::default(),
            t0() + Duration::hours(60),
        );
        assert_eq!(stale_severity(&findings), None);
        let findings = evaluate(
            &input(&p, &[(&first, &events)]),
            &Rules::default(),
            t0() + Duration::hours(72),
        );
        assert_eq!(stale_severity(&findings), Some(Severity::Warning));
    }

    #[test]
    fn a_leg_without_events_waits_for_the_hand_over_lag() {
        let p = posting(Scheme::Fbs);
        let first = leg("yanwen", "UG123456789YP", LegRole::FirstMile);
        let none: [TrackingEvent; 0] = [];
        let at = |h| {
            stale_severity(&evaluate(
                &input(&p, &[(&first, &none)]),
                &Rules::default(),
                t0() + Duration::hours(h),
            ))
        };
        assert_eq!(at(50), None);
        assert_eq!(at(54), Some(Severity::Warning));
    }

    #[test]
    fn a_stall_while_the_carrier_feed_is_down_is_held_back_and_says_why() {
        let p = posting(Scheme::Fbs);
        let first = leg("yanwen", "UG123456789YP", LegRole::FirstMile);
        let events = [event(0, MainStatus::InTransit, SubStatus::PickedUp)];
        let mut i = input(&p, &[(&first, &events)]);
        i.legs[0].feed_down_since = Some(t0() + Duration::hours(20));
        let findings = evaluate(&i, &Rules::default(), t0() + Duration::hours(50));
        let stale = findings
            .iter()
            .find(|f| f.rule() == RuleKind::Stale)
            .unwrap();
        assert_eq!(
            stale.held,
            Some(Hold::FeedDown {
                since: t0() + Duration::hours(20)
            })
        );
        i.legs[0].feed_down_since = None;
        i.legs[0].feed_up_since = Some(t0() + Duration::hours(48));
        let findings = evaluate(&i, &Rules::default(), t0() + Duration::hours(50));
        assert!(matches!(findings[0].held, Some(Hold::FeedRecovered { .. })));
        let later = evaluate(&i, &Rules::default(), t0() + Duration::hours(60));
        assert_eq!(later[0].held, None);
    }

    #[test]
    fn arrival_without_a_last_mile_scan_is_a_break_point_and_direct_mail_silence_too() {
        let p = posting(Scheme::Rfbs);
        let first = leg("yanwen", "UG123456789YP", LegRole::FirstMile);
        let last = leg("cdek", "1234567890", LegRole::LastMile);
        let events = [
            event(0, MainStatus::InTransit, SubStatus::PickedUp),
            event(100, MainStatus::InTransit, SubStatus::CustomsReleased),
        ];
        let none: [TrackingEvent; 0] = [];
        let now = t0() + Duration::hours(100 + 24 * 3);
        let findings = evaluate(
            &input(&p, &[(&first, &events), (&last, &none)]),
            &Rules::default(),
            now,
        );
        assert!(findings.iter().any(|f| f.rule() == RuleKind::BreakPoint));
        let scanned = [event(110, MainStatus::InTransit, SubStatus::Sorting)];
        let findings = evaluate(
            &input(&p, &[(&first, &events), (&last, &scanned)]),
            &Rules::default(),
            now,
        );
        assert!(!findings.iter().any(|f| f.rule() == RuleKind::BreakPoint));

        let mail = leg("china_post", "RR123456785CN", LegRole::Single);
        let now = t0() + Duration::hours(100 + 24 * 7);
        let findings = evaluate(&input(&p, &[(&mail, &events)]), &Rules::default(), now);
        assert!(findings.iter().any(|f| f.rule() == RuleKind::PostalSilence));
    }

    #[test]
    fn a_carrier_off_the_whitelist_is_a_violation_unless_the_store_has_the_exception() {
        let p = posting(Scheme::Fbs);
        let first = leg("sunyou", "SYAE0123456789", LegRole::FirstMile);
        let events = [event(0, MainStatus::InTransit, SubStatus::PickedUp)];
        let mut rules = Rules::default();
        rules.compliance.whitelist = vec![CarrierCode::parse("yanwen").unwrap()];
        let findings = evaluate(&input(&p, &[(&first, &events)]), &rules, t0());
        assert!(
            findings
                .iter()
                .any(|f| f.rule() == RuleKind::NonWhitelisted)
        );
        rules.compliance.overseas_warehouse_exception = true;
        let findings = evaluate(&input(&p, &[(&first, &events)]), &rules, t0());
        assert!(
            !findings
                .iter()
                .any(|f| f.rule() == RuleKind::NonWhitelisted)
        );
    }

    #[test]
    fn a_posting_without_a_tracking_number_after_its_ship_by_date_is_flagged() {
        let mut p = posting(Scheme::Fbs);
        p.tracking_number = None;
        p.ship_by = Some(t0());
        let before = evaluate(
            &input(&p, &[]),
            &Rules::default(),
            t0() - Duration::hours(1),
        );
        assert!(before.is_empty());
        let after = evaluate(
            &input(&p, &[]),
            &Rules::default(),
            t0() + Duration::hours(1),
        );
        assert_eq!(after[0].rule(), RuleKind::MissingTracking);
        assert_eq!(after[0].actions, [Action::UploadTrackingNumber]);
    }

    fn history() -> impl Strategy<Value = Vec<(i64, u8)>> {
        proptest::collection::vec((0i64..400, 0u8..4), 0..12)
    }

    fn events_of(history: &[(i64, u8)]) -> Vec<TrackingEvent> {
        let subs = [
            SubStatus::PickedUp,
            SubStatus::Sorting,
            SubStatus::DepartedOrigin,
            SubStatus::CustomsReleased,
        ];
        history
            .iter()
            .map(|(h, s)| event(*h, MainStatus::InTransit, subs[usize::from(*s)].clone()))
            .collect()
    }

    proptest! {
        /// The order legs and events arrive in never changes the findings.
        #[test]
        fn findings_never_depend_on_evaluation_order(first in history(), last in history(), now_h in 0i64..600) {
            let p = posting(Scheme::Rfbs);
            let a = leg("yanwen", "UG123456789YP", LegRole::FirstMile);
            let b = leg("cdek", "1234567890", LegRole::LastMile);
            let (ea, eb) = (events_of(&first), events_of(&last));
            let (mut ra, mut rb) = (ea.clone(), eb.clone());
            ra.reverse();
            rb.reverse();
            let now = t0() + Duration::hours(now_h);
            let one = evaluate(&input(&p, &[(&a, &ea), (&b, &eb)]), &Rules::default(), now);
            let other = evaluate(&input(&p, &[(&b, &rb), (&a, &ra)]), &Rules::default(), now);
            prop_assert_eq!(one, other);
        }

        /// A longer silence never lowers the stale severity.
        #[test]
        fn thresholds_are_monotone(h in history(), now_h in 0i64..600, more in 0i64..300) {
            let p = posting(Scheme::Fbs);
            let a = leg("yanwen", "UG123456789YP", LegRole::FirstMile);
            let e = events_of(&h);
            let at = |t| stale_severity(&evaluate(&input(&p, &[(&a, &e)]), &Rules::default(), t0() + Duration::hours(t)));
            let start = now_h.max(h.iter().map(|(t, _)| *t).max().unwrap_or(0));
            prop_assert!(at(start) <= at(start + more));
        }

        /// A parcel that moves is no longer stale, and its open stale alert resolves.
        #[test]
        fn a_parcel_that_moves_resolves_its_stale_alert(h in history(), now_h in 0i64..600) {
            let p = posting(Scheme::Fbs);
            let a = leg("yanwen", "UG123456789YP", LegRole::FirstMile);
            let mut e = events_of(&h);
            let last = h.iter().map(|(t, _)| *t).max().unwrap_or(0);
            let now = last.max(now_h);
            e.push(event(now, MainStatus::InTransit, SubStatus::Sorting));
            let findings = evaluate(&input(&p, &[(&a, &e)]), &Rules::default(), t0() + Duration::hours(now));
            prop_assert_eq!(stale_severity(&findings), None);
            let open = crate::alert::AlertView {
                id: 1,
                rule: RuleKind::Stale,
                severity: Severity::Warning,
                state: crate::alert::AlertState::Open,
                since: t0(),
                resolution: None,
            };
            let changes = crate::alert::reconcile(&[open], &findings, false);
            let resolved = crate::alert::AlertChange::Resolve {
                id: 1,
                resolution: crate::alert::Resolution::Moved,
            };
            prop_assert!(changes.contains(&resolved), "{:?}", changes);
        }
    }
}
