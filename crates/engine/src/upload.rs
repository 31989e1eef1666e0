//! Uploading tracking numbers to Ozon from a seller's CSV: parse the file (every problem
//! located by line and column), check each row against what we know of the posting, then send
//! the good rows 20 per call and keep Ozon's answer for every row.

use chrono::{DateTime, Utc};
use ozontrack_db::{Database, StoreRecord};
use ozontrack_domain::{PostingNumber, StoreId, TrackingNumber, carrier};
use ozontrack_ozon::{OzonClient, TRACKING_BATCH};

use crate::sync::{SyncError, Syncer};

/// One row of the input, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRow {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    pub posting_number: String,
    pub tracking_number: String,
}

/// A problem with one place in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    pub line: u64,
    /// The column's name (`posting_number`, `tracking_number`) or `row`.
    pub column: String,
    pub message: String,
}

impl std::fmt::Display for RowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, {}: {}", self.line, self.column, self.message)
    }
}

/// Why a file could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error(
        "line 1: the file must start with the header posting_number,tracking_number (found {0:?})"
    )]
    Header(String),
    #[error("the file is not UTF-8 text (line {line})")]
    Encoding { line: u64 },
    #[error("the file has no rows after the header")]
    Empty,
}

const COLUMNS: [&str; 2] = ["posting_number", "tracking_number"];

/// Reads the file: a header naming both columns (in any order, extra columns ignored), `,` or
/// `;` as delimiter (from the header), UTF-8 with or without a BOM. Rows that cannot be read
/// come back as problems beside the rows that can.
pub fn parse_csv(bytes: &[u8]) -> Result<(Vec<UploadRow>, Vec<RowProblem>), CsvError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64
            + 1;
        CsvError::Encoding { line }
    })?;
    let header = text.lines().next().unwrap_or("");
    let delimiter = if header.contains(';') && !header.contains(',') {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|_| CsvError::Header(header.to_owned()))?
        .clone();
    let position = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let (Some(posting_at), Some(tracking_at)) = (position(COLUMNS[0]), position(COLUMNS[1])) else {
        return Err(CsvError::Header(header.to_owned()));
    };
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                problems.push(RowProblem {
                    line,
                    column: "row".into(),
                    message: e.to_string(),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let field = |at: usize| record.get(at).unwrap_or("").to_owned();
        let row = UploadRow {
            line,
            posting_number: field(posting_at),
            tracking_number: field(tracking_at),
        };
        for (column, value) in COLUMNS
            .iter()
            .zip([&row.posting_number, &row.tracking_number])
        {
            if value.is_empty() {
                problems.push(RowProblem {
                    line,
                    column: (*column).into(),
                    message: "is empty".into(),
                });
            }
        }
        rows.push(row);
    }
    if rows.is_empty() && problems.is_empty() {
        return Err(CsvError::Empty);
    }
    Ok((rows, problems))
}

/// A row that passed every local check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedRow {
    pub line: u64,
    pub posting: PostingNumber,
    pub tracking: TrackingNumber,
}

/// Rows checked against the store: those that may be sent, those that may not and why, and
/// doubts about rows that are sent anyway.
#[derive(Debug, Default)]
pub struct Checked {
    pub good: Vec<CheckedRow>,
    pub problems: Vec<RowProblem>,
    pub warnings: Vec<RowProblem>,
}

/// Checks rows against the store: numbers parse, the posting is this store's and not FBO, the
/// tracking number is plausible for its delivery method, and no posting appears twice.
pub async fn check_rows<D: Database>(
    db: &D,
    store_id: StoreId,
    rows: &[UploadRow],
) -> Result<Checked, SyncError> {
    let mut good = Vec::new();
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for row in rows {
        let problem = |column: &str, message: String| RowProblem {
            line: row.line,
            column: column.into(),
            message,
        };
        if row.posting_number.is_empty() || row.tracking_number.is_empty() {
            continue; // already reported by the parser
        }
        let posting = match PostingNumber::parse(&row.posting_number) {
            Ok(p) => p,
            Err(e) => {
                problems.push(problem("posting_number", e.to_string()));
                continue;
            }
        };
        let tracking = match TrackingNumber::parse(&row.tracking_number) {
            Ok(t) => t,
            Err(e) => {
                problems.push(problem("tracking_number", e.to_string()));
                continue;
            }
        };
        if let Some(first) = seen.insert(posting.as_str().to_owned(), row.line) {
            problems.push(problem(
                "posting_number",
                format!("{posting} is already on line {first}"),
            ));
            continue;
        }
        let Some(record) = db.posting(store_id, &posting).await? else {
            problems.push(problem(
                "posting_number",
                format!("{posting} is not a posting of this store (run `ozontrack sync` first?)"),
            ));
            continue;
        };
        if record.posting.scheme == ozontrack_domain::Scheme::Fbo {
            problems.push(problem(
                "posting_number",
                format!("{posting} is FBO: Ozon ships it and sets its tracking"),
            ));
            continue;
        }
        if let Err(why) =
            carrier::check_plausible(record.posting.delivery_method.as_ref(), &tracking)
        {
            problems.push(problem("tracking_number", format!("{tracking}: {why}")));
            continue;
        }
        if let Some(doubt) = carrier::plausibility_warning(&tracking) {
            warnings.push(problem("tracking_number", format!("{tracking}: {doubt}")));
        }
        good.push(CheckedRow {
            line: row.line,
            posting,
            tracking,
        });
    }
    Ok(Checked {
        good,
        problems,
        warnings,
    })
}

