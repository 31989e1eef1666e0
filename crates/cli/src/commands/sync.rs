//! `ozontrack sync`: fetch postings from Ozon for one store or all, with a progress bar on a
//! terminal and a summary table (or JSON) at the end.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ozontrack_engine::{Progress, SyncReport};
use serde_json::json;

use crate::app::{self, KeyMode};
use crate::cli::SyncArgs;
use crate::output;
use crate::settings::Settings;

pub(crate) async fn sync(
    settings: &Settings,
    args: &SyncArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let opened = app::open(settings, KeyMode::Existing).await?;
    let mut stores = app::chosen_stores(&opened.store, args.store.as_deref()).await?;
    // Stores without API access are filled by imports: "every store" means every store with
    // a key (a store named by --store without one is told why by the syncer).
    if args.store.is_none() {
        stores.retain(|s| s.client_id.is_some());
    }
    let syncer = app::syncer(&opened, settings)?;
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for record in &stores {
        let started = Instant::now();
        let progress = Arc::new(Progress::default());
        let bar = progress_bar(record.name.as_str(), json);
        let ticker = tick(bar.clone(), Arc::clone(&progress));
        let result = syncer.sync_store(record, args.full, progress).await;
        ticker.abort();
        bar.finish_and_clear();
        match result {
            Ok(report) => reports.push((report, started.elapsed())),
            Err(e) => failures.push(format!("{}: {e}", record.name.as_str())),
        }
    }
    opened.store.close().await;
    if json {
        let items: Vec<_> = reports
            .iter()
            .map(|(r, took)| report_json(r, *took))
            .collect();
        output::print_json(out, &json!({"synced": items, "failed": failures}))?;
    } else if !reports.is_empty() {
        let mut table = output::table(&[
            "store",
            "kind",
            "scans",
            "pages",
            "postings",
            "new",
            "status changes",
            "time",
            "rate",
        ]);
        for (r, took) in &reports {
            table.add_row(vec![
                r.store.clone(),
                kind(r).to_owned(),
                r.scans.to_string(),
                r.pages.to_string(),
                r.postings.to_string(),
                r.new_postings.to_string(),
                r.status_events.to_string(),
                format!("{:.1} s", took.as_secs_f64()),
                format!("{:.1} pages/s", rate(r.pages, *took)),
            ]);
        }
        output::print_table(out, &table)?;
    }
    if failures.is_empty() {
        Ok(())
    } else {
        // What was fetched is kept: the next sync resumes where this one stopped.
        anyhow::bail!("sync failed for {}", failures.join("; "))
    }
}

fn kind(r: &SyncReport) -> &'static str {
    match (r.full, r.resumed) {
        (true, false) => "back-fill",
        (true, true) => "back-fill (resumed)",
        (false, false) => "incremental",
        (false, true) => "incremental (resumed)",
    }
}

fn rate(pages: u64, took: Duration) -> f64 {
    let secs = took.as_secs_f64();
    if secs > 0.0 { pages as f64 / secs } else { 0.0 }
}

fn report_json(r: &SyncReport, took: Duration) -> serde_json::Value {
    json!({
        "store": r.store,
        "full": r.full,
        "resumed": r.resumed,
        "scans": r.scans,
        "pages": r.pages,
        "postings": r.postings,
        "new_postings": r.new_postings,
        "status_events": r.status_events,
        "skipped": r.skipped,
        "synced_until": output::time(r.watermark),
        "seconds": took.as_secs_f64(),
    })
}

/// A bar on a terminal's stderr; nothing when stderr is not a terminal or output is JSON.
fn progress_bar(store: &str, json: bool) -> ProgressBar {
    let bar = ProgressBar::new(0);
    if json || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    // The template is a constant; it parses.
    if let Ok(style) =
        ProgressStyle::with_template("{prefix} [{bar:30}] scans {pos}/{len}  {msg}  {elapsed}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(store.to_owned());
    bar
}

fn tick(bar: ProgressBar, progress: Arc<Progress>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let started = Instant::now();
        loop {
            let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
            bar.set_length(get(&progress.scans_total));
            bar.set_position(get(&progress.scans_done));
            let pages = get(&progress.pages);
            bar.set_message(format!(
                "{} postings, {pages} pages, {:.1} pages/s",
                get(&progress.postings),
                rate(pages, started.elapsed())
            ));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
}
