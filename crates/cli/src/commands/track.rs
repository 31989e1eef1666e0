//! `ozontrack track`, `ozontrack status` and `ozontrack legs set-carrier`: asking carriers where
//! parcels are, showing one posting's legs and merged timeline, and correcting a leg's carrier.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ozontrack_db::prelude::*;
use ozontrack_db::{LegRecord, SqlDatabase, StoreRecord};
use ozontrack_domain::{PostingId, carrier};
use ozontrack_engine::{TrackReport, Tracker};
use ozontrack_server::api::dto::PostingDetail;
use serde_json::json;

use crate::app::{self, KeyMode};
use crate::cli::{SetCarrierArgs, StatusArgs, TrackArgs};
use crate::errors::InputError;
use crate::output;
use crate::settings::Settings;

fn spinner(hidden: bool) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if hidden {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

pub(crate) async fn track(
    settings: &Settings,
    args: &TrackArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let opened = app::open(settings, KeyMode::Existing).await?;
    let store = opened.store.clone();
    let feeds = Arc::new(app::feeds(settings)?);
    if feeds.seventeen_track.is_none() && feeds.russian_post.is_none() && feeds.cdek.is_none() {
        return Err(InputError::new(
            "no carrier credentials are configured: set [carriers] seventeen_track_token, \
             russian_post_login/password or cdek_client_id/secret",
        )
        .into());
    }
    let clock = Arc::clone(&opened.clock);
    let tracker = Tracker::new(
        store.clone(),
        feeds,
        settings.track_settings(),
        Arc::clone(&clock),
        app::owner(clock.as_ref()),
    );
    let bar = spinner(json);
    let (mut checked, mut new_events) = (0u64, 0u64);
    let mut progress = |round: &TrackReport| {
        checked += round.legs_checked();
        new_events += round.new_events;
        bar.set_message(format!("{checked} legs checked, {new_events} new events"));
    };
    let report = if let Some(number) = &args.posting {
        let record = one_store(&store, args.store.as_deref()).await?;
        let records = [record];
        let (_, posting) = find_posting(&store, &records, number).await?;
        let ids: Vec<_> = carrier_legs(&store, posting)
            .await?
            .iter()
            .map(|l| l.id)
            .collect();
        let report = tracker.check_now(&ids).await?;
        progress(&report);
        // A hand-over just seen adds a last-mile leg that is due at once.
        let more = tracker.run_until_idle(&mut progress).await?;
        let mut report = report;
        report.add(more);
        report
    } else {
        if args.all {
            let scope = match args.store.as_deref() {
                Some(_) => Some(one_store(&store, args.store.as_deref()).await?.id),
                None => None,
            };
            store.make_tracked_legs_due(scope, clock.now()).await?;
        }
        tracker.run_until_idle(&mut progress).await?
    };
    bar.finish_and_clear();
    store.close().await;
    let errors: Vec<_> = report
        .feed_errors
        .iter()
        .map(|(feed, e)| json!({"feed": feed, "error": e}))
        .collect();
    if json {
        output::print_json(
            out,
            &json!({
                "legs_checked": report.legs_checked(),
                "carrier_calls": report.carrier_calls,
                "new_events": report.new_events,
                "hand_overs": report.hand_overs,
                "deferred": report.deferred,
                "stopped": report.stopped,
                "restarted": report.restarted,
                "feed_errors": errors,
            }),
        )?;
    } else {
        let mut table = output::table(&[
            "legs checked",
            "carrier calls",
            "new events",
            "hand-overs",
            "deferred",
            "stopped",
            "restarted",
        ]);
        table.add_row(vec![
            report.legs_checked().to_string(),
            report.carrier_calls.to_string(),
            report.new_events.to_string(),
            report.hand_overs.to_string(),
            report.deferred.to_string(),
            report.stopped.to_string(),
            report.restarted.to_string(),
        ]);
        output::print_table(out, &table)?;
        for (feed, e) in &report.feed_errors {
            writeln!(out, "{feed}: {e}")?;
        }
    }
    Ok(())
}

/// The named store, or the only one.
async fn one_store(store: &SqlDatabase, name: Option<&str>) -> anyhow::Result<StoreRecord> {
    let mut stores = app::chosen_stores(store, name).await?;
    if stores.len() > 1 {
        return Err(InputError::new("there are several stores: choose one with --store").into());
    }
    stores
        .pop()
        .ok_or_else(|| InputError::new("no store is connected").into())
}

/// A posting (by its number or a tracking number of one of its legs) in `stores`.
pub(crate) async fn find_posting<'s>(
    db: &SqlDatabase,
    stores: &'s [StoreRecord],
    number: &str,
) -> anyhow::Result<(&'s StoreRecord, PostingId)> {
    ozontrack_engine::trail::find_by_any_number(db, stores, number)
        .await?
        .ok_or_else(|| {
            InputError::new(format!("no posting or tracking number {number:?} is known")).into()
        })
}

/// A posting's carrier legs (Ozon's own left out).
async fn carrier_legs(db: &SqlDatabase, posting: PostingId) -> anyhow::Result<Vec<LegRecord>> {
    Ok(db
        .legs(posting)
        .await?
        .into_iter()
        .filter(|l| l.leg.carrier.as_str() != carrier::OZON)
        .collect())
}

