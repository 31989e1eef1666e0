//! `ozontrack stores …`: connecting Ozon seller accounts, listing them, and the rest of a
//! store's life (pause, resume, rename, remove).

use std::io::{Read, Write};
use std::str::FromStr;

use anyhow::Context;
use ozontrack_db::StoreRecord;
use ozontrack_db::prelude::*;
use ozontrack_domain::{ClientId, Language, StoreName, StoreSettings};
use ozontrack_engine::stores::Connection;
use ozontrack_i18n::zone;
use secrecy::SecretString;
use serde_json::json;

use crate::app::{self, KeyMode};
use crate::cli::{AddStore, ListArgs, RemoveStore, RenameStore, SetKey};
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
    let connection = match client_id {
        Some(client_id) => Connection::Api {
            client_id,
            api_key: read_api_key(args.api_key_env.as_deref())?,
            base_url,
        },
        None => Connection::Offline,
    };

    let opened = app::open(settings, KeyMode::Existing).await?;
    // Time comes from the Clock, as everywhere else.
    let now = ozontrack_domain::Clock::now(&ozontrack_domain::SystemClock);
    let record = ozontrack_engine::stores::add(
        &opened.store,
        name,
        store_settings,
        connection,
        &app::console(),
        now,
    )
    .await?;
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
    let record = named(&opened.store, &name).await?;
    let fallback = if record.ozon_base_url.is_empty() {
        settings.ozon.base_url.as_str()
    } else {
        record.ozon_base_url.as_str()
    };
    let base_url = base_url(args.ozon_base_url.as_deref().unwrap_or(fallback))?;
    let now = ozontrack_domain::Clock::now(&ozontrack_domain::SystemClock);
    let record = ozontrack_engine::stores::set_key(
        &opened.store,
        &record,
        client_id,
        api_key,
        &base_url,
        &app::console(),
        now,
    )
    .await?;
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
    args: &ListArgs,
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
    let (tr, _) = output::reader(args.lang.as_deref(), &stores)?;
    if stores.is_empty() {
        writeln!(out, "{}", tr.t("stores-none"))?;
        return Ok(());
    }
    let mut table = output::records_table(
        &tr,
        &[
            "stores-col-name",
            "stores-col-client-id",
            "stores-col-ozon-api",
            "stores-col-timezone",
            "stores-col-language",
            "stores-col-next-sync",
            "stores-col-push-path",
        ],
    );
    for (s, push) in stores.iter().zip(&pushes) {
        table.add_row(vec![
            s.id.to_string(),
            s.name.to_string(),
            s.client_id
                .map_or_else(|| "-".to_owned(), |c| c.to_string()),
            if s.client_id.is_some() {
                s.ozon_base_url.clone()
            } else {
                tr.t("stores-no-api")
            },
            s.settings.timezone.clone(),
            s.settings.language.as_str().to_owned(),
            match (s.paused_at, s.next_sync_at) {
                (Some(_), _) => tr.t("store-paused"),
                (None, next) => next.map_or("-".into(), |t| tr.time(t, zone(&s.settings.timezone))),
            },
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
        "paused_at": s.paused_at.map(time),
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

/// The store named, or a located error.
async fn named(db: &ozontrack_db::SqlDatabase, name: &StoreName) -> anyhow::Result<StoreRecord> {
    db.store_by_name(name).await?.ok_or_else(|| {
        InputError::new(format!(
            "no store named {:?} (see `ozontrack stores list`)",
            name.as_str()
        ))
        .into()
    })
}

pub(crate) async fn set_paused(
    settings: &Settings,
    name: &str,
    paused: bool,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let name = StoreName::parse(name).context("NAME")?;
    let opened = app::open(settings, KeyMode::Existing).await?;
    let db = &opened.store;
    let record = named(db, &name).await?;
    let now = ozontrack_domain::Clock::now(&ozontrack_domain::SystemClock);
    let changed =
        ozontrack_engine::stores::set_paused(db, &record, paused, &app::console(), now).await;
    opened.store.close().await;
    let changed = changed?;
    let state = if paused { "paused" } else { "running" };
    if json {
        output::print_json(
            out,
            &json!({"store": record.name.as_str(), "state": state, "changed": changed}),
        )?;
    } else if !changed {
        writeln!(out, "store {:?} was already {state}", record.name.as_str())?;
    } else if paused {
        writeln!(
            out,
            "store {:?} paused: it is neither synced nor tracked until `ozontrack stores resume`",
            record.name.as_str()
        )?;
    } else {
        writeln!(
            out,
            "store {:?} resumed; its sync is due now",
            record.name.as_str()
        )?;
    }
    Ok(())
}

pub(crate) async fn rename(
    settings: &Settings,
    args: &RenameStore,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let name = StoreName::parse(&args.name).context("NAME")?;
    let new_name = StoreName::parse(&args.new_name).context("NEW_NAME")?;
    let opened = app::open(settings, KeyMode::Existing).await?;
    let db = &opened.store;
    let record = named(db, &name).await?;
    let now = ozontrack_domain::Clock::now(&ozontrack_domain::SystemClock);
    let renamed =
        ozontrack_engine::stores::rename(db, &record, &new_name, &app::console(), now).await;
    opened.store.close().await;
    renamed?;
    if json {
        output::print_json(
            out,
            &json!({"store": new_name.as_str(), "was": record.name.as_str()}),
        )?;
    } else {
        writeln!(
            out,
            "store {:?} is now {:?}",
            record.name.as_str(),
            new_name.as_str()
        )?;
    }
    Ok(())
}

pub(crate) async fn remove(
    settings: &Settings,
    args: &RemoveStore,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let name = StoreName::parse(&args.name).context("NAME")?;
    let opened = app::open(settings, KeyMode::Existing).await?;
    let db = &opened.store;
    let record = named(db, &name).await?;
    if !args.yes {
        use std::io::IsTerminal;
        if !std::io::stdin().is_terminal() {
            opened.store.close().await;
            return Err(InputError::new(
                "removing a store deletes its postings, tracking and alerts: pass --yes to confirm",
            )
            .into());
        }
        write!(
            out,
            "This deletes store {:?} with every posting, event, alert and message of it. \
             Type its name to confirm: ",
            record.name.as_str()
        )?;
        out.flush()?;
        let mut typed = String::new();
        std::io::stdin().read_line(&mut typed)?;
        if typed.trim() != record.name.as_str() {
            opened.store.close().await;
            return Err(InputError::new("not confirmed: nothing was removed").into());
        }
    }
    let now = ozontrack_domain::Clock::now(&ozontrack_domain::SystemClock);
    let removed = ozontrack_engine::stores::remove(db, &record, &app::console(), now).await;
    opened.store.close().await;
    let removed = removed?;
    if json {
        output::print_json(
            out,
            &json!({"removed": record.name.as_str(), "postings": removed.postings,
                    "destinations": removed.destinations}),
        )?;
    } else {
        writeln!(
            out,
            "store {:?} removed with its {} postings ({} destinations that served it alone)",
            record.name.as_str(),
            removed.postings,
            removed.destinations
        )?;
    }
    Ok(())
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
