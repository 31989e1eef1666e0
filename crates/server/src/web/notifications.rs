//! The dashboard's notifications page: the destinations with what each receives and how it
//! fares, a form to add one, its routing changed in place (lowest level, quiet hours, the daily
//! summary, language and zone), a test through the real path, switching one off and on, and the
//! outbox (all, or only what failed, with a button to send a failed message again). Every form
//! posts to a handler that calls one engine use case; secrets typed into the form are never
//! shown again.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveTime;
use ozontrack_db::{Database, OutboxFilter};
use ozontrack_domain::finding::Severity;
use ozontrack_domain::notify::{Audience, ChannelKind, MessageState, QuietHours, Routing};
use ozontrack_domain::{DestinationId, Language, Role};
use ozontrack_engine::Actor;
use ozontrack_engine::notify::{self as use_case, AddDestination, RoutingChange};
use serde::Deserialize;

use super::auth::Viewer;
use super::view::{Choice, Chrome, Tr};
use super::{WebError, WebState, html};

#[derive(Debug, Clone)]
pub(super) struct DestinationRow {
    pub id: i64,
    pub name: String,
    pub channel: String,
    pub address: String,
    pub state: String,
    pub active: bool,
    pub why: String,
    pub receives: String,
    pub sent: u64,
    pub waiting: u64,
    pub failed: u64,
    pub testable: bool,
    /// The routing form's current values.
    pub min_severity: &'static str,
    pub quiet_from: String,
    pub quiet_until: String,
    pub daily_at: String,
    pub language: &'static str,
    pub time_zone: String,
}

#[derive(Debug, Clone)]
pub(super) struct MessageRow {
    pub id: i64,
    pub created: String,
    pub destination: String,
    pub topic: String,
    pub state: String,
    pub state_code: &'static str,
    pub attempts: u32,
    pub outcome: String,
    /// The service's error code or HTTP status (not ours to translate).
    pub code: String,
    pub title: String,
    pub retryable: bool,
}

