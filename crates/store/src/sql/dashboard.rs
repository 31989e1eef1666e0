//! The dashboard's tables and reads on both backends: people, sessions and one-time links
//! (secrets kept as hashes), buyer tokens, the "today" counts, lanes and queue depths.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt as _;
use ozontrack_domain::StoreId;
use ozontrack_domain::estimate::add_lane_carrier;

use super::{BeginWrite, Db, SqlStore};
use crate::{
    LaneStats, ModeCount, Overview, PostingId, QueueDepths, RiskCount, SessionRecord, StoreError,
};

/// Ozon statuses after which nothing more happens to a parcel (`Posting::is_over`).
const OVER: &str = "('delivered', 'cancelled', 'cancelled_from_split_pending')";

impl SqlStore {
    pub(super) async fn set_dashboard_user_impl(
        &self,
        name: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_db!(&self.db, |pool| {
            sqlx::query(
                "INSERT INTO dashboard_users (name, password_hash, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash",
            )
            .bind(name)
            .bind(password_hash)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub(super) async fn dashboard_password_impl(
        &self,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(on_db!(&self.db, |pool| {
            sqlx::query_scalar::<_, String>(
                "SELECT password_hash FROM dashboard_users WHERE name = $1",
            )
            .bind(name)
            .fetch_optional(pool)
            .await?
        }))
    }

    pub(super) async fn create_session_impl(
        &self,
        hash: &[u8],
        session: &SessionRecord,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_db!(&self.db, |pool| {
            // Ended sessions go as new ones come: the table holds only live ones and a few.
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO sessions (hash, user_name, csrf, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(hash)
            .bind(&session.user)
            .bind(&session.csrf)
            .bind(now)
            .bind(session.expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    pub(super) async fn session_impl(
        &self,
        hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, (String, String, DateTime<Utc>)>(
                "SELECT user_name, csrf, expires_at FROM sessions \
                 WHERE hash = $1 AND expires_at > $2",
            )
            .bind(hash)
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(user, csrf, expires_at)| SessionRecord {
            user,
            csrf,
            expires_at,
        }))
    }

    pub(super) async fn end_session_impl(&self, hash: &[u8]) -> Result<(), StoreError> {
        on_db!(&self.db, |pool| {
            sqlx::query("DELETE FROM sessions WHERE hash = $1")
                .bind(hash)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    pub(super) async fn create_login_link_impl(
        &self,
        hash: &[u8],
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_db!(&self.db, |pool| {
            sqlx::query(
                "INSERT INTO login_links (hash, created_at, expires_at) VALUES ($1, $2, $3)",
            )
            .bind(hash)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub(super) async fn use_login_link_impl(
        &self,
        hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // One statement: two browsers racing for one link cannot both win.
        let done = on_db!(&self.db, |pool| {
            sqlx::query(
                "UPDATE login_links SET used_at = $2 \
                 WHERE hash = $1 AND used_at IS NULL AND expires_at > $2",
            )
            .bind(hash)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    pub(super) async fn buyer_token_impl(
        &self,
        posting: PostingId,
        candidate: &str,
    ) -> Result<String, StoreError> {
        // A plain read first: the seller opens postings far more often than a token is made,
        // and a write transaction per page view would queue behind the workers' writes.
        let read = on_db!(&self.db, |pool| {
            sqlx::query_scalar::<_, Option<String>>(
                "SELECT buyer_token FROM postings WHERE id = $1",
            )
            .bind(posting.0)
            .fetch_optional(pool)
            .await?
        });
        match read {
            None => return Err(StoreError::PostingNotFound(posting.0)),
            Some(Some(token)) => return Ok(token),
            Some(None) => {}
        }
        // Two first views racing: the `IS NULL` keeps the first token, both read it back.
        let token = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "UPDATE postings SET buyer_token = $2 WHERE id = $1 AND buyer_token IS NULL",
            )
            .bind(posting.0)
            .bind(candidate)
            .execute(&mut *tx)
            .await?;
            let token = sqlx::query_scalar::<_, Option<String>>(
                "SELECT buyer_token FROM postings WHERE id = $1",
            )
            .bind(posting.0)
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            token.flatten()
        });
        token.ok_or(StoreError::PostingNotFound(posting.0))
    }

    pub(super) async fn posting_by_buyer_token_impl(
        &self,
        token: &str,
    ) -> Result<Option<PostingId>, StoreError> {
        Ok(on_db!(&self.db, |pool| {
            sqlx::query_scalar::<_, i64>("SELECT id FROM postings WHERE buyer_token = $1")
                .bind(token)
                .fetch_optional(pool)
                .await?
        })
        .map(PostingId))
    }

    pub(super) async fn overview_impl(&self, stores: &[StoreId]) -> Result<Overview, StoreError> {
        if stores.is_empty() {
            return Ok(Overview::default());
        }
        let ids: Vec<i64> = stores.iter().map(|s| s.0).collect();
        let (alerts, active) = on_db!(&self.db, |pool| {
            // A posting counts once, at its worst open alert.
            let mut query = sqlx::QueryBuilder::new(
                "SELECT a.posting_id, a.severity, p.scheme FROM alerts a \
                 JOIN postings p ON p.id = a.posting_id \
                 WHERE a.resolved_at IS NULL AND a.store_id",
            );
            push_in!(query, &ids);
            let alerts = query
                .build_query_as::<(i64, String, String)>()
                .fetch_all(pool)
                .await?;
            let mut query = sqlx::QueryBuilder::new(format!(
                "SELECT scheme, COUNT(*) FROM postings WHERE status NOT IN {OVER} AND store_id"
            ));
            push_in!(query, &ids);
            query.push(" GROUP BY scheme ORDER BY scheme");
            let active = query
                .build_query_as::<(String, i64)>()
                .fetch_all(pool)
                .await?;
            (alerts, active)
        });
        let rank = ozontrack_domain::risk::Severity::parse;
        let mut worst: HashMap<i64, (String, String)> = HashMap::new();
        for (posting, severity, scheme) in alerts {
            match worst.get(&posting) {
                Some((seen, _)) if rank(seen) >= rank(&severity) => {}
                _ => {
                    worst.insert(posting, (severity, scheme));
                }
            }
        }
        let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
        for (severity, scheme) in worst.into_values() {
            *counts.entry((severity, scheme)).or_default() += 1;
        }
        Ok(Overview {
            at_risk: counts
                .into_iter()
                .map(|((severity, mode), postings)| RiskCount {
                    severity,
                    mode,
                    postings,
                })
                .collect(),
            active: active
                .into_iter()
                .map(|(mode, n)| ModeCount {
                    mode,
                    postings: n.max(0) as u64,
                })
                .collect(),
        })
    }

    pub(super) async fn lane_stats_impl(
        &self,
        stores: &[StoreId],
        since: DateTime<Utc>,
    ) -> Result<Vec<LaneStats>, StoreError> {
        if stores.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = stores.iter().map(|s| s.0).collect();
        let stale: HashSet<i64> = on_db!(&self.db, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT DISTINCT posting_id FROM alerts \
                 WHERE rule = 'stale' AND resolved_at IS NULL AND store_id",
            );
            push_in!(query, &ids);
            query.build_query_scalar::<i64>().fetch_all(pool).await?
        })
        .into_iter()
        .collect();
        // Streamed in posting order and folded a posting at a time: a store with a million
        // postings is read without holding its legs in memory.
        type Key = (Vec<String>, Option<String>);
        let mut lanes: BTreeMap<Key, (LaneStats, Vec<f64>)> = BTreeMap::new();
        let mut current: Option<(i64, Key, Option<f64>)> = None;
        let mut fold = |posting: Option<(i64, Key, Option<f64>)>| {
            let Some((id, key, transit)) = posting else {
                return;
            };
            let (lane, days) = lanes.entry(key.clone()).or_insert_with(|| {
                (
                    LaneStats {
                        carriers: key.0,
                        buyer_city: key.1,
                        postings: 0,
                        delivered: 0,
                        stale_open: 0,
                        transit_days_p50: None,
                        transit_days_p90: None,
                    },
                    Vec::new(),
                )
            });
            lane.postings += 1;
            lane.stale_open += u64::from(stale.contains(&id));
            if let Some(t) = transit {
                lane.delivered += 1;
                days.push(t);
            }
        };
        on_db!(&self.db, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT p.id, l.carrier, p.buyer_city, p.in_process_at, p.delivered_at \
                 FROM postings p JOIN legs l ON l.posting_id = p.id \
                 WHERE l.carrier <> 'ozon' AND p.in_process_at >= ",
            );
            query.push_bind(since).push(" AND p.store_id");
            push_in!(query, &ids);
            query.push(" ORDER BY p.id, l.id");
            let mut rows = query
                .build_query_as::<(
                    i64,
                    String,
                    Option<String>,
                    Option<DateTime<Utc>>,
                    Option<DateTime<Utc>>,
                )>()
                .fetch(pool);
            while let Some((posting, carrier, city, started, delivered)) = rows.try_next().await? {
                match &mut current {
                    Some((id, (carriers, _), _)) if *id == posting => {
                        add_lane_carrier(carriers, &carrier);
                    }
                    _ => {
                        let transit = started
                            .zip(delivered)
                            .map(|(s, d)| (d - s).num_seconds().max(0) as f64 / 86_400.0);
                        let mut carriers = Vec::new();
                        add_lane_carrier(&mut carriers, &carrier);
                        fold(current.replace((posting, (carriers, city), transit)));
                    }
                }
            }
        });
        fold(current.take());
        let mut out: Vec<LaneStats> = lanes
            .into_values()
            .map(|(mut lane, mut days)| {
                lane.transit_days_p50 = super::api::quantile_days(&mut days, 0.5);
                lane.transit_days_p90 = super::api::quantile_days(&mut days, 0.9);
                lane
            })
            .collect();
        out.sort_by(|a, b| {
            b.postings
                .cmp(&a.postings)
                .then(a.carriers.cmp(&b.carriers))
        });
        Ok(out)
    }

    pub(super) async fn queue_depths_impl(
        &self,
        now: DateTime<Utc>,
    ) -> Result<QueueDepths, StoreError> {
        let (legs, stores, risk, pushes) = on_db!(&self.db, |pool| {
            let count =
                |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).bind(now).fetch_one(pool);
            (
                count("SELECT COUNT(*) FROM legs WHERE next_check_at <= $1").await?,
                count("SELECT COUNT(*) FROM stores WHERE next_check_at <= $1").await?,
                // Through the (store_id, risk_due_at) index, store by store: a scrape never
                // scans the postings.
                count(
                    "SELECT COUNT(*) FROM postings \
                     WHERE store_id IN (SELECT id FROM stores) AND risk_due_at <= $1",
                )
                .await?,
                sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM ozon_pushes WHERE processed_at IS NULL",
                )
                .fetch_one(pool)
                .await?,
            )
        });
        let n = |x: i64| x.max(0) as u64;
        Ok(QueueDepths {
            legs_due: n(legs),
            stores_due: n(stores),
            risk_due: n(risk),
            pushes_pending: n(pushes),
        })
    }
}
