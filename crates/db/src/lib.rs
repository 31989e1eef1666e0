//! The database boundary: what ozontrack keeps, as traits in domain terms split by capability,
//! with SQLite (the default) and PostgreSQL behind them in [`SqlDatabase`].
//!
//! "Store" in ozontrack means a seller's Ozon shop; the database is the [`Database`]. Each
//! capability is a trait in the file that holds its types and its SQL:
//!
//! - [`stores`]: seller stores, their encrypted API keys and push secrets;
//! - [`postings`]: postings, the sync's scans and pages, Ozon's pushes, postings with their
//!   legs and events;
//! - [`tracking`]: legs, events, rounds of carrier checks, feed health;
//! - [`leases`]: work claimed through lease columns on the rows;
//! - [`alerts`]: risk candidates, alert changes, the inbox, the penalty ledger;
//! - [`access`]: API tokens and dashboard users with their roles and stores, sessions, login
//!   links, buyer tokens;
//! - [`audit`]: the audit trail of every write;
//! - [`evidence`]: a seller's files for disputes and the packs kept for disputed postings;
//! - [`views`]: what the API and the dashboard read (postings list, counts, statistics);
//! - [`wakeups`]: LISTEN/NOTIFY wake-ups across processes on PostgreSQL;
//! - [`backup`]: consistent copies while running (`Backups`), what they hold, restore;
//! - [`outbox`]: notification destinations, the outbox and its attempts, templates, buyer
//!   chats.
//!
//! Business rules do not live here: the database de-duplicates events and keeps each leg's
//! status equal to its latest event's, because both are facts about stored data; deciding what
//! is stale or risky belongs to the rules.

use std::future::Future;

#[macro_use]
mod sql;

// Before `alerts`, whose transaction writes the outbox through `enqueue!`.
#[macro_use]
pub mod outbox;

pub mod access;
pub mod alerts;
pub mod audit;
pub mod backup;
pub mod evidence;
mod export_lines;
pub mod leases;
pub mod postings;
mod records;
mod secrets;
pub mod stores;
pub mod tracking;
mod url;
pub mod views;
pub mod wakeups;

pub use access::{
    Access, NewToken, NewUser, OPERATOR, SessionRecord, TokenRecord, UserChange, UserRecord,
};
pub use alerts::{
    AlertFilter, Alerts, GapSample, PenaltyPolicy, PenaltyRecord, RiskApplied, RiskOutcome,
    RiskRoundState,
};
pub use audit::{Audit, AuditEntry, AuditFilter, AuditRecord};
pub use backup::{Backups, Snapshot};
pub use evidence::{AttachmentRecord, Evidence, NewAttachment, PackRecord};
pub use leases::{
    Chore, HeldLease, LEASED_TABLES, Leasable, LeaseOwner, Leases, RateSlot, RiskRound,
};
pub use outbox::{
    AttemptRecord, Attempted, DestinationRecord, Enqueue, FeedNews, NewDestination, NewMessage,
    Outbox, OutboxCounts, OutboxFilter, OutboxMessage, Settle, TemplateRecord,
};
pub use postings::{
    NewPush, PageOutcome, PostingRecord, PostingWithEvents, Postings, PushRecord, ScanId, ScanKind,
    ScanPlan, ScanProgress, ScanPurpose, ScanRecord,
};
pub use secrets::{Cipher, KeyFileError};
pub use sql::{PoolSettings, SqlDatabase};
pub use stores::{NewStore, OzonCredentials, RemovedStore, StoreRecord, Stores};
pub use tracking::{EventRecord, FeedHealth, FeedOutcome, LegCheck, LegRecord, Tracking};
pub use url::{Backend, DatabaseUrl, DatabaseUrlError};
pub use views::{
    CarrierStats, EventView, ExportAlert, ExportEvent, ExportLeg, ExportPage, ExportPageRead,
    ExportRecord, HISTOGRAM_DAYS, LaneStats, LegView, ModeCount, Overview, PostingQuery,
    PostingSummary, QueueDepths, RecordView, RiskCount, Views,
};
pub use wakeups::{Listening, Wake, Wakeups};

/// Every capability's trait, for code that holds a concrete [`SqlDatabase`]:
/// `use ozontrack_db::prelude::*`.
pub mod prelude {
    pub use crate::{
        Access, Alerts, Audit, Backups, Database, Evidence, Leases, Outbox, Postings, Stores,
        Tracking, Views, Wakeups,
    };
}

