//! Each posting's export line: what an export row shows of a posting (its own columns, carrier
//! legs, latest event, open alerts, penalty points) as one short binary record in `export_lines`,
//! so that an export reads a page of postings as one aggregated row instead of five tables joined
//! row by row (the driver's cost per row was most of an export's time).
//!
//! A line holds facts only (codes, ids, times, the carriers' own words), never a rendered word:
//! the export renders it in the reader's language like any other record. A line is current
//! unless a change of its posting waits in `export_changes`, which the database's triggers fill
//! on every write to what a line holds (migration `0017_export_lines`); one process at a time
//! (the `export_lines` chore) turns waiting changes into lines, and an export reads a posting
//! with a change waiting the long way (joining its legs, events, alerts and penalty points).
//!
//! The format, written and read here by hand because an export decodes a million of them: the
//! format byte, the lengths of the two parts that follow (`u32`, little-endian), then the
//! numbers (fixed-width little-endian integers, a tag byte before each optional value, a count
//! before each list, a `u16` length for each text) and then every text one after the other, so
//! that a line's texts are checked as UTF-8 once, not one by one. Against postcard through serde
//! before it, decoding a line took a third of the instructions (BENCHMARKS, Export). A change to
//! the fields or their order needs a new [`FORMAT`] and a migration that empties `export_lines`
//! and adds a change for every posting, so that no line of the old shape is read (as
//! `0019_export_lines_by_hand` did for postcard's lines of `0018`).

use chrono::{DateTime, Utc};
use ozontrack_domain::finding::{Reason, Severity, Why};
use ozontrack_domain::{
    Currency, LegRole, Money, OzonStatus, OzonSubstatus, PostingId, Scheme, StoreId, SubStatus,
};

use crate::DbError;
use crate::views::{EventView, ExportAlert, ExportRecord, LegView, RecordView};

/// The first byte of every line: a line of another shape is refused as corrupt, never misread.
const FORMAT: u8 = 2;

/// The format byte and the two parts' lengths.
const HEAD: usize = 9;

/// A line being written: its numbers and its texts apart, joined at the end.
#[derive(Default)]
struct Writer {
    numbers: Vec<u8>,
    texts: String,
}

impl Writer {
    fn byte(&mut self, b: u8) {
        self.numbers.push(b);
    }

    fn int(&mut self, n: i64) {
        self.numbers.extend_from_slice(&n.to_le_bytes());
    }

    /// A text, or `None` when it is longer than a line holds (64 KiB).
    fn text(&mut self, text: &str) -> Option<()> {
        let len = u16::try_from(text.len()).ok()?;
        self.numbers.extend_from_slice(&len.to_le_bytes());
        self.texts.push_str(text);
        Some(())
    }

    /// A time as nanoseconds since 1970, or `None` outside 1677 to 2262.
    fn time(&mut self, at: DateTime<Utc>) -> Option<()> {
        self.int(at.timestamp_nanos_opt()?);
        Some(())
    }

    /// A tag byte, then the value when there is one.
    fn opt<T>(
        &mut self,
        value: Option<T>,
        write: impl FnOnce(&mut Self, T) -> Option<()>,
    ) -> Option<()> {
        match value {
            Some(value) => {
                self.byte(1);
                write(self, value)
            }
            None => {
                self.byte(0);
                Some(())
            }
        }
    }

    /// A list's length, when it fits the byte it is written in.
    fn count(&mut self, n: usize) -> Option<()> {
        self.byte(u8::try_from(n).ok()?);
        Some(())
    }

    fn finish(self) -> Option<Vec<u8>> {
        let numbers = u32::try_from(self.numbers.len()).ok()?;
        let texts = u32::try_from(self.texts.len()).ok()?;
        let mut line = Vec::with_capacity(HEAD + self.numbers.len() + self.texts.len());
        line.push(FORMAT);
        line.extend_from_slice(&numbers.to_le_bytes());
        line.extend_from_slice(&texts.to_le_bytes());
        line.extend_from_slice(&self.numbers);
        line.extend_from_slice(self.texts.as_bytes());
        Some(line)
    }
}

