//! What the rules find about a posting, as facts: which rule, how severe, what to do, and why
//! as a reason code with typed parameters (hours silent, the threshold, the last event, an
//! amount and its limit…). Nothing here is a sentence: the message catalogue renders reasons in
//! the reader's language at the edge, so the same finding reads right in Chinese, Russian and
//! English, in the dashboard, the CLI, the API, notifications and evidence.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::Fingerprint;
use crate::ids::CarrierCode;
use crate::money::Money;
use crate::posting::OzonStatus;

closed_enum! {
    /// How bad a finding is; ordered from mild to worst.
    pub enum Severity ("severity") {
        /// A recommendation.
        Info => "info",
        Warning => "warning",
        /// Ozon flags the order.
        HighRisk => "high_risk",
        /// The shop's standing suffers.
        Critical => "critical",
    }
}

closed_enum! {
    /// Which rule spoke.
    pub enum RuleKind ("rule") {
        Stale => "stale",
        BreakPoint => "break_point",
        PostalSilence => "postal_silence",
        NonWhitelisted => "non_whitelisted",
        MissingTracking => "missing_tracking",
        Dispute => "dispute",
        HighValue => "high_value",
    }
}

closed_enum! {
    /// What a finding suggests doing.
    pub enum Action ("action") {
        ContactCarrier => "contact_carrier",
        NotifyBuyer => "notify_buyer",
        OpenOzonTicket => "open_ozon_ticket",
        UploadTrackingNumber => "upload_tracking_number",
        PrepareEvidence => "prepare_evidence",
        RequireSignature => "require_signature",
        ReviewCarrierChoice => "review_carrier_choice",
    }
}

/// An event a reason points at: when it happened and what the carrier said, verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRef {
    pub at: DateTime<Utc>,
    /// The source's own words (never translated: it is evidence).
    pub text: String,
}

/// A lane's learned normal quiet gap that moved a warning later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnedGap {
    /// The gap, in whole hours (rounded up).
    pub hours: i64,
    /// Gaps of delivered parcels it rests on.
    pub samples: u64,
}

/// Why a rule spoke, as facts. Stored as JSON (`code` plus the fields), so it can be rendered
/// again in any language and the API can return it as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Reason {
    /// No new event for `quiet_hours`; the level's threshold is `threshold_hours`, plus
    /// `allowance_hours` while the parcel is between countries.
    Stale {
        quiet_hours: i64,
        threshold_hours: i64,
        allowance_hours: i64,
        /// The lane's learned gap, when it set the warning threshold.
        learned: Option<LearnedGap>,
        /// The latest event; none when no carrier has said anything since tracking began.
        last: Option<EventRef>,
    },
    /// The parcel reached Russia (or customs released it) and no last-mile event followed
    /// within `days`.
    BreakPoint { arrival: EventRef, days: i64 },
    /// A direct-mail parcel has been silent at the post for `days` since it arrived.
    PostalSilence { arrival: EventRef, days: i64 },
    /// The first mile's carrier is not on the store's FBS whitelist.
    NotWhitelisted { carrier: CarrierCode, points: i64 },
    /// No tracking number by the ship-by date.
    MissingTracking { ship_by: DateTime<Utc> },
    /// The posting is in a dispute (`arbitration` or `client_arbitration`).
    Dispute { status: OzonStatus },
    /// An order worth at least `limit_rub` roubles should be handed over against a signature.
    HighValue { total: Money, limit_rub: i64 },
}

impl Reason {
    /// The rule a reason belongs to: each reason is one rule's.
    pub fn rule(&self) -> RuleKind {
        match self {
            Reason::Stale { .. } => RuleKind::Stale,
            Reason::BreakPoint { .. } => RuleKind::BreakPoint,
            Reason::PostalSilence { .. } => RuleKind::PostalSilence,
            Reason::NotWhitelisted { .. } => RuleKind::NonWhitelisted,
            Reason::MissingTracking { .. } => RuleKind::MissingTracking,
            Reason::Dispute { .. } => RuleKind::Dispute,
            Reason::HighValue { .. } => RuleKind::HighValue,
        }
    }
}

/// Why a finding is held back instead of raising or resolving an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Hold {
    /// The feed that reads the leg has been failing since then: its silence is ours.
    FeedDown { since: DateTime<Utc> },
    /// The feed came back then; its backlog of events is still arriving.
    FeedRecovered { at: DateTime<Utc> },
}

/// An alert's reason as stored: the typed reason, or (for alerts written before reasons were
/// typed) the English sentence they were stored with, shown as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    Reason(Reason),
    Legacy(String),
}

/// One thing wrong (or worth doing) with a posting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    /// The tracking number of the leg concerned, when one is.
    pub leg: Option<String>,
    /// Since when the condition holds.
    pub since: DateTime<Utc>,
    pub reason: Reason,
    pub actions: Vec<Action>,
    /// The events the finding rests on.
    pub evidence: Vec<Fingerprint>,
    /// Why the finding is held back, when it is.
    pub held: Option<Hold>,
}

impl Finding {
    /// The rule that found it.
    pub fn rule(&self) -> RuleKind {
        self.reason.rule()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn severities_order_from_mild_to_worst() {
        assert!(Severity::Info < Severity::Warning);
        assert!(Severity::HighRisk < Severity::Critical);
        assert_eq!(Severity::parse(" High_Risk ").unwrap(), Severity::HighRisk);
    }

    #[test]
    fn an_unknown_rule_names_what_was_expected() {
        let err = RuleKind::parse("sleepy").unwrap_err().to_string();
        assert!(err.contains("expected one of stale, break_point"), "{err}");
    }

    #[test]
    fn reasons_are_stored_as_a_code_with_their_facts_and_read_back_the_same() {
        let at = Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap();
        let reason = Reason::Stale {
            quiet_hours: 181,
            threshold_hours: 168,
            allowance_hours: 0,
            learned: None,
            last: Some(EventRef {
                at,
                text: "Прибыло в сортировочный центр".into(),
            }),
        };
        let json = serde_json::to_value(&reason).unwrap();
        assert_eq!(json["code"], "stale");
        assert_eq!(json["quiet_hours"], 181);
        assert_eq!(serde_json::from_value::<Reason>(json).unwrap(), reason);
        assert_eq!(reason.rule(), RuleKind::Stale);
    }
}
