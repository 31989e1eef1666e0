//! Each posting's export line: what an export row shows of a posting (its own columns, carrier
//! legs, latest event, open alerts, penalty points) as one short JSON text in `export_lines`, so
//! that an export reads a page of postings as one aggregated row instead of five tables joined
//! row by row (the driver's cost per row was most of an export's time).
//!
//! A line holds facts only (codes, ids, times, the carriers' own words), never a rendered word:
//! the export renders it in the reader's language like any other record. A line is current
//! unless a change of its posting waits in `export_changes`, which the database's triggers fill
//! on every write to what a line holds (migration `0017_export_lines`); one process at a time
//! (the `export_lines` chore) turns waiting changes into lines, and an export reads a posting
//! with a change waiting the long way (joining its legs, events, alerts and penalty points).
//!
//! The format: a change to [`Line`] needs a migration that empties `export_lines` and adds a
//! change for every posting, so that no line of the old shape is read.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use ozontrack_domain::finding::{Reason, Severity, Why};
use ozontrack_domain::{
    Currency, LegRole, Money, OzonStatus, OzonSubstatus, Posting, PostingId, PostingNumber, Scheme,
    StoreId, SubStatus,
};
use serde::{Deserialize, Serialize};

use crate::DbError;
use crate::views::{ExportAlert, ExportEvent, ExportLeg, ExportRecord};

/// A stored line. Keys are short: a million of them are read per export. Texts borrow from the
/// record they are written from and from the JSON they are read from (a code only becomes its
/// enum), so a line costs few allocations either way; times are nanoseconds since 1970 (parsing
/// RFC 3339 was a tenth of reading a line), which holds 1677 to 2262: a posting with a time
/// outside gets no line and is always read the long way.
#[derive(Serialize, Deserialize)]
struct Line<'a> {
    #[serde(rename = "i")]
    id: i64,
    #[serde(rename = "s")]
    store: i64,
    #[serde(rename = "n", borrow)]
    number: Cow<'a, str>,
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    order_id: Option<i64>,
    #[serde(rename = "m", borrow)]
    scheme: Cow<'a, str>,
    #[serde(rename = "st", borrow)]
    status: Cow<'a, str>,
    #[serde(rename = "ss", default, borrow, skip_serializing_if = "str::is_empty")]
    substatus: Cow<'a, str>,
    #[serde(
        rename = "ip",
        default,
        with = "nanos_or_none",
        skip_serializing_if = "Option::is_none"
    )]
    in_process_at: Option<DateTime<Utc>>,
    #[serde(
        rename = "d",
        default,
        with = "nanos_or_none",
        skip_serializing_if = "Option::is_none"
    )]
    delivered_at: Option<DateTime<Utc>>,
    #[serde(rename = "c", default, borrow, skip_serializing_if = "Option::is_none")]
    buyer_city: Option<Cow<'a, str>>,
    /// Minor units and currency code.
    #[serde(rename = "t", default, borrow, skip_serializing_if = "Option::is_none")]
    total: Option<(i64, Cow<'a, str>)>,
    #[serde(rename = "l", default, borrow, skip_serializing_if = "Vec::is_empty")]
    legs: Vec<LineLeg<'a>>,
    #[serde(rename = "e", default, borrow, skip_serializing_if = "Option::is_none")]
    last_event: Option<LineEvent<'a>>,
    #[serde(rename = "a", default, borrow, skip_serializing_if = "Vec::is_empty")]
    alerts: Vec<LineAlert<'a>>,
    #[serde(rename = "p", default, skip_serializing_if = "is_zero")]
    penalty_points: i64,
}

#[derive(Serialize, Deserialize)]
struct LineLeg<'a> {
    #[serde(rename = "c", borrow)]
    carrier: Cow<'a, str>,
    #[serde(rename = "n", borrow)]
    tracking_number: Cow<'a, str>,
    #[serde(rename = "r", borrow)]
    role: Cow<'a, str>,
    #[serde(rename = "s", default, borrow, skip_serializing_if = "Option::is_none")]
    status: Option<LineStatus<'a>>,
}

/// A leg's latest status and when the leg reached it.
#[derive(Serialize, Deserialize)]
struct LineStatus<'a> {
    #[serde(rename = "m", borrow)]
    main: Cow<'a, str>,
    #[serde(rename = "s", borrow)]
    sub: Cow<'a, str>,
    /// The carrier's raw value of an unknown sub-status.
    #[serde(rename = "r", default, borrow, skip_serializing_if = "str::is_empty")]
    raw: Cow<'a, str>,
    #[serde(rename = "at", with = "chrono::serde::ts_nanoseconds")]
    at: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
