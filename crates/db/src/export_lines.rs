//! Each posting's export line: what an export row shows of a posting (its own columns, carrier
//! legs, latest event, open alerts, penalty points) as one short binary record in `export_lines`
//! (postcard: a line needs no framing, as each record knows where it ends), so
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
//! change for every posting, so that no line of the old shape is read, and a new [`FORMAT`]
//! (migration `0018_binary_export_lines` replaced the JSON lines of `0017`).

use chrono::{DateTime, Utc};
use ozontrack_domain::finding::{Reason, Severity, Why};
use ozontrack_domain::{
    Currency, LegRole, Money, OzonStatus, OzonSubstatus, PostingId, Scheme, StoreId, SubStatus,
};
use serde::{Deserialize, Serialize};

use crate::DbError;
use crate::views::{EventView, ExportAlert, ExportRecord, LegView, RecordView};

/// The first byte of every line: a line of another shape is refused as corrupt, never misread.
const FORMAT: u8 = 1;

/// A stored line, its fields in this order (postcard names none). Texts borrow from the record
/// they are written from and from the bytes they are read from (a code only becomes its enum),
/// so a line costs few allocations either way; times are nanoseconds since 1970, which hold
/// 1677 to 2262: a posting with a time outside gets no line and is always read the long way.
/// Against the JSON lines before it: two thirds of the size, and an export's read ran 1.2–1.8
/// times as fast (BENCHMARKS, Export).
#[derive(Serialize, Deserialize)]
struct Line<'a> {
    format: u8,
    id: i64,
    store: i64,
    number: &'a str,
    order_id: Option<i64>,
    scheme: &'a str,
    status: &'a str,
    substatus: &'a str,
    #[serde(with = "nanos_or_none")]
    in_process_at: Option<DateTime<Utc>>,
    #[serde(with = "nanos_or_none")]
    delivered_at: Option<DateTime<Utc>>,
    #[serde(borrow)]
    buyer_city: Option<&'a str>,
    /// Minor units and currency code.
    #[serde(borrow)]
    total: Option<(i64, &'a str)>,
    #[serde(borrow)]
    legs: Vec<LineLeg<'a>>,
    #[serde(borrow)]
    last_event: Option<LineEvent<'a>>,
    #[serde(borrow)]
    alerts: Vec<LineAlert<'a>>,
    penalty_points: i64,
}

#[derive(Serialize, Deserialize)]
struct LineLeg<'a> {
    carrier: &'a str,
    tracking_number: &'a str,
    role: &'a str,
    #[serde(borrow)]
    status: Option<LineStatus<'a>>,
}

/// A leg's latest status and when the leg reached it.
#[derive(Serialize, Deserialize)]
struct LineStatus<'a> {
    main: &'a str,
    sub: &'a str,
    /// The carrier's raw value of an unknown sub-status, else empty.
    raw: &'a str,
    #[serde(with = "chrono::serde::ts_nanoseconds")]
    at: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
struct LineEvent<'a> {
    #[serde(with = "chrono::serde::ts_nanoseconds")]
    at: DateTime<Utc>,
    text: &'a str,
    #[serde(borrow)]
    place: Option<&'a str>,
}

#[derive(Serialize, Deserialize)]
struct LineAlert<'a> {
    severity: &'a str,
    #[serde(borrow)]
    why: LineWhy<'a>,
}

