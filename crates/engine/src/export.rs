//! Exports: every posting a filter matches, out to a spreadsheet with no row limit. Postings
//! are read in pages by id, each posting from its export line (kept current by the
//! [`LineWorker`], with the blocks of lines an export by store alone reads) or, when a change
//! of it waits, the long way; turned into typed lines here while the next page is read, and
//! written by `reports` on a blocking thread, so memory stays flat and the database, this task
//! and the writer work at the same time.

use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use foldhash::HashMap;
use ozontrack_db::{
    Chore, Database, DbError, ExportPageRead, LeaseOwner, PostingQuery, RecordView, StoreRecord,
};
use ozontrack_domain::finding::Severity;
use ozontrack_domain::{CarrierCode, Clock, Language, Scheme, StoreId, carrier};
use ozontrack_i18n::Tr;
use ozontrack_reports::postings::{header, layout};
use ozontrack_reports::{
    Batch, Column, CsvSheet, ExportFile, FileFormat, LastEvent, PostingLine, Profile, ReportError,
    Rows,
};
use tokio::sync::mpsc;

use crate::estimate::{EstimateBook, Estimator, UnderWay, under_way};
use crate::{Error, Problem};

/// Postings read per page of lines (an export with filters beyond its stores; one by store alone
/// reads pages of blocks, see `ozontrack_db::Views::read_export_page`): large enough that a
/// page's query (one aggregated row of lines) costs little per posting, small enough that a page
/// is a few megabytes.
pub const BATCH: u32 = 2000;

/// The postings list's filters as a person gives them (the API's query, the dashboard's form,
/// the command line): checked once, into a database query.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub status: Option<String>,
    pub mode: Option<Scheme>,
    pub carrier: Option<String>,
    pub risk: Option<Severity>,
    /// A date (`2026-11-01`) or an RFC 3339 time.
    pub from: Option<String>,
    pub to: Option<String>,
    pub text: Option<String>,
}

impl Filters {
    /// The query within `stores` (the caller's scope, a store filter already applied).
    pub fn query(&self, stores: Vec<StoreId>) -> Result<PostingQuery, Error> {
        if let Some(code) = &self.carrier {
            let known = CarrierCode::parse(code).ok().is_some_and(|c| {
                carrier::by_code(c.as_str()).is_some() || c.as_str() == carrier::UNKNOWN_CARRIER
            });
            if !known {
                return Err(Error::invalid(
                    "carrier",
                    Problem::not_one_of(
                        code.as_str(),
                        carrier::CARRIERS
                            .iter()
                            .map(|c| c.code)
                            .chain([carrier::UNKNOWN_CARRIER]),
                    ),
                ));
            }
        }
        for (field, text) in [("status", &self.status), ("q", &self.text)] {
            if text.as_deref().is_some_and(|t| t.chars().count() > 64) {
                return Err(Error::invalid(field, Problem::TooLong { max: 64 }));
            }
        }
        Ok(PostingQuery {
            stores,
            status: self.status.clone(),
            scheme: self.mode,
            carrier: self.carrier.clone(),
            min_risk: self.risk,
            from: self
                .from
                .as_deref()
                .map(|t| day_or_time("from", t))
                .transpose()?,
            to: self
                .to
                .as_deref()
                .map(|t| day_or_time("to", t))
                .transpose()?,
            text: self.text.clone(),
            before: None,
            limit: 0,
        })
    }
}

/// A date (its midnight in UTC) or an RFC 3339 time.
pub fn day_or_time(field: &'static str, text: &str) -> Result<DateTime<Utc>, Error> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        })
        .map_err(|_| Error::invalid(field, Problem::DateOrTime(text.to_owned())))
}

/// What to export and how it reads.
#[derive(Debug, Clone)]
pub struct ExportSpec {
    /// The postings list's filters (its `before` and `limit` are the exporter's own).
    pub query: PostingQuery,
    pub columns: Vec<Column>,
    pub language: Language,
    /// The dashboard's public address, for the link column.
    pub public_url: Option<String>,
}

