//! Syncing one store's postings from Ozon: plan the scans (a back-fill by order-time windows
//! the first time, then status changes, late arrivals and FBO postings still in progress), walk
//! each scan's pages with a checkpoint stored in the same transaction as every page, and move
//! the store's watermark when the whole plan is done. A sync that dies half-way resumes at the
//! first page it had not stored.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use ozontrack_db::{
    Database, DbError, LeaseOwner, ScanKind, ScanPlan, ScanProgress, ScanPurpose, ScanRecord,
    StoreRecord,
};
use ozontrack_domain::{Clock, PostingNumber, Scheme, StoreId, SyncedPosting};
use ozontrack_http::Limiters;
use ozontrack_ozon::{
    ClientSettings, ListFilter, Normalized, OzonClient, OzonError, PAGE_LIMIT, normalize,
};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::Instrument as _;

/// How syncing behaves; every value has a configuration key.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// How far back the first sync (and `--full`) reaches, in days of order time.
    pub backfill_days: i64,
    /// Order-time window of one back-fill scan (Ozon allows at most a year).
    pub window_days: i64,
    /// Incremental syncs list again the postings ordered this many hours before the last
    /// sync: postings can appear in Ozon's lists hours after their order time.
    pub recent_hours: i64,
    /// Status-change windows start this much before the last sync, for clock skew.
    pub overlap_minutes: i64,
    /// FBO postings are watched this many days after delivery (buyers dispute deliveries;
    /// the FBO list cannot be asked for changes, only for named postings).
    pub dispute_days: i64,
    /// Scans walked at the same time (each is a chain of dependent pages).
    pub concurrency: usize,
    /// Requests per second per Client-Id (Ozon: 50).
    pub rate_limit: usize,
    /// How often a worker syncs each store.
    pub interval: Duration,
    /// How long a store's lease lasts without renewal.
    pub lease: Duration,
    pub client: ClientSettings,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            backfill_days: 90,
            window_days: 10,
            recent_hours: 48,
            overlap_minutes: 10,
            dispute_days: 14,
            concurrency: 4,
            rate_limit: 50,
            interval: Duration::from_secs(300),
            lease: Duration::from_secs(120),
            client: ClientSettings::default(),
        }
    }
}

/// Why a sync stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("store {store:?} is being synced by {owner}")]
    Busy { store: String, owner: String },
    #[error(transparent)]
    Ozon(#[from] OzonError),
    #[error("storage failed")]
    Store(#[from] DbError),
    /// The store has no API key yet (`DbError::NoApiAccess`): nothing to sync with.
    #[error(transparent)]
    NoApiAccess(DbError),
    #[error("Ozon returned the same cursor twice for store {store:?}; stopped to avoid a loop")]
    CursorLoop { store: String },
    #[error("could not build the HTTP client: {0}")]
    Http(String),
    #[error("a sync task stopped: {0}")]
    Task(String),
}

/// Counters of a sync, shared with whoever shows progress.
#[derive(Debug, Default)]
pub struct Progress {
    pub pages: AtomicU64,
    pub postings: AtomicU64,
    pub new_postings: AtomicU64,
    pub status_events: AtomicU64,
    /// Postings refused by the normalizer (no valid posting number).
    pub skipped: AtomicU64,
    pub scans_total: AtomicU64,
    pub scans_done: AtomicU64,
}

/// What one sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncReport {
    pub store: String,
    /// Whether the plan was a back-fill (first sync or `--full`).
    pub full: bool,
    /// Whether it picked up a plan an earlier, interrupted sync had left.
    pub resumed: bool,
    pub scans: u64,
    pub pages: u64,
    pub postings: u64,
    pub new_postings: u64,
    pub status_events: u64,
    pub skipped: u64,
    pub watermark: DateTime<Utc>,
}

