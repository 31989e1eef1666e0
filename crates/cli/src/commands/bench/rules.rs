//! `ozontrack bench rules`: how fast the rules run. A synthetic book of postings with two
//! carrier legs each (a first mile with four events, a last mile with up to two), at every
//! stage of quiet so that some are fine and some raise findings, is evaluated in full (rules,
//! next threshold, alert lifecycle) and then again for only the postings that changed after
//! 10 000 new events. Reading from the database is not timed here: `bench ingest` and the
//! engine's tests cover the store; this is the CPU the evaluator adds to every round.

use std::io::Write;
use std::time::Instant;

use chrono::{DateTime, Duration, TimeZone, Utc};
use ozontrack_domain::alert::{AlertChange, AlertState, AlertView};
use ozontrack_domain::risk::{LegInput, PostingInput};
use ozontrack_domain::rules::Rules;
use ozontrack_domain::{
    CarrierCode, EventSource, Leg, LegRole, Location, MainStatus, NormalizedStatus, OzonStatus,
    Posting, PostingNumber, Scheme, StoreId, SubStatus, TrackingEvent, TrackingNumber,
};
use serde_json::json;

use crate::cli::BenchRulesArgs;
use crate::output;

const GOAL_FULL_S: f64 = 1.0;
const GOAL_INCREMENTAL_S: f64 = 0.05;

struct Book {
    posting: Posting,
    legs: [Leg; 2],
    events: [Vec<TrackingEvent>; 2],
    alerts: Vec<AlertView>,
}

fn event(at: DateTime<Utc>, sub: SubStatus, n: u32) -> TrackingEvent {
    TrackingEvent::new(
        EventSource::SeventeenTrack,
        at,
        NormalizedStatus::new(MainStatus::InTransit, sub),
        "InTransit_Other",
        format!("scan {n}"),
        Location::default(),
    )
}

fn book(postings: u32, now: DateTime<Utc>) -> anyhow::Result<Vec<Book>> {
    let subs = [
        SubStatus::PickedUp,
        SubStatus::Sorting,
        SubStatus::DepartedOrigin,
        SubStatus::CustomsReleased,
    ];
    let (yanwen, cdek) = (CarrierCode::parse("yanwen")?, CarrierCode::parse("cdek")?);
    (0..postings)
        .map(|i| {
            let mut posting = Posting::new(
                StoreId(1),
                PostingNumber::parse(&format!(
                    "{:08}-{:04}-1",
                    10_000_000 + i / 10_000,
                    i % 10_000
                ))?,
                Scheme::Rfbs,
                OzonStatus::Delivering,
            );
            posting.ship_by = Some(now - Duration::days(10));
            let first_number = TrackingNumber::parse(&format!("LP{i:014}"))?;
            posting.tracking_number = Some(first_number.clone());
            // The last event up to 60 hours ago: most are fine, a fifth is stale.
            let quiet = Duration::minutes(i64::from(i % 3_600));
            let first: Vec<TrackingEvent> = (0..4u32)
                .map(|k| {
                    let at = now - quiet - Duration::hours(i64::from(3 - k) * 20);
                    event(at, subs[k as usize].clone(), k)
                })
                .collect();
            let last: Vec<TrackingEvent> = (0..i % 3)
                .map(|k| {
                    event(
                        now - quiet + Duration::minutes(i64::from(k)),
                        SubStatus::Sorting,
                        10 + k,
                    )
                })
                .collect();
            Ok(Book {
                posting,
                legs: [
                    Leg {
                        carrier: yanwen.clone(),
                        tracking_number: first_number,
                        role: LegRole::FirstMile,
                    },
                    Leg {
                        carrier: cdek.clone(),
                        tracking_number: TrackingNumber::parse(&format!("1{i:09}"))?,
                        role: LegRole::LastMile,
                    },
                ],
                events: [first, last],
                alerts: Vec::new(),
            })
        })
        .collect()
}

