//! The postings export's columns and rows: what a seller's spreadsheet says of each posting,
//! headers and words in the reader's language, values typed until the writer.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use ozontrack_domain::Posting;
use ozontrack_domain::finding::{Severity, Why};
use ozontrack_i18n::{Tr, utc_offset};

use crate::ReportError;
use crate::cell::Cell;

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

    /// The column's header in a language.
    pub fn header(self, tr: &Tr) -> String {
        tr.t(self.header_id())
    }
}

/// The headers of these columns.
pub fn header(columns: &[Column], tr: &Tr) -> Vec<String> {
    columns.iter().map(|c| c.header(tr)).collect()
}

/// The XLSX widths of these columns.
pub fn widths(columns: &[Column]) -> Vec<f64> {
    columns.iter().map(|c| c.width()).collect()
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
    pub store: String,
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

impl PostingLine {
    /// The row's cells for these columns, words in `tr`'s language, times in the store's zone.
    pub fn cells(&self, columns: &[Column], tr: &Tr, now: DateTime<Utc>) -> Vec<Cell> {
        let p = &self.posting;
        let local = |t: DateTime<Utc>| Cell::Time(t.with_timezone(&self.zone).naive_local());
        let opt_time = |t: Option<DateTime<Utc>>| t.map_or(Cell::Empty, local);
        columns
            .iter()
            .map(|column| match column {
                Column::PostingNumber => Cell::text(p.number.as_str()),
                Column::OrderNumber => Cell::text(p.number.order_number().as_str()),
                Column::Store => Cell::text(self.store.as_str()),
                Column::Mode => Cell::text(tr.mode(p.scheme)),
                Column::Status => Cell::text(tr.ozon_state(&p.status, &p.substatus)),
                Column::OrderedAt => opt_time(p.in_process_at),
                Column::Carriers => Cell::text(
                    self.legs
                        .iter()
                        .map(|(c, _)| tr.carrier(c))
                        .collect::<Vec<_>>()
                        .join(" → "),
                ),
                Column::TrackingNumbers => Cell::text(
                    self.legs
                        .iter()
                        .map(|(_, n)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(" → "),
                ),
                Column::LastEventAt => opt_time(self.last_event.as_ref().map(|e| e.at)),
                Column::LastEventPlace => {
                    Cell::opt_text(self.last_event.as_ref().and_then(|e| e.place.clone()))
                }
                Column::LastEventText => {
                    Cell::opt_text(self.last_event.as_ref().map(|e| e.text.clone()))
                }
                Column::TimeZone => Cell::text(utc_offset(self.zone, now)),
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
                Column::Risk => Cell::opt_text(self.risk.map(|s| tr.severity(s))),
                Column::OpenAlerts => Cell::text(
                    self.alerts
                        .iter()
                        .map(|w| tr.why(w, self.zone))
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
                Column::EstimateFrom => opt_time(self.estimate.map(|(from, _)| from)),
                Column::EstimateTo => opt_time(self.estimate.map(|(_, to)| to)),
                Column::PenaltyPoints => Cell::Int(self.penalty_points),
                Column::DeliveredAt => opt_time(p.delivered_at),
                Column::Total => p.total.map_or(Cell::Empty, |m| {
                    let exponent = m.currency.exponent();
                    // Kopecks to roubles: exact for every amount a posting can have.
                    #[allow(clippy::cast_precision_loss)]
                    let amount = m.minor as f64 / 10f64.powi(exponent as i32);
                    Cell::Number(amount, u8::try_from(exponent).unwrap_or(2))
                }),
                Column::Currency => Cell::opt_text(p.total.map(|m| m.currency.code())),
                Column::Link => self.link.clone().map_or(Cell::Empty, Cell::Link),
            })
            .collect()
    }
}
