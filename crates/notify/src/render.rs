//! Notices become text here, last: a template (the built-in one, or the seller's own) renders a
//! notice's facts in the destination's language, through the one message catalogue. Templates
//! run in minijinja's sandbox with a fuel limit, so a seller's template can neither read files
//! nor loop forever. A buyer's template is given only what a buyer may see — the posting
//! number, the expected window and the tracking link — so even an edited one cannot leak the
//! seller's data.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use minijinja::value::{Kwargs, Serde, Value};
use minijinja::{Environment, Error, ErrorKind};
use ozontrack_domain::Language;
use ozontrack_domain::notify::{Audience, Notice, Topic};
use ozontrack_i18n::{Arg, Tr, local, local_date};
use serde::Serialize;

/// A rendered message: a title line and the lines under it, plain text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    pub title: String,
    pub lines: Vec<String>,
}

impl Rendered {
    /// Title and lines, one per line.
    pub fn plain(&self) -> String {
        let mut text = self.title.clone();
        for line in &self.lines {
            text.push('\n');
            text.push_str(line);
        }
        text
    }
}

/// What the rendering needs besides the notice: things the notice names by id.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// The name of the notice's store (for a daily summary: each store's is in the notice).
    pub store_name: Option<String>,
    /// Where to read more: the posting in the dashboard (seller), the tracking page (buyer).
    pub link: Option<String>,
    /// The buyer's expected delivery window.
    pub estimate: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// The destination's own name (a test message says which one it reached).
    pub destination_name: String,
}

/// Why a message could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("the template does not parse: {0}")]
    Syntax(String),
    #[error("the template failed: {0}")]
    Failed(String),
    #[error("the template renders an empty message")]
    Empty,
}

/// Steps a template may take before it is stopped: generous for any real message, small
/// enough that a loop over a huge range ends at once.
const FUEL: u64 = 50_000;

/// The most characters a rendered message may have before it is cut (the channels split
/// what is left).
const MAX_CHARS: usize = 20_000;

/// The built-in template of a topic for an audience: language-neutral, every word through
/// `t()`.
pub fn default_template(topic: Topic, audience: Audience) -> &'static str {
    match (audience, topic) {
        (Audience::Buyer, Topic::AlertEscalated) => include_str!("../templates/buyer_escalated.j2"),
        (Audience::Buyer, _) => include_str!("../templates/buyer_delayed.j2"),
        (Audience::Seller, Topic::AlertOpened) => include_str!("../templates/alert_opened.j2"),
        (Audience::Seller, Topic::AlertEscalated) => {
            include_str!("../templates/alert_escalated.j2")
        }
        (Audience::Seller, Topic::AlertResolved) => include_str!("../templates/alert_resolved.j2"),
        (Audience::Seller, Topic::Daily) => include_str!("../templates/daily.j2"),
        (Audience::Seller, Topic::Penalty) => include_str!("../templates/penalty.j2"),
        (Audience::Seller, Topic::FeedDown) => include_str!("../templates/feed_down.j2"),
        (Audience::Seller, Topic::FeedRecovered) => include_str!("../templates/feed_recovered.j2"),
        (Audience::Seller, Topic::DestinationDisabled) => {
            include_str!("../templates/destination_disabled.j2")
        }
        (Audience::Seller, Topic::Digest) => include_str!("../templates/digest.j2"),
        (Audience::Seller, Topic::Test) => include_str!("../templates/test.j2"),
    }
}

/// Checks that a template parses, before a seller's one is saved.
pub fn check(template: &str) -> Result<(), RenderError> {
    let env = environment(Tr::new(Language::En));
    env.template_from_str(template)
        .map(|_| ())
        .map_err(|e| RenderError::Syntax(describe(&e)))
}

fn describe(e: &Error) -> String {
    match e.line() {
        Some(line) => format!("line {line}: {}", e.detail().unwrap_or(&e.to_string())),
        None => e.detail().unwrap_or(&e.to_string()).to_owned(),
    }
}

fn environment(tr: Tr) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    env.add_function(
        "t",
        move |id: &str, kwargs: Kwargs| -> Result<String, Error> {
            let keys: Vec<String> = kwargs.args().map(str::to_owned).collect();
            let mut texts: Vec<(String, Value)> = Vec::new();
            for key in keys {
                let value: Value = kwargs.get(&key)?;
                texts.push((key, value));
            }
            let rendered: Vec<(String, String, Option<i64>)> = texts
                .iter()
                .map(|(k, v)| {
                    let number = v.as_i64();
                    (k.clone(), v.to_string(), number)
                })
                .collect();
            let args: Vec<(&str, Arg<'_>)> = rendered
                .iter()
                .map(|(k, text, number)| {
                    (
                        k.as_str(),
                        number.map_or(Arg::Text(text.as_str()), Arg::Number),
                    )
                })
                .collect();
            if !tr.has(id) {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("no message {id:?} in the catalogue"),
                ));
            }
            Ok(tr.with(id, &args))
        },
    );
    env
}

