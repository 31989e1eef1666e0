//! Backups that can be trusted: a consistent copy taken while ozontrack runs, named by its time,
//! with a manifest (schema version, every table's rows at that moment, the file's SHA-256) that
//! `verify` and `restore` check against; scheduled in `serve` (weekly by default, the newest N
//! kept), claimed by one process when several run.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use ozontrack_db::backup::{self, Snapshot};
use ozontrack_db::{Backend, Chore, Database, DatabaseUrl, LeaseOwner};
use ozontrack_domain::{AuditAction, Clock};
use ozontrack_reports::AtomicFile;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::{Actor, Error, Problem};

/// The manifest kept beside each backup file (`FILE.manifest.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// `sqlite` (a database file) or `pg_dump` (PostgreSQL's custom format).
    pub format: String,
    /// The backup file's name, beside the manifest.
    pub file: String,
    pub created_at: DateTime<Utc>,
    pub ozontrack: String,
    pub schema_version: i64,
    /// Rows of every table at the moment of the copy.
    pub tables: BTreeMap<String, u64>,
    pub sha256: String,
    pub bytes: u64,
}

/// A backup on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    pub path: PathBuf,
    pub manifest: Manifest,
}

const PREFIX: &str = "ozontrack-";

fn manifest_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".manifest.json");
    PathBuf::from(name)
}

fn io(what: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::invalid("file", Problem::Said(format!("{}: {e}", what.display())))
}

/// SHA-256 and size of a file, read off the async workers.
async fn digest(path: &Path) -> Result<(String, u64), Error> {
    let owned = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(&owned)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 1 << 16];
        let mut bytes = 0u64;
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            bytes += n as u64;
        }
        Ok::<_, std::io::Error>((hex::encode(hasher.finalize()), bytes))
    })
    .await
    .map_err(|_| Error::Unavailable("the checksum reader stopped"))?
    .map_err(io(path))
}

/// Takes a backup into `dir` while the database runs: written under a hidden name and renamed
/// when complete, then its manifest beside it.
pub async fn take<D: Database>(db: &D, dir: &Path, now: DateTime<Utc>) -> Result<Backup, Error> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let (format, extension) = match db.backend() {
        Backend::Sqlite => ("sqlite", "sqlite"),
        Backend::Postgres => ("pg_dump", "pgdump"),
    };
    // To the millisecond: a backup taken right after another (a script's, beside the
    // schedule's) gets its own name.
    let name = format!("{PREFIX}{}.{extension}", now.format("%Y%m%dT%H%M%S%.3fZ"));
    let path = dir.join(&name);
    if path.exists() {
        return Err(Error::conflict(
            "out",
            Problem::Said(format!("{} exists already", path.display())),
        ));
    }
    let partial = dir.join(format!(".{name}.partial"));
    // A partial copy left by a killed backup is not a backup.
    let _ = std::fs::remove_file(&partial);
    let snapshot = match db.backup_into(&partial).await {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e.into());
        }
    };
    let (sha256, bytes) = digest(&partial).await?;
    std::fs::rename(&partial, &path).map_err(io(&path))?;
    let manifest = Manifest {
        format: format.to_owned(),
        file: name,
        created_at: now,
        ozontrack: env!("CARGO_PKG_VERSION").to_owned(),
        schema_version: snapshot.schema_version,
        tables: snapshot.tables,
        sha256,
        bytes,
    };
    let mut out = AtomicFile::create(&manifest_path(&path))?;
    let text = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    std::io::Write::write_all(out.file(), &text).map_err(io(&path))?;
    out.commit()?;
    Ok(Backup { path, manifest })
}

/// Reads a backup's manifest.
pub fn manifest_of(file: &Path) -> Result<Manifest, Error> {
    let path = manifest_path(file);
    let text = std::fs::read(&path).map_err(io(&path))?;
    serde_json::from_slice(&text).map_err(|e| {
        Error::invalid(
            "manifest",
            Problem::Said(format!("{}: not a backup manifest: {e}", path.display())),
        )
    })
}

/// Checks a backup against its manifest: size and SHA-256, then (SQLite) every table's rows,
/// or (PostgreSQL) that `pg_restore` reads the dump whole.
pub async fn verify(file: &Path) -> Result<Manifest, Error> {
    let manifest = manifest_of(file)?;
    let invalid = |message: String| {
        Error::invalid(
            "file",
            Problem::Said(format!("{}: {message}", file.display())),
        )
    };
    let (sha256, bytes) = digest(file).await?;
    if bytes != manifest.bytes || sha256 != manifest.sha256 {
        return Err(invalid(format!(
            "the file is not the one the manifest describes ({bytes} bytes, SHA-256 {sha256}; \
             the manifest says {} bytes, {})",
            manifest.bytes, manifest.sha256
        )));
    }
    match manifest.format.as_str() {
        "sqlite" => {
            let found = backup::sqlite_snapshot(file).await?;
            let expected = Snapshot {
                schema_version: manifest.schema_version,
                tables: manifest.tables.clone(),
            };
            if found != expected {
                return Err(invalid(
                    "the rows in the file differ from the manifest's counts".into(),
                ));
            }
        }
        "pg_dump" => backup::check_pg_dump(file).await?,
        other => return Err(invalid(format!("unknown backup format {other:?}"))),
    }
    Ok(manifest)
}

