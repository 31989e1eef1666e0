//! `ozontrack serve`: the workers and the HTTP server on the real clock, until Ctrl-C.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use ozontrack_db::prelude::*;
use ozontrack_domain::{Clock, SystemClock};
use serde_json::json;

use crate::app::{self, KeyMode};
use crate::cli::ServeArgs;
use crate::commands::workers::{self, Setup};
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
        ozontrack_engine::access::mint_login_link(&opened.store, None, clock.now()).await?
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
