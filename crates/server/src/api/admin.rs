//! The API's admin routes: dashboard users (list, add, change, disable), pausing and resuming
//! a store, and the audit trail. Users span stores, so only an admin token of every store
//! manages them; the trail is read by any admin, limited to the stores the token covers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use ozontrack_db::{AuditRecord, Database, StoreRecord, UserRecord};
use ozontrack_domain::{AuditAction, Role, StoreScope};
use ozontrack_engine::access::UserEdit;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::extract::{Json, Path, Query};
use super::{ApiState, Caller, page_limit};
use crate::openapi::schemas;

/// The stores a user is granted: `"all"` (every store, present and future, said explicitly)
/// or exactly the stores named (an empty list grants none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Grant {
    Every(EveryStore),
    Only(Vec<String>),
}

/// Every store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EveryStore {
    All,
}

/// A dashboard user.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserBody {
    pub name: String,
    #[schema(schema_with = schemas::role)]
    pub role: Role,
    pub stores: Grant,
    pub created_at: DateTime<Utc>,
    /// Since when the user may not sign in; `null`: enabled.
    pub disabled_at: Option<DateTime<Utc>>,
}

/// Dashboard users, by name.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsersBody {
    pub items: Vec<UserBody>,
}

/// A user to add: a role and the stores granted.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddUserRequest {
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    /// 10 to 1 024 characters.
    #[schema(min_length = 10, max_length = 1024)]
    pub password: String,
    #[schema(schema_with = schemas::role)]
    pub role: Role,
    pub stores: Grant,
}

/// What to change of a user; what is left out stays (`null` is not "left out"). Any change
/// signs the user out.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeUserRequest {
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, min_length = 10, max_length = 1024)]
    pub password: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = schemas::role)]
    pub role: Option<Role>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub stores: Option<Grant>,
    /// `true`: the user may no longer sign in; `false`: enabled again.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub disabled: Option<bool>,
}

/// A field that, when given, holds a value: `null` is refused like any other wrong type.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// The audit trail's page.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only entries older than this id (the previous page's `next`).
    #[param(minimum = 1)]
    pub before: Option<i64>,
    /// At most this many (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// One write, as the trail keeps it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditItem {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// Who: a dashboard user, `token:NAME`, `cli:USER`.
    pub actor: String,
    #[schema(schema_with = schemas::audit_action)]
    pub action: AuditAction,
    /// The store's name when it was done.
    pub store: Option<String>,
    pub posting: Option<String>,
    pub subject: Option<String>,
    /// The values set.
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
}

/// The newest entries first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditBody {
    pub items: Vec<AuditItem>,
    /// `before` for the next page; `null` on the last.
    pub next: Option<i64>,
}

impl From<AuditRecord> for AuditItem {
    fn from(r: AuditRecord) -> Self {
        let e = r.entry;
        Self {
            id: r.id,
            at: e.at,
            actor: e.actor,
            action: e.action,
            store: e.store.map(|(_, name)| name),
            posting: e.posting,
            subject: e.subject,
            detail: e.detail,
        }
    }
}

fn user_body(u: UserRecord, stores: &[StoreRecord]) -> UserBody {
    UserBody {
        stores: match &u.scope {
            StoreScope::All => Grant::Every(EveryStore::All),
            StoreScope::Only(ids) => Grant::Only(
                stores
                    .iter()
                    .filter(|s| ids.contains(&s.id))
                    .map(|s| s.name.as_str().to_owned())
                    .collect(),
            ),
        },
        name: u.name,
        role: u.role,
        created_at: u.created_at,
        disabled_at: u.disabled_at,
    }
}

impl Caller {
    /// Users and tokens span stores: only an admin of every store manages them.
    fn user_admin(&self) -> Result<(), ApiError> {
        self.every_store()?;
        self.require(Role::Admin)
    }

