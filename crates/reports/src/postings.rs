//! The postings export's columns and rows: what a seller's spreadsheet says of each posting,
//! headers and words in the reader's language, values typed until the writer.

use std::num::NonZeroU64;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use foldhash::HashMap;
use ozontrack_domain::finding::{Severity, Why};
use ozontrack_domain::{Money, OzonStatus, OzonSubstatus, PostingNumber, Scheme};
use ozontrack_i18n::{Tr, utc_offset};

use crate::cell::{Cell, Profile};
use crate::zone::LocalTimes;
use crate::{FileFormat, Layout, Refusal, Refused};

macro_rules! columns {
    ($($variant:ident => $key:literal, $width:literal;)*) => {
        /// A column of the postings export, by the key `--columns` names it with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Column { $($variant,)* }

        impl Column {
            /// Every column, in the order a full export has them.
            pub const ALL: &'static [Column] = &[$(Column::$variant,)*];

            pub fn key(self) -> &'static str {
                match self { $(Column::$variant => $key,)* }
            }

            /// The catalogue id of its header.
            fn header_id(self) -> &'static str {
                match self { $(Column::$variant => concat!("export-col-", $key),)* }
            }

            /// Its XLSX width, in characters.
            pub fn width(self) -> f64 {
                match self { $(Column::$variant => $width,)* }
            }
        }
    };
}

columns! {
    PostingNumber => "posting_number", 20.0;
    OrderNumber => "order_number", 17.0;
    Store => "store", 14.0;
    Mode => "mode", 12.0;
    Status => "status", 22.0;
    OrderedAt => "ordered_at", 19.0;
    Carriers => "carriers", 24.0;
    TrackingNumbers => "tracking_numbers", 32.0;
    LastEventAt => "last_event_at", 19.0;
    LastEventPlace => "last_event_place", 22.0;
    LastEventText => "last_event_text", 40.0;
    TimeZone => "time_zone", 11.0;
    DaysInTransit => "days_in_transit", 9.0;
    Risk => "risk", 12.0;
    OpenAlerts => "open_alerts", 50.0;
    EstimateFrom => "estimate_from", 19.0;
    EstimateTo => "estimate_to", 19.0;
    PenaltyPoints => "penalty_points", 9.0;
    DeliveredAt => "delivered_at", 19.0;
    Total => "total", 12.0;
    Currency => "currency", 8.0;
    Link => "link", 40.0;
}

impl Column {
    /// The columns a `--columns a,b,c` list names, in its order; an unknown key is refused
    /// with the known ones.
    pub fn parse_list(text: &str) -> Result<Vec<Column>, Refused> {
        let refused = |refusal| Refused {
            option: "columns",
            refusal,
        };
        let mut columns = Vec::new();
        for key in text.split(',').map(str::trim).filter(|k| !k.is_empty()) {
            let column = Column::ALL
                .iter()
                .copied()
                .find(|c| c.key() == key)
                .ok_or_else(|| {
                    refused(Refusal::NotOneOf {
                        value: key.to_owned(),
                        known: Column::ALL.iter().map(|c| c.key().to_owned()).collect(),
                    })
                })?;
            if !columns.contains(&column) {
                columns.push(column);
            }
        }
        if columns.is_empty() {
            return Err(refused(Refusal::Empty));
        }
        Ok(columns)
    }

    /// Whether its texts come from a small set repeated row after row (words of the catalogue,
    /// a store's name, a carrier's event texts and places), so an XLSX writes each once.
    pub fn repeats(self) -> bool {
        matches!(
            self,
            Column::Store
                | Column::Mode
                | Column::Status
                | Column::Carriers
                | Column::LastEventPlace
                | Column::LastEventText
                | Column::TimeZone
                | Column::Risk
                | Column::Currency
        )
    }

    /// The column's header in a language.
    pub fn header(self, tr: &Tr) -> String {
        tr.t(self.header_id())
    }
}

/// The headers of these columns.
pub fn header(columns: &[Column], tr: &Tr) -> Vec<String> {
    columns.iter().map(|c| c.header(tr)).collect()
}