impl ExportSpec {
    /// What turns the export's lines into its cells.
    pub fn rows(&self, now: DateTime<Utc>) -> Rows {
        Rows::new(
            &self.columns,
            Tr::new(self.language),
            now,
            self.public_url.as_deref(),
        )
    }
}

/// Reads an export's postings page after page, newest first.
#[derive(Debug)]
pub struct Exporter<D> {
    db: D,
    query: PostingQuery,
    /// Each store's name and zone.
    stores: HashMap<StoreId, (String, Tz)>,
    estimates: Option<Arc<EstimateBook>>,
    /// The pages read ahead by the task that queries them, from the first `next_batch` on;
    /// closed once it has handed over the last page (or an error).
    pages: Option<mpsc::Receiver<Result<ExportPageRead, DbError>>>,
}

/// Pages read ahead of the one being decoded: one query runs while a page is decoded and the
/// page before is written, and at most this many wait besides (a few megabytes each); as many
/// decoded batches may wait for the writer.
const PAGES_AHEAD: usize = 3;

impl<D: Database> Exporter<D> {
    /// An export of `spec` over `stores` (the caller's scope; the query's stores must be among
    /// them). Without `estimates` the arrival columns stay empty; a book that has not learned
    /// yet learns at the first posting under way.
    pub fn new(
        db: D,
        stores: &[StoreRecord],
        spec: &ExportSpec,
        estimates: Option<Arc<EstimateBook>>,
    ) -> Self {
        let mut query = spec.query.clone();
        query.before = None;
        query.limit = BATCH;
        Exporter {
            db,
            query,
            stores: stores
                .iter()
                .map(|s| {
                    let zone = ozontrack_i18n::zone(&s.settings.timezone);
                    (s.id, (s.name.as_str().to_owned(), zone))
                })
                .collect(),
            estimates,
            pages: None,
        }
    }

    /// Reads `postings` postings a page instead of [`BATCH`] (at least one): tests cross many
    /// page boundaries with few postings.
    pub fn batch(mut self, postings: u32) -> Self {
        self.query.limit = postings.max(1);
        self
    }

    /// Fills `batch` (emptied first) with the next page's rows, newest first; `false` once every
    /// posting was read.
    pub async fn next_batch(
        &mut self,
        now: DateTime<Utc>,
        batch: &mut Batch,
    ) -> Result<bool, Error> {
        batch.clear();
        let pages = self
            .pages
            .get_or_insert_with(|| read_ahead(self.db.clone(), self.query.clone()));
        let Some(read) = pages.recv().await else {
            return Ok(false);
        };
        let page = self.db.finish_export_page(read?).await?;
        // The arrival model is learned when the export meets its first posting under way
        // (seconds over a large history): an export of finished postings never waits for it.
        // Until then a page is read without windows (a finished posting has none), and the page
        // that meets the first posting under way is read again once the model is learned.
        if let Some(book) = self.estimates.as_ref().filter(|book| !book.learned()) {
            let mut meets = false;
            page.each(|r| {
                meets |= under_way(&r.status, r.in_process_at).is_some();
                self.push(batch, r, None, now);
            })?;
            if !meets {
                batch.newest_first();
                return Ok(true);
            }
            book.learn_once(&self.db, now).await?;
            batch.clear();
        }
        let mut estimator = self
            .estimates
            .as_ref()
            .map(|book| book.estimator(&self.db, now));
        page.each(|r| self.push(batch, r, estimator.as_mut(), now))?;
        batch.newest_first();
        Ok(true)
    }