/// Restores a verified backup into the database at `url`: refused when that database holds
/// stores or postings unless `replace`. Returns what the restored database holds, which
/// equals the manifest's counts; the restored trail then says who restored which backup.
pub async fn restore(
    url: &DatabaseUrl,
    file: &Path,
    replace: bool,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Snapshot, Error> {
    let manifest = verify(file).await?;
    let wanted = match url {
        DatabaseUrl::Sqlite(_) => "sqlite",
        DatabaseUrl::Postgres(_) => "pg_dump",
    };
    if manifest.format != wanted {
        return Err(Error::invalid(
            "file",
            Problem::Said(format!(
                "a {} backup cannot be restored into {}",
                manifest.format,
                url.redacted()
            )),
        ));
    }
    if !replace && !backup::is_empty(url).await? {
        return Err(Error::conflict(
            "database",
            Problem::Said(format!(
                "{} holds stores or postings; restore into an empty database, or say --replace",
                url.redacted()
            )),
        ));
    }
    backup::restore(url, file).await?;
    let found = backup::snapshot_at(url).await?;
    if found.tables != manifest.tables {
        return Err(Error::invalid(
            "database",
            Problem::Said(
                "the restored database's rows differ from the manifest's counts".to_owned(),
            ),
        ));
    }
    crate::audit::Entry::new(actor, AuditAction::BackupRestored, now)
        .subject(manifest.file.clone())
        .detail(serde_json::json!({
            "created_at": manifest.created_at,
            "sha256": manifest.sha256,
            "replace": replace,
        }))
        .record_at(url)
        .await;
    Ok(found)
}

/// Removes the oldest backups of `dir` beyond the newest `keep` (with their manifests).
pub fn prune(dir: &Path, keep: usize) -> Result<Vec<PathBuf>, Error> {
    let mut backups: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with(PREFIX) && (n.ends_with(".sqlite") || n.ends_with(".pgdump"))
            })
        })
        .collect();
    // Names carry the UTC time with fields of fixed width: their order is their age.
    backups.sort();
    let old = backups.len().saturating_sub(keep);
    let mut removed = Vec::new();
    for path in backups.into_iter().take(old) {
        std::fs::remove_file(&path).map_err(io(&path))?;
        let _ = std::fs::remove_file(manifest_path(&path));
        removed.push(path);
    }
    Ok(removed)
}

/// How long taking a backup holds the `backup` chore, on the real clock: a large database takes
/// a while to copy, and the lease outlives any copy.
pub const BACKUP_TERM: Duration = Duration::hours(6);

/// When and where `serve` takes backups.
#[derive(Debug, Clone)]
pub struct BackupSchedule {
    pub dir: PathBuf,
    pub every: Duration,
    /// How many to keep (at least one is always kept).
    pub keep: usize,
}

/// The scheduled backup: one process (the holder of the chore's lease) takes it when due.
pub struct BackupWorker<D> {
    db: D,
    schedule: BackupSchedule,
    owner: LeaseOwner,
    /// Real time: a backup is of the database, which lives in real time even in the demo.
    clock: Arc<dyn Clock>,
}

impl<D> std::fmt::Debug for BackupWorker<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupWorker")
            .field("schedule", &self.schedule)
            .finish_non_exhaustive()
    }
}

impl<D: Database> BackupWorker<D> {
    pub fn new(db: D, schedule: BackupSchedule, owner: LeaseOwner, clock: Arc<dyn Clock>) -> Self {
        BackupWorker {
            db,
            schedule,
            owner,
            clock,
        }
    }

    /// Takes the backup if it is due and no other process is taking it; `Ok(None)` when
    /// there was nothing to do.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<Option<Backup>, Error> {
        if !self
            .db
            .claim_one(Chore::BACKUP, &self.owner, now, now + BACKUP_TERM)
            .await?
        {
            return Ok(None);
        }
        let taken = take(&self.db, &self.schedule.dir, now).await;
        let next = match &taken {
            Ok(_) => now + self.schedule.every,
            // Try again within the hour, not a week later.
            Err(_) => now + Duration::hours(1),
        };
        self.db
            .release(Chore::BACKUP, &self.owner, Some(next))
            .await?;
        let backup = taken?;
        let removed = prune(&self.schedule.dir, self.schedule.keep.max(1))?;
        tracing::info!(
            file = %backup.path.display(),
            removed = removed.len(),
            "backup taken"
        );
        Ok(Some(backup))
    }
}

impl<D: Database> crate::supervise::Worker for BackupWorker<D> {
    fn name(&self) -> &'static str {
        "backup"
    }

    async fn round(&self) -> bool {
        if let Err(e) = self.run_once(self.clock.now()).await {
            tracing::error!(error = %crate::Chain(&e), "the scheduled backup failed; next try within the hour");
        }
        // One backup per due time: never another round at once.
        false
    }
}