#[derive(Template)]
#[template(path = "notifications.html")]
pub(super) struct NotificationsPage {
    pub page: Chrome,
    pub destinations: Vec<DestinationRow>,
    pub messages: Vec<MessageRow>,
    pub failed_only: bool,
    pub kinds: Vec<Choice>,
    pub severities: Vec<Choice>,
    pub languages: Vec<Choice>,
    pub stores: Vec<String>,
    pub notice: String,
    pub error: String,
    pub inbox: String,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct PageQuery {
    failed: Option<bool>,
    done: Option<String>,
}

fn chrome(viewer: &Viewer, headers: &HeaderMap, uri: &Uri) -> Chrome {
    super::pages::chrome_for(viewer, headers, "notifications", uri)
}

fn receives(r: &Routing, audience: Audience, tr: &Tr) -> String {
    let mut parts = vec![format!("≥ {}", tr.severity(r.min_severity))];
    parts.extend(r.topics(audience).iter().map(|t| tr.topic(*t)));
    if !r.rules.is_empty() {
        parts.push(
            r.rules
                .iter()
                .map(|x| tr.rule(*x))
                .collect::<Vec<_>>()
                .join("/"),
        );
    }
    if let Some(q) = r.quiet {
        parts.push(format!(
            "{} {}–{}",
            tr.t("destination-quiet"),
            q.from.format("%H:%M"),
            q.until.format("%H:%M")
        ));
    }
    if let Some(d) = r.daily_at {
        parts.push(format!(
            "{} {}",
            tr.t("destination-daily"),
            d.format("%H:%M")
        ));
    }
    parts.join(" · ")
}

async fn render_page<S: Database>(
    state: &WebState<S>,
    page: Chrome,
    failed_only: bool,
    notice: String,
    error: String,
) -> Result<Response, WebError> {
    let tr = page.tr;
    let db = &state.api.db;
    let views = use_case::destinations(db).await?;
    let destinations = views
        .iter()
        .map(|v| {
            let d = &v.record.destination;
            DestinationRow {
                id: d.id.0,
                name: d.name.clone(),
                channel: tr.channel(d.kind),
                address: v.shown.clone(),
                state: tr.destination_state(d.state),
                active: d.disabled.is_none(),
                why: d.disabled.map(|c| tr.disable_cause(c)).unwrap_or_default(),
                receives: receives(&d.routing, d.kind.audience(), &tr),
                sent: v.counts.sent + v.counts.coalesced,
                waiting: v.counts.pending,
                failed: v.counts.dead,
                testable: d.kind != ChannelKind::OzonChat,
                min_severity: d.routing.min_severity.as_str(),
                quiet_from: d
                    .routing
                    .quiet
                    .map(|q| q.from.format("%H:%M").to_string())
                    .unwrap_or_default(),
                quiet_until: d
                    .routing
                    .quiet
                    .map(|q| q.until.format("%H:%M").to_string())
                    .unwrap_or_default(),
                daily_at: d
                    .routing
                    .daily_at
                    .map(|t| t.format("%H:%M").to_string())
                    .unwrap_or_default(),
                language: d.language.as_str(),
                time_zone: d.time_zone.name().to_owned(),
            }
        })
        .collect();
    let messages = db
        .outbox(&OutboxFilter {
            states: if failed_only {
                vec![MessageState::Dead]
            } else {
                Vec::new()
            },
            limit: 100,
            ..OutboxFilter::default()
        })
        .await?;
    let zone = views.first().map_or(chrono_tz::Asia::Shanghai, |v| {
        v.record.destination.time_zone
    });
    let messages = messages
        .iter()
        .map(|m| {
            let d = views
                .iter()
                .find(|v| v.record.destination.id == m.destination)
                .map(|v| &v.record.destination);
            let audience = d.map_or(Audience::Seller, |d| d.kind.audience());
            MessageRow {
                id: m.id,
                created: tr.time(m.created_at, zone),
                destination: d.map(|d| d.name.clone()).unwrap_or_default(),
                topic: tr.topic(m.notice.topic()),
                state: tr.message_state(m.state),
                state_code: m.state.as_str(),
                attempts: m.attempts,
                outcome: m.last_outcome.map(|o| tr.outcome(o)).unwrap_or_default(),
                code: m.last_code.clone().unwrap_or_default(),
                title: crate::api::notify::message_title(m, audience, zone, &tr),
                retryable: matches!(m.state, MessageState::Dead | MessageState::Skipped),
            }
        })
        .collect();
    let stores = db
        .stores()
        .await?
        .iter()
        .map(|s| s.name.as_str().to_owned())
        .collect();
    let body = NotificationsPage {
        kinds: ChannelKind::ALL
            .iter()
            .map(|k| Choice {
                value: k.as_str().to_owned(),
                label: tr.channel(*k),
                selected: *k == ChannelKind::Wecom,
            })
            .collect(),
        severities: Severity::ALL
            .iter()
            .map(|s| Choice {
                value: s.as_str().to_owned(),
                label: tr.severity(*s),
                selected: *s == Severity::Warning,
            })
            .collect(),
        languages: Language::ALL
            .iter()
            .map(|l| Choice {
                value: l.as_str().to_owned(),
                selected: false,
                label: match l {
                    Language::Zh => "中文".to_owned(),
                    Language::Ru => "Русский".to_owned(),
                    Language::En => "English".to_owned(),
                },
            })
            .collect(),
        page,
        destinations,
        messages,
        failed_only,
        stores,
        notice,
        error,
        inbox: state.settings.demo_inbox.clone().unwrap_or_default(),
    }
    .render()?;
    Ok(html(body))
}

pub(super) async fn page<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<PageQuery>,
) -> Result<Response, WebError> {
    viewer.require_everywhere(Role::Viewer)?;
    let page = chrome(&viewer, &headers, &uri);
    let notice = match q.done.as_deref() {
        Some("added") => page.tr.t("destination-added"),
        Some("test") => page.tr.t("test-queued"),
        _ => String::new(),
    };
    render_page(
        &state,
        page,
        q.failed.unwrap_or(false),
        notice,
        String::new(),
    )
    .await
}

