//! The API's one error shape, `{"error": {"code", "message"}}` (plus `problems` for located row
//! errors), for every 4xx and 5xx the API gives: extractor rejections, unknown routes and
//! methods included. Internals never reach the body; they go to the log with their causes.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ozontrack_db::DbError;
use ozontrack_domain::Role;
use ozontrack_engine::Chain;
use ozontrack_reports::ReportError;
use serde::Serialize;
use utoipa::ToSchema;

/// Every error the API answers with.
#[derive(Debug)]
pub enum ApiError {
    Unauthorized,
    /// The caller's role does not include what the route takes.
    Role {
        has: Role,
        needs: Role,
    },
    /// The token is limited to some stores, and what it asked for serves every store.
    Scoped,
    NotFound(&'static str),
    /// The request is wrong; the message names the parameter or field.
    BadRequest(String),
    /// The request is right, but what it names is not in a state that allows it.
    Conflict(String),
    /// No such route (or no such method on it).
    NoRoute,
    MethodNotAllowed,
    /// A body larger than the route accepts.
    TooLarge,
    /// Rows of an upload that cannot be sent, each located by line and column.
    InvalidRows(Vec<Problem>),
    /// A file to read in (a postings report) with problems, each located; nothing was written.
    InvalidFile(Vec<Problem>),
    /// A part of the server this deployment does not run.
    Unavailable(&'static str),
    Internal,
}

/// What an error is, for a program to branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Unauthorized,
    Forbidden,
    NotFound,
    BadRequest,
    Conflict,
    MethodNotAllowed,
    PayloadTooLarge,
    InvalidRows,
    Unavailable,
    Internal,
}

/// One located problem of an uploaded file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Problem {
    /// 1-based line in the file (the header is line 1).
    #[schema(minimum = 1)]
    pub line: u64,
    /// The column's name, or `row`.
    pub column: String,
    pub message: String,
}

/// The error's details.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    /// What went wrong, for a person; never internals.
    pub message: String,
    /// For `invalid_rows`: every problem, located.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<Problem>>,
}

/// Every error body of the API.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

impl ApiError {
    fn parts(self) -> (StatusCode, ErrorCode, String, Option<Vec<Problem>>) {
        match self {
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                "a valid API token is required: Authorization: Bearer ozt_…".to_owned(),
                None,
            ),
            ApiError::Role { has, needs } => (
                StatusCode::FORBIDDEN,
                ErrorCode::Forbidden,
                format!("this token is a {has}; this takes the {needs} role"),
                None,
            ),
            ApiError::Scoped => (
                StatusCode::FORBIDDEN,
                ErrorCode::Forbidden,
                "this token is limited to some stores; this serves every store (destinations, \
                 the outbox, users, tokens)"
                    .to_owned(),
                None,
            ),
            ApiError::NotFound(what) => (
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                format!("no such {what}"),
                None,
            ),
            ApiError::BadRequest(message) => (
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                message,
                None,
            ),
            ApiError::Conflict(message) => {
                (StatusCode::CONFLICT, ErrorCode::Conflict, message, None)
            }
            ApiError::NoRoute => (
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "no such route; see /api/openapi.json".to_owned(),
                None,
            ),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::MethodNotAllowed,
                "this route does not take that method; see /api/openapi.json".to_owned(),
                None,
            ),
            ApiError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                "the body is larger than this route accepts".to_owned(),
                None,
            ),
            ApiError::InvalidRows(problems) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidRows,
                format!(
                    "{} row(s) are invalid and nothing was sent (skip_invalid=true sends the rest)",
                    problems.len()
                ),
                Some(problems),
            ),
            ApiError::InvalidFile(problems) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidRows,
                format!(
                    "{} problem(s) in the file, each located; nothing was written",
                    problems.len()
                ),
                Some(problems),
            ),
            ApiError::Unavailable(message) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                message.to_owned(),
                None,
            ),
            ApiError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "something went wrong on our side; it has been logged".to_owned(),
                None,
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message, problems) = self.parts();
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message,
                problems,
            },
        };
        (status, Json(body)).into_response()
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        if let DbError::NoApiAccess(_) = e {
            return ApiError::Conflict(e.to_string());
        }
        tracing::error!(error = %Chain(&e), "an API request failed in the database");
        ApiError::Internal
    }
}

impl ApiError {
    /// An engine error whose located problems are worded in `tr`'s language.
    pub fn from_engine(e: ozontrack_engine::Error, tr: &ozontrack_i18n::Tr) -> Self {
        match e {
            ozontrack_engine::Error::Report(ReportError::Problems(problems)) => {
                ApiError::InvalidFile(
                    problems
                        .into_iter()
                        .map(|p| Problem {
                            line: p.line,
                            column: p.column.clone().unwrap_or_else(|| "row".to_owned()),
                            message: p.trouble.render(tr),
                        })
                        .collect(),
                )
            }
            other => other.into(),
        }
    }
}

impl From<ozontrack_engine::Error> for ApiError {
    fn from(e: ozontrack_engine::Error) -> Self {
        use ozontrack_engine::Error as E;
        match e {
            E::NotFound(what) => ApiError::NotFound(what),
            E::Invalid { .. } => ApiError::BadRequest(e.to_string()),
            E::Conflict { .. } => ApiError::Conflict(e.to_string()),
            E::Unavailable(what) => ApiError::Unavailable(what),
            E::Db(db) => db.into(),
            E::Ozon(ozon) => {
                tracing::error!(error = %Chain(&ozon), "an API request failed at Ozon");
                ApiError::Internal
            }
            E::Report(ReportError::Problems(_)) => {
                ApiError::from_engine(e, &ozontrack_i18n::Tr::new(ozontrack_domain::Language::En))
            }
            E::Report(other) => {
                tracing::error!(error = %Chain(&other), "an API request failed writing a file");
                ApiError::Internal
            }
        }
    }
}