/// How an export of these columns is laid out: their headers in `tr`'s language, their XLSX
/// widths and which of them an XLSX shares the texts of (see [`Column::repeats`]).
pub fn layout(
    columns: &[Column],
    tr: &Tr,
    format: FileFormat,
    profile: Profile,
    split: Option<NonZeroU64>,
) -> Layout {
    Layout {
        format,
        profile,
        header: header(columns, tr),
        widths: columns.iter().map(|c| c.width()).collect(),
        repeats: columns.iter().map(|c| c.repeats()).collect(),
        split,
    }
}

/// Where one of a [`Batch`]'s texts is in the batch's buffer: meaningful only in the batch that
/// made it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Text(Span);

/// Where a row's legs or alerts (or, as a [`Text`], a text) are in its [`Batch`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// A carrier leg as a row names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leg {
    /// The carrier's code.
    pub carrier: Text,
    pub tracking_number: Text,
}

/// The latest event of any of a posting's legs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LastEvent {
    pub at: DateTime<Utc>,
    pub place: Option<Text>,
    /// The carrier's own words.
    pub text: Text,
}

/// Everything one row says of a posting, as facts; its texts, legs and alerts are kept by the
/// [`Batch`] it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct PostingLine {
    /// The posting's id: a batch's rows are put in its order, newest first.
    pub id: i64,
    pub number: Text,
    pub store: Text,
    /// The store's zone: every time in the row is in it, and the row says which.
    pub zone: Tz,
    pub scheme: Scheme,
    pub status: OzonStatus,
    pub substatus: OzonSubstatus,
    pub in_process_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub total: Option<Money>,
    /// First mile first.
    pub legs: Span,
    pub last_event: Option<LastEvent>,
    pub risk: Option<Severity>,
    /// The open alerts' reasons, worst first.
    pub alerts: Span,
    pub estimate: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub penalty_points: i64,
}

/// Rows of an export made and written together: their facts, and their texts in one buffer, so
/// that a row's texts are copied once rather than each allocated (and freed) on its own. A batch
/// is cleared and filled again, its buffers kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    texts: String,
    legs: Vec<Leg>,
    alerts: Vec<Why>,
    lines: Vec<PostingLine>,
}

impl Batch {
    /// Keeps `text` for a row of this batch.
    pub fn text(&mut self, text: &str) -> Text {
        let start = self.texts.len();
        self.texts.push_str(text);
        Text(span(start, self.texts.len()))
    }

    /// Keeps a row's legs, `(carrier code, tracking number)` in leg order.
    pub fn legs<'t>(&mut self, legs: impl IntoIterator<Item = (&'t str, &'t str)>) -> Span {
        let start = self.legs.len();
        for (carrier, number) in legs {
            let leg = Leg {
                carrier: self.text(carrier),
                tracking_number: self.text(number),
            };
            self.legs.push(leg);
        }
        span(start, self.legs.len())
    }

    /// Keeps a row's open alerts' reasons, worst first.
    pub fn alerts(&mut self, alerts: impl IntoIterator<Item = Why>) -> Span {
        let start = self.alerts.len();
        self.alerts.extend(alerts);
        span(start, self.alerts.len())
    }

    /// Adds a row whose texts, legs and alerts this batch keeps.
    pub fn push(&mut self, line: PostingLine) {
        self.lines.push(line);
    }

    /// Puts the rows in their postings' order, newest first: they come oldest first from a walk
    /// of a range of ids (turned round, not sorted), with stragglers after.
    pub fn newest_first(&mut self) {
        if self.lines.is_sorted_by_key(|l| l.id) {
            self.lines.reverse();
        } else if !self.lines.is_sorted_by_key(|l| std::cmp::Reverse(l.id)) {
            self.lines.sort_unstable_by_key(|l| std::cmp::Reverse(l.id));
        }
    }

    /// Empties the batch, keeping its buffers for the next.
    pub fn clear(&mut self) {
        self.texts.clear();
        self.legs.clear();
        self.alerts.clear();
        self.lines.clear();
    }

    pub fn lines(&self) -> &[PostingLine] {
        &self.lines
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// A text of this batch's rows ("" for one of another batch's, never a panic).
    pub fn get(&self, text: Text) -> &str {
        self.texts.get(text.0.range()).unwrap_or_default()
    }

    /// A row's legs, first mile first.
    pub fn legs_of(&self, line: &PostingLine) -> &[Leg] {
        self.legs.get(line.legs.range()).unwrap_or_default()
    }

    /// A row's open alerts' reasons, worst first.
    pub fn alerts_of(&self, line: &PostingLine) -> &[Why] {
        self.alerts.get(line.alerts.range()).unwrap_or_default()
    }
}

