//! `evidence build|attach|verify`: a posting's dispute evidence pack, the seller's files for
//! it, and checking a pack someone sends back.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use ozontrack_db::Stores as _;
use ozontrack_engine::estimate::EstimateBook;
use ozontrack_engine::evidence::{self, NewFile};
use ozontrack_reports::AtomicFile;
use serde_json::json;

use crate::app::{self, KeyMode};
use crate::cli::{EvidenceAttachArgs, EvidenceBuildArgs, EvidenceCommand, EvidenceVerifyArgs};
use crate::commands::track::find_posting;
use crate::errors::InputError;
use crate::output;
use crate::settings::Settings;

pub(crate) async fn evidence(
    settings: &Settings,
    command: &EvidenceCommand,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match command {
        EvidenceCommand::Build(args) => build(settings, args, json, out).await,
        EvidenceCommand::Attach(args) => attach(settings, args, json, out).await,
        EvidenceCommand::Verify(args) => verify(args, json, out),
    }
}

async fn build(
    settings: &Settings,
    args: &EvidenceBuildArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let languages = evidence::languages(args.lang.as_deref()).map_err(|e| match e {
        ozontrack_engine::Error::Invalid { problem, .. } => {
            InputError::new(format!("--lang: {problem}"))
        }
        other => InputError::new(other.to_string()),
    })?;
    let dir = args.out.clone().unwrap_or_else(|| ".".into());
    let opened = app::open(settings, KeyMode::Existing).await?;
    let db = &opened.store;
    let stores = db.stores().await?;
    let (_, id) = find_posting(db, &stores, &args.number).await?;
    let estimates = Arc::new(EstimateBook::default());
    let pack = evidence::build(db, &estimates, id, &languages, opened.clock.now()).await;
    db.close().await;
    let pack = pack?;
    std::fs::create_dir_all(&dir)
        .map_err(|e| InputError::new(format!("--out: cannot create {}: {e}", dir.display())))?;
    let path = dir.join(&pack.file_name);
    // Written beside its place and renamed: an interrupted write leaves no pack that looks whole.
    let mut file = AtomicFile::create(&path)?;
    file.file().write_all(&pack.bytes)?;
    let path = file.commit()?;
    if json {
        output::print_json(
            out,
            &json!({
                "file": path.display().to_string(),
                "size": pack.bytes.len(),
                "sha256": pack.sha256,
                "pdf": evidence::WITH_PDF,
                "files": pack.manifest.files.iter().map(|f| json!({"path": f.path, "size": f.size, "sha256": f.sha256})).collect::<Vec<_>>(),
                "payloads": pack.manifest.payloads.len(),
            }),
        )?;
    } else {
        writeln!(out, "{} ({} bytes)", path.display(), pack.bytes.len())?;
        for f in &pack.manifest.files {
            writeln!(out, "  {:<40} {:>10}  {}", f.path, f.size, f.sha256)?;
        }
        writeln!(
            out,
            "  {} carrier and Ozon payloads by SHA-256 in manifest.json",
            pack.manifest.payloads.len()
        )?;
        if !evidence::WITH_PDF {
            writeln!(
                out,
                "  no PDF: this build was made without the `pdf` feature"
            )?;
        }
    }
    Ok(())
}

/// A file's modification time, as the time it was made.
fn modified(path: &Path) -> Option<chrono::DateTime<chrono::Utc>> {
    let time = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(time.into())
}

async fn attach(
    settings: &Settings,
    args: &EvidenceAttachArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    // Every file is read before anything is stored: a missing one adds none.
    let mut files = Vec::new();
    for path in &args.files {
        let content = std::fs::read(path)
            .map_err(|e| InputError::new(format!("cannot read {}: {e}", path.display())))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        files.push(NewFile {
            name,
            content,
            taken_at: modified(path),
        });
    }
    let opened = app::open(settings, KeyMode::Existing).await?;
    let db = &opened.store;
    let stores = db.stores().await?;
    let (_, id) = find_posting(db, &stores, &args.number).await?;
    let actor = app::console();
    let limit = settings.evidence.max_attachment_bytes();
    let mut added = Vec::new();
    let mut failure = None;
    for file in files {
        match evidence::attach(db, &actor, id, file, limit, opened.clock.now()).await {
            Ok(result) => added.push(result),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    db.close().await;
    if json {
        output::print_json(
            out,
            &json!({"attachments": added.iter().map(|(a, new)| json!({
                "id": a.id, "file": a.file_name, "size": a.size, "sha256": a.sha256,
                "media_type": a.media_type, "new": new,
            })).collect::<Vec<_>>()}),
        )?;
    } else {
        for (a, new) in &added {
            let what = if *new { "added" } else { "already there" };
            writeln!(
                out,
                "{what}: {} ({} bytes, {})",
                a.file_name, a.size, a.sha256
            )?;
        }
    }
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

fn verify(args: &EvidenceVerifyArgs, json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.file)
        .map_err(|e| InputError::new(format!("cannot read {}: {e}", args.file.display())))?;
    let checked = evidence::verify(&bytes)?;
    if json {
        output::print_json(
            out,
            &json!({
                "file": args.file.display().to_string(),
                "posting": checked.manifest.posting,
                "generated_at": checked.manifest.generated_at,
                "intact": checked.is_intact(),
                "files": checked.files.iter().map(|f| json!({"path": f.path, "ok": f.ok})).collect::<Vec<_>>(),
                "problems": checked.problems,
            }),
        )?;
    } else {
        writeln!(
            out,
            "{}: posting {}, built {}",
            args.file.display(),
            checked.manifest.posting,
            checked.manifest.generated_at.to_rfc3339()
        )?;
        for f in &checked.files {
            writeln!(
                out,
                "  {} {}",
                if f.ok { "ok     " } else { "CHANGED" },
                f.path
            )?;
        }
        for p in &checked.problems {
            writeln!(out, "  problem: {p}")?;
        }
    }
    if checked.is_intact() {
        Ok(())
    } else {
        Err(InputError::new(format!(
            "{} does not match its manifest: {}",
            args.file.display(),
            checked.problems.join("; ")
        ))
        .into())
    }
}
