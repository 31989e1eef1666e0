//! `ozontrack stores …`: connecting Ozon seller accounts and listing them.

use std::io::{Read, Write};
use std::str::FromStr;

use anyhow::Context;
use ozontrack_db::prelude::*;
use ozontrack_db::{NewStore, StoreRecord};
use ozontrack_domain::{ClientId, Language, StoreName, StoreSettings};
use secrecy::SecretString;
use serde_json::json;

use crate::app::{self, KeyMode};
use crate::cli::{AddStore, SetKey};
use crate::errors::InputError;
use crate::output;
use crate::settings::Settings;

pub(crate) async fn add(
    settings: &Settings,
    args: AddStore,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    // Everything the person typed is checked before the database is touched.
    let name = StoreName::parse(&args.name).context("--name")?;
    let client_id = args
        .client_id
        .as_deref()
        .map(|c| ClientId::parse(c).context("--client-id"))
        .transpose()?;
    let language = Language::parse(&args.language).context("--language")?;
    let timezone = chrono_tz::Tz::from_str(args.timezone.trim()).map_err(|_| {
        InputError::new(format!(
            "--timezone: unknown time zone {:?}; expected an IANA name such as Asia/Shanghai or Europe/Moscow",
            args.timezone
        ))
    })?;
    let base_url = base_url(
        args.ozon_base_url
            .as_deref()
            .unwrap_or(&settings.ozon.base_url),
    )?;
    let store_settings = StoreSettings {
        timezone: timezone.name().to_owned(),
        language,
    };
    let access = match client_id {
        Some(client_id) => Some((client_id, read_api_key(args.api_key_env.as_deref())?)),
        None => None,
    };

    let opened = app::open(settings, KeyMode::Existing).await?;
    // Time comes from the Clock, as everywhere else.
    let now = ozontrack_domain::Clock::now(&ozontrack_domain::SystemClock);
    let record = match access {
        Some((client_id, api_key)) => {
            let new = NewStore {
                name,
                client_id,
                api_key,
                ozon_base_url: base_url,
                settings: store_settings,
            };
            opened.store.add_store(new, now).await?
        }
        None => {
            opened
                .store
                .add_offline_store(name, store_settings, now)
                .await?
        }
    };
    let push = push_path(&opened.store.push_secret(record.id).await?);
    opened.store.close().await;
    if json {
        output::print_json(out, &store_json(&record, &push))?;
    } else if record.client_id.is_none() {
        writeln!(
            out,
            "added store {:?} (id {}) without Ozon API access: fill it with `ozontrack import \
             postings FILE --store {}`; `ozontrack stores set-key` connects it later",
            record.name.as_str(),
            record.id,
            record.name.as_str()
        )?;
    } else {
        writeln!(
            out,
            "added store {:?} (id {}); its first sync is due now\n\
             Ozon pushes: set https://YOUR-SERVER{push} in the seller office",
            record.name.as_str(),
            record.id
        )?;
    }
    Ok(())
}

pub(crate) async fn set_key(
    settings: &Settings,
    args: &SetKey,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let name = StoreName::parse(&args.name).context("NAME")?;
    let client_id = ClientId::parse(&args.client_id).context("--client-id")?;
    let api_key = read_api_key(args.api_key_env.as_deref())?;
    let opened = app::open(settings, KeyMode::Existing).await?;
    let Some(record) = opened.store.store_by_name(&name).await? else {
        return Err(InputError::new(format!(
            "no store named {:?} (see `ozontrack stores list`)",
            args.name
        ))
        .into());
    };
    let fallback = if record.ozon_base_url.is_empty() {
        settings.ozon.base_url.as_str()
    } else {
        record.ozon_base_url.as_str()
    };
    let base_url = base_url(args.ozon_base_url.as_deref().unwrap_or(fallback))?;
    let now = ozontrack_domain::Clock::now(&ozontrack_domain::SystemClock);
    opened
        .store
        .set_store_connection(record.id, client_id, api_key, &base_url, now)
        .await?;
    let record = opened
        .store
        .store(record.id)
        .await?
        .context("the store vanished while its key was set")?;
    let push = push_path(&opened.store.push_secret(record.id).await?);
    opened.store.close().await;
    if json {
        output::print_json(out, &store_json(&record, &push))?;
    } else {
        writeln!(
            out,
            "store {:?} now uses Client-Id {client_id}; its postings and history are kept",
            record.name.as_str()
        )?;
    }
    Ok(())
}

