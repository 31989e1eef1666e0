//! The seller's dashboard and the buyer's tracking page: server-rendered HTML (askama) with
//! htmx for the small interactive parts, Leaflet over built-in land outlines for the route,
//! Chart.js for the statistics, every asset served from the binary. Chinese by default for
//! sellers, Russian for buyers, English for both; times in the store's zone.
//!
//! A signed-in person sees the stores their user is granted and does what their role allows
//! (viewer, operator, admin); every page and form checks both on the server, and another
//! store's posting answers like a missing one. Pages read a posting's trail and act through the
//! engine's use cases, like the API; the words come from the shared catalogue
//! (`ozontrack-i18n`).

mod admin;
pub mod assets;
pub mod auth;
mod buyer;
mod notifications;
mod pages;
mod refusal;
mod view;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ozontrack_db::{Database, DbError};
use ozontrack_domain::Language;
use ozontrack_engine::Chain;
use ozontrack_i18n::Tr;

use crate::api::ApiState;

/// How the dashboard runs.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Session length.
    pub session_hours: i64,
    /// Mark cookies `Secure` (behind HTTPS).
    pub secure_cookies: bool,
    /// A tile server's URL template (`https://…/{z}/{x}/{y}.png`) drawn under the land
    /// outlines; none by default, so the map needs no internet.
    pub map_tiles: Option<String>,
    /// The demo's sandbox inbox (what its fake robot received), linked from the
    /// notifications page; none outside the demo.
    pub demo_inbox: Option<String>,
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            session_hours: 12,
            secure_cookies: false,
            map_tiles: None,
            demo_inbox: None,
        }
    }
}

/// What the dashboard's handlers share.
#[derive(Debug, Clone)]
pub struct WebState<S: Database> {
    pub api: ApiState<S>,
    pub settings: Arc<WebSettings>,
    /// Login attempts per address and per user name.
    pub throttle: Arc<ozontrack_engine::access::LoginThrottle>,
}

/// The dashboard, the buyer page, the login, the vendored assets and Swagger UI.
pub fn router<S: Database>(api: ApiState<S>, settings: WebSettings) -> Router {
    let state = WebState {
        api,
        settings: Arc::new(settings),
        throttle: Arc::default(),
    };
    Router::new()
        .route("/", get(pages::today::<S>))
        .route("/postings", get(pages::postings::<S>))
        .route("/postings/export", get(pages::export::<S>))
        .route("/postings/import", post(pages::import::<S>))
        .route("/postings/{number}", get(pages::posting::<S>))
        .route(
            "/postings/{number}/route.json",
            get(pages::posting_route::<S>),
        )
        .route("/postings/{number}/evidence", get(pages::evidence::<S>))
        .route("/postings/{number}/attachments", post(pages::attach::<S>))
        .route("/alerts", get(pages::alerts::<S>))
        .route("/alerts/ack", post(pages::acknowledge_many::<S>))
        .route("/alerts/{id}/ack", post(pages::acknowledge::<S>))
        .route("/carriers", get(pages::carriers::<S>))
        .route(
            "/notifications",
            get(notifications::page::<S>).post(notifications::add::<S>),
        )
        .route("/notifications/{id}/test", post(notifications::test::<S>))
        .route("/notifications/{id}/route", post(notifications::route::<S>))
        .route(
            "/notifications/{id}/{action}",
            post(notifications::switch::<S>),
        )
        .route(
            "/notifications/outbox/{id}/retry",
            post(notifications::retry::<S>),
        )
        .route("/users", get(admin::users::<S>).post(admin::add_user::<S>))
        .route("/users/{name}", post(admin::change_user::<S>))
        .route("/users/{name}/{action}", post(admin::switch_user::<S>))
        .route("/tokens", post(admin::create_token::<S>))
        .route("/tokens/{id}/revoke", post(admin::revoke_token::<S>))
        .route("/audit", get(admin::audit::<S>))
        .route("/login", get(pages::login_form).post(pages::login::<S>))
        .route("/login/{secret}", get(pages::login_link::<S>))
        .route("/logout", post(pages::logout::<S>))
        .route("/lang/{code}", get(pages::language))
        .route("/t/{token}", get(buyer::page::<S>))
        .route("/t/{token}/route.json", get(buyer::route::<S>))
        .route("/api/docs", get(assets::swagger_ui))
        .route("/assets/{*path}", get(assets::serve))
        .with_state(state)
        .layer(axum::middleware::from_fn(htmx_sign_in))
        .layer(axum::middleware::from_fn(error_pages))
}

