//! Who may come in, and with what grant: API tokens (`ozt_` + 32 random bytes, kept as SHA-256
//! and shown once) and dashboard users, each with a role and the stores it covers; one-time
//! login links and sessions (secrets kept as hashes), and dashboard passwords (argon2id). Hashing and checking a password takes tens of milliseconds of CPU, so it
//! runs on the blocking pool, a few at a time, never on the async runtime where it would stall
//! every other request.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use ozontrack_db::{
    Database, DbError, NewToken, NewUser, OPERATOR, SessionRecord, StoreRecord, TokenRecord,
    UserChange, UserRecord,
};
use ozontrack_domain::{AuditAction, Role, StoreScope};

use crate::{Actor, Error, Problem, audit, checked_name};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

/// How long a one-time login link stays usable.
pub const LOGIN_LINK_HOURS: i64 = 24;

/// Password hashes computed at once; more wait their turn instead of taking every core.
const PASSWORD_WORKERS: usize = 2;

/// 32 random bytes, base64url: tokens, session cookies, CSRF tokens, login links, buyer tokens.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    // The OS random source does not fail where ozontrack runs; a guessable secret must never
    // be handed out if it did.
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a secret, and looks it up by: its SHA-256. High-entropy secrets
/// need no slow hash, and a lookup by hash needs no constant-time comparison.
pub fn secret_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// A new API token: the secret to show once, and what the database keeps of it.
pub fn mint_token(name: &str, role: Role, scope: StoreScope) -> (String, NewToken) {
    let secret = format!("ozt_{}", random_secret());
    let token = NewToken {
        name: name.to_owned(),
        hash: secret_hash(&secret),
        prefix: secret.chars().take(8).collect(),
        role,
        scope,
    };
    (secret, token)
}

/// Creates an API token with `role` over `scope`: the secret, shown once, and the record.
pub async fn create_token<D: Database>(
    db: &D,
    name: &str,
    role: Role,
    scope: StoreScope,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(String, TokenRecord), Error> {
    let name = checked_name("name", name)?;
    let (secret, new) = mint_token(name, role, scope);
    let record = db.create_token(&new, now).await?;
    audit::Entry::new(actor, AuditAction::TokenCreated, now)
        .subject(format!("{name} #{}", record.id))
        .detail(grant_detail(role, &record.scope, db).await?)
        .record(db)
        .await;
    Ok((secret, record))
}

/// Revokes a token; not found when there is no live token with this id.
pub async fn revoke_token<D: Database>(
    db: &D,
    id: i64,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    if !db.revoke_token(id, now).await? {
        return Err(Error::NotFound("token"));
    }
    audit::Entry::new(actor, AuditAction::TokenRevoked, now)
        .subject(format!("#{id}"))
        .record(db)
        .await;
    Ok(())
}

/// The shortest dashboard password.
pub const MIN_PASSWORD: usize = 10;

/// The longest: enough for any passphrase, short of a body meant to keep argon2 busy.
pub const MAX_PASSWORD: usize = 1024;

/// A dashboard user's name: one word, at most 64 characters, not the console operator's.
pub fn user_name(name: &str) -> Result<&str, Error> {
    let name = checked_name("name", name)?;
    if name.chars().any(char::is_whitespace) {
        return Err(Error::invalid("name", Problem::OneWord));
    }
    if name.eq_ignore_ascii_case(OPERATOR) {
        return Err(Error::invalid(
            "name",
            Problem::Reserved(OPERATOR.to_owned()),
        ));
    }
    Ok(name)
}

async fn checked_password(password: String) -> Result<String, Error> {
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&password.chars().count()) {
        return Err(Error::invalid(
            "password",
            Problem::Length {
                min: MIN_PASSWORD,
                max: MAX_PASSWORD,
            },
        ));
    }
    hash_password(password)
        .await
        .map_err(|_| Error::Unavailable("the password could not be hashed"))
}