struct LineEvent<'a> {
    #[serde(rename = "at", with = "chrono::serde::ts_nanoseconds")]
    at: DateTime<Utc>,
    #[serde(rename = "t", borrow)]
    text: Cow<'a, str>,
    #[serde(rename = "p", default, borrow, skip_serializing_if = "Option::is_none")]
    place: Option<Cow<'a, str>>,
}

#[derive(Serialize, Deserialize)]
struct LineAlert<'a> {
    #[serde(rename = "s", borrow)]
    severity: Cow<'a, str>,
    /// The typed reason, or the sentence of an alert from before reasons were typed.
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    reason: Option<Reason>,
    #[serde(rename = "w", default, borrow, skip_serializing_if = "Option::is_none")]
    legacy: Option<Cow<'a, str>>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

use chrono::serde::ts_nanoseconds_option as nanos_or_none;

/// The line of a record; `None` when a time of it is outside what a line holds.
pub(crate) fn encode(record: &ExportRecord) -> Option<String> {
    let p = &record.posting;
    let line = Line {
        id: record.id.0,
        store: p.store_id.0,
        number: p.number.as_str().into(),
        order_id: p.order_id,
        scheme: p.scheme.as_str().into(),
        status: p.status.as_str().into(),
        substatus: p.substatus.as_str().into(),
        in_process_at: p.in_process_at,
        delivered_at: p.delivered_at,
        buyer_city: p.buyer_city.as_deref().map(Into::into),
        total: p.total.map(|m| (m.minor, m.currency.code().into())),
        legs: record
            .legs
            .iter()
            .map(|l| LineLeg {
                carrier: l.carrier.as_str().into(),
                tracking_number: l.tracking_number.as_str().into(),
                role: l.role.as_str().into(),
                status: l.status.as_ref().map(|(s, at)| LineStatus {
                    main: s.main.as_str().into(),
                    sub: s.sub.code().into(),
                    raw: match &s.sub {
                        SubStatus::Unknown(raw) => raw.as_str().into(),
                        _ => Cow::Borrowed(""),
                    },
                    at: *at,
                }),
            })
            .collect(),
        last_event: record.last_event.as_ref().map(|e| LineEvent {
            at: e.at,
            text: e.text.as_str().into(),
            place: e.place.as_deref().map(Into::into),
        }),
        alerts: record
            .alerts
            .iter()
            .map(|a| {
                let (reason, legacy) = match &a.why {
                    Why::Reason(r) => (Some(r.clone()), None),
                    Why::Legacy(w) => (None, Some(w.as_str().into())),
                };
                LineAlert {
                    severity: a.severity.as_str().into(),
                    reason,
                    legacy,
                }
            })
            .collect(),
        penalty_points: record.penalty_points,
    };
    // Strings and numbers cannot fail to serialise; a time out of range can.
    serde_json::to_string(&line).ok()
}

