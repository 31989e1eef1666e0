//! `ozontrack track`, `ozontrack status` and `ozontrack legs set-carrier`: asking carriers where
//! parcels are, showing one posting's legs and merged timeline, and correcting a leg's carrier.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ozontrack_domain::timeline::{self, Entry};
use ozontrack_domain::{CarrierCode, Clock, Language, PostingNumber, SystemClock, carrier};
use ozontrack_engine::{TrackReport, Tracker};
use ozontrack_store::{LegRecord, PostingRecord, SqlStore, Store, StoreRecord};
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
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
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
        let posting = find_posting(&store, &[record], number).await?;
        let ids: Vec<_> = carrier_legs(&store, &posting)
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
        ]);
        table.add_row(vec![
            report.legs_checked().to_string(),
            report.carrier_calls.to_string(),
            report.new_events.to_string(),
            report.hand_overs.to_string(),
            report.deferred.to_string(),
        ]);
        output::print_table(out, &table)?;
        for (feed, e) in &report.feed_errors {
            writeln!(out, "{feed}: {e}")?;
        }
    }
    Ok(())
}

/// The named store, or the only one.
async fn one_store(store: &SqlStore, name: Option<&str>) -> anyhow::Result<StoreRecord> {
    let mut stores = app::chosen_stores(store, name).await?;
    if stores.len() > 1 {
        return Err(InputError::new("there are several stores: choose one with --store").into());
    }
    stores
        .pop()
        .ok_or_else(|| InputError::new("no store is connected").into())
}

/// A posting by its number in `stores`, or through a tracking number of one of its legs.
pub(crate) async fn find_posting(
    store: &SqlStore,
    stores: &[StoreRecord],
    number: &str,
) -> anyhow::Result<PostingRecord> {
    if let Ok(posting_number) = PostingNumber::parse(number) {
        for record in stores {
            if let Some(found) = store.posting(record.id, &posting_number).await? {
                return Ok(found);
            }
        }
    }
    let wanted = number.trim().to_ascii_uppercase();
    for leg in store.legs_by_number(&wanted).await? {
        if let Some(found) = store.posting_by_id(leg.posting_id).await?
            && stores.iter().any(|s| s.id == found.posting.store_id)
        {
            return Ok(found);
        }
    }
    Err(InputError::new(format!("no posting or tracking number {number:?} is known")).into())
}

/// A posting's legs, each with its events in time order.
async fn carrier_legs(store: &SqlStore, posting: &PostingRecord) -> anyhow::Result<Vec<LegRecord>> {
    Ok(store
        .legs(posting.id)
        .await?
        .into_iter()
        .filter(|l| l.leg.carrier.as_str() != "ozon")
        .collect())
}

