//! `ozontrack alerts [ack ID | resolve ID | evaluate]` and `ozontrack penalties`: what needs a
//! seller's attention, in the terminal, and the whitelist violations that cost the shop points.

use std::io::Write;
use std::sync::Arc;

use ozontrack_db::prelude::*;
use ozontrack_db::{AlertFilter, SqlDatabase};
use ozontrack_domain::finding::Severity;
use ozontrack_engine::alerts::Close;
use ozontrack_engine::{Evaluator, Note};
use ozontrack_i18n::zone;
use ozontrack_server::api::dto::{AlertBody, PenaltyStandingBody};
use serde_json::json;

use crate::app::{self, KeyMode};
use crate::cli::{AlertsArgs, AlertsCommand, CloseAlertArgs, PenaltiesArgs};
use crate::errors::InputError;
use crate::output;
use crate::settings::Settings;

pub(crate) async fn alerts(
    settings: &Settings,
    args: &AlertsArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let opened = app::open(settings, KeyMode::Existing).await?;
    let result = match &args.action {
        Some(AlertsCommand::Ack(close)) => close_alert(&opened, close, true, json, out).await,
        Some(AlertsCommand::Resolve(close)) => close_alert(&opened, close, false, json, out).await,
        Some(AlertsCommand::Evaluate) => evaluate(settings, &opened, json, out).await,
        None => list(&opened.store, args, json, out).await,
    };
    opened.store.close().await;
    result
}

async fn list(
    db: &SqlDatabase,
    args: &AlertsArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let min_severity = args
        .severity
        .as_deref()
        .map(|text| Severity::parse(text).map_err(|e| InputError::new(format!("--severity: {e}"))))
        .transpose()?;
    let stores = db.stores().await?;
    let scope = match &args.store {
        Some(name) => Some(
            app::chosen_stores(db, Some(name))
                .await?
                .iter()
                .map(|s| s.id)
                .collect(),
        ),
        None => None,
    };
    let alerts = db
        .alerts(&AlertFilter {
            stores: scope,
            open_only: args.open,
            min_severity,
            limit: args.limit,
            ..AlertFilter::default()
        })
        .await?;
    let (tr, _) = output::reader(args.lang.as_deref(), &stores)?;
    let store_of =
        |a: &ozontrack_domain::alert::AlertRecord| stores.iter().find(|s| s.id == a.store_id);
    if json {
        let list: Vec<AlertBody> = alerts
            .iter()
            .map(|a| AlertBody::new(a, store_of(a), &tr))
            .collect();
        output::print_json(out, &json!({ "alerts": list }))?;
        return Ok(());
    }
    if alerts.is_empty() {
        writeln!(out, "{}", tr.t("none"))?;
        return Ok(());
    }
    let mut table = output::records_table(
        &tr,
        &[
            "col-posting",
            "col-rule",
            "col-severity",
            "col-state",
            "col-since",
            "col-why",
            "col-actions",
        ],
    );
    for a in &alerts {
        let tz = store_of(a).map_or(chrono_tz::UTC, |s| zone(&s.settings.timezone));
        table.add_row(vec![
            a.id.to_string(),
            a.posting_number.as_str().to_owned(),
            tr.rule(a.rule),
            tr.severity(a.severity),
            tr.alert_state(a.state),
            tr.time(a.since, tz),
            tr.why(&a.why, tz),
            a.actions
                .iter()
                .map(|x| tr.action(*x))
                .collect::<Vec<_>>()
                .join(", "),
        ]);
    }
    output::print_table(out, &table)?;
    Ok(())
}

async fn close_alert(
    opened: &app::Opened,
    args: &CloseAlertArgs,
    acknowledge: bool,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let note = Note::parse(&args.note).map_err(|e| InputError::new(format!("--{e}")))?;
    let actor = app::actor(args.by.as_deref())?;
    let how = if acknowledge {
        Close::Acknowledge
    } else {
        Close::Resolve
    };
    let closed = match ozontrack_engine::alerts::close(
        &opened.store,
        None,
        args.id,
        how,
        &actor,
        &note,
        opened.clock.now(),
    )
    .await
    {
        Ok(closed) => closed,
        Err(ozontrack_engine::Error::NotFound(_)) => {
            return Err(InputError::new(format!(
                "no alert with id {} (see `ozontrack alerts`)",
                args.id
            ))
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    let verb = if acknowledge {
        "acknowledged"
    } else {
        "resolved"
    };
    if json {
        output::print_json(
            out,
            &json!({"id": args.id, verb: closed.changed, "state": closed.alert.state}),
        )?;
    } else if closed.changed {
        writeln!(out, "alert {} {verb} by {}", args.id, actor.as_str())?;
    } else {
        writeln!(
            out,
            "alert {} was already resolved: nothing changed",
            args.id
        )?;
    }
    Ok(())
}

async fn evaluate(
    settings: &Settings,
    opened: &app::Opened,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let stores = opened.store.stores().await?;
    let rules = crate::commands::rules::rules_book(settings, &stores)?;
    let clock = Arc::clone(&opened.clock);
    let evaluator = Evaluator::new(
        opened.store.clone(),
        Arc::new(app::feeds(settings)?),
        rules,
        settings.risk_settings(),
        Arc::clone(&clock),
        app::owner(clock.as_ref()),
    );
    let report = evaluator.run_once().await?;
    let a = report.applied;
    if json {
        output::print_json(
            out,
            &json!({"evaluated": report.evaluated, "opened": a.opened, "escalated": a.escalated,
                    "updated": a.updated, "resolved": a.resolved}),
        )?;
    } else {
        writeln!(
            out,
            "{} postings evaluated: {} alerts opened, {} escalated, {} updated, {} resolved",
            report.evaluated, a.opened, a.escalated, a.updated, a.resolved
        )?;
    }
    Ok(())
}

pub(crate) async fn penalties(
    settings: &Settings,
    args: &PenaltiesArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let opened = app::open(settings, KeyMode::Existing).await?;
    let store = &opened.store;
    let stores = app::chosen_stores(store, args.store.as_deref()).await?;
    let book = crate::commands::rules::rules_book(settings, &store.stores().await?)?;
    let standings =
        ozontrack_engine::penalties::standings(store, &book, &stores, opened.clock.now()).await?;
    store.close().await;
    let (tr, _) = output::reader(args.lang.as_deref(), &stores)?;
    if json {
        let list: Vec<PenaltyStandingBody> = standings
            .iter()
            .map(|s| PenaltyStandingBody::new(s, &tr))
            .collect();
        output::print_json(out, &json!({ "stores": list }))?;
        return Ok(());
    }
    for s in &standings {
        writeln!(
            out,
            "{}: {} {} — {}",
            s.store.name.as_str(),
            tr.n("today-points", s.total.max(0).unsigned_abs()),
            tr.n(
                "today-penalty-window",
                s.rules.points_window_days.max(0).unsigned_abs()
            ),
            tr.penalty_standing(s.level, &s.rules)
        )?;
        if !s.ledger.is_empty() {
            let tz = zone(&s.store.settings.timezone);
            let mut table = output::table(&[
                &tr.t("col-posting"),
                &tr.t("col-tracking"),
                &tr.t("col-carrier"),
                &tr.t("col-points"),
                &tr.t("col-time"),
            ]);
            for p in &s.ledger {
                table.add_row(vec![
                    p.posting_number.as_str().to_owned(),
                    p.tracking_number.clone(),
                    tr.carrier(&p.carrier),
                    p.points.to_string(),
                    tr.time(p.at, tz),
                ]);
            }
            output::print_table(out, &table)?;
        }
    }
    Ok(())
}
