//! Work handed out through leases on the rows themselves (`next_check_at`, `lease_owner`,
//! `lease_until` on `legs` and `stores`), not through job rows: a crashed worker's rows come back
//! when its lease expires, and an owner that lost its lease can neither extend nor release it.

use std::future::Future;

use chrono::{DateTime, Utc};
use ozontrack_domain::{LegId, StoreId};
use sqlx::AssertSqlSafe;

use crate::DbError;
use crate::sql::{BeginWrite, Db, SqlDatabase};

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

/// Kinds of rows work is claimed on. Sealed: each names a table with lease columns.
pub trait Leasable: Copy + Send + Sync + sealed::Sealed + 'static {
    #[doc(hidden)]
    const TABLE: &'static str;
    /// What else a due row must satisfy to be claimed (SQL over the table's columns).
    #[doc(hidden)]
    const CLAIMABLE: &'static str = "";
    #[doc(hidden)]
    fn from_row_id(id: i64) -> Self;
    #[doc(hidden)]
    fn row_id(self) -> i64;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::LegId {}
    impl Sealed for ozontrack_domain::StoreId {}
    impl Sealed for ozontrack_domain::DestinationId {}
    impl Sealed for super::Chore {}
    impl Sealed for super::RiskRound {}
}

/// A chore of the whole installation, by its row in `chores` (the migration that creates the
/// table gives each its id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Chore(pub i64);

impl Chore {
    /// The scheduled backup.
    pub const BACKUP: Chore = Chore(1);
    /// Reading the queue depths into the `gauges` table.
    pub const GAUGES: Chore = Chore(2);
    /// Building the evidence packs of postings in a dispute.
    pub const DISPUTES: Chore = Chore(3);
    /// Turning waiting changes into the postings' export lines.
    pub const EXPORT_LINES: Chore = Chore(4);
}

/// One store's risk round, by its row in `risk_rounds` (whose id is the store's): leased apart
/// from the store's sync, so rules run while Ozon is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RiskRound(pub StoreId);

/// A paused store's parcels would look stalled: its rounds wait until it resumes.
impl Leasable for RiskRound {
    const TABLE: &'static str = "risk_rounds";
    const CLAIMABLE: &'static str = " AND NOT EXISTS (SELECT 1 FROM stores s \
         WHERE s.id = risk_rounds.id AND s.paused_at IS NOT NULL)";
    fn from_row_id(id: i64) -> Self {
        RiskRound(StoreId(id))
    }
    fn row_id(self) -> i64 {
        self.0.0
    }
}

/// Chores are leased so that one process does each when several run.
impl Leasable for Chore {
    const TABLE: &'static str = "chores";
    fn from_row_id(id: i64) -> Self {
        Chore(id)
    }
    fn row_id(self) -> i64 {
        self.0
    }
}

/// Destinations are leased for sending: one dispatcher sends to a destination at a time, so
/// its rate windows and digests are decided in one place.
impl Leasable for ozontrack_domain::DestinationId {
    const TABLE: &'static str = "destinations";
    fn from_row_id(id: i64) -> Self {
        ozontrack_domain::DestinationId(id)
    }
    fn row_id(self) -> i64 {
        self.0
    }
}

/// A paused store's legs are not tracked: they stay due and are claimed again on resuming.
/// Asked per candidate leg (two primary-key lookups): a list of the paused stores' postings,
/// built at every claim, cost SQLite more than the claim itself (`BENCHMARKS.md`, polling).
impl Leasable for LegId {
    const TABLE: &'static str = "legs";
    const CLAIMABLE: &'static str = " AND NOT EXISTS (SELECT 1 FROM postings p \
         JOIN stores s ON s.id = p.store_id \
         WHERE p.id = legs.posting_id AND s.paused_at IS NOT NULL)";
    fn from_row_id(id: i64) -> Self {
        LegId(id)
    }
    fn row_id(self) -> i64 {
        self.0
    }
}

/// Stores are leased for syncing: one worker syncs a store at a time, so workers together
/// never exceed the store's Ozon rate limit. A paused store is not synced.
impl Leasable for StoreId {
    const TABLE: &'static str = "stores";
    const CLAIMABLE: &'static str = " AND paused_at IS NULL";
    fn from_row_id(id: i64) -> Self {
        StoreId(id)
    }
    fn row_id(self) -> i64 {
        self.0
    }
}

/// Every table with lease columns: the [`Leasable`] kinds of work.
pub const LEASED_TABLES: [&str; 5] = [
    <LegId as Leasable>::TABLE,
    <StoreId as Leasable>::TABLE,
    <ozontrack_domain::DestinationId as Leasable>::TABLE,
    <Chore as Leasable>::TABLE,
    <RiskRound as Leasable>::TABLE,
];