/// The record a line holds.
pub(crate) fn decode(text: &str) -> Result<ExportRecord, DbError> {
    let line: Line<'_> = serde_json::from_str(text).map_err(|e| DbError::Corrupt {
        table: "export_lines",
        id: 0,
        reason: e.to_string(),
    })?;
    let id = line.id;
    let bad = |what: &str, e: &dyn std::fmt::Display| DbError::Corrupt {
        table: "export_lines",
        id,
        reason: format!("{what}: {e}"),
    };
    let mut posting = Posting::new(
        StoreId(line.store),
        PostingNumber::parse(&line.number).map_err(|e| bad("number", &e))?,
        Scheme::parse(&line.scheme).map_err(|e| bad("mode", &e))?,
        OzonStatus::parse(&line.status),
    );
    posting.order_id = line.order_id;
    posting.substatus = OzonSubstatus::parse(&line.substatus);
    posting.in_process_at = line.in_process_at;
    posting.delivered_at = line.delivered_at;
    posting.buyer_city = line.buyer_city.map(Cow::into_owned);
    posting.total = match line.total {
        Some((minor, code)) => Some(Money::from_minor(
            minor,
            Currency::parse(&code).map_err(|e| bad("currency", &e))?,
        )),
        None => None,
    };
    let legs = line
        .legs
        .into_iter()
        .map(|l| {
            Ok(ExportLeg {
                role: LegRole::parse(&l.role).map_err(|e| bad("leg role", &e))?,
                status: match l.status {
                    Some(s) => Some((
                        crate::records::status(&s.main, &s.sub, &s.raw)
                            .map_err(|e| bad("leg status", &e))?,
                        s.at,
                    )),
                    None => None,
                },
                carrier: l.carrier.into_owned(),
                tracking_number: l.tracking_number.into_owned(),
            })
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    let alerts = line
        .alerts
        .into_iter()
        .map(|a| {
            Ok(ExportAlert {
                severity: Severity::parse(&a.severity).map_err(|e| bad("severity", &e))?,
                why: match a.reason {
                    Some(reason) => Why::Reason(reason),
                    None => Why::Legacy(a.legacy.map(Cow::into_owned).unwrap_or_default()),
                },
            })
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    Ok(ExportRecord {
        id: PostingId(id),
        posting,
        legs,
        last_event: line.last_event.map(|e| ExportEvent {
            at: e.at,
            text: e.text.into_owned(),
            place: e.place.map(Cow::into_owned),
        }),
        alerts,
        penalty_points: line.penalty_points,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone as _;
    use ozontrack_domain::{MainStatus, NormalizedStatus};

    use super::*;

    fn at(hours: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 9, 30, 0).unwrap()
            + chrono::Duration::hours(hours)
            + chrono::Duration::nanoseconds(123_456_789)
    }

    fn record() -> ExportRecord {
        let mut posting = Posting::new(
            StoreId(7),
            PostingNumber::parse("0132112277-0101-1").unwrap(),
            Scheme::Rfbs,
            OzonStatus::parse("a_status_ozon_added_later"),
        );
        posting.order_id = Some(35_566_798_085);
        posting.substatus = OzonSubstatus::parse("a_substatus_too");
        posting.in_process_at = Some(at(0));
        posting.buyer_city = Some("Новосибирск \"центр\"\n".into());
        posting.total = Some(Money::from_minor(153_001, Currency::Cny));
        ExportRecord {
            id: PostingId(42),
            posting,
            legs: vec![
                ExportLeg {
                    carrier: "yanwen".into(),
                    tracking_number: "UG123456789YP".into(),
                    role: LegRole::FirstMile,
                    status: Some((
                        NormalizedStatus::unknown(MainStatus::InTransit, "CC_HO_OUT_SUCCESS"),
                        at(30),
                    )),
                },
                ExportLeg {
                    carrier: "cdek".into(),
                    tracking_number: "1234567890".into(),
                    role: LegRole::LastMile,
                    status: None,
                },
            ],
            last_event: Some(ExportEvent {
                at: at(30),
                text: "Передан перевозчику \u{1f}\u{1e}\t<b>".into(),
                place: None,
            }),
            alerts: vec![
                ExportAlert {
                    severity: Severity::HighRisk,
                    why: Why::Reason(Reason::Stale {
                        quiet_hours: 80,
                        threshold_hours: 72,
                        allowance_hours: 24,
                        learned: None,
                        last: None,
                    }),
                },
                ExportAlert {
                    severity: Severity::Warning,
                    why: Why::Legacy("No update for 50 h".into()),
                },
            ],
            penalty_points: 3,
        }
    }

    #[test]
    fn a_line_gives_back_the_record_it_was_made_of() {
        let record = record();
        let line = encode(&record).unwrap();
        assert!(!line.contains('\n'), "lines are joined by newlines");
        assert_eq!(decode(&line).unwrap(), record);
    }

    #[test]
    fn a_bare_posting_makes_a_short_line_and_comes_back_whole() {
        let mut record = record();
        record.legs.clear();
        record.last_event = None;
        record.alerts.clear();
        record.penalty_points = 0;
        record.posting.substatus = OzonSubstatus::parse("");
        let line = encode(&record).unwrap();
        assert!(line.len() < 250, "{line}");
        assert_eq!(decode(&line).unwrap(), record);
    }

    #[test]
    fn a_posting_with_a_time_a_line_cannot_hold_gets_no_line() {
        let mut record = record();
        record.posting.delivered_at = Some(Utc.with_ymd_and_hms(2300, 1, 1, 0, 0, 0).unwrap());
        assert_eq!(encode(&record), None);
    }

    #[test]
    fn a_line_that_does_not_read_is_a_corrupt_row_not_a_panic() {
        for text in [
            "",
            "{",
            "{\"i\":1}",
            "{\"i\":1,\"s\":1,\"n\":\"x\",\"m\":\"fbs\",\"st\":\"\"}",
        ] {
            assert!(
                matches!(decode(text), Err(DbError::Corrupt { .. })),
                "{text}"
            );
        }
    }
}
