//! `ozontrack serve` (the workers and the HTTP server on the real clock, until Ctrl-C),
//! `ozontrack tokens create|list|revoke` (the API's bearer tokens), and the dashboard's ways in:
//! `ozontrack users add` (passwords) and `ozontrack login-link` (one-time links).

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use ozontrack_db::prelude::*;
use ozontrack_domain::{Clock, SystemClock};
use serde_json::json;

use crate::app::{self, KeyMode};
use crate::cli::{LoginLinkArgs, ServeArgs, TokensCommand, UsersCommand};
use crate::commands::workers::{self, Setup};
use crate::errors::InputError;
use crate::output;
use crate::settings::Settings;

pub(crate) async fn serve(
    settings: &Settings,
    args: &ServeArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let opened = app::open(settings, KeyMode::Existing).await?;
    let stores = opened.store.stores().await?;
    let tracking = Setup {
        feeds: Arc::new(app::feeds(settings)?),
        settings: settings.track_settings(),
        webhook_token: settings.carriers.seventeen_track_token.clone(),
        rules: crate::commands::rules::rules_book(settings, &stores)?,
        risk: settings.risk_settings(),
        web: settings.web_settings(),
        dispatch: settings.dispatch_settings(),
        metrics: settings.metrics_exposure(),
        backup: settings.backup_schedule(),
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (listener, base_url) = workers::bind(args.listen).await?;
    let running = workers::start(
        opened.store.clone(),
        Arc::clone(&clock),
        settings.sync_settings(),
        tracking,
        app::owner(clock.as_ref()),
        listener,
        settings.periods(),
    )
    .await?;
    let dashboard = format!(
        "{base_url}/login/{}",
        ozontrack_engine::access::mint_login_link(&opened.store, clock.now()).await?
    );
    if json {
        writeln!(
            out,
            "{}",
            json!({"server": base_url, "dashboard": dashboard, "database": opened.url.redacted()})
        )?;
    } else {
        writeln!(
            out,
            "ozontrack serving {base_url} (dashboard at /, API under /api/v1 and /api/docs, health at /healthz)"
        )?;
        writeln!(
            out,
            "dashboard: {dashboard}   (one-time sign-in link, 24 h; `ozontrack users add NAME` for a password)"
        )?;
        writeln!(out, "database: {}; Ctrl-C or SIGTERM stops it", opened.url)?;
    }
    out.flush()?;
    let failed = running.failed();
    let outcome = tokio::select! {
        signal = stop_signal() => signal.context("waiting for Ctrl-C or SIGTERM"),
        () = failed => Err(anyhow::anyhow!(
            "a worker kept panicking and was given up (see the log); stopping"
        )),
    };
    running.stop().await;
    opened.store.close().await;
    outcome
}

/// Ctrl-C, or SIGTERM (what process managers send) where there is one.
pub(crate) async fn stop_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

pub(crate) async fn tokens(
    settings: &Settings,
    command: &TokensCommand,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let opened = app::open(settings, KeyMode::Existing).await?;
    let store = opened.store;
    let now = SystemClock.now();
    let result = match command {
        TokensCommand::Create(args) => {
            if args.name.trim().is_empty() {
                return Err(InputError::new("--name: say what the token is for").into());
            }
            let mut ids = Vec::new();
            for name in &args.stores {
                ids.extend(
                    app::chosen_stores(&store, Some(name))
                        .await?
                        .into_iter()
                        .map(|s| s.id),
                );
            }
            let (secret, new) =
                ozontrack_engine::access::mint_token(args.name.trim(), args.read_only, ids);
            let record = store.create_token(&new, now).await?;
            if json {
                output::print_json(
                    out,
                    &json!({"id": record.id, "name": record.name, "token": secret}),
                )?;
            } else {
                writeln!(out, "token {} ({}): {secret}", record.id, record.name)?;
                writeln!(out, "It is shown only now; ozontrack keeps only its hash.")?;
            }
            Ok(())
        }
        TokensCommand::List => {
            let tokens = store.tokens().await?;
            let names = store.stores().await?;
            let scope = |t: &ozontrack_db::TokenRecord| {
                if t.stores.is_empty() {
                    "every store".to_owned()
                } else {
                    t.stores
                        .iter()
                        .filter_map(|id| names.iter().find(|s| s.id == *id))
                        .map(|s| s.name.as_str().to_owned())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            if json {
                let list: Vec<_> = tokens
                    .iter()
                    .map(|t| {
                        json!({"id": t.id, "name": t.name, "prefix": t.prefix, "read_only": t.read_only,
                               "stores": scope(t), "created_at": output::time(t.created_at),
                               "revoked_at": t.revoked_at.map(output::time)})
                    })
                    .collect();
                output::print_json(out, &json!({"tokens": list}))?;
            } else {
                let mut table =
                    output::table(&["id", "name", "prefix", "access", "stores", "revoked"]);
                for t in &tokens {
                    table.add_row(vec![
                        t.id.to_string(),
                        t.name.clone(),
                        format!("{}…", t.prefix),
                        if t.read_only { "read" } else { "read, write" }.to_owned(),
                        scope(t),
                        t.revoked_at.map(output::time).unwrap_or_default(),
                    ]);
                }
                output::print_table(out, &table)?;
            }
            Ok(())
        }
        TokensCommand::Revoke(args) => {
            if store.revoke_token(args.id, now).await? {
                writeln!(out, "token {} revoked", args.id)?;
                Ok(())
            } else {
                Err(InputError::new(format!(
                    "no live token with id {} (see `ozontrack tokens list`)",
                    args.id
                ))
                .into())
            }
        }
    };
    store.close().await;
    result
}

pub(crate) async fn users(
    settings: &Settings,
    command: &UsersCommand,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let UsersCommand::Add(args) = command;
    let name = args.name.trim();
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return Err(InputError::new("NAME: a user name is one word").into());
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.chars().count() < 10 {
        return Err(
            InputError::new("standard input: the password must be at least 10 characters").into(),
        );
    }
    let hash = ozontrack_engine::access::hash_password(password.to_owned())
        .await
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
    let opened = app::open(settings, KeyMode::Existing).await?;
    opened
        .store
        .set_dashboard_user(name, &hash, SystemClock.now())
        .await?;
    opened.store.close().await;
    if json {
        output::print_json(out, &json!({"user": name}))?;
    } else {
        writeln!(out, "dashboard user {name}: password set")?;
    }
    Ok(())
}

pub(crate) async fn login_link(
    settings: &Settings,
    args: &LoginLinkArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let base = args.base_url.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(InputError::new(format!(
            "--base-url: {base:?} is not an http:// or https:// address"
        ))
        .into());
    }
    let opened = app::open(settings, KeyMode::Existing).await?;
    let secret =
        ozontrack_engine::access::mint_login_link(&opened.store, SystemClock.now()).await?;
    opened.store.close().await;
    let link = format!("{base}/login/{secret}");
    if json {
        output::print_json(out, &json!({"link": link}))?;
    } else {
        writeln!(out, "{link}")?;
        writeln!(out, "It signs one browser in once, within 24 hours.")?;
    }
    Ok(())
}
