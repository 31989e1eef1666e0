//! The dashboard's admin pages: users and API tokens (for an admin of every store: add, change
//! role, stores or password, disable, enable; create a token, shown once, and revoke it) and the
//! audit trail (for any admin, limited to their stores).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use ozontrack_db::Database;
use ozontrack_domain::{Role, StoreScope};
use ozontrack_engine::access::UserEdit;
use serde::Deserialize;

use super::auth::Viewer;
use super::view::{self, Choice, Chrome, Tr};
use super::{WebError, WebState, html};

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    page: Chrome,
    users: Vec<UserRow>,
    tokens: Vec<TokenRow>,
    roles: Vec<Choice>,
    stores: Vec<String>,
    notice: String,
    error: String,
    /// A token just created: its name and the secret, in this answer only.
    created: Option<(String, String)>,
}

struct UserRow {
    name: String,
    /// Where its forms post.
    path: String,
    role: String,
    roles: Vec<Choice>,
    all_stores: bool,
    /// Every store, ticked when granted.
    stores: Vec<Choice>,
    granted: String,
    disabled: bool,
    state: String,
}

struct TokenRow {
    id: i64,
    name: String,
    prefix: String,
    role: String,
    granted: String,
    created: String,
    /// Revoked since when; none while live.
    revoked: Option<String>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    page: Chrome,
    entries: Vec<AuditRow>,
    older: Option<String>,
}

struct AuditRow {
    at: String,
    actor: String,
    action: String,
    store: String,
    posting: String,
    subject: String,
    detail: String,
}

fn role_choices(tr: &Tr, selected: Role) -> Vec<Choice> {
    super::pages::choices(
        Role::ALL
            .iter()
            .map(|r| (r.as_str().to_owned(), tr.access_role(*r))),
        selected.as_str(),
    )
}

/// `?done=` after a change.
#[derive(Debug, Default, Deserialize)]
pub(super) struct DoneQuery {
    done: Option<String>,
}

pub(super) async fn users<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    viewer.require_everywhere(Role::Admin)?;
    let page = super::pages::chrome_for(&viewer, &headers, "users", &uri);
    let notice = match q.done.as_deref() {
        Some("added") => page.tr.t("users-added"),
        Some("changed") => page.tr.t("users-changed"),
        Some("revoked") => page.tr.t("tokens-revoked-notice"),
        _ => String::new(),
    };
    render_users(&state, &viewer, page, notice, String::new(), None).await
}

/// The stores a user or token is granted, by the names this admin sees.
fn granted(tr: &Tr, viewer: &Viewer, scope: &StoreScope) -> String {
    tr.granted(scope, viewer.stores.iter().map(|s| (s.id, s.name.as_str())))
}

