//! `ozontrack tracking-numbers upload FILE.csv`: check every row locally, then send the good
//! ones 20 per call and write one result per row next to the input.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use ozontrack_engine::upload::{self, RowResult, UploadError, UploadOptions};
use serde_json::json;

use crate::app::{self, KeyMode};
use crate::cli::UploadArgs;
use crate::errors::InputError;
use crate::output;
use crate::settings::Settings;

/// `orders.csv` → `orders.results.csv`, beside it.
fn results_path(input: &Path) -> PathBuf {
    let stem = input.file_stem().map_or_else(
        || "tracking-numbers".into(),
        |s| s.to_string_lossy().into_owned(),
    );
    input.with_file_name(format!("{stem}.results.csv"))
}

pub(crate) async fn upload(
    settings: &Settings,
    args: &UploadArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let file = args.file.display().to_string();
    let bytes = std::fs::read(&args.file)
        .map_err(|e| InputError::new(format!("cannot read {file}: {e}")))?;
    // A file that is not such a CSV at all is refused before the database is opened.
    upload::parse_csv(&bytes).map_err(|e| InputError::new(format!("{file}: {e}")))?;

    let opened = app::open(settings, KeyMode::Existing).await?;
    let db = &opened.store;
    let stores = app::chosen_stores(db, args.store.as_deref()).await?;
    let [record] = stores.as_slice() else {
        return Err(InputError::new(
            "--store: several stores are connected; name the one these postings belong to",
        )
        .into());
    };
    let syncer = app::syncer(&opened, settings)?;
    let options = UploadOptions {
        dry_run: args.dry_run,
        skip_invalid: args.skip_invalid,
    };
    let report = upload::upload(
        db,
        Some(&syncer),
        record,
        &bytes,
        options,
        &app::console(),
        opened.clock.now(),
    )
    .await;
    opened.store.close().await;
    let report = match report {
        Ok(report) => report,
        Err(UploadError::Unreadable(e)) => {
            return Err(InputError::new(format!("{file}: {e}")).into());
        }
        Err(UploadError::InvalidRows { problems, valid }) => {
            return Err(InputError::new(format!(
                "{} invalid row(s), nothing was sent (use --skip-invalid to send the {valid} valid ones): {}",
                problems.len(),
                output::first_of(problems.iter().map(|p| format!("{file}: {p}")))
            ))
            .into());
        }
        Err(UploadError::Failed(e)) => return Err(e.into()),
    };

    let written = if report.dry_run {
        None
    } else {
        let path = results_path(&args.file);
        write_results(&path, &report.results, &report.problems)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Some(path)
    };
    let sent_ok = report.accepted();
    let refused = report.results.len() - sent_ok;
    if json {
        output::print_json(
            out,
            &json!({
                "rows": report.rows,
                "valid": report.valid,
                "invalid": report.problems.iter().map(|p| json!({"line": p.line, "column": p.column, "message": p.message})).collect::<Vec<_>>(),
                "warnings": report.warnings.iter().map(|p| json!({"line": p.line, "column": p.column, "message": p.message})).collect::<Vec<_>>(),
                "dry_run": report.dry_run,
                "accepted": sent_ok,
                "refused": refused,
                "results_file": written.as_ref().map(|p| p.display().to_string()),
            }),
        )?;
    } else if report.dry_run {
        writeln!(
            out,
            "{file}: {} rows, {} valid, {} invalid; nothing sent (--dry-run)",
            report.rows,
            report.valid,
            report.problems.len()
        )?;
    } else {
        writeln!(
            out,
            "{file}: Ozon accepted {sent_ok}, refused {refused}, skipped {} invalid; results in {}",
            report.problems.len(),
            written.map_or_else(String::new, |p| p.display().to_string())
        )?;
    }
    if !json {
        for warning in &report.warnings {
            writeln!(out, "{file}: warning: {warning}")?;
        }
    }
    if refused > 0 {
        anyhow::bail!("Ozon refused {refused} tracking number(s); see the results file");
    }
    Ok(())
}

/// The results file: written to a temporary file and renamed, so it is never half-written.
fn write_results(
    path: &Path,
    results: &[RowResult],
    problems: &[upload::RowProblem],
) -> anyhow::Result<()> {
    let mut rows: Vec<(u64, Vec<String>)> = results
        .iter()
        .map(|r| {
            let result = if r.ok { "ok" } else { "refused" };
            (
                r.line,
                vec![
                    r.line.to_string(),
                    r.posting.clone(),
                    r.tracking.clone(),
                    result.into(),
                    r.error.clone(),
                ],
            )
        })
        .collect();
    rows.extend(problems.iter().map(|p| {
        (
            p.line,
            vec![
                p.line.to_string(),
                String::new(),
                String::new(),
                "invalid".into(),
                format!("{}: {}", p.column, p.message),
            ],
        )
    }));
    rows.sort_by_key(|(line, _)| *line);
    let temporary = path.with_extension("csv.partial");
    {
        let mut writer = csv::Writer::from_path(&temporary)?;
        writer.write_record([
            "line",
            "posting_number",
            "tracking_number",
            "result",
            "error",
        ])?;
        for (_, row) in &rows {
            writer.write_record(row)?;
        }
        writer.flush()?;
    }
    std::fs::rename(&temporary, path)?;
    Ok(())
}
