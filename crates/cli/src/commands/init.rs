//! `ozontrack init` and `ozontrack migrate`: a database with the current schema, and the
//! secret key that protects Ozon API keys.

use std::io::Write;

use ozontrack_db::prelude::*;
use serde_json::json;

use crate::app::{self, KeyMode};
use crate::output;
use crate::settings::Settings;

pub(crate) async fn init(
    settings: &Settings,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let opened = app::open(settings, KeyMode::CreateIfMissing).await?;
    let key = match &settings.secrets.key {
        Some(_) => "secrets.key (configuration)".to_owned(),
        None => settings.secrets.key_file.display().to_string(),
    };
    let stores = opened.store.stores().await?.len();
    opened.store.close().await;
    if json {
        let value = json!({
            "database": opened.url.redacted(),
            "backend": opened.url.backend().as_str(),
            "secret_key": key,
            "secret_key_created": opened.key_created,
            "stores": stores,
        });
        output::print_json(out, &value)?;
        return Ok(());
    }
    writeln!(out, "database:   {} (schema up to date)", opened.url)?;
    let created = if opened.key_created {
        " (created, mode 600: back it up)"
    } else {
        ""
    };
    writeln!(out, "secret key: {key}{created}")?;
    writeln!(out, "stores:     {stores}")?;
    if stores == 0 {
        writeln!(
            out,
            "next:       ozontrack stores add --name NAME --client-id ID --api-key-stdin"
        )?;
    }
    Ok(())
}

pub(crate) async fn migrate(
    settings: &Settings,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let opened = app::open(settings, KeyMode::Existing).await?;
    opened.store.close().await;
    if json {
        let value = json!({ "database": opened.url.redacted(), "schema": "up to date" });
        output::print_json(out, &value)?;
    } else {
        writeln!(out, "{}: schema up to date", opened.url)?;
    }
    Ok(())
}