    /// The scope a body's grant names (stores by the names the caller sees).
    fn scope_of(&self, grant: &Grant) -> Result<StoreScope, ApiError> {
        match grant {
            Grant::Every(EveryStore::All) => Ok(StoreScope::All),
            Grant::Only(names) => names
                .iter()
                .map(|n| self.store_named(n).map(|s| s.id))
                .collect::<Result<_, _>>()
                .map(StoreScope::Only),
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "access",
    responses(
        (status = 200, description = "every dashboard user", body = UsersBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 403, description = "only an admin token of every store manages users", body = ErrorBody),
    )
)]
pub(super) async fn list_users<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
) -> Result<axum::Json<UsersBody>, ApiError> {
    caller.user_admin()?;
    let users = state.db.users().await?;
    Ok(axum::Json(UsersBody {
        items: users
            .into_iter()
            .map(|u| user_body(u, &caller.stores))
            .collect(),
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "access",
    request_body = AddUserRequest,
    responses(
        (status = 201, description = "added", body = UserBody),
        (status = 400, description = "a field is not understood (the name, a short password, the stores)", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 403, description = "only an admin token of every store manages users", body = ErrorBody),
        (status = 404, description = "no such store", body = ErrorBody),
        (status = 409, description = "a user of that name exists", body = ErrorBody),
    )
)]
pub(super) async fn add_user<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    Json(body): Json<AddUserRequest>,
) -> Result<impl IntoResponse, ApiError> {
    caller.user_admin()?;
    let scope = caller.scope_of(&body.stores)?;
    let user = ozontrack_engine::access::add_user(
        &state.db,
        &body.name,
        body.password,
        body.role,
        scope,
        &caller.actor(None)?,
        state.wall.now(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(user_body(user, &caller.stores)),
    ))
}

#[utoipa::path(
    patch,
    path = "/api/v1/users/{name}",
    tag = "access",
    params(("name" = String, Path, description = "the user's name", max_length = 64)),
    request_body = ChangeUserRequest,
    responses(
        (status = 200, description = "changed; the user's sessions ended", body = UserBody),
        (status = 400, description = "a field is not understood", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 403, description = "only an admin token of every store manages users", body = ErrorBody),
        (status = 404, description = "no such user or store", body = ErrorBody),
    )
)]
pub(super) async fn change_user<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<ChangeUserRequest>,
) -> Result<axum::Json<UserBody>, ApiError> {
    caller.user_admin()?;
    let scope = body
        .stores
        .as_ref()
        .map(|grant| caller.scope_of(grant))
        .transpose()?;
    let user = ozontrack_engine::access::change_user(
        &state.db,
        &name,
        UserEdit {
            password: body.password,
            role: body.role,
            scope,
            disabled: body.disabled,
        },
        &caller.actor(None)?,
        state.wall.now(),
    )
    .await?;
    Ok(axum::Json(user_body(user, &caller.stores)))
}

#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "access",
    params(AuditParams),
    responses(
        (status = 200, description = "who did what, newest first; a token of some stores reads their entries only", body = AuditBody),
        (status = 400, description = "a parameter is not understood", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 403, description = "only admin tokens read the trail", body = ErrorBody),
    )
)]
pub(super) async fn audit<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    Query(p): Query<AuditParams>,
) -> Result<axum::Json<AuditBody>, ApiError> {
    caller.require(Role::Admin)?;
    let limit = page_limit(p.limit, 50)?;
    if let Some(before) = p.before.filter(|b| *b < 1) {
        return Err(ApiError::BadRequest(format!(
            "before: {before} is not an entry id (1 or more)"
        )));
    }
    let records =
        ozontrack_engine::audit::entries(&state.db, &caller.token.scope, p.before, limit).await?;
    let next = (records.len() == limit as usize)
        .then(|| records.last().map(|r| r.id))
        .flatten();
    Ok(axum::Json(AuditBody {
        items: records.into_iter().map(AuditItem::from).collect(),
        next,
    }))
}

/// Pauses or resumes a store.
async fn set_paused<D: Database>(
    state: &ApiState<D>,
    caller: &Caller,
    store: &str,
    paused: bool,
) -> Result<axum::Json<super::dto::StoreBody>, ApiError> {
    let record = caller.store_named(store)?.clone();
    caller.require(Role::Admin)?;
    ozontrack_engine::stores::set_paused(
        &state.db,
        &record,
        paused,
        &caller.actor(None)?,
        state.wall.now(),
    )
    .await?;
    let record = state
        .db
        .store(record.id)
        .await?
        .ok_or(ApiError::NotFound("store"))?;
    Ok(axum::Json(super::dto::StoreBody::from(&record)))
}

#[utoipa::path(
    post,
    path = "/api/v1/stores/{store}/pause",
    tag = "stores",
    params(("store" = String, Path, description = "the store's name", max_length = 64)),
    responses(
        (status = 200, description = "paused: neither synced nor tracked until resumed", body = super::dto::StoreBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 403, description = "only admin tokens pause stores", body = ErrorBody),
        (status = 404, description = "no such store in the token's stores", body = ErrorBody),
    )
)]
pub(super) async fn pause_store<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    Path(store): Path<String>,
) -> Result<axum::Json<super::dto::StoreBody>, ApiError> {
    set_paused(&state, &caller, &store, true).await
}

#[utoipa::path(
    post,
    path = "/api/v1/stores/{store}/resume",
    tag = "stores",
    params(("store" = String, Path, description = "the store's name", max_length = 64)),
    responses(
        (status = 200, description = "running again; its sync is due at once", body = super::dto::StoreBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 403, description = "only admin tokens resume stores", body = ErrorBody),
        (status = 404, description = "no such store in the token's stores", body = ErrorBody),
    )
)]
pub(super) async fn resume_store<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    Path(store): Path<String>,
) -> Result<axum::Json<super::dto::StoreBody>, ApiError> {
    set_paused(&state, &caller, &store, false).await
}