/// The names a seller's template may use for an alert (the buyer's get [`BuyerAlert`]).
#[derive(Debug, Serialize)]
struct SellerAlert<'a> {
    posting_number: &'a str,
    store: Option<&'a str>,
    rule: String,
    rule_code: &'a str,
    severity: String,
    severity_code: &'a str,
    reason: String,
    leg: Option<&'a str>,
    actions: String,
    resolution: Option<String>,
    at: String,
    link: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct BuyerAlert<'a> {
    posting_number: &'a str,
    estimate: Option<String>,
    link: Option<&'a str>,
}

/// Renders `notice` in `language`, times in `tz`, with `template` (or the built-in one).
/// `members`: a digest's messages, each already rendered.
pub fn render(
    notice: &Notice,
    audience: Audience,
    language: Language,
    tz: Tz,
    extras: &Extras,
    template: Option<&str>,
    members: &[Rendered],
) -> Result<Rendered, RenderError> {
    let tr = Tr::new(language);
    let context = context(notice, audience, &tr, tz, extras, members);
    let env = environment(tr);
    let source = template.unwrap_or_else(|| default_template(notice.topic(), audience));
    let compiled = env
        .template_from_str(source)
        .map_err(|e| RenderError::Syntax(describe(&e)))?;
    let text = compiled
        .render(context)
        .map_err(|e| RenderError::Failed(describe(&e)))?;
    let text: String = text.chars().take(MAX_CHARS).collect();
    let mut lines = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned);
    let title = lines.next().ok_or(RenderError::Empty)?;
    Ok(Rendered {
        title: title.trim().to_owned(),
        lines: lines.collect(),
    })
}

fn list_separator(language: Language) -> &'static str {
    match language {
        Language::Zh => "、",
        Language::Ru | Language::En => ", ",
    }
}