/// A lease someone holds, as [`Leases::held_leases`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldLease {
    /// The kind of work: one of [`LEASED_TABLES`].
    pub table: &'static str,
    /// The row: which leg, store… or chore ([`Chore::BACKUP`]).
    pub id: i64,
    pub owner: LeaseOwner,
    pub until: DateTime<Utc>,
}

/// What asking for a slot of a shared rate limit got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateSlot {
    /// This slot, held until freed (or until the guard time given).
    Taken(i64),
    /// Every slot is busy; the one freed first is held until this time, unless a request in
    /// flight is answered and frees its slot a window later.
    Busy(DateTime<Utc>),
}

/// Claiming, keeping and giving back work.
pub trait Leases: Clone + Send + Sync + 'static {
    /// Claims up to `limit` rows that are due (`next_check_at <= now`) and not leased by
    /// anyone (no lease, or one that expired), for `owner` until `until`. Two claimers never
    /// get the same row while its lease runs.
    fn claim<K: Leasable>(
        &self,
        owner: &LeaseOwner,
        limit: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<K>, DbError>> + Send;

    /// Claims the one row `id` if it is due and nobody holds it. Returns whether `owner` now
    /// holds it.
    fn claim_one<K: Leasable>(
        &self,
        id: K,
        owner: &LeaseOwner,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, DbError>> + Send;

    /// Extends `owner`'s leases on `ids` to `until`; rows whose lease `owner` lost are left
    /// alone. Returns how many were extended.
    fn extend<K: Leasable>(
        &self,
        ids: &[K],
        owner: &LeaseOwner,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, DbError>> + Send;

    /// Gives up `owner`'s lease on `id` and sets when it is next due (`None`: never).
    /// Returns false, changing nothing, when `owner` no longer holds the lease.
    fn release<K: Leasable>(
        &self,
        id: K,
        owner: &LeaseOwner,
        next_check_at: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<bool, DbError>> + Send;

    /// Gives up `owner`'s lease on `id`, leaving when it is next due as it was. Returns false
    /// when `owner` no longer holds the lease.
    fn let_go<K: Leasable>(
        &self,
        id: K,
        owner: &LeaseOwner,
    ) -> impl Future<Output = Result<bool, DbError>> + Send;

    /// Every lease held on any kind of work, expired or not, in one read: for watching leases
    /// from outside (the chaos run).
    fn held_leases(&self) -> impl Future<Output = Result<Vec<HeldLease>, DbError>> + Send;

    /// Claims up to `limit` stores that have Ozon pushes waiting and that nobody leases (not
    /// even `owner`), paused ones apart, whether or not their sync is due: a push is acted on
    /// only under its store's lease, so one process at a time calls Ozon for a store.
    fn claim_push_stores(
        &self,
        owner: &LeaseOwner,
        limit: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<StoreId>, DbError>> + Send;

    /// Sets when a row is next due, whoever holds it (e.g. "sync this store now").
    fn schedule<K: Leasable>(
        &self,
        id: K,
        next_check_at: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Creates the slots `0..limit` of the rate limit `key` that do not exist yet, free.
    fn add_rate_slots(
        &self,
        key: &str,
        limit: u32,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Takes one of the `limit` slots of the rate limit `key` that is free at `now`, holding it
    /// until `until` (the request's guard: it is freed sooner by `free_rate_slot`); when every
    /// slot is busy, says until when the first is held.
    fn take_rate_slot(
        &self,
        key: &str,
        limit: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<RateSlot, DbError>> + Send;

    /// Holds `slot` of `key` until `until` (a window after the request's answer), then frees it.
    fn free_rate_slot(
        &self,
        key: &str,
        slot: i64,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Takes the lease of one row whether or not it is due, unless someone else holds it.
    /// Returns false when another owner's lease is still running.
    fn lease<K: Leasable>(
        &self,
        id: K,
        owner: &LeaseOwner,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, DbError>> + Send;
}

impl Leases for SqlDatabase {
    async fn claim<K: Leasable>(
        &self,
        owner: &LeaseOwner,
        limit: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<K>, DbError> {
        let table = K::TABLE;
        let claimable = K::CLAIMABLE;
        let due = format!(
            "SELECT id FROM {table} WHERE next_check_at <= $3 \
             AND (lease_until IS NULL OR lease_until <= $3){claimable} \
             ORDER BY next_check_at, id LIMIT $4"
        );
        let ids = self
            .claim_rows(table, &due, owner, limit, now, until)
            .await?;
        Ok(ids.into_iter().map(K::from_row_id).collect())
    }

    async fn claim_one<K: Leasable>(
        &self,
        id: K,
        owner: &LeaseOwner,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let due_and_free = "next_check_at <= $4 AND (lease_until IS NULL OR lease_until <= $4)";
        self.lease_if(id, owner, now, until, due_and_free).await
    }

    async fn claim_push_stores(
        &self,
        owner: &LeaseOwner,
        limit: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<StoreId>, DbError> {
        let waiting = "SELECT id FROM stores WHERE (lease_until IS NULL OR lease_until <= $3) \
             AND paused_at IS NULL \
             AND id IN (SELECT store_id FROM ozon_pushes WHERE processed_at IS NULL) \
             ORDER BY id LIMIT $4";
        let ids = self
            .claim_rows("stores", waiting, owner, limit, now, until)
            .await?;
        Ok(ids.into_iter().map(StoreId).collect())
    }

    async fn add_rate_slots(&self, key: &str, limit: u32) -> Result<(), DbError> {
        // `WHERE true` keeps SQLite from reading the upsert's ON as a join's.
        let sql = "WITH RECURSIVE n(s) AS (SELECT 0 UNION ALL SELECT s + 1 FROM n WHERE s + 1 < $2) \
                   INSERT INTO rate_slots (key, slot, busy_until) \
                   SELECT $1, s, $3 FROM n WHERE true ON CONFLICT (key, slot) DO NOTHING";
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        on_db!(&self.db, |pool| {
            sqlx::query(sql)
                .bind(key)
                .bind(i64::from(limit))
                .bind(epoch)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn take_rate_slot(
        &self,
        key: &str,
        limit: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<RateSlot, DbError> {
        let free = "SELECT slot FROM rate_slots WHERE key = $1 AND slot < $2 AND busy_until <= $3 \
                    ORDER BY busy_until, slot LIMIT 1";
        let first_free = "SELECT MIN(busy_until) FROM rate_slots WHERE key = $1 AND slot < $2";
        let take = |lock: &str| {
            AssertSqlSafe(format!(
                "UPDATE rate_slots SET busy_until = $4 \
                 WHERE key = $1 AND slot = ({free}{lock}) RETURNING slot"
            ))
        };
        let slot = match &self.db {
            Db::Sqlite(pool) => {
                let mut tx = pool.begin_write().await?;
                let slot = sqlx::query_scalar::<_, i64>(take(""))
                    .bind(key)
                    .bind(i64::from(limit))
                    .bind(now)
                    .bind(until)
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                slot
            }
            // A slot another process is taking is skipped, not waited for.
            Db::Postgres(pool) => {
                sqlx::query_scalar::<_, i64>(take(" FOR UPDATE SKIP LOCKED"))
                    .bind(key)
                    .bind(i64::from(limit))
                    .bind(now)
                    .bind(until)
                    .fetch_optional(pool)
                    .await?
            }
        };
        if let Some(slot) = slot {
            return Ok(RateSlot::Taken(slot));
        }
        let busy_until = on_db!(&self.db, |pool| {
            sqlx::query_scalar::<_, Option<DateTime<Utc>>>(first_free)
                .bind(key)
                .bind(i64::from(limit))
                .fetch_one(pool)
                .await?
        });
        // No slots at all (none were added): nothing frees; say so as "busy until now".
        Ok(RateSlot::Busy(busy_until.unwrap_or(now)))
    }

    async fn free_rate_slot(
        &self,
        key: &str,
        slot: i64,
        until: DateTime<Utc>,
    ) -> Result<(), DbError> {
        on_db!(&self.db, |pool| {
            sqlx::query("UPDATE rate_slots SET busy_until = $1 WHERE key = $2 AND slot = $3")
                .bind(until)
                .bind(key)
                .bind(slot)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn let_go<K: Leasable>(&self, id: K, owner: &LeaseOwner) -> Result<bool, DbError> {
        let sql = AssertSqlSafe(format!(
            "UPDATE {} SET lease_owner = NULL, lease_until = NULL \
             WHERE id = $1 AND lease_owner = $2",
            K::TABLE
        ));
        let done = on_db!(&self.db, |pool| {
            sqlx::query(sql)
                .bind(id.row_id())
                .bind(owner.as_str())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    async fn held_leases(&self) -> Result<Vec<HeldLease>, DbError> {
        let sql = AssertSqlSafe(
            LEASED_TABLES
                .iter()
                .map(|table| {
                    format!(
                        "SELECT '{table}' AS kind, id, lease_owner, lease_until FROM {table} \
                         WHERE lease_owner IS NOT NULL AND lease_until IS NOT NULL"
                    )
                })
                .collect::<Vec<_>>()
                .join(" UNION ALL "),
        );
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, (String, i64, String, DateTime<Utc>)>(sql)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(kind, id, owner, until)| {
                let table =
                    LEASED_TABLES
                        .iter()
                        .find(|t| **t == kind)
                        .ok_or_else(|| DbError::Corrupt {
                            table: "leases",
                            id: 0,
                            reason: format!("a lease read from an unknown table {kind}"),
                        })?;
                Ok(HeldLease {
                    table,
                    id,
                    owner: LeaseOwner::new(owner),
                    until,
                })
            })
            .collect()
    }

    async fn extend<K: Leasable>(
        &self,
        ids: &[K],
        owner: &LeaseOwner,
        until: DateTime<Utc>,
    ) -> Result<u64, DbError> {
        let sql = format!(
            "UPDATE {} SET lease_until = $1 WHERE id = $2 AND lease_owner = $3",
            K::TABLE
        );
        let extended = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let mut extended = 0;
            for id in ids {
                let done = sqlx::query(AssertSqlSafe(sql.clone()))
                    .bind(until)
                    .bind(id.row_id())
                    .bind(owner.as_str())
                    .execute(&mut *tx)
                    .await?;
                extended += done.rows_affected();
            }
            tx.commit().await?;
            extended
        });
        Ok(extended)
    }

    async fn release<K: Leasable>(
        &self,
        id: K,
        owner: &LeaseOwner,
        next_check_at: Option<DateTime<Utc>>,
    ) -> Result<bool, DbError> {
        let sql = AssertSqlSafe(format!(
            "UPDATE {} SET lease_owner = NULL, lease_until = NULL, next_check_at = $1 \
             WHERE id = $2 AND lease_owner = $3",
            K::TABLE
        ));
        let done = on_db!(&self.db, |pool| {
            sqlx::query(sql)
                .bind(next_check_at)
                .bind(id.row_id())
                .bind(owner.as_str())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    async fn schedule<K: Leasable>(
        &self,
        id: K,
        next_check_at: Option<DateTime<Utc>>,
    ) -> Result<(), DbError> {
        let sql = AssertSqlSafe(format!(
            "UPDATE {} SET next_check_at = $1 WHERE id = $2",
            K::TABLE
        ));
        on_db!(&self.db, |pool| {
            sqlx::query(sql)
                .bind(next_check_at)
                .bind(id.row_id())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn lease<K: Leasable>(
        &self,
        id: K,
        owner: &LeaseOwner,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let free_or_ours = "lease_until IS NULL OR lease_until <= $4 OR lease_owner = $1";
        self.lease_if(id, owner, now, until, free_or_ours).await
    }
}

impl SqlDatabase {
    /// Leases the row `id` to `owner` until `until` when `condition` holds (SQL over the
    /// table's columns; `$1` is the owner, `$4` now). Returns whether it did.
    async fn lease_if<K: Leasable>(
        &self,
        id: K,
        owner: &LeaseOwner,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        condition: &str,
    ) -> Result<bool, DbError> {
        let sql = AssertSqlSafe(format!(
            "UPDATE {} SET lease_owner = $1, lease_until = $2 WHERE id = $3 AND ({condition})",
            K::TABLE
        ));
        let done = on_db!(&self.db, |pool| {
            sqlx::query(sql)
                .bind(owner.as_str())
                .bind(until)
                .bind(id.row_id())
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// Leases the rows of `table` that `due` selects (`$3`: now, `$4`: the limit) to `owner`
    /// until `until`, ids in order. Two claimers never get the same row while its lease runs.
    async fn claim_rows(
        &self,
        table: &str,
        due: &str,
        owner: &LeaseOwner,
        limit: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<i64>, DbError> {
        let mut ids: Vec<i64> = match &self.db {
            Db::Sqlite(pool) => {
                // One writer at a time: the select and the update cannot interleave with
                // another claimer's inside this IMMEDIATE transaction.
                let sql = AssertSqlSafe(format!(
                    "UPDATE {table} SET lease_owner = $1, lease_until = $2 \
                     WHERE id IN ({due}) RETURNING id"
                ));
                let mut tx = pool.begin_write().await?;
                let ids = sqlx::query_scalar::<_, i64>(sql)
                    .bind(owner.as_str())
                    .bind(until)
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                ids
            }
            Db::Postgres(pool) => {
                // Rows another claimer is locking are skipped, not waited for.
                let sql = AssertSqlSafe(format!(
                    "UPDATE {table} SET lease_owner = $1, lease_until = $2 \
                     WHERE id IN ({due} FOR UPDATE SKIP LOCKED) RETURNING id"
                ));
                sqlx::query_scalar::<_, i64>(sql)
                    .bind(owner.as_str())
                    .bind(until)
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await?
            }
        };
        ids.sort_unstable();
        Ok(ids)
    }
}