fn span(start: usize, end: usize) -> Span {
    // A batch holds a page of rows: a few hundred kilobytes of text, thousands of legs and
    // alerts, far below 4 Gi.
    let at = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Span {
        start: at(start),
        end: at(end),
    }
}

/// Turns an export's lines into cells, words in one language and times against one `now`. The
/// words a column repeats row after row (a mode, an Ozon status, a zone's offset) come from the
/// catalogue once per export rather than once per row: Fluent formatting them was most of a
/// row's rendering.
#[derive(Debug, Clone)]
pub struct Rows {
    columns: Vec<Column>,
    tr: Tr,
    now: DateTime<Utc>,
    /// The dashboard's public address (no trailing `/`), for the link column.
    site: Option<String>,
    /// The current row's texts made of parts (its link, carriers, tracking numbers and open
    /// alerts), spelled into one buffer for every row.
    spelled: String,
    modes: HashMap<Scheme, String>,
    /// By status, then sub-status: looked up without cloning either.
    states: HashMap<OzonStatus, HashMap<OzonSubstatus, String>>,
    offsets: HashMap<Tz, String>,
    times: LocalTimes,
}

impl Rows {
    /// Rows of these columns; with the dashboard's public address, the link column links each
    /// posting's page (else it stays empty).
    pub fn new(columns: &[Column], tr: Tr, now: DateTime<Utc>, site: Option<&str>) -> Self {
        Rows {
            columns: columns.to_vec(),
            tr,
            now,
            site: site.map(|s| s.trim_end_matches('/').to_owned()),
            spelled: String::new(),
            modes: HashMap::default(),
            states: HashMap::default(),
            offsets: HashMap::default(),
            times: LocalTimes::default(),
        }
    }