/// The line of a record; `None` when a time of it is outside what a line holds (1677 to 2262),
/// a text longer than 64 KiB, or a list longer than 255: that posting gets no line and is always
/// read the long way.
pub(crate) fn encode(record: &ExportRecord) -> Option<Vec<u8>> {
    let p = &record.posting;
    let mut w = Writer::default();
    w.int(record.id.0);
    w.int(p.store_id.0);
    w.text(p.number.as_str())?;
    w.opt(p.order_id, |w, id| {
        w.int(id);
        Some(())
    })?;
    w.text(p.scheme.as_str())?;
    w.text(p.status.as_str())?;
    w.text(p.substatus.as_str())?;
    w.opt(p.in_process_at, Writer::time)?;
    w.opt(p.delivered_at, Writer::time)?;
    w.opt(p.buyer_city.as_deref(), Writer::text)?;
    w.opt(p.total, |w, total| {
        w.int(total.minor);
        w.text(total.currency.code())
    })?;
    w.count(record.legs.len())?;
    for leg in &record.legs {
        w.text(&leg.carrier)?;
        w.text(&leg.tracking_number)?;
        w.text(leg.role.as_str())?;
        w.opt(leg.status.as_ref(), |w, (status, at)| {
            w.text(status.main.as_str())?;
            w.text(status.sub.code())?;
            w.text(match &status.sub {
                SubStatus::Unknown(raw) => raw,
                _ => "",
            })?;
            w.time(*at)
        })?;
    }
    w.opt(record.last_event.as_ref(), |w, event| {
        w.time(event.at)?;
        w.text(&event.text)?;
        w.opt(event.place.as_deref(), Writer::text)
    })?;
    w.count(record.alerts.len())?;
    for alert in &record.alerts {
        w.text(alert.severity.as_str())?;
        match &alert.why {
            // The typed reason as its JSON: a reason is tagged by its code.
            Why::Reason(reason) => {
                w.byte(0);
                w.text(&serde_json::to_string(reason).ok()?)?;
            }
            // The sentence of an alert from before reasons were typed.
            Why::Legacy(sentence) => {
                w.byte(1);
                w.text(sentence)?;
            }
        }
    }
    w.int(record.penalty_points);
    w.finish()
}

/// Hands over the record of each line of `bytes` (lines written one after the other, as the
/// database joins a page's), viewed where it lies: one leg and one alert vector serve every
/// line, so a line costs no allocation but an unknown status's text and an alert's reason.
pub(crate) fn each(mut bytes: &[u8], mut f: impl FnMut(RecordView<'_>)) -> Result<(), DbError> {
    let mut legs = Vec::new();
    let mut alerts = Vec::new();
    while !bytes.is_empty() {
        let (line, rest) = take(bytes)?;
        bytes = rest;
        legs.clear();
        alerts.clear();
        f(view(line, &mut legs, &mut alerts)?);
    }
    Ok(())
}

/// The line `bytes` start with, as a reader of its two parts, and the bytes after it.
fn take(bytes: &[u8]) -> Result<(Reader<'_>, &[u8]), DbError> {
    let unread = || corrupt(0, "a line cut short".into());
    let head = bytes.get(..HEAD).ok_or_else(unread)?;
    if head[0] != FORMAT {
        return Err(corrupt(0, format!("not a line of format {FORMAT}")));
    }
    let len = |at: usize| u32::from_le_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
    let (numbers, texts) = (len(1) as usize, len(5) as usize);
    let rest = &bytes[HEAD..];
    if rest.len() < numbers + texts {
        return Err(unread());
    }
    let (numbers, rest) = rest.split_at(numbers);
    let (texts, rest) = rest.split_at(texts);
    let texts = simdutf8::basic::from_utf8(texts)
        .map_err(|_| corrupt(0, "texts that are not UTF-8".into()))?;
    Ok((Reader { numbers, texts }, rest))
}

/// Reads a line's values in the order [`encode`] wrote them, each text taken from the front of
/// the line's texts.
struct Reader<'a> {
    numbers: &'a [u8],
    texts: &'a str,
}

