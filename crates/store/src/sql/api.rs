//! The API's tables and reads on both backends: tokens by hash, and the postings list with its
//! filters, always inside the caller's stores.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use ozontrack_domain::StoreId;
use ozontrack_domain::risk::Severity;

use super::{BeginWrite, Db, ROWS_PER_STATEMENT, SqlStore};
use crate::records::PostingRow;
use crate::{
    CarrierStats, HISTOGRAM_DAYS, NewToken, PostingQuery, PostingRecord, PostingSummary,
    StoreError, TokenRecord,
};

/// Up to this many matching open alerts, a risk-filtered page is read from the alerts' side.
const FEW_ALERTS: i64 = 2000;

type TokenRow = (
    i64,
    String,
    String,
    i64,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

impl SqlStore {
    pub(super) async fn create_token_impl(
        &self,
        token: &NewToken,
        now: DateTime<Utc>,
    ) -> Result<TokenRecord, StoreError> {
        let id = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let id = sqlx::query_scalar::<_, i64>(
                "INSERT INTO api_tokens (name, prefix, hash, read_only, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(&token.name)
            .bind(&token.prefix)
            .bind(&token.hash)
            .bind(i64::from(token.read_only))
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            for store in &token.stores {
                sqlx::query("INSERT INTO api_token_stores (token_id, store_id) VALUES ($1, $2)")
                    .bind(id)
                    .bind(store.0)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            id
        });
        Ok(TokenRecord {
            id,
            name: token.name.clone(),
            prefix: token.prefix.clone(),
            read_only: token.read_only,
            stores: token.stores.clone(),
            created_at: now,
            revoked_at: None,
        })
    }

    async fn token_stores(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<StoreId>>, StoreError> {
        let mut out: HashMap<i64, Vec<StoreId>> = HashMap::new();
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let rows = on_db!(&self.db, |pool| {
                let mut query = sqlx::QueryBuilder::new(
                    "SELECT token_id, store_id FROM api_token_stores WHERE token_id",
                );
                push_in!(query, chunk);
                query.push(" ORDER BY store_id");
                query.build_query_as::<(i64, i64)>().fetch_all(pool).await?
            });
            for (token, store) in rows {
                out.entry(token).or_default().push(StoreId(store));
            }
        }
        Ok(out)
    }

    async fn tokens_from(&self, rows: Vec<TokenRow>) -> Result<Vec<TokenRecord>, StoreError> {
        let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
        let mut stores = self.token_stores(&ids).await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, name, prefix, read_only, created_at, revoked_at)| TokenRecord {
                    id,
                    name,
                    prefix,
                    read_only: read_only != 0,
                    stores: stores.remove(&id).unwrap_or_default(),
                    created_at,
                    revoked_at,
                },
            )
            .collect())
    }

    pub(super) async fn token_by_hash_impl(
        &self,
        hash: &[u8],
    ) -> Result<Option<TokenRecord>, StoreError> {
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, TokenRow>(
                "SELECT id, name, prefix, read_only, created_at, revoked_at FROM api_tokens \
                 WHERE hash = $1 AND revoked_at IS NULL",
            )
            .bind(hash)
            .fetch_all(pool)
            .await?
        });
        Ok(self.tokens_from(rows).await?.pop())
    }

    pub(super) async fn tokens_impl(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, TokenRow>(
                "SELECT id, name, prefix, read_only, created_at, revoked_at FROM api_tokens \
                 ORDER BY id",
            )
            .fetch_all(pool)
            .await?
        });
        self.tokens_from(rows).await
    }

    pub(super) async fn revoke_token_impl(
        &self,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = on_db!(&self.db, |pool| {
            sqlx::query(
                "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            )
            .bind(id)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done > 0)
    }

    pub(super) async fn postings_page_impl(
        &self,
        q: &PostingQuery,
    ) -> Result<Vec<PostingSummary>, StoreError> {
        if q.stores.is_empty() || q.limit == 0 {
            return Ok(Vec::new());
        }
        let stores: Vec<i64> = q.stores.iter().map(|s| s.0).collect();
        let risky = match q.min_risk {
            Some(min) => Some(on_db!(&self.db, |pool| {
                let mut query = sqlx::QueryBuilder::new(
                    "SELECT COUNT(*) FROM alerts WHERE resolved_at IS NULL AND store_id",
                );
                push_in!(query, &stores);
                query.push(" AND severity IN (");
                let mut list = query.separated(", ");
                for s in Severity::ALL.into_iter().filter(|s| *s >= min) {
                    list.push_bind(s.as_str());
                }
                query.push(")");
                query.build_query_scalar::<i64>().fetch_one(pool).await?
            })),
            None => None,
        };
        let rows = on_db!(&self.db, |pool| {
            let mut query = sqlx::QueryBuilder::new("SELECT p.* FROM postings p WHERE p.store_id");
            push_in!(query, &stores);
            if let Some(status) = &q.status {
                query.push(" AND p.status = ").push_bind(status.as_str());
            }
            if let Some(scheme) = q.scheme {
                query.push(" AND p.scheme = ").push_bind(scheme.as_str());
            }
            if let Some(from) = q.from {
                query.push(" AND p.in_process_at >= ").push_bind(from);
            }
            if let Some(to) = q.to {
                query.push(" AND p.in_process_at < ").push_bind(to);
            }
            if let Some(carrier) = &q.carrier {
                query
                    .push(" AND EXISTS (SELECT 1 FROM legs l WHERE l.posting_id = p.id AND l.carrier = ")
                    .push_bind(carrier.as_str())
                    .push(")");
            }
            if let Some(text) = &q.text {
                let text = text.trim().to_uppercase();
                // A posting number's start (LIKE's wildcards in the text are taken literally).
                let escaped = text
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                query
                    .push(" AND (p.posting_number LIKE ")
                    .push_bind(format!("{escaped}%"))
                    .push(" ESCAPE '\\' OR p.tracking_number = ")
                    .push_bind(text.clone())
                    .push(" OR EXISTS (SELECT 1 FROM legs l WHERE l.posting_id = p.id AND l.tracking_number = ")
                    .push_bind(text)
                    .push("))");
            }
            if let Some(min) = q.min_risk {
                // Few matching alerts: drive the page from them. Many: probe each posting
                // through the open-alert index while the page fills (a walk of ~50 / density).
                if risky.is_some_and(|n| n <= FEW_ALERTS) {
                    query.push(
                        " AND p.id IN (SELECT a.posting_id FROM alerts a \
                         WHERE a.resolved_at IS NULL AND a.store_id",
                    );
                    push_in!(query, &stores);
                    query.push(" AND a.severity IN (");
                } else {
                    query.push(
                        " AND EXISTS (SELECT 1 FROM alerts a WHERE a.posting_id = p.id \
                         AND a.resolved_at IS NULL AND a.severity IN (",
                    );
                }
                let mut list = query.separated(", ");
                for s in Severity::ALL.into_iter().filter(|s| *s >= min) {
                    list.push_bind(s.as_str());
                }
                query.push("))");
            }
            if let Some(before) = q.before {
                query.push(" AND p.id < ").push_bind(before.0);
            }
            query
                .push(" ORDER BY p.id DESC LIMIT ")
                .push_bind(i64::from(q.limit));
            query.build_query_as::<PostingRow>().fetch_all(pool).await?
        });
        let records: Vec<PostingRecord> = rows
            .into_iter()
            .map(PostingRecord::try_from)
            .collect::<Result<_, _>>()?;
        let ids: Vec<i64> = records.iter().map(|r| r.id.0).collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let (carriers, alerts) = on_db!(&self.db, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT DISTINCT posting_id, carrier FROM legs WHERE carrier <> 'ozon' AND posting_id",
            );
            push_in!(query, &ids);
            let carriers = query
                .build_query_as::<(i64, String)>()
                .fetch_all(pool)
                .await?;
            let mut query = sqlx::QueryBuilder::new(
                "SELECT posting_id, severity FROM alerts WHERE resolved_at IS NULL AND posting_id",
            );
            push_in!(query, &ids);
            let alerts = query
                .build_query_as::<(i64, String)>()
                .fetch_all(pool)
                .await?;
            (carriers, alerts)
        });
        let mut by_posting: HashMap<i64, Vec<String>> = HashMap::new();
        for (posting, carrier) in carriers {
            by_posting.entry(posting).or_default().push(carrier);
        }
        let mut risk: HashMap<i64, Severity> = HashMap::new();
        for (posting, severity) in alerts {
            if let Some(s) = Severity::parse(&severity) {
                let worst = risk.entry(posting).or_insert(s);
                *worst = (*worst).max(s);
            }
        }
        Ok(records
            .into_iter()
            .map(|record| {
                let mut carriers = by_posting.remove(&record.id.0).unwrap_or_default();
                carriers.sort();
                PostingSummary {
                    risk: risk.get(&record.id.0).copied(),
                    carriers,
                    record,
                }
            })
            .collect())
    }

    pub(super) async fn carrier_stats_impl(
        &self,
        stores: &[StoreId],
        since: DateTime<Utc>,
    ) -> Result<Vec<CarrierStats>, StoreError> {
        if stores.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = stores.iter().map(|s| s.0).collect();
        let rows = on_db!(&self.db, |pool| {
            let mut query = sqlx::QueryBuilder::new(
                "SELECT l.carrier, l.status_main, COALESCE(p.in_process_at, l.created_at), \
                 l.last_event_at, CASE WHEN EXISTS (SELECT 1 FROM alerts a \
                 WHERE a.posting_id = l.posting_id AND a.rule = 'stale' \
                 AND a.resolved_at IS NULL AND a.leg_number = l.tracking_number) \
                 THEN 1 ELSE 0 END \
                 FROM legs l JOIN postings p ON p.id = l.posting_id \
                 WHERE l.carrier <> 'ozon' AND l.created_at >= ",
            );
            query.push_bind(since).push(" AND p.store_id");
            push_in!(query, &ids);
            query
                .build_query_as::<(
                    String,
                    Option<String>,
                    DateTime<Utc>,
                    Option<DateTime<Utc>>,
                    i64,
                )>()
                .fetch_all(pool)
                .await?
        });
        let mut by_carrier: std::collections::BTreeMap<String, (CarrierStats, Vec<f64>)> =
            std::collections::BTreeMap::new();
        for (carrier, status, started, last, stale) in rows {
            let (stats, transit) = by_carrier.entry(carrier.clone()).or_insert_with(|| {
                (
                    CarrierStats {
                        carrier,
                        legs: 0,
                        delivered: 0,
                        stale_open: 0,
                        transit_days_p50: None,
                        transit_days_p90: None,
                        transit_histogram: vec![0; HISTOGRAM_DAYS + 1],
                    },
                    Vec::new(),
                )
            });
            stats.legs += 1;
            stats.stale_open += u64::from(stale != 0);
            if status.as_deref() == Some("delivered")
                && let Some(last) = last
            {
                stats.delivered += 1;
                let days = (last - started).num_seconds().max(0) as f64 / 86_400.0;
                transit.push(days);
                let bucket = (days.floor() as usize).min(HISTOGRAM_DAYS);
                stats.transit_histogram[bucket] += 1;
            }
        }
        Ok(by_carrier
            .into_values()
            .map(|(mut stats, mut transit)| {
                stats.transit_days_p50 = quantile_days(&mut transit, 0.5);
                stats.transit_days_p90 = quantile_days(&mut transit, 0.9);
                stats
            })
            .collect())
    }
}

/// The `q` quantile of transit times in days (nearest rank), to a tenth of a day.
pub(super) fn quantile_days(days: &mut [f64], q: f64) -> Option<f64> {
    days.sort_by(f64::total_cmp);
    let last = days.len().checked_sub(1)?;
    let rank = ((q * last as f64).round() as usize).min(last);
    Some((days[rank] * 10.0).round() / 10.0)
}
