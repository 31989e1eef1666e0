//! `ozontrack serve` (the workers and the HTTP server on the real clock, until Ctrl-C) and
//! `ozontrack tokens create|list|revoke` (the API's bearer tokens).

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use ozontrack_domain::{Clock, SystemClock};
use ozontrack_store::Store;
use serde_json::json;

use crate::app::{self, KeyMode};
use crate::cli::{ServeArgs, TokensCommand};
use crate::commands::workers::{self, Tracking};
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
    let tracking = Tracking {
        feeds: Arc::new(app::feeds(settings)?),
        settings: settings.track_settings(),
        webhook_token: settings.carriers.seventeen_track_token.clone(),
        rules: crate::commands::rules::rules_book(settings, &stores)?,
        risk: settings.risk_settings(),
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
        std::time::Duration::from_secs(settings.tracking.interval_secs.max(1)),
    )
    .await?;
    if json {
        writeln!(
            out,
            "{}",
            json!({"server": base_url, "database": opened.url.redacted()})
        )?;
    } else {
        writeln!(
            out,
            "ozontrack serving {base_url} (API under /api/v1, health at /healthz)"
        )?;
        writeln!(out, "database: {}; Ctrl-C stops it", opened.url)?;
    }
    out.flush()?;
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    running.stop().await;
    opened.store.close().await;
    Ok(())
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
                ozontrack_server::api::mint_token(args.name.trim(), args.read_only, ids);
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
            let scope = |t: &ozontrack_store::TokenRecord| {
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
