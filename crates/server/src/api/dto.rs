//! The API's request and response bodies as types: what the OpenAPI document is generated from,
//! so a client generated from the document is right. Codes stay codes (`status`, `rule`,
//! `severity`…) and every one that a person reads comes with its name in the asked language
//! beside it (`status_name`, `rule_name`…); a finding's reason comes both as facts (`reason`) and
//! as a sentence (`why`).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use ozontrack_db::{CarrierStats, LaneStats, PostingSummary, StoreRecord};
use ozontrack_domain::alert::{AlertRecord, AlertState, Resolution};
use ozontrack_domain::estimate::{Basis, Window};
use ozontrack_domain::finding::{Action, Reason, RuleKind, Severity, Why};
use ozontrack_domain::notify::PenaltyLevel;
use ozontrack_domain::timeline::Entry;
use ozontrack_domain::trail::{Trail, TrailLeg};
use ozontrack_domain::{CarrierSource, Language, LegRole, MainStatus, Posting, Scheme};
use ozontrack_engine::penalties::Standing;
use ozontrack_i18n::{Tr, zone};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::openapi::schemas;

/// A store the token may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreBody {
    pub id: i64,
    pub name: String,
    /// Ozon's Client-Id; `null` for a store without API access (filled by imported reports).
    pub client_id: Option<String>,
    /// IANA time zone of the store's people.
    pub timezone: String,
    #[schema(schema_with = schemas::language)]
    pub language: Language,
    /// Everything Ozon changed before this time is synced.
    pub synced_until: Option<DateTime<Utc>>,
    /// Since when the store is paused (neither synced nor tracked); `null`: it runs.
    pub paused_at: Option<DateTime<Utc>>,
}

impl From<&StoreRecord> for StoreBody {
    fn from(s: &StoreRecord) -> Self {
        Self {
            id: s.id.0,
            name: s.name.as_str().to_owned(),
            client_id: s.client_id.map(|c| c.to_string()),
            timezone: s.settings.timezone.clone(),
            language: s.settings.language,
            synced_until: s.synced_until,
            paused_at: s.paused_at,
        }
    }
}

/// The stores a token may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoresBody {
    pub items: Vec<StoreBody>,
}

/// A posting as the list shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostingBody {
    pub posting_number: String,
    pub store: String,
    #[schema(schema_with = schemas::mode)]
    pub mode: Scheme,
    pub mode_name: String,
    /// Ozon's status code as Ozon sends it (Ozon adds statuses without notice, so any text).
    pub status: String,
    /// The status's name in the asked language (an unknown status: its code).
    pub status_name: String,
    /// Ozon's substatus code; empty when Ozon gave none.
    pub substatus: String,
    pub substatus_name: String,
    pub tracking_number: Option<String>,
    pub in_process_at: Option<DateTime<Utc>>,
    pub ship_by: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub buyer_city: Option<String>,
    pub delivery_method: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl PostingBody {
    pub fn new(p: &Posting, store: &str, updated_at: DateTime<Utc>, tr: &Tr) -> Self {
        Self {
            posting_number: p.number.as_str().to_owned(),
            store: store.to_owned(),
            mode: p.scheme,
            mode_name: tr.mode(p.scheme),
            status: p.status.as_str().to_owned(),
            status_name: tr.ozon_status(&p.status),
            substatus: p.substatus.as_str().to_owned(),
            substatus_name: tr.ozon_substatus(&p.substatus),
            tracking_number: p.tracking_number.as_ref().map(|t| t.as_str().to_owned()),
            in_process_at: p.in_process_at,
            ship_by: p.ship_by,
            delivered_at: p.delivered_at,
            buyer_city: p.buyer_city.clone(),
            delivery_method: p.delivery_method.as_ref().map(|m| m.name.clone()),
            updated_at,
        }
    }
}

/// A row of the postings list: the posting, its carriers and its worst open alert.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostingRow {
    #[serde(flatten)]
    pub posting: PostingBody,
    /// Carrier codes of its legs (Ozon's own left out).
    pub carriers: Vec<String>,
    /// The severity of its worst open alert; absent when it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = schemas::severity)]
    pub risk: Option<Severity>,
}

impl PostingRow {
    pub fn new(s: &PostingSummary, store: &str, tr: &Tr) -> Self {
        Self {
            posting: PostingBody::new(&s.record.posting, store, s.record.updated_at, tr),
            carriers: s.carriers.clone(),
            risk: s.risk,
        }
    }
}

