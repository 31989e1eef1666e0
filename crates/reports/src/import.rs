//! The seller office's postings report read back: the FBS and FBO column sets of the office
//! export and of the API report, old names and new, as Ozon writes them and as Excel saves them
//! again (`;` or another separator, BOM or not, quoted or not, CRLF or LF, ISO or Russian dates,
//! cp1251), and as XLSX. Columns are found by header name; one row per product line is folded
//! into one posting; every problem is located by file, line and column, and a file with any
//! problem yields no postings at all.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use chrono_tz::Tz;
use ozontrack_domain::{Currency, Language, Money, OzonStatus, PostingNumber, Product, Scheme};
use ozontrack_i18n::Tr;

use crate::{Refusal, Refused, ReportError};

/// What a report column means; each is found by any of its header names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    PostingNumber,
    InProcessAt,
    ShipBy,
    ShipByWithoutDelay,
    Status,
    DeliveredAt,
    HandedOverAt,
    CancelledAt,
    Amount,
    AmountCurrency,
    ProductName,
    Sku,
    OfferId,
    Price,
    PriceCurrency,
    Quantity,
    City,
    Region,
    Carrier,
}

/// Header names by key: the seller office's and the API report's, current and older (the
/// reference's table); matched without case, BOM, quotes or a `(МСК)` suffix.
const HEADERS: &[(Key, &[&str])] = &[
    (Key::PostingNumber, &["Номер отправления"]),
    (Key::InProcessAt, &["Принят в обработку"]),
    (Key::ShipBy, &["Дата отгрузки"]),
    (Key::ShipByWithoutDelay, &["Дата отгрузки без просрочки"]),
    (Key::Status, &["Статус"]),
    (Key::DeliveredAt, &["Дата доставки"]),
    (Key::HandedOverAt, &["Фактическая дата передачи в доставку"]),
    (Key::CancelledAt, &["Дата отмены"]),
    (Key::Amount, &["Сумма отправления"]),
    (Key::AmountCurrency, &["Код валюты отправления"]),
    (
        Key::ProductName,
        &["Название товара", "Наименование товара"],
    ),
    (Key::Sku, &["SKU", "OZON id"]),
    (Key::OfferId, &["Артикул"]),
    (Key::Price, &["Ваша цена", "Итоговая стоимость товара"]),
    (Key::PriceCurrency, &["Код валюты товара"]),
    (Key::Quantity, &["Количество"]),
    (Key::City, &["Город доставки"]),
    (Key::Region, &["Регион доставки"]),
    (Key::Carrier, &["Перевозчик"]),
];

/// Without these a row says nothing a posting can be made of.
const REQUIRED: &[Key] = &[Key::PostingNumber, Key::InProcessAt, Key::Status];

/// Columns only the FBS report has.
const FBS_ONLY: &[Key] = &[Key::ShipByWithoutDelay, Key::CancelledAt, Key::Carrier];

fn normalize_header(text: &str) -> String {
    let text = text.trim_start_matches('\u{feff}').trim().trim_matches('"');
    let text = text
        .strip_suffix("(МСК)")
        .or_else(|| text.strip_suffix("(MSK)"))
        .unwrap_or(text);
    text.trim().to_lowercase()
}

fn key_of(header: &str) -> Option<Key> {
    let wanted = normalize_header(header);
    HEADERS
        .iter()
        .find(|(_, names)| names.iter().any(|n| n.to_lowercase() == wanted))
        .map(|(k, _)| *k)
}

fn header_name(key: Key) -> &'static str {
    HEADERS
        .iter()
        .find(|(k, _)| *k == key)
        .and_then(|(_, names)| names.first())
        .copied()
        .unwrap_or("?")
}