    /// The row's cells for these columns, words in `tr`'s language, times in the store's zone.
    /// Texts borrow from the batch and from the words remembered here.
    pub fn cells<'a>(&'a mut self, batch: &'a Batch, line: &'a PostingLine) -> Vec<Cell<'a>> {
        self.remember(line);
        let parts = self.spell(batch, line);
        let Rows {
            columns,
            tr,
            now,
            site,
            spelled,
            modes,
            states,
            offsets,
            times,
        } = self;
        let (tr, now, spelled) = (&*tr, *now, &**spelled);
        // `remember` has just put the line's words in; "" would only show a bug.
        let word = |w: Option<&'a String>| Cell::text(w.map_or("", String::as_str));
        let text = |t: Text| Cell::text(batch.get(t));
        let mut opt_time = |t: Option<DateTime<Utc>>| {
            t.map_or(Cell::Empty, |t| Cell::Time(times.local(line.zone, t)))
        };
        let part =
            |range: std::ops::Range<usize>| Cell::text(spelled.get(range).unwrap_or_default());
        let number = batch.get(line.number);
        let mut cells = Vec::with_capacity(columns.len());
        for column in columns.iter() {
            cells.push(match column {
                Column::PostingNumber => Cell::text(number),
                Column::OrderNumber => Cell::text(PostingNumber::order_part_of(number)),
                Column::Store => text(line.store),
                Column::Mode => word(modes.get(&line.scheme)),
                Column::Status => word(
                    states
                        .get(&line.status)
                        .and_then(|by_sub| by_sub.get(&line.substatus)),
                ),
                Column::OrderedAt => opt_time(line.in_process_at),
                Column::Carriers => part(parts.carriers.clone()),
                Column::TrackingNumbers => part(parts.tracking_numbers.clone()),
                Column::LastEventAt => opt_time(line.last_event.map(|e| e.at)),
                Column::LastEventPlace => {
                    Cell::opt_text(line.last_event.and_then(|e| e.place).map(|p| batch.get(p)))
                }
                Column::LastEventText => Cell::opt_text(line.last_event.map(|e| batch.get(e.text))),
                Column::TimeZone => word(offsets.get(&line.zone)),
                Column::DaysInTransit => match line.in_process_at {
                    Some(start) => {
                        let end = line.delivered_at.unwrap_or(now).max(start);
                        // Hours to days with one decimal: far inside f64's exact range.
                        #[allow(clippy::cast_precision_loss)]
                        let days = (end - start).num_minutes() as f64 / 1440.0;
                        Cell::Number(days, 1)
                    }
                    None => Cell::Empty,
                },
                Column::Risk => Cell::opt_text(line.risk.map(|s| tr.severity(s))),
                Column::OpenAlerts => part(parts.alerts.clone()),
                Column::EstimateFrom => opt_time(line.estimate.map(|(from, _)| from)),
                Column::EstimateTo => opt_time(line.estimate.map(|(_, to)| to)),
                Column::PenaltyPoints => Cell::Int(line.penalty_points),
                Column::DeliveredAt => opt_time(line.delivered_at),
                Column::Total => line.total.map_or(Cell::Empty, |m| {
                    let exponent = m.currency.exponent();
                    // Kopecks to roubles: exact for every amount a posting can have.
                    #[allow(clippy::cast_precision_loss)]
                    let amount = m.minor as f64 / 10f64.powi(exponent as i32);
                    Cell::Number(amount, u8::try_from(exponent).unwrap_or(2))
                }),
                Column::Currency => Cell::opt_text(line.total.map(|m| m.currency.code())),
                Column::Link => match site {
                    Some(_) => {
                        Cell::Link(spelled.get(parts.link.clone()).unwrap_or_default().into())
                    }
                    None => Cell::Empty,
                },
            });
        }
        cells
    }

    /// Learns the catalogue's words for the line's mode, Ozon status and zone, once each per
    /// export.
    fn remember(&mut self, line: &PostingLine) {
        let tr = &self.tr;
        self.modes
            .entry(line.scheme)
            .or_insert_with(|| tr.mode(line.scheme));
        if !self
            .states
            .get(&line.status)
            .is_some_and(|by_sub| by_sub.contains_key(&line.substatus))
        {
            self.states.entry(line.status.clone()).or_default().insert(
                line.substatus.clone(),
                tr.ozon_state(&line.status, &line.substatus),
            );
        }
        let now = self.now;
        self.offsets
            .entry(line.zone)
            .or_insert_with(|| utc_offset(line.zone, now));
    }

    /// Spells the line's texts made of parts into [`Rows::spelled`], where its cells find them:
    /// one buffer for every row, where strings of their own were up to three allocations a row
    /// (legs joined, when more than one, and open alerts).
    fn spell(&mut self, batch: &Batch, line: &PostingLine) -> Parts {
        let Rows {
            tr, site, spelled, ..
        } = self;
        spelled.clear();
        if let Some(site) = site {
            spelled.push_str(site);
            spelled.push_str("/postings/");
            spelled.push_str(batch.get(line.number));
        }
        let link = 0..spelled.len();
        let legs = batch.legs_of(line);
        let carriers = spelled_with(
            spelled,
            " → ",
            legs.iter().map(|l| tr.carrier_name(batch.get(l.carrier))),
        );
        let tracking_numbers = spelled_with(
            spelled,
            " → ",
            legs.iter().map(|l| batch.get(l.tracking_number)),
        );
        let alerts = spelled_with(
            spelled,
            "; ",
            batch.alerts_of(line).iter().map(|w| tr.why(w, line.zone)),
        );
        Parts {
            link,
            carriers,
            tracking_numbers,
            alerts,
        }
    }
}

/// Where a row's texts made of parts are in [`Rows::spelled`].
struct Parts {
    link: std::ops::Range<usize>,
    carriers: std::ops::Range<usize>,
    tracking_numbers: std::ops::Range<usize>,
    alerts: std::ops::Range<usize>,
}