/// A page of the postings list.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostingsPage {
    pub items: Vec<PostingRow>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The delivery window Ozon shows the buyer.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromiseBody {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// When a parcel should arrive, and what the window rests on.
#[derive(Debug, Serialize, ToSchema)]
pub struct EstimateBody {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// `learned`: holds 95 % of the deliveries of `level` that took longer than this parcel
    /// has already spent since `milestone`; `overdue`: later than those, counted from now;
    /// `typical`: the mode's typical times, nothing learned yet.
    #[schema(pattern = "^(learned|overdue|typical)$")]
    pub basis: String,
    /// The parcel's latest milestone, the window's starting point (`learned`, `overdue`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(
        pattern = "^(in_process|first_mile|departed_origin|arrived_destination|customs_released|last_mile|at_pickup_point|out_for_delivery)$"
    )]
    pub milestone: Option<String>,
    /// Which deliveries it was learned from: `city` (the same carriers to the same city),
    /// `lane`, `carrier`, `mode` or `all` (`learned` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(city|lane|carrier|mode|all)$")]
    pub level: Option<String>,
    /// How many deliveries it rests on (`learned` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<u64>,
}

impl From<Window> for EstimateBody {
    fn from(w: Window) -> Self {
        let (basis, milestone, level, deliveries) = match w.basis {
            Basis::Learned {
                milestone,
                level,
                samples,
            } => ("learned", Some(milestone), Some(level), Some(samples)),
            Basis::Overdue { milestone } => ("overdue", Some(milestone), None, None),
            Basis::Typical => ("typical", None, None, None),
        };
        Self {
            from: w.from,
            to: w.to,
            basis: basis.to_owned(),
            milestone: milestone.map(|m| m.as_str().to_owned()),
            level: level.map(|l| l.as_str().to_owned()),
            deliveries,
        }
    }
}

/// One leg of a posting.
#[derive(Debug, Serialize, ToSchema)]
pub struct LegBody {
    pub carrier: String,
    pub carrier_name: String,
    pub tracking_number: String,
    #[schema(schema_with = schemas::leg_role)]
    pub role: LegRole,
    pub role_name: String,
    /// The latest event's status; absent before the first event.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = schemas::main_status)]
    pub status: Option<MainStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_name: Option<String>,
    pub last_event_at: Option<DateTime<Utc>>,
    pub next_check_at: Option<DateTime<Utc>>,
    #[schema(schema_with = schemas::carrier_source)]
    pub carrier_source: CarrierSource,
    pub carrier_set_by: Option<String>,
    /// The tracking number of the leg this one continues (a hand-over).
    pub continues: Option<String>,
}

impl LegBody {
    fn new(l: &TrailLeg, tr: &Tr) -> Self {
        Self {
            carrier: l.leg.carrier.as_str().to_owned(),
            carrier_name: tr.carrier(l.leg.carrier.as_str()),
            tracking_number: l.leg.tracking_number.as_str().to_owned(),
            role: l.leg.role,
            role_name: tr.role(l.leg.role),
            status: l.status.as_ref().map(|s| s.main),
            status_name: l.status.as_ref().map(|s| tr.main_status(s.main)),
            last_event_at: l.last_event_at,
            next_check_at: l.next_check_at,
            carrier_source: l.carrier_source,
            carrier_set_by: l.carrier_set_by.clone(),
            continues: l.continues.as_ref().map(|n| n.as_str().to_owned()),
        }
    }
}

/// One source's report of a timeline entry, as evidence.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportBody {
    /// Who reported it (`ozon`, `17track`, `russian_post`, `cdek`, … as the source is named).
    pub source: String,
    /// The leg it was reported on.
    pub leg: String,
    pub occurred_at: DateTime<Utc>,
    pub raw_code: String,
    pub raw_text: String,
    /// When ozontrack received it.
    pub received_at: Option<DateTime<Utc>>,
    /// `sha256:…` of the payload it was read from.
    pub payload_digest: Option<String>,
}

/// One entry of the merged timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryBody {
    pub occurred_at: DateTime<Utc>,
    #[schema(schema_with = schemas::main_status)]
    pub status: MainStatus,
    /// The detailed status's code (`unknown` when no crosswalk placed the carrier's code).
    pub sub_status: String,
    /// The status's name in the asked language.
    pub label: String,
    /// What exactly happened, in the asked language (an unplaced code as the carrier wrote it).
    pub sub_label: String,
    /// The carrier of the leg the first report came from.
    pub carrier: String,
    /// The carrier's own words, verbatim (never translated).
    pub text: String,
    pub place: Option<String>,
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// `[latitude, longitude]` when the place is known.
    #[schema(min_items = 2, max_items = 2)]
    pub point: Option<Vec<f64>>,
    /// Every source that reported it, first reporter first.
    pub sources: Vec<String>,
    pub reports: Vec<ReportBody>,
}

