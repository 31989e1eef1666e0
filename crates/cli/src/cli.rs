//! The command line, declared with clap: every job ozontrack does from a terminal.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Where every Ozon parcel is, which ones are in trouble, and what to do about it.
#[derive(Debug, Parser)]
#[command(name = "ozontrack", version, about, propagate_version = true)]
pub(crate) struct Cli {
    /// Configuration file (default: ./ozontrack.toml when it exists).
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    /// Database URL, overriding configuration: sqlite://PATH or postgres://…
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) database_url: Option<String>,

    /// Print data as JSON for scripts instead of tables for people.
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// Run on a sandbox world's simulated clock instead of real time: the URL its `sandbox` or
    /// `demo` command prints as the clock (…/sandbox/clock). Parcels are judged, tracked and
    /// exported as of the world's time; people's actions (sign-ins, tokens, users, channels)
    /// stay on real time. For `serve` nodes sharing one world and for one-shot commands on the
    /// demo's database; never against real Ozon.
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) follow_clock: Option<String>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create the database and the secret key file, and bring the schema up to date.
    Init,
    /// Bring the database schema up to date.
    Migrate,
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Connected Ozon seller accounts.
    #[command(subcommand)]
    Stores(StoresCommand),
    /// Fetch postings from Ozon: a back-fill the first time, then what changed since.
    Sync(SyncArgs),
    /// Send tracking numbers to Ozon.
    #[command(subcommand)]
    TrackingNumbers(TrackingNumbersCommand),
    /// Ask carriers where parcels are: the legs that are due (default), one posting's, or all.
    Track(TrackArgs),
    /// One posting's legs and its merged timeline, by posting or tracking number.
    Status(StatusArgs),
    /// Tracking legs.
    #[command(subcommand)]
    Legs(LegsCommand),
    /// Risk rules: print the defaults, check a rules file, explain a posting's verdicts.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Run the workers (sync, pushes, tracking, risk) and the HTTP server (API, Ozon push
    /// receiver, 17TRACK webhook) until Ctrl-C.
    Serve(ServeArgs),
    /// API tokens for `Authorization: Bearer`: create (shown once), list, revoke.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Dashboard users with a role (viewer, operator, admin) and stores: add, list, set,
    /// disable, enable.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Print a one-time dashboard sign-in link (valid 24 hours) for a running server, as a user
    /// or as the console's operator.
    LoginLink(LoginLinkArgs),
    /// Risk alerts: list them (newest first), acknowledge or resolve one, or run the rules now.
    Alerts(AlertsArgs),
    /// Where notifications go: group robots (WeCom, DingTalk, Feishu), Telegram, e-mail, signed
    /// webhooks, and the Ozon buyer chat.
    #[command(subcommand)]
    Channels(Box<ChannelsCommand>),
    /// The outbox of notifications: what was sent, what waits, what failed; templates and
    /// previews; the dispatcher alone.
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// A store's penalty-point ledger of whitelist violations and its rolling total.
    Penalties(PenaltiesArgs),
    /// Show what ozontrack makes of a raw Ozon body: the normalized postings or push, as JSON.
    Decode(DecodeArgs),
    /// Run the simulated world and its fake Ozon, 17TRACK, Russian Post and CDEK APIs.
    Sandbox(SandboxArgs),
    /// The sandbox plus a demo store on the embedded SQLite database: try ozontrack without
    /// any credentials.
    Demo(DemoArgs),
    /// Measure against the performance targets; the last line of output is one JSON object.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Every posting a filter matches out to CSV or XLSX for Excel, with no row limit.
    #[command(subcommand)]
    Export(ExportCommand),
    /// The seller office's postings report (CSV or XLSX) in, as postings of a store.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Dispute evidence: a posting's whole trail as a PDF, JSON and manifest in one zip; the
    /// seller's files for it; checking a pack.
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// A consistent copy of the database while it runs (`backup verify FILE` checks one).
    Backup(BackupArgs),
    /// Who did what: the audit trail of every change, newest first.
    Audit(AuditArgs),
    /// Restore a backup into an empty database (the configured one).
    Restore(RestoreArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum ExportCommand {
    /// Postings with their carriers, last event, risk, alerts and arrival window.
    Postings(ExportPostingsArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ExportPostingsArgs {
    /// Only this store (default: every store).
    #[arg(long, value_name = "NAME")]
    pub(crate) store: Option<String>,
    /// Ozon's status code, e.g. `delivering`.
    #[arg(long)]
    pub(crate) status: Option<String>,
    /// fbs, rfbs, fbo or crossborder.
    #[arg(long)]
    pub(crate) mode: Option<String>,
    /// A leg's carrier code, e.g. `cainiao`.
    #[arg(long)]
    pub(crate) carrier: Option<String>,
    /// Only postings with an open alert at least this severe (warning, high_risk, critical).
    #[arg(long)]
    pub(crate) risk: Option<String>,
    /// Ordered from this date (2026-11-01) or RFC 3339 time.
    #[arg(long)]
    pub(crate) from: Option<String>,
    /// Ordered before this date or time.
    #[arg(long)]
    pub(crate) to: Option<String>,
    /// A posting number (or its start) or a tracking number.
    #[arg(long, short)]
    pub(crate) q: Option<String>,
    /// csv or xlsx (default: from the --out extension, else csv).
    #[arg(long)]
    pub(crate) format: Option<String>,
    /// The language of headers and words: zh, ru or en (default: the first store's).
    #[arg(long)]
    pub(crate) lang: Option<String>,
    /// Excel's locale: ru (`;`, decimal comma) or zh / en (`,`, decimal point); default: the
    /// language's.
    #[arg(long)]
    pub(crate) profile: Option<String>,
    /// The columns, in order (default: all): posting_number,status,tracking_numbers,…
    #[arg(long, value_name = "A,B,…")]
    pub(crate) columns: Option<String>,
    /// At most this many rows per file, the files in one zip (10000 for the seller office).
    #[arg(long, value_name = "ROWS")]
    pub(crate) split: Option<u64>,
    /// Where to write (default: postings-<time>.csv|xlsx|zip here).
    #[arg(long, short, value_name = "PATH")]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ImportCommand {
    /// The FBS or FBO postings report, as the seller office or the report API gives it.
    Postings(ImportPostingsArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ImportPostingsArgs {
    /// The report: CSV (`;`, UTF-8 or Windows-1251) or XLSX.
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
    /// The store the postings belong to.
    #[arg(long, value_name = "NAME")]
    pub(crate) store: String,
    /// Read everything, write nothing: what would change.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// fbs or fbo (default: told by the FBS-only columns).
    #[arg(long)]
    pub(crate) mode: Option<String>,
    /// The zone the report's times are in (default: Europe/Moscow, as the office writes them).
    #[arg(long)]
    pub(crate) zone: Option<String>,
    /// The language of the problems a bad file is told with: zh, ru or en (default: the
    /// store's).
    #[arg(long)]
    pub(crate) lang: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum EvidenceCommand {
    /// Build a posting's evidence pack (evidence-<posting>-<time>.zip).
    Build(EvidenceBuildArgs),
    /// Add files (packaging video, photos, receipts) to a posting's evidence.
    Attach(EvidenceAttachArgs),
    /// Check a pack against its manifest: every file's SHA-256, nothing added or missing.
    Verify(EvidenceVerifyArgs),
}

#[derive(Debug, Args)]
pub(crate) struct EvidenceBuildArgs {
    /// A posting number or a tracking number of one of its legs.
    #[arg(value_name = "POSTING")]
    pub(crate) number: String,
    /// The directory to write into (default: here).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// The PDF's languages, side by side (default: zh,ru).
    #[arg(long, value_name = "zh,ru")]
    pub(crate) lang: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct EvidenceAttachArgs {
    /// A posting number or a tracking number of one of its legs.
    #[arg(value_name = "POSTING")]
    pub(crate) number: String,
    #[arg(value_name = "FILE", required = true)]
    pub(crate) files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct EvidenceVerifyArgs {
    #[arg(value_name = "FILE.zip")]
    pub(crate) file: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct BackupArgs {
    #[command(subcommand)]
    pub(crate) command: Option<BackupCommand>,
    /// The directory to write into (default: [backup] dir).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum BackupCommand {
    /// Check a backup against its manifest (size, SHA-256, every table's rows).
    Verify(BackupFileArgs),
}

#[derive(Debug, Args)]
pub(crate) struct BackupFileArgs {
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// A backup file (its manifest beside it).
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
    /// Replace a database that holds stores or postings.
    #[arg(long)]
    pub(crate) replace: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// World generation time and the latency of serving 100-posting pages from the fake Ozon.
    Sandbox(BenchSandboxArgs),
    /// A full sync of a large world from the fake Ozon at its rate limit, against the minimum
    /// time that limit allows for the pages fetched.
    Sync(BenchSyncArgs),
    /// Storing carrier events the tracker's way against plain inserts of the same rows into
    /// the same SQLite file.
    Ingest(BenchIngestArgs),
    /// A month of a world tracked with the adaptive schedule against fixed 4-hourly polling:
    /// carrier lookups per delivered parcel, and how soon 48-hour stalls are seen.
    Polling(BenchPollingArgs),
    /// A month of a world followed by the risk rules, scored against its truth: recall of
    /// true failures, false alarms, delay from threshold to alert, alerts during outages.
    Detection(BenchDetectionArgs),
    /// Rule evaluation speed: a full pass over 1 M active legs, and an incremental pass after
    /// 10 000 changes.
    Rules(BenchRulesArgs),
    /// The JSON API's latency over a large SQLite database: single postings and list pages
    /// under concurrent load on loopback.
    Api(BenchApiArgs),
    /// A burst of alert changes through the outbox to 200 destinations on the fakes of every
    /// seller channel: all delivered or digested, no rate limit broken, and the time from the
    /// change to the receipt where nothing throttles.
    Notify(BenchNotifyArgs),
    /// A flood of wrong passwords from many addresses while `/healthz` is under load: its
    /// latency must not suffer (the login throttle and the bounded password pool).
    Login(BenchLoginArgs),
    /// Arrival windows scored against a world's truth: learned from the deliveries before a
    /// cut, shown at each milestone of every parcel after it; the share of deliveries inside
    /// and the windows' widths, beside the previous method's.
    Estimate(BenchEstimateArgs),
    /// Exporting a large database (postings with legs, events and alerts) to CSV and XLSX:
    /// rows per second and the peak memory growth, against the targets.
    Export(BenchExportArgs),
    /// Building dispute evidence packs (PDF, JSON, attachments, manifest) of long trails:
    /// the time per pack and memory over a batch, against the targets.
    Evidence(BenchEvidenceArgs),
    /// Several `serve` processes on one PostgreSQL against a sandbox world on a fast clock,
    /// one killed every few seconds while the fakes misbehave; the database scored against the
    /// world's truth (events lost or doubled, states, alerts, rate-limit refusals).
    Chaos(BenchChaosArgs),
}

#[derive(Debug, Args)]
pub(crate) struct BenchChaosArgs {
    /// An empty PostgreSQL database the processes share (it is migrated and filled).
    #[arg(long, value_name = "URL")]
    pub(crate) database_url: String,
    /// Another empty PostgreSQL database, for the undisturbed run of the same world (one
    /// process, never killed, no faults) whose alerts the chaos run's must equal.
    #[arg(long, value_name = "URL")]
    pub(crate) reference_database_url: String,
    /// `serve --role workers` processes running at once.
    #[arg(long, default_value_t = 3)]
    pub(crate) processes: u32,
    /// Simulated days the run lasts (the world's orders span them).
    #[arg(long, default_value_t = 10)]
    pub(crate) days: u32,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 2880.0)]
    pub(crate) speed: f64,
    #[arg(long, default_value_t = 1_500)]
    pub(crate) parcels: u32,
    /// Real seconds between two kills, on average.
    #[arg(long, default_value_t = 4.0)]
    pub(crate) kill_every: f64,
    /// Seed of the world, of its faults and of which process dies when.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
}

#[derive(Debug, Args)]
pub(crate) struct BenchExportArgs {
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) postings: u32,
    /// Database URL to fill and export from (default: a temporary SQLite file).
    #[arg(long, value_name = "URL")]
    pub(crate) database_url: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct BenchEvidenceArgs {
    /// Disputed postings, one pack each.
    #[arg(long, default_value_t = 1_000)]
    pub(crate) packs: u32,
    /// Carrier events per posting.
    #[arg(long, default_value_t = 200)]
    pub(crate) events: u32,
}

#[derive(Debug, Args)]
pub(crate) struct BenchEstimateArgs {
    #[arg(long, default_value_t = 30_000)]
    pub(crate) parcels: u32,
    /// Simulated days of orders the estimates learn from.
    #[arg(long, default_value_t = 60)]
    pub(crate) learn_days: i64,
    /// Simulated days of orders after the cut, each followed to its delivery and scored.
    #[arg(long, default_value_t = 30)]
    pub(crate) score_days: i64,
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
}

#[derive(Debug, Args)]
pub(crate) struct BenchLoginArgs {
    /// Clients posting wrong passwords, each from its own loopback address.
    #[arg(long, default_value_t = 48)]
    pub(crate) attackers: u32,
    /// `/healthz` requests in all.
    #[arg(long, default_value_t = 2_000)]
    pub(crate) requests: u32,
    /// `/healthz` clients at once.
    #[arg(long, default_value_t = 50)]
    pub(crate) concurrency: u32,
}

#[derive(Debug, Args)]
pub(crate) struct BenchNotifyArgs {
    /// Alert changes in the burst (spread evenly over the destinations).
    #[arg(long, default_value_t = 10_000)]
    pub(crate) changes: u32,
    /// Give up waiting for the outbox to empty after this long.
    #[arg(long, default_value_t = 240)]
    pub(crate) timeout_secs: u64,
}

#[derive(Debug, Args)]
pub(crate) struct BenchApiArgs {
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) postings: u32,
    /// Clients asking at once.
    #[arg(long, default_value_t = 8)]
    pub(crate) concurrency: usize,
    /// Requests per client and kind.
    #[arg(long, default_value_t = 2_000)]
    pub(crate) requests: u32,
    /// Database URL to fill and serve from (default: a temporary SQLite file); a database an
    /// earlier run filled is served again as it is.
    #[arg(long, value_name = "URL")]
    pub(crate) database_url: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct BenchDetectionArgs {
    #[arg(long, default_value_t = 100_000)]
    pub(crate) parcels: u32,
    /// Simulated days.
    #[arg(long, default_value_t = 30)]
    pub(crate) days: i64,
    /// Minutes between syncs of the store.
    #[arg(long, default_value_t = 15)]
    pub(crate) sync_every_minutes: i64,
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
}

#[derive(Debug, Args)]
pub(crate) struct BenchRulesArgs {
    /// Active legs in the full pass (two per posting).
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) legs: u32,
    /// Changed postings in the incremental pass.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) changes: u32,
}

#[derive(Debug, Args)]
pub(crate) struct BenchSyncArgs {
    /// Parcels in the world, shared by its stores.
    #[arg(long, default_value_t = 100_000)]
    pub(crate) parcels: u32,
    /// Requests per second the fake allows and the client uses.
    #[arg(long, default_value_t = 50)]
    pub(crate) rate_limit: usize,
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// An empty PostgreSQL database: the stores are then synced by `--processes` worker
    /// processes sharing it (without it, one store by this process into a SQLite file).
    #[arg(long, value_name = "URL")]
    pub(crate) database_url: Option<String>,
    /// Stores in the world (with `--database-url`).
    #[arg(long, default_value_t = 20)]
    pub(crate) stores: u32,
    /// `serve --role workers` processes (with `--database-url`).
    #[arg(long, default_value_t = 3)]
    pub(crate) processes: u32,
    /// How long the processes may take to sync every store (with `--database-url`).
    #[arg(long, default_value_t = 1_800)]
    pub(crate) timeout_secs: u64,
}

#[derive(Debug, Args)]
pub(crate) struct BenchIngestArgs {
    /// Events to store (each path stores them all).
    #[arg(long, default_value_t = 20_000_000)]
    pub(crate) events: u64,
    /// Events per leg, arriving over four tracking rounds.
    #[arg(long, default_value_t = 200)]
    pub(crate) per_leg: u64,
    /// An empty PostgreSQL database to measure in the same run, after the SQLite file.
    #[arg(long, value_name = "URL")]
    pub(crate) database_url: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct BenchPollingArgs {
    #[arg(long, default_value_t = 10_000)]
    pub(crate) parcels: u32,
    /// Simulated days.
    #[arg(long, default_value_t = 30)]
    pub(crate) days: i64,
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
}

#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    /// Only this store (default: every store).
    #[arg(long, value_name = "NAME")]
    pub(crate) store: Option<String>,
    /// Back-fill every window again instead of fetching what changed.
    #[arg(long)]
    pub(crate) full: bool,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("which").args(["due", "posting", "all"]))]
pub(crate) struct TrackArgs {
    /// Only legs whose next check is due (the default).
    #[arg(long)]
    pub(crate) due: bool,
    /// Every leg of this posting, due or not.
    #[arg(long, value_name = "POSTING")]
    pub(crate) posting: Option<String>,
    /// Every leg still tracked, due or not.
    #[arg(long)]
    pub(crate) all: bool,
    /// The store the posting belongs to (with --posting, when there are several).
    #[arg(long, value_name = "NAME")]
    pub(crate) store: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// A posting number (0132112277-0101-1) or a tracking number.
    #[arg(value_name = "NUMBER")]
    pub(crate) number: String,
    /// Language of statuses: zh, ru or en (default: the store's).
    #[arg(long, value_name = "LANG")]
    pub(crate) lang: Option<String>,
    /// IANA time zone to show times in (default: the store's), e.g. Europe/Moscow.
    #[arg(long, value_name = "ZONE")]
    pub(crate) tz: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RulesCommand {
    /// Print a commented rules file holding every default.
    Example,
    /// Check a rules file: a bad one names the line and the key.
    Check(RulesFileArgs),
    /// Every rule's verdict on one posting now, and why.
    Explain(ExplainArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Where the HTTP server listens.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub(crate) listen: std::net::SocketAddr,
    /// What this process runs: all (the HTTP side and the workers), api (the API, the
    /// dashboard and the push receivers) or workers (the workers, with /healthz, /readyz and
    /// /metrics only). Several processes on one PostgreSQL share the work through leases.
    #[arg(long, value_enum, default_value = "all")]
    pub(crate) role: ServeRole,
}

/// What a `serve` process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ServeRole {
    All,
    Api,
    Workers,
}

impl From<ServeRole> for ozontrack_server::api::NodeRole {
    fn from(role: ServeRole) -> Self {
        match role {
            ServeRole::All => Self::All,
            ServeRole::Api => Self::Api,
            ServeRole::Workers => Self::Workers,
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum UsersCommand {
    /// Add a dashboard user with a role and stores; the password is the first line of standard
    /// input (so that it stays out of shell history and process lists).
    Add(UserAddArgs),
    /// Every user: role, stores, whether disabled.
    List(ListArgs),
    /// Change a user's role, stores or password; their sessions end.
    Set(UserSetArgs),
    /// Stop a user signing in; their sessions end.
    Disable(UserNameArgs),
    /// Let a disabled user sign in again.
    Enable(UserNameArgs),
}

/// The stores a user or token is granted: some by name, or every store (said explicitly; a
/// grant never falls back to every store).
#[derive(Debug, Args)]
pub(crate) struct GrantArgs {
    /// A store granted (repeat for several).
    #[arg(long = "store", value_name = "NAME", conflicts_with = "all_stores")]
    pub(crate) stores: Vec<String>,
    /// Every store, present and future.
    #[arg(long)]
    pub(crate) all_stores: bool,
}

#[derive(Debug, Args)]
pub(crate) struct UserAddArgs {
    #[arg(value_name = "NAME")]
    pub(crate) name: String,
    /// viewer (reads), operator (also acts on parcels) or admin (also stores, channels, users).
    #[arg(long, value_name = "ROLE")]
    pub(crate) role: String,
    #[command(flatten)]
    pub(crate) grant: GrantArgs,
}

#[derive(Debug, Args)]
pub(crate) struct UserSetArgs {
    #[arg(value_name = "NAME")]
    pub(crate) name: String,
    /// The new role: viewer, operator or admin.
    #[arg(long, value_name = "ROLE")]
    pub(crate) role: Option<String>,
    /// The new stores (replacing the old ones).
    #[command(flatten)]
    pub(crate) grant: GrantArgs,
    /// Read a new password from the first line of standard input.
    #[arg(long)]
    pub(crate) password_stdin: bool,
}

#[derive(Debug, Args)]
pub(crate) struct UserNameArgs {
    #[arg(value_name = "NAME")]
    pub(crate) name: String,
}

#[derive(Debug, Args)]
pub(crate) struct LoginLinkArgs {
    /// The server's address as the browser reaches it.
    #[arg(long, default_value = "http://127.0.0.1:8080", value_name = "URL")]
    pub(crate) base_url: String,
    /// Sign in as this dashboard user (default: as the console's operator, an admin of every
    /// store).
    #[arg(long, value_name = "NAME")]
    pub(crate) user: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// Only this store's entries.
    #[arg(long, value_name = "NAME")]
    pub(crate) store: Option<String>,
    /// At most this many, newest first.
    #[arg(long, default_value_t = 50)]
    pub(crate) limit: u32,
    /// The language of headers and words: zh, ru or en (default: the first store's; times in
    /// its zone).
    #[arg(long, value_name = "LANG")]
    pub(crate) lang: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokensCommand {
    /// Create a token; it is printed once and only its hash is kept.
    Create(TokenCreateArgs),
    /// Every token: id, name, prefix, role, stores, whether revoked.
    List(ListArgs),
    /// Revoke a token by id.
    Revoke(TokenRevokeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct TokenCreateArgs {
    /// What the token is for, e.g. "erp".
    #[arg(long)]
    pub(crate) name: String,
    /// viewer (reads), operator (also acts on parcels) or admin (also stores, channels, users).
    #[arg(long, value_name = "ROLE")]
    pub(crate) role: String,
    #[command(flatten)]
    pub(crate) grant: GrantArgs,
}

#[derive(Debug, Args)]
pub(crate) struct TokenRevokeArgs {
    #[arg(value_name = "ID")]
    pub(crate) id: i64,
}

#[derive(Debug, Args)]
pub(crate) struct AlertsArgs {
    #[command(subcommand)]
    pub(crate) action: Option<AlertsCommand>,
    /// Only alerts not resolved.
    #[arg(long)]
    pub(crate) open: bool,
    /// Only alerts at least this severe: info, warning, high_risk or critical.
    #[arg(long, value_name = "S")]
    pub(crate) severity: Option<String>,
    /// Only this store's.
    #[arg(long, value_name = "NAME")]
    pub(crate) store: Option<String>,
    /// At most this many (0: all).
    #[arg(long, default_value_t = 100)]
    pub(crate) limit: u32,
    /// Language of names and reasons: zh, ru or en (default: the first store's).
    #[arg(long, value_name = "LANG", global = false)]
    pub(crate) lang: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AlertsCommand {
    /// Acknowledge an alert: you are on it. It escalates again if it gets worse.
    Ack(CloseAlertArgs),
    /// Resolve an alert by hand; the same condition does not reopen it unless it worsens.
    Resolve(CloseAlertArgs),
    /// Run the rules over every store's postings now and update the alerts.
    Evaluate,
}

#[derive(Debug, Args)]
pub(crate) struct CloseAlertArgs {
    #[arg(value_name = "ID")]
    pub(crate) id: i64,
    /// Why, in your words; kept in the alert's history.
    #[arg(long, value_name = "TEXT")]
    pub(crate) note: String,
    /// Who (default: the console's user, `cli:NAME`).
    #[arg(long, value_name = "NAME")]
    pub(crate) by: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ChannelsCommand {
    /// Add a destination. Secrets given as `-` are read from standard input (one per line, in
    /// the order url, token, secret), so they stay out of shell history.
    Add(Box<ChannelAddArgs>),
    /// Every destination: channel, address (never a secret), state, what it receives.
    List(ListArgs),
    /// Send a test message through the real path and say what came of it.
    Test(ChannelNameArgs),
    /// Stop sending to a destination; its messages wait.
    Disable(ChannelNameArgs),
    /// Send to a destination again (after fixing what disabled it).
    Enable(ChannelNameArgs),
    /// Remove a destination and its messages.
    Remove(ChannelNameArgs),
    /// Change what a destination receives.
    Route(ChannelRouteArgs),
}

/// What a destination receives (every flag optional: the defaults suit most sellers).
#[derive(Debug, Args, Default, Clone)]
pub(crate) struct RoutingArgs {
    /// Only alerts at least this severe: info, warning (default), high_risk, critical.
    #[arg(long, value_name = "S")]
    pub(crate) min_severity: Option<String>,
    /// Only these rules' alerts (comma-separated, e.g. stale,break_point).
    #[arg(long, value_name = "LIST")]
    pub(crate) rules: Option<String>,
    /// These topics (comma-separated: alert_opened, alert_escalated, alert_resolved, daily,
    /// penalty, feed_down, feed_recovered, destination_disabled); default: all but resolutions.
    #[arg(long, value_name = "LIST")]
    pub(crate) topics: Option<String>,
    /// Only these stores' notices (comma-separated names).
    #[arg(long, value_name = "NAMES")]
    pub(crate) stores: Option<String>,
    /// Quiet hours in the destination's zone, e.g. 22:00-08:00: messages wait, then go as one
    /// digest.
    #[arg(long, value_name = "FROM-UNTIL")]
    pub(crate) quiet: Option<String>,
    /// Send a daily summary at this local time, e.g. 09:00.
    #[arg(long, value_name = "HH:MM")]
    pub(crate) daily: Option<String>,
    /// Language of its messages: zh (sellers' default), ru (buyers' default), en.
    #[arg(long, value_name = "LANG")]
    pub(crate) lang: Option<String>,
    /// IANA time zone for quiet hours, the summary and times in messages.
    #[arg(long, value_name = "ZONE")]
    pub(crate) tz: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ChannelAddArgs {
    /// webhook, email, wecom, dingtalk, feishu, telegram or ozon_chat.
    #[arg(value_name = "CHANNEL")]
    pub(crate) kind: String,
    /// A name for it, e.g. "ops-group".
    #[arg(value_name = "NAME")]
    pub(crate) name: String,
    /// The robot's whole webhook URL; the webhook endpoint; smtp://user@host:587 or
    /// smtps://user@host:465; the Telegram Bot API base (default https://api.telegram.org).
    #[arg(long, value_name = "URL")]
    pub(crate) url: Option<String>,
    /// Telegram bot token; SMTP password (QQ/163: the authorization code); a robot key not
    /// inside the URL.
    #[arg(long, value_name = "TOKEN")]
    pub(crate) token: Option<String>,
    /// Signing secret: DingTalk's SEC…, Feishu's, or a webhook's whsec_… (one is made for a
    /// webhook when none is given, and printed once).
    #[arg(long, value_name = "SECRET")]
    pub(crate) secret: Option<String>,
    /// Telegram chat id (-100… for a group).
    #[arg(long, value_name = "ID")]
    pub(crate) chat_id: Option<String>,
    /// Telegram forum topic.
    #[arg(long, value_name = "ID")]
    pub(crate) thread_id: Option<i64>,
    /// E-mail sender (default: the SMTP user).
    #[arg(long, value_name = "ADDRESS")]
    pub(crate) from: Option<String>,
    /// E-mail recipients, comma-separated.
    #[arg(long, value_name = "ADDRESSES")]
    pub(crate) to: Option<String>,
    /// A PEM file of a certificate authority to trust for the mail server.
    #[arg(long, value_name = "FILE")]
    pub(crate) ca_file: Option<String>,
    /// For ozon_chat: the store whose buyers it tells.
    #[arg(long, value_name = "NAME")]
    pub(crate) store: Option<String>,
    #[command(flatten)]
    pub(crate) routing: RoutingArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ChannelNameArgs {
    /// The destination's name or id.
    #[arg(value_name = "NAME")]
    pub(crate) name: String,
}

#[derive(Debug, Args)]
pub(crate) struct ChannelRouteArgs {
    /// The destination's name or id.
    #[arg(value_name = "NAME")]
    pub(crate) name: String,
    #[command(flatten)]
    pub(crate) routing: RoutingArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum NotifyCommand {
    /// The outbox, newest first.
    Log(NotifyLogArgs),
    /// Send a failed message again, or (`--waiting`) every message waiting for a retry now.
    Retry(NotifyRetryArgs),
    /// How a message reads: any topic, for a posting, in any language, for seller or buyer.
    Preview(NotifyPreviewArgs),
    /// The seller's own message templates (minijinja), per topic, audience and language.
    #[command(subcommand)]
    Template(TemplateCommand),
    /// Run the dispatcher alone until Ctrl-C or SIGTERM (the workers of `serve` include it).
    Run,
}

#[derive(Debug, Args)]
pub(crate) struct NotifyLogArgs {
    /// Only messages that failed (given up; `notify retry` sends one again).
    #[arg(long)]
    pub(crate) failed: bool,
    /// Only this destination's (name or id).
    #[arg(long, value_name = "NAME")]
    pub(crate) channel: Option<String>,
    #[arg(long, default_value_t = 50)]
    pub(crate) limit: u32,
    /// Language of titles and names: zh, ru or en (default: each destination's).
    #[arg(long, value_name = "LANG")]
    pub(crate) lang: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct NotifyRetryArgs {
    /// The failed message to send again.
    #[arg(value_name = "ID", required_unless_present = "waiting")]
    pub(crate) id: Option<i64>,
    /// Instead: every message waiting for its next attempt goes out now (after an outage is
    /// mended); quiet hours, lockouts and rate limits still hold.
    #[arg(long, conflicts_with = "id")]
    pub(crate) waiting: bool,
}

#[derive(Debug, Args)]
pub(crate) struct NotifyPreviewArgs {
    /// The topic: alert_opened (default), alert_escalated, alert_resolved, daily, penalty,
    /// feed_down, feed_recovered, destination_disabled, digest, test.
    #[arg(long, default_value = "alert_opened", value_name = "TOPIC")]
    pub(crate) topic: String,
    /// A posting (or tracking) number; its latest alert speaks for the alert topics.
    #[arg(long, value_name = "NUMBER")]
    pub(crate) posting: Option<String>,
    /// zh, ru or en (default: zh for sellers, ru for buyers).
    #[arg(long, value_name = "LANG")]
    pub(crate) lang: Option<String>,
    /// seller (default) or buyer.
    #[arg(long, default_value = "seller", value_name = "WHO")]
    pub(crate) audience: String,
    /// IANA time zone of the times in it (default: the store's).
    #[arg(long, value_name = "ZONE")]
    pub(crate) tz: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TemplateCommand {
    /// Print the template in use (the seller's, or the built-in one).
    Show(TemplateArgs),
    /// Use the template in FILE (checked first) instead of the built-in one.
    Set(TemplateSetArgs),
    /// Go back to the built-in template.
    Reset(TemplateArgs),
}

#[derive(Debug, Args)]
pub(crate) struct TemplateArgs {
    #[arg(long, value_name = "TOPIC")]
    pub(crate) topic: String,
    /// seller or buyer.
    #[arg(long, default_value = "seller", value_name = "WHO")]
    pub(crate) audience: String,
    #[arg(long, value_name = "LANG")]
    pub(crate) lang: String,
}

#[derive(Debug, Args)]
pub(crate) struct TemplateSetArgs {
    #[command(flatten)]
    pub(crate) which: TemplateArgs,
    /// The template file (minijinja; `t("message-id", name=value)` renders a catalogue
    /// message).
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// The language of headers and words: zh, ru or en (default: the first store's; times in
    /// its zone).
    #[arg(long, value_name = "LANG")]
    pub(crate) lang: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct PenaltiesArgs {
    /// Only this store (default: every store).
    #[arg(long, value_name = "NAME")]
    pub(crate) store: Option<String>,
    /// The language of headers and words: zh, ru or en (default: the first store's).
    #[arg(long, value_name = "LANG")]
    pub(crate) lang: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct RulesFileArgs {
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// A posting number or a tracking number.
    #[arg(value_name = "NUMBER")]
    pub(crate) number: String,
    /// Rules file to apply (default: the posting's store's rules from `[risk]`).
    #[arg(long, value_name = "FILE")]
    pub(crate) rules: Option<PathBuf>,
    /// Language of names and reasons: zh, ru or en (default: the store's).
    #[arg(long, value_name = "LANG")]
    pub(crate) lang: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum LegsCommand {
    /// Correct the carrier of a posting's leg; detection never undoes it.
    SetCarrier(SetCarrierArgs),
}

#[derive(Debug, Args)]
pub(crate) struct SetCarrierArgs {
    /// The posting number.
    #[arg(value_name = "POSTING")]
    pub(crate) posting: String,
    /// Our carrier code (yanwen, 4px, cainiao, cj_packet, china_post, russian_post, cdek,
    /// boxberry, …).
    #[arg(value_name = "CARRIER")]
    pub(crate) carrier: String,
    /// Which leg, by tracking number, when the posting has several carrier legs.
    #[arg(long, value_name = "NUMBER")]
    pub(crate) number: Option<String>,
    /// The store the posting belongs to (when there are several).
    #[arg(long, value_name = "NAME")]
    pub(crate) store: Option<String>,
    /// Who made the correction (default: the console's user, `cli:NAME`).
    #[arg(long, value_name = "NAME")]
    pub(crate) by: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TrackingNumbersCommand {
    /// Upload `posting_number,tracking_number` rows from a CSV file, 20 per call; a result
    /// file is written next to the input.
    Upload(UploadArgs),
}

#[derive(Debug, Args)]
pub(crate) struct UploadArgs {
    /// CSV with a header row: posting_number,tracking_number (`,` or `;`, UTF-8).
    #[arg(value_name = "FILE.csv")]
    pub(crate) file: PathBuf,
    /// The store the postings belong to (needed when there are several).
    #[arg(long, value_name = "NAME")]
    pub(crate) store: Option<String>,
    /// Check everything, send nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Send the valid rows even when others are invalid.
    #[arg(long)]
    pub(crate) skip_invalid: bool,
}

/// Raw bodies `decode` reads. The names are the `--kind` values (`ozon-fbs-get`, …); carrier
/// kinds join them, hence the source prefix.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DecodeKind {
    OzonFbsGet,
    OzonFbsList,
    OzonFboList,
    OzonFboGet,
    OzonPush,
    /// A 17TRACK `gettrackinfo` answer.
    #[value(name = "17track-trackinfo")]
    SeventeenTrackTrackinfo,
    /// A 17TRACK push body.
    #[value(name = "17track-push")]
    SeventeenTrackPush,
    /// A CDEK `GET /v2/orders` answer.
    CdekOrder,
    /// A Russian Post `getOperationHistory` SOAP answer.
    #[value(name = "russianpost-history")]
    RussianpostHistory,
    /// A tracking number (given in place of FILE): detection and check digit.
    TrackingNumber,
}

#[derive(Debug, Args)]
pub(crate) struct DecodeArgs {
    #[arg(long, value_enum)]
    pub(crate) kind: DecodeKind,
    /// The file holding the body (`-` for standard input).
    #[arg(value_name = "FILE")]
    pub(crate) input: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct BenchSandboxArgs {
    #[arg(long, default_value_t = 100_000)]
    pub(crate) parcels: u32,
    /// Page requests to time.
    #[arg(long, default_value_t = 500)]
    pub(crate) pages: u32,
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
}

/// Which world to simulate and how fast.
#[derive(Debug, Clone, Args)]
pub(crate) struct WorldArgs {
    /// Seed of the world: the same seed is the same world.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// How many times faster than real time simulated time runs.
    #[arg(long, default_value_t = 3600.0)]
    pub(crate) speed: f64,
    /// Parcels in the world, ordered over --days (with --endless: every --days).
    #[arg(long, default_value_t = 2_000)]
    pub(crate) parcels: u32,
    /// Days over which orders are placed.
    #[arg(long, default_value_t = 30)]
    pub(crate) days: u32,
    /// Orders keep coming: --parcels more every --days, without end (always so in the demo).
    #[arg(long)]
    pub(crate) endless: bool,
    /// Address for the fakes: port P serves Ozon, P+1 17TRACK, P+2 Russian Post, P+3 CDEK;
    /// port 0 picks free ports.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub(crate) listen: std::net::SocketAddr,
    /// A TOML file of faults to inject per fake (`[ozon] error_rate = 0.05`, …).
    #[arg(long, value_name = "FILE")]
    pub(crate) faults: Option<PathBuf>,
    /// Where the fake Ozon POSTs push notifications (none when unset).
    #[arg(long, value_name = "URL")]
    pub(crate) ozon_push_url: Option<String>,
    /// Where the fake 17TRACK POSTs `TRACKING_UPDATED` (none when unset).
    #[arg(long = "17track-webhook", value_name = "URL")]
    pub(crate) seventeen_track_webhook: Option<String>,
}

impl WorldArgs {
    /// The world's shape; the demo's never ends, so that a dashboard left open for a day still
    /// sees new orders.
    pub(crate) fn shape(&self, demo: bool) -> Shape {
        Shape {
            parcels: self.parcels,
            days: self.days,
            endless: self.endless || demo,
        }
    }
}

/// How many parcels a world places over how many days, and whether it goes on doing so.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub(crate) parcels: u32,
    pub(crate) days: u32,
    pub(crate) endless: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    #[command(flatten)]
    pub(crate) world: WorldArgs,
    /// Where the dashboard and API listen (the fakes keep their own ports, see --listen).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub(crate) dashboard: std::net::SocketAddr,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct SandboxArgs {
    #[command(subcommand)]
    pub(crate) command: Option<SandboxCommand>,
    #[command(flatten)]
    pub(crate) world: WorldArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SandboxCommand {
    /// Print the ground truth of a world at a moment: what really happened to every parcel.
    Truth(TruthArgs),
}

#[derive(Debug, Args)]
pub(crate) struct TruthArgs {
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    #[arg(long, default_value_t = 2_000)]
    pub(crate) parcels: u32,
    /// Days over which orders are placed.
    #[arg(long, default_value_t = 30)]
    pub(crate) days: u32,
    /// The endless world (the demo's): --parcels more every --days; any moment has its truth.
    #[arg(long)]
    pub(crate) endless: bool,
    /// The moment, RFC 3339 (default: 14 days into the world).
    #[arg(long, value_name = "TIME")]
    pub(crate) at: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Print a commented example configuration file holding every default.
    Example,
}

#[derive(Debug, Subcommand)]
pub(crate) enum StoresCommand {
    /// Connect an Ozon seller account (Client-Id + Api-Key), or add a store without API access
    /// (`--no-api`) whose postings come from imported reports.
    Add(AddStore),
    /// List connected stores.
    List(ListArgs),
    /// Give a store its (new) Client-Id and Api-Key: a key rotation, or API access for a store
    /// that had none (its first sync is then due), its history kept.
    SetKey(SetKey),
    /// Stop syncing and tracking a store (its data stays; the dashboard says it is paused).
    Pause(StoreNameArgs),
    /// Sync and track a paused store again (its sync is due at once).
    Resume(StoreNameArgs),
    /// Give a store another name; its history, keys and grants follow it.
    Rename(RenameStore),
    /// Remove a store and everything it holds, in one transaction.
    Remove(RemoveStore),
}

#[derive(Debug, Args)]
pub(crate) struct StoreNameArgs {
    #[arg(value_name = "NAME")]
    pub(crate) name: String,
}

#[derive(Debug, Args)]
pub(crate) struct RenameStore {
    #[arg(value_name = "NAME")]
    pub(crate) name: String,
    #[arg(value_name = "NEW_NAME")]
    pub(crate) new_name: String,
}

#[derive(Debug, Args)]
pub(crate) struct RemoveStore {
    #[arg(value_name = "NAME")]
    pub(crate) name: String,
    /// Do not ask: remove it (for scripts).
    #[arg(long)]
    pub(crate) yes: bool,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("api_key").required(true).args(["api_key_stdin", "api_key_env", "no_api"]))]
pub(crate) struct AddStore {
    /// A name for the store, used by other commands and the dashboard.
    #[arg(long, value_name = "NAME")]
    pub(crate) name: String,

    /// The seller's Client-Id from the Ozon seller office (a number).
    #[arg(
        long,
        value_name = "ID",
        required_unless_present = "no_api",
        conflicts_with = "no_api"
    )]
    pub(crate) client_id: Option<String>,

    /// No Ozon API access yet: the store's postings come from `import postings`.
    #[arg(long)]
    pub(crate) no_api: bool,

    /// Read the Api-Key from standard input (keeps it out of shell history).
    #[arg(long)]
    pub(crate) api_key_stdin: bool,

    /// Read the Api-Key from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub(crate) api_key_env: Option<String>,

    /// Ozon Seller API base URL for this store (default: ozon.base_url from configuration).
    #[arg(long, value_name = "URL")]
    pub(crate) ozon_base_url: Option<String>,

    /// IANA time zone in which the store reads times.
    #[arg(long, value_name = "ZONE", default_value = "Asia/Shanghai")]
    pub(crate) timezone: String,

    /// Language of the store's messages and dashboard: zh, ru or en.
    #[arg(long, value_name = "LANG", default_value = "zh")]
    pub(crate) language: String,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("api_key").required(true).args(["api_key_stdin", "api_key_env"]))]
pub(crate) struct SetKey {
    /// The store's name.
    #[arg(value_name = "NAME")]
    pub(crate) name: String,

    /// The seller's Client-Id from the Ozon seller office (a number).
    #[arg(long, value_name = "ID")]
    pub(crate) client_id: String,

    /// Read the Api-Key from standard input (keeps it out of shell history).
    #[arg(long)]
    pub(crate) api_key_stdin: bool,

    /// Read the Api-Key from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub(crate) api_key_env: Option<String>,

    /// Ozon Seller API base URL (default: the store's, else ozon.base_url).
    #[arg(long, value_name = "URL")]
    pub(crate) ozon_base_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