/// Ozon's answer for one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowResult {
    pub line: u64,
    pub posting: String,
    pub tracking: String,
    pub ok: bool,
    /// Ozon's error code, or why the call failed.
    pub error: String,
}

/// Sends the rows [`TRACKING_BATCH`] at a time. A failed call marks its rows failed with the
/// reason and the upload goes on; setting the same number again later is harmless.
pub async fn send(
    client: &OzonClient,
    rows: &[CheckedRow],
    mut on_batch: impl FnMut(usize),
) -> Vec<RowResult> {
    let mut results = Vec::with_capacity(rows.len());
    for batch in rows.chunks(TRACKING_BATCH) {
        let pairs: Vec<(PostingNumber, TrackingNumber)> = batch
            .iter()
            .map(|r| (r.posting.clone(), r.tracking.clone()))
            .collect();
        let answer = client.set_tracking_numbers(&pairs).await;
        for row in batch {
            let (ok, error) = match &answer {
                Ok(items) => items
                    .iter()
                    .find(|i| i.posting_number == row.posting.as_str())
                    .map_or(
                        (false, "Ozon did not answer for this posting".into()),
                        |i| (i.result, i.error.clone()),
                    ),
                Err(e) => (false, e.to_string()),
            };
            results.push(RowResult {
                line: row.line,
                posting: row.posting.as_str().to_owned(),
                tracking: row.tracking.as_str().to_owned(),
                ok,
                error,
            });
        }
        on_batch(batch.len());
    }
    results
}

/// How an upload goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UploadOptions {
    /// Check every row, send nothing.
    pub dry_run: bool,
    /// Send the valid rows even when others are invalid.
    pub skip_invalid: bool,
}

/// What an upload did: every row checked, the problems of those that could not be sent, and
/// Ozon's answer for each row sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadReport {
    pub rows: usize,
    pub valid: usize,
    pub problems: Vec<RowProblem>,
    /// Doubts about rows that were sent anyway (a check digit of a post off the routes).
    pub warnings: Vec<RowProblem>,
    pub results: Vec<RowResult>,
    pub dry_run: bool,
}

impl UploadReport {
    pub fn accepted(&self) -> usize {
        self.results.iter().filter(|r| r.ok).count()
    }
}

/// Why an upload sent nothing.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The file cannot be read as a CSV of tracking numbers at all.
    #[error(transparent)]
    Unreadable(#[from] CsvError),
    /// Some rows are invalid and `skip_invalid` was not asked for: every problem, located.
    #[error("{} invalid row(s), nothing was sent", problems.len())]
    InvalidRows {
        problems: Vec<RowProblem>,
        valid: usize,
    },
    #[error(transparent)]
    Failed(#[from] crate::Error),
}

/// Checks the CSV `bytes` for `store`'s postings and, unless told not to, sends the valid rows to
/// Ozon through `syncer`'s client for the store, 20 per call. Nothing is sent while any row is
/// invalid unless `skip_invalid`.
pub async fn upload<D: Database>(
    db: &D,
    syncer: Option<&Syncer<D>>,
    store: &StoreRecord,
    bytes: &[u8],
    options: UploadOptions,
    actor: &crate::Actor,
    now: DateTime<Utc>,
) -> Result<UploadReport, UploadError> {
    let (rows, mut problems) = parse_csv(bytes)?;
    let Checked {
        good,
        problems: more,
        warnings,
    } = check_rows(db, store.id, &rows)
        .await
        .map_err(crate::Error::from)?;
    problems.extend(more);
    problems.sort_by_key(|p| p.line);
    if !problems.is_empty() && !options.skip_invalid {
        return Err(UploadError::InvalidRows {
            problems,
            valid: good.len(),
        });
    }
    let results = if options.dry_run {
        Vec::new()
    } else {
        let syncer = syncer.ok_or(crate::Error::Unavailable(
            "this process does not send to Ozon",
        ))?;
        let client = syncer.client(store).await.map_err(crate::Error::from)?;
        let results = send(&client, &good, |_| {}).await;
        crate::audit::Entry::new(actor, ozontrack_domain::AuditAction::TrackingUploaded, now)
            .store(store)
            .detail(serde_json::json!({"rows": rows.len(), "sent": results.len()}))
            .record(db)
            .await;
        results
    };
    Ok(UploadReport {
        rows: rows.len(),
        valid: good.len(),
        problems,
        warnings,
        results,
        dry_run: options.dry_run,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_with_a_bom_and_semicolons_reads_like_any_other() {
        let (rows, problems) = parse_csv(
            "\u{feff}posting_number;tracking_number\n1234-0001-1;UG123456789YP\n".as_bytes(),
        )
        .unwrap();
        assert!(problems.is_empty());
        assert_eq!(
            rows,
            [UploadRow {
                line: 2,
                posting_number: "1234-0001-1".into(),
                tracking_number: "UG123456789YP".into()
            }]
        );
    }

    #[test]
    fn a_missing_header_is_refused_on_line_one() {
        let err = parse_csv(b"1234-0001-1,UG123456789YP\n").unwrap_err();
        assert!(err.to_string().starts_with("line 1"), "{err}");
    }

    #[test]
    fn an_empty_cell_is_reported_with_its_line_and_column() {
        let (_, problems) =
            parse_csv(b"tracking_number,posting_number\nUG1,1234-0001-1\n,1234-0002-1\n").unwrap();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].to_string(), "line 3, tracking_number: is empty");
    }

    #[test]
    fn text_that_is_not_utf8_names_its_line() {
        let err = parse_csv(b"posting_number,tracking_number\n1-1-1,\xff\n").unwrap_err();
        assert_eq!(err, CsvError::Encoding { line: 2 });
    }
}