impl EntryBody {
    fn new(e: &Entry, tr: &Tr) -> Self {
        Self {
            occurred_at: e.occurred_at,
            status: e.status.main,
            sub_status: e.status.sub.code().to_owned(),
            label: tr.main_status(e.status.main),
            sub_label: tr.sub_status(&e.status.sub),
            carrier: e.carrier.as_str().to_owned(),
            text: e.text.clone(),
            place: e.location.text.clone(),
            city: e.location.city.clone(),
            country: e.location.country.clone(),
            point: e.location.point.map(|p| vec![p.lat(), p.lon()]),
            sources: e.sources().map(|s| s.as_str().to_owned()).collect(),
            reports: e
                .reports
                .iter()
                .map(|r| ReportBody {
                    source: r.source.as_str().to_owned(),
                    leg: r.leg.as_str().to_owned(),
                    occurred_at: r.occurred_at,
                    raw_code: r.raw_code.clone(),
                    raw_text: r.raw_text.clone(),
                    received_at: r.received_at,
                    payload_digest: r.payload_digest.clone(),
                })
                .collect(),
        }
    }
}

/// A suggested action.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionBody {
    #[schema(schema_with = schemas::action)]
    pub code: Action,
    pub name: String,
}

/// An alert.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertBody {
    pub id: i64,
    pub store: String,
    pub posting_number: String,
    #[schema(schema_with = schemas::rule)]
    pub rule: RuleKind,
    pub rule_name: String,
    /// The tracking number of the leg concerned, when one is.
    pub leg: Option<String>,
    #[schema(schema_with = schemas::severity)]
    pub severity: Severity,
    pub severity_name: String,
    #[schema(schema_with = schemas::alert_state)]
    pub state: AlertState,
    pub state_name: String,
    /// Since when the condition holds.
    pub since: DateTime<Utc>,
    /// Why, as facts: `code` (the rule's reason) and its parameters (hours silent, threshold,
    /// the last event, amounts…). Absent on alerts raised before reasons were stored as facts.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub reason: Option<Reason>,
    /// Why, as a sentence in the asked language (times in the store's zone).
    pub why: String,
    pub actions: Vec<ActionBody>,
    /// Fingerprints of the events the alert rests on.
    pub evidence: Vec<String>,
    pub opened_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    pub ack_note: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = schemas::resolution)]
    pub resolution: Option<Resolution>,
    pub resolved_by: Option<String>,
    pub resolve_note: Option<String>,
}

impl AlertBody {
    /// `store`: the alert's store, for its name and zone.
    pub fn new(a: &AlertRecord, store: Option<&StoreRecord>, tr: &Tr) -> Self {
        let tz: Tz = store.map_or(chrono_tz::UTC, |s| zone(&s.settings.timezone));
        Self {
            id: a.id,
            store: store.map_or_else(String::new, |s| s.name.as_str().to_owned()),
            posting_number: a.posting_number.as_str().to_owned(),
            rule: a.rule,
            rule_name: tr.rule(a.rule),
            leg: a.leg.clone(),
            severity: a.severity,
            severity_name: tr.severity(a.severity),
            state: a.state,
            state_name: tr.alert_state(a.state),
            since: a.since,
            reason: match &a.why {
                Why::Reason(reason) => Some(reason.clone()),
                Why::Legacy(_) => None,
            },
            why: tr.why(&a.why, tz),
            actions: a
                .actions
                .iter()
                .map(|x| ActionBody {
                    code: *x,
                    name: tr.action(*x),
                })
                .collect(),
            evidence: a.evidence.clone(),
            opened_at: a.opened_at,
            acknowledged_at: a.acknowledged_at,
            acknowledged_by: a.acknowledged_by.clone(),
            ack_note: a.ack_note.clone(),
            resolved_at: a.resolved_at,
            resolution: a.resolution,
            resolved_by: a.resolved_by.clone(),
            resolve_note: a.resolve_note.clone(),
        }
    }
}

/// A list of alerts, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertsPage {
    pub items: Vec<AlertBody>,
}

/// One posting with everything known of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostingDetail {
    #[serde(flatten)]
    pub posting: PostingBody,
    /// The language names and sentences are in.
    #[schema(schema_with = schemas::language)]
    pub language: Language,
    /// When it should arrive; absent once it is over or before Ozon processes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate: Option<EstimateBody>,
    /// The delivery window Ozon promised the buyer (as Ozon last moved it); absent when Ozon
    /// gave none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promised: Option<PromiseBody>,
    pub legs: Vec<LegBody>,
    /// Every leg's events in one time order.
    pub timeline: Vec<EntryBody>,
    /// Newest first.
    pub alerts: Vec<AlertBody>,
}

