//! `ozontrack alerts [ack ID | resolve ID | evaluate]` and `ozontrack penalties`: what needs a
//! seller's attention, in the terminal, and the whitelist violations that cost the shop points.

use std::io::Write;
use std::sync::Arc;

use chrono::Duration;
use ozontrack_domain::risk::Severity;
use ozontrack_domain::{Clock, SystemClock};
use ozontrack_engine::Evaluator;
use ozontrack_store::{AlertFilter, SqlStore, Store};
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
    let store = opened.store;
    let result = match &args.action {
        Some(AlertsCommand::Ack(close)) => close_alert(&store, close, true, json, out).await,
        Some(AlertsCommand::Resolve(close)) => close_alert(&store, close, false, json, out).await,
        Some(AlertsCommand::Evaluate) => evaluate(settings, &store, json, out).await,
        None => list(&store, args, json, out).await,
    };
    store.close().await;
    result
}

async fn list(
    store: &SqlStore,
    args: &AlertsArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let min_severity = match &args.severity {
        Some(text) => Some(Severity::parse(text).ok_or_else(|| {
            InputError::new(format!(
                "--severity: {text:?} is not one of info, warning, high_risk, critical"
            ))
        })?),
        None => None,
    };
    let scope = match &args.store {
        Some(name) => app::chosen_stores(store, Some(name))
            .await?
            .first()
            .map(|s| s.id),
        None => None,
    };
    let alerts = store
        .alerts(&AlertFilter {
            id: None,
            store: scope,
            posting: None,
            open_only: args.open,
            min_severity,
            limit: args.limit,
        })
        .await?;
    if json {
        let list: Vec<_> = alerts
            .iter()
            .map(ozontrack_server::api::alert_json)
            .collect();
        output::print_json(out, &json!({ "alerts": list }))?;
        return Ok(());
    }
    if alerts.is_empty() {
        writeln!(out, "no alerts")?;
        return Ok(());
    }
    let mut table = output::table(&[
        "id",
        "posting",
        "rule",
        "severity",
        "state",
        "since",
        "why",
        "suggested",
    ]);
    for a in &alerts {
        table.add_row(vec![
            a.id.to_string(),
            a.posting_number.as_str().to_owned(),
            a.rule.as_str().to_owned(),
            a.severity.as_str().to_owned(),
            a.state.as_str().to_owned(),
            output::time(a.since),
            a.why.clone(),
            a.actions
                .iter()
                .map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ]);
    }
    output::print_table(out, &table)?;
    Ok(())
}

async fn close_alert(
    store: &SqlStore,
    args: &CloseAlertArgs,
    acknowledge: bool,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if args.note.trim().is_empty() {
        return Err(InputError::new("--note: say what was done").into());
    }
    let by = args
        .by
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".into());
    let now = SystemClock.now();
    let done = match if acknowledge {
        store.acknowledge_alert(args.id, &by, &args.note, now).await
    } else {
        store.resolve_alert(args.id, &by, &args.note, now).await
    } {
        Ok(done) => done,
        Err(ozontrack_store::StoreError::AlertNotFound(id)) => {
            return Err(
                InputError::new(format!("no alert with id {id} (see `ozontrack alerts`)")).into(),
            );
        }
        Err(e) => return Err(e.into()),
    };
    let verb = if acknowledge {
        "acknowledged"
    } else {
        "resolved"
    };
    if json {
        output::print_json(out, &json!({"id": args.id, verb: done}))?;
    } else if done {
        writeln!(out, "alert {} {verb} by {by}", args.id)?;
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
    store: &SqlStore,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let stores = store.stores().await?;
    let rules = crate::commands::rules::rules_book(settings, &stores)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let evaluator = Evaluator::new(
        store.clone(),
        Arc::new(app::feeds(settings)?),
        rules,
        settings.risk_settings(),
        clock,
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
    let store = opened.store;
    let stores = app::chosen_stores(&store, args.store.as_deref()).await?;
    let book = crate::commands::rules::rules_book(settings, &store.stores().await?)?;
    let now = SystemClock.now();
    let mut reports = Vec::new();
    for s in &stores {
        let rules = &book.for_store(s.id).compliance;
        let since = now - Duration::days(rules.points_window_days);
        let ledger = store.penalties(s.id, since).await?;
        let total: i64 = ledger.iter().map(|p| p.points).sum();
        let standing = if total >= rules.suspension_points {
            "advertising suspended"
        } else if total >= rules.warn_at_points {
            "close to the suspension threshold"
        } else {
            "ok"
        };
        reports.push((s, ledger, total, standing, rules.clone()));
    }
    store.close().await;
    if json {
        let list: Vec<_> = reports
            .iter()
            .map(|(s, ledger, total, standing, rules)| {
                json!({
                    "store": s.name.as_str(),
                    "total": total,
                    "window_days": rules.points_window_days,
                    "warn_at": rules.warn_at_points,
                    "suspension_at": rules.suspension_points,
                    "standing": standing,
                    "violations": ledger.iter().map(|p| json!({
                        "posting_number": p.posting_number.as_str(),
                        "tracking_number": p.tracking_number,
                        "carrier": p.carrier,
                        "points": p.points,
                        "at": output::time(p.at),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        output::print_json(out, &json!({ "stores": list }))?;
        return Ok(());
    }
    for (s, ledger, total, standing, rules) in &reports {
        writeln!(
            out,
            "{}: {total} points in the last {} days (warning at {}, advertising suspended at {}): {standing}",
            s.name.as_str(),
            rules.points_window_days,
            rules.warn_at_points,
            rules.suspension_points
        )?;
        if !ledger.is_empty() {
            let mut table =
                output::table(&["posting", "tracking number", "carrier", "points", "at"]);
            for p in ledger {
                table.add_row(vec![
                    p.posting_number.as_str().to_owned(),
                    p.tracking_number.clone(),
                    p.carrier.clone(),
                    p.points.to_string(),
                    output::time(p.at),
                ]);
            }
            output::print_table(out, &table)?;
        }
    }
    Ok(())
}
