//! The alert lifecycle: how a posting's stored alerts follow its findings. Pure, so the
//! engine, the detection benchmark and the tests all move alerts the same way.
//!
//! One alert per (posting, rule) is open at a time. It opens with the rule's worst
//! finding, escalates when the severity rises (even if a user acknowledged it: a new level
//! is new news), and resolves by itself when the finding is gone — the parcel moved, or the
//! posting ended. A finding held back by a carrier outage neither opens nor resolves anything.
//! A user may resolve an alert by hand; the same condition at the same or a lower severity does
//! not open it again.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::finding::{Action, Finding, RuleKind, Severity, Why};
use crate::ids::{PostingId, PostingNumber, StoreId};

closed_enum! {
    /// Where an alert is in its life.
    pub enum AlertState ("alert state") {
        Open => "open",
        Escalated => "escalated",
        Acknowledged => "acknowledged",
        Resolved => "resolved",
    }
}

closed_enum! {
    /// Why an alert ended.
    pub enum Resolution ("resolution") {
        /// The parcel moved (a new event), so the silence is over.
        Moved => "moved",
        /// The posting was delivered or cancelled.
        PostingEnded => "posting_ended",
        /// The condition no longer holds (a tracking number arrived, the dispute closed…).
        Cleared => "cleared",
        /// A user resolved it.
        Manual => "manual",
    }
}

/// A stored alert, as the inbox, the posting's trail and the CLI show it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRecord {
    pub id: i64,
    pub store_id: StoreId,
    pub posting_id: PostingId,
    pub posting_number: PostingNumber,
    pub rule: RuleKind,
    /// The tracking number of the leg concerned, when one is.
    pub leg: Option<String>,
    pub severity: Severity,
    pub state: AlertState,
    pub since: DateTime<Utc>,
    pub why: Why,
    pub actions: Vec<Action>,
    /// Fingerprints of the events the alert rests on.
    pub evidence: Vec<String>,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    pub ack_note: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: Option<Resolution>,
    pub resolved_by: Option<String>,
    pub resolve_note: Option<String>,
}

impl AlertRecord {
    /// Whether someone can still act on it (acknowledge or resolve it).
    pub fn is_open(&self) -> bool {
        self.state != AlertState::Resolved
    }
}

/// One state an alert went through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertHistoryEntry {
    pub at: DateTime<Utc>,
    pub state: AlertState,
    pub severity: Severity,
    /// A person's note, or the resolution's code when the alert resolved by itself.
    pub note: Option<String>,
    pub by: Option<String>,
}

/// What the lifecycle needs to know of a stored alert: the open one of each rule, and the
/// latest one a user resolved by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertView {
    pub id: i64,
    pub rule: RuleKind,
    pub severity: Severity,
    pub state: AlertState,
    pub since: DateTime<Utc>,
    pub resolution: Option<Resolution>,
}

/// One step of the lifecycle, for the store to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertChange {
    Open(Finding),
    /// Severity rose: the alert is escalated, whatever its state was.
    Escalate {
        id: i64,
        finding: Finding,
    },
    /// Same alert, new details (a lower severity after late data, new evidence, a new reason).
    Update {
        id: i64,
        finding: Finding,
    },
    Resolve {
        id: i64,
        resolution: Resolution,
    },
}