/// Adds a dashboard user with `role` over `scope`.
pub async fn add_user<D: Database>(
    db: &D,
    name: &str,
    password: String,
    role: Role,
    scope: StoreScope,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<UserRecord, Error> {
    let name = user_name(name)?;
    let password_hash = checked_password(password).await?;
    let record = db
        .add_user(
            &NewUser {
                name: name.to_owned(),
                password_hash,
                role,
                scope,
            },
            now,
        )
        .await
        .map_err(|e| match e {
            DbError::DuplicateUser(name) => Error::conflict("name", Problem::Taken(name)),
            other => other.into(),
        })?;
    audit::Entry::new(actor, AuditAction::UserAdded, now)
        .subject(name)
        .detail(grant_detail(role, &record.scope, db).await?)
        .record(db)
        .await;
    Ok(record)
}

/// What to change of a user; `None` keeps it.
#[derive(Debug, Clone, Default)]
pub struct UserEdit {
    pub password: Option<String>,
    pub role: Option<Role>,
    pub scope: Option<StoreScope>,
    /// `Some(true)`: disable; `Some(false)`: enable.
    pub disabled: Option<bool>,
}

/// Changes a user; every session it had ends, so the change holds from the next request.
pub async fn change_user<D: Database>(
    db: &D,
    name: &str,
    edit: UserEdit,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<UserRecord, Error> {
    let password_hash = match edit.password {
        Some(password) => Some(checked_password(password).await?),
        None => None,
    };
    let change = UserChange {
        password_hash,
        role: edit.role,
        scope: edit.scope,
        disabled: edit.disabled,
    };
    let record = db
        .change_user(name.trim(), &change, now)
        .await
        .map_err(|e| match e {
            DbError::UserNotFound(_) => Error::NotFound("user"),
            other => other.into(),
        })?;
    let action = match change.disabled {
        Some(true) => AuditAction::UserDisabled,
        Some(false) => AuditAction::UserEnabled,
        None => AuditAction::UserChanged,
    };
    let mut detail = serde_json::Map::new();
    if let Some(role) = change.role {
        detail.insert("role".into(), role.as_str().into());
    }
    if change.scope.is_some() {
        detail.insert("stores".into(), stores_detail(&record.scope, db).await?);
    }
    if change.password_hash.is_some() {
        detail.insert("password".into(), "changed".into());
    }
    audit::Entry::new(actor, action, now)
        .subject(record.name.clone())
        .detail(detail.into())
        .record(db)
        .await;
    Ok(record)
}

/// A grant as the audit trail keeps it: the role and the stores by name.
async fn grant_detail<D: Database>(
    role: Role,
    scope: &StoreScope,
    db: &D,
) -> Result<serde_json::Value, Error> {
    Ok(serde_json::json!({"role": role.as_str(), "stores": stores_detail(scope, db).await?}))
}

async fn stores_detail<D: Database>(
    scope: &StoreScope,
    db: &D,
) -> Result<serde_json::Value, Error> {
    Ok(match scope {
        StoreScope::All => "all".into(),
        StoreScope::Only(ids) => db
            .stores()
            .await?
            .into_iter()
            .filter(|s| ids.contains(&s.id))
            .map(|s| serde_json::Value::from(s.name.as_str()))
            .collect(),
    })
}

/// A one-time login link's secret for `user` (none: the console's operator), kept (hashed)
/// until used or a day has passed.
pub async fn mint_login_link<D: Database>(
    db: &D,
    user: Option<&str>,
    now: DateTime<Utc>,
) -> Result<String, Error> {
    if let Some(name) = user {
        let known = db.user(name.trim()).await?;
        if known.is_none_or(|u| u.disabled_at.is_some()) {
            return Err(Error::NotFound("user"));
        }
    }
    let secret = random_secret();
    db.create_login_link(
        &secret_hash(&secret),
        user.map(str::trim),
        now,
        now + Duration::hours(LOGIN_LINK_HOURS),
    )
    .await?;
    Ok(secret)
}

/// The stores a grant covers, by name.
pub async fn stores_of<D: Database>(
    db: &D,
    scope: &StoreScope,
) -> Result<Vec<StoreRecord>, DbError> {
    Ok(db
        .stores()
        .await?
        .into_iter()
        .filter(|s| scope.covers(s.id))
        .collect())
}

/// What a signed-in person may do: their role and stores (the console's operator is an admin
/// of every store); `None` for a user since disabled or removed, whose session is then void.
pub async fn grant_of<D: Database>(
    db: &D,
    user: &str,
) -> Result<Option<(Role, StoreScope)>, DbError> {
    if user == OPERATOR {
        return Ok(Some((Role::Admin, StoreScope::All)));
    }
    Ok(db
        .user(user)
        .await?
        .filter(|u| u.disabled_at.is_none())
        .map(|u| (u.role, u.scope)))
}

/// A new session for `user` lasting `hours`: the cookie's secret, after the database keeps its
/// hash.
pub async fn start_session<D: Database>(
    db: &D,
    user: &str,
    hours: i64,
    now: DateTime<Utc>,
) -> Result<(String, SessionRecord), DbError> {
    let secret = random_secret();
    let session = SessionRecord {
        user: user.to_owned(),
        csrf: random_secret(),
        expires_at: now + Duration::hours(hours),
    };
    db.create_session(&secret_hash(&secret), &session, now)
        .await?;
    Ok((secret, session))
}

static PASSWORD_SLOTS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(PASSWORD_WORKERS));

/// Runs a password computation on the blocking pool, a few at a time.
async fn on_password_pool<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    // The semaphore is never closed.
    let _slot = PASSWORD_SLOTS.acquire().await.ok()?;
    tokio::task::spawn_blocking(work).await.ok()
}

