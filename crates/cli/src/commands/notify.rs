//! `ozontrack channels …` and `ozontrack notify …`: where notifications go, and what became of
//! them. Each command parses its flags, calls one engine use case and prints the result; no
//! secret is ever printed (a webhook secret made for a new destination is shown once, when it is
//! made).

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::NaiveTime;
use ozontrack_db::prelude::*;
use ozontrack_db::{OutboxFilter, OutboxMessage, SqlDatabase};
use ozontrack_domain::finding::{RuleKind, Severity};
use ozontrack_domain::notify::{
    AttemptOutcome, Audience, ChannelKind, DisableCause, MessageState, QuietHours, Routing, Topic,
};
use ozontrack_domain::{Clock, Language, SystemClock};
use ozontrack_engine::notify::{self as use_case, AddDestination, Dispatcher, RoutingChange};
use ozontrack_engine::supervise::{Policy, Schedule, Supervisor};
use ozontrack_i18n::{Tr, zone};
use ozontrack_notify::Setup;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::app::{self, KeyMode};
use crate::cli::{
    ChannelAddArgs, ChannelsCommand, ListArgs, NotifyCommand, NotifyLogArgs, NotifyPreviewArgs,
    NotifyRetryArgs, RoutingArgs, TemplateArgs, TemplateCommand,
};
use crate::errors::InputError;
use crate::output;
use crate::settings::Settings;

pub(crate) async fn channels(
    settings: &Settings,
    command: ChannelsCommand,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let opened = app::open(settings, KeyMode::Existing).await?;
    let result = channels_on(settings, &opened, command, json, out).await;
    opened.store.close().await;
    result
}

async fn channels_on(
    settings: &Settings,
    opened: &app::Opened,
    command: ChannelsCommand,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let db = &opened.store;
    let now = SystemClock.now();
    match command {
        ChannelsCommand::Add(args) => add(db, *args, json, out).await,
        ChannelsCommand::List(args) => list(db, &args, json, out).await,
        ChannelsCommand::Test(args) => test(settings, opened, &args.name, json, out).await,
        ChannelsCommand::Disable(args) => {
            let record = use_case::find_destination(db, &args.name).await?;
            use_case::set_enabled(db, record.destination.id, false, &app::console(), now).await?;
            done(out, json, "disabled", &record.destination.name)
        }
        ChannelsCommand::Enable(args) => {
            let record = use_case::find_destination(db, &args.name).await?;
            use_case::set_enabled(db, record.destination.id, true, &app::console(), now).await?;
            done(out, json, "enabled", &record.destination.name)
        }
        ChannelsCommand::Remove(args) => {
            let record = use_case::find_destination(db, &args.name).await?;
            use_case::remove_destination(db, record.destination.id, &app::console(), now).await?;
            done(out, json, "removed", &record.destination.name)
        }
        ChannelsCommand::Route(args) => {
            let record = use_case::find_destination(db, &args.name).await?;
            let change = routing_change(db, &args.routing).await?;
            use_case::update_routing(db, record.destination.id, change, &app::console(), now)
                .await?;
            done(out, json, "routed", &record.destination.name)
        }
    }
}

fn done(out: &mut impl Write, json: bool, what: &str, name: &str) -> anyhow::Result<()> {
    if json {
        output::print_json(out, &json!({ "destination": name, "done": what }))?;
    } else {
        writeln!(out, "{name}: {what}")?;
    }
    Ok(())
}

fn input(message: String) -> anyhow::Error {
    InputError::new(message).into()
}

fn parse_language(text: &str) -> anyhow::Result<Language> {
    Language::parse(text).map_err(|e| input(format!("--lang: {e}")))
}

fn list_of<T>(
    text: &str,
    flag: &str,
    parse: impl Fn(&str) -> Result<T, ozontrack_domain::ParseError>,
) -> anyhow::Result<Vec<T>> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| parse(t).map_err(|e| input(format!("{flag}: {e}"))))
        .collect()
}

fn time_of_day(text: &str, flag: &str) -> anyhow::Result<NaiveTime> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M")
        .map_err(|_| input(format!("{flag}: {text:?} is not a time like 09:00")))
}

