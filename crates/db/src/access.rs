//! Who may look: API tokens (kept as SHA-256 hashes, scoped to stores), dashboard users
//! (argon2id PHC strings), sessions and one-time login links (secrets kept as hashes), and the
//! per-posting tokens of the buyer's tracking page.

use std::collections::HashMap;
use std::future::Future;

use chrono::{DateTime, Utc};
use ozontrack_domain::{PostingId, StoreId};

use crate::DbError;
use crate::sql::{BeginWrite, Db, ROWS_PER_STATEMENT, SqlDatabase};

/// A token to create; the secret itself never reaches the store, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub name: String,
    pub hash: Vec<u8>,
    /// The token's first characters, to tell tokens apart in listings.
    pub prefix: String,
    pub read_only: bool,
    /// The stores it may see; empty: every store.
    pub stores: Vec<StoreId>,
}

/// A stored token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub read_only: bool,
    /// Empty: every store.
    pub stores: Vec<StoreId>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A signed-in browser: whose it is, its CSRF secret and when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user: String,
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

/// Tokens, people, sessions, login links and buyer tokens.
pub trait Access: Clone + Send + Sync + 'static {
    /// Stores a new API token (its hash) with the stores it may see.
    fn create_token(
        &self,
        token: &NewToken,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<TokenRecord, DbError>> + Send;

    /// The live (not revoked) token with this SHA-256.
    fn token_by_hash(
        &self,
        hash: &[u8],
    ) -> impl Future<Output = Result<Option<TokenRecord>, DbError>> + Send;

    /// Every token, revoked or not, by id.
    fn tokens(&self) -> impl Future<Output = Result<Vec<TokenRecord>, DbError>> + Send;

    /// Revokes a token; false when there is no live token with this id.
    fn revoke_token(
        &self,
        id: i64,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, DbError>> + Send;

    /// Adds a dashboard user, or sets the password (an argon2id PHC string) of one and ends
    /// every session it had.
    fn set_dashboard_user(
        &self,
        name: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// The password hash of a dashboard user.
    fn dashboard_password(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<String>, DbError>> + Send;

    /// Keeps a new session under the SHA-256 of its cookie (and drops ended ones).
    fn create_session(
        &self,
        hash: &[u8],
        session: &SessionRecord,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// The live session with this cookie hash.
    fn session(
        &self,
        hash: &[u8],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<SessionRecord>, DbError>> + Send;

    /// Ends a session (logging out).
    fn end_session(&self, hash: &[u8]) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Keeps a one-time login link's hash until `expires_at`.
    fn create_login_link(
        &self,
        hash: &[u8],
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Uses up a login link: true once, for a live link; false ever after.
    fn use_login_link(
        &self,
        hash: &[u8],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, DbError>> + Send;

    /// The posting's buyer-page token: derived from the secret key and the posting, so the
    /// same link every time; only its SHA-256 is stored, for the lookup.
    fn buyer_token(
        &self,
        posting: PostingId,
    ) -> impl Future<Output = Result<String, DbError>> + Send;

    /// The posting a buyer-page token belongs to.
    fn posting_by_buyer_token(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<Option<PostingId>, DbError>> + Send;
}

type TokenRow = (
    i64,
    String,
    String,
    i64,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

impl Access for SqlDatabase {
    async fn create_token(
        &self,
        token: &NewToken,
        now: DateTime<Utc>,
    ) -> Result<TokenRecord, DbError> {
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

    async fn token_by_hash(&self, hash: &[u8]) -> Result<Option<TokenRecord>, DbError> {
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

    async fn tokens(&self) -> Result<Vec<TokenRecord>, DbError> {
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

    async fn revoke_token(&self, id: i64, now: DateTime<Utc>) -> Result<bool, DbError> {
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

    async fn set_dashboard_user(
        &self,
        name: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        on_db!(&self.db, |pool| {
            // A new password ends every session of the old one: whoever learnt the old one
            // is out as soon as it is changed.
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO dashboard_users (name, password_hash, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash",
            )
            .bind(name)
            .bind(password_hash)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM sessions WHERE user_name = $1")
                .bind(name)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    async fn dashboard_password(&self, name: &str) -> Result<Option<String>, DbError> {
        Ok(on_db!(&self.db, |pool| {
            sqlx::query_scalar::<_, String>(
                "SELECT password_hash FROM dashboard_users WHERE name = $1",
            )
            .bind(name)
            .fetch_optional(pool)
            .await?
        }))
    }

    async fn create_session(
        &self,
        hash: &[u8],
        session: &SessionRecord,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
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

    async fn session(
        &self,
        hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRecord>, DbError> {
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

    async fn end_session(&self, hash: &[u8]) -> Result<(), DbError> {
        on_db!(&self.db, |pool| {
            sqlx::query("DELETE FROM sessions WHERE hash = $1")
                .bind(hash)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn create_login_link(
        &self,
        hash: &[u8],
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), DbError> {
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

    async fn use_login_link(&self, hash: &[u8], now: DateTime<Utc>) -> Result<bool, DbError> {
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

    async fn buyer_token(&self, posting: PostingId) -> Result<String, DbError> {
        let token = self.cipher.derive("buyer-page", posting.0);
        let hash = crate::secrets::digest_hex(&token);
        // A plain read first: the seller opens postings far more often than a link is made,
        // and a write per page view would queue behind the workers' writes.
        let stored = on_db!(&self.db, |pool| {
            sqlx::query_scalar::<_, Option<String>>(
                "SELECT buyer_token FROM postings WHERE id = $1",
            )
            .bind(posting.0)
            .fetch_optional(pool)
            .await?
        });
        match stored {
            None => return Err(DbError::PostingNotFound(posting.0)),
            Some(Some(kept)) if kept == hash => return Ok(token),
            Some(_) => {}
        }
        on_db!(&self.db, |pool| {
            sqlx::query("UPDATE postings SET buyer_token = $2 WHERE id = $1")
                .bind(posting.0)
                .bind(&hash)
                .execute(pool)
                .await?;
        });
        Ok(token)
    }

    async fn posting_by_buyer_token(&self, token: &str) -> Result<Option<PostingId>, DbError> {
        Ok(on_db!(&self.db, |pool| {
            sqlx::query_scalar::<_, i64>("SELECT id FROM postings WHERE buyer_token = $1")
                .bind(crate::secrets::digest_hex(token))
                .fetch_optional(pool)
                .await?
        })
        .map(PostingId))
    }
}

impl SqlDatabase {
    async fn token_stores(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<StoreId>>, DbError> {
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

    async fn tokens_from(&self, rows: Vec<TokenRow>) -> Result<Vec<TokenRecord>, DbError> {
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
}