/// Why an alert is open, as a line keeps it.
#[derive(Serialize, Deserialize)]
enum LineWhy<'a> {
    /// The typed reason as its JSON: a reason is tagged by its code, which postcard cannot read
    /// back.
    Reason(&'a str),
    /// The sentence of an alert from before reasons were typed.
    Legacy(&'a str),
}

use chrono::serde::ts_nanoseconds_option as nanos_or_none;

/// The line of a record; `None` when a time of it is outside what a line holds.
pub(crate) fn encode(record: &ExportRecord) -> Option<Vec<u8>> {
    let p = &record.posting;
    // The reasons' JSON, which the line borrows.
    let reasons = record
        .alerts
        .iter()
        .map(|a| match &a.why {
            Why::Reason(r) => serde_json::to_string(r).ok(),
            Why::Legacy(_) => Some(String::new()),
        })
        .collect::<Option<Vec<_>>>()?;
    let line = Line {
        format: FORMAT,
        id: record.id.0,
        store: p.store_id.0,
        number: p.number.as_str(),
        order_id: p.order_id,
        scheme: p.scheme.as_str(),
        status: p.status.as_str(),
        substatus: p.substatus.as_str(),
        in_process_at: p.in_process_at,
        delivered_at: p.delivered_at,
        buyer_city: p.buyer_city.as_deref(),
        total: p.total.map(|m| (m.minor, m.currency.code())),
        legs: record
            .legs
            .iter()
            .map(|l| LineLeg {
                carrier: &l.carrier,
                tracking_number: &l.tracking_number,
                role: l.role.as_str(),
                status: l.status.as_ref().map(|(s, at)| LineStatus {
                    main: s.main.as_str(),
                    sub: s.sub.code(),
                    raw: match &s.sub {
                        SubStatus::Unknown(raw) => raw.as_str(),
                        _ => "",
                    },
                    at: *at,
                }),
            })
            .collect(),
        last_event: record.last_event.as_ref().map(|e| LineEvent {
            at: e.at,
            text: &e.text,
            place: e.place.as_deref(),
        }),
        alerts: record
            .alerts
            .iter()
            .zip(&reasons)
            .map(|(a, json)| LineAlert {
                severity: a.severity.as_str(),
                why: match &a.why {
                    Why::Reason(_) => LineWhy::Reason(json),
                    Why::Legacy(w) => LineWhy::Legacy(w),
                },
            })
            .collect(),
        penalty_points: record.penalty_points,
    };
    // Strings and numbers cannot fail to serialise; a time out of range can.
    postcard::to_allocvec(&line).ok()
}

/// Hands over the record of each line of `bytes` (lines written one after the other, as the
/// database joins a page's), viewed where it lies: one leg and one alert vector serve every
/// line, so a line costs an allocation for its legs (postcard's) and none of its texts.
pub(crate) fn each(mut bytes: &[u8], mut f: impl FnMut(RecordView<'_>)) -> Result<(), DbError> {
    let mut legs = Vec::new();
    let mut alerts = Vec::new();
    while !bytes.is_empty() {
        let (line, rest) = take(bytes)?;
        bytes = rest;
        legs.clear();
        alerts.clear();
        f(view(&line, &mut legs, &mut alerts)?);
    }
    Ok(())
}

/// The line `bytes` start with, and the bytes after it.
fn take(bytes: &[u8]) -> Result<(Line<'_>, &[u8]), DbError> {
    if bytes.first() != Some(&FORMAT) {
        return Err(corrupt(0, format!("not a line of format {FORMAT}")));
    }
    postcard::take_from_bytes(bytes).map_err(|e| corrupt(0, e.to_string()))
}

/// A line that does not read, of posting `id` (0 before its id is read).
pub(crate) fn corrupt(id: i64, reason: String) -> DbError {
    DbError::Corrupt {
        table: "export_lines",
        id,
        reason,
    }
}

/// The record a line holds, its legs and alerts put in `legs` and `alerts`.
fn view<'v, 'a: 'v>(
    line: &Line<'a>,
    legs: &'v mut Vec<LegView<'a>>,
    alerts: &'v mut Vec<ExportAlert>,
) -> Result<RecordView<'v>, DbError> {
    let id = line.id;
    let bad = |what: &str, e: &dyn std::fmt::Display| corrupt(id, format!("{what}: {e}"));
    for l in &line.legs {
        legs.push(LegView {
            carrier: l.carrier,
            tracking_number: l.tracking_number,
            role: LegRole::parse(l.role).map_err(|e| bad("leg role", &e))?,
            status: match &l.status {
                Some(s) => Some((
                    crate::records::status(s.main, s.sub, s.raw)
                        .map_err(|e| bad("leg status", &e))?,
                    s.at,
                )),
                None => None,
            },
        });
    }
    for a in &line.alerts {
        alerts.push(ExportAlert {
            severity: Severity::parse(a.severity).map_err(|e| bad("severity", &e))?,
            why: match a.why {
                LineWhy::Reason(json) => Why::Reason(
                    serde_json::from_str::<Reason>(json).map_err(|e| bad("reason", &e))?,
                ),
                LineWhy::Legacy(legacy) => Why::Legacy(legacy.to_owned()),
            },
        });
    }
    Ok(RecordView {
        id: PostingId(id),
        store: StoreId(line.store),
        number: line.number,
        order_id: line.order_id,
        scheme: Scheme::parse(line.scheme).map_err(|e| bad("mode", &e))?,
        status: OzonStatus::parse(line.status),
        substatus: OzonSubstatus::parse(line.substatus),
        in_process_at: line.in_process_at,
        delivered_at: line.delivered_at,
        buyer_city: line.buyer_city,
        total: match line.total {
            Some((minor, code)) => Some(Money::from_minor(
                minor,
                Currency::parse(code).map_err(|e| bad("currency", &e))?,
            )),
            None => None,
        },
        legs,
        last_event: line.last_event.as_ref().map(|e| EventView {
            at: e.at,
            text: e.text,
            place: e.place,
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
    use crate::views::{ExportEvent, ExportLeg};
    use ozontrack_domain::{Posting, PostingNumber};

    /// The records of lines written one after the other, each of its own.
    fn decode_all(bytes: &[u8]) -> Result<Vec<ExportRecord>, DbError> {
        crate::views::owned(|f| each(bytes, f))
    }

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
        assert_eq!(decode_all(&line).unwrap(), vec![record]);
    }

    #[test]
    fn lines_written_one_after_the_other_read_back_one_by_one() {
        let mut bare = record();
        bare.id = PostingId(43);
        bare.legs.clear();
        bare.last_event = None;
        bare.alerts.clear();
        let records = vec![record(), bare, record()];
        let joined: Vec<u8> = records.iter().flat_map(|r| encode(r).unwrap()).collect();
        assert_eq!(decode_all(&joined).unwrap(), records);
        assert_eq!(decode_all(&[]).unwrap(), Vec::new());
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
        assert!(line.len() < 150, "{} bytes", line.len());
        assert_eq!(decode_all(&line).unwrap(), vec![record]);
    }

    #[test]
    fn a_posting_with_a_time_a_line_cannot_hold_gets_no_line() {
        let mut record = record();
        record.posting.delivered_at = Some(Utc.with_ymd_and_hms(2300, 1, 1, 0, 0, 0).unwrap());
        assert_eq!(encode(&record), None);
    }

    #[test]
    fn a_line_that_does_not_read_is_a_corrupt_row_not_a_panic() {
        let line = encode(&record()).unwrap();
        let mut other_format = line.clone();
        other_format[0] = FORMAT + 1;
        let garbage: &[&[u8]] = &[
            b"{\"i\":1}",
            &line[..line.len() / 2],
            &line[..line.len() - 1],
            &other_format,
            &[
                FORMAT, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ],
        ];
        for bytes in garbage {
            assert!(
                matches!(decode_all(bytes), Err(DbError::Corrupt { .. })),
                "{bytes:?}"
            );
        }
    }
}