pub(crate) async fn status(
    settings: &Settings,
    args: &StatusArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let opened = app::open(settings, KeyMode::Existing).await?;
    let store = opened.store;
    let stores = store.stores().await?;
    let posting = find_posting(&store, &stores, &args.number).await?;
    let owner = stores
        .iter()
        .find(|s| s.id == posting.posting.store_id)
        .context("the posting's store is gone")?;
    let language = match &args.lang {
        Some(text) => Language::parse(text).map_err(|e| InputError::new(format!("--lang: {e}")))?,
        None => owner.settings.language,
    };
    let zone_name = args
        .tz
        .clone()
        .unwrap_or_else(|| owner.settings.timezone.clone());
    let zone: chrono_tz::Tz = zone_name
        .parse()
        .map_err(|_| InputError::new(format!("--tz: {zone_name:?} is not an IANA time zone")))?;
    let read = store
        .postings_with_events(&[posting.id])
        .await?
        .pop()
        .context("the posting disappeared while it was read")?;
    store.close().await;
    let merged = read.timeline();
    let legs: Vec<LegRecord> = read.legs.into_iter().map(|(leg, _)| leg).collect();
    let local = |t: DateTime<Utc>| t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string();
    let status_text = |leg: &LegRecord| {
        leg.status.as_ref().map_or("-".to_owned(), |s| {
            timeline::label(s.main, language).to_owned()
        })
    };
    if json {
        let legs_json: Vec<_> = legs
            .iter()
            .map(|leg| {
                json!({
                    "carrier": leg.leg.carrier.as_str(),
                    "carrier_name": carrier_name(leg.leg.carrier.as_str(), language),
                    "carrier_source": leg.carrier_source.as_str(),
                    "tracking_number": leg.leg.tracking_number.as_str(),
                    "role": leg.leg.role.as_str(),
                    "status": leg.status.as_ref().map(|s| s.main.as_str()),
                    "sub_status": leg.status.as_ref().map(|s| s.sub.code()),
                    "status_label": leg.status.as_ref().map(|s| timeline::label(s.main, language)),
                    "last_event_at": leg.last_event_at.map(output::time),
                    "next_check_at": leg.next_check_at.map(output::time),
                    "continues": leg.parent.and_then(|p| legs.iter().find(|l| l.id == p)).map(|l| l.leg.tracking_number.as_str()),
                })
            })
            .collect();
        let timeline_json: Vec<_> = merged
            .iter()
            .map(|e| entry_json(e, language, &local))
            .collect();
        output::print_json(
            out,
            &json!({
                "posting_number": posting.posting.number.as_str(),
                "store": owner.name.as_str(),
                "ozon_status": posting.posting.status.as_str(),
                "ozon_substatus": posting.posting.substatus.as_str(),
                "language": language.as_str(),
                "time_zone": zone_name,
                "legs": legs_json,
                "timeline": timeline_json,
            }),
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{} ({}, Ozon: {}/{})",
        posting.posting.number.as_str(),
        owner.name.as_str(),
        posting.posting.status.as_str(),
        posting.posting.substatus.as_str()
    )?;
    let mut table = output::table(&[
        "carrier",
        "tracking number",
        "role",
        "status",
        "last event",
        "next check",
    ]);
    for leg in &legs {
        table.add_row(vec![
            carrier_name(leg.leg.carrier.as_str(), language).to_owned(),
            leg.leg.tracking_number.as_str().to_owned(),
            leg.leg.role.as_str().to_owned(),
            status_text(leg),
            leg.last_event_at.map_or("-".into(), local),
            leg.next_check_at.map_or("-".into(), local),
        ]);
    }
    output::print_table(out, &table)?;
    let mut table = output::table(&[
        &format!("time ({zone_name})"),
        "status",
        "carrier",
        "place",
        "what",
        "sources",
    ]);
    for e in &merged {
        table.add_row(vec![
            local(e.occurred_at),
            timeline::label(e.status.main, language).to_owned(),
            carrier_name(&e.carrier, language).to_owned(),
            place(e, language),
            e.text.clone(),
            e.sources
                .iter()
                .map(ozontrack_domain::EventSource::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        ]);
    }
    output::print_table(out, &table)?;
    Ok(())
}

fn carrier_name(code: &str, language: Language) -> &str {
    carrier::by_code(code).map_or(code, |c| c.name(language))
}

/// The entry's city in the reader's language when the gazetteer knows it.
fn place(e: &Entry, language: Language) -> String {
    let known = e
        .location
        .city
        .as_deref()
        .and_then(ozontrack_domain::gazetteer::by_name);
    known.map_or_else(
        || e.location.text.clone().unwrap_or_default(),
        |city| city.name_in(language).to_owned(),
    )
}

fn entry_json(
    e: &Entry,
    language: Language,
    local: &impl Fn(DateTime<Utc>) -> String,
) -> serde_json::Value {
    json!({
        "occurred_at": output::time(e.occurred_at),
        "local_time": local(e.occurred_at),
        "status": e.status.main.as_str(),
        "sub_status": e.status.sub.code(),
        "status_label": timeline::label(e.status.main, language),
        "carrier": e.carrier,
        "text": e.text,
        "place": place(e, language),
        "country": e.location.country,
        "lat": e.location.point.map(ozontrack_domain::GeoPoint::lat),
        "lon": e.location.point.map(ozontrack_domain::GeoPoint::lon),
        "sources": e.sources.iter().map(ozontrack_domain::EventSource::as_str).collect::<Vec<_>>(),
    })
}

pub(crate) async fn set_carrier(
    settings: &Settings,
    args: &SetCarrierArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let code = CarrierCode::parse(&args.carrier)
        .ok()
        .filter(|c| carrier::by_code(c.as_str()).is_some())
        .ok_or_else(|| {
            let known: Vec<&str> = carrier::CARRIERS.iter().map(|c| c.code).collect();
            InputError::new(format!(
                "unknown carrier {:?}; known: {}",
                args.carrier,
                known.join(", ")
            ))
        })?;
    let opened = app::open(settings, KeyMode::Existing).await?;
    let store = opened.store;
    let record = one_store(&store, args.store.as_deref()).await?;
    let posting = find_posting(&store, &[record], &args.posting).await?;
    let legs = carrier_legs(&store, &posting).await?;
    let leg = match &args.number {
        Some(number) => legs.iter().find(|l| {
            l.leg
                .tracking_number
                .as_str()
                .eq_ignore_ascii_case(number.trim())
        }),
        None if legs.len() == 1 => legs.first(),
        None => {
            return Err(InputError::new(format!(
                "posting {} has {} carrier legs: choose one with --number",
                args.posting,
                legs.len()
            ))
            .into());
        }
    }
    .ok_or_else(|| InputError::new(format!("posting {} has no such carrier leg", args.posting)))?;
    let by = args
        .by
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into());
    store
        .set_leg_carrier(leg.id, &code, &by, SystemClock.now())
        .await?;
    store.close().await;
    if json {
        output::print_json(
            out,
            &json!({"posting_number": args.posting, "tracking_number": leg.leg.tracking_number.as_str(),
                    "carrier": code.as_str(), "previous_carrier": leg.leg.carrier.as_str(), "set_by": by}),
        )?;
    } else {
        writeln!(
            out,
            "{} {}: carrier {} -> {} (set by {by}; checked again at the next tracking round)",
            args.posting,
            leg.leg.tracking_number.as_str(),
            leg.leg.carrier.as_str(),
            code.as_str()
        )?;
    }
    Ok(())
}
