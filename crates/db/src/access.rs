//! Who may look: API tokens (kept as SHA-256 hashes, scoped to stores), dashboard users
//! (argon2id PHC strings), sessions and one-time login links (secrets kept as hashes), and the
//! per-posting tokens of the buyer's tracking page.

use std::collections::HashMap;
use std::future::Future;

use chrono::{DateTime, Utc};
use ozontrack_domain::{PostingId, Role, StoreId, StoreScope};
use sqlx::AssertSqlSafe;

use crate::DbError;
use crate::sql::{BeginWrite, Db, ROWS_PER_STATEMENT, SqlDatabase};

/// A token to create; the secret itself never reaches the store, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub name: String,
    pub hash: Vec<u8>,
    /// The token's first characters, to tell tokens apart in listings.
    pub prefix: String,
    pub role: Role,
    pub scope: StoreScope,
}

/// A stored token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub role: Role,
    pub scope: StoreScope,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A dashboard user to add: the password as an argon2id PHC string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub name: String,
    pub password_hash: String,
    pub role: Role,
    pub scope: StoreScope,
}

/// What to change of a user; `None` keeps it. Any change ends the user's sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChange {
    pub password_hash: Option<String>,
    pub role: Option<Role>,
    pub scope: Option<StoreScope>,
    /// `Some(true)`: disable; `Some(false)`: enable again.
    pub disabled: Option<bool>,
}

/// A dashboard user as stored (without the password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub name: String,
    pub role: Role,
    pub scope: StoreScope,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