/// The plan of a sync at `now`: pure, so that it can be checked without Ozon.
pub fn plan(
    now: DateTime<Utc>,
    synced_until: Option<DateTime<Utc>>,
    full: bool,
    active_fbo: &[PostingNumber],
    settings: &SyncSettings,
) -> Vec<ScanPlan> {
    let scan = |kind, purpose, since, until| ScanPlan {
        kind,
        purpose,
        full,
        planned_at: now,
        since,
        until,
        changed_from: None,
        changed_to: None,
        posting_numbers: Vec::new(),
    };
    // Ozon refuses windows over a year.
    let year_ago = now - chrono::Duration::days(365);
    let mut plan = Vec::new();
    match synced_until {
        Some(watermark) if !full => {
            let changed_from = watermark - chrono::Duration::minutes(settings.overlap_minutes);
            plan.push(ScanPlan {
                changed_from: Some(changed_from),
                changed_to: Some(now),
                ..scan(ScanKind::Fbs, ScanPurpose::Changed, year_ago, now)
            });
            let recent = (watermark - chrono::Duration::hours(settings.recent_hours)).max(year_ago);
            plan.push(scan(ScanKind::Fbs, ScanPurpose::Recent, recent, now));
            plan.push(scan(ScanKind::Fbo, ScanPurpose::Recent, recent, now));
            let page = usize::try_from(PAGE_LIMIT).unwrap_or(100);
            for chunk in active_fbo.chunks(page) {
                plan.push(ScanPlan {
                    posting_numbers: chunk.iter().map(|n| n.as_str().to_owned()).collect(),
                    ..scan(ScanKind::Fbo, ScanPurpose::Active, year_ago, now)
                });
            }
        }
        _ => {
            let days = settings.backfill_days.clamp(1, 365);
            let window = chrono::Duration::days(settings.window_days.clamp(1, 365));
            let mut since = now - chrono::Duration::days(days);
            while since < now {
                let until = (since + window).min(now);
                for kind in [ScanKind::Fbs, ScanKind::Fbo] {
                    plan.push(ScanPlan {
                        full: true,
                        ..scan(kind, ScanPurpose::Backfill, since, until)
                    });
                }
                since = until;
            }
        }
    }
    plan
}

/// Syncs stores; one per call of [`Syncer::sync_store`], or the next due one per
/// [`Syncer::run_once`].
#[derive(Debug, Clone)]
pub struct Syncer<D: Database> {
    db: D,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    limiters: Limiters,
    settings: SyncSettings,
    owner: LeaseOwner,
}

impl<D: Database> Syncer<D> {
    pub fn new(
        db: D,
        clock: Arc<dyn Clock>,
        limiters: Limiters,
        settings: SyncSettings,
        owner: LeaseOwner,
    ) -> Result<Self, SyncError> {
        let http = ozontrack_http::client(settings.client.timeout)
            .map_err(|e| SyncError::Http(e.to_string()))?;
        Ok(Self {
            db,
            clock,
            http,
            limiters,
            settings,
            owner,
        })
    }

    pub fn settings(&self) -> &SyncSettings {
        &self.settings
    }

    /// The Ozon client of one store, sharing its Client-Id's limiter.
    pub async fn client(&self, store: &StoreRecord) -> Result<OzonClient, SyncError> {
        let credentials = self
            .db
            .store_credentials(store.id)
            .await
            .map_err(|e| match e {
                DbError::NoApiAccess(_) => SyncError::NoApiAccess(e),
                other => SyncError::Store(other),
            })?;
        let limiter = self
            .limiters
            .for_client(credentials.client_id.get(), self.settings.rate_limit);
        Ok(OzonClient::new(
            self.http.clone(),
            &credentials.base_url,
            credentials.client_id,
            credentials.api_key,
            store.name.as_str(),
            limiter,
            self.settings.client.clone(),
        ))
    }

    /// Who this syncer's leases belong to.
    pub fn owner(&self) -> &LeaseOwner {
        &self.owner
    }

    pub(crate) fn lease_until(&self) -> DateTime<Utc> {
        self.clock.now()
            + self.clock.lasting(
                chrono::Duration::from_std(self.settings.lease)
                    .unwrap_or(chrono::Duration::minutes(2)),
            )
    }