/// A line that ends before its values do, or holds a value that does not read.
struct Unread;

impl<'a> Reader<'a> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], Unread> {
        let (value, rest) = self.numbers.split_first_chunk::<N>().ok_or(Unread)?;
        self.numbers = rest;
        Ok(*value)
    }

    fn byte(&mut self) -> Result<u8, Unread> {
        Ok(self.bytes::<1>()?[0])
    }

    fn int(&mut self) -> Result<i64, Unread> {
        Ok(i64::from_le_bytes(self.bytes()?))
    }

    fn text(&mut self) -> Result<&'a str, Unread> {
        let len = usize::from(u16::from_le_bytes(self.bytes()?));
        // Refused, as past the end, when the length ends inside a character.
        let (text, rest) = self.texts.split_at_checked(len).ok_or(Unread)?;
        self.texts = rest;
        Ok(text)
    }

    fn time(&mut self) -> Result<DateTime<Utc>, Unread> {
        Ok(DateTime::from_timestamp_nanos(self.int()?))
    }

    fn opt<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, Unread>,
    ) -> Result<Option<T>, Unread> {
        match self.byte()? {
            0 => Ok(None),
            1 => read(self).map(Some),
            _ => Err(Unread),
        }
    }
}

/// How many consecutive posting ids share a block: a block is the lines of a store's postings in
/// one bucket of ids (`id / BUCKET`), a page of an export a few buckets.
pub(crate) const BUCKET: i64 = 512;

/// Lines deflated at the fastest level: the lines of a bucket repeat one another (a block is an
/// eighth of their size) and a round of the `export_lines` chore deflates every block it touched.
const LEVEL: u8 = 1;

/// The most a block inflates to (a bucket's lines are a few hundred kilobytes): a corrupt block
/// fails rather than filling memory.
const MOST_INFLATED: usize = 64 << 20;

/// The block of a store's postings in one bucket: `lines`, one after the other in the order of
/// their ids, and the ids of the postings that have none (read the long way). Stored as the
/// length of what follows (`u32`, little-endian) and then, deflated, the count of those ids
/// (`u32`), the ids (`i64` each) and the lines, so that blocks joined one after the other (as
/// a page's query joins them) come apart again.
pub(crate) fn block<'a>(missing: &[i64], lines: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    // A bucket holds 512 ids: its count fits.
    let count = u32::try_from(missing.len()).unwrap_or(u32::MAX);
    let mut raw = count.to_le_bytes().to_vec();
    for id in missing {
        raw.extend_from_slice(&id.to_le_bytes());
    }
    for line in lines {
        raw.extend_from_slice(line);
    }
    let packed = miniz_oxide::deflate::compress_to_vec(&raw, LEVEL);
    // A bucket's lines deflated are far below 4 GiB.
    let len = u32::try_from(packed.len()).unwrap_or(u32::MAX);
    let mut block = len.to_le_bytes().to_vec();
    block.extend_from_slice(&packed);
    block
}