/// The name a session carries when a one-time login link without a user made it: the person
/// at the installation's console, an admin of every store. No dashboard user may take it.
pub const OPERATOR: &str = "operator";

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

    /// Adds a dashboard user; a name taken already is [`DbError::DuplicateUser`].
    fn add_user(
        &self,
        user: &NewUser,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<UserRecord, DbError>> + Send;

    /// Changes a user's password, role, stores or state, and ends every session it had:
    /// whoever held one is out as soon as what it may do changes.
    fn change_user(
        &self,
        name: &str,
        change: &UserChange,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<UserRecord, DbError>> + Send;

    /// A dashboard user, disabled or not.
    fn user(&self, name: &str) -> impl Future<Output = Result<Option<UserRecord>, DbError>> + Send;

    /// Every dashboard user, by name.
    fn users(&self) -> impl Future<Output = Result<Vec<UserRecord>, DbError>> + Send;

    /// The password hash of an enabled dashboard user.
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

    /// Keeps a one-time login link's hash until `expires_at`; it signs in as `user` (none:
    /// as the [`OPERATOR`]).
    fn create_login_link(
        &self,
        hash: &[u8],
        user: Option<&str>,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Uses up a login link: the name it signs in as, once, for a live link whose user is
    /// still enabled; `None` ever after.
    fn use_login_link(
        &self,
        hash: &[u8],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<String>, DbError>> + Send;

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
    String,
    bool,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

const TOKEN_COLUMNS: &str = "id, name, prefix, role, all_stores, created_at, revoked_at";

type UserRow = (String, String, bool, DateTime<Utc>, Option<DateTime<Utc>>);

const USER_COLUMNS: &str = "name, role, all_stores, created_at, disabled_at";

fn role_of(table: &'static str, id: i64, text: &str) -> Result<Role, DbError> {
    Role::parse(text).map_err(|e| DbError::Corrupt {
        table,
        id,
        reason: e.to_string(),
    })
}

fn scope_of(all: bool, listed: Option<Vec<StoreId>>) -> StoreScope {
    if all {
        StoreScope::All
    } else {
        StoreScope::Only(listed.unwrap_or_default())
    }
}

impl Access for SqlDatabase {
    async fn create_token(
        &self,
        token: &NewToken,
        now: DateTime<Utc>,
    ) -> Result<TokenRecord, DbError> {
        let id = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let id = sqlx::query_scalar::<_, i64>(
                "INSERT INTO api_tokens (name, prefix, hash, role, all_stores, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(&token.name)
            .bind(&token.prefix)
            .bind(&token.hash)
            .bind(token.role.as_str())
            .bind(token.scope.is_all())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            for store in token.scope.listed() {
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
            role: token.role,
            scope: token.scope.clone(),
            created_at: now,
            revoked_at: None,
        })
    }

    async fn token_by_hash(&self, hash: &[u8]) -> Result<Option<TokenRecord>, DbError> {
        let sql = AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE hash = $1 AND revoked_at IS NULL"
        ));
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, TokenRow>(sql)
                .bind(hash)
                .fetch_all(pool)
                .await?
        });
        Ok(self.tokens_from(rows).await?.pop())
    }

    async fn tokens(&self) -> Result<Vec<TokenRecord>, DbError> {
        let sql = AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id"
        ));
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, TokenRow>(sql).fetch_all(pool).await?
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

    async fn add_user(&self, user: &NewUser, now: DateTime<Utc>) -> Result<UserRecord, DbError> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let inserted = sqlx::query(
                "INSERT INTO dashboard_users (name, password_hash, role, all_stores, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING",
            )
            .bind(&user.name)
            .bind(&user.password_hash)
            .bind(user.role.as_str())
            .bind(user.scope.is_all())
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                return Err(DbError::DuplicateUser(user.name.clone()));
            }
            for store in user.scope.listed() {
                sqlx::query(
                    "INSERT INTO dashboard_user_stores (user_name, store_id) VALUES ($1, $2)",
                )
                .bind(&user.name)
                .bind(store.0)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(UserRecord {
            name: user.name.clone(),
            role: user.role,
            scope: user.scope.clone(),
            created_at: now,
            disabled_at: None,
        })
    }

    async fn change_user(
        &self,
        name: &str,
        change: &UserChange,
        now: DateTime<Utc>,
    ) -> Result<UserRecord, DbError> {
        on_db!(&self.db, |pool| {
            let mut tx = pool.begin_write().await?;
            let found = sqlx::query(
                "UPDATE dashboard_users SET \
                 password_hash = COALESCE($2, password_hash), role = COALESCE($3, role), \
                 all_stores = COALESCE($4, all_stores), \
                 disabled_at = CASE WHEN $5 IS NULL THEN disabled_at \
                                    WHEN $5 THEN COALESCE(disabled_at, $6) ELSE NULL END \
                 WHERE name = $1",
            )
            .bind(name)
            .bind(change.password_hash.as_deref())
            .bind(change.role.map(Role::as_str))
            .bind(change.scope.as_ref().map(StoreScope::is_all))
            .bind(change.disabled)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if found == 0 {
                return Err(DbError::UserNotFound(name.to_owned()));
            }
            if let Some(scope) = &change.scope {
                sqlx::query("DELETE FROM dashboard_user_stores WHERE user_name = $1")
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
                for store in scope.listed() {
                    sqlx::query(
                        "INSERT INTO dashboard_user_stores (user_name, store_id) VALUES ($1, $2)",
                    )
                    .bind(name)
                    .bind(store.0)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            sqlx::query("DELETE FROM sessions WHERE user_name = $1")
                .bind(name)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        self.user(name)
            .await?
            .ok_or_else(|| DbError::UserNotFound(name.to_owned()))
    }

    async fn user(&self, name: &str) -> Result<Option<UserRecord>, DbError> {
        let sql = AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM dashboard_users WHERE name = $1"
        ));
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, UserRow>(sql)
                .bind(name)
                .fetch_all(pool)
                .await?
        });
        Ok(self.users_from(rows).await?.pop())
    }

    async fn users(&self) -> Result<Vec<UserRecord>, DbError> {
        let sql = AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM dashboard_users ORDER BY name"
        ));
        let rows = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, UserRow>(sql).fetch_all(pool).await?
        });
        self.users_from(rows).await
    }

    async fn dashboard_password(&self, name: &str) -> Result<Option<String>, DbError> {
        Ok(on_db!(&self.db, |pool| {
            sqlx::query_scalar::<_, String>(
                "SELECT password_hash FROM dashboard_users \
                 WHERE name = $1 AND disabled_at IS NULL",
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
        user: Option<&str>,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), DbError> {
        on_db!(&self.db, |pool| {
            sqlx::query(
                "INSERT INTO login_links (hash, user_name, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(hash)
            .bind(user)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    async fn use_login_link(
        &self,
        hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<String>, DbError> {
        // One statement: two browsers racing for one link cannot both win.
        let used = on_db!(&self.db, |pool| {
            sqlx::query_scalar::<_, Option<String>>(
                "UPDATE login_links SET used_at = $2 \
                 WHERE hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_name",
            )
            .bind(hash)
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        match used {
            None => Ok(None),
            Some(None) => Ok(Some(OPERATOR.to_owned())),
            Some(Some(name)) => Ok(self
                .user(&name)
                .await?
                .filter(|u| u.disabled_at.is_none())
                .map(|u| u.name)),
        }
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
        // A token for every store has no list to read (one query less on every API request).
        let ids: Vec<i64> = rows.iter().filter(|r| !r.4).map(|r| r.0).collect();
        let mut stores = self.token_stores(&ids).await?;
        rows.into_iter()
            .map(|(id, name, prefix, role, all, created_at, revoked_at)| {
                Ok(TokenRecord {
                    id,
                    name,
                    prefix,
                    role: role_of("api_tokens", id, &role)?,
                    scope: scope_of(all, stores.remove(&id)),
                    created_at,
                    revoked_at,
                })
            })
            .collect()
    }

    async fn users_from(&self, rows: Vec<UserRow>) -> Result<Vec<UserRecord>, DbError> {
        // People are few: every user's stores in one read.
        let listed = on_db!(&self.db, |pool| {
            sqlx::query_as::<_, (String, i64)>(
                "SELECT user_name, store_id FROM dashboard_user_stores ORDER BY store_id",
            )
            .fetch_all(pool)
            .await?
        });
        let mut stores: HashMap<String, Vec<StoreId>> = HashMap::new();
        for (name, store) in listed {
            stores.entry(name).or_default().push(StoreId(store));
        }
        rows.into_iter()
            .map(|(name, role, all, created_at, disabled_at)| {
                Ok(UserRecord {
                    role: role_of("dashboard_users", 0, &role)?,
                    scope: scope_of(all, stores.remove(&name)),
                    name,
                    created_at,
                    disabled_at,
                })
            })
            .collect()
    }
}