    /// Adds a posting's row to `batch`, its arrival window read by `estimator`.
    fn push(
        &self,
        batch: &mut Batch,
        r: RecordView<'_>,
        estimator: Option<&mut Estimator<'_>>,
        now: DateTime<Utc>,
    ) {
        let (store, zone) = self
            .stores
            .get(&r.store)
            .map_or(("", chrono_tz::Asia::Shanghai), |(name, zone)| {
                (name, *zone)
            });
        let estimate = estimator.and_then(|estimator| {
            let posting = UnderWay::new(r.scheme, &r.status, r.in_process_at, r.buyer_city)?;
            Some(
                estimator.window(
                    posting,
                    r.legs.iter().map(|l| l.carrier),
                    r.legs
                        .iter()
                        .filter_map(|l| l.status.as_ref().map(|(s, at)| (l.role, *at, s))),
                    now,
                ),
            )
        });
        let line = PostingLine {
            id: r.id.0,
            number: batch.text(r.number),
            store: batch.text(store),
            zone,
            legs: batch.legs(r.legs.iter().map(|l| (l.carrier, l.tracking_number))),
            last_event: r.last_event.map(|e| LastEvent {
                at: e.at,
                place: e.place.map(|place| batch.text(place)),
                text: batch.text(e.text),
            }),
            risk: r.alerts.iter().map(|a| a.severity).max(),
            alerts: batch.alerts(r.alerts.iter().map(|a| a.why.clone())),
            estimate: estimate.map(|w| (w.from, w.to)),
            penalty_points: r.penalty_points,
            scheme: r.scheme,
            status: r.status,
            substatus: r.substatus,
            in_process_at: r.in_process_at,
            delivered_at: r.delivered_at,
            total: r.total,
        };
        batch.push(line);
    }
}

/// Queries an export's pages one after the other on a task of their own, each as soon as the
/// last one is handed over: the next query needs only the last page's cursor, so the database
/// reads while the exporter decodes and the writer writes. Stops after the last page, at the
/// first error (handed over), or when the exporter is dropped.
fn read_ahead<D: Database>(
    db: D,
    mut query: PostingQuery,
) -> mpsc::Receiver<Result<ExportPageRead, DbError>> {
    let (tx, rx) = mpsc::channel(PAGES_AHEAD);
    tokio::spawn(async move {
        loop {
            let read = db.read_export_page(&query).await;
            let next = read.as_ref().ok().and_then(|page| page.next);
            if tx.send(read).await.is_err() {
                return;
            }
            let Some(last) = next else { return };
            query.before = Some(last);
        }
    });
    rx
}

/// Changes a round of the [`LineWorker`] turns into lines: one short transaction.
pub const LINES_PER_ROUND: u32 = 2000;

/// How long a round holds the `export_lines` chore (real time): a round takes milliseconds,
/// and a process dying meanwhile holds the chore this long.
pub const LINES_TERM: chrono::Duration = chrono::Duration::minutes(1);

/// Keeps the postings' export lines current (see `ozontrack_db::ExportPage`): the rows an
/// export reads one page at a time instead of joining five tables per posting (2–2.5 times
/// faster, BENCHMARKS). One process at a time, by the `export_lines` chore.
#[derive(Debug)]
pub struct LineWorker<D> {
    db: D,
    owner: LeaseOwner,
    clock: Arc<dyn Clock>,
}

impl<D: Database> LineWorker<D> {
    pub fn new(db: D, owner: LeaseOwner, clock: Arc<dyn Clock>) -> Self {
        Self { db, owner, clock }
    }

    /// One round: how many waiting changes it turned into lines (none when another process
    /// holds the chore).
    pub async fn run_once(&self) -> Result<usize, DbError> {
        let now = self.clock.now();
        let until = now + self.clock.lasting(LINES_TERM);
        // Due again at once: whichever process comes next takes the next round.
        let refreshed = crate::supervise::chore_round(
            &self.db,
            Chore::EXPORT_LINES,
            &self.owner,
            (now, until, now),
            self.db.refresh_export_lines(LINES_PER_ROUND),
        )
        .await?;
        Ok(refreshed.unwrap_or(0))
    }
}

impl<D: Database> crate::supervise::Worker for LineWorker<D> {
    fn name(&self) -> &'static str {
        "export_lines"
    }

    async fn round(&self) -> bool {
        match self.run_once().await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::warn!(error = %crate::Chain(&e), "keeping the export lines failed");
                false
            }
        }
    }
}

/// How an export file is made.
#[derive(Debug, Clone)]
pub struct FileSpec {
    pub format: FileFormat,
    pub profile: Profile,
    /// At most this many rows per file, the files zipped.
    pub split: Option<NonZeroU64>,
}

/// The most rows a part of a cut export may hold (a part is a file for Excel).
pub const MAX_SPLIT: u64 = 1_000_000;

