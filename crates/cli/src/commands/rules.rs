//! `ozontrack rules example | check FILE | explain NUMBER`: the risk rules as a file a seller
//! can read and change, checked with located errors, and applied to one posting with every
//! rule's verdict and reason; and the `[risk]` rules each store is held to.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use ozontrack_domain::risk::{self, RuleKind};
use ozontrack_domain::rules::Rules;
use ozontrack_domain::{Clock, SystemClock};
use ozontrack_engine::RulesBook;
use ozontrack_engine::risk::{learn_gaps, posting_input};
use ozontrack_store::{Store, StoreRecord};
use serde_json::json;

use crate::app::{self, KeyMode};
use crate::cli::{ExplainArgs, RulesFileArgs};
use crate::errors::InputError;
use crate::output;
use crate::settings::{Settings, key_line, line_column};

/// The commented defaults; a test keeps them equal to `Rules::default()`.
pub(crate) const EXAMPLE: &str = include_str!("../../rules.example.toml");

/// Reads and checks a rules file; errors name the file, the line and the key.
pub(crate) fn load(path: &Path) -> Result<Rules, InputError> {
    let name = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::new(format!("cannot read rules file {name}: {e}")))?;
    parse(&name.to_string(), &text)
}

fn parse(name: &str, text: &str) -> Result<Rules, InputError> {
    let rules: Rules = toml::from_str(text).map_err(|e| {
        let (line, _) = e
            .span()
            .map_or((1, 1), |span| line_column(text, span.start));
        InputError::new(format!(
            "rules file {name}, line {line}: {}",
            e.message().trim()
        ))
    })?;
    rules.check().map_err(|e| {
        let line = key_line(text, e.key).map_or_else(String::new, |l| format!(", line {l}"));
        InputError::new(format!("rules file {name}{line}: {e}"))
    })?;
    Ok(rules)
}

/// The rules of `[risk]`: the common file (or the defaults) and each store's own file.
pub(crate) fn rules_book(settings: &Settings, stores: &[StoreRecord]) -> anyhow::Result<RulesBook> {
    let default = match &settings.risk.rules_file {
        Some(path) => load(path)?,
        None => ozontrack_domain::rules::Rules::default(),
    };
    let mut per_store = HashMap::new();
    for (name, path) in &settings.risk.store_rules {
        let store = stores
            .iter()
            .find(|s| s.name.as_str() == name)
            .ok_or_else(|| {
                InputError::new(format!(
                    "[risk.store_rules]: no store named {name:?} (see `ozontrack stores list`)"
                ))
            })?;
        per_store.insert(store.id, load(path)?);
    }
    Ok(RulesBook { default, per_store })
}

pub(crate) fn check(args: &RulesFileArgs, json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    load(&args.file)?;
    if json {
        output::print_json(
            out,
            &json!({"file": args.file.display().to_string(), "ok": true}),
        )?;
    } else {
        writeln!(out, "{}: the rules are valid", args.file.display())?;
    }
    Ok(())
}

pub(crate) async fn explain(
    settings: &Settings,
    args: &ExplainArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    // The posting's store's rules from `[risk]`, unless a file is given.
    let given = args.rules.as_deref().map(load).transpose()?;
    let opened = app::open(settings, KeyMode::Existing).await?;
    let store = opened.store;
    let stores = store.stores().await?;
    let posting = crate::commands::track::find_posting(&store, &stores, &args.number).await?;
    let rules = match given {
        Some(rules) => rules,
        None => rules_book(settings, &stores)?
            .for_store(posting.posting.store_id)
            .clone(),
    };
    let read = store.postings_with_events(&[posting.id]).await?;
    let health = store.feed_health().await?;
    let samples = store
        .gap_samples(settings.risk_settings().learn_from_legs)
        .await?;
    store.close().await;
    let feeds = app::feeds(settings)?;
    let learned = learn_gaps(&samples, rules.stale.learned_percentile);
    let input = read
        .first()
        .context("the posting disappeared while it was read")?;
    let input = posting_input(input, &feeds, &health, Some(&learned));
    let now = SystemClock.now();
    let findings = risk::evaluate(&input, &rules, now);
    let all = RuleKind::ALL;
    if json {
        let verdicts: Vec<_> = all
            .iter()
            .map(|rule| {
                let found: Vec<_> = findings
                    .iter()
                    .filter(|f| f.rule == *rule)
                    .map(|f| {
                        json!({
                            "severity": f.severity.as_str(),
                            "leg": f.leg,
                            "since": output::time(f.since),
                            "why": f.why,
                            "actions": f.actions.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
                            "evidence": f.evidence.iter().map(ozontrack_domain::Fingerprint::as_str).collect::<Vec<_>>(),
                            "suppressed": f.suppressed,
                        })
                    })
                    .collect();
                json!({"rule": rule.as_str(), "findings": found})
            })
            .collect();
        output::print_json(
            out,
            &json!({"posting_number": posting.posting.number.as_str(), "at": output::time(now), "rules": verdicts}),
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{} at {}",
        posting.posting.number.as_str(),
        output::time(now)
    )?;
    let mut table = output::table(&["rule", "verdict", "why", "suggested"]);
    for rule in all {
        let found: Vec<_> = findings.iter().filter(|f| f.rule == rule).collect();
        if found.is_empty() {
            table.add_row(vec![
                rule.as_str().to_owned(),
                "ok".into(),
                String::new(),
                String::new(),
            ]);
        }
        for f in found {
            let verdict = match &f.suppressed {
                Some(_) => format!("{} (held back)", f.severity.as_str()),
                None => f.severity.as_str().to_owned(),
            };
            let why = match &f.suppressed {
                Some(reason) => format!("{}; held back: {reason}", f.why),
                None => f.why.clone(),
            };
            let actions: Vec<&str> = f.actions.iter().map(|a| a.as_str()).collect();
            table.add_row(vec![
                rule.as_str().to_owned(),
                verdict,
                why,
                actions.join(", "),
            ]);
        }
    }
    output::print_table(out, &table)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_printed_rules_example_is_exactly_the_defaults() {
        assert_eq!(parse("example", EXAMPLE).unwrap(), Rules::default());
    }

    #[test]
    fn a_bad_rules_file_names_the_line_and_the_key() {
        let unknown = "[stale]\nwarning_hours = 48\nwarn_hours = 12\n";
        let err = parse("r.toml", unknown).unwrap_err().to_string();
        assert!(
            err.contains("line 3") && err.contains("warn_hours"),
            "{err}"
        );
        let falling = "[stale]\nhigh_risk_hours = 72\ncritical_hours = 50\n";
        let err = parse("r.toml", falling).unwrap_err().to_string();
        assert!(
            err.contains("line 3") && err.contains("stale.critical_hours"),
            "{err}"
        );
        let wrong_type = "[break_point]\nlast_mile_days = \"three\"\n";
        let err = parse("r.toml", wrong_type).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }
}