/// What is wrong, as a fact; the words come from the catalogue (`import-problem-*`), in the
/// reader's language. `text` is the cell as the file has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trouble {
    /// The CSV reader's own words (a library's, not ours).
    NotCsv {
        detail: String,
    },
    NotXlsx {
        detail: String,
    },
    NoSheet,
    SheetUnreadable {
        detail: String,
    },
    /// No header row names this column.
    NotAReport {
        column: &'static str,
    },
    MissingColumns(Vec<&'static str>),
    Empty,
    NotATime {
        text: String,
    },
    /// A local time a clock change skips.
    NoSuchTime {
        text: String,
        zone: String,
    },
    NotAPostingNumber {
        text: String,
    },
    NotACurrency {
        text: String,
    },
    NotAnAmount {
        text: String,
    },
    NotAWholeNumber {
        text: String,
    },
    NotACount {
        text: String,
    },
}

impl Trouble {
    /// The sentence in `tr`'s language.
    pub fn render(&self, tr: &Tr) -> String {
        let text = |id: &str, t: &str| tr.a(id, &[("text", t)]);
        match self {
            Trouble::NotCsv { detail } => tr.a("import-problem-not-csv", &[("detail", detail)]),
            Trouble::NotXlsx { detail } => tr.a("import-problem-not-xlsx", &[("detail", detail)]),
            Trouble::NoSheet => tr.t("import-problem-no-sheet"),
            Trouble::SheetUnreadable { detail } => {
                tr.a("import-problem-sheet", &[("detail", detail)])
            }
            Trouble::NotAReport { column } => {
                tr.a("import-problem-not-a-report", &[("column", column)])
            }
            Trouble::MissingColumns(columns) => tr.a(
                "import-problem-missing-columns",
                &[("columns", &columns.join(", "))],
            ),
            Trouble::Empty => tr.t("import-problem-empty"),
            Trouble::NotATime { text: t } => text("import-problem-not-a-time", t),
            Trouble::NoSuchTime { text: t, zone } => tr.a(
                "import-problem-no-such-time",
                &[("text", t), ("zone", zone)],
            ),
            Trouble::NotAPostingNumber { text: t } => {
                text("import-problem-not-a-posting-number", t)
            }
            Trouble::NotACurrency { text: t } => text("import-problem-not-a-currency", t),
            Trouble::NotAnAmount { text: t } => text("import-problem-not-an-amount", t),
            Trouble::NotAWholeNumber { text: t } => text("import-problem-not-a-whole-number", t),
            Trouble::NotACount { text: t } => text("import-problem-not-a-count", t),
        }
    }
}

/// One problem of a file, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    /// The line (CSV) or row (XLSX), from 1.
    pub line: u64,
    /// The column's header, when the problem is in one cell.
    pub column: Option<String>,
    pub trouble: Trouble,
}

impl Problem {
    /// `file:line: column "…": what is wrong`, in `tr`'s language.
    pub fn render(&self, tr: &Tr) -> String {
        let mut out = format!("{}:{}", self.file, self.line);
        if let Some(column) = &self.column {
            out.push_str(": ");
            out.push_str(&tr.a("import-at-column", &[("column", column)]));
        }
        out.push_str(": ");
        out.push_str(&self.trouble.render(tr));
        out
    }
}

/// In English, for logs and errors that have no reader's language.
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(&Tr::new(Language::En)))
    }
}

/// A posting as the report shows it, its product lines folded in.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportPosting {
    pub number: PostingNumber,
    pub scheme: Scheme,
    pub status: OzonStatus,
    pub in_process_at: DateTime<Utc>,
    pub ship_by: Option<DateTime<Utc>>,
    pub delivering_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// `Сумма отправления`: the posting's amount, given on each of its rows (never summed).
    pub amount: Option<Money>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub products: Vec<Product>,
    /// The first line the posting is on.
    pub line: u64,
}

impl ReportPosting {
    /// The latest moment the report's row speaks of: what the posting's state is as of (a
    /// newer file of the same posting says later things).
    pub fn as_of(&self) -> DateTime<Utc> {
        [self.delivering_at, self.delivered_at, self.cancelled_at]
            .into_iter()
            .flatten()
            .fold(self.in_process_at, DateTime::max)
    }
}

