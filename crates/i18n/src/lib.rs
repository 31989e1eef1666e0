//! ozontrack's one message catalogue: every word a person reads, in Chinese, Russian and
//! English, from Fluent files compiled into the binary. The dashboard, the buyer page, the CLI
//! (`--lang`), the API (`?lang=`), and the notifications and evidence that follow all render
//! through [`Tr`], so a status, a reason or a label reads the same everywhere.
//!
//! Facts stay typed until here: [`Tr::reason`] turns a finding's typed reason into a sentence,
//! [`Tr::ozon_status`] names an Ozon status (an unknown one shows its raw text), and so on.
//! CLDR plural rules (Russian one / few / many) come with Fluent; a message missing from a
//! language is a test failure, not a blank on the page.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use ozontrack_domain::alert::{AlertState, Resolution};
use ozontrack_domain::estimate::{Basis, Milestone, Window};
use ozontrack_domain::finding::{Action, Hold, Reason, RuleKind, Severity, Why};
use ozontrack_domain::notify::{
    AttemptOutcome, ChannelKind, DestinationState, DisableCause, MessageState, PenaltyLevel, Topic,
};
use ozontrack_domain::rules::ComplianceRules;
use ozontrack_domain::{
    CarrierSource, Currency, EventSource, Language, LegRole, MainStatus, Money, OzonStatus,
    OzonSubstatus, Promise, Scheme, SubStatus, carrier,
};

/// Each language's files: the dashboard's words, the shared vocabulary, notifications, the
/// reports' (export headers) and the evidence pack's.
const SOURCES: [(Language, &str, [&str; 5]); 3] = [
    (
        Language::Zh,
        "zh-CN",
        [
            include_str!("../locales/zh-CN/dashboard.ftl"),
            include_str!("../locales/zh-CN/vocabulary.ftl"),
            include_str!("../locales/zh-CN/notify.ftl"),
            include_str!("../locales/zh-CN/reports.ftl"),
            include_str!("../locales/zh-CN/evidence.ftl"),
        ],
    ),
    (
        Language::Ru,
        "ru",
        [
            include_str!("../locales/ru/dashboard.ftl"),
            include_str!("../locales/ru/vocabulary.ftl"),
            include_str!("../locales/ru/notify.ftl"),
            include_str!("../locales/ru/reports.ftl"),
            include_str!("../locales/ru/evidence.ftl"),
        ],
    ),
    (
        Language::En,
        "en",
        [
            include_str!("../locales/en/dashboard.ftl"),
            include_str!("../locales/en/vocabulary.ftl"),
            include_str!("../locales/en/notify.ftl"),
            include_str!("../locales/en/reports.ftl"),
            include_str!("../locales/en/evidence.ftl"),
        ],
    ),
];

type Bundle = FluentBundle<FluentResource>;

fn bundles() -> &'static [Bundle; 3] {
    static BUNDLES: OnceLock<[Bundle; 3]> = OnceLock::new();
    BUNDLES.get_or_init(|| SOURCES.map(|(_, tag, texts)| bundle(tag, &texts)))
}

fn bundle(tag: &str, texts: &[&str]) -> Bundle {
    // The files are ours and compiled in; the tests parse every one, so a failure here is a
    // bug caught before release, never a seller's input.
    let locale = tag.parse().expect("the built-in locale tags are valid");
    let mut bundle = Bundle::new_concurrent(vec![locale]);
    // Isolation marks (U+2068/9) around arguments would end up in copied posting numbers,
    // CSV cells and PDF text.
    bundle.set_use_isolating(false);
    for text in texts {
        let resource = FluentResource::try_new((*text).to_owned())
            .unwrap_or_else(|(_, errors)| panic!("a {tag} .ftl file does not parse: {errors:?}"));
        bundle
            .add_resource(resource)
            .unwrap_or_else(|errors| panic!("{tag} repeats a message: {errors:?}"));
    }
    bundle
}

/// The words of one language.
#[derive(Clone, Copy)]
pub struct Tr {
    language: Language,
    bundle: &'static Bundle,
}

impl std::fmt::Debug for Tr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tr")
            .field("language", &self.language)
            .finish()
    }
}

/// A message argument: text or a number (numbers choose plural forms).
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Text(&'a str),
    Number(i64),
}