async fn render_users<S: Database>(
    state: &WebState<S>,
    viewer: &Viewer,
    page: Chrome,
    notice: String,
    error: String,
    created: Option<(String, String)>,
) -> Result<Response, WebError> {
    let tr = page.tr;
    let tz = super::pages::store_zone(&viewer.stores);
    let db = &state.api.db;
    let (users, tokens) = tokio::try_join!(db.users(), db.tokens())?;
    let tokens = tokens
        .into_iter()
        .rev()
        .map(|t| TokenRow {
            role: tr.access_role(t.role),
            granted: granted(&tr, viewer, &t.scope),
            created: view::local(t.created_at, tz),
            revoked: t
                .revoked_at
                .map(|at| tr.a("tokens-revoked", &[("since", &view::local(at, tz))])),
            id: t.id,
            name: t.name,
            prefix: t.prefix,
        })
        .collect();
    let users = users
        .into_iter()
        .map(|u| {
            let granted = granted(&tr, viewer, &u.scope);
            UserRow {
                role: tr.access_role(u.role),
                roles: role_choices(&tr, u.role),
                all_stores: u.scope.is_all(),
                stores: viewer
                    .stores
                    .iter()
                    .map(|s| Choice {
                        value: s.name.as_str().to_owned(),
                        label: s.name.as_str().to_owned(),
                        selected: u.scope.listed().contains(&s.id),
                    })
                    .collect(),
                granted,
                disabled: u.disabled_at.is_some(),
                state: match u.disabled_at {
                    Some(at) => tr.a("users-disabled", &[("since", &view::local(at, tz))]),
                    None => tr.t("users-enabled"),
                },
                path: format!("/users/{}", view::percent(&u.name)),
                name: u.name,
            }
        })
        .collect();
    let shows_secret = created.is_some();
    let body = UsersPage {
        users,
        tokens,
        created,
        roles: role_choices(&tr, Role::Viewer),
        stores: viewer
            .stores
            .iter()
            .map(|s| s.name.as_str().to_owned())
            .collect(),
        notice,
        error,
        page,
    }
    .render()?;
    let mut response = html(body);
    if shows_secret {
        // The secret is in this page only: no cache may keep it.
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(response)
}

/// A user form's fields; `store` repeats, so the body is read pair by pair.
#[derive(Debug, Default)]
struct UserForm {
    csrf: Option<String>,
    name: String,
    password: String,
    role: Option<String>,
    all_stores: bool,
    stores: Vec<String>,
}

impl UserForm {
    fn read(body: &[u8]) -> Self {
        let mut form = UserForm::default();
        for (key, value) in form_urlencoded::parse(body) {
            match key.as_ref() {
                "_csrf" => form.csrf = Some(value.into_owned()),
                "name" => form.name = value.into_owned(),
                "password" => form.password = value.into_owned(),
                "role" => form.role = Some(value.into_owned()),
                "all_stores" => form.all_stores = true,
                "store" => form.stores.push(value.into_owned()),
                _ => {}
            }
        }
        form
    }

    fn role(&self) -> Result<Option<Role>, ozontrack_engine::Error> {
        self.role
            .as_deref()
            .map(|r| Role::parse(r).map_err(|e| ozontrack_engine::Error::invalid("role", e)))
            .transpose()
    }

    /// The role chosen (a viewer when none) and the stores ticked: what a new user or token
    /// is granted.
    fn grant(&self, viewer: &Viewer) -> Result<(Role, StoreScope), ozontrack_engine::Error> {
        Ok((self.role()?.unwrap_or(Role::Viewer), self.scope(viewer)?))
    }

    /// The stores ticked, among those the admin sees.
    fn scope(&self, viewer: &Viewer) -> Result<StoreScope, ozontrack_engine::Error> {
        if self.all_stores {
            return Ok(StoreScope::All);
        }
        self.stores
            .iter()
            .map(|name| {
                viewer
                    .store_named(name)
                    .map(|s| s.id)
                    .ok_or(ozontrack_engine::Error::NotFound("store"))
            })
            .collect::<Result<_, _>>()
            .map(StoreScope::Only)
    }
}

/// A users page form whose CSRF token is checked, posted by an admin of every store: the form
/// and who acts.
fn admin_form(
    viewer: &Viewer,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(UserForm, ozontrack_engine::Actor), WebError> {
    let form = UserForm::read(body);
    viewer.check_post(headers, form.csrf.as_deref())?;
    viewer.require_everywhere(Role::Admin)?;
    Ok((form, viewer.actor()?))
}

/// The users page's fields (a user's and a token's forms share them).
const USER_FIELDS: super::refusal::Labels = &[
    ("name", "users-name"),
    ("password", "users-password"),
    ("role", "users-role"),
    ("store", "users-stores"),
];

/// After a change: on to the list, or the page again saying why (nothing typed is kept).
async fn settled<S: Database>(
    state: &WebState<S>,
    viewer: &Viewer,
    headers: &HeaderMap,
    uri: &Uri,
    outcome: Result<(), ozontrack_engine::Error>,
    done: &str,
) -> Result<Response, WebError> {
    let e = match outcome {
        Ok(()) => return Ok(Redirect::to(&format!("/users?done={done}")).into_response()),
        Err(e) => e,
    };
    let page = super::pages::chrome_for(viewer, headers, "users", uri);
    match super::refusal::words(&page.tr, &e, USER_FIELDS) {
        Some(words) => render_users(state, viewer, page, String::new(), words, None).await,
        None => Err(e.into()),
    }
}

pub(super) async fn add_user<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    uri: Uri,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    let (form, actor) = admin_form(&viewer, &headers, &body)?;
    let outcome = async {
        let (role, scope) = form.grant(&viewer)?;
        ozontrack_engine::access::add_user(
            &state.api.db,
            &form.name,
            form.password.clone(),
            role,
            scope,
            &actor,
            state.api.wall.now(),
        )
        .await
        .map(|_| ())
    }
    .await;
    settled(&state, &viewer, &headers, &uri, outcome, "added").await
}

pub(super) async fn change_user<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    uri: Uri,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    let form = UserForm::read(&body);
    let edit = (|| {
        Ok(UserEdit {
            password: Some(form.password.clone()).filter(|p| !p.is_empty()),
            role: form.role()?,
            scope: Some(form.scope(&viewer)?),
            disabled: None,
        })
    })();
    edited(&state, &viewer, &headers, &uri, &name, &form, edit).await
}

