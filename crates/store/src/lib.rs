//! The storage boundary: one [`Store`] trait in domain terms, with SQLite (the default) and
//! PostgreSQL behind it in [`SqlStore`].
//!
//! Business rules do not live here. The store keeps postings, legs and events, hands out work
//! through leases on the rows themselves, and keeps Ozon API keys encrypted at rest.

use std::future::Future;

use chrono::{DateTime, Utc};
use ozontrack_domain::{
    ClientId, Leg, NormalizedStatus, Posting, PostingNumber, Scheme, StoreId, StoreName,
    StoreSettings, SyncedPosting, TrackingEvent,
};
use secrecy::SecretString;

mod alerts;
mod api;
mod dashboard;
mod records;
mod secrets;
mod sql;
mod sync;
mod tracking;
mod url;

pub use alerts::{
    AlertFilter, AlertHistoryEntry, AlertRecord, GapSample, PenaltyRecord, RiskApplied, RiskOutcome,
};
pub use api::{CarrierStats, HISTOGRAM_DAYS, NewToken, PostingQuery, PostingSummary, TokenRecord};
pub use dashboard::{LaneStats, ModeCount, Overview, QueueDepths, RiskCount, SessionRecord};
pub use secrets::{Cipher, KeyFileError};
pub use sql::{PoolSettings, SqlStore};
pub use sync::{
    NewPush, PageOutcome, PushRecord, ScanId, ScanKind, ScanPlan, ScanProgress, ScanPurpose,
    ScanRecord,
};
pub use tracking::{CarrierSource, FeedHealth, FeedOutcome, LegCheck};
pub use url::{Backend, DatabaseUrl, DatabaseUrlError};

/// Our id of a posting row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PostingId(pub i64);

/// Our id of a leg row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegId(pub i64);

/// Who holds a lease: one worker process (or task). Any non-empty text; workers use
/// `host:pid:random` so that two processes never share an owner.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LeaseOwner(String);

impl LeaseOwner {
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A connected Ozon seller account, as it is listed; the API key stays encrypted until
/// [`Store::store_credentials`] is asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreRecord {
    pub id: StoreId,
    pub name: StoreName,
    pub client_id: ClientId,
    pub ozon_base_url: String,
    pub settings: StoreSettings,
    pub created_at: DateTime<Utc>,
    pub next_sync_at: Option<DateTime<Utc>>,
    /// Everything Ozon changed before this time is in the store (the last completed sync
    /// plan); `None` before the first.
    pub synced_until: Option<DateTime<Utc>>,
}

/// What it takes to connect a store.
#[derive(Debug, Clone)]
pub struct NewStore {
    pub name: StoreName,
    pub client_id: ClientId,
    pub api_key: SecretString,
    pub ozon_base_url: String,
    pub settings: StoreSettings,
}

/// What a client needs to call Ozon for one store. `Debug` does not show the key.
#[derive(Debug, Clone)]
pub struct OzonCredentials {
    pub client_id: ClientId,
    pub api_key: SecretString,
    pub base_url: String,
}

