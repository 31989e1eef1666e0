//! `ozontrack serve`: the workers and the HTTP server on the real clock (or a sandbox world's,
//! with `--follow-clock`), or one side of them by `--role`, until Ctrl-C or SIGTERM.

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
        feeds: Arc::new(app::feeds(settings)?.sharing_limits(&opened.store)),
        settings: settings.track_settings(),
        webhook_token: settings.carriers.seventeen_track_token.clone(),
        rules: crate::commands::rules::rules_book(settings, &stores)?,
        risk: settings.risk_settings(),
        web: settings.web_settings(),
        dispatch: settings.dispatch_settings(),
        metrics: settings.metrics_exposure(),
        backup: settings.backup_schedule(),
        max_attachment: settings.evidence.max_attachment_bytes(),
    };
    let clock = Arc::clone(&opened.clock);
    let (listener, base_url) = workers::bind(args.listen).await?;
    let running = workers::start(
        opened.store.clone(),
        Arc::clone(&clock),
        settings.sync_settings(),
        tracking,
        app::owner(clock.as_ref()),
        listener,
        settings.periods(),
        args.role.into(),
    )
    .await?;
    let role: ozontrack_server::api::NodeRole = args.role.into();
    // A worker node serves no dashboard to sign in to.
    let dashboard = if role.serves_http() {
        // Sign-ins run on real time, also on a followed world's clock.
        let now = SystemClock.now();
        let secret = ozontrack_engine::access::mint_login_link(&opened.store, None, now).await?;
        Some(format!("{base_url}/login/{secret}"))
    } else {
        None
    };
    if json {
        writeln!(
            out,
            "{}",
            json!({"server": base_url, "role": role.as_str(), "dashboard": dashboard,
                   "database": opened.url.redacted()})
        )?;
    } else {
        match &dashboard {
            Some(dashboard) => {
                writeln!(
                    out,
                    "ozontrack serving {base_url} as {} (dashboard at /, API under /api/v1 and /api/docs, health at /healthz)",
                    role.as_str()
                )?;
                writeln!(
                    out,
                    "dashboard: {dashboard}   (one-time sign-in link, 24 h; `ozontrack users add NAME --role admin --all-stores` for a password)"
                )?;
            }
            None => writeln!(
                out,
                "ozontrack workers running; health at {base_url}/healthz and {base_url}/readyz"
            )?,
        }
        writeln!(out, "database: {}; Ctrl-C or SIGTERM stops it", opened.url)?;
    }
    // Read once at start: a server setting that will hurt is said where the operator looks.
    match opened.store.advice().await {
        Ok(advice) => {
            for advice in advice {
                tracing::warn!(%advice, "database server setting");
                if !json {
                    writeln!(out, "warning: {advice}")?;
                }
            }
        }
        Err(e) => tracing::debug!(error = %e, "could not read the database server's settings"),
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