    /// Syncs one store, holding its lease so that no other worker syncs it meanwhile; the
    /// lease is released with the next sync due after `interval`.
    pub async fn sync_store(
        &self,
        record: &StoreRecord,
        full: bool,
        progress: Arc<Progress>,
    ) -> Result<SyncReport, SyncError> {
        let now = self.clock.now();
        if !self
            .db
            .lease(record.id, &self.owner, now, self.lease_until())
            .await?
        {
            return Err(SyncError::Busy {
                store: record.name.as_str().to_owned(),
                owner: "another worker".into(),
            });
        }
        let span = tracing::info_span!("sync", store = record.name.as_str(), full);
        let result = self
            .sync_leased(record, full, progress)
            .instrument(span)
            .await;
        if let Ok(report) = &result {
            tracing::debug!(
                store = record.name.as_str(),
                pages = report.pages,
                postings = report.postings,
                new = report.new_postings,
                "store synced"
            );
        }
        let next = match &result {
            Ok(_) => {
                self.clock.now()
                    + chrono::Duration::from_std(self.settings.interval).unwrap_or_default()
            }
            // Try again soon, but not in a tight loop.
            Err(_) => self.clock.now() + chrono::Duration::minutes(1),
        };
        self.db.release(record.id, &self.owner, Some(next)).await?;
        result
    }

    /// Claims the next store that is due and syncs it; `None` when none is due.
    pub async fn run_once(&self) -> Result<Option<SyncReport>, SyncError> {
        let now = self.clock.now();
        let claimed: Vec<StoreId> = self
            .db
            .claim(&self.owner, 1, now, self.lease_until())
            .await?;
        let Some(id) = claimed.first() else {
            return Ok(None);
        };
        let Some(record) = self.db.store(*id).await? else {
            return Ok(None);
        };
        let report = self.sync_store(&record, false, Arc::default()).await?;
        metrics::counter!("ozontrack_sync_pages_total").increment(report.pages);
        metrics::counter!("ozontrack_sync_postings_total").increment(report.postings);
        Ok(Some(report))
    }