impl Tr {
    pub fn new(language: Language) -> Self {
        let index = SOURCES
            .iter()
            .position(|(l, _, _)| *l == language)
            .unwrap_or(0);
        Self {
            language,
            bundle: &bundles()[index],
        }
    }

    pub fn language(&self) -> Language {
        self.language
    }

    /// The BCP 47 tag for `<html lang>` and the browser's `Intl` formatting.
    pub fn tag(&self) -> &'static str {
        SOURCES
            .iter()
            .find(|(l, _, _)| *l == self.language)
            .map_or("zh-CN", |(_, tag, _)| tag)
    }

    fn format(&self, id: &str, args: Option<&FluentArgs<'_>>) -> String {
        let Some(pattern) = self.bundle.get_message(id).and_then(|m| m.value()) else {
            // A missing message shows its id: visible in a screenshot, caught by the tests.
            return id.to_owned();
        };
        let mut errors = Vec::new();
        self.bundle
            .format_pattern(pattern, args, &mut errors)
            .into_owned()
    }

    /// Whether the catalogue has a message with this id.
    pub fn has(&self, id: &str) -> bool {
        self.bundle.has_message(id)
    }

    /// A message without arguments.
    pub fn t(&self, id: &str) -> String {
        self.format(id, None)
    }

    /// A message with `$count`, in the language's plural form.
    pub fn n(&self, id: &str, count: u64) -> String {
        let mut args = FluentArgs::new();
        args.set("count", FluentValue::from(count));
        self.format(id, Some(&args))
    }

    /// A message with named text arguments.
    pub fn a(&self, id: &str, args: &[(&str, &str)]) -> String {
        let args: Vec<(&str, Arg<'_>)> = args.iter().map(|(k, v)| (*k, Arg::Text(v))).collect();
        self.with(id, &args)
    }

    /// A message with named text and number arguments.
    pub fn with(&self, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        let mut fluent = FluentArgs::new();
        for (name, value) in args {
            match value {
                Arg::Text(text) => fluent.set(*name, FluentValue::from(*text)),
                Arg::Number(n) => fluent.set(*name, FluentValue::from(*n)),
            }
        }
        self.format(id, Some(&fluent))
    }

    /// `{prefix}-{code}`: the name of a closed value.
    fn named(&self, prefix: &str, code: &str) -> String {
        self.t(&format!("{prefix}-{code}"))
    }

    /// What a user or token may do.
    pub fn access_role(&self, r: ozontrack_domain::Role) -> String {
        self.named("access-role", r.as_str())
    }

    /// The stores a user or token is granted: every store, none, or their names among `stores`
    /// (id and name), in their order.
    pub fn granted<'s>(
        &self,
        scope: &ozontrack_domain::StoreScope,
        stores: impl IntoIterator<Item = (ozontrack_domain::StoreId, &'s str)>,
    ) -> String {
        match scope {
            ozontrack_domain::StoreScope::All => self.t("users-all-stores"),
            ozontrack_domain::StoreScope::Only(ids) if ids.is_empty() => self.t("users-no-stores"),
            ozontrack_domain::StoreScope::Only(ids) => stores
                .into_iter()
                .filter(|(id, _)| ids.contains(id))
                .map(|(_, name)| name)
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// What an audit entry records (its code's dots and underscores become dashes).
    pub fn audit_action(&self, a: ozontrack_domain::AuditAction) -> String {
        self.named("audit", &a.as_str().replace(['.', '_'], "-"))
    }

    /// How a carrier says a delivery was handed over (an unknown way shows its code).
    pub fn handover(&self, h: &ozontrack_domain::Handover) -> String {
        match h {
            ozontrack_domain::Handover::Unknown(code) => code.clone(),
            known => self.named("handover", known.as_str()),
        }
    }

    /// A deadline Ozon states for disputes, with its days.
    pub fn deadline(&self, d: ozontrack_domain::evidence::Deadline) -> String {
        self.with(
            &format!("deadline-{}", d.as_str()),
            &[("days", Arg::Number(i64::from(d.days())))],
        )
    }

    pub fn channel(&self, k: ChannelKind) -> String {
        self.named("channel", k.as_str())
    }

    pub fn topic(&self, t: Topic) -> String {
        self.named("topic", t.as_str())
    }

    pub fn disable_cause(&self, c: DisableCause) -> String {
        self.named("cause", c.as_str())
    }

    pub fn destination_state(&self, s: DestinationState) -> String {
        self.named("destination-state", s.as_str())
    }

    pub fn message_state(&self, s: MessageState) -> String {
        self.named("message-state", s.as_str())
    }

    pub fn outcome(&self, o: AttemptOutcome) -> String {
        self.named("outcome", o.as_str())
    }

    /// Where a store stands in Ozon's penalty points: the threshold reached (the warning names
    /// the suspension it is close to), or below the warning.
    pub fn penalty_standing(&self, level: Option<PenaltyLevel>, rules: &ComplianceRules) -> String {
        match level {
            Some(PenaltyLevel::Suspension) => self.t("penalty-suspension"),
            Some(PenaltyLevel::Warning) => self.with(
                "penalty-warning",
                &[("threshold", Arg::Number(rules.suspension_points))],
            ),
            None => self.with(
                "penalty-ok",
                &[("threshold", Arg::Number(rules.warn_at_points))],
            ),
        }
    }

    pub fn severity(&self, s: Severity) -> String {
        self.named("severity", s.as_str())
    }

    pub fn rule(&self, r: RuleKind) -> String {
        self.named("rule", r.as_str())
    }

    pub fn action(&self, a: Action) -> String {
        self.named("action", a.as_str())
    }

    pub fn mode(&self, m: Scheme) -> String {
        self.named("mode", m.as_str())
    }

    pub fn role(&self, r: LegRole) -> String {
        self.named("role", r.as_str())
    }

    pub fn alert_state(&self, s: AlertState) -> String {
        self.named("state", s.as_str())
    }

    pub fn resolution(&self, r: Resolution) -> String {
        self.named("resolution", r.as_str())
    }

    pub fn carrier_source(&self, s: CarrierSource) -> String {
        self.named("carrier-source", s.as_str())
    }

    pub fn milestone(&self, m: Milestone) -> String {
        self.named("milestone", m.as_str())
    }

    /// What a page says of the arrival: when it was delivered, else the estimated window and
    /// what it rests on, else that it is not known yet.
    pub fn arrival(
        &self,
        delivered_at: Option<DateTime<Utc>>,
        window: Option<&Window>,
        tz: Tz,
    ) -> (String, String) {
        match (delivered_at, window) {
            (Some(at), _) => (
                self.a("estimate-delivered", &[("at", &local_date(at, tz))]),
                String::new(),
            ),
            (None, Some(w)) => (
                self.a(
                    "estimate-window",
                    &[
                        ("from", &local_date(w.from, tz)),
                        ("to", &local_date(w.to, tz)),
                    ],
                ),
                self.estimate_basis(&w.basis),
            ),
            (None, None) => (self.t("estimate-unknown"), String::new()),
        }
    }

    /// [`Self::arrival`] as one line, for the console: the window and what it rests on.
    pub fn arrival_line(
        &self,
        delivered_at: Option<DateTime<Utc>>,
        window: Option<&Window>,
        tz: Tz,
    ) -> String {
        let (estimate, basis) = self.arrival(delivered_at, window, tz);
        if basis.is_empty() {
            estimate
        } else {
            self.a(
                "estimate-with-basis",
                &[("estimate", &estimate), ("basis", &basis)],
            )
        }
    }

    /// Ozon's promise to the buyer: one date when it falls within a day there, else the span.
    pub fn promise(&self, promise: &Promise, tz: Tz) -> String {
        let (from, to) = (local_date(promise.from, tz), local_date(promise.to, tz));
        if from == to {
            from
        } else {
            self.a("estimate-window", &[("from", &from), ("to", &to)])
        }
    }

    /// What an arrival window rests on, in a sentence.
    pub fn estimate_basis(&self, basis: &Basis) -> String {
        match basis {
            Basis::Learned {
                milestone,
                level,
                samples,
            } => self.with(
                "estimate-learned",
                &[
                    (
                        "count",
                        Arg::Number(i64::try_from(*samples).unwrap_or(i64::MAX)),
                    ),
                    (
                        "group",
                        Arg::Text(&self.named("estimate-level", level.as_str())),
                    ),
                    ("milestone", Arg::Text(&self.milestone(*milestone))),
                ],
            ),
            Basis::Overdue { milestone } => self.a(
                "estimate-overdue",
                &[("milestone", &self.milestone(*milestone))],
            ),
            Basis::Typical => self.t("estimate-default"),
        }
    }

    pub fn main_status(&self, s: MainStatus) -> String {
        self.named("status", s.as_str())
    }

    /// What exactly happened; a carrier code no crosswalk knows shows as the carrier wrote it.
    pub fn sub_status(&self, s: &SubStatus) -> String {
        match s {
            SubStatus::Unknown(raw) => raw.clone(),
            known => self.named("sub", known.code()),
        }
    }

    /// Ozon's status by its name; a status this version does not know shows its raw text.
    pub fn ozon_status(&self, s: &OzonStatus) -> String {
        self.known_or_raw("ozon-status", s.as_str())
    }

    /// Ozon's substatus; empty when Ozon gave none.
    pub fn ozon_substatus(&self, s: &OzonSubstatus) -> String {
        if s.as_str().is_empty() {
            return String::new();
        }
        self.known_or_raw("ozon-substatus", s.as_str())
    }

    /// Ozon's status and substatus as one phrase, e.g. "Being delivered: on its way to the
    /// buyer's city".
    pub fn ozon_state(&self, status: &OzonStatus, substatus: &OzonSubstatus) -> String {
        let status = self.ozon_status(status);
        match self.ozon_substatus(substatus) {
            sub if sub.is_empty() => status,
            sub if self.language == Language::Zh => format!("{status}：{sub}"),
            sub => format!("{status}: {sub}"),
        }
    }

    /// Who reported an event.
    pub fn source(&self, s: &EventSource) -> String {
        self.known_or_raw("source", s.as_str())
    }

    /// A carrier's name in this language (the registry's), or its code when unknown.
    pub fn carrier(&self, code: &str) -> String {
        self.carrier_name(code).to_owned()
    }

    /// [`carrier`](Self::carrier) borrowed: a known carrier's name, else its code as given.
    pub fn carrier_name<'a>(&self, code: &'a str) -> &'a str {
        carrier::by_code(code).map_or(code, |c| c.name(self.language))
    }

    fn known_or_raw(&self, prefix: &str, code: &str) -> String {
        let id = format!("{prefix}-{code}");
        if self.has(&id) {
            self.t(&id)
        } else {
            code.to_owned()
        }
    }

    /// A place in this language: the gazetteer's name for a city it knows, else the carrier's
    /// own words for it (never translated).
    pub fn place(&self, location: &ozontrack_domain::Location) -> String {
        location
            .city
            .as_deref()
            .and_then(ozontrack_domain::gazetteer::by_name)
            .map(|c| c.name_in(self.language).to_owned())
            .or_else(|| location.text.clone())
            .unwrap_or_default()
    }

    /// Text from a carrier or Ozon, quoted the way this language quotes.
    pub fn quote(&self, text: &str) -> String {
        self.a("quote", &[("text", text)])
    }

    /// A time as the reader's zone shows it, to the minute.
    pub fn time(&self, t: DateTime<Utc>, tz: Tz) -> String {
        local(t, tz)
    }

    /// An amount as this language writes it: grouped thousands, kopecks only when there are
    /// any, the currency's sign.
    pub fn money(&self, m: Money) -> String {
        let (group, decimal) = match self.language {
            Language::Ru => ('\u{a0}', ','),
            Language::Zh | Language::En => (',', '.'),
        };
        let scale = 10_i64.pow(m.currency.exponent()).unsigned_abs();
        let abs = m.minor.unsigned_abs();
        let whole = abs / scale;
        let cents = abs % scale;
        let digits = whole.to_string();
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(group);
            }
            grouped.push(c);
        }
        if cents > 0 {
            grouped.push(decimal);
            grouped.push_str(&format!(
                "{cents:0width$}",
                width = m.currency.exponent() as usize
            ));
        }
        let sign = if m.minor < 0 { "-" } else { "" };
        let symbol = match m.currency {
            Currency::Rub => "₽",
            Currency::Cny => "¥",
            Currency::Usd => "$",
            Currency::Eur => "€",
            other => other.code(),
        };
        format!("{sign}{grouped}\u{a0}{symbol}")
    }

    /// Sentences of one paragraph, joined as the language joins them.
    fn sentences(&self, parts: Vec<String>) -> String {
        let parts: Vec<String> = parts.into_iter().filter(|p| !p.is_empty()).collect();
        match self.language {
            Language::Zh => parts.concat(),
            Language::Ru | Language::En => parts.join(" "),
        }
    }

    /// A finding's reason as the reader reads it; times in `tz`. Carrier text inside it is
    /// quoted, never translated.
    pub fn reason(&self, reason: &Reason, tz: Tz) -> String {
        use Arg::{Number, Text};
        let at = |t: DateTime<Utc>| local(t, tz);
        match reason {
            Reason::Stale {
                quiet_hours,
                threshold_hours,
                allowance_hours,
                learned,
                last,
            } => {
                let mut parts = vec![self.with(
                    "reason-stale",
                    &[
                        ("quiet", Number(*quiet_hours)),
                        ("threshold", Number(threshold_hours + allowance_hours)),
                    ],
                )];
                if *allowance_hours > 0 {
                    parts.push(self.with(
                        "reason-stale-allowance",
                        &[("hours", Number(*allowance_hours))],
                    ));
                }
                if let Some(gap) = learned {
                    let samples = i64::try_from(gap.samples).unwrap_or(i64::MAX);
                    parts.push(self.with(
                        "reason-stale-learned",
                        &[("hours", Number(gap.hours)), ("samples", Number(samples))],
                    ));
                }
                parts.push(match last {
                    Some(e) => self.with(
                        "reason-last-event",
                        &[
                            ("text", Text(&self.quote(&e.text))),
                            ("at", Text(&at(e.at))),
                        ],
                    ),
                    None => self.t("reason-no-event"),
                });
                self.sentences(parts)
            }
            Reason::BreakPoint { arrival, days } | Reason::PostalSilence { arrival, days } => {
                let id = format!("reason-{}", reason.rule().as_str());
                self.with(
                    &id,
                    &[
                        ("text", Text(&self.quote(&arrival.text))),
                        ("at", Text(&at(arrival.at))),
                        ("days", Number(*days)),
                    ],
                )
            }
            Reason::NotWhitelisted { carrier, points } => self.with(
                "reason-non_whitelisted",
                &[
                    ("carrier", Text(&self.carrier(carrier.as_str()))),
                    ("points", Number(*points)),
                ],
            ),
            Reason::MissingTracking { ship_by } => {
                self.with("reason-missing_tracking", &[("at", Text(&at(*ship_by)))])
            }
            Reason::Dispute { status } => self.with(
                "reason-dispute",
                &[("status", Text(&self.ozon_status(status)))],
            ),
            Reason::HighValue { total, limit_rub } => {
                let limit = Money::from_minor(limit_rub.saturating_mul(100), Currency::Rub);
                self.with(
                    "reason-high_value",
                    &[
                        ("total", Text(&self.money(*total))),
                        ("limit", Text(&self.money(limit))),
                    ],
                )
            }
        }
    }

    /// Why a finding is held back.
    pub fn hold(&self, hold: &Hold, tz: Tz) -> String {
        match hold {
            Hold::FeedDown { since } => self.a("hold-feed_down", &[("since", &local(*since, tz))]),
            Hold::FeedRecovered { at } => self.a("hold-feed_recovered", &[("at", &local(*at, tz))]),
        }
    }

    /// A stored alert's reason: typed ones rendered, old stored sentences as they are.
    pub fn why(&self, why: &Why, tz: Tz) -> String {
        match why {
            Why::Reason(reason) => self.reason(reason, tz),
            Why::Legacy(text) => text.clone(),
        }
    }
}