/// A report read whole.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub scheme: Scheme,
    pub postings: Vec<ReportPosting>,
    /// Data rows read (product lines).
    pub rows: u64,
    /// Headers the report has that ozontrack does not read (buyer data among them: never kept).
    pub ignored: Vec<String>,
}

/// How to read a report.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// The zone the report's times are written in (Moscow, as Ozon's office shows them).
    pub zone: Tz,
    /// FBS or FBO; `None` tells them apart by the FBS-only columns.
    pub scheme: Option<Scheme>,
}

impl ReadOptions {
    /// The options as a person gives them: an IANA zone (default Moscow) and `fbs` or `fbo`
    /// (default: told by the columns).
    pub fn parse(zone: Option<&str>, mode: Option<&str>) -> Result<ReadOptions, Refused> {
        let zone = match zone {
            None => chrono_tz::Europe::Moscow,
            Some(z) => z.trim().parse().map_err(|_| Refused {
                option: "zone",
                refusal: Refusal::UnknownZone(z.to_owned()),
            })?,
        };
        let scheme = match mode.map(str::trim) {
            None => None,
            Some("fbs") => Some(Scheme::Fbs),
            Some("fbo") => Some(Scheme::Fbo),
            Some(m) => {
                return Err(Refused {
                    option: "mode",
                    refusal: Refusal::NotOneOf {
                        value: m.to_owned(),
                        known: vec!["fbs".to_owned(), "fbo".to_owned()],
                    },
                });
            }
        };
        Ok(ReadOptions { zone, scheme })
    }
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            zone: chrono_tz::Europe::Moscow,
            scheme: None,
        }
    }
}

/// A cell as a file gives it: text, or (in XLSX) a date or a number.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Text(String),
    Time(NaiveDateTime),
    Number(f64),
}

impl Value {
    fn is_empty(&self) -> bool {
        matches!(self, Value::Text(t) if t.trim().is_empty())
    }
}

/// Reads a postings report; the format is told by its first bytes (XLSX is a zip).
pub fn read_report(file: &str, bytes: &[u8], options: ReadOptions) -> Result<Report, ReportError> {
    let rows = if bytes.starts_with(b"PK\x03\x04") {
        xlsx_rows(file, bytes)?
    } else {
        csv_rows(file, bytes)?
    };
    fold(file, &rows, options)
}

type Rows = Vec<(u64, Vec<Value>)>;

fn single(file: &str, line: u64, trouble: Trouble) -> ReportError {
    ReportError::Problems(vec![Problem {
        file: file.to_owned(),
        line,
        column: None,
        trouble,
    }])
}

fn csv_rows(file: &str, bytes: &[u8]) -> Result<Rows, ReportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // Excel's plain "CSV" save writes the PC's code page: cp1251 on a Russian Windows.
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => encoding_rs::WINDOWS_1251.decode(bytes).0,
    };
    let first = text.lines().next().unwrap_or_default();
    let delimiter = [b';', b'\t', b',']
        .into_iter()
        .max_by_key(|d| first.bytes().filter(|b| b == d).count())
        .unwrap_or(b';');
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, csv::Position::line);
            single(
                file,
                line,
                Trouble::NotCsv {
                    detail: e.to_string(),
                },
            )
        })?;
        let line = record.position().map_or(0, csv::Position::line);
        rows.push((
            line,
            record.iter().map(|f| Value::Text(f.to_owned())).collect(),
        ));
    }
    Ok(rows)
}