impl PostingDetail {
    pub fn new(t: &Trail, store: &StoreRecord, tr: &Tr) -> Self {
        Self {
            posting: PostingBody::new(&t.posting, t.store.name.as_str(), t.updated_at, tr),
            language: tr.language(),
            estimate: t.estimate.map(EstimateBody::from),
            promised: t.posting.promised.map(|p| PromiseBody {
                from: p.from,
                to: p.to,
            }),
            legs: t.legs.iter().map(|l| LegBody::new(l, tr)).collect(),
            timeline: t.timeline.iter().map(|e| EntryBody::new(e, tr)).collect(),
            alerts: t
                .alerts
                .iter()
                .map(|a| AlertBody::new(&a.alert, Some(store), tr))
                .collect(),
        }
    }
}

/// What a person did about an alert.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// What was done (kept in the alert's history); not only spaces.
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub note: String,
    /// The person the token acts for; recorded beside the token's name.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x1f\x7f-\x9f\s][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub by: Option<String>,
}

/// The alert after an acknowledgement or a resolution.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClosedBody {
    pub id: i64,
    /// False when the alert was resolved already and nothing changed.
    pub changed: bool,
    #[schema(schema_with = schemas::alert_state)]
    pub state: AlertState,
}

/// A carrier chosen by hand for a leg.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CarrierRequest {
    /// Our carrier code (`cdek`, `yanwen`, …; not `ozon`).
    #[schema(schema_with = schemas::manual_carrier)]
    pub carrier: String,
    /// The person the token acts for.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x1f\x7f-\x9f\s][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub by: Option<String>,
}

/// A leg's carrier after a manual choice.
#[derive(Debug, Serialize, ToSchema)]
pub struct CarrierSetBody {
    pub posting_number: String,
    pub tracking_number: String,
    pub carrier: String,
    pub previous_carrier: String,
    #[schema(schema_with = schemas::carrier_source)]
    pub carrier_source: CarrierSource,
    pub set_by: String,
}

/// Transit times of delivered legs, in days.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransitBody {
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    /// Delivered legs by whole days (index = days; the last bucket holds the rest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub histogram: Option<Vec<u64>>,
}

/// One carrier's figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct CarrierStatBody {
    pub carrier: String,
    pub carrier_name: String,
    pub legs: u64,
    pub delivered: u64,
    /// Legs with an open stale alert.
    pub stale_open: u64,
    /// The share of legs still under way that are stale now (0 to 1).
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub stale_rate: f64,
    pub transit_days: TransitBody,
}

impl CarrierStatBody {
    pub fn new(c: &CarrierStats, tr: &Tr) -> Self {
        Self {
            carrier: c.carrier.clone(),
            carrier_name: tr.carrier(&c.carrier),
            legs: c.legs,
            delivered: c.delivered,
            stale_open: c.stale_open,
            stale_rate: share(c.stale_open, c.legs.saturating_sub(c.delivered)),
            transit_days: TransitBody {
                p50: c.transit_days_p50,
                p90: c.transit_days_p90,
                histogram: Some(c.transit_histogram.clone()),
            },
        }
    }
}

/// Per-carrier figures since a time.
#[derive(Debug, Serialize, ToSchema)]
pub struct CarrierStatsBody {
    pub since: DateTime<Utc>,
    pub items: Vec<CarrierStatBody>,
}

/// One lane's figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct LaneStatBody {
    /// Carrier codes in order, first mile first.
    pub carriers: Vec<String>,
    pub buyer_city: Option<String>,
    pub postings: u64,
    pub delivered: u64,
    pub stale_open: u64,
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub stale_rate: f64,
    pub transit_days: TransitBody,
}

impl From<&LaneStats> for LaneStatBody {
    fn from(l: &LaneStats) -> Self {
        Self {
            carriers: l.carriers.clone(),
            buyer_city: l.buyer_city.clone(),
            postings: l.postings,
            delivered: l.delivered,
            stale_open: l.stale_open,
            stale_rate: share(l.stale_open, l.postings.saturating_sub(l.delivered)),
            transit_days: TransitBody {
                p50: l.transit_days_p50,
                p90: l.transit_days_p90,
                histogram: None,
            },
        }
    }
}

/// Per-lane figures since a time.
#[derive(Debug, Serialize, ToSchema)]
pub struct LaneStatsBody {
    pub since: DateTime<Utc>,
    pub items: Vec<LaneStatBody>,
}

