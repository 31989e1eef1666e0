//! Files over HTTP: the postings export (API and dashboard: the same parameters, the same
//! bytes) and the postings report import. A CSV export streams batch by batch as it is read, so
//! any number of rows leaves in flat memory and no timeout cuts it; an XLSX (or a zip of parts)
//! is written to a temporary file first, then streamed. A failure mid-stream aborts the
//! transfer, so a client never holds a truncated file that looks complete.

use std::io::Read as _;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use ozontrack_db::{Database, StoreRecord};
use ozontrack_domain::finding::Severity;
use ozontrack_domain::{Language, Scheme};
use ozontrack_engine::export::{
    ExportSpec, Exporter, FileSpec, Filters, columns, csv_head, csv_rows, export_to_file,
};
use ozontrack_reports::{Batch, FileFormat, Profile};
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::ApiError;
use super::extract::form;
use super::with_postings_filters;
use crate::openapi::schemas;

with_postings_filters! {
    /// The postings export: the postings list's filters, and how the file reads.
    pub struct ExportParams {
        /// `csv` (default) or `xlsx`.
        #[serde(default, deserialize_with = "form::optional")]
        #[param(pattern = "^(csv|xlsx)$")]
        pub format: Option<String>,
        /// Headers and words (default: `Accept-Language`, else the first store's).
        #[serde(default, deserialize_with = "form::optional")]
        #[param(schema_with = schemas::language)]
        pub lang: Option<Language>,
        /// Excel's locale: `ru` (`;`, decimal comma) or `zh`/`en` (`,`, point); default: the
        /// language's.
        #[serde(default, deserialize_with = "form::optional")]
        #[param(pattern = "^(ru|zh|en)$")]
        pub profile: Option<String>,
        /// Column keys in order, comma-separated (default: all).
        #[serde(default, deserialize_with = "form::optional")]
        #[param(schema_with = schemas::export_columns)]
        pub columns: Option<String>,
        /// At most this many rows per file, the files zipped.
        #[serde(default, deserialize_with = "form::optional")]
        #[param(minimum = 1, maximum = 1_000_000)]
        pub split: Option<u64>,
    }
}

/// The export's answer: the file, streamed, named for a download.
pub(crate) async fn export<D: Database>(
    state: &super::ApiState<D>,
    scope: Vec<StoreRecord>,
    params: &ExportParams,
    language: Language,
    now: DateTime<Utc>,
) -> Result<Response, ApiError> {
    let file = FileSpec::parse(
        params.format.as_deref(),
        params.profile.as_deref(),
        params.split,
        language,
    )?;
    let columns = columns(params.columns.as_deref())?;
    let query = params
        .filters()
        .query(scope.iter().map(|s| s.id).collect())?;
    let spec = ExportSpec {
        query,
        columns,
        language,
        public_url: state.public_url.clone(),
    };
    let exporter = Exporter::new(
        state.db.clone(),
        &scope,
        &spec,
        Some(Arc::clone(&state.estimates)),
    );
    let name = file.file_name(now);
    if file.format == FileFormat::Csv && file.split.is_none() {
        let body = csv_stream(exporter, &spec, file.profile, now)?;
        return Ok(download(&name, file.content_type(), body));
    }
    let dir = tempfile::tempdir().map_err(|e| {
        tracing::error!(error = %e, "no temporary directory for an export");
        ApiError::Internal
    })?;
    let path = dir.path().join(&name);
    let exported = export_to_file(exporter, &spec, &file, &path, now, |_| {}).await?;
    let opened = std::fs::File::open(&exported.path).map_err(|e| {
        tracing::error!(error = %e, "the export file vanished");
        ApiError::Internal
    })?;
    // The open file outlives its directory (removed when the stream ends).
    Ok(download(
        &name,
        file.content_type(),
        file_stream(opened, dir),
    ))
}

pub(crate) fn download(name: &str, content_type: &'static str, body: Body) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    (headers, body).into_response()
}

/// The CSV as the batches are read: the BOM and header first, then each batch's rows.
fn csv_stream<D: Database>(
    exporter: Exporter<D>,
    spec: &ExportSpec,
    profile: Profile,
    now: DateTime<Utc>,
) -> Result<Body, ApiError> {
    let head = csv_head(spec, profile).map_err(|e| {
        tracing::error!(error = %e, "cannot start a CSV export");
        ApiError::Internal
    })?;
    let state = (Some(exporter), spec.rows(now), Batch::default());
    let rows =
        futures_util::stream::unfold(state, move |(exporter, mut cells, mut batch)| async move {
            let mut exporter = exporter?;
            match exporter.next_batch(now, &mut batch).await {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => {
                    tracing::error!(error = %ozontrack_engine::Chain(&e), "an export stopped");
                    let cut = std::io::Error::other("the export stopped; the file is incomplete");
                    return Some((Err(cut), (None, cells, batch)));
                }
            }
            match csv_rows(&batch, &mut cells, profile) {
                Ok(bytes) => Some((Ok(Bytes::from(bytes)), (Some(exporter), cells, batch))),
                Err(e) => Some((Err(std::io::Error::other(e)), (None, cells, batch))),
            }
        });
    let head =
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(head)) });
    Ok(Body::from_stream(futures_util::StreamExt::chain(
        head, rows,
    )))
}

/// A file already written, read in 64 KiB pieces off the async workers.
fn file_stream(file: std::fs::File, dir: tempfile::TempDir) -> Body {
    let state = Some((file, dir));
    let chunks = futures_util::stream::unfold(state, |state| async move {
        let (mut file, dir) = state?;
        let read = tokio::task::spawn_blocking(move || {
            let mut buffer = vec![0u8; 1 << 16];
            let n = file.read(&mut buffer);
            (
                file,
                n.map(|n| {
                    buffer.truncate(n);
                    buffer
                }),
            )
        })
        .await;
        match read {
            Ok((_, Ok(buffer))) if buffer.is_empty() => None,
            Ok((file, Ok(buffer))) => Some((Ok(Bytes::from(buffer)), Some((file, dir)))),
            Ok((_, Err(e))) => Some((Err(e), None)),
            Err(e) => Some((Err(std::io::Error::other(e)), None)),
        }
    });
    Body::from_stream(chunks)
}