impl FileSpec {
    /// The file as a person asks for it (the CLI's flags, the API's and the dashboard's
    /// parameters): `csv` (default) or `xlsx`; Excel's profile, by default the language's; parts
    /// of at most `split` rows.
    pub fn parse(
        format: Option<&str>,
        profile: Option<&str>,
        split: Option<u64>,
        language: Language,
    ) -> Result<FileSpec, Error> {
        let format = match format {
            None => FileFormat::Csv,
            Some(f) => FileFormat::parse(f).ok_or_else(|| {
                let known = FileFormat::ALL.map(FileFormat::extension);
                Error::invalid("format", Problem::not_one_of(f, known))
            })?,
        };
        let profile = match profile {
            None => Profile::for_language(language),
            Some(p) => Profile::parse(p).ok_or_else(|| {
                Error::invalid(
                    "profile",
                    Problem::not_one_of(p, Profile::ALL.map(Profile::as_str)),
                )
            })?,
        };
        let split = split
            .map(|split| {
                NonZeroU64::new(split)
                    .filter(|s| s.get() <= MAX_SPLIT)
                    .ok_or_else(|| {
                        Error::invalid(
                            "split",
                            Problem::OutOfRange {
                                value: split,
                                min: 1,
                                max: MAX_SPLIT,
                            },
                        )
                    })
            })
            .transpose()?;
        Ok(FileSpec {
            format,
            profile,
            split,
        })
    }

    /// `postings-<time>.csv`, `.xlsx`, or `.zip` for an export cut into parts.
    pub fn file_name(&self, now: DateTime<Utc>) -> String {
        format!(
            "postings-{}.{}",
            now.format("%Y%m%d-%H%M%S"),
            if self.split.is_some() {
                "zip"
            } else {
                self.format.extension()
            }
        )
    }

    pub fn content_type(&self) -> &'static str {
        if self.split.is_some() {
            "application/zip"
        } else {
            self.format.content_type()
        }
    }
}

/// The columns a `--columns` list (or `columns=`) names; every column when none.
pub fn columns(list: Option<&str>) -> Result<Vec<Column>, Error> {
    Ok(match list {
        None => Column::ALL.to_vec(),
        Some(list) => Column::parse_list(list)?,
    })
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    pub path: PathBuf,
    pub rows: u64,
}

/// Starts the file an export of `spec` made at `now` is written to (see [`ExportFile`]).
pub fn create_file(
    spec: &ExportSpec,
    file: &FileSpec,
    path: &Path,
    now: DateTime<Utc>,
) -> Result<ExportFile, Error> {
    let layout = layout(
        &spec.columns,
        &Tr::new(spec.language),
        file.format,
        file.profile,
        file.split,
    );
    Ok(ExportFile::create(path, layout, now)?)
}

/// The start of an export streamed as CSV: the BOM and the header, in the export's language.
pub fn csv_head(spec: &ExportSpec, profile: Profile) -> Result<Vec<u8>, ReportError> {
    let header = header(&spec.columns, &Tr::new(spec.language));
    CsvSheet::new(Vec::new(), profile, &header).and_then(CsvSheet::finish)
}

/// A batch's rows as CSV that follows [`csv_head`] and the batches before: the API streams an
/// export batch by batch.
pub fn csv_rows(batch: &Batch, rows: &mut Rows, profile: Profile) -> Result<Vec<u8>, ReportError> {
    let mut sheet = CsvSheet::continuation(profile);
    for line in batch.lines() {
        sheet.write_row(&rows.cells(batch, line))?;
    }
    sheet.finish()
}

/// Writes a batch's rows: all the writer's work, which `bench export` also measures alone.
pub fn write_lines(
    out: &mut ExportFile,
    batch: &Batch,
    rows: &mut Rows,
) -> Result<(), ReportError> {
    for line in batch.lines() {
        out.write_row(&rows.cells(batch, line))?;
    }
    Ok(())
}

