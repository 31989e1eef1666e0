//! Risk alerts: what the evaluator reads (candidates, current alerts, lane history), one
//! round's alert changes with their history and penalty points in one transaction, and the
//! listings behind the inbox, `ozontrack alerts` and `ozontrack penalties`.

use std::future::Future;

use chrono::{DateTime, Utc};
use ozontrack_domain::alert::{
    AlertChange, AlertHistoryEntry, AlertRecord, AlertState, AlertView, Resolution,
};
use ozontrack_domain::finding::{Action, Finding, Reason, RuleKind, Severity, Why};
use ozontrack_domain::{PostingId, PostingNumber, StoreId};

use ozontrack_domain::notify::{AlertNotice, Notice, PenaltyLevel, PenaltyNotice};

use crate::DbError;
use crate::leases::{LeaseOwner, Leases, RiskRound};
use crate::outbox::Enqueue;
use crate::sql::{BeginWrite, Db, ROWS_PER_STATEMENT, SqlDatabase, final_statuses};

/// A store's risk round as a process claimed it: what the earlier rounds covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskRoundState {
    pub store: StoreId,
    /// Every change written before this has been evaluated; none: never.
    pub evaluated_until: Option<DateTime<Utc>>,
    /// When the last full round began; none: never.
    pub full_at: Option<DateTime<Utc>>,
}

/// Which alerts to list.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    /// Only this alert.
    pub id: Option<i64>,
    /// Only these stores' alerts (an empty list matches nothing); none: every store's.
    pub stores: Option<Vec<StoreId>>,
    pub posting: Option<PostingId>,
    /// Only alerts not resolved.
    pub open_only: bool,
    /// Only alerts at least this severe.
    pub min_severity: Option<Severity>,
    /// Only alerts at most this severe.
    pub max_severity: Option<Severity>,
    /// Only this rule's.
    pub rule: Option<RuleKind>,
    /// Only alerts in this state.
    pub state: Option<AlertState>,
    /// The most severe first (then newest), instead of newest first.
    pub worst_first: bool,
    /// At most this many, newest first; 0: no limit.
    pub limit: u32,
}

/// What one evaluation decided for one posting.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskOutcome {
    pub posting: PostingId,
    pub posting_number: PostingNumber,
    pub store: StoreId,
    pub changes: Vec<AlertChange>,
    /// When its findings next change on their own (`None`: never).
    pub next_due: Option<DateTime<Utc>>,
    /// What a newly opened whitelist violation costs the store.
    pub penalty: PenaltyPolicy,
}

/// The store's penalty points: what a violation adds, and the thresholds its rolling total is
/// watched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PenaltyPolicy {
    pub points: i64,
    pub warn_at: i64,
    pub suspension_at: i64,
    pub window_days: i64,
}

impl From<&ozontrack_domain::rules::ComplianceRules> for PenaltyPolicy {
    fn from(rules: &ozontrack_domain::rules::ComplianceRules) -> Self {
        Self {
            points: rules.points_per_violation,
            warn_at: rules.warn_at_points,
            suspension_at: rules.suspension_points,
            window_days: rules.points_window_days,
        }
    }
}

impl PenaltyPolicy {
    /// The thresholds a violation of `self.points` took the total to `total` across.
    pub fn crossed(&self, store: StoreId, total: i64, at: DateTime<Utc>) -> Vec<Notice> {
        let before = total - self.points;
        [
            (PenaltyLevel::Warning, self.warn_at),
            (PenaltyLevel::Suspension, self.suspension_at),
        ]
        .into_iter()
        .filter(|(_, threshold)| before < *threshold && total >= *threshold)
        .map(|(level, threshold)| {
            Notice::Penalty(PenaltyNotice {
                store,
                level,
                total,
                threshold,
                window_days: self.window_days,
                at,
            })
        })
        .collect()
    }
}

/// How many alerts one round changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RiskApplied {
    pub opened: u64,
    pub escalated: u64,
    pub updated: u64,
    pub resolved: u64,
}

impl RiskApplied {
    pub fn add(&mut self, other: RiskApplied) {
        self.opened += other.opened;
        self.escalated += other.escalated;
        self.updated += other.updated;
        self.resolved += other.resolved;
    }
}