/// The changes that bring `alerts` (a posting's open and hand-resolved alerts) in line with
/// `findings` (the same posting's, from [`crate::risk::evaluate`]). `posting_over`: the
/// posting was delivered or cancelled.
pub fn reconcile(
    alerts: &[AlertView],
    findings: &[Finding],
    posting_over: bool,
) -> Vec<AlertChange> {
    // The worst finding of each rule speaks for it; among equals the first leg, so the answer
    // does not depend on order.
    let mut worst: BTreeMap<RuleKind, &Finding> = BTreeMap::new();
    for f in findings {
        let keep = worst.get(&f.rule()).is_none_or(|w| {
            (f.severity, std::cmp::Reverse(&f.leg)) > (w.severity, std::cmp::Reverse(&w.leg))
        });
        if keep {
            worst.insert(f.rule(), f);
        }
    }
    let mut changes = Vec::new();
    let open = |rule: RuleKind| {
        alerts
            .iter()
            .filter(|a| a.rule == rule && a.state != AlertState::Resolved)
            .min_by_key(|a| a.id)
    };
    for (rule, finding) in &worst {
        match open(*rule) {
            // Held back: what is open stays as it is.
            Some(_) if finding.held.is_some() => {}
            Some(alert) if finding.severity > alert.severity => {
                changes.push(AlertChange::Escalate {
                    id: alert.id,
                    finding: (*finding).clone(),
                });
            }
            Some(alert) if finding.severity < alert.severity || finding.since != alert.since => {
                changes.push(AlertChange::Update {
                    id: alert.id,
                    finding: (*finding).clone(),
                });
            }
            Some(_) => {}
            None if finding.held.is_some() => {}
            None => {
                let dismissed = alerts.iter().any(|a| {
                    a.rule == *rule
                        && a.resolution == Some(Resolution::Manual)
                        && a.since == finding.since
                        && a.severity >= finding.severity
                });
                if !dismissed {
                    changes.push(AlertChange::Open((*finding).clone()));
                }
            }
        }
    }
    for alert in alerts.iter().filter(|a| a.state != AlertState::Resolved) {
        if worst.contains_key(&alert.rule) {
            continue;
        }
        let resolution = if posting_over {
            Resolution::PostingEnded
        } else if matches!(
            alert.rule,
            RuleKind::Stale | RuleKind::BreakPoint | RuleKind::PostalSilence
        ) {
            Resolution::Moved
        } else {
            Resolution::Cleared
        };
        changes.push(AlertChange::Resolve {
            id: alert.id,
            resolution,
        });
    }
    changes
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::finding::{EventRef, Hold, Reason};

    fn t(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap() + chrono::Duration::hours(h)
    }

    fn finding(rule: RuleKind, severity: Severity, since: i64) -> Finding {
        let reason = match rule {
            RuleKind::Stale => Reason::Stale {
                quiet_hours: 50,
                threshold_hours: 48,
                allowance_hours: 0,
                learned: None,
                last: Some(EventRef {
                    at: t(since),
                    text: "quiet".into(),
                }),
            },
            RuleKind::MissingTracking => Reason::MissingTracking { ship_by: t(since) },
            other => panic!("no test reason for {other}"),
        };
        Finding {
            severity,
            leg: Some("UG123456789YP".into()),
            since: t(since),
            reason,
            actions: vec![Action::ContactCarrier],
            evidence: Vec::new(),
            held: None,
        }
    }

    fn view(id: i64, rule: RuleKind, severity: Severity, state: AlertState) -> AlertView {
        AlertView {
            id,
            rule,
            severity,
            state,
            since: t(0),
            resolution: None,
        }
    }

    #[test]
    fn a_new_finding_opens_one_alert_and_a_worse_one_escalates_it() {
        let warn = finding(RuleKind::Stale, Severity::Warning, 0);
        assert_eq!(
            reconcile(&[], std::slice::from_ref(&warn), false),
            [AlertChange::Open(warn.clone())]
        );
        let open = view(
            7,
            RuleKind::Stale,
            Severity::Warning,
            AlertState::Acknowledged,
        );
        assert_eq!(reconcile(std::slice::from_ref(&open), &[warn], false), []);
        let high = finding(RuleKind::Stale, Severity::HighRisk, 0);
        assert_eq!(
            reconcile(&[open], std::slice::from_ref(&high), false),
            [AlertChange::Escalate {
                id: 7,
                finding: high
            }]
        );
    }

    #[test]
    fn an_alert_whose_finding_is_gone_resolves_with_the_reason() {
        let open = view(3, RuleKind::Stale, Severity::Warning, AlertState::Open);
        assert_eq!(
            reconcile(std::slice::from_ref(&open), &[], false),
            [AlertChange::Resolve {
                id: 3,
                resolution: Resolution::Moved
            }]
        );
        assert_eq!(
            reconcile(&[open], &[], true),
            [AlertChange::Resolve {
                id: 3,
                resolution: Resolution::PostingEnded
            }]
        );
        let missing = view(
            4,
            RuleKind::MissingTracking,
            Severity::HighRisk,
            AlertState::Open,
        );
        assert_eq!(
            reconcile(&[missing], &[], false),
            [AlertChange::Resolve {
                id: 4,
                resolution: Resolution::Cleared
            }]
        );
    }

    #[test]
    fn a_finding_held_back_by_an_outage_neither_opens_nor_resolves() {
        let mut held = finding(RuleKind::Stale, Severity::Critical, 0);
        held.held = Some(Hold::FeedDown { since: t(0) });
        assert_eq!(reconcile(&[], std::slice::from_ref(&held), false), []);
        let open = view(5, RuleKind::Stale, Severity::Warning, AlertState::Open);
        assert_eq!(reconcile(&[open], &[held], false), []);
    }

    #[test]
    fn a_hand_resolved_alert_stays_resolved_until_the_condition_worsens() {
        let mut dismissed = view(9, RuleKind::Stale, Severity::Warning, AlertState::Resolved);
        dismissed.resolution = Some(Resolution::Manual);
        let warn = finding(RuleKind::Stale, Severity::Warning, 0);
        assert_eq!(
            reconcile(std::slice::from_ref(&dismissed), &[warn], false),
            []
        );
        let high = finding(RuleKind::Stale, Severity::HighRisk, 0);
        assert_eq!(
            reconcile(&[dismissed], std::slice::from_ref(&high), false),
            [AlertChange::Open(high)]
        );
    }
}
