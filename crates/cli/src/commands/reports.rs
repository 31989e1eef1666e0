//! `export postings`, `import postings`, `backup` and `restore`: files in and out of ozontrack.
//! Each parses its arguments, calls one engine function and says what happened.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ozontrack_db::DatabaseUrl;
use ozontrack_domain::finding::Severity;
use ozontrack_domain::{Clock as _, SystemClock};
use ozontrack_domain::{Language, Scheme};
use ozontrack_engine::estimate::EstimateBook;
use ozontrack_engine::export::{self, ExportSpec, Exporter, FileSpec, Filters, export_to_file};
use ozontrack_i18n::Tr;
use ozontrack_reports::{ReadOptions, ReportError};
use serde_json::json;

use crate::app::{self, KeyMode};
use crate::cli::{BackupArgs, BackupCommand, ExportPostingsArgs, ImportPostingsArgs, RestoreArgs};
use crate::errors::InputError;
use crate::output;
use crate::settings::Settings;

fn input(message: impl Into<String>) -> anyhow::Error {
    InputError::new(message.into()).into()
}

pub(crate) async fn export(
    settings: &Settings,
    args: &ExportPostingsArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mode = args
        .mode
        .as_deref()
        .map(Scheme::parse)
        .transpose()
        .map_err(|e| input(format!("--mode: {e}")))?;
    let risk = args
        .risk
        .as_deref()
        .map(Severity::parse)
        .transpose()
        .map_err(|e| input(format!("--risk: {e}")))?;
    // Without --format, an --out named .xlsx says it.
    let format = args.format.as_deref().or_else(|| {
        args.out
            .as_ref()
            .filter(|p| p.extension().is_some_and(|e| e == "xlsx"))
            .map(|_| "xlsx")
    });
    let columns = export::columns(args.columns.as_deref()).map_err(|e| input(format!("--{e}")))?;

    let opened = app::open(settings, KeyMode::Existing).await?;
    let db = opened.store.clone();
    let stores = app::chosen_stores(&db, args.store.as_deref()).await?;
    let language = match &args.lang {
        Some(l) => Language::parse(l).map_err(|e| input(format!("--lang: {e}")))?,
        None => stores.first().map_or(Language::Zh, |s| s.settings.language),
    };
    let file = FileSpec::parse(format, args.profile.as_deref(), args.split, language)
        .map_err(|e| input(format!("--{e}")))?;
    let filters = Filters {
        status: args.status.clone(),
        mode,
        carrier: args.carrier.clone(),
        risk,
        from: args.from.clone(),
        to: args.to.clone(),
        text: args.q.clone(),
    };
    let query = filters
        .query(stores.iter().map(|s| s.id).collect())
        .map_err(|e| input(e.to_string()))?;
    let now = opened.clock.now();
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(file.file_name(now)));
    let url = settings.notify.public_url.trim();
    let spec = ExportSpec {
        query,
        columns,
        language,
        public_url: (!url.is_empty()).then(|| url.to_owned()),
    };
    let estimates = Arc::new(EstimateBook::default());
    let exporter = Exporter::new(db.clone(), &stores, &spec, Some(estimates));
    let bar = progress_bar(json);
    let started = std::time::Instant::now();
    let exported = export_to_file(exporter, &spec, &file, &path, now, |rows| {
        bar.set_position(rows);
    })
    .await;
    bar.finish_and_clear();
    opened.store.close().await;
    let exported = exported.with_context(|| format!("cannot export to {}", path.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    if json {
        output::print_json(
            out,
            &json!({
                "file": exported.path.display().to_string(),
                "rows": exported.rows,
                "format": file.format.extension(),
                "profile": file.profile.as_str(),
                "seconds": seconds,
            }),
        )?;
    } else {
        writeln!(
            out,
            "{}: {} postings ({}, {} profile) in {seconds:.1} s",
            exported.path.display(),
            exported.rows,
            file.format.extension(),
            file.profile.as_str()
        )?;
    }
    Ok(())
}

/// Rows written and their rate on a terminal; nothing in a pipe or with --json.
fn progress_bar(json: bool) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if json || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos} rows, {per_sec} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