/// Words a handler's [`WebError`] as a page in the language of the request that met it (the
/// error itself is turned into a response where that request is no longer at hand).
async fn error_pages(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let language = dashboard_language(request.headers());
    let mut response = next.run(request).await;
    match response.extensions_mut().remove::<WebError>() {
        Some(e) => e.page(&Tr::new(language)),
        None => response,
    }
}

/// An htmx request whose session is gone must not follow the redirect to the login page: the
/// XHR would follow it silently and htmx would swap the whole login page into a card. It gets
/// `HX-Redirect` on a plain 200 instead, which htmx turns into a full page load of `/login`.
async fn htmx_sign_in(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let htmx = request.headers().contains_key("hx-request");
    let mut response = next.run(request).await;
    if htmx && response.headers().contains_key("hx-redirect") {
        *response.status_mut() = StatusCode::OK;
        response.headers_mut().remove(header::LOCATION);
    }
    response
}

/// The cookie holding the dashboard's language.
const LANG_COOKIE: &str = "ozt_lang";

/// The dashboard language of this request: the cookie's, else Chinese.
fn dashboard_language(headers: &axum::http::HeaderMap) -> Language {
    auth::cookie(headers, LANG_COOKIE)
        .and_then(|c| Language::parse(c).ok())
        .unwrap_or(Language::Zh)
}

/// What goes wrong in a page; shown as a page in the viewer's language, never with internals.
#[derive(Debug, Clone)]
pub enum WebError {
    /// Not signed in: to the login page (htmx is told to go there itself).
    SignIn,
    /// A POST without this session's CSRF token or from another site.
    Forbidden,
    NotFound,
    /// A request the page cannot serve, already in its reader's words.
    BadRequest(String),
    /// A use case's refusal of what the request gave, worded when the page is.
    Refused {
        field: &'static str,
        problem: ozontrack_engine::Problem,
    },
    Internal,
}

impl From<DbError> for WebError {
    fn from(e: DbError) -> Self {
        tracing::error!(error = %Chain(&e), "a dashboard page failed in the database");
        WebError::Internal
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        tracing::error!(error = %Chain(&e), "a dashboard template failed");
        WebError::Internal
    }
}

impl From<ozontrack_engine::Error> for WebError {
    fn from(e: ozontrack_engine::Error) -> Self {
        match e {
            ozontrack_engine::Error::NotFound(_) => WebError::NotFound,
            ozontrack_engine::Error::Invalid { field, problem }
            | ozontrack_engine::Error::Conflict { field, problem } => {
                WebError::Refused { field, problem }
            }
            ozontrack_engine::Error::Db(db) => db.into(),
            other => {
                tracing::error!(error = %Chain(&other), "a dashboard action failed");
                WebError::Internal
            }
        }
    }
}

impl WebError {
    fn status(&self) -> StatusCode {
        match self {
            WebError::SignIn => StatusCode::SEE_OTHER,
            WebError::Forbidden => StatusCode::FORBIDDEN,
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) | WebError::Refused { .. } => StatusCode::BAD_REQUEST,
            WebError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The error page, plain (no navigation: the session may be what failed), in `tr`'s
    /// language.
    fn page(&self, tr: &Tr) -> Response {
        let message = match self {
            WebError::SignIn => return sign_in(),
            WebError::Forbidden => tr.t("error-forbidden"),
            WebError::NotFound => tr.t("error-not-found"),
            WebError::BadRequest(words) => words.clone(),
            WebError::Refused { field, problem } => tr.a(
                "error-bad-request",
                &[("detail", &refusal::field_words(tr, field, problem, &[]))],
            ),
            WebError::Internal => tr.t("error-internal"),
        };
        let page = view::ErrorPage {
            title: tr.t("error-title"),
            message,
        };
        let status = self.status();
        match askama::Template::render(&page) {
            Ok(body) => (status, Html(body)).into_response(),
            Err(_) => status.into_response(),
        }
    }
}

fn sign_in() -> Response {
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .insert("HX-Redirect", HeaderValue::from_static("/login"));
    response
}

impl IntoResponse for WebError {
    /// The request's language is not at hand here: [`error_pages`] words the page; until then
    /// the response carries the error.
    fn into_response(self) -> Response {
        if let WebError::SignIn = self {
            return sign_in();
        }
        let mut response = self.status().into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// A rendered page; the security headers every answer carries are added by [`crate::run`].
fn html(body: String) -> Response {
    Html(body).into_response()
}