/// An argon2id PHC string for a dashboard password.
pub async fn hash_password(password: String) -> Result<String, String> {
    on_password_pool(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).expect("the operating system's random source is available");
        argon2::Argon2::default()
            .hash_password_with_salt(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await
    .unwrap_or_else(|| Err("the password could not be hashed".into()))
}

/// Whether `password` matches a stored PHC string (a malformed one matches nothing). With no
/// stored hash (no such user) the same work is done against a decoy, so that the answer takes
/// as long as for a wrong password and does not tell which names exist.
pub async fn verify_password(password: String, phc: Option<String>) -> bool {
    on_password_pool(move || {
        let (phc, real) = match &phc {
            Some(phc) => (phc.as_str(), true),
            None => (decoy_hash(), false),
        };
        let ok = argon2::Argon2::default()
            .verify_password(password.as_bytes(), phc)
            .is_ok();
        ok && real
    })
    .await
    .unwrap_or(false)
}

/// A hash no password matches.
fn decoy_hash() -> &'static str {
    static DECOY: LazyLock<String> = LazyLock::new(|| {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).expect("the operating system's random source is available");
        argon2::Argon2::default()
            .hash_password_with_salt(random_secret().as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    });
    &DECOY
}

/// How many login attempts a key (an address, a user name) may make: `burst` at once, then one
/// every `every`.
#[derive(Debug, Clone, Copy)]
pub struct AttemptPolicy {
    pub burst: u32,
    pub every: std::time::Duration,
}

/// Login attempts limited per address and per user name, before any password is hashed: a
/// guesser gets a few tries and then a wait, and a flood of logins costs a map lookup each
/// instead of a hash. Memory is bounded: past `MAX_KEYS` keys, those whose allowance has
/// refilled are forgotten, then (under a flood of fresh keys) all but those being held back.
#[derive(Debug)]
pub struct LoginThrottle {
    per_address: AttemptPolicy,
    per_user: AttemptPolicy,
    keys: std::sync::Mutex<std::collections::HashMap<Attempter, Allowance>>,
}

/// Who makes login attempts: an address, or anyone trying one user name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Attempter {
    Address(std::net::IpAddr),
    User(String),
}

#[derive(Debug, Clone, Copy)]
struct Allowance {
    /// Attempts left, refilled continuously.
    left: f64,
    at: std::time::Instant,
}

/// Keys kept before the map is swept.
const MAX_KEYS: usize = 10_000;

impl Default for LoginThrottle {
    /// Ten tries from an address, then one every six seconds; five for a user name, then one
    /// every twelve seconds.
    fn default() -> Self {
        Self::new(
            AttemptPolicy {
                burst: 10,
                every: std::time::Duration::from_secs(6),
            },
            AttemptPolicy {
                burst: 5,
                every: std::time::Duration::from_secs(12),
            },
        )
    }
}

impl LoginThrottle {
    pub fn new(per_address: AttemptPolicy, per_user: AttemptPolicy) -> Self {
        Self {
            per_address,
            per_user,
            keys: std::sync::Mutex::default(),
        }
    }