fn xlsx_rows(file: &str, bytes: &[u8]) -> Result<Rows, ReportError> {
    use calamine::{Data, Reader as _};
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).map_err(|e| {
        single(
            file,
            0,
            Trouble::NotXlsx {
                detail: e.to_string(),
            },
        )
    })?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| single(file, 0, Trouble::NoSheet))?
        .map_err(|e| {
            single(
                file,
                0,
                Trouble::SheetUnreadable {
                    detail: e.to_string(),
                },
            )
        })?;
    let start = u64::from(range.start().map_or(0, |(row, _)| row));
    let mut rows = Vec::new();
    for (i, row) in range.rows().enumerate() {
        let line = start + i as u64 + 1;
        let values = row
            .iter()
            .map(|cell| match cell {
                Data::String(s) => Value::Text(s.clone()),
                Data::Float(x) => Value::Number(*x),
                Data::Int(n) => Value::Text(n.to_string()),
                Data::Bool(b) => Value::Text(b.to_string()),
                Data::DateTime(d) => d
                    .as_datetime()
                    .map_or_else(|| Value::Text(d.to_string()), Value::Time),
                Data::DateTimeIso(s) | Data::DurationIso(s) => Value::Text(s.clone()),
                Data::Error(_) | Data::Empty => Value::Text(String::new()),
            })
            .collect();
        rows.push((line, values));
    }
    Ok(rows)
}

/// Reads the rows after the header into postings.
fn fold(file: &str, rows: &Rows, options: ReadOptions) -> Result<Report, ReportError> {
    // The header is the first row naming the posting number (an XLSX may have a title above).
    let Some(at) = rows.iter().take(20).position(|(_, values)| {
        values
            .iter()
            .any(|v| matches!(v, Value::Text(t) if key_of(t) == Some(Key::PostingNumber)))
    }) else {
        return Err(single(
            file,
            1,
            Trouble::NotAReport {
                column: header_name(Key::PostingNumber),
            },
        ));
    };
    let (header_line, header) = &rows[at];
    let mut columns: HashMap<Key, (usize, String)> = HashMap::new();
    let mut ignored = Vec::new();
    for (i, value) in header.iter().enumerate() {
        let Value::Text(name) = value else { continue };
        let name = name.trim_start_matches('\u{feff}').trim().to_owned();
        match key_of(&name) {
            Some(key) => {
                columns.entry(key).or_insert((i, name));
            }
            None if !name.is_empty() => ignored.push(name),
            None => {}
        }
    }
    let missing: Vec<&str> = REQUIRED
        .iter()
        .filter(|k| !columns.contains_key(k))
        .map(|k| header_name(*k))
        .collect();
    if !missing.is_empty() {
        return Err(single(file, *header_line, Trouble::MissingColumns(missing)));
    }
    let scheme = options.scheme.unwrap_or_else(|| {
        if FBS_ONLY.iter().any(|k| columns.contains_key(k)) {
            Scheme::Fbs
        } else {
            Scheme::Fbo
        }
    });
    let mut problems = Vec::new();
    let mut postings: Vec<ReportPosting> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut data_rows = 0;
    for (line, values) in &rows[at + 1..] {
        if values.iter().all(Value::is_empty) {
            continue;
        }
        data_rows += 1;
        let mut row = Row {
            file,
            line: *line,
            values,
            columns: &columns,
            zone: options.zone,
            problems: &mut problems,
        };
        let Some(posting) = row.posting(scheme) else {
            continue;
        };
        match index.get(posting.number.as_str()) {
            Some(&i) => {
                let known = &mut postings[i];
                for product in posting.products {
                    let same = |p: &Product| p.sku == product.sku && p.offer_id == product.offer_id;
                    // The same line twice (files cut by period overlap) counts once.
                    if !known.products.iter().any(same) {
                        known.products.push(product);
                    }
                }
            }
            None => {
                index.insert(posting.number.as_str().to_owned(), postings.len());
                postings.push(posting);
            }
        }
    }
    if !problems.is_empty() {
        return Err(ReportError::Problems(problems));
    }
    Ok(Report {
        scheme,
        postings,
        rows: data_rows,
        ignored,
    })
}

/// One data row being read; problems are collected, not returned, so a file's every mistake is
/// told at once.
struct Row<'a> {
    file: &'a str,
    line: u64,
    values: &'a [Value],
    columns: &'a HashMap<Key, (usize, String)>,
    zone: Tz,
    problems: &'a mut Vec<Problem>,
}