/// The routing the flags describe, on top of `base` (a destination's current one).
/// The routing flags as a change: what is given replaces, the rest stays.
async fn routing_change(db: &SqlDatabase, args: &RoutingArgs) -> anyhow::Result<RoutingChange> {
    let off = |text: &str| text.trim().is_empty() || text.trim() == "off";
    let stores = match &args.stores {
        Some(names) => {
            let all = db.stores().await?;
            let mut ids = Vec::new();
            for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                let store = all
                    .iter()
                    .find(|s| s.name.as_str() == name)
                    .ok_or_else(|| input(format!("--stores: no store named {name:?}")))?;
                ids.push(store.id);
            }
            Some(ids)
        }
        None => None,
    };
    let quiet = match args.quiet.as_deref() {
        None => None,
        Some(quiet) if off(quiet) => Some(None),
        Some(quiet) => {
            let (from, until) = quiet
                .split_once('-')
                .ok_or_else(|| input(format!("--quiet: {quiet:?} is not like 22:00-08:00")))?;
            Some(Some(QuietHours {
                from: time_of_day(from, "--quiet")?,
                until: time_of_day(until, "--quiet")?,
            }))
        }
    };
    let daily_at = match args.daily.as_deref() {
        None => None,
        Some(daily) if off(daily) => Some(None),
        Some(daily) => Some(Some(time_of_day(daily, "--daily")?)),
    };
    Ok(RoutingChange {
        min_severity: args
            .min_severity
            .as_deref()
            .map(|s| Severity::parse(s).map_err(|e| input(format!("--min-severity: {e}"))))
            .transpose()?,
        rules: args
            .rules
            .as_deref()
            .map(|r| list_of(r, "--rules", RuleKind::parse))
            .transpose()?,
        topics: args
            .topics
            .as_deref()
            .map(|t| list_of(t, "--topics", Topic::parse))
            .transpose()?,
        stores,
        quiet,
        daily_at,
        language: args.lang.as_deref().map(parse_language).transpose()?,
        time_zone: args.tz.clone(),
    })
}

/// A secret flag's value: `-` reads the next line of standard input.
fn secret_value(
    value: Option<String>,
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
) -> anyhow::Result<Option<String>> {
    match value.as_deref() {
        Some("-") => {
            let line = lines
                .next()
                .transpose()
                .context("reading a secret from standard input")?
                .ok_or_else(|| input("a secret given as - was not on standard input".into()))?;
            Ok(Some(line.trim().to_owned()))
        }
        _ => Ok(value),
    }
}

async fn add(
    db: &SqlDatabase,
    args: ChannelAddArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let kind = ChannelKind::parse(&args.kind).map_err(|e| input(format!("CHANNEL: {e}")))?;
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let url = secret_value(args.url, &mut lines)?;
    let token = secret_value(args.token, &mut lines)?;
    let secret = secret_value(args.secret, &mut lines)?;
    let store = match &args.store {
        Some(name) => Some(
            app::chosen_stores(db, Some(name))
                .await?
                .first()
                .map(|s| s.id)
                .ok_or_else(|| input(format!("--store: no store named {name:?}")))?,
        ),
        None => None,
    };
    let change = routing_change(db, &args.routing).await?;
    let added = use_case::add_destination(
        db,
        AddDestination {
            name: args.name.clone(),
            kind,
            setup: Setup {
                url,
                token,
                signing_secret: secret,
                chat_id: args.chat_id,
                thread_id: args.thread_id,
                from: args.from,
                to: args.to,
                ca_file: args.ca_file,
            },
            store,
            routing: change.applied_to(&Routing::default()),
            language: change.language,
            time_zone: change.time_zone,
        },
        &app::console(),
        SystemClock.now(),
    )
    .await?;
    let secret = added
        .new_secret
        .as_ref()
        .map(|s| s.expose_secret().to_owned());
    if json {
        output::print_json(
            out,
            &json!({"id": added.id.0, "name": args.name, "channel": kind.as_str(), "signing_secret": secret}),
        )?;
    } else {
        writeln!(out, "added {} ({kind}), id {}", args.name, added.id.0)?;
        if let Some(secret) = secret {
            writeln!(
                out,
                "signing secret (shown once; the receiver verifies webhook-signature with it): {secret}"
            )?;
        }
        writeln!(out, "try it: ozontrack channels test {}", args.name)?;
    }
    Ok(())
}

