//! Printing results: tables for people, JSON for scripts, through one writer so tests can
//! capture it.

use std::io::Write;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use ozontrack_db::StoreRecord;
use ozontrack_domain::Language;
use ozontrack_i18n::Tr;

use crate::errors::InputError;

/// Who reads a command's output: the language of its words (`--lang`, else the first store's,
/// else Chinese) and the zone its times are shown in (the first store's, as the dashboard shows
/// them).
pub(crate) fn reader(
    asked: Option<&str>,
    stores: &[StoreRecord],
) -> anyhow::Result<(Tr, chrono_tz::Tz)> {
    let language = match asked {
        Some(text) => Language::parse(text).map_err(|e| InputError::new(format!("--lang: {e}")))?,
        None => stores.first().map_or(Language::Zh, |s| s.settings.language),
    };
    let zone = stores.first().map_or(chrono_tz::Asia::Shanghai, |s| {
        ozontrack_i18n::zone(&s.settings.timezone)
    });
    Ok((Tr::new(language), zone))
}

/// A table with our house style; comfy-table measures CJK and Cyrillic widths correctly.
pub(crate) fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    table
}

/// A table whose headers are named by their catalogue ids, in `tr`'s language.
pub(crate) fn labelled_table(tr: &Tr, ids: &[&str]) -> Table {
    headed(None, tr, ids)
}

/// A table of records: an `id` column (the same word in every language), then headers named
/// by their catalogue ids in `tr`'s language.
pub(crate) fn records_table(tr: &Tr, ids: &[&str]) -> Table {
    headed(Some("id"), tr, ids)
}

fn headed(first: Option<&str>, tr: &Tr, ids: &[&str]) -> Table {
    let named: Vec<String> = ids.iter().map(|id| tr.t(id)).collect();
    let header: Vec<&str> = first
        .into_iter()
        .chain(named.iter().map(String::as_str))
        .collect();
    table(&header)
}

pub(crate) fn print_table(out: &mut impl Write, table: &Table) -> std::io::Result<()> {
    writeln!(out, "{table}")
}

pub(crate) fn print_json(out: &mut impl Write, value: &serde_json::Value) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

/// A time as scripts get it: RFC 3339, UTC, whole seconds.
pub(crate) fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The first twenty of many lines on one line, `; `-separated, saying how many more there are:
/// an error that names every problem of a file without flooding the terminal.
pub(crate) fn first_of(lines: impl ExactSizeIterator<Item = String>) -> String {
    const SHOWN: usize = 20;
    let total = lines.len();
    let mut text = lines.take(SHOWN).collect::<Vec<_>>().join("; ");
    if total > SHOWN {
        text.push_str(&format!("; … and {} more", total - SHOWN));
    }
    text
}