pub(crate) async fn list(
    settings: &Settings,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let opened = app::open(settings, KeyMode::Existing).await?;
    let stores = opened.store.stores().await?;
    let mut pushes = Vec::with_capacity(stores.len());
    for s in &stores {
        pushes.push(push_path(&opened.store.push_secret(s.id).await?));
    }
    opened.store.close().await;
    if json {
        let value = stores
            .iter()
            .zip(&pushes)
            .map(|(s, push)| store_json(s, push))
            .collect();
        let value = serde_json::Value::Array(value);
        output::print_json(out, &value)?;
        return Ok(());
    }
    if stores.is_empty() {
        writeln!(
            out,
            "no stores yet: ozontrack stores add --name NAME --client-id ID --api-key-stdin"
        )?;
        return Ok(());
    }
    let mut table = output::table(&[
        "id",
        "name",
        "client id",
        "Ozon API",
        "time zone",
        "lang",
        "next sync (UTC)",
        "Ozon push path",
    ]);
    for (s, push) in stores.iter().zip(&pushes) {
        table.add_row(vec![
            s.id.to_string(),
            s.name.to_string(),
            s.client_id
                .map_or_else(|| "-".to_owned(), |c| c.to_string()),
            if s.client_id.is_some() {
                s.ozon_base_url.clone()
            } else {
                "(no API access: imports)".to_owned()
            },
            s.settings.timezone.clone(),
            s.settings.language.as_str().to_owned(),
            s.next_sync_at
                .map_or("-".into(), |t| t.format("%Y-%m-%d %H:%M").to_string()),
            push.clone(),
        ]);
    }
    output::print_table(out, &table)?;
    Ok(())
}

/// Where Ozon pushes a store's notifications, below the server's public address.
fn push_path(secret: &str) -> String {
    format!("/ozon/push/{secret}")
}

fn store_json(s: &StoreRecord, push_path: &str) -> serde_json::Value {
    let time = output::time;
    json!({
        "push_path": push_path,
        "id": s.id.0,
        "name": s.name.as_str(),
        "client_id": s.client_id.map(ClientId::get),
        "api_access": s.client_id.is_some(),
        "ozon_base_url": s.ozon_base_url,
        "timezone": s.settings.timezone,
        "language": s.settings.language.as_str(),
        "created_at": time(s.created_at),
        "next_sync_at": s.next_sync_at.map(time),
        "synced_until": s.synced_until.map(time),
    })
}

/// The Api-Key from the variable named, else from standard input.
fn read_api_key(env: Option<&str>) -> anyhow::Result<SecretString> {
    let key = if let Some(var) = env {
        std::env::var(var).map_err(|_| {
            InputError::new(format!(
                "--api-key-env: the environment variable {var} is not set"
            ))
        })?
    } else {
        let mut key = String::new();
        std::io::stdin().read_to_string(&mut key).map_err(|e| {
            InputError::new(format!("--api-key-stdin: cannot read standard input: {e}"))
        })?;
        key
    };
    let key = key.trim();
    if key.is_empty() {
        return Err(InputError::new("the Api-Key is empty").into());
    }
    if key.chars().any(char::is_whitespace) {
        return Err(InputError::new(
            "the Api-Key contains white space; paste it exactly as the seller office shows it",
        )
        .into());
    }
    Ok(SecretString::from(key.to_owned()))
}

/// An Ozon base URL: http(s), a host, no trailing slash.
fn base_url(text: &str) -> Result<String, InputError> {
    let trimmed = text.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    let host_ok = rest.is_some_and(|r| {
        let host = r.split('/').next().unwrap_or_default();
        !host.is_empty() && !r.chars().any(char::is_whitespace)
    });
    if !host_ok {
        return Err(InputError::new(format!(
            "--ozon-base-url: {text:?} is not an http(s) URL such as https://api-seller.ozon.ru"
        )));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_must_be_http_with_a_host_and_lose_their_trailing_slash() {
        assert_eq!(
            base_url("https://api-seller.ozon.ru/").unwrap(),
            "https://api-seller.ozon.ru"
        );
        assert_eq!(
            base_url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        for bad in ["api-seller.ozon.ru", "ftp://x", "https://", "https://a b"] {
            assert!(base_url(bad).is_err(), "{bad:?}");
        }
    }
}
