//! The risk rules as data: thresholds and switches a store can override from a TOML file
//! (`ozontrack rules example` prints these defaults). The figures are the ones sellers read in
//! Ozon's guides (DESIGN §1), kept configurable because Ozon changes them.

use serde::{Deserialize, Serialize};

use crate::finding::Action;
use crate::ids::CarrierCode;
use crate::leg::LegRole;
use crate::notify::PenaltyLevel;
use crate::posting::Scheme;

/// Every rule's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    pub stale: StaleRules,
    pub break_point: BreakPointRules,
    pub compliance: ComplianceRules,
    pub missing_tracking: MissingTrackingRules,
    pub dispute: DisputeRules,
    pub high_value: HighValueRules,
    /// Stale findings stay suppressed this long after a carrier feed recovers, while its
    /// backlog of events arrives.
    pub outage_grace_hours: i64,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            stale: StaleRules::default(),
            break_point: BreakPointRules::default(),
            compliance: ComplianceRules::default(),
            missing_tracking: MissingTrackingRules::default(),
            dispute: DisputeRules::default(),
            high_value: HighValueRules::default(),
            outage_grace_hours: 6,
        }
    }
}

/// No new event for a while.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StaleRules {
    pub enabled: bool,
    /// Contact the carrier, tell the buyer what to expect.
    pub warning_hours: i64,
    /// Ozon marks the order High Risk.
    pub high_risk_hours: i64,
    /// The shop's ranking drops.
    pub critical_hours: i64,
    /// Carrier data lags the hand-over by 4–6 h: a leg without events is not stale before this.
    pub handover_grace_hours: i64,
    /// Added to every threshold while the parcel is between countries, where 24–72 h gaps are
    /// normal.
    pub international_allowance_hours: i64,
    /// Where a lane's history shows longer quiet gaps are normal, warn after that lane's
    /// normal gap instead (never later than `high_risk_hours`).
    pub learned_gaps: bool,
    /// Which percentile of a lane's gaps counts as normal.
    pub learned_percentile: f64,
    /// Gaps a lane needs before its percentile is trusted.
    pub learned_min_samples: u64,
    /// What each level suggests doing.
    pub warning_actions: Vec<Action>,
    pub high_risk_actions: Vec<Action>,
    pub critical_actions: Vec<Action>,
    /// Other thresholds for a logistics mode, a leg phase, or both; the most specific match
    /// wins, and what it leaves out comes from above.
    #[serde(rename = "override")]
    pub overrides: Vec<StaleOverride>,
}

/// Stale thresholds for one mode and/or leg phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaleOverride {
    /// `fbs`, `rfbs`, `fbo` or `crossborder`; none: every mode.
    pub mode: Option<Scheme>,
    /// The phase of the leg that went quiet: `first_mile`, `last_mile` or `single`; none:
    /// every phase.
    pub phase: Option<LegRole>,
    pub warning_hours: Option<i64>,
    pub high_risk_hours: Option<i64>,
    pub critical_hours: Option<i64>,
}

/// The stale thresholds that apply to one posting's quiet leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaleLevels {
    pub warning_hours: i64,
    pub high_risk_hours: i64,
    pub critical_hours: i64,
}

impl StaleRules {
    /// The thresholds for a posting's mode and the quiet leg's phase.
    pub fn levels(&self, mode: Scheme, phase: LegRole) -> StaleLevels {
        self.levels_where(Some(mode), Some(phase))
    }

    /// The thresholds where the overrides matching `mode` and `phase` apply; `None` matches
    /// only overrides that leave that part open.
    fn levels_where(&self, mode: Option<Scheme>, phase: Option<LegRole>) -> StaleLevels {
        let mut levels = StaleLevels {
            warning_hours: self.warning_hours,
            high_risk_hours: self.high_risk_hours,
            critical_hours: self.critical_hours,
        };
        let fits = |o: &&StaleOverride| {
            o.mode.is_none_or(|m| Some(m) == mode) && o.phase.is_none_or(|p| Some(p) == phase)
        };
        let specificity =
            |o: &StaleOverride| u8::from(o.mode.is_some()) * 2 + u8::from(o.phase.is_some());
        let mut matching: Vec<&StaleOverride> = self.overrides.iter().filter(fits).collect();
        matching.sort_by_key(|o| specificity(o));
        for o in matching {
            levels.warning_hours = o.warning_hours.unwrap_or(levels.warning_hours);
            levels.high_risk_hours = o.high_risk_hours.unwrap_or(levels.high_risk_hours);
            levels.critical_hours = o.critical_hours.unwrap_or(levels.critical_hours);
        }
        levels
    }
}

impl Default for StaleRules {
    fn default() -> Self {
        Self {
            enabled: true,
            warning_hours: 48,
            high_risk_hours: 72,
            critical_hours: 168,
            handover_grace_hours: 6,
            international_allowance_hours: 24,
            learned_gaps: true,
            learned_percentile: 99.0,
            learned_min_samples: 200,
            warning_actions: vec![Action::ContactCarrier, Action::NotifyBuyer],
            high_risk_actions: vec![
                Action::ContactCarrier,
                Action::NotifyBuyer,
                Action::OpenOzonTicket,
            ],
            critical_actions: vec![
                Action::ContactCarrier,
                Action::NotifyBuyer,
                Action::OpenOzonTicket,
            ],
            overrides: Vec::new(),
        }
    }
}