fn context(
    notice: &Notice,
    audience: Audience,
    tr: &Tr,
    tz: Tz,
    extras: &Extras,
    members: &[Rendered],
) -> Value {
    let link = extras.link.as_deref();
    let store = extras.store_name.as_deref();
    if let Some(a) = notice.alert() {
        if audience == Audience::Buyer {
            let estimate = extras.estimate.map(|(from, to)| {
                let (from, to) = (local_date(from, tz), local_date(to, tz));
                if from == to {
                    from
                } else {
                    format!("{from} – {to}")
                }
            });
            return Value::from(Serde(BuyerAlert {
                posting_number: a.posting_number.as_str(),
                estimate,
                link,
            }));
        }
        return Value::from(Serde(SellerAlert {
            posting_number: a.posting_number.as_str(),
            store,
            rule: tr.rule(a.rule),
            rule_code: a.rule.as_str(),
            severity: tr.severity(a.severity),
            severity_code: a.severity.as_str(),
            reason: a
                .reason
                .as_ref()
                .map(|r| tr.reason(r, tz))
                .unwrap_or_default(),
            leg: a.leg.as_deref(),
            actions: a
                .actions
                .iter()
                .map(|x| tr.action(*x))
                .collect::<Vec<_>>()
                .join(list_separator(tr.language())),
            resolution: a.resolution.map(|r| tr.resolution(r)),
            at: local(a.at, tz),
            link,
        }));
    }
    let value = match notice {
        Notice::Daily(d) => serde_json::json!({
            "date": d.date.format("%Y-%m-%d").to_string(),
            "stores": d.stores.iter().map(|s| serde_json::json!({
                "name": s.store_name,
                "critical": s.open[0],
                "high_risk": s.open[1],
                "warning": s.open[2],
                "info": s.open[3],
                "opened": s.opened,
                "resolved": s.resolved,
                "penalty_points": s.penalty_points,
            })).collect::<Vec<_>>(),
            "needs_attention": d.stores.iter().any(|s| s.open[..3].iter().any(|n| *n > 0)),
        }),
        Notice::Penalty(p) => serde_json::json!({
            "store": store,
            "level": p.level.as_str(),
            "total": p.total,
            "threshold": p.threshold,
            "window_days": p.window_days,
        }),
        Notice::FeedDown(f) | Notice::FeedRecovered(f) => serde_json::json!({
            "feed": tr.carrier(&f.feed),
            "since": local(f.since, tz),
            "until": f.until.map(|u| local(u, tz)),
        }),
        Notice::DestinationDisabled(d) => serde_json::json!({
            "name": d.name,
            "channel": tr.channel(d.kind),
            "cause": tr.disable_cause(d.cause),
        }),
        Notice::Digest(d) => serde_json::json!({
            "count": d.count,
            "quiet": d.quiet,
            "items": members.iter().map(|m| m.title.clone()).collect::<Vec<_>>(),
        }),
        Notice::Test(t) => serde_json::json!({
            "name": extras.destination_name,
            "by": t.by,
            "at": local(t.at, tz),
        }),
        Notice::AlertOpened(_) | Notice::AlertEscalated(_) | Notice::AlertResolved(_) => {
            serde_json::Value::Null
        }
    };
    Value::from(Serde(value))
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use ozontrack_domain::finding::{Action, EventRef, Reason, RuleKind, Severity};
    use ozontrack_domain::notify::{AlertNotice, DailyNotice, DigestNotice, StoreDay};
    use ozontrack_domain::{PostingId, PostingNumber, StoreId};

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn stale() -> Notice {
        Notice::AlertOpened(AlertNotice {
            alert: 1,
            store: StoreId(1),
            posting: PostingId(1),
            posting_number: PostingNumber::parse("0132112277-0101-1").unwrap(),
            rule: RuleKind::Stale,
            severity: Severity::Warning,
            leg: Some("RR123456785CN".into()),
            reason: Some(Reason::Stale {
                quiet_hours: 50,
                threshold_hours: 48,
                allowance_hours: 0,
                learned: None,
                last: Some(EventRef {
                    at: at("2026-11-28T08:00:00Z"),
                    text: "Departed from sorting center".into(),
                }),
            }),
            actions: vec![Action::ContactCarrier, Action::NotifyBuyer],
            resolution: None,
            at: at("2026-11-30T10:00:00Z"),
        })
    }

    fn extras() -> Extras {
        Extras {
            store_name: Some("深圳小店".into()),
            link: Some("https://track.example.com/postings/0132112277-0101-1".into()),
            estimate: Some((at("2026-12-05T00:00:00Z"), at("2026-12-08T00:00:00Z"))),
            destination_name: "ops".into(),
        }
    }

    #[test]
    fn a_seller_alert_reads_in_chinese_with_its_reason_and_actions() {
        let r = render(
            &stale(),
            Audience::Seller,
            Language::Zh,
            chrono_tz::Asia::Shanghai,
            &extras(),
            None,
            &[],
        )
        .unwrap();
        insta::assert_snapshot!(r.plain());
    }

    #[test]
    fn a_buyer_message_is_russian_and_carries_nothing_of_the_sellers() {
        let r = render(
            &stale(),
            Audience::Buyer,
            Language::Ru,
            chrono_tz::Europe::Moscow,
            &extras(),
            None,
            &[],
        )
        .unwrap();
        let text = r.plain();
        insta::assert_snapshot!(text);
        for private in ["深圳", "RR123456785CN", "Departed", "48"] {
            assert!(!text.contains(private), "{private} leaked: {text}");
        }
    }

    #[test]
    fn an_edited_buyer_template_still_cannot_reach_the_sellers_data() {
        let r = render(
            &stale(),
            Audience::Buyer,
            Language::Ru,
            chrono_tz::Europe::Moscow,
            &extras(),
            Some("Заказ {{ posting_number }} {{ store }} {{ reason }} {{ leg }}"),
            &[],
        )
        .unwrap();
        assert_eq!(r.title, "Заказ 0132112277-0101-1");
    }

    #[test]
    fn a_template_that_loops_forever_runs_out_of_fuel() {
        let e = render(
            &stale(),
            Audience::Seller,
            Language::En,
            chrono_tz::UTC,
            &extras(),
            Some("{% for i in range(100000000) %}{{ i }}{% endfor %}"),
            &[],
        )
        .unwrap_err();
        assert!(matches!(e, RenderError::Failed(_)), "{e}");
    }

    #[test]
    fn a_template_that_does_not_parse_names_its_line() {
        let e = check("ok\n{% if %}").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        assert!(check(default_template(Topic::Daily, Audience::Seller)).is_ok());
    }

    #[test]
    fn every_built_in_template_renders_in_every_language() {
        let daily = Notice::Daily(DailyNotice {
            date: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            stores: vec![StoreDay {
                store: StoreId(1),
                store_name: "shop".into(),
                open: [1, 2, 3, 0],
                opened: 4,
                resolved: 5,
                penalty_points: 6,
            }],
        });
        let digest = Notice::Digest(DigestNotice {
            count: 2,
            quiet: false,
        });
        let members = vec![
            Rendered {
                title: "one".into(),
                lines: vec![],
            },
            Rendered {
                title: "two".into(),
                lines: vec![],
            },
        ];
        for language in Language::ALL {
            for notice in [&stale(), &daily, &digest] {
                let r = render(
                    notice,
                    Audience::Seller,
                    *language,
                    chrono_tz::UTC,
                    &extras(),
                    None,
                    &members,
                )
                .unwrap();
                assert!(!r.title.contains("notify-"), "{language}: {r:?}");
                for line in &r.lines {
                    assert!(!line.contains("notify-"), "{language}: {line}");
                }
            }
        }
    }
}