/// The whole database: every capability, the engine it runs on, and its schema. Code generic
/// over the database asks for `D: Database` (or a narrower capability when that is all it uses).
pub trait Database:
    Stores
    + Postings
    + Tracking
    + Leases
    + Alerts
    + Access
    + Audit
    + Evidence
    + Views
    + Outbox
    + Backups
    + Wakeups
    + Clone
    + Send
    + Sync
    + 'static
{
    /// Which engine this database runs on.
    fn backend(&self) -> Backend;

    /// Brings the schema up to date; safe to run at every start.
    fn migrate(&self) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Server settings that will hurt ozontrack, read from the server (none on SQLite).
    fn advice(&self) -> impl Future<Output = Result<Vec<Advice>, DbError>> + Send;
}

/// A server setting worth changing, as a fact; [`std::fmt::Display`] says why for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advice {
    /// PostgreSQL's autovacuum (or the statistics it needs, `track_counts`) is off: tables are
    /// never analysed, and the planner keeps the plans it chose while they were empty.
    AutovacuumOff,
}

impl std::fmt::Display for Advice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Advice::AutovacuumOff => f.write_str(
                "PostgreSQL's autovacuum is off, so no table is ever analysed: reads planned \
                 while the tables were small turn into full scans as they grow (seconds per \
                 page of a sync at 170 000 postings). Turn it on (`autovacuum = on`, \
                 `track_counts = on`) or run `ANALYZE` after every large load",
            ),
        }
    }
}

/// What can go wrong at the database boundary. Errors from the driver keep their source, and
/// their message says what failed, so a log line or a CLI error shows the real cause.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("a store named {0:?} already exists")]
    DuplicateStoreName(String),
    #[error("no store with id {0}")]
    StoreNotFound(ozontrack_domain::StoreId),
    #[error(
        "store {0:?} has no Ozon API access yet: import its postings report, or give it a key with `ozontrack stores set-key`"
    )]
    NoApiAccess(String),
    #[error("no posting with id {0}")]
    PostingNotFound(i64),
    #[error("a dashboard user named {0:?} already exists")]
    DuplicateUser(String),
    #[error("no dashboard user named {0:?}")]
    UserNotFound(String),
    #[error("a destination named {0:?} already exists")]
    DuplicateDestination(String),
    #[error(
        "the credentials of destination {0:?} cannot be decrypted with the configured secret key (was the key file replaced?)"
    )]
    DecryptDestination(String),
    #[error("no leg with id {0}")]
    LegNotFound(i64),
    #[error("no alert with id {0}")]
    AlertNotFound(i64),
    #[error("no sync scan with id {0}")]
    ScanNotFound(i64),
    #[error(
        "the Ozon API key of store {store:?} cannot be decrypted with the configured secret key (was the key file replaced?)"
    )]
    Decrypt { store: String },
    #[error("row {table}#{id} holds a value ozontrack cannot read: {reason}")]
    Corrupt {
        table: &'static str,
        id: i64,
        reason: String,
    },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// SQLite's one write lock stayed with another connection or process past the wait.
    #[error(
        "the database stayed locked by another writer (another ozontrack process or a tool holding the SQLite file) for longer than the busy timeout; several processes on one database want PostgreSQL"
    )]
    Locked(#[source] Option<sqlx::Error>),
    /// Every pooled connection stayed busy past the pool's wait.
    #[error(
        "no database connection was free within the pool's wait (database.max_connections is too small for the load, or queries are stuck)"
    )]
    PoolExhausted(#[source] sqlx::Error),
    #[error("cannot make {path} readable by its owner only: {source}")]
    Permissions {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// A backup or restore could not be made (a tool missing or failing, a file unwritable).
    #[error("{0}")]
    Backup(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        // SQLITE_BUSY is 5, and its extended codes keep 5 in the low byte; PostgreSQL's codes
        // are SQLSTATEs, and its messages never say "database is locked".
        let busy = matches!(&e, sqlx::Error::Database(d)
            if d.code().and_then(|c| c.parse::<i32>().ok()).is_some_and(|c| c & 0xff == 5)
                && d.message().contains("locked"));
        if busy {
            DbError::Locked(Some(e))
        } else if matches!(e, sqlx::Error::PoolTimedOut) {
            DbError::PoolExhausted(e)
        } else {
            DbError::Database(e)
        }
    }
}