/// The parcel reached Russia but the last mile never picked it up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakPointRules {
    pub enabled: bool,
    /// Days after arrival or customs release without any last-mile event.
    pub last_mile_days: i64,
    /// Days a direct-mail (S10) parcel may stay silent after customs.
    pub postal_silence_days: i64,
}

impl Default for BreakPointRules {
    fn default() -> Self {
        Self {
            enabled: true,
            last_mile_days: 3,
            postal_silence_days: 7,
        }
    }
}

/// FBS parcels must travel with carriers on Ozon's whitelist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ComplianceRules {
    pub enabled: bool,
    /// Our carrier codes allowed; empty: the registry's default whitelist.
    pub whitelist: Vec<CarrierCode>,
    /// The store ships from its own overseas warehouse with a local carrier contract.
    pub overseas_warehouse_exception: bool,
    /// Penalty points Ozon charges per violation (2–5).
    pub points_per_violation: i64,
    /// Warn when the rolling total reaches this.
    pub warn_at_points: i64,
    /// Ozon suspends advertising at this total.
    pub suspension_points: i64,
    /// Points count towards the total for this many days.
    pub points_window_days: i64,
}

impl Default for ComplianceRules {
    fn default() -> Self {
        Self {
            enabled: true,
            whitelist: Vec::new(),
            overseas_warehouse_exception: false,
            points_per_violation: 3,
            warn_at_points: 12,
            suspension_points: 15,
            points_window_days: 90,
        }
    }
}

impl ComplianceRules {
    /// The threshold a store with `total` points in its window has reached, the worst first:
    /// none while it is below the warning.
    pub fn level(&self, total: i64) -> Option<PenaltyLevel> {
        if total >= self.suspension_points {
            Some(PenaltyLevel::Suspension)
        } else if total >= self.warn_at_points {
            Some(PenaltyLevel::Warning)
        } else {
            None
        }
    }
}

/// No tracking number uploaded by the ship-by date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MissingTrackingRules {
    pub enabled: bool,
    /// Hours after the ship-by date before it counts.
    pub grace_hours: i64,
}

impl Default for MissingTrackingRules {
    fn default() -> Self {
        Self {
            enabled: true,
            grace_hours: 0,
        }
    }
}

/// The buyer opened a dispute (arbitration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DisputeRules {
    pub enabled: bool,
}

impl Default for DisputeRules {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// Expensive orders should be delivered against a signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HighValueRules {
    pub enabled: bool,
    /// In roubles.
    pub min_total_rub: i64,
}

impl Default for HighValueRules {
    fn default() -> Self {
        Self {
            enabled: true,
            min_total_rub: 5_000,
        }
    }
}

/// A rules value that makes no sense, with the key that holds it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct RulesError {
    pub key: &'static str,
    pub reason: String,
}

impl Rules {
    /// Checks what types alone cannot: thresholds that rise, amounts that are positive.
    pub fn check(&self) -> Result<(), RulesError> {
        let s = &self.stale;
        let positive = [
            ("stale.warning_hours", s.warning_hours),
            ("stale.handover_grace_hours", s.handover_grace_hours),
            (
                "break_point.last_mile_days",
                self.break_point.last_mile_days,
            ),
            (
                "break_point.postal_silence_days",
                self.break_point.postal_silence_days,
            ),
            (
                "compliance.points_per_violation",
                self.compliance.points_per_violation,
            ),
            (
                "compliance.suspension_points",
                self.compliance.suspension_points,
            ),
            ("high_value.min_total_rub", self.high_value.min_total_rub),
            (
                "compliance.points_window_days",
                self.compliance.points_window_days,
            ),
        ];
        for (key, value) in positive {
            if value <= 0 {
                return Err(RulesError {
                    key,
                    reason: format!("must be above 0, not {value}"),
                });
            }
        }
        let not_negative = [
            (
                "stale.international_allowance_hours",
                s.international_allowance_hours,
            ),
            (
                "missing_tracking.grace_hours",
                self.missing_tracking.grace_hours,
            ),
            ("outage_grace_hours", self.outage_grace_hours),
        ];
        for (key, value) in not_negative {
            if value < 0 {
                return Err(RulesError {
                    key,
                    reason: format!("must not be negative, not {value}"),
                });
            }
        }
        for o in &s.overrides {
            if o.phase == Some(LegRole::Marketplace) {
                return Err(RulesError {
                    key: "stale.override.phase",
                    reason: "Ozon's own view of a posting is never stale: use first_mile, \
                             last_mile or single"
                        .into(),
                });
            }
            // What the override yields where it applies, with the more general ones under it.
            let l = s.levels_where(o.mode, o.phase);
            if !(0 < l.warning_hours
                && l.warning_hours < l.high_risk_hours
                && l.high_risk_hours < l.critical_hours)
            {
                return Err(RulesError {
                    key: "stale.override.warning_hours",
                    reason: format!(
                        "an override's thresholds must rise: {} h, {} h, {} h",
                        l.warning_hours, l.high_risk_hours, l.critical_hours
                    ),
                });
            }
        }
        if s.high_risk_hours <= s.warning_hours {
            return Err(RulesError {
                key: "stale.high_risk_hours",
                reason: format!("must be above stale.warning_hours ({})", s.warning_hours),
            });
        }
        if s.critical_hours <= s.high_risk_hours {
            return Err(RulesError {
                key: "stale.critical_hours",
                reason: format!(
                    "must be above stale.high_risk_hours ({})",
                    s.high_risk_hours
                ),
            });
        }
        if !(s.learned_percentile > 0.0 && s.learned_percentile <= 100.0) {
            return Err(RulesError {
                key: "stale.learned_percentile",
                reason: format!("must be in (0, 100], not {}", s.learned_percentile),
            });
        }
        if self.compliance.warn_at_points > self.compliance.suspension_points {
            return Err(RulesError {
                key: "compliance.warn_at_points",
                reason: "must not be above compliance.suspension_points".into(),
            });
        }
        for code in &self.compliance.whitelist {
            if crate::carrier::by_code(code.as_str()).is_none() {
                return Err(RulesError {
                    key: "compliance.whitelist",
                    reason: format!("{code:?} is not a carrier ozontrack knows"),
                });
            }
        }
        Ok(())
    }

