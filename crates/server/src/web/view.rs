//! What the templates show, already in the reader's language and time zone: the templates
//! only lay it out (and escape every piece of it, carrier text included).

use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use ozontrack_domain::Language;
use ozontrack_domain::timeline::Entry;
pub(super) use ozontrack_i18n::{Tr, local, zone};

/// The frame of every dashboard page: words, the CSRF token for its forms, the signed-in
/// person, the active section and the language links back to this very page.
#[derive(Debug, Clone)]
pub(super) struct Chrome {
    pub tr: Tr,
    pub csrf: String,
    pub user: String,
    pub nav: &'static str,
    pub languages: Vec<LanguageLink>,
    /// The person may act on parcels (operator or admin): action forms are shown.
    pub can_act: bool,
    /// The person is an admin: the audit page is theirs.
    pub admin: bool,
    /// The person sees every store: pages that serve every store (notifications, users) are
    /// shown.
    pub everywhere: bool,
}

/// A language switch link.
#[derive(Debug, Clone)]
pub(super) struct LanguageLink {
    pub label: &'static str,
    pub tag: &'static str,
    pub href: String,
    pub active: bool,
}

pub(super) const LANGUAGES: [(Language, &str, &str); 3] = [
    (Language::Zh, "zh-CN", "中文"),
    (Language::Ru, "ru", "Русский"),
    (Language::En, "en", "English"),
];

/// Links to `/lang/{code}` that come back to `here` (the dashboard's switch).
pub(super) fn dashboard_languages(current: Language, here: &str) -> Vec<LanguageLink> {
    LANGUAGES
        .iter()
        .map(|(language, tag, label)| LanguageLink {
            label,
            tag,
            href: format!("/lang/{}?next={}", language.as_str(), percent(here)),
            active: *language == current,
        })
        .collect()
}