async fn list(
    db: &SqlDatabase,
    args: &ListArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let views = use_case::destinations(db).await?;
    let stores = db.stores().await?;
    let store_names = |ids: &[ozontrack_domain::StoreId]| -> Vec<String> {
        ids.iter()
            .filter_map(|id| stores.iter().find(|s| s.id == *id))
            .map(|s| s.name.as_str().to_owned())
            .collect()
    };
    if json {
        let list: Vec<_> = views
            .iter()
            .map(|v| {
                let d = &v.record.destination;
                json!({
                    "id": d.id.0,
                    "name": d.name,
                    "channel": d.kind.as_str(),
                    "address": v.shown,
                    "state": d.state.as_str(),
                    "disabled_because": d.disabled.map(DisableCause::as_str),
                    "language": d.language.as_str(),
                    "time_zone": d.time_zone.name(),
                    "routing": d.routing,
                    "stores": store_names(&d.routing.stores),
                    "messages": {"waiting": v.counts.pending, "sent": v.counts.sent,
                                 "coalesced": v.counts.coalesced, "failed": v.counts.dead,
                                 "skipped": v.counts.skipped},
                })
            })
            .collect();
        output::print_json(out, &json!({ "destinations": list }))?;
        return Ok(());
    }
    let (tr, _) = output::reader(args.lang.as_deref(), &stores)?;
    if views.is_empty() {
        writeln!(out, "{}", tr.t("destination-none"))?;
        return Ok(());
    }
    let mut table = output::records_table(
        &tr,
        &[
            "destination-name",
            "destination-kind",
            "destination-address",
            "destination-state",
            "destination-sent",
            "destination-waiting",
            "destination-failed",
        ],
    );
    for v in &views {
        let d = &v.record.destination;
        let state = match d.disabled {
            Some(cause) => format!(
                "{}: {}",
                tr.destination_state(d.state),
                tr.disable_cause(cause)
            ),
            None => tr.destination_state(d.state),
        };
        table.add_row(vec![
            d.id.0.to_string(),
            d.name.clone(),
            tr.channel(d.kind),
            v.shown.clone(),
            state,
            (v.counts.sent + v.counts.coalesced).to_string(),
            v.counts.pending.to_string(),
            v.counts.dead.to_string(),
        ]);
    }
    output::print_table(out, &table)?;
    Ok(())
}

fn dispatcher(
    settings: &Settings,
    opened: &app::Opened,
    rules: ozontrack_engine::RulesBook,
) -> anyhow::Result<Dispatcher<SqlDatabase>> {
    let clock = Arc::clone(&opened.clock);
    Ok(Dispatcher::new(
        opened.store.clone(),
        Arc::clone(&clock),
        // Rate limits and retries protect real services: they run on real time.
        Arc::new(SystemClock),
        rules,
        settings.dispatch_settings(),
        app::owner(clock.as_ref()),
    )?)
}