    /// Whether `carrier` is on the whitelist these rules use.
    pub fn whitelisted(&self, carrier: &CarrierCode) -> bool {
        if self.compliance.whitelist.is_empty() {
            crate::carrier::by_code(carrier.as_str()).is_some_and(|c| c.whitelisted)
        } else {
            self.compliance.whitelist.contains(carrier)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_is_warned_from_twelve_points_and_suspended_from_fifteen_by_default() {
        let rules = ComplianceRules::default();
        assert_eq!(rules.level(0), None);
        assert_eq!(rules.level(11), None);
        assert_eq!(rules.level(12), Some(PenaltyLevel::Warning));
        assert_eq!(rules.level(14), Some(PenaltyLevel::Warning));
        assert_eq!(rules.level(15), Some(PenaltyLevel::Suspension));
        assert_eq!(rules.level(51), Some(PenaltyLevel::Suspension));
    }

    #[test]
    fn the_defaults_pass_their_own_check() {
        assert_eq!(Rules::default().check(), Ok(()));
    }

    #[test]
    fn thresholds_that_do_not_rise_are_refused_naming_the_key() {
        let mut rules = Rules::default();
        rules.stale.critical_hours = 72;
        let err = rules.check().unwrap_err();
        assert_eq!(err.key, "stale.critical_hours");
        let mut rules = Rules::default();
        rules.compliance.whitelist = vec![CarrierCode::parse("pigeon").unwrap()];
        assert_eq!(rules.check().unwrap_err().key, "compliance.whitelist");
    }

    #[test]
    fn the_most_specific_override_wins_and_the_rest_comes_from_above() {
        let text = r#"
            [stale]
            warning_hours = 48
            [[stale.override]]
            mode = "rfbs"
            warning_hours = 36
            high_risk_hours = 60
            [[stale.override]]
            mode = "rfbs"
            phase = "last_mile"
            warning_hours = 24
        "#;
        let rules: Rules = toml::from_str(text).unwrap();
        assert_eq!(rules.check(), Ok(()));
        let last = rules.stale.levels(Scheme::Rfbs, LegRole::LastMile);
        assert_eq!(
            (
                last.warning_hours,
                last.high_risk_hours,
                last.critical_hours
            ),
            (24, 60, 168)
        );
        let first = rules.stale.levels(Scheme::Rfbs, LegRole::FirstMile);
        assert_eq!((first.warning_hours, first.high_risk_hours), (36, 60));
        assert_eq!(
            rules
                .stale
                .levels(Scheme::Fbs, LegRole::FirstMile)
                .warning_hours,
            48
        );
        let mut bad = rules.clone();
        bad.stale.overrides[1].warning_hours = Some(90);
        assert_eq!(bad.check().unwrap_err().key, "stale.override.warning_hours");
        bad.stale.overrides[1].phase = Some(LegRole::Marketplace);
        assert_eq!(bad.check().unwrap_err().key, "stale.override.phase");
        let unknown = toml::from_str::<Rules>("[[stale.override]]\nphase = \"middle\"\n");
        let err = unknown.unwrap_err().to_string();
        assert!(err.contains("expected one of first_mile"), "{err}");
    }

    #[test]
    fn the_default_whitelist_is_the_registrys() {
        let rules = Rules::default();
        let code = |c: &str| CarrierCode::parse(c).unwrap();
        assert!(rules.whitelisted(&code("yanwen")));
        assert!(!rules.whitelisted(&code("unknown")));
        let own = Rules {
            compliance: ComplianceRules {
                whitelist: vec![code("cdek")],
                ..ComplianceRules::default()
            },
            ..Rules::default()
        };
        assert!(own.whitelisted(&code("cdek")) && !own.whitelisted(&code("yanwen")));
    }
}