/// Percent-encodes everything but unreserved characters, for a URL's query value.
pub(super) fn percent(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One event of a timeline.
#[derive(Debug, Clone)]
pub(super) struct EventView {
    pub time: String,
    pub label: String,
    pub text: String,
    pub place: String,
    pub source: String,
}

impl EventView {
    /// One step of a journey in the reader's words and zone.
    fn new(
        tr: &Tr,
        tz: Tz,
        at: DateTime<Utc>,
        status: ozontrack_domain::MainStatus,
        text: &str,
        location: &ozontrack_domain::Location,
        source: String,
    ) -> Self {
        Self {
            time: local(at, tz),
            label: tr.main_status(status),
            text: text.to_owned(),
            place: tr.place(location),
            source,
        }
    }
}

/// The seller's timeline, newest first, with who reported each step.
pub(super) fn events(timeline: &[Entry], tr: &Tr, tz: Tz) -> Vec<EventView> {
    timeline
        .iter()
        .rev()
        .map(|e| {
            let sources: Vec<String> = e.sources().map(|s| tr.source(s)).collect();
            EventView::new(
                tr,
                tz,
                e.occurred_at,
                e.status.main,
                &e.text,
                &e.location,
                sources.join(", "),
            )
        })
        .collect()
}

/// The buyer's journey, newest first: no sources.
pub(super) fn journey(
    journey: &[ozontrack_domain::trail::BuyerEntry],
    tr: &Tr,
    tz: Tz,
) -> Vec<EventView> {
    journey
        .iter()
        .rev()
        .map(|e| {
            EventView::new(
                tr,
                tz,
                e.occurred_at,
                e.status.main,
                &e.text,
                &e.location,
                String::new(),
            )
        })
        .collect()
}

/// An alert as a row of the dashboard.
#[derive(Debug, Clone)]
pub(super) struct AlertView {
    pub id: i64,
    pub posting: String,
    pub posting_href: String,
    pub rule: String,
    pub severity: &'static str,
    pub severity_label: String,
    pub state_label: String,
    pub why: String,
    pub since: String,
    pub leg: String,
    pub actions: Vec<String>,
    pub acked: Option<String>,
    pub can_ack: bool,
}

pub(super) fn alert_view(a: &ozontrack_domain::alert::AlertRecord, tr: &Tr, tz: Tz) -> AlertView {
    AlertView {
        id: a.id,
        posting: a.posting_number.as_str().to_owned(),
        posting_href: format!("/postings/{}", percent(a.posting_number.as_str())),
        rule: tr.rule(a.rule),
        severity: a.severity.as_str(),
        severity_label: tr.severity(a.severity),
        state_label: tr.alert_state(a.state),
        why: tr.why(&a.why, tz),
        since: local(a.since, tz),
        leg: a.leg.clone().unwrap_or_default(),
        actions: a.actions.iter().map(|x| tr.action(*x)).collect(),
        acked: a.acknowledged_by.as_ref().map(|by| {
            tr.a(
                "acked",
                &[("by", by), ("note", a.ack_note.as_deref().unwrap_or(""))],
            )
        }),
        can_ack: matches!(
            a.state,
            ozontrack_domain::alert::AlertState::Open
                | ozontrack_domain::alert::AlertState::Escalated
        ),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub(super) struct ErrorPage {
    pub title: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "login.html")]
pub(super) struct LoginPage {
    pub tr: Tr,
    pub error: Option<String>,
    pub languages: Vec<LanguageLink>,
}

/// A row of the "at risk" table: one severity across the modes.
#[derive(Debug, Clone)]
pub(super) struct RiskRow {
    pub severity: &'static str,
    pub label: String,
    pub counts: Vec<u64>,
    pub total: u64,
}

#[derive(Debug, Clone)]
pub(super) struct PenaltyView {
    pub store: String,
    pub points: String,
    /// The rolling window the points count in.
    pub window: String,
    /// The threshold reached; none below the warning.
    pub level: Option<PenaltyLevelView>,
    /// The store is paused: neither synced nor tracked.
    pub paused: bool,
}

#[derive(Debug, Clone)]
pub(super) struct PenaltyLevelView {
    /// `warning` or `suspension`, for the badge's colour.
    pub code: &'static str,
    pub label: String,
}

#[derive(Debug, Clone)]
pub(super) struct FeedView {
    pub name: String,
    pub ok: bool,
    pub state: String,
}

#[derive(Template)]
#[template(path = "today.html")]
pub(super) struct TodayPage {
    pub page: Chrome,
    pub modes: Vec<String>,
    pub risk: Vec<RiskRow>,
    pub active: Vec<(String, u64)>,
    /// Open warnings and worse, the worst first.
    pub alerts: Vec<AlertView>,
    /// Open informational notices, newest first.
    pub notices: Vec<AlertView>,
    pub penalties: Vec<PenaltyView>,
    pub feeds: Vec<FeedView>,
}

/// A choice of a filter's `<select>`.
#[derive(Debug, Clone)]
pub(super) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Debug, Clone)]
pub(super) struct PostingRow {
    pub number: String,
    pub href: String,
    pub store: String,
    pub mode: String,
    pub status: String,
    pub carriers: String,
    pub risk: &'static str,
    pub risk_label: String,
    pub city: String,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "postings.html")]
pub(super) struct PostingsPage {
    pub page: Chrome,
    /// The filters, shown back in the form (the URL is the filter).
    pub filters: crate::api::PostingsParams,
    pub stores: Vec<Choice>,
    pub modes: Vec<Choice>,
    pub carriers: Vec<Choice>,
    pub risks: Vec<Choice>,
    /// Ozon's statuses by name; a code Ozon added since is offered as itself when filtered by.
    pub statuses: Vec<Choice>,
    pub rows: Vec<PostingRow>,
    pub shown: String,
    pub next: Option<String>,
    /// This view as a file: `/postings/export?…` with the same filters (`format` added).
    pub export: String,
    pub export_xlsx: String,
}

#[derive(Debug, Clone)]
pub(super) struct LegView {
    pub carrier: String,
    pub tracking: String,
    pub role: String,
    pub status: String,
    pub last: String,
}