/// Inflates blocks joined one after the other: their lines appended to `lines`, the ids of their
/// postings without a line to `missing`.
pub(crate) fn unblock(
    mut bytes: &[u8],
    lines: &mut Vec<u8>,
    missing: &mut Vec<i64>,
) -> Result<(), DbError> {
    let bad = |what: &str| DbError::Corrupt {
        table: "export_blocks",
        id: 0,
        reason: what.to_owned(),
    };
    while !bytes.is_empty() {
        let (len, rest) = bytes
            .split_first_chunk::<4>()
            .ok_or_else(|| bad("a block cut short"))?;
        let (packed, rest) = rest
            .split_at_checked(u32::from_le_bytes(*len) as usize)
            .ok_or_else(|| bad("a block cut short"))?;
        bytes = rest;
        let raw = miniz_oxide::inflate::decompress_to_vec_with_limit(packed, MOST_INFLATED)
            .map_err(|e| bad(&format!("a block that does not inflate: {e}")))?;
        let (count, mut rest) = raw
            .split_first_chunk::<4>()
            .ok_or_else(|| bad("a block without its count"))?;
        for _ in 0..u32::from_le_bytes(*count) {
            let (id, after) = rest
                .split_first_chunk::<8>()
                .ok_or_else(|| bad("a block cut short in its ids"))?;
            missing.push(i64::from_le_bytes(*id));
            rest = after;
        }
        lines.extend_from_slice(rest);
    }
    Ok(())
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
    mut r: Reader<'a>,
    legs: &'v mut Vec<LegView<'a>>,
    alerts: &'v mut Vec<ExportAlert>,
) -> Result<RecordView<'v>, DbError> {
    let id = r
        .int()
        .map_err(|Unread| corrupt(0, "a line cut short".into()))?;
    let bad = |what: &str, e: &dyn std::fmt::Display| corrupt(id, format!("{what}: {e}"));
    let short = |Unread| corrupt(id, "a line cut short, or a value out of place".into());
    let store = StoreId(r.int().map_err(short)?);
    let number = r.text().map_err(short)?;
    let order_id = r.opt(Reader::int).map_err(short)?;
    let scheme = Scheme::parse(r.text().map_err(short)?).map_err(|e| bad("mode", &e))?;
    let status = OzonStatus::parse(r.text().map_err(short)?);
    let substatus = OzonSubstatus::parse(r.text().map_err(short)?);
    let in_process_at = r.opt(Reader::time).map_err(short)?;
    let delivered_at = r.opt(Reader::time).map_err(short)?;
    let buyer_city = r.opt(Reader::text).map_err(short)?;
    let total = match r.opt(|r| Ok((r.int()?, r.text()?))).map_err(short)? {
        Some((minor, code)) => Some(Money::from_minor(
            minor,
            Currency::parse(code).map_err(|e| bad("currency", &e))?,
        )),
        None => None,
    };
    for _ in 0..r.byte().map_err(short)? {
        let carrier = r.text().map_err(short)?;
        let tracking_number = r.text().map_err(short)?;
        let role = LegRole::parse(r.text().map_err(short)?).map_err(|e| bad("leg role", &e))?;
        let status = match r
            .opt(|r| Ok((r.text()?, r.text()?, r.text()?, r.time()?)))
            .map_err(short)?
        {
            Some((main, sub, raw, at)) => Some((
                crate::records::status(main, sub, raw).map_err(|e| bad("leg status", &e))?,
                at,
            )),
            None => None,
        };
        legs.push(LegView {
            carrier,
            tracking_number,
            role,
            status,
        });
    }
    let last_event = r
        .opt(|r| {
            Ok(EventView {
                at: r.time()?,
                text: r.text()?,
                place: r.opt(Reader::text)?,
            })
        })
        .map_err(short)?;
    for _ in 0..r.byte().map_err(short)? {
        let severity =
            Severity::parse(r.text().map_err(short)?).map_err(|e| bad("severity", &e))?;
        let why = match (r.byte().map_err(short)?, r.text().map_err(short)?) {
            (0, json) => {
                Why::Reason(serde_json::from_str::<Reason>(json).map_err(|e| bad("reason", &e))?)
            }
            (1, sentence) => Why::Legacy(sentence.to_owned()),
            _ => return Err(short(Unread)),
        };
        alerts.push(ExportAlert { severity, why });
    }
    let penalty_points = r.int().map_err(short)?;
    if !r.numbers.is_empty() || !r.texts.is_empty() {
        return Err(corrupt(id, "bytes after the line's last value".into()));
    }
    Ok(RecordView {
        id: PostingId(id),
        store,
        number,
        order_id,
        scheme,
        status,
        substatus,
        in_process_at,
        delivered_at,
        buyer_city,
        total,
        legs,
        last_event,
        alerts,
        penalty_points,
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
        // Its 85 bytes of text, 68 of numbers and 9 of head: an empty list or a missing value
        // costs a byte.
        assert_eq!(line.len(), 162);
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
        // The number's length is the first text's, after the id and the store.
        let number_len = HEAD + 16;
        let mut longer_number = line.clone();
        longer_number[number_len] += 1;
        // The buyer's city, "Новосибирск…", its letters two bytes each: its length made 1 ends
        // inside its first letter. Its length comes after the id, the store, the number's
        // length, the order id, three codes' lengths, the start, the missing delivery and its
        // own tag.
        let city_len = HEAD + 8 + 8 + 2 + 9 + 3 * 2 + 9 + 1 + 1;
        let mut inside_a_character = line.clone();
        inside_a_character[city_len..city_len + 2].copy_from_slice(&1u16.to_le_bytes());
        let city = line.windows(2).position(|w| w == "Н".as_bytes()).unwrap();
        let mut not_utf8 = line.clone();
        not_utf8[city] = 0xff;
        let garbage: &[&[u8]] = &[
            b"{\"i\":1}",
            &line[..line.len() / 2],
            &line[..line.len() - 1],
            &other_format,
            &[
                FORMAT, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ],
            &longer_number,
            &inside_a_character,
            &not_utf8,
            &[line.as_slice(), &[FORMAT, 0, 0, 0, 0, 0, 0, 0, 0]].concat(),
        ];
        for bytes in garbage {
            assert!(
                matches!(decode_all(bytes), Err(DbError::Corrupt { .. })),
                "{bytes:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn any_record_a_line_holds_comes_back_whole(
            city in proptest::option::of(".{0,40}"),
            carrier in "[a-z_]{1,12}",
            tracking in ".{0,30}",
            raw in ".{1,20}",
            text in ".{0,200}",
            place in proptest::option::of(".{0,40}"),
            legacy in ".{0,80}",
            nanos in -9_000_000_000_000_000_000i64..9_000_000_000_000_000_000,
            order_id in proptest::option::of(proptest::num::i64::ANY),
            points in proptest::num::i64::ANY,
            legs in 0usize..4,
        ) {
            let at = DateTime::from_timestamp_nanos(nanos);
            let mut record = record();
            record.posting.buyer_city = city;
            record.posting.order_id = order_id;
            record.posting.delivered_at = Some(at);
            record.legs = (0..legs)
                .map(|n| ExportLeg {
                    carrier: carrier.clone(),
                    tracking_number: tracking.clone(),
                    role: if n == 0 { LegRole::FirstMile } else { LegRole::LastMile },
                    status: (n % 2 == 0).then(|| {
                        (NormalizedStatus::unknown(MainStatus::InTransit, raw.clone()), at)
                    }),
                })
                .collect();
            record.last_event = Some(ExportEvent { at, text, place });
            record.alerts[1].why = Why::Legacy(legacy);
            record.penalty_points = points;
            let line = encode(&record).unwrap();
            proptest::prop_assert_eq!(decode_all(&line).unwrap(), vec![record]);
        }
    }

    #[test]
    fn blocks_joined_one_after_the_other_give_back_their_lines_and_missing_postings() {
        let records: Vec<ExportRecord> = (0..3)
            .map(|n| {
                let mut r = record();
                r.id = PostingId(42 + n);
                r
            })
            .collect();
        let lines: Vec<Vec<u8>> = records.iter().map(|r| encode(r).unwrap()).collect();
        let joined = [
            block(&[7, 9], lines[..2].iter().map(Vec::as_slice)),
            block(&[], std::iter::empty()),
            block(&[], lines[2..].iter().map(Vec::as_slice)),
        ]
        .concat();
        let (mut read, mut missing) = (Vec::new(), Vec::new());
        unblock(&joined, &mut read, &mut missing).unwrap();
        assert_eq!(missing, [7, 9]);
        assert_eq!(decode_all(&read).unwrap(), records);
        for cut in [
            &joined[..3],
            &joined[..joined.len() - 1],
            &[0, 0, 0, 0, 1][..],
        ] {
            let (mut read, mut missing) = (Vec::new(), Vec::new());
            assert!(matches!(
                unblock(cut, &mut read, &mut missing),
                Err(DbError::Corrupt { .. })
            ));
        }
    }
}
