//! The API's dispute evidence: a posting's pack as a zip download, and the seller's files for
//! it (list, add). A pack names the buyer's recipient as the carrier recorded it, so it is an
//! operator's to take, like the acts a dispute leads to.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use ozontrack_db::{AttachmentRecord, Database};
use ozontrack_domain::Role;
use ozontrack_engine::evidence::{self, NewFile};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::extract::{Path, Query, form};
use super::{ApiState, Caller};

/// Which languages the PDF speaks.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EvidenceParams {
    /// The PDF's languages side by side, comma-separated (`zh,ru`, the default; `en`).
    #[serde(default, deserialize_with = "form::optional")]
    #[param(pattern = "^(zh|ru|en)(,(zh|ru|en))*$", max_length = 20)]
    pub languages: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/postings/{number}/evidence",
    tag = "postings",
    params(
        ("number" = String, Path, description = "the posting number", max_length = 40),
        EvidenceParams,
    ),
    responses(
        (status = 200, description = "the evidence pack: evidence.pdf, evidence.json, the attachments and manifest.json in one zip", content_type = "application/zip", body = Vec<u8>),
        (status = 400, description = "a parameter is not understood", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 403, description = "the token's role does not allow it", body = ErrorBody),
        (status = 404, description = "no such posting in the token's stores", body = ErrorBody),
    )
)]
pub(super) async fn evidence_pack<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    Path(number): Path<String>,
    Query(params): Query<EvidenceParams>,
) -> Result<Response, ApiError> {
    let (_, id) = ozontrack_engine::trail::find(&state.db, &caller.stores, &number)
        .await?
        .ok_or(ApiError::NotFound("posting"))?;
    caller.require(Role::Operator)?;
    let languages = evidence::languages(params.languages.as_deref())?;
    let pack = evidence::build(
        &state.db,
        &state.estimates,
        id,
        &languages,
        state.clock.now(),
    )
    .await?;
    Ok(super::files::download(
        &pack.file_name,
        "application/zip",
        Body::from(pack.bytes),
    ))
}

/// A file of a posting's evidence.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentBody {
    pub id: i64,
    pub file_name: String,
    pub media_type: String,
    pub size: u64,
    /// `sha256:` and the hex digest.
    pub sha256: String,
    /// When the file was made, as given.
    pub taken_at: Option<DateTime<Utc>>,
    pub added_at: DateTime<Utc>,
    pub added_by: String,
}

impl From<AttachmentRecord> for AttachmentBody {
    fn from(a: AttachmentRecord) -> Self {
        Self {
            id: a.id,
            file_name: a.file_name,
            media_type: a.media_type,
            size: a.size,
            sha256: a.sha256,
            taken_at: a.taken_at,
            added_at: a.added_at,
            added_by: a.added_by,
        }
    }
}

/// A posting's evidence files, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentsBody {
    pub items: Vec<AttachmentBody>,
}

#[utoipa::path(
    get,
    path = "/api/v1/postings/{number}/attachments",
    tag = "postings",
    params(("number" = String, Path, description = "the posting number", max_length = 40)),
    responses(
        (status = 200, description = "the posting's evidence files", body = AttachmentsBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 404, description = "no such posting in the token's stores", body = ErrorBody),
    )
)]
pub(super) async fn list_attachments<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    Path(number): Path<String>,
) -> Result<axum::Json<AttachmentsBody>, ApiError> {
    let (_, id) = ozontrack_engine::trail::find(&state.db, &caller.stores, &number)
        .await?
        .ok_or(ApiError::NotFound("posting"))?;
    let items = state.db.attachments(id).await?;
    Ok(axum::Json(AttachmentsBody {
        items: items.into_iter().map(AttachmentBody::from).collect(),
    }))
}

/// The file being added.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AttachParams {
    /// The file's name (its extension gives its type).
    #[param(min_length = 1, max_length = 200)]
    pub name: String,
    /// When the file was made (RFC 3339), if known.
    #[serde(default, deserialize_with = "form::optional")]
    pub taken_at: Option<DateTime<Utc>>,
    /// The person acting through the token, for the audit trail.
    #[serde(default, deserialize_with = "form::optional")]
    #[param(max_length = 64)]
    pub by: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/postings/{number}/attachments",
    tag = "postings",
    params(
        ("number" = String, Path, description = "the posting number", max_length = 40),
        AttachParams,
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the file's bytes"),
    responses(
        (status = 201, description = "added", body = AttachmentBody),
        (status = 200, description = "the same file was there already", body = AttachmentBody),
        (status = 400, description = "a parameter is not understood, or the file is empty", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 403, description = "the token's role does not allow it", body = ErrorBody),
        (status = 404, description = "no such posting in the token's stores", body = ErrorBody),
        (status = 413, description = "the file is larger than the configured limit (evidence.max_attachment_mb)", body = ErrorBody),
    )
)]
pub(super) async fn add_attachment<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    headers: HeaderMap,
    Path(number): Path<String>,
    Query(params): Query<AttachParams>,
    body: Body,
) -> Result<Response, ApiError> {
    let (store, id) = ozontrack_engine::trail::find(&state.db, &caller.stores, &number)
        .await?
        .ok_or(ApiError::NotFound("posting"))?;
    caller.require(Role::Operator)?;
    let limit = usize::try_from(state.max_attachment).unwrap_or(usize::MAX);
    let content = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::TooLarge)?;
    let tr = ozontrack_i18n::Tr::new(super::extract::language(
        None,
        &headers,
        store.settings.language,
    ));
    let (record, added) = evidence::attach(
        &state.db,
        &caller.actor(params.by.as_deref())?,
        id,
        NewFile {
            name: params.name,
            content: content.to_vec(),
            taken_at: params.taken_at,
        },
        state.max_attachment,
        state.clock.now(),
    )
    .await
    .map_err(|e| ApiError::from_engine(e, &tr))?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(AttachmentBody::from(record))).into_response())
}