/// Enqueues a test message and serves the destination now (or, when a running server's
/// dispatcher holds it, waits for that one), then reports what came of it.
async fn test(
    settings: &Settings,
    opened: &app::Opened,
    name: &str,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let db = &opened.store;
    let record = use_case::find_destination(db, name).await?;
    let id = record.destination.id;
    let message = use_case::enqueue_test(db, id, &app::console(), SystemClock.now()).await?;
    let rules = crate::commands::rules::rules_book(settings, &db.stores().await?)?;
    let dispatcher = dispatcher(settings, opened, rules)?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let (message, attempts) = loop {
        // Another dispatcher holding the destination sends it instead.
        let _ = dispatcher.serve_now(id).await?;
        let (m, attempts) = use_case::message(db, message).await?;
        if m.state != MessageState::Pending
            || m.last_outcome.is_some()
            || std::time::Instant::now() > deadline
        {
            break (m, attempts);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let record = db.destination(id).await?.unwrap_or(record);
    let tr = Tr::new(record.destination.language);
    if json {
        output::print_json(
            out,
            &json!({
                "destination": record.destination.name,
                "message": message.id,
                "state": message.state.as_str(),
                "outcome": message.last_outcome.map(AttemptOutcome::as_str),
                "code": message.last_code,
                "attempts": attempts.len(),
                "destination_state": record.destination.state.as_str(),
                "disabled_because": record.destination.disabled.map(DisableCause::as_str),
            }),
        )?;
    } else {
        writeln!(
            out,
            "{}: {}{}",
            record.destination.name,
            tr.message_state(message.state),
            message
                .last_code
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        )?;
        if let Some(cause) = record.destination.disabled {
            writeln!(out, "{}", tr.disable_cause(cause))?;
        }
    }
    if message.state == MessageState::Sent {
        Ok(())
    } else {
        Err(anyhow::anyhow!(
            "the test message to {} was not delivered: {}",
            record.destination.name,
            message
                .last_code
                .unwrap_or_else(|| message.state.to_string())
        ))
    }
}

pub(crate) async fn notify(
    settings: &Settings,
    command: NotifyCommand,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let opened = app::open(settings, KeyMode::Existing).await?;
    let db = &opened.store;
    let result = match command {
        NotifyCommand::Log(args) => log(db, &args, json, out).await,
        NotifyCommand::Retry(NotifyRetryArgs { id: Some(id), .. }) => {
            use_case::retry(db, id, &app::console(), SystemClock.now()).await?;
            if json {
                output::print_json(out, &json!({"message": id, "state": "pending"}))?;
            } else {
                writeln!(out, "message {id} is queued again")?;
            }
            Ok(())
        }
        NotifyCommand::Retry(NotifyRetryArgs { id: None, .. }) => {
            let moved = use_case::send_waiting(db, &app::console(), SystemClock.now()).await?;
            if json {
                output::print_json(out, &json!({"due_now": moved}))?;
            } else {
                writeln!(out, "{moved} waiting messages are due now")?;
            }
            Ok(())
        }
        NotifyCommand::Preview(args) => preview(&opened, &args, json, out).await,
        NotifyCommand::Template(command) => template(db, command, json, out).await,
        NotifyCommand::Run => run(settings, &opened, json, out).await,
    };
    db.close().await;
    result
}

/// A message's first line in `tr`'s language (no links: the log is not the message).
fn title(message: &OutboxMessage, tr: &Tr, tz: chrono_tz::Tz, audience: Audience) -> String {
    ozontrack_notify::render(
        &message.notice,
        audience,
        tr.language(),
        tz,
        &ozontrack_notify::Extras::default(),
        None,
        &[],
    )
    .map(|r| r.title)
    .unwrap_or_else(|_| tr.topic(message.notice.topic()))
}

async fn log(
    db: &SqlDatabase,
    args: &NotifyLogArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let destination = match &args.channel {
        Some(name) => Some(use_case::find_destination(db, name).await?.destination.id),
        None => None,
    };
    let messages = db
        .outbox(&OutboxFilter {
            destination,
            states: if args.failed {
                vec![MessageState::Dead]
            } else {
                Vec::new()
            },
            before: None,
            limit: args.limit.clamp(1, 1000),
        })
        .await?;
    let destinations = db.destinations().await?;
    let asked = args.lang.as_deref().map(parse_language).transpose()?;
    let rows: Vec<_> = messages
        .iter()
        .map(|m| {
            let d = destinations
                .iter()
                .find(|d| d.destination.id == m.destination)
                .map(|d| &d.destination);
            // The message's own words as its destination received them.
            let language = asked.or(d.map(|d| d.language)).unwrap_or_default();
            let tz = d.map_or(chrono_tz::UTC, |d| d.time_zone);
            let audience = d.map_or(Audience::Seller, |d| d.kind.audience());
            (m, d, title(m, &Tr::new(language), tz, audience))
        })
        .collect();
    if json {
        let list: Vec<_> = rows
            .iter()
            .map(|(m, d, title)| {
                json!({
                    "id": m.id,
                    "destination": d.map(|d| d.name.clone()),
                    "topic": m.notice.topic().as_str(),
                    "state": m.state.as_str(),
                    "attempts": m.attempts,
                    "created_at": output::time(m.created_at),
                    "sent_at": m.sent_at.map(output::time),
                    "last_outcome": m.last_outcome.map(AttemptOutcome::as_str),
                    "last_code": m.last_code,
                    "digest": m.coalesced_into,
                    "title": title,
                })
            })
            .collect();
        output::print_json(out, &json!({ "messages": list }))?;
        return Ok(());
    }
    // The table's own words and times are the reader's, whatever language each message went
    // out in.
    let (tr, tz) = output::reader(args.lang.as_deref(), &db.stores().await?)?;
    if rows.is_empty() {
        writeln!(out, "{}", tr.t("outbox-empty"))?;
        return Ok(());
    }
    let mut table = output::records_table(
        &tr,
        &[
            "col-created",
            "col-destination",
            "col-topic",
            "destination-state",
            "col-attempts",
            "col-last-outcome",
            "col-message",
        ],
    );
    for (m, d, title) in &rows {
        table.add_row(vec![
            m.id.to_string(),
            tr.time(m.created_at, tz),
            d.map(|d| d.name.clone()).unwrap_or_default(),
            tr.topic(m.notice.topic()),
            tr.message_state(m.state),
            m.attempts.to_string(),
            match (&m.last_outcome, &m.last_code) {
                (Some(o), Some(c)) => format!("{} ({c})", tr.outcome(*o)),
                (Some(o), None) => tr.outcome(*o),
                _ => String::new(),
            },
            title.clone(),
        ]);
    }
    output::print_table(out, &table)?;
    Ok(())
}

async fn preview(
    opened: &app::Opened,
    args: &NotifyPreviewArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let db = &opened.store;
    let topic = Topic::parse(&args.topic).map_err(|e| input(format!("--topic: {e}")))?;
    let audience =
        Audience::parse(&args.audience).map_err(|e| input(format!("--audience: {e}")))?;
    let stores = db.stores().await?;
    let posting = match &args.posting {
        Some(number) => {
            let (store, id) = ozontrack_engine::trail::find_by_any_number(db, &stores, number)
                .await?
                .ok_or_else(|| input(format!("--posting: no posting {number:?}")))?;
            Some((id, store.id, store))
        }
        None => None,
    };
    let language = match &args.lang {
        Some(l) => parse_language(l)?,
        None if audience == Audience::Buyer => Language::Ru,
        None => posting.map_or(Language::Zh, |(_, _, s)| s.settings.language),
    };
    let tz = match &args.tz {
        Some(name) => name
            .parse()
            .map_err(|_| input(format!("--tz: unknown time zone {name:?}")))?,
        None => posting.map_or(chrono_tz::Asia::Shanghai, |(_, _, s)| {
            zone(&s.settings.timezone)
        }),
    };
    let rendered = use_case::preview(
        db,
        posting.map(|(id, store, _)| (id, store)),
        topic,
        audience,
        language,
        tz,
        opened.clock.now(),
    )
    .await?;
    if json {
        output::print_json(
            out,
            &json!({"title": rendered.title, "lines": rendered.lines}),
        )?;
    } else {
        writeln!(out, "{}", rendered.plain())?;
    }
    Ok(())
}

fn template_key(args: &TemplateArgs) -> anyhow::Result<(Topic, Audience, Language)> {
    Ok((
        Topic::parse(&args.topic).map_err(|e| input(format!("--topic: {e}")))?,
        Audience::parse(&args.audience).map_err(|e| input(format!("--audience: {e}")))?,
        parse_language(&args.lang)?,
    ))
}

async fn template(
    db: &SqlDatabase,
    command: TemplateCommand,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match command {
        TemplateCommand::Show(args) => {
            let (topic, audience, language) = template_key(&args)?;
            let own = db
                .templates()
                .await?
                .into_iter()
                .find(|t| t.topic == topic && t.audience == audience && t.language == language);
            let (body, source) = match &own {
                Some(t) => (t.body.as_str(), "seller"),
                None => (
                    ozontrack_notify::render::default_template(topic, audience),
                    "built-in",
                ),
            };
            if json {
                output::print_json(out, &json!({"source": source, "template": body}))?;
            } else {
                write!(out, "{body}")?;
            }
            Ok(())
        }
        TemplateCommand::Set(args) => {
            let (topic, audience, language) = template_key(&args.which)?;
            let body = std::fs::read_to_string(&args.file)
                .with_context(|| format!("cannot read {}", args.file.display()))?;
            use_case::set_template(
                db,
                topic,
                audience,
                language,
                &body,
                &app::console(),
                SystemClock.now(),
            )
            .await
            .with_context(|| args.file.display().to_string())?;
            done(out, json, "template set", topic.as_str())
        }
        TemplateCommand::Reset(args) => {
            let (topic, audience, language) = template_key(&args)?;
            db.remove_template(topic, audience, language).await?;
            done(out, json, "template reset", topic.as_str())
        }
    }
}

/// The dispatcher alone, until Ctrl-C or SIGTERM.
async fn run(
    settings: &Settings,
    opened: &app::Opened,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let rules = crate::commands::rules::rules_book(settings, &opened.store.stores().await?)?;
    let syncer = app::syncer(opened, settings)?;
    let dispatcher = dispatcher(settings, opened, rules)?.with_ozon(Arc::new(syncer));
    let mut supervisor = Supervisor::new(Policy::default());
    supervisor.spawn(dispatcher, Schedule::every(settings.periods().notify));
    if json {
        writeln!(out, "{}", json!({"dispatcher": "running"}))?;
    } else {
        writeln!(out, "dispatcher running; Ctrl-C or SIGTERM stops it")?;
    }
    out.flush()?;
    let failed = supervisor.gave_up();
    let outcome = tokio::select! {
        signal = crate::commands::serve::stop_signal() => signal.context("waiting for Ctrl-C or SIGTERM"),
        () = failed => Err(anyhow::anyhow!("the dispatcher kept panicking and was given up")),
    };
    supervisor.stop().await;
    outcome
}
