//! The postings export's columns and rows: what a seller's spreadsheet says of each posting,
//! headers and words in the reader's language, values typed until the writer.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use foldhash::HashMap;
use ozontrack_domain::finding::{Severity, Why};
use ozontrack_domain::{OzonStatus, OzonSubstatus, Posting, Scheme};
use ozontrack_i18n::{Tr, utc_offset};

use crate::cell::{Cell, Profile};
use crate::{FileFormat, Layout, ReportError};

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
    pub fn parse_list(text: &str) -> Result<Vec<Column>, ReportError> {
        let mut columns = Vec::new();
        for key in text.split(',').map(str::trim).filter(|k| !k.is_empty()) {
            let column = Column::ALL
                .iter()
                .copied()
                .find(|c| c.key() == key)
                .ok_or_else(|| {
                    let known: Vec<&str> = Column::ALL.iter().map(|c| c.key()).collect();
                    ReportError::Invalid(format!(
                        "columns: {key:?} is not a column; the columns are {}",
                        known.join(", ")
                    ))
                })?;
            if !columns.contains(&column) {
                columns.push(column);
            }
        }
        if columns.is_empty() {
            return Err(ReportError::Invalid("columns: name at least one".into()));
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
    split: Option<u64>,
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

/// The latest event of any of a posting's legs.
#[derive(Debug, Clone, PartialEq)]
pub struct LastEvent {
    pub at: DateTime<Utc>,
    pub place: Option<String>,
    /// The carrier's own words.
    pub text: String,
}

/// Everything one row says of a posting, as facts.
#[derive(Debug, Clone, PartialEq)]
pub struct PostingLine {
    pub posting: Posting,
    /// Shared by every row of the store.
    pub store: std::sync::Arc<str>,
    /// The store's zone: every time in the row is in it, and the row says which.
    pub zone: Tz,
    /// `(carrier code, tracking number)`, first mile first.
    pub legs: Vec<(String, String)>,
    pub last_event: Option<LastEvent>,
    pub risk: Option<Severity>,
    /// The open alerts' reasons, worst first.
    pub alerts: Vec<Why>,
    pub estimate: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub penalty_points: i64,
    /// The posting's page on the dashboard, when ozontrack knows its public address.
    pub link: Option<String>,
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
    modes: HashMap<Scheme, String>,
    /// By status, then sub-status: looked up without cloning either.
    states: HashMap<OzonStatus, HashMap<OzonSubstatus, String>>,
    offsets: HashMap<Tz, String>,
}

impl Rows {
    pub fn new(columns: &[Column], tr: Tr, now: DateTime<Utc>) -> Self {
        Rows {
            columns: columns.to_vec(),
            tr,
            now,
            modes: HashMap::default(),
            states: HashMap::default(),
            offsets: HashMap::default(),
        }
    }

    /// The row's cells for these columns, words in `tr`'s language, times in the store's zone.
    /// Texts borrow from the line and from the words remembered here.
    pub fn cells<'a>(&'a mut self, line: &'a PostingLine) -> Vec<Cell<'a>> {
        self.remember(line);
        let Rows {
            columns,
            tr,
            now,
            modes,
            states,
            offsets,
        } = self;
        let (tr, now) = (&*tr, *now);
        // `remember` has just put the line's words in; "" would only show a bug.
        let word = |w: Option<&'a String>| Cell::text(w.map_or("", String::as_str));
        let p = &line.posting;
        let local = |t: DateTime<Utc>| Cell::Time(t.with_timezone(&line.zone).naive_local());
        let opt_time = |t: Option<DateTime<Utc>>| t.map_or(Cell::Empty, local);
        let mut cells = Vec::with_capacity(columns.len());
        for column in columns.iter() {
            cells.push(match column {
                Column::PostingNumber => Cell::text(p.number.as_str()),
                Column::OrderNumber => Cell::text(p.number.order_part()),
                Column::Store => Cell::text(&*line.store),
                Column::Mode => word(modes.get(&p.scheme)),
                Column::Status => word(
                    states
                        .get(&p.status)
                        .and_then(|by_sub| by_sub.get(&p.substatus)),
                ),
                Column::OrderedAt => opt_time(p.in_process_at),
                Column::Carriers => {
                    Cell::text(joined(line.legs.iter().map(|(c, _)| tr.carrier_name(c))))
                }
                Column::TrackingNumbers => {
                    Cell::text(joined(line.legs.iter().map(|(_, n)| n.as_str())))
                }
                Column::LastEventAt => opt_time(line.last_event.as_ref().map(|e| e.at)),
                Column::LastEventPlace => {
                    Cell::opt_text(line.last_event.as_ref().and_then(|e| e.place.as_deref()))
                }
                Column::LastEventText => {
                    Cell::opt_text(line.last_event.as_ref().map(|e| e.text.as_str()))
                }
                Column::TimeZone => word(offsets.get(&line.zone)),
                Column::DaysInTransit => match p.in_process_at {
                    Some(start) => {
                        let end = p.delivered_at.unwrap_or(now).max(start);
                        // Hours to days with one decimal: far inside f64's exact range.
                        #[allow(clippy::cast_precision_loss)]
                        let days = (end - start).num_minutes() as f64 / 1440.0;
                        Cell::Number(days, 1)
                    }
                    None => Cell::Empty,
                },
                Column::Risk => Cell::opt_text(line.risk.map(|s| tr.severity(s))),
                Column::OpenAlerts => Cell::text(
                    line.alerts
                        .iter()
                        .map(|w| tr.why(w, line.zone))
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
                Column::EstimateFrom => opt_time(line.estimate.map(|(from, _)| from)),
                Column::EstimateTo => opt_time(line.estimate.map(|(_, to)| to)),
                Column::PenaltyPoints => Cell::Int(line.penalty_points),
                Column::DeliveredAt => opt_time(p.delivered_at),
                Column::Total => p.total.map_or(Cell::Empty, |m| {
                    let exponent = m.currency.exponent();
                    // Kopecks to roubles: exact for every amount a posting can have.
                    #[allow(clippy::cast_precision_loss)]
                    let amount = m.minor as f64 / 10f64.powi(exponent as i32);
                    Cell::Number(amount, u8::try_from(exponent).unwrap_or(2))
                }),
                Column::Currency => Cell::opt_text(p.total.map(|m| m.currency.code())),
                Column::Link => line
                    .link
                    .as_deref()
                    .map_or(Cell::Empty, |link| Cell::Link(link.into())),
            });
        }
        cells
    }

    /// Learns the catalogue's words for the line's mode, Ozon status and zone, once each per
    /// export.
    fn remember(&mut self, line: &PostingLine) {
        let (tr, p) = (&self.tr, &line.posting);
        self.modes
            .entry(p.scheme)
            .or_insert_with(|| tr.mode(p.scheme));
        if !self
            .states
            .get(&p.status)
            .is_some_and(|by_sub| by_sub.contains_key(&p.substatus))
        {
            self.states
                .entry(p.status.clone())
                .or_default()
                .insert(p.substatus.clone(), tr.ozon_state(&p.status, &p.substatus));
        }
        let now = self.now;
        self.offsets
            .entry(line.zone)
            .or_insert_with(|| utc_offset(line.zone, now));
    }
}

/// Parts in leg order, `a → b`; a single part is borrowed as it is.
fn joined<'a>(parts: impl Iterator<Item = &'a str>) -> Cow<'a, str> {
    let mut all = Cow::Borrowed("");
    for (i, part) in parts.enumerate() {
        if i == 0 {
            all = Cow::Borrowed(part);
        } else {
            let all = all.to_mut();
            all.push_str(" → ");
            all.push_str(part);
        }
    }
    all
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone as _;
    use ozontrack_domain::{Language, PostingNumber, StoreId};

    use super::*;

    fn line(n: u32, scheme: Scheme, status: &str, substatus: &str, zone: Tz) -> PostingLine {
        let mut posting = Posting::new(
            StoreId(1),
            PostingNumber::parse(&format!("{:08}-0001-1", 10_000_000 + n)).unwrap(),
            scheme,
            OzonStatus::parse(status),
        );
        posting.substatus = OzonSubstatus::parse(substatus);
        posting.in_process_at = Some(Utc.with_ymd_and_hms(2026, 11, 1, 9, 30, 0).unwrap());
        PostingLine {
            posting,
            store: "main".into(),
            zone,
            legs: Vec::new(),
            last_event: None,
            risk: None,
            alerts: Vec::new(),
            estimate: None,
            penalty_points: 0,
            link: None,
        }
    }

    #[test]
    fn legs_are_joined_in_order_and_a_single_leg_is_borrowed() {
        assert_eq!(joined([].into_iter()), "");
        assert!(matches!(
            joined(["cdek"].into_iter()),
            Cow::Borrowed("cdek")
        ));
        assert_eq!(
            joined(["cainiao", "", "cdek"].into_iter()),
            "cainiao →  → cdek"
        );
    }

    #[test]
    fn a_row_says_its_own_mode_status_and_zone_whatever_rows_came_before_it() {
        let now = Utc.with_ymd_and_hms(2026, 7, 1, 12, 0, 0).unwrap();
        let lines = [
            line(1, Scheme::Fbs, "delivering", "", chrono_tz::Europe::Moscow),
            line(
                2,
                Scheme::Rfbs,
                "delivering",
                "posting_in_carriage",
                chrono_tz::Asia::Shanghai,
            ),
            line(
                3,
                Scheme::Fbs,
                "a_status_ozon_added_later",
                "",
                chrono_tz::Europe::Moscow,
            ),
            line(
                4,
                Scheme::Fbo,
                "delivering",
                "",
                chrono_tz::America::New_York,
            ),
            line(5, Scheme::Fbs, "delivering", "", chrono_tz::Europe::Moscow),
        ];
        let columns = [Column::Mode, Column::Status, Column::TimeZone];
        for language in [Language::Zh, Language::Ru, Language::En] {
            let tr = Tr::new(language);
            let mut rows = Rows::new(&columns, tr, now);
            for line in &lines {
                // A renderer that has seen no other row: nothing remembered.
                let mut fresh = Rows::new(&columns, tr, now);
                let alone = fresh.cells(line);
                assert_eq!(rows.cells(line), alone);
                assert_eq!(
                    alone,
                    vec![
                        Cell::text(tr.mode(line.posting.scheme)),
                        Cell::text(tr.ozon_state(&line.posting.status, &line.posting.substatus)),
                        Cell::text(utc_offset(line.zone, now)),
                    ]
                );
            }
        }
    }
}
