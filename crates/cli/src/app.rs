//! Wiring: the one place that turns settings into a concrete store (SQLite or PostgreSQL) and
//! the secret key that protects Ozon API keys, and picks the stores and the lease owner a
//! command works with, on real time or a followed sandbox world's.

use std::sync::Arc;

use anyhow::Context;
use ozontrack_db::prelude::*;
use ozontrack_db::{Cipher, DatabaseUrl, LeaseOwner, PoolSettings, SqlDatabase, StoreRecord};
use ozontrack_domain::{Clock, StoreName};
use secrecy::ExposeSecret;

use crate::errors::InputError;
use crate::settings::Settings;

/// How to obtain the secret key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyMode {
    /// The key must already exist.
    Existing,
    /// Create the key file when there is none (`init` only).
    CreateIfMissing,
}

/// What opening found, for commands that report it.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) store: SqlDatabase,
    pub(crate) url: DatabaseUrl,
    pub(crate) key_created: bool,
    /// The time parcels are judged by: real time, or the sandbox world's with `--follow-clock`.
    /// People's actions (sign-ins, tokens, users, channels, the audit of them) use real time.
    pub(crate) clock: Arc<dyn Clock>,
}

pub(crate) fn cipher(settings: &Settings, mode: KeyMode) -> anyhow::Result<(Cipher, bool)> {
    if let Some(key) = &settings.secrets.key {
        let cipher = Cipher::from_base64(key.expose_secret()).context("secrets.key")?;
        return Ok((cipher, false));
    }
    let path = &settings.secrets.key_file;
    Ok(match mode {
        KeyMode::Existing => (Cipher::load_key_file(path)?, false),
        KeyMode::CreateIfMissing => Cipher::load_or_create_key_file(path)?,
    })
}

/// Opens the configured database and migrates it, so every command sees the current schema.
pub(crate) async fn open(settings: &Settings, mode: KeyMode) -> anyhow::Result<Opened> {
    let url = DatabaseUrl::parse(&settings.database.url).context("database.url")?;
    let (cipher, key_created) = cipher(settings, mode)?;
    let pool = PoolSettings {
        max_connections: settings.database.max_connections.max(1),
        ..PoolSettings::default()
    };
    let store = SqlDatabase::connect(&url, cipher, &pool)
        .await
        .with_context(|| format!("cannot open the database {url}"))?;
    store
        .migrate()
        .await
        .with_context(|| format!("cannot migrate the database {url}"))?;
    Ok(Opened {
        store,
        url,
        key_created,
        clock: world_clock(settings).await?,
    })
}

/// The followed sandbox clock when `--follow-clock` is given, else real time.
async fn world_clock(settings: &Settings) -> anyhow::Result<Arc<dyn Clock>> {
    Ok(match &settings.follow_clock {
        Some(url) => Arc::new(followed_clock(url).await?),
        None => Arc::new(ozontrack_domain::SystemClock),
    })
}