/// A whitelist violation on the store's penalty-point ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PenaltyRecord {
    pub posting_number: PostingNumber,
    pub tracking_number: String,
    pub carrier: String,
    pub points: i64,
    pub at: DateTime<Utc>,
}

/// One event of a delivered leg, for learning a lane's normal quiet gaps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GapSample {
    pub leg: i64,
    pub carrier: String,
    pub status_sub: String,
    pub occurred_at: DateTime<Utc>,
}

/// Alerts, their lifecycle and the penalty ledger.
pub trait Alerts: Clone + Send + Sync + 'static {
    /// Postings of `store` the rules should look at again: those whose row or legs changed
    /// after `changed_since`, or whose next threshold is due by `now`; with no `changed_since`
    /// (a full round), every posting still in play and every one with an open alert.
    fn risk_candidates(
        &self,
        store: StoreId,
        changed_since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<PostingId>, DbError>> + Send;

    /// The open alerts of the postings, and those a user resolved by hand.
    fn alert_views(
        &self,
        ids: &[PostingId],
    ) -> impl Future<Output = Result<Vec<(PostingId, ozontrack_domain::alert::AlertView)>, DbError>> + Send;

    /// Applies one round's alert changes (with their history and penalty points) and each
    /// posting's next due time, in one transaction, with the messages they imply for
    /// `notify`'s destinations (the transactional outbox). A change to an alert another
    /// evaluator already moved is skipped, and so are its messages.
    fn apply_risk(
        &self,
        outcomes: &[RiskOutcome],
        now: DateTime<Utc>,
        notify: &Enqueue<'_>,
    ) -> impl Future<Output = Result<RiskApplied, DbError>> + Send;

    /// Leases up to `limit` stores' risk rounds that are due and that nobody holds (paused
    /// stores apart) to `owner` until `until`, with what each store's earlier rounds covered.
    /// A store without a round yet gets one, due at once.
    fn claim_risk_rounds(
        &self,
        owner: &LeaseOwner,
        limit: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<RiskRoundState>, DbError>> + Send;

    /// Ends `owner`'s round of `store` begun at `started`: the watermark moves forward to it
    /// (never back), a full round is remembered, the lease is given up and the next round is
    /// due at `next`. Returns false, changing nothing, when `owner` lost the lease (another
    /// process is doing the round again).
    fn finish_risk_round(
        &self,
        store: StoreId,
        owner: &LeaseOwner,
        started: DateTime<Utc>,
        full: bool,
        next: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, DbError>> + Send;

    /// Alerts by the filter, newest first.
    fn alerts(
        &self,
        filter: &AlertFilter,
    ) -> impl Future<Output = Result<Vec<AlertRecord>, DbError>> + Send;

    /// How many alerts the filter matches (its limit aside), counted up to `at_most + 1`: a
    /// larger number is "more than `at_most`".
    fn count_alerts(
        &self,
        filter: &AlertFilter,
        at_most: u64,
    ) -> impl Future<Output = Result<u64, DbError>> + Send;

    /// Every state an alert went through, oldest first.
    fn alert_history(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Vec<AlertHistoryEntry>, DbError>> + Send;

    /// A user acknowledges an open alert. False (changing nothing) when it is resolved.
    fn acknowledge_alert(
        &self,
        id: i64,
        by: &str,
        note: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, DbError>> + Send;

    /// A user resolves an open alert. False (changing nothing) when it is resolved already.
    fn resolve_alert(
        &self,
        id: i64,
        by: &str,
        note: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, DbError>> + Send;

    /// The store's penalty-point ledger from `since` on.
    fn penalties(
        &self,
        store: StoreId,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<PenaltyRecord>, DbError>> + Send;

    /// The events of the `legs` most recently delivered legs, by leg and time.
    fn gap_samples(
        &self,
        legs: u32,
    ) -> impl Future<Output = Result<Vec<GapSample>, DbError>> + Send;
}

#[derive(sqlx::FromRow)]
struct AlertRow {
    id: i64,
    store_id: i64,
    posting_id: i64,
    posting_number: String,
    rule: String,
    leg_number: Option<String>,
    severity: String,
    state: String,
    since: DateTime<Utc>,
    why: String,
    reason: Option<String>,
    actions: String,
    evidence: String,
    opened_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    acknowledged_at: Option<DateTime<Utc>>,
    acknowledged_by: Option<String>,
    ack_note: Option<String>,
    resolved_at: Option<DateTime<Utc>>,
    resolution: Option<String>,
    resolved_by: Option<String>,
    resolve_note: Option<String>,
}

fn corrupt(id: i64, what: &str, value: &str) -> DbError {
    DbError::Corrupt {
        table: "alerts",
        id,
        reason: format!("unknown {what} {value:?}"),
    }
}

fn rule_of(id: i64, text: &str) -> Result<RuleKind, DbError> {
    RuleKind::parse(text).map_err(|_| corrupt(id, "rule", text))
}

fn severity_of(id: i64, text: &str) -> Result<Severity, DbError> {
    Severity::parse(text).map_err(|_| corrupt(id, "severity", text))
}

fn state_of(id: i64, text: &str) -> Result<AlertState, DbError> {
    AlertState::parse(text).map_err(|_| corrupt(id, "state", text))
}

fn resolution_of(id: i64, text: Option<&str>) -> Result<Option<Resolution>, DbError> {
    text.map(|t| Resolution::parse(t).map_err(|_| corrupt(id, "resolution", t)))
        .transpose()
}

// Lists are stored as comma-joined codes (actions and fingerprints hold no commas).
/// A finding's reason as stored: its JSON (a code and the facts).
fn reason_json(f: &Finding) -> String {
    // A reason is plain data (numbers, times, text); serializing it cannot fail.
    serde_json::to_string(&f.reason).unwrap_or_default()
}

fn actions_text(f: &Finding) -> String {
    f.actions
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn evidence_text(f: &Finding) -> String {
    f.evidence
        .iter()
        .map(ozontrack_domain::Fingerprint::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

fn split(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').filter(|s| !s.is_empty())
}

impl TryFrom<AlertRow> for AlertRecord {
    type Error = DbError;
    fn try_from(row: AlertRow) -> Result<Self, DbError> {
        let id = row.id;
        Ok(AlertRecord {
            id,
            store_id: StoreId(row.store_id),
            posting_id: PostingId(row.posting_id),
            posting_number: PostingNumber::parse(&row.posting_number)
                .map_err(|_| corrupt(id, "posting number", &row.posting_number))?,
            rule: rule_of(id, &row.rule)?,
            leg: row.leg_number,
            severity: severity_of(id, &row.severity)?,
            state: state_of(id, &row.state)?,
            since: row.since,
            why: match row.reason {
                Some(json) => Why::Reason(
                    serde_json::from_str::<Reason>(&json)
                        .map_err(|e| corrupt(id, "reason", &e.to_string()))?,
                ),
                None => Why::Legacy(row.why),
            },
            actions: split(&row.actions)
                .map(|a| Action::parse(a).map_err(|_| corrupt(id, "action", a)))
                .collect::<Result<_, _>>()?,
            evidence: split(&row.evidence).map(str::to_owned).collect(),
            opened_at: row.opened_at,
            updated_at: row.updated_at,
            acknowledged_at: row.acknowledged_at,
            acknowledged_by: row.acknowledged_by,
            ack_note: row.ack_note,
            resolved_at: row.resolved_at,
            resolution: resolution_of(id, row.resolution.as_deref())?,
            resolved_by: row.resolved_by,
            resolve_note: row.resolve_note,
        })
    }
}

/// `CASE a.severity WHEN 'info' THEN 0 … END`: severities ranked as the domain orders them.
fn severity_rank() -> &'static str {
    static RANK: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let cases: String = Severity::ALL
            .iter()
            .enumerate()
            .map(|(rank, s)| format!(" WHEN '{}' THEN {rank}", s.as_str()))
            .collect();
        format!("CASE a.severity{cases} END")
    });
    &RANK
}

const ALERT_SELECT: &str = "SELECT a.id, a.store_id, a.posting_id, p.posting_number, a.rule, \
     a.leg_number, a.severity, a.state, a.since, a.why, a.reason, a.actions, a.evidence, a.opened_at, \
     a.updated_at, a.acknowledged_at, a.acknowledged_by, a.ack_note, a.resolved_at, \
     a.resolution, a.resolved_by, a.resolve_note \
     FROM alerts a JOIN postings p ON p.id = a.posting_id";

/// Appends ` WHERE …` for an [`AlertFilter`] (alerts as `a`), as listing and counting share it.
macro_rules! push_alert_filter {
    ($query:expr, $filter:expr) => {{
        $query.push(" WHERE 1 = 1");
        if let Some(id) = $filter.id {
            $query.push(" AND a.id = ").push_bind(id);
        }
        if let Some(stores) = &$filter.stores {
            if stores.is_empty() {
                $query.push(" AND 1 = 0");
            } else {
                let ids: Vec<i64> = stores.iter().map(|s| s.0).collect();
                $query.push(" AND a.store_id");
                push_in!($query, &ids);
            }
        }
        if let Some(rule) = $filter.rule {
            $query.push(" AND a.rule = ").push_bind(rule.as_str());
        }
        if let Some(posting) = $filter.posting {
            $query.push(" AND a.posting_id = ").push_bind(posting.0);
        }
        if $filter.open_only {
            $query.push(" AND a.resolved_at IS NULL");
        }
        if let Some(state) = $filter.state {
            $query.push(" AND a.state = ").push_bind(state.as_str());
        }
        if $filter.min_severity.is_some() || $filter.max_severity.is_some() {
            let min = $filter.min_severity.unwrap_or(Severity::Info);
            let max = $filter.max_severity.unwrap_or(Severity::Critical);
            let within: Vec<&str> = Severity::ALL
                .iter()
                .copied()
                .filter(|s| (min..=max).contains(s))
                .map(Severity::as_str)
                .collect();
            if within.is_empty() {
                $query.push(" AND 1 = 0");
            } else {
                $query.push(" AND a.severity IN (");
                let mut list = $query.separated(", ");
                for s in within {
                    list.push_bind(s);
                }
                $query.push(")");
            }
        }
    }};
}

impl SqlDatabase {
    /// The open alerts of these postings, worst first (the export's column).
    pub(crate) async fn open_alerts_of(&self, ids: &[i64]) -> Result<Vec<AlertRecord>, DbError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = on_db!(&self.db, |pool| {
            let mut query = sqlx::QueryBuilder::new(ALERT_SELECT);
            query.push(" WHERE a.resolved_at IS NULL AND a.posting_id");
            crate::sql::IdList::push_ids(&mut query, ids);
            query
                .push(" ORDER BY ")
                .push(severity_rank())
                .push(" DESC, a.id");
            query.build_query_as::<AlertRow>().fetch_all(pool).await?
        });
        rows.into_iter().map(AlertRecord::try_from).collect()
    }
}

/// Adds a history row through `$exec`.
macro_rules! history {
    ($exec:expr, $id:expr, $at:expr, $state:expr, $severity:expr, $note:expr, $by:expr) => {{
        let note: Option<&str> = $note;
        let by: Option<&str> = $by;
        sqlx::query(
            "INSERT INTO alert_history (alert_id, at, state, severity, note, by_whom) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind($id)
        .bind($at)
        .bind(AlertState::as_str($state))
        .bind(Severity::as_str($severity))
        .bind(note)
        .bind(by)
        .execute($exec)
        .await?;
    }};
}

/// Moves an open alert to a finding's details (and `$state`, when given); evaluates to
/// whether the alert was still open.
macro_rules! update_alert {
    ($exec:expr, $id:expr, $finding:expr, $state:expr, $now:expr) => {{
        let f: &Finding = $finding;
        let state: Option<AlertState> = $state;
        sqlx::query_scalar::<_, i64>(
            "UPDATE alerts SET severity = $2, state = COALESCE($3, state), since = $4, \
             reason = $5, actions = $6, evidence = $7, leg_number = $8, updated_at = $9 \
             WHERE id = $1 AND resolved_at IS NULL RETURNING id",
        )
        .bind($id)
        .bind(f.severity.as_str())
        .bind(state.map(AlertState::as_str))
        .bind(f.since)
        .bind(reason_json(f))
        .bind(actions_text(f))
        .bind(evidence_text(f))
        .bind(f.leg.as_deref())
        .bind($now)
        .fetch_optional($exec)
        .await?
        .is_some()
    }};
}

impl Alerts for SqlDatabase {
    async fn risk_candidates(
        &self,
        store: StoreId,
        changed_since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Vec<PostingId>, DbError> {
        // Postings whose own row or one of whose legs changed, whose next threshold came due,
        // or (a full round) every posting still in play and every one with an open alert.
        let ids: Vec<i64> = match changed_since {
            Some(since) => on_db!(&self.db, |pool| {
                sqlx::query_scalar::<_, i64>(
                    "SELECT id FROM postings WHERE store_id = $1 AND updated_at > $2 \
                     UNION SELECT l.posting_id FROM legs l JOIN postings p ON p.id = l.posting_id \
                     WHERE p.store_id = $1 AND l.updated_at > $2 \
                     UNION SELECT id FROM postings WHERE store_id = $1 AND risk_due_at <= $3 \
                     ORDER BY 1",
                )
                .bind(store.0)
                .bind(since)
                .bind(now)
                .fetch_all(pool)
                .await?
            }),
            None => on_db!(&self.db, |pool| {
                let sql = format!(
                    "SELECT id FROM postings WHERE store_id = $1 AND status NOT IN {} \
                     UNION SELECT posting_id FROM alerts WHERE store_id = $1 \
                     AND resolved_at IS NULL ORDER BY 1",
                    final_statuses()
                );
                sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
                    .bind(store.0)
                    .fetch_all(pool)
                    .await?
            }),
        };
        Ok(ids.into_iter().map(PostingId).collect())
    }

    async fn alert_views(&self, ids: &[PostingId]) -> Result<Vec<(PostingId, AlertView)>, DbError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let raw: Vec<i64> = chunk.iter().map(|p| p.0).collect();
            // Open alerts, and alerts a user resolved (they keep the same condition quiet).
            let rows = on_db!(&self.db, |pool| {
                let mut query = sqlx::QueryBuilder::new(
                    "SELECT id, posting_id, rule, severity, state, since, resolution FROM alerts \
                     WHERE (resolved_at IS NULL OR resolution = 'manual') AND posting_id",
                );
                push_in!(query, &raw);
                query.push(" ORDER BY id");
                query
                    .build_query_as::<(
                        i64,
                        i64,
                        String,
                        String,
                        String,
                        DateTime<Utc>,
                        Option<String>,
                    )>()
                    .fetch_all(pool)
                    .await?
            });
            for (id, posting, rule, severity, state, since, resolution) in rows {
                out.push((
                    PostingId(posting),
                    AlertView {
                        id,
                        rule: rule_of(id, &rule)?,
                        severity: severity_of(id, &severity)?,
                        state: state_of(id, &state)?,
                        since,
                        resolution: resolution_of(id, resolution.as_deref())?,
                    },
                ));
            }
        }
        Ok(out)
    }

    async fn apply_risk(
        &self,
        outcomes: &[RiskOutcome],
        now: DateTime<Utc>,
        notify: &Enqueue<'_>,
    ) -> Result<RiskApplied, DbError> {
        // The victim of a deadlock (PostgreSQL) is rolled back whole: run it again.
        crate::sql::retry_deadlocks(|| self.apply_risk_once(outcomes, now, notify)).await
    }

    async fn claim_risk_rounds(
        &self,
        owner: &LeaseOwner,
        limit: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<RiskRoundState>, DbError> {
        // Stores are added in several places (the console, an import, the API); their rounds
        // are created here, where they are needed, rather than by each of them.
        on_db!(&self.db, |pool| {
            sqlx::query(
                "INSERT INTO risk_rounds (id, next_check_at) \
                 SELECT id, $1 FROM stores s \
                 WHERE NOT EXISTS (SELECT 1 FROM risk_rounds r WHERE r.id = s.id) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(now)
            .execute(pool)
            .await?;
        });
        let claimed: Vec<RiskRound> = self.claim(owner, limit, now, until).await?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = claimed.iter().map(|r| r.0.0).collect();
        let rows = on_db!(&self.db, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT id, evaluated_until, full_at FROM risk_rounds WHERE id IN (",
            );
            let mut list = query.separated(", ");
            for id in &ids {
                list.push_bind(*id);
            }
            query.push(") ORDER BY id");
            query
                .build_query_as::<(i64, Option<DateTime<Utc>>, Option<DateTime<Utc>>)>()
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, evaluated_until, full_at)| RiskRoundState {
                store: StoreId(id),
                evaluated_until,
                full_at,
            })
            .collect())
    }

    async fn finish_risk_round(
        &self,
        store: StoreId,
        owner: &LeaseOwner,
        started: DateTime<Utc>,
        full: bool,
        next: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        // Never backwards: a slower round finishing late must not undo a newer one.
        let done = on_db!(&self.db, |pool| {
            sqlx::query(
                "UPDATE risk_rounds SET \
                 evaluated_until = CASE WHEN evaluated_until IS NULL OR evaluated_until < $1 \
                     THEN $1 ELSE evaluated_until END, \
                 full_at = CASE WHEN $2 AND (full_at IS NULL OR full_at < $1) \
                     THEN $1 ELSE full_at END, \
                 next_check_at = $3, lease_owner = NULL, lease_until = NULL \
                 WHERE id = $4 AND lease_owner = $5",
            )
            .bind(started)
            .bind(full)
            .bind(next)
            .bind(store.0)
            .bind(owner.as_str())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    async fn alerts(&self, filter: &AlertFilter) -> Result<Vec<AlertRecord>, DbError> {
        let rows = on_db!(&self.db, |pool| {
            let mut query = sqlx::QueryBuilder::new(ALERT_SELECT);
            push_alert_filter!(query, filter);
            query.push(" ORDER BY ");
            if filter.worst_first {
                query.push(severity_rank()).push(" DESC, ");
            }
            query.push("a.opened_at DESC, a.id DESC");
            if filter.limit > 0 {
                query.push(" LIMIT ").push_bind(i64::from(filter.limit));
            }
            query.build_query_as::<AlertRow>().fetch_all(pool).await?
        });
        rows.into_iter().map(AlertRecord::try_from).collect()
    }

    async fn count_alerts(&self, filter: &AlertFilter, at_most: u64) -> Result<u64, DbError> {
        let limit = crate::sql::count_limit(at_most);
        let counted = on_db!(&self.db, |pool| {
            let mut query = sqlx::QueryBuilder::new("SELECT COUNT(*) FROM (SELECT 1 FROM alerts a");
            push_alert_filter!(query, filter);
            query.push(" LIMIT ").push_bind(limit).push(") matched");
            query.build_query_scalar::<i64>().fetch_one(pool).await?
        });
        Ok(u64::try_from(counted).unwrap_or(0))
    }

    async fn alert_history(&self, id: i64) -> Result<Vec<AlertHistoryEntry>, DbError> {
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<
                _,
                (
                    DateTime<Utc>,
                    String,
                    String,
                    Option<String>,
                    Option<String>,
                ),
            >(
                "SELECT at, state, severity, note, by_whom FROM alert_history \
                 WHERE alert_id = $1 ORDER BY id",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(at, state, severity, note, by)| {
                Ok(AlertHistoryEntry {
                    at,
                    state: state_of(id, &state)?,
                    severity: severity_of(id, &severity)?,
                    note,
                    by,
                })
            })
            .collect()
    }

    async fn acknowledge_alert(
        &self,
        id: i64,
        by: &str,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        self.close_alert(id, AlertState::Acknowledged, by, note, now)
            .await
    }

    async fn resolve_alert(
        &self,
        id: i64,
        by: &str,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        self.close_alert(id, AlertState::Resolved, by, note, now)
            .await
    }

    async fn penalties(
        &self,
        store: StoreId,
        since: DateTime<Utc>,
    ) -> Result<Vec<PenaltyRecord>, DbError> {
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, (String, String, String, i64, DateTime<Utc>)>(
                "SELECT p.posting_number, x.tracking_number, x.carrier, x.points, x.at \
                 FROM penalty_points x JOIN postings p ON p.id = x.posting_id \
                 WHERE x.store_id = $1 AND x.at >= $2 ORDER BY x.at, x.id",
            )
            .bind(store.0)
            .bind(since)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(number, tracking_number, carrier, points, at)| {
                Ok(PenaltyRecord {
                    posting_number: PostingNumber::parse(&number).map_err(|_| {
                        DbError::Corrupt {
                            table: "penalty_points",
                            id: 0,
                            reason: format!("bad posting number {number:?}"),
                        }
                    })?,
                    tracking_number,
                    carrier,
                    points,
                    at,
                })
            })
            .collect()
    }

    async fn gap_samples(&self, legs: u32) -> Result<Vec<GapSample>, DbError> {
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, (i64, String, String, DateTime<Utc>)>(
                "SELECT e.leg_id, l.carrier, e.status_sub, e.occurred_at FROM events e \
                 JOIN (SELECT id, carrier FROM legs WHERE status_main = 'delivered' \
                 ORDER BY last_event_at DESC LIMIT $1) l ON l.id = e.leg_id \
                 ORDER BY e.leg_id, e.occurred_at",
            )
            .bind(i64::from(legs))
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(leg, carrier, status_sub, occurred_at)| GapSample {
                leg,
                carrier,
                status_sub,
                occurred_at,
            })
            .collect())
    }
}

impl SqlDatabase {
    async fn close_alert(
        &self,
        id: i64,
        state: AlertState,
        by: &str,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let sql = match state {
            AlertState::Acknowledged => {
                "UPDATE alerts SET state = 'acknowledged', acknowledged_at = $2, \
                 acknowledged_by = $3, ack_note = $4, updated_at = $2 \
                 WHERE id = $1 AND resolved_at IS NULL RETURNING severity"
            }
            _ => {
                "UPDATE alerts SET state = 'resolved', resolved_at = $2, resolution = 'manual', \
                 resolved_by = $3, resolve_note = $4, updated_at = $2 \
                 WHERE id = $1 AND resolved_at IS NULL RETURNING severity"
            }
        };
        let done = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let severity = sqlx::query_scalar::<_, String>(sql)
                .bind(id)
                .bind(now)
                .bind(by)
                .bind(note)
                .fetch_optional(&mut *tx)
                .await?;
            let found = match severity {
                Some(severity) => {
                    let severity = severity_of(id, &severity)?;
                    history!(&mut *tx, id, now, state, severity, Some(note), Some(by));
                    true
                }
                None => {
                    let exists =
                        sqlx::query_scalar::<_, i64>("SELECT id FROM alerts WHERE id = $1")
                            .bind(id)
                            .fetch_optional(&mut *tx)
                            .await?;
                    if exists.is_none() {
                        return Err(DbError::AlertNotFound(id));
                    }
                    false
                }
            };
            tx.commit().await?;
            found
        });
        Ok(done)
    }
}

impl SqlDatabase {
    /// One attempt of `apply_risk`.
    async fn apply_risk_once(
        &self,
        outcomes: &[RiskOutcome],
        now: DateTime<Utc>,
        notify: &Enqueue<'_>,
    ) -> Result<RiskApplied, DbError> {
        let mut applied = RiskApplied::default();
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let mut notices: Vec<Notice> = Vec::new();
            for outcome in outcomes {
                let alert_notice = |alert: i64, rule, severity, leg: Option<String>| AlertNotice {
                    alert,
                    store: outcome.store,
                    posting: outcome.posting,
                    posting_number: outcome.posting_number.clone(),
                    rule,
                    severity,
                    leg,
                    reason: None,
                    actions: Vec::new(),
                    resolution: None,
                    at: now,
                };
                for change in &outcome.changes {
                    match change {
                        AlertChange::Open(f) => {
                            let id = sqlx::query_scalar::<_, i64>(
                                    "INSERT INTO alerts (store_id, posting_id, rule, leg_number, \
                                     severity, state, since, why, reason, actions, evidence, opened_at, \
                                     updated_at) VALUES ($1, $2, $3, $4, $5, 'open', $6, '', $7, $8, \
                                     $9, $10, $10) ON CONFLICT DO NOTHING RETURNING id",
                                )
                                .bind(outcome.store.0)
                                .bind(outcome.posting.0)
                                .bind(f.rule().as_str())
                                .bind(f.leg.as_deref())
                                .bind(f.severity.as_str())
                                .bind(f.since)
                                .bind(reason_json(f))
                                .bind(actions_text(f))
                                .bind(evidence_text(f))
                                .bind(now)
                                .fetch_optional(&mut *tx)
                                .await?;
                            // Another evaluator opened it first: nothing more to record.
                            let Some(id) = id else { continue };
                            applied.opened += 1;
                            history!(&mut *tx, id, now, AlertState::Open, f.severity, None, None);
                            notices.push(Notice::AlertOpened(AlertNotice {
                                reason: Some(f.reason.clone()),
                                actions: f.actions.clone(),
                                ..alert_notice(id, f.rule(), f.severity, f.leg.clone())
                            }));
                            if f.rule() == RuleKind::NonWhitelisted
                                && let Some(leg) = &f.leg
                            {
                                let penalty = &outcome.penalty;
                                // The ledger counts a violation once, however often it is seen.
                                let added = sqlx::query(
                                    "INSERT INTO penalty_points (store_id, posting_id, \
                                         tracking_number, carrier, points, at) \
                                         SELECT $1, $2, $3, carrier, $4, $5 FROM legs \
                                         WHERE posting_id = $2 AND tracking_number = $3 \
                                         ORDER BY id LIMIT 1 ON CONFLICT DO NOTHING",
                                )
                                .bind(outcome.store.0)
                                .bind(outcome.posting.0)
                                .bind(leg.as_str())
                                .bind(penalty.points)
                                .bind(now)
                                .execute(&mut *tx)
                                .await?
                                .rows_affected();
                                if added == 1 {
                                    let total = sqlx::query_scalar::<_, Option<i64>>(
                                        "SELECT CAST(SUM(points) AS BIGINT) FROM penalty_points \
                                             WHERE store_id = $1 AND at > $2",
                                    )
                                    .bind(outcome.store.0)
                                    .bind(now - chrono::Duration::days(penalty.window_days))
                                    .fetch_one(&mut *tx)
                                    .await?
                                    .unwrap_or(0);
                                    notices.extend(penalty.crossed(outcome.store, total, now));
                                }
                            }
                        }
                        AlertChange::Escalate { id, finding } => {
                            if update_alert!(
                                &mut *tx,
                                *id,
                                finding,
                                Some(AlertState::Escalated),
                                now
                            ) {
                                applied.escalated += 1;
                                history!(
                                    &mut *tx,
                                    *id,
                                    now,
                                    AlertState::Escalated,
                                    finding.severity,
                                    None,
                                    None
                                );
                                notices.push(Notice::AlertEscalated(AlertNotice {
                                    reason: Some(finding.reason.clone()),
                                    actions: finding.actions.clone(),
                                    ..alert_notice(
                                        *id,
                                        finding.rule(),
                                        finding.severity,
                                        finding.leg.clone(),
                                    )
                                }));
                            }
                        }
                        AlertChange::Update { id, finding } => {
                            if update_alert!(&mut *tx, *id, finding, None, now) {
                                applied.updated += 1;
                            }
                        }
                        AlertChange::Resolve { id, resolution } => {
                            let resolved = sqlx::query_as::<_, (String, String, Option<String>)>(
                                "UPDATE alerts SET state = 'resolved', resolved_at = $2, \
                                     resolution = $3, updated_at = $2 \
                                     WHERE id = $1 AND resolved_at IS NULL \
                                     RETURNING severity, rule, leg_number",
                            )
                            .bind(*id)
                            .bind(now)
                            .bind(resolution.as_str())
                            .fetch_optional(&mut *tx)
                            .await?;
                            if let Some((severity, rule, leg)) = resolved {
                                applied.resolved += 1;
                                let severity = severity_of(*id, &severity)?;
                                history!(
                                    &mut *tx,
                                    *id,
                                    now,
                                    AlertState::Resolved,
                                    severity,
                                    Some(resolution.as_str()),
                                    None
                                );
                                notices.push(Notice::AlertResolved(AlertNotice {
                                    resolution: Some(*resolution),
                                    ..alert_notice(*id, rule_of(*id, &rule)?, severity, leg)
                                }));
                            }
                        }
                    }
                }
            }
            let messages = notify.messages(&notices);
            let _ = enqueue!(tx, &messages, notify.at);
            for chunk in outcomes.chunks(ROWS_PER_STATEMENT) {
                let mut query =
                    sqlx::QueryBuilder::new("UPDATE postings SET risk_due_at = v.column2 FROM (");
                query.push_values(chunk, |mut row, o: &RiskOutcome| {
                    row.push_bind(o.posting.0).push_bind(o.next_due);
                });
                query.push(") AS v WHERE postings.id = v.column1");
                query.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(applied)
    }
}