/// Writes an export to `path`: complete, or not at all (an interrupted export leaves only a
/// hidden `.partial` file). `progress` hears the rows written so far after each batch.
pub async fn export_to_file<D: Database>(
    mut exporter: Exporter<D>,
    spec: &ExportSpec,
    file: &FileSpec,
    path: &Path,
    now: DateTime<Utc>,
    mut progress: impl FnMut(u64) + Send,
) -> Result<Exported, Error> {
    let mut rows = spec.rows(now);
    let out = create_file(spec, file, path, now)?;
    // As many batches wait for the writer as pages wait to be decoded.
    let (tx, mut rx) = mpsc::channel::<Batch>(PAGES_AHEAD);
    // Written batches go back to be filled again, their buffers kept: an export allocates a
    // handful of batches, not a dozen texts a row, and the writer frees nothing the reader
    // allocated (a thread freeing another's allocations takes that thread's allocator lock).
    let (spent_tx, mut spent_rx) = mpsc::unbounded_channel::<Batch>();
    let (rows_tx, mut rows_rx) = tokio::sync::watch::channel(0u64);
    let writer = tokio::task::spawn_blocking(move || {
        let mut out = out;
        while let Some(batch) = rx.blocking_recv() {
            write_lines(&mut out, &batch, &mut rows)?;
            rows_tx.send_replace(out.rows());
            // The reader gone, the batch is dropped here.
            let _ = spent_tx.send(batch);
        }
        let rows = out.rows();
        out.commit().map(|path| Exported { path, rows })
    });
    let read = async {
        loop {
            let mut batch = spent_rx.try_recv().unwrap_or_default();
            if !exporter.next_batch(now, &mut batch).await? {
                break;
            }
            if tx.send(batch).await.is_err() {
                // The writer stopped on an error; it says which when joined.
                break;
            }
            if rows_rx.has_changed().unwrap_or(false) {
                progress(*rows_rx.borrow_and_update());
            }
        }
        drop(tx);
        Ok::<(), Error>(())
    };
    let read = read.await;
    let written = writer.await.map_err(|e| {
        Error::Unavailable(if e.is_panic() {
            "the export writer panicked"
        } else {
            "the export writer was cancelled"
        })
    })?;
    read?;
    let exported = written?;
    progress(exported.rows);
    Ok(exported)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(
        format: Option<&str>,
        profile: Option<&str>,
        split: Option<u64>,
    ) -> (String, Problem) {
        match FileSpec::parse(format, profile, split, Language::Ru) {
            Err(Error::Invalid { field, problem }) => (field.to_owned(), problem),
            other => panic!("expected a refused field, got {other:?}"),
        }
    }

    #[test]
    fn an_unknown_column_is_refused_as_a_problem_of_the_columns_field() {
        match columns(Some("store,nope")) {
            Err(Error::Invalid {
                field: "columns",
                problem: Problem::NotOneOf { value, known },
            }) => assert_eq!((value.as_str(), known.len()), ("nope", Column::ALL.len())),
            other => panic!("expected the columns refused, got {other:?}"),
        }
        assert_eq!(
            columns(None).expect("every column").len(),
            Column::ALL.len()
        );
    }

    #[test]
    fn a_file_spec_refuses_a_format_profile_or_split_it_cannot_make_naming_what_it_takes() {
        assert_eq!(
            refusal(Some("pdf"), None, None),
            (
                "format".to_owned(),
                Problem::NotOneOf {
                    value: "pdf".into(),
                    known: vec!["csv".into(), "xlsx".into()],
                }
            )
        );
        assert_eq!(
            refusal(None, Some("de"), None),
            (
                "profile".to_owned(),
                Problem::NotOneOf {
                    value: "de".into(),
                    known: vec!["ru".into(), "zh".into(), "en".into()],
                }
            )
        );
        for split in [0, MAX_SPLIT + 1] {
            assert_eq!(
                refusal(None, None, Some(split)),
                (
                    "split".to_owned(),
                    Problem::OutOfRange {
                        value: split,
                        min: 1,
                        max: MAX_SPLIT,
                    }
                )
            );
        }
        let spec = FileSpec::parse(Some("XLSX"), None, Some(10_000), Language::Ru)
            .expect("a file spec of known values");
        assert_eq!(
            (spec.format, spec.profile, spec.split.map(NonZeroU64::get)),
            (FileFormat::Xlsx, Profile::Ru, Some(10_000))
        );
    }
}