impl Row<'_> {
    fn cell(&self, key: Key) -> Option<&Value> {
        let (i, _) = self.columns.get(&key)?;
        self.values.get(*i).filter(|v| !v.is_empty())
    }

    fn text(&self, key: Key) -> Option<String> {
        match self.cell(key)? {
            Value::Text(t) => Some(t.trim().to_owned()),
            Value::Number(x) => Some(number_text(*x)),
            Value::Time(t) => Some(t.to_string()),
        }
    }

    fn problem(&mut self, key: Key, trouble: Trouble) {
        let column = self.columns.get(&key).map(|(_, name)| name.clone());
        self.problems.push(Problem {
            file: self.file.to_owned(),
            line: self.line,
            column,
            trouble,
        });
    }

    fn time(&mut self, key: Key) -> Option<DateTime<Utc>> {
        let local = match self.cell(key)? {
            Value::Time(t) => Some(*t),
            Value::Text(t) => parse_local_time(t.trim()),
            Value::Number(_) => None,
        };
        let Some(local) = local else {
            let text = self.text(key).unwrap_or_default();
            self.problem(key, Trouble::NotATime { text });
            return None;
        };
        // A time skipped or repeated by a clock change reads as its earliest instant.
        let instant = self.zone.from_local_datetime(&local).earliest();
        if instant.is_none() {
            let (text, zone) = (local.to_string(), self.zone.name().to_owned());
            self.problem(key, Trouble::NoSuchTime { text, zone });
        }
        instant.map(|t| t.with_timezone(&Utc))
    }

    fn money(&mut self, key: Key, currency_key: Key) -> Option<Money> {
        let text = self.text(key)?;
        let currency = match self.text(currency_key) {
            Some(code) => match Currency::parse(&code) {
                Ok(c) => c,
                Err(_) => {
                    self.problem(currency_key, Trouble::NotACurrency { text: code });
                    return None;
                }
            },
            None => Currency::Rub,
        };
        match Money::parse_decimal(&decimal_text(&text), currency) {
            Ok(m) => Some(m),
            Err(_) => {
                self.problem(key, Trouble::NotAnAmount { text });
                None
            }
        }
    }

    fn posting(&mut self, scheme: Scheme) -> Option<ReportPosting> {
        let number_text = self.text(Key::PostingNumber);
        let number = match number_text.as_deref().map(PostingNumber::parse) {
            Some(Ok(n)) => Some(n),
            Some(Err(_)) => {
                let text = number_text.unwrap_or_default();
                self.problem(Key::PostingNumber, Trouble::NotAPostingNumber { text });
                None
            }
            None => {
                self.problem(Key::PostingNumber, Trouble::Empty);
                None
            }
        };
        let in_process_at = self.time(Key::InProcessAt);
        if in_process_at.is_none() && self.cell(Key::InProcessAt).is_none() {
            self.problem(Key::InProcessAt, Trouble::Empty);
        }
        let status = match self.text(Key::Status) {
            Some(s) => Some(OzonStatus::from_office_name(&s)),
            None => {
                self.problem(Key::Status, Trouble::Empty);
                None
            }
        };
        let ship_by = self.time(Key::ShipBy);
        let delivering_at = self.time(Key::HandedOverAt);
        let delivered_at = self.time(Key::DeliveredAt);
        let cancelled_at = self.time(Key::CancelledAt);
        let amount = self.money(Key::Amount, Key::AmountCurrency);
        let price = self.money(Key::Price, Key::PriceCurrency);
        let sku = match self.text(Key::Sku) {
            Some(t) => match t.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    self.problem(Key::Sku, Trouble::NotAWholeNumber { text: t });
                    None
                }
            },
            None => None,
        };
        let quantity = match self.text(Key::Quantity) {
            Some(t) => match t.parse::<u32>() {
                Ok(n) => n,
                Err(_) => {
                    self.problem(Key::Quantity, Trouble::NotACount { text: t });
                    0
                }
            },
            None => 1,
        };
        let product = Product {
            sku,
            offer_id: self.text(Key::OfferId).unwrap_or_default(),
            name: self.text(Key::ProductName).unwrap_or_default(),
            quantity,
            price,
        };
        let has_product = product.sku.is_some() || !product.offer_id.is_empty();
        Some(ReportPosting {
            number: number?,
            scheme,
            status: status?,
            in_process_at: in_process_at?,
            ship_by,
            delivering_at,
            delivered_at,
            cancelled_at,
            amount,
            city: self.text(Key::City),
            region: self.text(Key::Region),
            products: if has_product {
                vec![product]
            } else {
                Vec::new()
            },
            line: self.line,
        })
    }
}

