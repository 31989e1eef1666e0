//! Layered configuration: defaults, then `ozontrack.toml`, then `OZONTRACK__*` environment
//! variables, then flags. A file that cannot be read or understood is reported with its path
//! and, where the problem has one, its line.

use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::Deserialize;

use crate::errors::InputError;

/// The commented example printed by `ozontrack config example`; a test keeps it equal to the
/// defaults below.
pub(crate) const EXAMPLE: &str = include_str!("../ozontrack.example.toml");

const DEFAULT_FILE: &str = "ozontrack.toml";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Settings {
    pub(crate) database: DatabaseSettings,
    pub(crate) secrets: SecretSettings,
    pub(crate) ozon: OzonSettings,
    pub(crate) sync: SyncSection,
    pub(crate) carriers: CarrierSettings,
    pub(crate) tracking: TrackingSection,
    pub(crate) risk: RiskSection,
    pub(crate) notify: NotifySection,
    pub(crate) server: ServerSection,
    pub(crate) backup: BackupSection,
    pub(crate) evidence: EvidenceSection,
    pub(crate) log: LogSettings,
    /// `--follow-clock`: a sandbox world's clock to run on (a flag only, never configured).
    #[serde(skip)]
    pub(crate) follow_clock: Option<String>,
}

/// `[evidence]`: the seller's files for disputes.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct EvidenceSection {
    /// The largest attachment taken, in MiB.
    pub(crate) max_attachment_mb: u64,
}

impl Default for EvidenceSection {
    fn default() -> Self {
        Self {
            max_attachment_mb: ozontrack_engine::evidence::DEFAULT_MAX_ATTACHMENT / (1024 * 1024),
        }
    }
}

impl EvidenceSection {
    pub(crate) fn max_attachment_bytes(&self) -> u64 {
        self.max_attachment_mb.saturating_mul(1024 * 1024)
    }
}

/// `[backup]`: where backups go and how often `serve` takes one.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct BackupSection {
    /// The directory backups are written to (by `backup` and by `serve`).
    pub(crate) dir: PathBuf,
    /// Days between the backups `serve` takes; 0: `serve` takes none.
    pub(crate) every_days: u32,
    /// How many of the newest backups to keep.
    pub(crate) keep: usize,
}

impl Default for BackupSection {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("backups"),
            every_days: 7,
            keep: 8,
        }
    }
}