#[derive(Template)]
#[template(path = "posting.html")]
pub(super) struct PostingPage {
    pub page: Chrome,
    pub title: String,
    pub number: String,
    pub store: String,
    pub mode: String,
    pub status: String,
    pub city: String,
    pub carriers: String,
    pub estimate: String,
    pub estimate_basis: String,
    /// Ozon's promise to the buyer, and whether the parcel misses it.
    pub promised: Option<(String, bool)>,
    pub buyer_url: String,
    pub zone_note: String,
    pub legs: Vec<LegView>,
    pub timeline: Vec<EventView>,
    pub alerts: Vec<AlertView>,
    pub route_url: String,
    pub tiles: String,
    /// Where the evidence pack downloads from, and the seller's files in it.
    pub evidence_url: String,
    pub attach_url: String,
    /// When the dispute worker built the kept pack, for a posting in dispute.
    pub evidence_kept: Option<String>,
    pub attachments: Vec<AttachmentView>,
}

/// A seller's file of a posting's evidence.
#[derive(Debug, Clone)]
pub(super) struct AttachmentView {
    pub name: String,
    pub size: String,
    pub sha256: String,
    pub added: String,
    /// Who added it (a person's name: shown as written).
    pub by: String,
}

#[derive(Template)]
#[template(path = "alerts.html")]
pub(super) struct AlertsPage {
    pub page: Chrome,
    pub severities: Vec<Choice>,
    pub rules: Vec<Choice>,
    pub stores: Vec<Choice>,
    pub states: Vec<Choice>,
    /// How many the bulk acknowledgement just changed.
    pub acknowledged: Option<u32>,
    /// This list with its filters, to come back to after a bulk acknowledgement.
    pub back: String,
    pub alerts: Vec<AlertView>,
    /// How many match.
    pub count: String,
    /// That only the worst are shown, when more match.
    pub only_worst: Option<String>,
}

/// One alert, for htmx to swap in after an acknowledgement.
#[derive(Template)]
#[template(path = "alert_fragment.html")]
pub(super) struct AlertFragment {
    pub page: Chrome,
    pub a: AlertView,
}

#[derive(Debug, Clone)]
pub(super) struct CarrierRow {
    pub name: String,
    pub legs: u64,
    pub delivered: u64,
    pub stale: String,
    pub p50: String,
    pub p90: String,
}

#[derive(Debug, Clone)]
pub(super) struct LaneRow {
    pub lane: String,
    pub city: String,
    pub postings: u64,
    pub delivered: u64,
    pub stale: String,
    pub p50: String,
    pub p90: String,
}

#[derive(Template)]
#[template(path = "carriers.html")]
pub(super) struct CarriersPage {
    pub page: Chrome,
    pub window: String,
    pub carriers: Vec<CarrierRow>,
    pub lanes: Vec<LaneRow>,
    /// Chart.js data, as JSON (an attribute value, escaped by the template).
    pub transit_chart: String,
    pub stale_chart: String,
}

#[derive(Template)]
#[template(path = "buyer.html")]
pub(super) struct BuyerPage {
    pub tr: Tr,
    pub languages: Vec<LanguageLink>,
    pub order: String,
    pub status: String,
    pub estimate: String,
    /// What the window rests on (no seller's data: deliveries counted, not named).
    pub estimate_basis: String,
    pub updated: String,
    pub timeline: Vec<EventView>,
    pub route_url: String,
    pub tiles: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(
            percent("/postings?q=a b&x=Ж"),
            "%2Fpostings%3Fq%3Da%20b%26x%3D%D0%96"
        );
        assert_eq!(percent("0123-1_a.b~"), "0123-1_a.b~");
    }
}

/// What an import did, or why it did nothing (every problem located), for the postings page.
#[derive(Template)]
#[template(path = "import_result.html")]
pub(super) struct ImportResult {
    pub summary: String,
    pub problems: Vec<String>,
}