/// Appends `parts` to `out` with `between` between each two, and says where they went: legs in
/// leg order are `a → b`, open alerts `a; b`.
fn spelled_with(
    out: &mut String,
    between: &str,
    parts: impl Iterator<Item = impl AsRef<str>>,
) -> std::ops::Range<usize> {
    let start = out.len();
    for (i, part) in parts.enumerate() {
        if i > 0 {
            out.push_str(between);
        }
        out.push_str(part.as_ref());
    }
    start..out.len()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone as _;
    use ozontrack_domain::{Currency, Language};

    use super::*;

    #[test]
    fn a_columns_list_is_read_in_its_order_once_each_and_refused_when_unknown_or_empty() {
        assert_eq!(
            Column::parse_list(" store, link,store ").unwrap(),
            vec![Column::Store, Column::Link]
        );
        let Err(Refused {
            option: "columns",
            refusal: Refusal::NotOneOf { value, known },
        }) = Column::parse_list("store,nope")
        else {
            panic!("an unknown column is refused");
        };
        assert_eq!(value, "nope");
        assert_eq!(known.len(), Column::ALL.len());
        assert_eq!(known.first().map(String::as_str), Some("posting_number"));
        assert_eq!(
            Column::parse_list(" , "),
            Err(Refused {
                option: "columns",
                refusal: Refusal::Empty,
            })
        );
    }

    fn line(
        batch: &mut Batch,
        n: u32,
        scheme: Scheme,
        (status, substatus): (&str, &str),
        zone: Tz,
    ) -> PostingLine {
        PostingLine {
            id: i64::from(n),
            number: batch.text(&format!("{:08}-0001-1", 10_000_000 + n)),
            store: batch.text("main"),
            zone,
            scheme,
            status: OzonStatus::parse(status),
            substatus: OzonSubstatus::parse(substatus),
            in_process_at: Some(Utc.with_ymd_and_hms(2026, 11, 1, 9, 30, 0).unwrap()),
            delivered_at: None,
            total: None,
            legs: Span::default(),
            last_event: None,
            risk: None,
            alerts: Span::default(),
            estimate: None,
            penalty_points: 0,
        }
    }

    #[test]
    fn a_batch_keeps_each_rows_texts_legs_and_alerts_apart_and_puts_rows_newest_first() {
        let mut batch = Batch::default();
        for n in [3, 4, 5] {
            let mut row = line(&mut batch, n, Scheme::Fbs, ("delivering", ""), Tz::UTC);
            let n = n.to_string();
            row.legs = batch.legs([("cainiao", n.as_str()), ("cdek", "")]);
            row.alerts = batch.alerts((0..n.len() + 1).map(|_| Why::Legacy(n.clone())));
            row.total = Some(Money::from_minor(100, Currency::Rub));
            batch.push(row);
        }
        // The stragglers read the long way come after the range's walk.
        let straggler = line(&mut batch, 9, Scheme::Fbo, ("delivered", ""), Tz::UTC);
        batch.push(straggler);
        batch.newest_first();
        let ids: Vec<i64> = batch.lines().iter().map(|l| l.id).collect();
        assert_eq!(ids, [9, 5, 4, 3]);
        for line in &batch.lines()[1..] {
            let legs = batch.legs_of(line);
            let numbers: Vec<&str> = legs.iter().map(|l| batch.get(l.tracking_number)).collect();
            assert_eq!(numbers, [line.id.to_string().as_str(), ""]);
            assert_eq!(batch.get(legs[0].carrier), "cainiao");
            assert_eq!(
                batch.alerts_of(line),
                [
                    Why::Legacy(line.id.to_string()),
                    Why::Legacy(line.id.to_string())
                ]
            );
            assert_eq!(batch.get(line.number), format!("1000000{}-0001-1", line.id));
        }
        assert!(batch.legs_of(&batch.lines()[0]).is_empty());
        let capacity = batch.texts.capacity();
        batch.clear();
        assert!(batch.is_empty() && batch.texts.is_empty());
        assert_eq!(batch.texts.capacity(), capacity);
    }

    #[test]
    fn a_text_of_another_batch_reads_as_nothing_rather_than_a_panic() {
        let mut big = Batch::default();
        let far = big.text(&"x".repeat(64));
        let mut small = Batch::default();
        small.text("é");
        assert_eq!(small.get(far), "");
        assert_eq!(small.get(Text(span(1, 2))), "", "inside a character");
    }

    #[test]
    fn a_rows_link_goes_to_its_postings_page_and_stays_empty_without_an_address() {
        let now = Utc.with_ymd_and_hms(2026, 7, 1, 12, 0, 0).unwrap();
        let mut batch = Batch::default();
        for n in [1, 2] {
            let row = line(&mut batch, n, Scheme::Fbs, ("delivering", ""), Tz::UTC);
            batch.push(row);
        }
        let tr = Tr::new(Language::En);
        let columns = [Column::Link, Column::OrderNumber];
        let mut rows = Rows::new(&columns, tr, now, Some("https://track.example.com/"));
        let cells: Vec<Vec<String>> = batch
            .lines()
            .iter()
            .map(|l| {
                let cells = rows.cells(&batch, l);
                assert!(matches!(cells[0], Cell::Link(_)));
                cells.iter().map(|c| c.csv(Profile::En)).collect()
            })
            .collect();
        assert_eq!(
            cells,
            [
                [
                    "https://track.example.com/postings/10000001-0001-1",
                    "10000001-0001"
                ],
                [
                    "https://track.example.com/postings/10000002-0001-1",
                    "10000002-0001"
                ],
            ]
        );
        let mut bare = Rows::new(&columns, tr, now, None);
        assert_eq!(bare.cells(&batch, &batch.lines()[0])[0], Cell::Empty);
    }

    #[test]
    fn parts_are_joined_in_order_after_what_the_buffer_already_holds() {
        let mut out = "link".to_owned();
        let none = spelled_with(&mut out, " → ", std::iter::empty::<&str>());
        let one = spelled_with(&mut out, " → ", ["cdek"].into_iter());
        let three = spelled_with(&mut out, " → ", ["cainiao", "", "cdek"].into_iter());
        assert_eq!(&out[none], "");
        assert_eq!(&out[one], "cdek");
        assert_eq!(&out[three], "cainiao →  → cdek");
    }

    #[test]
    fn a_row_says_its_own_mode_status_and_zone_whatever_rows_came_before_it() {
        let now = Utc.with_ymd_and_hms(2026, 7, 1, 12, 0, 0).unwrap();
        let mut batch = Batch::default();
        for (n, scheme, state, zone) in [
            (
                1,
                Scheme::Fbs,
                ("delivering", ""),
                chrono_tz::Europe::Moscow,
            ),
            (
                2,
                Scheme::Rfbs,
                ("delivering", "posting_in_carriage"),
                chrono_tz::Asia::Shanghai,
            ),
            (
                3,
                Scheme::Fbs,
                ("a_status_ozon_added_later", ""),
                chrono_tz::Europe::Moscow,
            ),
            (
                4,
                Scheme::Fbo,
                ("delivering", ""),
                chrono_tz::America::New_York,
            ),
            (
                5,
                Scheme::Fbs,
                ("delivering", ""),
                chrono_tz::Europe::Moscow,
            ),
        ] {
            let row = line(&mut batch, n, scheme, state, zone);
            batch.push(row);
        }
        let columns = [Column::Mode, Column::Status, Column::TimeZone];
        for language in [Language::Zh, Language::Ru, Language::En] {
            let tr = Tr::new(language);
            let mut rows = Rows::new(&columns, tr, now, None);
            for line in batch.lines() {
                // A renderer that has seen no other row: nothing remembered.
                let mut fresh = Rows::new(&columns, tr, now, None);
                let alone = fresh.cells(&batch, line);
                assert_eq!(rows.cells(&batch, line), alone);
                assert_eq!(
                    alone,
                    vec![
                        Cell::text(tr.mode(line.scheme)),
                        Cell::text(tr.ozon_state(&line.status, &line.substatus)),
                        Cell::text(utc_offset(line.zone, now)),
                    ]
                );
            }
        }
    }
}
