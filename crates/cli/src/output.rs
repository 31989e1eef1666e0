//! Printing results: tables for people, JSON for scripts, through one writer so tests can
//! capture it.

use std::io::Write;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

/// A table with our house style; comfy-table measures CJK and Cyrillic widths correctly.
pub(crate) fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    table
}

/// A table of records: an `id` column (the same word in every language), then headers named
/// by their catalogue ids in `tr`'s language.
pub(crate) fn records_table(tr: &ozontrack_i18n::Tr, ids: &[&str]) -> Table {
    let named: Vec<String> = ids.iter().map(|id| tr.t(id)).collect();
    let mut header = vec!["id"];
    header.extend(named.iter().map(String::as_str));
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