impl Settings {
    /// The scheduled backups from `[backup]`; `None` when switched off.
    pub(crate) fn backup_schedule(&self) -> Option<ozontrack_engine::backup::BackupSchedule> {
        (self.backup.every_days > 0).then(|| ozontrack_engine::backup::BackupSchedule {
            dir: self.backup.dir.clone(),
            every: chrono::Duration::days(i64::from(self.backup.every_days)),
            keep: self.backup.keep,
        })
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct DatabaseSettings {
    pub(crate) url: String,
    pub(crate) max_connections: u32,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "sqlite://ozontrack.db".into(),
            max_connections: 10,
        }
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct SecretSettings {
    pub(crate) key: Option<SecretString>,
    pub(crate) key_file: PathBuf,
    /// A bearer token that may read `/metrics` on the main listener (besides API tokens).
    pub(crate) metrics_token: Option<SecretString>,
}

impl Default for SecretSettings {
    fn default() -> Self {
        Self {
            key: None,
            key_file: PathBuf::from("ozontrack.key"),
            metrics_token: None,
        }
    }
}

impl fmt::Debug for SecretSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretSettings")
            .field("key", &self.key.as_ref().map(|_| "***"))
            .field("key_file", &self.key_file)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct OzonSettings {
    pub(crate) base_url: String,
    pub(crate) rate_limit: usize,
    pub(crate) timeout_secs: u64,
    pub(crate) read_attempts: u32,
}

impl Default for OzonSettings {
    fn default() -> Self {
        Self {
            base_url: "https://api-seller.ozon.ru".into(),
            rate_limit: 50,
            timeout_secs: 30,
            read_attempts: 8,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct SyncSection {
    pub(crate) backfill_days: i64,
    pub(crate) window_days: i64,
    pub(crate) recent_hours: i64,
    pub(crate) overlap_minutes: i64,
    pub(crate) dispute_days: i64,
    pub(crate) concurrency: usize,
    pub(crate) interval_secs: u64,
    pub(crate) poll_secs: u64,
    pub(crate) lease_secs: u64,
}

impl Default for SyncSection {
    fn default() -> Self {
        let d = ozontrack_engine::SyncSettings::default();
        Self {
            backfill_days: d.backfill_days,
            window_days: d.window_days,
            recent_hours: d.recent_hours,
            overlap_minutes: d.overlap_minutes,
            dispute_days: d.dispute_days,
            concurrency: d.concurrency,
            interval_secs: d.interval.as_secs(),
            poll_secs: 30,
            lease_secs: d.lease.as_secs(),
        }
    }
}

impl Settings {
    /// The engine's sync settings from the `[ozon]` and `[sync]` sections.
    pub(crate) fn sync_settings(&self) -> ozontrack_engine::SyncSettings {
        let s = &self.sync;
        let defaults = ozontrack_engine::SyncSettings::default();
        ozontrack_engine::SyncSettings {
            backfill_days: s.backfill_days,
            window_days: s.window_days,
            recent_hours: s.recent_hours,
            overlap_minutes: s.overlap_minutes,
            dispute_days: s.dispute_days,
            concurrency: s.concurrency.max(1),
            rate_limit: self.ozon.rate_limit.max(1),
            interval: std::time::Duration::from_secs(s.interval_secs.max(1)),
            lease: std::time::Duration::from_secs(s.lease_secs.max(1)),
            client: ozontrack_ozon::ClientSettings {
                timeout: std::time::Duration::from_secs(self.ozon.timeout_secs.max(1)),
                read_attempts: self.ozon.read_attempts.max(1),
                ..defaults.client
            },
        }
    }
}

/// Carrier APIs. A feed without credentials is not used: its legs wait until it has them.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct CarrierSettings {
    pub(crate) seventeen_track_base_url: String,
    pub(crate) seventeen_track_token: Option<SecretString>,
    pub(crate) seventeen_track_rate_limit: usize,
    pub(crate) russian_post_base_url: String,
    pub(crate) russian_post_login: Option<String>,
    pub(crate) russian_post_password: Option<SecretString>,
    pub(crate) cdek_base_url: String,
    pub(crate) cdek_client_id: Option<String>,
    pub(crate) cdek_client_secret: Option<SecretString>,
    pub(crate) timeout_secs: u64,
}

impl Default for CarrierSettings {
    fn default() -> Self {
        Self {
            seventeen_track_base_url: "https://api.17track.net".into(),
            seventeen_track_token: None,
            seventeen_track_rate_limit: ozontrack_carriers::seventeen_track::RATE_LIMIT,
            russian_post_base_url: "https://tracking.russianpost.ru".into(),
            russian_post_login: None,
            russian_post_password: None,
            cdek_base_url: "https://api.cdek.ru".into(),
            cdek_client_id: None,
            cdek_client_secret: None,
            timeout_secs: 30,
        }
    }
}

impl fmt::Debug for CarrierSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |s: &Option<SecretString>| s.as_ref().map(|_| "***");
        f.debug_struct("CarrierSettings")
            .field("seventeen_track_base_url", &self.seventeen_track_base_url)
            .field(
                "seventeen_track_token",
                &hidden(&self.seventeen_track_token),
            )
            .field(
                "seventeen_track_rate_limit",
                &self.seventeen_track_rate_limit,
            )
            .field("russian_post_base_url", &self.russian_post_base_url)
            .field("russian_post_login", &self.russian_post_login)
            .field(
                "russian_post_password",
                &hidden(&self.russian_post_password),
            )
            .field("cdek_base_url", &self.cdek_base_url)
            .field("cdek_client_id", &self.cdek_client_id)
            .field("cdek_client_secret", &hidden(&self.cdek_client_secret))
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

impl CarrierSettings {
    /// Base URLs and limits, the part a test can compare (secrets have no equality).
    #[cfg(test)]
    fn public(&self) -> (&str, usize, &str, Option<&str>, &str, Option<&str>, u64) {
        (
            &self.seventeen_track_base_url,
            self.seventeen_track_rate_limit,
            &self.russian_post_base_url,
            self.russian_post_login.as_deref(),
            &self.cdek_base_url,
            self.cdek_client_id.as_deref(),
            self.timeout_secs,
        )
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct TrackingSection {
    pub(crate) batch: u32,
    pub(crate) lease_secs: u64,
    pub(crate) interval_secs: u64,
    pub(crate) concurrency: usize,
}

impl Default for TrackingSection {
    fn default() -> Self {
        let d = ozontrack_engine::TrackSettings::default();
        Self {
            batch: d.batch,
            lease_secs: d.lease.num_seconds().unsigned_abs(),
            interval_secs: 60,
            concurrency: d.concurrency,
        }
    }
}

/// `[risk]`: which rules apply, and how often the evaluator runs.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RiskSection {
    /// A rules file for every store (`ozontrack rules example` prints one); none: the defaults.
    pub(crate) rules_file: Option<PathBuf>,
    /// Rules files of stores that differ, by store name.
    pub(crate) store_rules: std::collections::BTreeMap<String, PathBuf>,
    /// Seconds between evaluation rounds in the workers.
    pub(crate) interval_secs: u64,
    /// Hours between full rounds (every posting in play); incremental rounds in between.
    pub(crate) full_every_hours: i64,
    /// Seconds a worker holds a store's round without renewing it.
    pub(crate) lease_secs: u64,
}

impl Default for RiskSection {
    fn default() -> Self {
        Self {
            rules_file: None,
            store_rules: std::collections::BTreeMap::new(),
            interval_secs: 60,
            full_every_hours: 6,
            lease_secs: ozontrack_engine::RiskSettings::default()
                .lease
                .num_seconds()
                .unsigned_abs(),
        }
    }
}

/// `[notify]`: the dispatcher that sends the outbox.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct NotifySection {
    /// The dashboard's address as sellers and buyers reach it (`https://track.example.com`):
    /// messages link to the posting and to the buyer's tracking page. Empty: no links.
    pub(crate) public_url: String,
    /// Seconds between dispatcher rounds when nothing woke it (the rules wake it at once).
    pub(crate) interval_secs: u64,
    /// Seconds each request to a channel may take.
    pub(crate) timeout_secs: u64,
    /// Failed calls in a row before a carrier feed's outage is told to the sellers.
    pub(crate) feed_failures: i64,
    /// Seconds a dispatcher holds a destination without renewing; a crashed one's
    /// destinations go to another after this long.
    pub(crate) lease_secs: u64,
}

impl Default for NotifySection {
    fn default() -> Self {
        let d = ozontrack_engine::notify::DispatchSettings::default();
        Self {
            public_url: String::new(),
            interval_secs: 5,
            timeout_secs: d.timeout.as_secs(),
            feed_failures: d.feed_failures,
            lease_secs: d.lease.num_seconds().unsigned_abs(),
        }
    }
}

/// `[server]`: the dashboard's sessions and map.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ServerSection {
    /// Hours a dashboard sign-in lasts.
    pub(crate) session_hours: i64,
    /// Mark cookies `Secure`: set it when ozontrack is served over HTTPS.
    pub(crate) secure_cookies: bool,
    /// A tile server's URL template drawn under the built-in land outlines; unset: no tiles,
    /// the map works without internet.
    pub(crate) map_tiles: Option<String>,
    /// Serve `/metrics` open on this address of its own (a private interface for Prometheus);
    /// unset: only on the main listener, for a token.
    pub(crate) metrics_listen: Option<std::net::SocketAddr>,
}

impl Default for ServerSection {
    fn default() -> Self {
        let web = ozontrack_server::web::WebSettings::default();
        Self {
            session_hours: web.session_hours,
            secure_cookies: web.secure_cookies,
            map_tiles: web.map_tiles,
            metrics_listen: None,
        }
    }
}

impl Settings {
    /// The dashboard's settings from `[server]`.
    pub(crate) fn web_settings(&self) -> ozontrack_server::web::WebSettings {
        ozontrack_server::web::WebSettings {
            session_hours: self.server.session_hours.clamp(1, 24 * 90),
            secure_cookies: self.server.secure_cookies,
            map_tiles: self
                .server
                .map_tiles
                .clone()
                .filter(|t| !t.trim().is_empty()),
            demo_inbox: None,
        }
    }

    /// Who may read `/metrics`, from `[server]` and `[secrets]`.
    pub(crate) fn metrics_exposure(&self) -> crate::commands::workers::MetricsExposure {
        crate::commands::workers::MetricsExposure {
            token: self
                .secrets
                .metrics_token
                .clone()
                .filter(|t| !secrecy::ExposeSecret::expose_secret(t).trim().is_empty()),
            listen: self.server.metrics_listen,
        }
    }

    /// The dispatcher's settings from `[notify]`.
    pub(crate) fn dispatch_settings(&self) -> ozontrack_engine::notify::DispatchSettings {
        let url = self.notify.public_url.trim();
        ozontrack_engine::notify::DispatchSettings {
            public_url: (!url.is_empty()).then(|| url.to_owned()),
            timeout: std::time::Duration::from_secs(self.notify.timeout_secs.clamp(1, 120)),
            feed_failures: self.notify.feed_failures.max(1),
            // A lease must outlive a request, or another dispatcher would take the destination
            // while this one still sends to it.
            lease: chrono::Duration::seconds(
                i64::try_from(
                    self.notify
                        .lease_secs
                        .max(self.notify.timeout_secs * 2)
                        .max(2),
                )
                .unwrap_or(60),
            ),
            ..ozontrack_engine::notify::DispatchSettings::default()
        }
    }

    /// How often each worker runs a round when it found nothing to do: each its own, from
    /// its section.
    pub(crate) fn periods(&self) -> crate::commands::workers::Periods {
        let secs = |s: u64| std::time::Duration::from_secs(s.max(1));
        crate::commands::workers::Periods {
            sync: secs(self.sync.poll_secs),
            pushes: secs(self.sync.poll_secs),
            tracking: secs(self.tracking.interval_secs),
            risk: secs(self.risk.interval_secs),
            notify: secs(self.notify.interval_secs),
        }
    }

    pub(crate) fn risk_settings(&self) -> ozontrack_engine::RiskSettings {
        ozontrack_engine::RiskSettings {
            full_every: chrono::Duration::hours(self.risk.full_every_hours.max(1)),
            lease: chrono::Duration::seconds(
                i64::try_from(self.risk.lease_secs.max(1)).unwrap_or(600),
            ),
            ..ozontrack_engine::RiskSettings::default()
        }
    }

    /// The tracking worker's settings from `[tracking]`.
    pub(crate) fn track_settings(&self) -> ozontrack_engine::TrackSettings {
        let t = &self.tracking;
        ozontrack_engine::TrackSettings {
            batch: t.batch.max(1),
            lease: chrono::Duration::seconds(i64::try_from(t.lease_secs.max(1)).unwrap_or(600)),
            concurrency: t.concurrency.max(1),
            ..ozontrack_engine::TrackSettings::default()
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct LogSettings {
    pub(crate) filter: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            filter: "warn".into(),
        }
    }
}

/// Values given as flags, which win over every other layer.
#[derive(Debug, Default)]
pub(crate) struct Overrides {
    pub(crate) database_url: Option<String>,
    pub(crate) follow_clock: Option<String>,
}

impl Settings {
    /// The same settings on another database (the demo's own).
    pub(crate) fn for_demo(base: &Settings, database_url: &str) -> Settings {
        let database = DatabaseSettings {
            url: database_url.to_owned(),
            ..DatabaseSettings::default()
        };
        Settings {
            database,
            ..base.clone()
        }
    }

    /// Loads the layers. `explicit` is the `--config` file, which must exist; without it
    /// `ozontrack.toml` in the working directory is read when present.
    pub(crate) fn load(
        explicit: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> Result<Self, InputError> {
        let file = match explicit {
            Some(path) => Some(read(path)?),
            None if Path::new(DEFAULT_FILE).exists() => Some(read(Path::new(DEFAULT_FILE))?),
            None => None,
        };
        let mut builder = config::Config::builder();
        if let Some((path, text)) = &file {
            check_toml(path, text)?;
            builder = builder.add_source(config::File::from_str(text, config::FileFormat::Toml));
        }
        let env: config::Map<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("OZONTRACK__"))
            .collect();
        builder = builder.add_source(
            config::Environment::with_prefix("OZONTRACK")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .source(Some(env)),
        );
        if let Some(url) = &overrides.database_url {
            builder = builder
                .set_override("database.url", url.as_str())
                .map_err(|e| InputError::new(format!("--database-url: {e}")))?;
        }
        let where_ = file.as_ref().map_or_else(
            || "the environment".to_owned(),
            |(path, _)| format!("{} or the environment", path.display()),
        );
        let built = builder
            .build()
            .map_err(|e| InputError::new(format!("configuration in {where_}: {e}")))?;
        let mut settings = built.try_deserialize::<Settings>().map_err(|e| {
            let located = file
                .as_ref()
                .and_then(|(path, text)| locate_key(path, text, &e.to_string()));
            InputError::new(located.unwrap_or_else(|| format!("configuration in {where_}: {e}")))
        })?;
        settings.follow_clock.clone_from(&overrides.follow_clock);
        Ok(settings)
    }
}

fn read(path: &Path) -> Result<(PathBuf, String), InputError> {
    std::fs::read_to_string(path)
        .map(|text| (path.to_owned(), text))
        .map_err(|e| {
            InputError::new(format!(
                "cannot read configuration file {}: {e}",
                path.display()
            ))
        })
}

/// Syntax errors, with line and column, before the layers are merged.
fn check_toml(path: &Path, text: &str) -> Result<(), InputError> {
    let Err(e) = text.parse::<toml::Table>() else {
        return Ok(());
    };
    let (line, column) = e
        .span()
        .map_or((1, 1), |span| line_column(text, span.start));
    Err(InputError::new(format!(
        "configuration file {}, line {line}, column {column}: {}",
        path.display(),
        e.message().trim()
    )))
}

/// The 1-based line and column of a byte offset in a TOML text (also used for rules files).
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// For an "unknown field `x`" or a bad value of key `x`, finds the line that sets `x`.
fn locate_key(path: &Path, text: &str, message: &str) -> Option<String> {
    let key = message.split('`').nth(1)?;
    let line = key_line(text, key)?;
    Some(format!(
        "configuration file {}, line {line}: {message}",
        path.display()
    ))
}

/// The 1-based line of a TOML text that sets `key` (dotted: its last part is matched) or opens
/// its table.
pub(crate) fn key_line(text: &str, key: &str) -> Option<usize> {
    let leaf = key.rsplit('.').next()?;
    let line = text.lines().position(|l| {
        let l = l.trim_start();
        l.starts_with(leaf) && l[leaf.len()..].trim_start().starts_with('=')
            || l.starts_with('[') && l.trim_matches(|c| c == '[' || c == ']').trim() == leaf
    })?;
    Some(line + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Settings, InputError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ozontrack.toml");
        std::fs::write(&path, text).unwrap();
        Settings::load(Some(&path), [], &Overrides::default())
    }

    #[test]
    fn the_printed_example_is_exactly_the_defaults() {
        let example = load_text(EXAMPLE).unwrap();
        let defaults = Settings::default();
        assert_eq!(example.database, defaults.database);
        assert_eq!(example.ozon, defaults.ozon);
        assert_eq!(example.sync, defaults.sync);
        assert_eq!(example.log, defaults.log);
        assert_eq!(example.tracking, defaults.tracking);
        assert_eq!(example.risk, defaults.risk);
        assert_eq!(example.notify, defaults.notify);
        assert_eq!(example.carriers.public(), defaults.carriers.public());
        assert!(example.carriers.seventeen_track_token.is_none());
        assert_eq!(example.secrets.key_file, defaults.secrets.key_file);
        assert!(example.secrets.key.is_none());
    }

    #[test]
    fn environment_beats_the_file_and_flags_beat_both() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.toml");
        std::fs::write(
            &path,
            "[database]\nurl = \"sqlite://file.db\"\nmax_connections = 3\n",
        )
        .unwrap();
        let env = [(
            "OZONTRACK__DATABASE__MAX_CONNECTIONS".to_owned(),
            "7".to_owned(),
        )];
        let settings = Settings::load(Some(&path), env.clone(), &Overrides::default()).unwrap();
        assert_eq!(
            settings.database,
            DatabaseSettings {
                url: "sqlite://file.db".into(),
                max_connections: 7
            }
        );
        let flags = Overrides {
            database_url: Some("sqlite://flag.db".into()),
            ..Overrides::default()
        };
        let settings = Settings::load(Some(&path), env, &flags).unwrap();
        assert_eq!(settings.database.url, "sqlite://flag.db");
    }

    #[test]
    fn each_worker_runs_on_the_interval_its_own_section_sets() {
        let settings = load_text(
            "[sync]\npoll_secs = 13\n[tracking]\ninterval_secs = 11\n[risk]\ninterval_secs = 7\n\
             [notify]\ninterval_secs = 3\n",
        )
        .unwrap();
        let periods = settings.periods();
        let secs = std::time::Duration::from_secs;
        assert_eq!(periods.notify, secs(3));
        assert_eq!(periods.risk, secs(7));
        assert_eq!(periods.tracking, secs(11));
        assert_eq!((periods.sync, periods.pushes), (secs(13), secs(13)));
    }

    #[test]
    fn a_syntax_error_names_the_file_line_and_column() {
        let err = load_text("[database]\nurl = sqlite\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("ozontrack.toml, line 2, column 7"), "{err}");
    }

    #[test]
    fn an_unknown_key_names_the_key_and_its_line() {
        let err = load_text("[database]\nurl = \"sqlite://x.db\"\nmax_conections = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("max_conections"), "{err}");
    }

    #[test]
    fn a_missing_config_file_is_named() {
        let err = Settings::load(
            Some(Path::new("/nonexistent/o.toml")),
            [],
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("cannot read configuration file /nonexistent/o.toml"),
            "{err}"
        );
    }

    #[test]
    fn the_secret_key_never_shows_in_debug() {
        let settings = load_text("[secrets]\nkey = \"c2VjcmV0\"\n").unwrap();
        assert!(!format!("{settings:?}").contains("c2VjcmV0"));
    }
}