/// The date-time spellings the reports are seen with: the raw files' ISO form, Excel's Russian
/// re-save (`01.10.2025 7:26`), with or without seconds, and a bare date.
fn parse_local_time(text: &str) -> Option<NaiveDateTime> {
    const FORMATS: [&str; 6] = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%d.%m.%Y %H:%M:%S",
        "%d.%m.%Y %H:%M",
        "%d.%m.%Y %k:%M",
    ];
    FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| {
            ["%Y-%m-%d", "%d.%m.%Y"]
                .iter()
                .find_map(|f| NaiveDate::parse_from_str(text, f).ok())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
}

/// An amount as Money reads it: a decimal comma (a Russian re-save) becomes a point, spaces
/// and no-break spaces between thousands go.
fn decimal_text(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
        .map(|c| if c == ',' { '.' } else { c })
        .collect()
}

/// A number from an XLSX cell as the text a CSV would have had.
fn number_text(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_and_iso_times_both_read() {
        let t = |s| parse_local_time(s).map(|t| t.to_string());
        assert_eq!(
            t("2025-09-27 21:10:51").as_deref(),
            Some("2025-09-27 21:10:51")
        );
        assert_eq!(t("01.10.2025 7:26").as_deref(), Some("2025-10-01 07:26:00"));
        assert_eq!(
            t("14.09.2025 19:01").as_deref(),
            Some("2025-09-14 19:01:00")
        );
        assert_eq!(t("2025-09-27").as_deref(), Some("2025-09-27 00:00:00"));
        assert_eq!(t("yesterday"), None);
    }

    #[test]
    fn headers_match_old_and_new_names_without_case_bom_or_zone() {
        assert_eq!(key_of("\u{feff}\"Номер заказа\""), None);
        assert_eq!(
            key_of("\u{feff}Номер отправления"),
            Some(Key::PostingNumber)
        );
        assert_eq!(key_of("OZON id"), Some(Key::Sku));
        assert_eq!(key_of("sku"), Some(Key::Sku));
        assert_eq!(key_of("Итоговая стоимость товара"), Some(Key::Price));
        assert_eq!(key_of("Принят в обработку (МСК)"), Some(Key::InProcessAt));
    }

    #[test]
    fn amounts_take_a_comma_or_a_point_and_spaced_thousands() {
        assert_eq!(decimal_text("1 013,32"), "1013.32");
        assert_eq!(decimal_text("750.00"), "750.00");
    }

    #[test]
    fn read_options_refuse_an_unknown_zone_or_mode_naming_the_option() {
        let refused = |zone, mode| ReadOptions::parse(zone, mode).unwrap_err();
        assert_eq!(
            refused(Some("Mars/Olympus"), None),
            Refused {
                option: "zone",
                refusal: Refusal::UnknownZone("Mars/Olympus".into()),
            }
        );
        assert_eq!(
            refused(None, Some("rfbs")),
            Refused {
                option: "mode",
                refusal: Refusal::NotOneOf {
                    value: "rfbs".into(),
                    known: vec!["fbs".into(), "fbo".into()],
                },
            }
        );
        let options = ReadOptions::parse(Some(" Asia/Shanghai "), Some("fbo")).unwrap();
        assert_eq!(
            (options.zone, options.scheme),
            (chrono_tz::Asia::Shanghai, Some(Scheme::Fbo))
        );
    }
}