    async fn sync_leased(
        &self,
        record: &StoreRecord,
        full: bool,
        progress: Arc<Progress>,
    ) -> Result<SyncReport, SyncError> {
        // The caller's record may predate an earlier sync; the watermark is read under the lease.
        let record = &self
            .db
            .store(record.id)
            .await?
            .ok_or(DbError::StoreNotFound(record.id))?;
        let client = self.client(record).await?;
        let existing = self.db.scans(record.id).await?;
        let resumed = !existing.is_empty() && (!full || existing.iter().all(|s| s.plan.full));
        let scans = if resumed {
            existing
        } else {
            let disputable = self.clock.now() - chrono::Duration::days(self.settings.dispute_days);
            let active = self
                .db
                .active_postings(record.id, Scheme::Fbo, disputable)
                .await?;
            let plan = plan(
                self.clock.now(),
                record.synced_until,
                full,
                &active,
                &self.settings,
            );
            self.db
                .plan_scans(record.id, &plan, self.clock.now())
                .await?
        };
        let watermark = scans
            .first()
            .map_or_else(|| self.clock.now(), |s| s.plan.planned_at);
        let is_full = scans.iter().any(|s| s.plan.full);
        progress
            .scans_total
            .store(scans.len() as u64, Ordering::Relaxed);
        progress.scans_done.store(
            scans.iter().filter(|s| s.done).count() as u64,
            Ordering::Relaxed,
        );
        let semaphore = Arc::new(Semaphore::new(self.settings.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        for scan in scans.into_iter().filter(|s| !s.done) {
            let walker = ScanWalker {
                db: self.db.clone(),
                clock: Arc::clone(&self.clock),
                client: client.clone(),
                progress: Arc::clone(&progress),
                owner: self.owner.clone(),
                lease: self.settings.lease,
            };
            let semaphore = Arc::clone(&semaphore);
            tasks.spawn(async move {
                // The semaphore is never closed; a closed one would only mean "run anyway".
                let _slot = semaphore.acquire_owned().await;
                walker.walk(scan).await
            });
        }
        let mut failure = None;
        while let Some(joined) = tasks.join_next().await {
            let outcome = joined.unwrap_or_else(|e| Err(SyncError::Task(e.to_string())));
            if let Err(e) = outcome {
                // Stop the others: what they stored is checkpointed, the next run resumes.
                tasks.abort_all();
                failure.get_or_insert(e);
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        self.db.finish_sync(record.id, watermark).await?;
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Ok(SyncReport {
            store: record.name.as_str().to_owned(),
            full: is_full,
            resumed,
            scans: get(&progress.scans_total),
            pages: get(&progress.pages),
            postings: get(&progress.postings),
            new_postings: get(&progress.new_postings),
            status_events: get(&progress.status_events),
            skipped: get(&progress.skipped),
            watermark,
        })
    }

    /// Fetches one posting again (a push said it changed) and stores it; false when Ozon does
    /// not know it (yet).
    pub async fn refetch(
        &self,
        client: &OzonClient,
        record: &StoreRecord,
        number: &PostingNumber,
        fbo: bool,
        changed_at: Option<DateTime<Utc>>,
    ) -> Result<bool, SyncError> {
        let fetched = if fbo {
            client
                .fbo_get(number)
                .await
                .map(|p| p.map(|p| normalize::fbo(record.id, &p)))
        } else {
            client
                .fbs_get(number)
                .await
                .map(|p| p.map(|p| normalize::fbs(record.id, &p)))
        };
        let normalized = match fetched {
            Ok(Some(Ok(n))) => n,
            // The decoder logged and counted what it left out.
            Ok(None) => return Ok(false),
            Ok(Some(Err(e))) => {
                tracing::warn!(store = record.name.as_str(), error = %e, "Ozon sent an unreadable posting");
                return Ok(false);
            }
            Err(e) if e.is_not_found() => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let now = self.clock.now();
        // The push's change time places the event where it happened, but never in the future.
        let observed_at = changed_at.map_or(now, |t| t.min(now));
        let synced =
            SyncedPosting::new(normalized.posting, normalized.provider_status, observed_at);
        self.db.record_page(&[synced], None, now).await?;
        Ok(true)
    }
}

impl<D: Database> crate::supervise::Worker for Syncer<D> {
    fn name(&self) -> &'static str {
        "sync"
    }

    async fn round(&self) -> bool {
        match self.run_once().await {
            // Another store may be due right away.
            Ok(report) => report.is_some(),
            Err(e) => {
                // The store is due again in a minute; no spinning meanwhile.
                tracing::warn!(error = %crate::Chain(&e), "store sync failed");
                false
            }
        }
    }
}

/// Walks one scan's pages.
struct ScanWalker<D: Database> {
    db: D,
    clock: Arc<dyn Clock>,
    client: OzonClient,
    progress: Arc<Progress>,
    owner: LeaseOwner,
    lease: Duration,
}

impl<D: Database> ScanWalker<D> {
    async fn walk(self, scan: ScanRecord) -> Result<(), SyncError> {
        let filter = ListFilter {
            since: scan.plan.since,
            to: scan.plan.until,
            changed_from: scan.plan.changed_from,
            changed_to: scan.plan.changed_to,
            posting_numbers: scan.plan.posting_numbers.clone(),
        };
        let mut cursor = scan.cursor.clone();
        let lease = self
            .clock
            .lasting(chrono::Duration::from_std(self.lease).unwrap_or_default());
        // Renew the store's lease when half of it has run, not after every page: each renewal
        // is a write, and SQLite writes one at a time.
        let mut renew_at = self.clock.now() + lease / 2;
        loop {
            let (fetched, refused, next, has_next) = match scan.plan.kind {
                ScanKind::Fbs => {
                    let page = self.client.fbs_list(&filter, &cursor).await?;
                    let postings = page
                        .postings
                        .iter()
                        .map(|p| normalize::fbs(scan.store_id, p))
                        .collect::<Vec<_>>();
                    (postings, page.refused.len(), page.cursor, page.has_next)
                }
                ScanKind::Fbo => {
                    let page = self.client.fbo_list(&filter, &cursor).await?;
                    let postings = page
                        .postings
                        .iter()
                        .map(|p| normalize::fbo(scan.store_id, p))
                        .collect::<Vec<_>>();
                    (postings, page.refused.len(), page.cursor, page.has_next)
                }
            };
            // Postings the decoder left out (no posting number) count as skipped.
            self.progress
                .skipped
                .fetch_add(refused as u64, Ordering::Relaxed);
            let done = !has_next || next.is_empty();
            if !done && next == cursor {
                return Err(SyncError::CursorLoop {
                    store: self.client.store_name().to_owned(),
                });
            }
            let now = self.clock.now();
            let synced: Vec<SyncedPosting> = fetched
                .into_iter()
                .filter_map(|n| self.accept(n))
                .map(|n| SyncedPosting::new(n.posting, n.provider_status, now))
                .collect();
            let progress = ScanProgress {
                scan: scan.id,
                cursor: if done { String::new() } else { next.clone() },
                done,
            };
            let outcome = self.db.record_page(&synced, Some(&progress), now).await?;
            self.progress.pages.fetch_add(1, Ordering::Relaxed);
            self.progress
                .postings
                .fetch_add(synced.len() as u64, Ordering::Relaxed);
            self.progress
                .new_postings
                .fetch_add(outcome.new_postings, Ordering::Relaxed);
            self.progress
                .status_events
                .fetch_add(outcome.status_events, Ordering::Relaxed);
            // Keep the store's lease while the sync runs; a lost lease means another worker
            // took over (ours expired), so stop.
            if now >= renew_at
                && self
                    .db
                    .extend(&[scan.store_id], &self.owner, now + lease)
                    .await?
                    == 0
            {
                return Err(SyncError::Busy {
                    store: self.client.store_name().to_owned(),
                    owner: "another worker (our lease ran out)".into(),
                });
            }
            if now >= renew_at {
                renew_at = now + lease / 2;
            }
            if done {
                self.progress.scans_done.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            cursor = next;
        }
    }

    fn accept(&self, n: Result<Normalized, ozontrack_ozon::NormalizeError>) -> Option<Normalized> {
        match n {
            Ok(n) => {
                for warning in &n.warnings {
                    tracing::debug!(posting = n.posting.number.as_str(), %warning, "partly unreadable posting");
                }
                Some(n)
            }
            Err(e) => {
                tracing::warn!(error = %e, "skipped a posting Ozon sent without a valid number");
                self.progress.skipped.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn the_first_sync_back_fills_in_windows_of_at_most_the_configured_days() {
        let settings = SyncSettings::default();
        let plan = plan(now(), None, false, &[], &settings);
        assert_eq!(plan.len(), 18, "90 days in 10-day windows, FBS and FBO");
        assert!(
            plan.iter()
                .all(|s| s.purpose == ScanPurpose::Backfill && s.full)
        );
        assert!(
            plan.iter()
                .all(|s| s.until - s.since <= chrono::Duration::days(10))
        );
        assert_eq!(plan[0].since, now() - chrono::Duration::days(90));
        assert_eq!(plan.last().unwrap().until, now());
    }

    #[test]
    fn an_incremental_sync_asks_for_changes_late_arrivals_and_fbo_postings_in_progress() {
        let settings = SyncSettings::default();
        let last = now() - chrono::Duration::minutes(5);
        let active: Vec<PostingNumber> = (0..150)
            .map(|i| PostingNumber::parse(&format!("1234-{i:04}-1")).unwrap())
            .collect();
        let plan = plan(now(), Some(last), false, &active, &settings);
        let purposes: Vec<_> = plan.iter().map(|s| (s.kind, s.purpose)).collect();
        assert_eq!(
            purposes,
            [
                (ScanKind::Fbs, ScanPurpose::Changed),
                (ScanKind::Fbs, ScanPurpose::Recent),
                (ScanKind::Fbo, ScanPurpose::Recent),
                (ScanKind::Fbo, ScanPurpose::Active),
                (ScanKind::Fbo, ScanPurpose::Active),
            ]
        );
        assert_eq!(
            plan[0].changed_from,
            Some(last - chrono::Duration::minutes(10))
        );
        assert_eq!(plan[1].since, last - chrono::Duration::hours(48));
        assert_eq!(plan[3].posting_numbers.len(), 100);
        assert_eq!(plan[4].posting_numbers.len(), 50);
        assert!(
            plan.iter()
                .all(|s| s.until - s.since <= chrono::Duration::days(365))
        );
    }

    #[test]
    fn full_forces_a_back_fill_even_after_earlier_syncs() {
        let plan = plan(now(), Some(now()), true, &[], &SyncSettings::default());
        assert!(plan.iter().all(|s| s.purpose == ScanPurpose::Backfill));
    }
}