/// The add form (every field a text input; empty means "not given").
#[derive(Debug, Deserialize)]
pub(super) struct AddForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    name: String,
    channel: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    signing_secret: String,
    #[serde(default)]
    chat_id: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    store: String,
    #[serde(flatten)]
    routing: RoutingFields,
}

/// The routing fields the add form and each destination's routing form share; empty means
/// "not given" (on a routing form: quiet hours or the daily summary off).
#[derive(Debug, Deserialize)]
pub(super) struct RoutingFields {
    #[serde(default)]
    min_severity: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    quiet_from: String,
    #[serde(default)]
    quiet_until: String,
    #[serde(default)]
    daily_at: String,
}

impl RoutingFields {
    fn change(&self) -> Result<RoutingChange, ozontrack_engine::Error> {
        let quiet = match (
            time(&self.quiet_from, "quiet_from")?,
            time(&self.quiet_until, "quiet_until")?,
        ) {
            (Some(from), Some(until)) => Some(QuietHours { from, until }),
            _ => None,
        };
        Ok(RoutingChange {
            min_severity: given(&self.min_severity)
                .map(|s| {
                    Severity::parse(&s)
                        .map_err(|e| ozontrack_engine::Error::invalid("min_severity", e))
                })
                .transpose()?,
            quiet: Some(quiet),
            daily_at: Some(time(&self.daily_at, "daily_at")?),
            language: given(&self.language)
                .map(|l| {
                    Language::parse(&l).map_err(|e| ozontrack_engine::Error::invalid("language", e))
                })
                .transpose()?,
            time_zone: given(&self.time_zone),
            ..RoutingChange::default()
        })
    }
}

fn given(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

fn time(text: &str, field: &'static str) -> Result<Option<NaiveTime>, ozontrack_engine::Error> {
    given(text)
        .map(|t| {
            NaiveTime::parse_from_str(&t, "%H:%M").map_err(|_| {
                ozontrack_engine::Error::invalid(
                    field,
                    ozontrack_engine::Problem::TimeOfDay(t.clone()),
                )
            })
        })
        .transpose()
}

async fn add_from<S: Database>(
    state: &WebState<S>,
    viewer: &Viewer,
    form: AddForm,
) -> Result<(), ozontrack_engine::Error> {
    let kind = ChannelKind::parse(&form.channel)
        .map_err(|e| ozontrack_engine::Error::invalid("channel", e))?;
    let db = &state.api.db;
    let store = match given(&form.store) {
        Some(name) => Some(
            viewer
                .store_named(&name)
                .map(|s| s.id)
                .ok_or(ozontrack_engine::Error::NotFound("store"))?,
        ),
        None => None,
    };
    let change = form.routing.change()?;
    use_case::add_destination(
        db,
        AddDestination {
            name: form.name,
            kind,
            setup: ozontrack_notify::Setup {
                url: given(&form.url),
                token: given(&form.token),
                signing_secret: given(&form.signing_secret),
                chat_id: given(&form.chat_id),
                thread_id: None,
                from: given(&form.from),
                to: given(&form.to),
                ca_file: None,
            },
            store,
            routing: change.applied_to(&Routing::default()),
            language: change.language,
            time_zone: change.time_zone,
        },
        &Actor::person(&viewer.user)?,
        state.api.wall.now(),
    )
    .await?;
    Ok(())
}

pub(super) async fn add<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    uri: Uri,
    Form(form): Form<AddForm>,
) -> Result<Response, WebError> {
    viewer.check_post(&headers, form.csrf.as_deref())?;
    viewer.require_everywhere(Role::Admin)?;
    let added = add_from(&state, &viewer, form).await;
    settled(
        &state,
        &viewer,
        &headers,
        &uri,
        added,
        "/notifications?done=added",
    )
    .await
}