pub(crate) async fn import(
    settings: &Settings,
    args: &ImportPostingsArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let file = args.file.display().to_string();
    let bytes = std::fs::read(&args.file).map_err(|e| input(format!("cannot read {file}: {e}")))?;
    let options = ReadOptions::parse(args.zone.as_deref(), args.mode.as_deref())
        .map_err(|e| input(format!("--{e}")))?;
    let language = args
        .lang
        .as_deref()
        .map(Language::parse)
        .transpose()
        .map_err(|e| input(format!("--lang: {e}")))?;
    let opened = app::open(settings, KeyMode::Existing).await?;
    let db = &opened.store;
    let stores = app::chosen_stores(db, Some(&args.store)).await?;
    let [store] = stores.as_slice() else {
        return Err(input("--store: name one store"));
    };
    let tr = Tr::new(language.unwrap_or(store.settings.language));
    let name = args
        .file
        .file_name()
        .map_or_else(|| file.clone(), |n| n.to_string_lossy().into_owned());
    let outcome = ozontrack_engine::import::import_postings(
        db,
        store,
        &name,
        bytes,
        options,
        args.dry_run,
        &crate::app::console(),
        opened.clock.now(),
    )
    .await;
    opened.store.close().await;
    let outcome = match outcome {
        Ok(o) => o,
        Err(ozontrack_engine::Error::Report(ReportError::Problems(problems))) => {
            return Err(input(format!(
                "{} {}",
                tr.n("import-problems", problems.len() as u64),
                output::first_of(problems.iter().map(|p| p.render(&tr)))
            )));
        }
        Err(e) => return Err(e.into()),
    };
    if json {
        output::print_json(
            out,
            &json!({
                "mode": outcome.scheme.as_str(),
                "rows": outcome.rows,
                "postings": outcome.postings,
                "products": outcome.products,
                "new": outcome.new,
                "updated": outcome.updated,
                "unchanged": outcome.unchanged,
                "ignored_columns": outcome.ignored_columns,
                "dry_run": outcome.dry_run,
            }),
        )?;
    } else {
        let verb = if outcome.dry_run {
            "would add"
        } else {
            "added"
        };
        writeln!(
            out,
            "{file}: {} rows, {} {} postings with {} products; {verb} {}, {} {}, {} unchanged{}",
            outcome.rows,
            outcome.postings,
            outcome.scheme.as_str(),
            outcome.products,
            outcome.new,
            if outcome.dry_run {
                "would update"
            } else {
                "updated"
            },
            outcome.updated,
            outcome.unchanged,
            if outcome.dry_run {
                " (--dry-run: nothing written)"
            } else {
                ""
            },
        )?;
    }
    Ok(())
}

pub(crate) async fn backup(
    settings: &Settings,
    args: &BackupArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if let Some(BackupCommand::Verify(file)) = &args.command {
        let manifest = ozontrack_engine::backup::verify(&file.file)
            .await
            .map_err(|e| input(e.to_string()))?;
        let rows: u64 = manifest.tables.values().sum();
        if json {
            output::print_json(
                out,
                &json!({"file": file.file.display().to_string(), "ok": true,
                        "schema_version": manifest.schema_version, "rows": rows,
                        "tables": manifest.tables, "sha256": manifest.sha256}),
            )?;
        } else {
            writeln!(
                out,
                "{}: ok ({} format, schema {}, {rows} rows in {} tables, SHA-256 {})",
                file.file.display(),
                manifest.format,
                manifest.schema_version,
                manifest.tables.len(),
                manifest.sha256
            )?;
        }
        return Ok(());
    }
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| settings.backup.dir.clone());
    let opened = app::open(settings, KeyMode::Existing).await?;
    let taken = ozontrack_engine::backup::take(&opened.store, &dir, SystemClock.now()).await;
    opened.store.close().await;
    let taken = taken.map_err(|e| match e {
        ozontrack_engine::Error::Db(ozontrack_db::DbError::Backup(m)) => input(m),
        other => anyhow::Error::new(other),
    })?;
    let rows: u64 = taken.manifest.tables.values().sum();
    if json {
        output::print_json(
            out,
            &json!({"file": taken.path.display().to_string(), "rows": rows,
                    "bytes": taken.manifest.bytes, "sha256": taken.manifest.sha256,
                    "schema_version": taken.manifest.schema_version}),
        )?;
    } else {
        writeln!(
            out,
            "{}: {rows} rows, {} bytes, SHA-256 {} (manifest beside it); keep the secret key \
             file elsewhere",
            taken.path.display(),
            taken.manifest.bytes,
            taken.manifest.sha256
        )?;
    }
    Ok(())
}

pub(crate) async fn restore(
    settings: &Settings,
    args: &RestoreArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let url = DatabaseUrl::parse(&settings.database.url).context("database.url")?;
    let actor = crate::app::console();
    let restored = ozontrack_engine::backup::restore(
        &url,
        &args.file,
        args.replace,
        &actor,
        SystemClock.now(),
    )
    .await
    .map_err(|e| match e {
        ozontrack_engine::Error::Invalid { .. } | ozontrack_engine::Error::Conflict { .. } => {
            input(e.to_string())
        }
        ozontrack_engine::Error::Db(ozontrack_db::DbError::Backup(m)) => input(m),
        other => anyhow::Error::new(other),
    })?;
    let rows: u64 = restored.tables.values().sum();
    if json {
        output::print_json(
            out,
            &json!({"database": url.redacted(), "rows": rows,
                    "schema_version": restored.schema_version}),
        )?;
    } else {
        writeln!(
            out,
            "{}: restored {rows} rows (schema {}) from {}",
            url.redacted(),
            restored.schema_version,
            args.file.display()
        )?;
    }
    Ok(())
}
