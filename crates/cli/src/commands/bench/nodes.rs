//! `ozontrack serve` processes started by a benchmark, as an operator would run them: separate
//! OS processes on one PostgreSQL, following a sandbox world's clock, configured through the
//! environment. The chaos run kills them; the multi-process sync times them.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use ozontrack_db::prelude::*;
use ozontrack_db::{Cipher, DatabaseUrl, NewStore, PoolSettings, SqlDatabase, StoreRecord};
use ozontrack_domain::{ClientId, StoreName, StoreSettings};
use ozontrack_sandbox::Sandbox;
use ozontrack_sandbox::world::SimStore;
use secrecy::SecretString;
use tokio::io::AsyncBufReadExt;

/// One `serve` process of the run.
pub(super) struct Node {
    pub(super) child: tokio::process::Child,
    pub(super) pid: u32,
}

/// How to start a node: the binary, its environment, where its logs go.
pub(super) struct Launcher {
    name: &'static str,
    exe: PathBuf,
    env: Vec<(String, String)>,
    clock_url: String,
    logs: PathBuf,
    started: u32,
}

impl Launcher {
    /// Nodes of this binary on `database_url`, using the sandbox's fakes, each with the base
    /// settings and `settings` (`SECTION__KEY`, without the `OZONTRACK__` prefix); their logs
    /// (`NAME-N.log`) and what they write beside them go to `logs`, and they share its key file.
    pub(super) fn new(
        name: &'static str,
        sandbox: &Sandbox,
        database_url: &str,
        logs: &Path,
        settings: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let mut env = env(sandbox, database_url, &key_file(logs));
        // Nodes of another database (the chaos run's undisturbed one) keep their backups apart:
        // two copies named for the same second in one directory would clash.
        env.push((
            "OZONTRACK__BACKUP__DIR".to_owned(),
            logs.join(format!("backups-{name}")).display().to_string(),
        ));
        env.extend(
            settings
                .iter()
                .map(|(k, v)| (format!("OZONTRACK__{k}"), (*v).to_owned())),
        );
        Ok(Self {
            name,
            exe: std::env::current_exe().context("cannot find this binary to start the nodes")?,
            env,
            clock_url: sandbox.urls.clock.clone(),
            logs: logs.to_owned(),
            started: 0,
        })
    }

    pub(super) async fn start(&mut self) -> anyhow::Result<Node> {
        self.started += 1;
        let log = std::fs::File::create(
            self.logs
                .join(format!("{}-{}.log", self.name, self.started)),
        )
        .context("cannot create a node's log file")?;
        let mut child = tokio::process::Command::new(&self.exe)
            .args([
                "--json",
                "serve",
                "--role",
                "workers",
                "--listen",
                "127.0.0.1:0",
                "--follow-clock",
                &self.clock_url,
            ])
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            // What a node writes beside it stays with the run's logs.
            .current_dir(&self.logs)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", self.exe.display()))?;
        let pid = child.id().context("a node exited at once")?;
        let stdout = child.stdout.take().context("a node's stdout")?;
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(60),
            tokio::io::BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .context("a node did not start within a minute")??;
        if line.trim().is_empty() {
            bail!("a node exited before serving; see {}", self.logs.display());
        }
        Ok(Node { child, pid })
    }
}

/// A directory of the run for the nodes' logs and key file: `ozontrack-NAME-PID` under the
/// temporary directory.
pub(super) fn run_dir(name: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("ozontrack-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// The key file the nodes and the benchmark's own connection share.
pub(super) fn key_file(dir: &Path) -> PathBuf {
    dir.join("ozontrack.key")
}

/// The empty PostgreSQL database a run's nodes will share, migrated; refused when it is not
/// PostgreSQL or already holds stores.
pub(super) async fn empty_database(url: &str, cipher: &Cipher) -> anyhow::Result<SqlDatabase> {
    let url = DatabaseUrl::parse(url).context("--database-url")?;
    if url.backend() != ozontrack_db::Backend::Postgres {
        bail!("processes share one PostgreSQL: give postgres:// URLs");
    }
    let db = SqlDatabase::connect(&url, cipher.clone(), &PoolSettings::default()).await?;
    db.migrate().await?;
    if !db.stores().await?.is_empty() {
        bail!(
            "{} already holds stores: the run wants an empty database",
            url.redacted()
        );
    }
    Ok(db)
}

/// How long a node stopped with SIGTERM may take before it is killed: `serve` gives its rounds
/// in flight 10 s to finish.
pub(super) const STOP_WITHIN: Duration = Duration::from_secs(12);

/// One of the world's seller accounts as a store named `name`, calling the sandbox's Ozon.
pub(super) async fn add_store(
    db: &SqlDatabase,
    sandbox: &Sandbox,
    seller: &SimStore,
    name: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<StoreRecord> {
    let store = NewStore {
        name: StoreName::parse(name)?,
        client_id: ClientId::parse(&seller.client_id.to_string())?,
        api_key: SecretString::from(seller.api_key.clone()),
        ozon_base_url: sandbox.urls.ozon.clone(),
        settings: StoreSettings::default(),
    };
    Ok(db.add_store(store, now).await?)
}

/// Stops the nodes with SIGTERM, as an operator would, all at once, and SIGKILL any that
/// lingers past [`STOP_WITHIN`].
pub(super) async fn stop(nodes: Vec<Node>) -> anyhow::Result<()> {
    for node in &nodes {
        let _ = tokio::process::Command::new("kill")
            .args(["-TERM", &node.pid.to_string()])
            .status()
            .await;
    }
    let deadline = tokio::time::Instant::now() + STOP_WITHIN;
    for mut node in nodes {
        if tokio::time::timeout_at(deadline, node.child.wait())
            .await
            .is_err()
        {
            node.child.kill().await?;
        }
    }
    Ok(())
}

/// What every node is told: the database, the key file and the sandbox's fakes.
fn env(sandbox: &Sandbox, url: &str, key_file: &Path) -> Vec<(String, String)> {
    let c = &sandbox.state.world.credentials;
    let u = &sandbox.urls;
    [
        ("DATABASE__URL", url.to_owned()),
        ("DATABASE__MAX_CONNECTIONS", "5".to_owned()),
        ("SECRETS__KEY_FILE", key_file.display().to_string()),
        (
            "CARRIERS__SEVENTEEN_TRACK_BASE_URL",
            u.seventeen_track.clone(),
        ),
        (
            "CARRIERS__SEVENTEEN_TRACK_TOKEN",
            c.seventeen_track_token.clone(),
        ),
        ("CARRIERS__RUSSIAN_POST_BASE_URL", u.russian_post.clone()),
        ("CARRIERS__RUSSIAN_POST_LOGIN", c.russian_post_login.clone()),
        (
            "CARRIERS__RUSSIAN_POST_PASSWORD",
            c.russian_post_password.clone(),
        ),
        ("CARRIERS__CDEK_BASE_URL", u.cdek.clone()),
        ("CARRIERS__CDEK_CLIENT_ID", c.cdek_client_id.clone()),
        ("CARRIERS__CDEK_CLIENT_SECRET", c.cdek_client_secret.clone()),
        ("LOG__FILTER", "warn".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("OZONTRACK__{k}"), v))
    .collect()
}