/// A destination's routing, changed on the page.
#[derive(Debug, Deserialize)]
pub(super) struct RouteForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    #[serde(flatten)]
    routing: RoutingFields,
}

pub(super) async fn route<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<i64>,
    Form(form): Form<RouteForm>,
) -> Result<Response, WebError> {
    viewer.check_post(&headers, form.csrf.as_deref())?;
    viewer.require_everywhere(Role::Admin)?;
    let changed = match form.routing.change() {
        Ok(change) => {
            use_case::update_routing(
                &state.api.db,
                DestinationId(id),
                change,
                &viewer.actor()?,
                state.api.wall.now(),
            )
            .await
        }
        Err(e) => Err(e),
    };
    settled(&state, &viewer, &headers, &uri, changed, "/notifications").await
}

/// The destination form's fields, by the engine's names (routing's, the setup's, the form's).
const DESTINATION_FIELDS: super::refusal::Labels = &[
    ("name", "destination-name"),
    ("channel", "destination-kind"),
    ("url", "destination-address"),
    ("token", "destination-secret"),
    ("signing_secret", "destination-signing"),
    ("chat_id", "destination-chat-id"),
    ("to", "destination-to"),
    ("from", "destination-from"),
    ("store", "destination-stores"),
    ("min_severity", "destination-min-severity"),
    ("language", "destination-language"),
    ("time_zone", "destination-zone"),
    ("quiet_from", "destination-quiet"),
    ("quiet_until", "destination-quiet"),
    ("daily_at", "destination-daily"),
];

/// After an add or a routing change: on to `next`, or the page again with the reason (and
/// nothing typed into the secret fields).
async fn settled<S: Database>(
    state: &WebState<S>,
    viewer: &Viewer,
    headers: &HeaderMap,
    uri: &Uri,
    result: Result<(), ozontrack_engine::Error>,
    next: &str,
) -> Result<Response, WebError> {
    let e = match result {
        Ok(()) => return Ok(Redirect::to(next).into_response()),
        Err(e) => e,
    };
    let page = chrome(viewer, headers, uri);
    match super::refusal::words(&page.tr, &e, DESTINATION_FIELDS) {
        Some(words) => render_page(state, page, false, String::new(), words).await,
        None => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct CsrfForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
}

pub(super) async fn test<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    viewer.check_post(&headers, form.csrf.as_deref())?;
    viewer.require_everywhere(Role::Admin)?;
    use_case::enqueue_test(
        &state.api.db,
        DestinationId(id),
        &viewer.actor()?,
        state.api.wall.now(),
    )
    .await?;
    if let Some(wake) = &state.api.notify_wake {
        wake.notify_one();
    }
    Ok(Redirect::to("/notifications?done=test").into_response())
}

pub(super) async fn switch<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((id, action)): Path<(i64, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    viewer.check_post(&headers, form.csrf.as_deref())?;
    viewer.require_everywhere(Role::Admin)?;
    let enable = match action.as_str() {
        "enable" => true,
        "disable" => false,
        _ => return Err(WebError::NotFound),
    };
    use_case::set_enabled(
        &state.api.db,
        DestinationId(id),
        enable,
        &viewer.actor()?,
        state.api.wall.now(),
    )
    .await?;
    if enable && let Some(wake) = &state.api.notify_wake {
        wake.notify_one();
    }
    Ok(Redirect::to("/notifications").into_response())
}

pub(super) async fn retry<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    viewer.check_post(&headers, form.csrf.as_deref())?;
    viewer.require_everywhere(Role::Operator)?;
    use_case::retry(&state.api.db, id, &viewer.actor()?, state.api.wall.now()).await?;
    if let Some(wake) = &state.api.notify_wake {
        wake.notify_one();
    }
    Ok(Redirect::to("/notifications?failed=true").into_response())
}