/// A posting row.
#[derive(Debug, Clone, PartialEq)]
pub struct PostingRecord {
    pub id: PostingId,
    pub posting: Posting,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A leg row, with what its events say so far and when it is next due.
#[derive(Debug, Clone, PartialEq)]
pub struct LegRecord {
    pub id: LegId,
    pub posting_id: PostingId,
    pub leg: Leg,
    /// The status of the latest event, `None` before the first one.
    pub status: Option<NormalizedStatus>,
    pub last_event_at: Option<DateTime<Utc>>,
    /// `None`: never due again (final, or tracking stopped).
    pub next_check_at: Option<DateTime<Utc>>,
    pub lease_owner: Option<LeaseOwner>,
    pub lease_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub carrier_source: CarrierSource,
    /// Who set the carrier by hand, and when.
    pub carrier_set_by: Option<String>,
    pub carrier_set_at: Option<DateTime<Utc>>,
    /// When the aggregator accepted the number.
    pub registered_at: Option<DateTime<Utc>>,
    /// When a webhook last brought news of the leg.
    pub pushed_at: Option<DateTime<Utc>>,
    /// Carrier lookups of the leg so far.
    pub checks: i64,
    /// The leg this one continues (a last-mile leg found through a hand-over).
    pub parent: Option<LegId>,
    /// When a check last read the leg's whole history from a carrier that could be reached.
    pub checked_at: Option<DateTime<Utc>>,
}

/// A posting with its legs and their events, read in a few queries for many postings: what
/// the rules, the API's posting page and `ozontrack status` look at.
#[derive(Debug, Clone, PartialEq)]
pub struct PostingWithEvents {
    pub posting: PostingRecord,
    /// The legs in id order, each with its events in time order.
    pub legs: Vec<(LegRecord, Vec<TrackingEvent>)>,
}

impl PostingWithEvents {
    /// Every leg's events in one time order, the same happening from two sources folded.
    pub fn timeline(&self) -> Vec<ozontrack_domain::timeline::Entry> {
        ozontrack_domain::timeline::merge(
            self.legs
                .iter()
                .map(|(leg, events)| (leg.leg.carrier.as_str(), events.as_slice())),
        )
    }
}

/// An event row: the event plus when we received it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub id: i64,
    pub leg_id: LegId,
    pub event: TrackingEvent,
    pub received_at: DateTime<Utc>,
}

/// Kinds of rows work is claimed on. Sealed: each names a table with lease columns.
pub trait Leasable: Copy + Send + Sync + sealed::Sealed + 'static {
    #[doc(hidden)]
    const TABLE: &'static str;
    #[doc(hidden)]
    fn from_row_id(id: i64) -> Self;
    #[doc(hidden)]
    fn row_id(self) -> i64;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::LegId {}
    impl Sealed for ozontrack_domain::StoreId {}
}

impl Leasable for LegId {
    const TABLE: &'static str = "legs";
    fn from_row_id(id: i64) -> Self {
        LegId(id)
    }
    fn row_id(self) -> i64 {
        self.0
    }
}

/// Stores are leased for syncing: one worker syncs a store at a time, so workers together
/// never exceed the store's Ozon rate limit.
impl Leasable for StoreId {
    const TABLE: &'static str = "stores";
    fn from_row_id(id: i64) -> Self {
        StoreId(id)
    }
    fn row_id(self) -> i64 {
        self.0
    }
}

/// What can go wrong at the storage boundary.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a store named {0:?} already exists")]
    DuplicateStoreName(String),
    #[error("no store with id {0}")]
    StoreNotFound(StoreId),
    #[error("no posting with id {0}")]
    PostingNotFound(i64),
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
    // The cause is printed by whoever prints the chain, so the messages do not repeat it.
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

