//! Wiring: the one place that turns settings into a concrete store (SQLite or PostgreSQL) and
//! the secret key that protects Ozon API keys.

use anyhow::Context;
use ozontrack_store::{Cipher, DatabaseUrl, PoolSettings, SqlStore, Store};
use secrecy::ExposeSecret;

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
    pub(crate) store: SqlStore,
    pub(crate) url: DatabaseUrl,
    pub(crate) key_created: bool,
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
    let store = SqlStore::connect(&url, cipher, &pool)
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
    })
}