    /// Takes one attempt for `address` and `user` at `now`, or says how long to wait. An
    /// attempt refused for one key costs the other nothing.
    pub fn attempt(
        &self,
        address: std::net::IpAddr,
        user: &str,
        now: std::time::Instant,
    ) -> Result<(), std::time::Duration> {
        // A poisoned lock only means another request panicked mid-update; the counts are
        // still numbers.
        let mut keys = self
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if keys.len() > MAX_KEYS {
            let (a, u) = (self.per_address, self.per_user);
            let left = |key: &Attempter, allowance: &Allowance| {
                let policy = match key {
                    Attempter::Address(_) => a,
                    Attempter::User(_) => u,
                };
                (refilled(*allowance, policy, now), f64::from(policy.burst))
            };
            // First what has refilled; under a flood of fresh names and addresses, also every
            // key not yet held back, so that the map stays bounded and those waiting still wait.
            keys.retain(|key, allowance| {
                let (left, burst) = left(key, allowance);
                left < burst
            });
            if keys.len() > MAX_KEYS {
                keys.retain(|key, allowance| left(key, allowance).0 < 1.0);
            }
        }
        let user = user.trim().to_lowercase();
        let entries = [
            (Attempter::Address(address), self.per_address),
            (Attempter::User(user), self.per_user),
        ];
        let mut wait = std::time::Duration::ZERO;
        for (key, policy) in &entries {
            let left = keys
                .get(key)
                .map_or(f64::from(policy.burst), |a| refilled(*a, *policy, now));
            if left < 1.0 {
                wait = wait.max(policy.every.mul_f64(1.0 - left));
            }
        }
        if !wait.is_zero() {
            return Err(wait);
        }
        for (key, policy) in entries {
            let left = keys
                .get(&key)
                .map_or(f64::from(policy.burst), |a| refilled(*a, policy, now));
            keys.insert(
                key,
                Allowance {
                    left: left - 1.0,
                    at: now,
                },
            );
        }
        Ok(())
    }
}

fn refilled(allowance: Allowance, policy: AttemptPolicy, now: std::time::Instant) -> f64 {
    let earned = now.saturating_duration_since(allowance.at).as_secs_f64()
        / policy.every.as_secs_f64().max(f64::EPSILON);
    (allowance.left + earned).min(f64::from(policy.burst))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_fresh_names_keeps_the_map_bounded_and_a_held_back_user_waiting() {
        let throttle = LoginThrottle::default();
        let now = std::time::Instant::now();
        let home: std::net::IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..5 {
            throttle.attempt(home, "owner", now).unwrap();
        }
        assert!(throttle.attempt(home, "owner", now).is_err());
        // Fresh addresses, each guessing a fresh name once.
        for i in 0..(3 * MAX_KEYS as u32) {
            let address = std::net::IpAddr::from(i.to_be_bytes());
            throttle.attempt(address, &format!("n{i}"), now).unwrap();
        }
        let kept = throttle.keys.lock().unwrap().len();
        assert!(kept <= MAX_KEYS + 2, "{kept}");
        assert!(throttle.attempt(home, "owner", now).is_err());
    }

    #[test]
    fn a_guesser_gets_a_few_tries_per_address_and_per_user_then_waits() {
        let throttle = LoginThrottle::default();
        let start = std::time::Instant::now();
        let home: std::net::IpAddr = "192.0.2.1".parse().unwrap();
        for i in 0..5 {
            assert!(throttle.attempt(home, "Owner", start).is_ok(), "{i}");
        }
        // The sixth try at the same name waits, from this address or any other.
        let wait = throttle.attempt(home, "owner", start).unwrap_err();
        assert!(wait <= std::time::Duration::from_secs(12), "{wait:?}");
        let elsewhere: std::net::IpAddr = "198.51.100.7".parse().unwrap();
        assert!(throttle.attempt(elsewhere, "owner ", start).is_err());
        // Other names from the first address, until the address has used its ten.
        for i in 0..5 {
            assert!(
                throttle.attempt(home, &format!("guess{i}"), start).is_ok(),
                "{i}"
            );
        }
        assert!(throttle.attempt(home, "someone", start).is_err());
        // Time refills both.
        let later = start + std::time::Duration::from_secs(13);
        assert!(throttle.attempt(home, "owner", later).is_ok());
    }

    #[tokio::test]
    async fn a_password_verifies_against_its_own_hash_only() {
        let phc = hash_password("correct horse".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), Some(phc.clone())).await);
        assert!(!verify_password("correct horse!".into(), Some(phc)).await);
        assert!(!verify_password("correct horse".into(), Some("not a hash".into())).await);
        assert!(!verify_password("anything".into(), None).await);
    }

    #[test]
    fn a_token_is_shown_once_and_kept_as_its_hash_with_a_short_prefix() {
        let scope = StoreScope::Only(vec![ozontrack_domain::StoreId(3)]);
        let (secret, token) = mint_token("erp", Role::Viewer, scope.clone());
        assert!(secret.starts_with("ozt_") && secret.len() > 40);
        assert_eq!(token.hash, secret_hash(&secret));
        assert_eq!(token.prefix, secret[..8]);
        assert_eq!((token.role, token.scope), (Role::Viewer, scope));
        assert_ne!(mint_token("erp", Role::Admin, StoreScope::All).0, secret);
    }
}