pub(crate) async fn status(
    settings: &Settings,
    args: &StatusArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let opened = app::open(settings, KeyMode::Existing).await?;
    let db = &opened.store;
    let stores = db.stores().await?;
    let (owner, id) = find_posting(db, &stores, &args.number).await?;
    let (tr, _) = output::reader(args.lang.as_deref(), std::slice::from_ref(owner))?;
    let zone_name = args
        .tz
        .clone()
        .unwrap_or_else(|| owner.settings.timezone.clone());
    let tz: chrono_tz::Tz = zone_name
        .parse()
        .map_err(|_| InputError::new(format!("--tz: {zone_name:?} is not an IANA time zone")))?;
    let estimates = std::sync::Arc::new(ozontrack_engine::estimate::EstimateBook::default());
    let trail = ozontrack_engine::trail::read_learned(db, &estimates, id, opened.clock.now())
        .await?
        .context("the posting disappeared while it was read")?;
    db.close().await;
    let p = &trail.posting;
    if json {
        let mut body = serde_json::to_value(PostingDetail::new(&trail, owner, &tr))?;
        if let Some(object) = body.as_object_mut() {
            object.insert("time_zone".into(), json!(zone_name));
            for (entry, value) in trail.timeline.iter().zip(
                object
                    .get_mut("timeline")
                    .and_then(|t| t.as_array_mut())
                    .into_iter()
                    .flatten(),
            ) {
                value["local_time"] = json!(tr.time(entry.occurred_at, tz));
            }
        }
        output::print_json(out, &body)?;
        return Ok(());
    }
    writeln!(
        out,
        "{} ({}, Ozon: {})",
        p.number.as_str(),
        owner.name.as_str(),
        tr.ozon_state(&p.status, &p.substatus)
    )?;
    let labelled =
        |label: &str, value: &str| tr.a("labelled", &[("label", &tr.t(label)), ("value", value)]);
    let arrival = tr.arrival_line(p.delivered_at, trail.estimate.as_ref(), tz);
    writeln!(out, "{}", labelled("posting-estimate", &arrival))?;
    if let Some(promise) = p.promised {
        let mut said = tr.promise(&promise, tz);
        if promise.missed(p.delivered_at, trail.estimate.as_ref()) {
            said = tr.a("promise-missed", &[("promise", &said)]);
        }
        writeln!(out, "{}", labelled("posting-promised", &said))?;
    }
    let mut table = output::table(&[
        &tr.t("col-carrier"),
        &tr.t("col-tracking"),
        &tr.t("col-role"),
        &tr.t("col-status"),
        &tr.t("col-updated"),
        &tr.t("col-next-check"),
    ]);
    for leg in &trail.legs {
        table.add_row(vec![
            tr.carrier(leg.leg.carrier.as_str()),
            leg.leg.tracking_number.as_str().to_owned(),
            tr.role(leg.leg.role),
            leg.status
                .as_ref()
                .map_or_else(|| "—".to_owned(), |s| tr.main_status(s.main)),
            leg.last_event_at.map_or("—".into(), |t| tr.time(t, tz)),
            leg.next_check_at.map_or("—".into(), |t| tr.time(t, tz)),
        ]);
    }
    output::print_table(out, &table)?;
    let mut table = output::table(&[
        &format!("{} ({zone_name})", tr.t("col-time")),
        &tr.t("col-status"),
        &tr.t("col-carrier"),
        &tr.t("col-place"),
        &tr.t("col-event"),
        &tr.t("col-source"),
    ]);
    for e in &trail.timeline {
        table.add_row(vec![
            tr.time(e.occurred_at, tz),
            tr.main_status(e.status.main),
            tr.carrier(e.carrier.as_str()),
            tr.place(&e.location),
            e.text.clone(),
            e.sources()
                .map(|s| tr.source(s))
                .collect::<Vec<_>>()
                .join(", "),
        ]);
    }
    output::print_table(out, &table)?;
    Ok(())
}

pub(crate) async fn set_carrier(
    settings: &Settings,
    args: &SetCarrierArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    // A bad carrier is refused before the database is opened.
    ozontrack_engine::legs::manual_carrier(&args.carrier)
        .map_err(|e| InputError::new(e.to_string()))?;
    let opened = app::open(settings, KeyMode::Existing).await?;
    let db = &opened.store;
    let record = one_store(db, args.store.as_deref()).await?;
    let actor = app::actor(args.by.as_deref())?;
    let set = ozontrack_engine::legs::set_carrier(
        db,
        std::slice::from_ref(&record),
        &args.posting,
        args.number.as_deref(),
        &args.carrier,
        &actor,
        opened.clock.now(),
    )
    .await
    .map_err(|e| match e {
        ozontrack_engine::Error::NotFound(what) => anyhow::Error::new(InputError::new(format!(
            "posting {}: no such {what}",
            args.posting
        ))),
        ozontrack_engine::Error::Invalid { .. } => {
            anyhow::Error::new(InputError::new(format!("posting {}: {e}", args.posting)))
        }
        other => other.into(),
    })?;
    db.close().await;
    if json {
        output::print_json(
            out,
            &json!({"posting_number": set.posting_number, "tracking_number": set.tracking_number,
                    "carrier": set.carrier.as_str(), "previous_carrier": set.previous.as_str(), "set_by": set.by}),
        )?;
    } else {
        writeln!(
            out,
            "{} {}: carrier {} -> {} (set by {}; checked again at the next tracking round)",
            set.posting_number,
            set.tracking_number,
            set.previous.as_str(),
            set.carrier.as_str(),
            set.by
        )?;
    }
    Ok(())
}
