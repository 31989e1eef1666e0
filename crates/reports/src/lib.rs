//! ozontrack's file formats, and nothing else: no data is fetched here. The engine streams
//! rows in; these modules turn them into files a seller's Excel and accountant expect, and read
//! the seller office's postings report back.
//!
//! - [`cell`]: typed cells and the Excel profiles (`ru`: `;` and a decimal comma; `zh`/`en`:
//!   `,` and a point), formula injection neutralised in every text cell.
//! - [`sheet`]: the CSV writer (BOM, CRLF, all cells quoted).
//! - [`xlsx`]: the XLSX writer (typed cells, frozen header, widths, constant memory).
//! - [`output`]: the file on disk, renamed into place only when complete, optionally cut into
//!   parts of N rows in one zip.
//! - [`postings`]: the postings export's columns, headers in three languages, and rows.
//! - `zone`: wall-clock times in a store's zone, each hour's offset looked up once.
//! - [`import`]: the Ozon postings report (FBS/FBO, office and API column sets, CSV or XLSX)
//!   read into postings with their product lines.

pub mod cell;
pub mod import;
pub mod output;
pub mod postings;
pub mod sheet;
pub mod xlsx;
mod zone;

pub use cell::{Cell, Profile};
pub use import::{Problem, ReadOptions, Report, ReportPosting, Trouble, read_report};
pub use output::{AtomicFile, ExportFile, Layout};
pub use postings::{Batch, Column, LastEvent, Leg, PostingLine, Rows, Span, Text};
pub use sheet::{CsvSheet, FileFormat};
pub use xlsx::XlsxSheet;

/// An option a person gave (a `--columns` list, an import's zone or mode) that a file cannot be
/// made or read with: the option and why, as facts; the engine words them like its own refusals.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{option}: {refusal}")]
pub struct Refused {
    pub option: &'static str,
    pub refusal: Refusal,
}

/// Why an option is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("cannot be empty")]
    Empty,
    /// Not one of the values the option takes; `known` lists them.
    #[error("{value:?} is not one of: {}", known.join(", "))]
    NotOneOf { value: String, known: Vec<String> },
    #[error("unknown IANA time zone {0:?}")]
    UnknownZone(String),
}

/// What can go wrong writing or reading a file.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A report with problems, every one located; nothing of it is to be used.
    #[error("{} problem(s), the first: {}", .0.len(), .0.first().map(ToString::to_string).unwrap_or_default())]
    Problems(Vec<Problem>),
    #[error("cannot write the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot write the CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("cannot write the zip: {0}")]
    Zip(#[from] zip::result::ZipError),
}