/// Rules, next threshold and lifecycle for one posting; returns how many alert changes.
fn evaluate(b: &Book, rules: &Rules, now: DateTime<Utc>) -> Vec<AlertChange> {
    let input = PostingInput {
        posting: &b.posting,
        legs: b
            .legs
            .iter()
            .zip(&b.events)
            .map(|(leg, events)| LegInput {
                leg,
                events,
                tracked_since: now - Duration::days(20),
                feed_down_since: None,
                feed_up_since: None,
                known_until: Some(now),
            })
            .collect(),
        learned: None,
    };
    ozontrack_engine::risk::decide(&input, &b.alerts, rules, now).changes
}

/// Evaluates `items` on every core; returns the changes per posting, in order.
fn pass(
    books: &[Book],
    items: &[usize],
    rules: &Rules,
    now: DateTime<Utc>,
) -> Vec<(usize, Vec<AlertChange>)> {
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|i| (*i, evaluate(&books[*i], rules, now)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

fn apply(books: &mut [Book], changes: Vec<(usize, Vec<AlertChange>)>) -> u64 {
    let mut n = 0;
    for (i, list) in changes {
        for change in list {
            n += 1;
            let alerts = &mut books[i].alerts;
            match change {
                AlertChange::Open(f) => alerts.push(AlertView {
                    id: alerts.len() as i64 + 1,
                    rule: f.rule(),
                    severity: f.severity,
                    state: AlertState::Open,
                    since: f.since,
                    resolution: None,
                }),
                AlertChange::Escalate { id, finding } | AlertChange::Update { id, finding } => {
                    if let Some(a) = alerts.iter_mut().find(|a| a.id == id) {
                        a.severity = finding.severity;
                        a.since = finding.since;
                    }
                }
                AlertChange::Resolve { id, .. } => alerts.retain(|a| a.id != id),
            }
        }
    }
    n
}

pub(crate) fn rules(args: &BenchRulesArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let now = Utc
        .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let postings = args.legs.div_ceil(2);
    let built = Instant::now();
    let mut books = book(postings, now)?;
    let build_s = built.elapsed().as_secs_f64();
    let rules = Rules::default();
    let all: Vec<usize> = (0..books.len()).collect();

    let started = Instant::now();
    let changes = pass(&books, &all, &rules, now);
    let full_s = started.elapsed().as_secs_f64();
    let opened = apply(&mut books, changes);

    // Ten thousand postings get a new event an hour later; only they are evaluated again.
    let later = now + Duration::hours(1);
    let step = (books.len() / args.changes.max(1) as usize).max(1);
    let changed: Vec<usize> = (0..books.len())
        .step_by(step)
        .take(args.changes as usize)
        .collect();
    for i in &changed {
        books[*i].events[1].push(event(later, SubStatus::Sorting, 99));
    }
    let started = Instant::now();
    let changes = pass(&books, &changed, &rules, later);
    let incremental_s = started.elapsed().as_secs_f64();
    let moved = apply(&mut books, changes);

    let mut table = output::table(&["figure", "measured", "goal", "ratio"]);
    table.add_row(vec![
        format!("full pass over {} legs ({postings} postings)", postings * 2),
        format!("{full_s:.3} s ({opened} alert changes)"),
        format!("≤ {GOAL_FULL_S} s"),
        format!("{:.3}", full_s / GOAL_FULL_S),
    ]);
    table.add_row(vec![
        format!("incremental pass after {} changes", changed.len()),
        format!("{:.1} ms ({moved} alert changes)", incremental_s * 1000.0),
        format!("≤ {} ms", GOAL_INCREMENTAL_S * 1000.0),
        format!("{:.3}", incremental_s / GOAL_INCREMENTAL_S),
    ]);
    output::print_table(out, &table)?;
    let summary = json!({
        "bench": "rules",
        "legs": postings * 2,
        "postings": postings,
        "changes": changed.len(),
        "build_s": build_s,
        "full_s": full_s,
        "incremental_s": incremental_s,
        "alert_changes_full": opened,
        "alert_changes_incremental": moved,
        "goal_full_s": GOAL_FULL_S,
        "goal_incremental_s": GOAL_INCREMENTAL_S,
        "ok": full_s <= GOAL_FULL_S && incremental_s <= GOAL_INCREMENTAL_S,
    });
    writeln!(out, "{summary}")?;
    Ok(())
}