/// Every store's penalty points, in the caller's stores' order.
#[derive(Debug, Serialize, ToSchema)]
pub struct PenaltiesBody {
    pub items: Vec<PenaltyStandingBody>,
}

/// A store's penalty points in its rolling window, against the thresholds its rules set.
#[derive(Debug, Serialize, ToSchema)]
pub struct PenaltyStandingBody {
    pub store: String,
    /// Points within the window.
    pub total: i64,
    pub window_days: i64,
    pub warn_at: i64,
    pub suspension_at: i64,
    /// The threshold reached; absent below the warning.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = schemas::penalty_level)]
    pub level: Option<PenaltyLevel>,
    /// The threshold reached, in the asked language; absent below the warning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level_name: Option<String>,
    /// The violations counted, oldest first.
    pub violations: Vec<ViolationBody>,
}

/// One parcel shipped with a carrier off the whitelist.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViolationBody {
    pub posting_number: String,
    pub tracking_number: String,
    pub carrier: String,
    pub points: i64,
    pub at: DateTime<Utc>,
}

impl PenaltyStandingBody {
    pub fn new(s: &Standing, tr: &Tr) -> Self {
        Self {
            store: s.store.name.as_str().to_owned(),
            total: s.total,
            window_days: s.rules.points_window_days,
            warn_at: s.rules.warn_at_points,
            suspension_at: s.rules.suspension_points,
            level: s.level,
            level_name: s
                .level
                .map(|level| tr.penalty_standing(Some(level), &s.rules)),
            violations: s
                .ledger
                .iter()
                .map(|p| ViolationBody {
                    posting_number: p.posting_number.as_str().to_owned(),
                    tracking_number: p.tracking_number.clone(),
                    carrier: p.carrier.clone(),
                    points: p.points,
                    at: p.at,
                })
                .collect(),
        }
    }
}

/// The share `part` of `of` (a stale rate: the stale among legs or postings under way); 0 of none.
pub fn share(part: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        (part as f64 / of as f64).min(1.0)
    }
}

/// Ozon's answer for one uploaded row.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadResultBody {
    pub line: u64,
    pub posting_number: String,
    pub tracking_number: String,
    pub ok: bool,
    /// Ozon's error code, or why the call failed.
    pub error: Option<String>,
}

/// What a postings report import did (or, on a dry run, would do).
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportBody {
    /// `fbs` or `fbo`, as the file's columns say (or as asked).
    pub mode: String,
    /// Data rows of the file (one per product line).
    pub rows: u64,
    /// Distinct postings in the file.
    pub postings: u64,
    pub products: u64,
    /// Postings the store did not have.
    pub new: u64,
    /// Postings whose stored state the file changes.
    pub updated: u64,
    pub unchanged: u64,
    /// Columns of the file ozontrack does not read.
    pub ignored_columns: Vec<String>,
    pub dry_run: bool,
}

/// What an upload did.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadBody {
    /// Rows that passed every check.
    pub checked: usize,
    /// Rows sent to Ozon (none on a dry run).
    pub sent: usize,
    pub accepted: usize,
    pub results: Vec<UploadResultBody>,
    /// Rows left out (with `skip_invalid`), each located.
    pub problems: Vec<super::error::Problem>,
    /// Doubts about rows sent anyway (an S10 check digit of a post off the China–Russia
    /// routes), each located.
    pub warnings: Vec<super::error::Problem>,
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use ozontrack_domain::estimate::{Level, Milestone};

    use super::*;

    #[test]
    fn an_estimate_says_what_it_rests_on_in_codes() {
        let at = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
        let window = |basis| Window {
            from: at,
            to: at + chrono::Duration::days(2),
            basis,
        };
        let learned = EstimateBody::from(window(Basis::Learned {
            milestone: Milestone::ArrivedDestination,
            level: Level::City,
            samples: 60,
        }));
        assert_eq!(
            serde_json::to_value(&learned).unwrap(),
            serde_json::json!({"from": "2026-11-20T00:00:00Z", "to": "2026-11-22T00:00:00Z",
                "basis": "learned", "milestone": "arrived_destination", "level": "city",
                "deliveries": 60})
        );
        let overdue = EstimateBody::from(window(Basis::Overdue {
            milestone: Milestone::AtPickupPoint,
        }));
        assert_eq!(overdue.basis, "overdue");
        assert_eq!(overdue.milestone.as_deref(), Some("at_pickup_point"));
        let typical = EstimateBody::from(window(Basis::Typical));
        assert_eq!(
            (typical.basis.as_str(), typical.deliveries),
            ("typical", None)
        );
    }
}