/// The storage boundary, in domain terms. Every method is idempotent where the name says
/// "upsert" or "append", so that work done twice after a crash does no harm.
pub trait Store: Clone + Send + Sync + 'static {
    /// Which engine this store runs on.
    fn backend(&self) -> Backend;

    /// Brings the schema up to date; safe to run at every start.
    fn migrate(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Connects a store; its API key is encrypted before it reaches the database.
    fn add_store(
        &self,
        store: NewStore,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<StoreRecord, StoreError>> + Send;

    /// All stores, by name.
    fn stores(&self) -> impl Future<Output = Result<Vec<StoreRecord>, StoreError>> + Send;

    fn store_by_name(
        &self,
        name: &StoreName,
    ) -> impl Future<Output = Result<Option<StoreRecord>, StoreError>> + Send;

    fn store(
        &self,
        id: StoreId,
    ) -> impl Future<Output = Result<Option<StoreRecord>, StoreError>> + Send;

    /// Points a store at new credentials or a new API address (key rotation, the demo's
    /// fresh ports); the key is encrypted like on creation.
    fn set_store_connection(
        &self,
        id: StoreId,
        client_id: ClientId,
        api_key: SecretString,
        ozon_base_url: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Decrypts the store's API key.
    fn store_credentials(
        &self,
        id: StoreId,
    ) -> impl Future<Output = Result<OzonCredentials, StoreError>> + Send;

    /// Inserts the posting or replaces what we know of it; keyed by (store, posting number).
    fn upsert_posting(
        &self,
        posting: &Posting,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<PostingId, StoreError>> + Send;

    fn posting(
        &self,
        store: StoreId,
        number: &PostingNumber,
    ) -> impl Future<Output = Result<Option<PostingRecord>, StoreError>> + Send;

    fn count_postings(
        &self,
        store: StoreId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Inserts a leg, due for its first check at `now`, or updates the role of the existing
    /// leg with the same (posting, carrier, tracking number).
    fn upsert_leg(
        &self,
        posting: PostingId,
        leg: &Leg,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<LegId, StoreError>> + Send;

    fn legs(
        &self,
        posting: PostingId,
    ) -> impl Future<Output = Result<Vec<LegRecord>, StoreError>> + Send;

    fn leg(&self, id: LegId) -> impl Future<Output = Result<Option<LegRecord>, StoreError>> + Send;

    /// Appends events to a leg, skipping any whose fingerprint the leg already has, and moves
    /// the leg's status to its latest event. Returns how many events were new.
    fn append_events(
        &self,
        leg: LegId,
        events: &[TrackingEvent],
        received_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// A leg's events in the order they happened.
    fn events(
        &self,
        leg: LegId,
    ) -> impl Future<Output = Result<Vec<EventRecord>, StoreError>> + Send;

    /// Claims up to `limit` rows that are due (`next_check_at <= now`) and not leased by
    /// anyone (no lease, or one that expired), for `owner` until `until`. Two claimers never
    /// get the same row while its lease runs.
    fn claim<K: Leasable>(
        &self,
        owner: &LeaseOwner,
        limit: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<K>, StoreError>> + Send;

    /// Extends `owner`'s leases on `ids` to `until`; rows whose lease `owner` lost are left
    /// alone. Returns how many were extended.
    fn extend<K: Leasable>(
        &self,
        ids: &[K],
        owner: &LeaseOwner,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Gives up `owner`'s lease on `id` and sets when it is next due (`None`: never).
    /// Returns false, changing nothing, when `owner` no longer holds the lease.
    fn release<K: Leasable>(
        &self,
        id: K,
        owner: &LeaseOwner,
        next_check_at: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Sets when a row is next due, whoever holds it (e.g. "sync this store now").
    fn schedule<K: Leasable>(
        &self,
        id: K,
        next_check_at: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Takes the lease of one row whether or not it is due, unless someone else holds it.
    /// Returns false when another owner's lease is still running.
    fn lease<K: Leasable>(
        &self,
        id: K,
        owner: &LeaseOwner,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The secret in the store's push URL (`/ozon/push/{secret}`).
    fn push_secret(&self, id: StoreId) -> impl Future<Output = Result<String, StoreError>> + Send;

    fn store_by_push_secret(
        &self,
        secret: &str,
    ) -> impl Future<Output = Result<Option<StoreRecord>, StoreError>> + Send;

    /// The scans of the store's current sync plan, done or not, in plan order.
    fn scans(
        &self,
        store: StoreId,
    ) -> impl Future<Output = Result<Vec<ScanRecord>, StoreError>> + Send;

    /// Replaces the store's sync plan with `plan` (all scans not started).
    fn plan_scans(
        &self,
        store: StoreId,
        plan: &[ScanPlan],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<ScanRecord>, StoreError>> + Send;

    /// Stores a page of postings in one transaction: each posting upserted, its legs created
    /// (Ozon's own leg never due for carrier polling, a tracking number's leg due at `now`), a
    /// status change recorded as an event on Ozon's leg; and, with the same commit, the scan's
    /// new cursor. A page stored twice changes nothing the second time.
    fn record_page(
        &self,
        postings: &[SyncedPosting],
        progress: Option<&ScanProgress>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<PageOutcome, StoreError>> + Send;

    /// Ends the store's sync plan: its scans are dropped and `synced_until` moves to
    /// `watermark`.
    fn finish_sync(
        &self,
        store: StoreId,
        watermark: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The posting numbers of a scheme that may still change: not delivered or cancelled yet,
    /// or delivered since `delivered_since` (a buyer can still dispute a delivery).
    fn active_postings(
        &self,
        store: StoreId,
        scheme: Scheme,
        delivered_since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<PostingNumber>, StoreError>> + Send;

    /// Records a push; false when the same message (by its key) was recorded before.
    fn record_push(
        &self,
        push: &NewPush,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Pushes not yet acted on, oldest first.
    fn pending_pushes(
        &self,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<PushRecord>, StoreError>> + Send;

    /// Legs by id, in id order; unknown ids are left out.
    fn legs_by_ids(
        &self,
        ids: &[LegId],
    ) -> impl Future<Output = Result<Vec<LegRecord>, StoreError>> + Send;

    /// Every leg with this tracking number, in id order.
    fn legs_by_number(
        &self,
        number: &str,
    ) -> impl Future<Output = Result<Vec<LegRecord>, StoreError>> + Send;

    /// A posting by our id.
    fn posting_by_id(
        &self,
        id: PostingId,
    ) -> impl Future<Output = Result<Option<PostingRecord>, StoreError>> + Send;

    /// Stores one round of checks in one transaction: new events (moving each leg's status),
    /// each leg's next check, registration and detected carrier, and gives up `owner`'s
    /// leases on them. Returns how many events were new.
    fn record_checks(
        &self,
        checks: &[LegCheck],
        owner: &LeaseOwner,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Adds (or finds) the leg a hand-over continues to, on `parent`'s posting, linked to
    /// `parent` and due at once. Returns the leg and whether the link is new.
    fn add_hand_over(
        &self,
        parent: LegId,
        leg: &Leg,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(LegId, bool), StoreError>> + Send;

    /// Sets a leg's carrier by hand (`by`: who), makes it due at once, and keeps it from
    /// detection from then on.
    fn set_leg_carrier(
        &self,
        leg: LegId,
        carrier: &ozontrack_domain::CarrierCode,
        by: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Makes every leg still tracked (of one store, or all) due at `now`. Returns how many.
    fn make_tracked_legs_due(
        &self,
        store: Option<StoreId>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Notes that a webhook brought news of a leg.
    fn mark_pushed(
        &self,
        leg: LegId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records a call's outcome for a feed: a success clears its failures and backoff.
    fn record_feed(
        &self,
        outcome: &FeedOutcome<'_>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every feed's health, by name.
    fn feed_health(&self) -> impl Future<Output = Result<Vec<FeedHealth>, StoreError>> + Send;

    /// Marks a push done, or (with an error) counts a failed attempt; after `max_attempts`
    /// failures it is done too, with its last error kept.
    fn finish_push(
        &self,
        id: i64,
        error: Option<&str>,
        max_attempts: i64,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Postings of `store` the rules should look at again: those whose row or legs changed
    /// after `changed_since`, or whose next threshold is due by `now`; with no `changed_since`
    /// (a full round), every posting still in play and every one with an open alert.
    fn risk_candidates(
        &self,
        store: StoreId,
        changed_since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<PostingId>, StoreError>> + Send;

    /// The postings with their legs and events, in id order; unknown ids are left out.
    fn postings_with_events(
        &self,
        ids: &[PostingId],
    ) -> impl Future<Output = Result<Vec<PostingWithEvents>, StoreError>> + Send;

    /// The open alerts of the postings, and those a user resolved by hand.
    fn alert_views(
        &self,
        ids: &[PostingId],
    ) -> impl Future<
        Output = Result<Vec<(PostingId, ozontrack_domain::alert::AlertView)>, StoreError>,
    > + Send;

    /// Applies one round's alert changes (with their history and penalty points) and each
    /// posting's next due time, in one transaction. A change to an alert another evaluator
    /// already moved is skipped.
    fn apply_risk(
        &self,
        outcomes: &[RiskOutcome],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<RiskApplied, StoreError>> + Send;

    /// Up to when the store's changes have been evaluated.
    fn risk_watermark(
        &self,
        store: StoreId,
    ) -> impl Future<Output = Result<Option<DateTime<Utc>>, StoreError>> + Send;

    /// Moves the watermark forward (never back).
    fn set_risk_watermark(
        &self,
        store: StoreId,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Alerts by the filter, newest first.
    fn alerts(
        &self,
        filter: &AlertFilter,
    ) -> impl Future<Output = Result<Vec<AlertRecord>, StoreError>> + Send;

    /// Every state an alert went through, oldest first.
    fn alert_history(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Vec<AlertHistoryEntry>, StoreError>> + Send;

    /// A user acknowledges an open alert. False (changing nothing) when it is resolved.
    fn acknowledge_alert(
        &self,
        id: i64,
        by: &str,
        note: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// A user resolves an open alert. False (changing nothing) when it is resolved already.
    fn resolve_alert(
        &self,
        id: i64,
        by: &str,
        note: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The store's penalty-point ledger from `since` on.
    fn penalties(
        &self,
        store: StoreId,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<PenaltyRecord>, StoreError>> + Send;

    /// The events of the `legs` most recently delivered legs, by leg and time.
    fn gap_samples(
        &self,
        legs: u32,
    ) -> impl Future<Output = Result<Vec<GapSample>, StoreError>> + Send;

    /// Stores a new API token (its hash) with the stores it may see.
    fn create_token(
        &self,
        token: &NewToken,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<TokenRecord, StoreError>> + Send;

    /// The live (not revoked) token with this SHA-256.
    fn token_by_hash(
        &self,
        hash: &[u8],
    ) -> impl Future<Output = Result<Option<TokenRecord>, StoreError>> + Send;

    /// Every token, revoked or not, by id.
    fn tokens(&self) -> impl Future<Output = Result<Vec<TokenRecord>, StoreError>> + Send;

    /// Revokes a token; false when there is no live token with this id.
    fn revoke_token(
        &self,
        id: i64,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// A page of postings by the query, newest first, never outside its stores.
    fn postings_page(
        &self,
        query: &PostingQuery,
    ) -> impl Future<Output = Result<Vec<PostingSummary>, StoreError>> + Send;

    /// Per-carrier figures over the legs of `stores` tracked since `since`.
    fn carrier_stats(
        &self,
        stores: &[StoreId],
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<CarrierStats>, StoreError>> + Send;

    /// Per-lane figures (carriers in order, buyer city) over postings since `since`.
    fn lane_stats(
        &self,
        stores: &[StoreId],
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<LaneStats>, StoreError>> + Send;

    /// The "today" counts: postings at risk by severity and mode, active postings by mode.
    fn overview(
        &self,
        stores: &[StoreId],
    ) -> impl Future<Output = Result<Overview, StoreError>> + Send;

    /// How much work is due for the workers at `now`.
    fn queue_depths(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<QueueDepths, StoreError>> + Send;

    /// Adds a dashboard user, or sets the password (an argon2id PHC string) of one.
    fn set_dashboard_user(
        &self,
        name: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The password hash of a dashboard user.
    fn dashboard_password(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Keeps a new session under the SHA-256 of its cookie (and drops ended ones).
    fn create_session(
        &self,
        hash: &[u8],
        session: &SessionRecord,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The live session with this cookie hash.
    fn session(
        &self,
        hash: &[u8],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<SessionRecord>, StoreError>> + Send;

    /// Ends a session (logging out).
    fn end_session(&self, hash: &[u8]) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Keeps a one-time login link's hash until `expires_at`.
    fn create_login_link(
        &self,
        hash: &[u8],
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Uses up a login link: true once, for a live link; false ever after.
    fn use_login_link(
        &self,
        hash: &[u8],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The posting's buyer-page token: the one it has, or `candidate` made its own.
    fn buyer_token(
        &self,
        posting: PostingId,
        candidate: &str,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;

    /// The posting a buyer-page token belongs to.
    fn posting_by_buyer_token(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<Option<PostingId>, StoreError>> + Send;
}