pub(super) async fn switch_user<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    uri: Uri,
    Path((name, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    let disabled = match action.as_str() {
        "disable" => true,
        "enable" => false,
        _ => return Err(WebError::NotFound),
    };
    let form = UserForm::read(&body);
    let edit = Ok(UserEdit {
        disabled: Some(disabled),
        ..UserEdit::default()
    });
    edited(&state, &viewer, &headers, &uri, &name, &form, edit).await
}

/// A change to user `name` from one of the users page's forms, once the form is checked.
async fn edited<S: Database>(
    state: &WebState<S>,
    viewer: &Viewer,
    headers: &HeaderMap,
    uri: &Uri,
    name: &str,
    form: &UserForm,
    edit: Result<UserEdit, ozontrack_engine::Error>,
) -> Result<Response, WebError> {
    viewer.check_post(headers, form.csrf.as_deref())?;
    viewer.require_everywhere(Role::Admin)?;
    let actor = viewer.actor()?;
    let outcome = match edit {
        Ok(edit) => ozontrack_engine::access::change_user(
            &state.api.db,
            name,
            edit,
            &actor,
            state.api.wall.now(),
        )
        .await
        .map(|_| ()),
        Err(e) => Err(e),
    };
    settled(state, viewer, headers, uri, outcome, "changed").await
}

/// A new API token from the users page's form (name, role, stores): the page again, with the
/// secret shown this once.
pub(super) async fn create_token<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    uri: Uri,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    let (form, actor) = admin_form(&viewer, &headers, &body)?;
    let created = async {
        let (role, scope) = form.grant(&viewer)?;
        ozontrack_engine::access::create_token(
            &state.api.db,
            &form.name,
            role,
            scope,
            &actor,
            state.api.wall.now(),
        )
        .await
    }
    .await;
    match created {
        Ok((secret, record)) => {
            let page = super::pages::chrome_for(&viewer, &headers, "users", &uri);
            let notice = page.tr.t("tokens-created");
            let created = Some((record.name, secret));
            render_users(&state, &viewer, page, notice, String::new(), created).await
        }
        Err(e) => settled(&state, &viewer, &headers, &uri, Err(e), "").await,
    }
}

/// Revokes an API token; at once, every request with it is refused.
pub(super) async fn revoke_token<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    let (_, actor) = admin_form(&viewer, &headers, &body)?;
    let outcome =
        ozontrack_engine::access::revoke_token(&state.api.db, id, &actor, state.api.wall.now())
            .await;
    settled(&state, &viewer, &headers, &uri, outcome, "revoked").await
}

/// `?before=` pages back.
#[derive(Debug, Default, Deserialize)]
pub(super) struct AuditQuery {
    #[serde(default, deserialize_with = "crate::api::extract::form::optional")]
    before: Option<i64>,
}

/// Entries per audit page.
const AUDIT_PAGE: u32 = 100;

pub(super) async fn audit<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<AuditQuery>,
) -> Result<Response, WebError> {
    viewer.require(Role::Admin)?;
    let page = super::pages::chrome_for(&viewer, &headers, "audit", &uri);
    let tr = page.tr;
    let tz = super::pages::store_zone(&viewer.stores);
    let records =
        ozontrack_engine::audit::entries(&state.api.db, &viewer.scope, q.before, AUDIT_PAGE)
            .await?;
    let older = (records.len() == AUDIT_PAGE as usize)
        .then(|| records.last().map(|r| format!("/audit?before={}", r.id)))
        .flatten();
    let entries = records
        .into_iter()
        .map(|r| {
            let e = r.entry;
            AuditRow {
                at: view::local(e.at, tz),
                actor: e.actor,
                action: tr.audit_action(e.action),
                store: e.store.map(|(_, name)| name).unwrap_or_default(),
                posting: e.posting.unwrap_or_default(),
                subject: e.subject.unwrap_or_default(),
                detail: e.detail.map(|d| detail_text(&d)).unwrap_or_default(),
            }
        })
        .collect();
    let body = AuditPage {
        page,
        entries,
        older,
    }
    .render()?;
    Ok(html(body))
}

/// An entry's values as `key: value` pairs (they are data: names, codes, numbers).
fn detail_text(detail: &serde_json::Value) -> String {
    match detail {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join(" · "),
        other => other.to_string(),
    }
}