/// The clock of a running sandbox world (its `/sandbox/clock` at `url`), followed from here:
/// read once, then run at the world's speed from that reading plus half the round trip, so that
/// processes on one machine agree with the world to within milliseconds of real time.
pub(crate) async fn followed_clock(url: &str) -> anyhow::Result<ozontrack_domain::ScaledClock> {
    let http = ozontrack_http::client(std::time::Duration::from_secs(5))?;
    let sent = std::time::Instant::now();
    let reading: ozontrack_sandbox::ClockReading = http
        .get(url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .with_context(|| format!("cannot read the clock to follow at {url}"))?
        .json()
        .await
        .with_context(|| format!("{url} did not answer with a clock reading"))?;
    let Some(speed) = reading.speed else {
        return Err(InputError::new(format!(
            "the clock at {url} is moved by hand (a test's); it cannot be followed"
        ))
        .into());
    };
    let in_flight = sent.elapsed().mul_f64(speed / 2.0);
    let ahead = chrono::Duration::from_std(in_flight).unwrap_or_default();
    Ok(ozontrack_domain::ScaledClock::new(
        reading.now + ahead,
        speed,
    ))
}

/// A lease owner unique to this process: host, pid and the start time.
pub(crate) fn owner(clock: &dyn Clock) -> LeaseOwner {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    let started = clock.now().timestamp_micros();
    LeaseOwner::new(format!("{host}:{}:{started}", std::process::id()))
}

/// A syncer on the opened database's clock with the configured settings, owned by this process.
pub(crate) fn syncer(
    opened: &Opened,
    settings: &Settings,
) -> anyhow::Result<ozontrack_engine::Syncer<SqlDatabase>> {
    let store = &opened.store;
    let clock = Arc::clone(&opened.clock);
    let owner = owner(clock.as_ref());
    Ok(ozontrack_engine::Syncer::new(
        store.clone(),
        clock,
        ozontrack_http::Limiters::default(),
        settings.sync_settings(),
        owner,
    )?)
}

/// The stores a command works on: the named one, or all.
pub(crate) async fn chosen_stores(
    store: &SqlDatabase,
    name: Option<&str>,
) -> anyhow::Result<Vec<StoreRecord>> {
    let all = store.stores().await?;
    let Some(name) = name else {
        if all.is_empty() {
            return Err(InputError::new(
                "no store is connected yet: add one with `ozontrack stores add`",
            )
            .into());
        }
        return Ok(all);
    };
    let wanted = StoreName::parse(name).context("--store")?;
    match all.into_iter().find(|s| s.name == wanted) {
        Some(record) => Ok(vec![record]),
        None => Err(InputError::new(format!(
            "--store: no store named {name:?} (see `ozontrack stores list`)"
        ))
        .into()),
    }
}

/// The carrier clients the configuration has credentials for.
pub(crate) fn feeds(settings: &Settings) -> anyhow::Result<ozontrack_engine::Feeds> {
    use ozontrack_carriers::cdek::CdekClient;
    use ozontrack_carriers::russian_post::RussianPostClient;
    use ozontrack_carriers::seventeen_track::SeventeenTrackClient;
    let c = &settings.carriers;
    let http = ozontrack_http::client(std::time::Duration::from_secs(c.timeout_secs.max(1)))
        .context("cannot build the HTTP client for carriers")?;
    Ok(ozontrack_engine::Feeds {
        seventeen_track: c.seventeen_track_token.clone().map(|token| {
            SeventeenTrackClient::with_rate_limit(
                http.clone(),
                &c.seventeen_track_base_url,
                token,
                c.seventeen_track_rate_limit.max(1),
            )
        }),
        russian_post: c
            .russian_post_login
            .as_deref()
            .zip(c.russian_post_password.clone())
            .map(|(login, password)| {
                RussianPostClient::new(http.clone(), &c.russian_post_base_url, login, password)
            }),
        cdek: c
            .cdek_client_id
            .as_deref()
            .zip(c.cdek_client_secret.clone())
            .map(|(id, secret)| CdekClient::new(http.clone(), &c.cdek_base_url, id, secret)),
    })
}

/// Who a command acts as: the person `--by` names, else the console's user.
pub(crate) fn actor(by: Option<&str>) -> anyhow::Result<ozontrack_engine::Actor> {
    match by {
        Some(name) => {
            Ok(ozontrack_engine::Actor::person(name)
                .map_err(|e| InputError::new(format!("--{e}")))?)
        }
        None => Ok(console()),
    }
}

/// Who a command acts as in the audit trail: the console's login user (`cli:NAME`).
pub(crate) fn console() -> ozontrack_engine::Actor {
    ["USER", "LOGNAME"]
        .into_iter()
        .filter_map(|name| std::env::var(name).ok())
        .chain(process_owner())
        .find_map(|user| ozontrack_engine::Actor::console(&user).ok())
        .unwrap_or_else(|| {
            // No usable name anywhere (a container without a passwd entry): still a console
            // action.
            ozontrack_engine::Actor::console("unknown").unwrap_or_else(|_| unreachable!())
        })
}

/// The name of the user this process runs as, from `/etc/passwd`: containers and services
/// often start commands without `$USER` or `$LOGNAME`.
fn process_owner() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid().to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid).then(|| name.to_owned())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_process_owner_is_the_name_id_gives_for_this_user() {
        let id = std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap();
        let expected = String::from_utf8(id.stdout).unwrap().trim().to_owned();
        assert_eq!(super::process_owner(), Some(expected));
    }
}
