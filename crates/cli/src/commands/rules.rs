//! `ozontrack rules example | check FILE | explain NUMBER`: the risk rules as a file a seller
//! can read and change, checked with located errors, and applied to one posting with every
//! rule's verdict and reason; and the `[risk]` rules each store is held to.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use ozontrack_db::StoreRecord;
use ozontrack_db::prelude::*;
use ozontrack_domain::finding::RuleKind;
use ozontrack_domain::rules::Rules;
use ozontrack_engine::{Evaluator, RulesBook};
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
    let db = &opened.store;
    let stores = db.stores().await?;
    let (store, id) = ozontrack_engine::trail::find_by_any_number(db, &stores, &args.number)
        .await?
        .ok_or_else(|| {
            InputError::new(format!(
                "no posting or tracking number {:?} is known",
                args.number
            ))
        })?;
    let (tr, tz) = output::reader(args.lang.as_deref(), std::slice::from_ref(store))?;
    // The workers' own evaluator: what it explains is what they do.
    let evaluator = Evaluator::new(
        db.clone(),
        std::sync::Arc::new(app::feeds(settings)?),
        rules_book(settings, &stores)?,
        settings.risk_settings(),
        std::sync::Arc::clone(&opened.clock),
        app::owner(opened.clock.as_ref()),
    );
    let explained = evaluator
        .explain(id, given.as_ref())
        .await?
        .context("the posting disappeared while it was read")?;
    let number = db
        .posting_by_id(id)
        .await?
        .context("the posting disappeared while it was read")?
        .posting
        .number;
    db.close().await;
    let findings = &explained.findings;
    if json {
        let verdicts: Vec<_> = RuleKind::ALL
            .iter()
            .map(|rule| {
                let found: Vec<_> = findings
                    .iter()
                    .filter(|f| f.rule() == *rule)
                    .map(|f| {
                        json!({
                            "severity": f.severity,
                            "leg": f.leg,
                            "since": output::time(f.since),
                            "reason": f.reason,
                            "why": tr.reason(&f.reason, tz),
                            "actions": f.actions,
                            "evidence": f.evidence.iter().map(ozontrack_domain::Fingerprint::as_str).collect::<Vec<_>>(),
                            "held": f.held,
                            "held_why": f.held.as_ref().map(|h| tr.hold(h, tz)),
                        })
                    })
                    .collect();
                json!({"rule": rule, "findings": found})
            })
            .collect();
        output::print_json(
            out,
            &json!({"posting_number": number.as_str(), "at": output::time(explained.at), "rules": verdicts}),
        )?;
        return Ok(());
    }
    writeln!(out, "{} · {}", number.as_str(), tr.time(explained.at, tz))?;
    let mut table = output::table(&[
        &tr.t("col-rule"),
        &tr.t("col-severity"),
        &tr.t("col-why"),
        &tr.t("col-actions"),
    ]);
    for rule in RuleKind::ALL {
        let found: Vec<_> = findings.iter().filter(|f| f.rule() == *rule).collect();
        if found.is_empty() {
            table.add_row(vec![
                tr.rule(*rule),
                "—".into(),
                String::new(),
                String::new(),
            ]);
        }
        for f in found {
            let why = match &f.held {
                Some(hold) => format!("{} {}", tr.reason(&f.reason, tz), tr.hold(hold, tz)),
                None => tr.reason(&f.reason, tz),
            };
            let actions: Vec<String> = f.actions.iter().map(|a| tr.action(*a)).collect();
            table.add_row(vec![
                tr.rule(*rule),
                tr.severity(f.severity),
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