/// A time in a zone, to the minute.
pub fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

/// A date in a zone.
pub fn local_date(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d").to_string()
}

/// A zone as a reader of any language reads it: its offset from UTC at `at` (`UTC+08:00`).
pub fn utc_offset(tz: Tz, at: DateTime<Utc>) -> String {
    format!("UTC{}", at.with_timezone(&tz).format("%:z"))
}

/// A time zone by its IANA name, or Shanghai's (the sellers' default) for a name chrono-tz does
/// not know.
pub fn zone(name: &str) -> Tz {
    name.parse().unwrap_or(chrono_tz::Asia::Shanghai)
}

/// Every message id of a file, for the completeness test.
#[cfg(test)]
fn ids(text: &str) -> Vec<String> {
    let resource = FluentResource::try_new(text.to_owned()).unwrap_or_else(|(r, _)| r);
    resource
        .entries()
        .filter_map(|e| match e {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use ozontrack_domain::finding::{EventRef, LearnedGap};
    use ozontrack_domain::{CarrierCode, Currency};

    use super::*;

    fn all_ids(texts: &[&str]) -> Vec<String> {
        texts.iter().flat_map(|t| ids(t)).collect()
    }

    #[test]
    fn every_language_has_every_message_of_the_english_files() {
        let english = all_ids(&SOURCES[2].2);
        for (_, tag, texts) in SOURCES {
            let mine = all_ids(&texts);
            let missing: Vec<&String> = english.iter().filter(|id| !mine.contains(id)).collect();
            assert!(missing.is_empty(), "{tag} lacks {missing:?}");
            assert_eq!(mine.len(), english.len(), "{tag} has extra messages");
        }
    }

    #[test]
    fn every_value_of_our_vocabulary_has_a_name_in_every_language() {
        for language in Language::ALL {
            let tr = Tr::new(*language);
            let mut ids: Vec<String> = Vec::new();
            ids.extend(Severity::ALL.iter().map(|v| format!("severity-{v}")));
            ids.extend(RuleKind::ALL.iter().map(|v| format!("rule-{v}")));
            ids.extend(Action::ALL.iter().map(|v| format!("action-{v}")));
            ids.extend(Scheme::ALL.iter().map(|v| format!("mode-{v}")));
            ids.extend(LegRole::ALL.iter().map(|v| format!("role-{v}")));
            ids.extend(AlertState::ALL.iter().map(|v| format!("state-{v}")));
            ids.extend(Resolution::ALL.iter().map(|v| format!("resolution-{v}")));
            ids.extend(
                CarrierSource::ALL
                    .iter()
                    .map(|v| format!("carrier-source-{v}")),
            );
            ids.extend(MainStatus::ALL.iter().map(|v| format!("status-{v}")));
            ids.extend(Milestone::ALL.iter().map(|v| format!("milestone-{v}")));
            ids.extend(
                ozontrack_domain::estimate::Level::ALL
                    .iter()
                    .map(|v| format!("estimate-level-{v}")),
            );
            ids.extend(SubStatus::KNOWN.iter().map(|v| format!("sub-{}", v.code())));
            ids.extend(OzonStatus::KNOWN.iter().map(|v| format!("ozon-status-{v}")));
            ids.extend(
                OzonSubstatus::KNOWN
                    .iter()
                    .filter(|v| !v.as_str().is_empty())
                    .map(|v| format!("ozon-substatus-{v}")),
            );
            ids.extend(EventSource::KNOWN.iter().map(|v| format!("source-{v}")));
            ids.extend(ChannelKind::ALL.iter().map(|v| format!("channel-{v}")));
            ids.extend(Topic::ALL.iter().map(|v| format!("topic-{v}")));
            ids.extend(DisableCause::ALL.iter().map(|v| format!("cause-{v}")));
            ids.extend(
                DestinationState::ALL
                    .iter()
                    .map(|v| format!("destination-state-{v}")),
            );
            ids.extend(
                MessageState::ALL
                    .iter()
                    .map(|v| format!("message-state-{v}")),
            );
            ids.extend(AttemptOutcome::ALL.iter().map(|v| format!("outcome-{v}")));
            ids.extend(RuleKind::ALL.iter().filter_map(|r| match r {
                RuleKind::Stale => None,
                other => Some(format!("reason-{other}")),
            }));
            ids.extend(
                ozontrack_domain::Role::ALL
                    .iter()
                    .map(|v| format!("access-role-{v}")),
            );
            ids.extend(
                ozontrack_domain::AuditAction::ALL
                    .iter()
                    .map(|v| format!("audit-{}", v.as_str().replace(['.', '_'], "-"))),
            );
            let missing: Vec<&String> = ids.iter().filter(|id| !tr.has(id)).collect();
            assert!(missing.is_empty(), "{language} lacks {missing:?}");
        }
    }

    #[test]
    fn russian_counts_take_the_one_few_and_many_forms() {
        let ru = Tr::new(Language::Ru);
        assert_eq!(ru.n("postings-count", 1), "1 отправление");
        assert_eq!(ru.n("postings-count", 3), "3 отправления");
        assert_eq!(ru.n("postings-count", 5), "5 отправлений");
        assert_eq!(ru.n("postings-count", 21), "21 отправление");
        assert_eq!(ru.n("postings-count", 22), "22 отправления");
        assert_eq!(ru.n("postings-count", 111), "111 отправлений");
        assert_eq!(ru.n("days", 2), "2 дня");
    }

    #[test]
    fn ozons_promise_reads_as_one_date_when_it_falls_within_a_day_there() {
        use chrono::TimeZone;
        let at = |day: u32, hour: u32| Utc.with_ymd_and_hms(2026, 10, day, hour, 0, 0).unwrap();
        let promise = Promise::of(Some(at(27, 7)), Some(at(27, 19))).unwrap();
        let tr = Tr::new(Language::En);
        assert_eq!(tr.promise(&promise, zone("Europe/Moscow")), "2026-10-27");
        assert_eq!(
            tr.promise(&promise, zone("Asia/Shanghai")),
            "2026-10-27 – 2026-10-28"
        );
    }

    #[test]
    fn the_consoles_arrival_line_joins_the_window_and_its_basis_in_the_readers_way() {
        use chrono::TimeZone;
        let at = |day: u32| Utc.with_ymd_and_hms(2026, 10, day, 12, 0, 0).unwrap();
        let window = Window {
            from: at(25),
            to: at(28),
            basis: Basis::Typical,
        };
        let moscow = zone("Europe/Moscow");
        assert_eq!(
            Tr::new(Language::En).arrival_line(None, Some(&window), moscow),
            "2026-10-25 – 2026-10-28 from typical times for this mode"
        );
        assert_eq!(
            Tr::new(Language::Zh).arrival_line(None, Some(&window), moscow),
            "2026-10-25 – 2026-10-28（依据该模式的通常时效）"
        );
        assert_eq!(
            Tr::new(Language::En).arrival_line(Some(at(27)), Some(&window), moscow),
            "Delivered 2026-10-27",
            "a delivery has no basis to add"
        );
        assert_eq!(
            Tr::new(Language::Ru).a("promise-missed", &[("promise", "27.10")]),
            "27.10 (позже обещанного)"
        );
    }

    #[test]
    fn english_and_chinese_counts_read_naturally() {
        assert_eq!(Tr::new(Language::En).n("postings-count", 1), "1 posting");
        assert_eq!(Tr::new(Language::En).n("postings-count", 2), "2 postings");
        assert_eq!(Tr::new(Language::Zh).n("postings-count", 2), "共 2 个货件");
    }

    #[test]
    fn arguments_come_out_without_isolation_marks() {
        let text = Tr::new(Language::En).a("posting-title", &[("number", "0123-1")]);
        assert_eq!(text, "Posting 0123-1");
    }

    #[test]
    fn a_missing_message_shows_its_id() {
        assert_eq!(
            Tr::new(Language::Ru).t("no-such-message"),
            "no-such-message"
        );
    }

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, h, 0, 0).unwrap()
    }

    fn stale() -> Reason {
        Reason::Stale {
            quiet_hours: 181,
            threshold_hours: 144,
            allowance_hours: 24,
            learned: None,
            last: Some(EventRef {
                at: at(8),
                text: "Arrived at the sorting center".into(),
            }),
        }
    }

    #[test]
    fn a_stale_reason_reads_as_sentences_in_each_language_with_carrier_text_quoted() {
        let tz = chrono_tz::Asia::Shanghai;
        assert_eq!(
            Tr::new(Language::En).reason(&stale(), tz),
            "No new event for 181 h (threshold 168 h). The threshold includes 24 h for the \
             journey between countries. Last event: “Arrived at the sorting center” at \
             2026-11-20 16:00."
        );
        assert_eq!(
            Tr::new(Language::Zh).reason(&stale(), tz),
            "已 181 小时无新动态（阈值 168 小时）。阈值含国际段运输的 24 小时。\
             最后一条动态：“Arrived at the sorting center”，2026-11-20 16:00。"
        );
        let ru = Tr::new(Language::Ru).reason(&stale(), chrono_tz::Europe::Moscow);
        assert!(
            ru.starts_with("Нет новых событий 181 ч (порог 168 ч)."),
            "{ru}"
        );
        assert!(
            ru.contains("«Arrived at the sorting center», 2026-11-20 11:00"),
            "{ru}"
        );
    }

    #[test]
    fn a_learned_gap_and_a_silence_since_tracking_began_are_said() {
        let reason = Reason::Stale {
            quiet_hours: 61,
            threshold_hours: 60,
            allowance_hours: 0,
            learned: Some(LearnedGap {
                hours: 60,
                samples: 500,
            }),
            last: None,
        };
        let text = Tr::new(Language::En).reason(&reason, chrono_tz::UTC);
        assert_eq!(
            text,
            "No new event for 61 h (threshold 60 h). On this lane gaps of up to 60 h are \
             normal (500 seen). No event since tracking began."
        );
    }

    #[test]
    fn plurals_in_reasons_follow_each_language() {
        let tz = chrono_tz::UTC;
        let carrier = CarrierCode::parse("sunyou").unwrap();
        let points = |n| Reason::NotWhitelisted {
            carrier: carrier.clone(),
            points: n,
        };
        let ru = Tr::new(Language::Ru);
        assert!(ru.reason(&points(3), tz).contains("3 штрафных балла"));
        assert!(ru.reason(&points(5), tz).contains("5 штрафных баллов"));
        assert!(ru.reason(&points(1), tz).contains("1 штрафной балл"));
        let zh = Tr::new(Language::Zh).reason(&points(3), tz);
        assert!(zh.contains("顺友物流") && zh.contains("扣 3 分"), "{zh}");
        let bp = Reason::BreakPoint {
            arrival: EventRef {
                at: at(1),
                text: "Прибыло в Россию".into(),
            },
            days: 3,
        };
        assert!(
            ru.reason(&bp, tz)
                .contains("3 дня нет событий последней мили")
        );
        assert!(
            Tr::new(Language::En)
                .reason(&bp, tz)
                .contains("in the 3 days since")
        );
    }

    #[test]
    fn amounts_are_written_the_way_each_language_writes_them() {
        let total = Money::from_minor(1_176_000, Currency::Rub);
        assert_eq!(Tr::new(Language::Ru).money(total), "11\u{a0}760\u{a0}₽");
        assert_eq!(Tr::new(Language::En).money(total), "11,760\u{a0}₽");
        let odd = Money::from_minor(123_456_789, Currency::Cny);
        assert_eq!(
            Tr::new(Language::Ru).money(odd),
            "1\u{a0}234\u{a0}567,89\u{a0}¥"
        );
        let reason = Reason::HighValue {
            total,
            limit_rub: 5000,
        };
        assert_eq!(
            Tr::new(Language::Zh).reason(&reason, chrono_tz::UTC),
            "订单金额 11,760\u{a0}₽（不低于 5,000\u{a0}₽）：应要求买家签收。"
        );
    }

    #[test]
    fn ozon_statuses_are_named_and_unknown_ones_show_their_raw_text() {
        let zh = Tr::new(Language::Zh);
        assert_eq!(
            zh.ozon_state(&OzonStatus::Delivering, &OzonSubstatus::OnWayToCity),
            "配送中：正运往买家所在城市"
        );
        assert_eq!(
            zh.ozon_status(&OzonStatus::Unknown("awaiting_teleport".into())),
            "awaiting_teleport"
        );
        assert_eq!(
            Tr::new(Language::Ru).ozon_state(&OzonStatus::Delivered, &OzonSubstatus::None),
            "Доставлено"
        );
        assert_eq!(
            zh.sub_status(&SubStatus::Unknown("CC_HO_OUT".into())),
            "CC_HO_OUT"
        );
    }

    #[test]
    fn a_legacy_alert_text_is_shown_as_it_was_stored() {
        let why = Why::Legacy("no new event for 80 h".into());
        assert_eq!(
            Tr::new(Language::Zh).why(&why, chrono_tz::UTC),
            "no new event for 80 h"
        );
    }

    #[test]
    fn an_estimate_basis_reads_as_a_sentence_in_every_language() {
        use ozontrack_domain::estimate::Level;
        let basis = Basis::Learned {
            milestone: Milestone::ArrivedDestination,
            level: Level::Lane,
            samples: 412,
        };
        assert_eq!(
            Tr::new(Language::En).estimate_basis(&basis),
            "holds 95 % of 412 deliveries of this lane after “arrived in Russia”"
        );
        assert_eq!(
            Tr::new(Language::Ru).estimate_basis(&basis),
            "в это окно попадают 95 % из 412 доставок этого маршрута после этапа «прибыл в Россию»"
        );
        assert_eq!(
            Tr::new(Language::Zh).estimate_basis(&basis),
            "依据该线路412个包裹在“已到达俄罗斯”之后的送达时间，95% 落在此区间"
        );
        let overdue = Basis::Overdue {
            milestone: Milestone::OutForDelivery,
        };
        assert!(
            Tr::new(Language::En)
                .estimate_basis(&overdue)
                .contains("out for delivery")
        );
    }
}
