//! The notification routes: destinations (list, add, test, disable, enable, remove), the outbox
//! (list, retry a failed message) and a message's preview. Destinations serve every store, so
//! only a token without a store scope may see or change them; no response ever carries a
//! secret (a webhook secret made for a new destination is returned once, by the call that made
//! it).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use chrono::{DateTime, NaiveTime, Utc};
use ozontrack_db::{Database, OutboxFilter, OutboxMessage};
use ozontrack_domain::finding::{RuleKind, Severity};
use ozontrack_domain::notify::{
    AttemptOutcome, Audience, ChannelKind, DestinationState, DisableCause, MessageState,
    QuietHours, Routing, Topic,
};
use ozontrack_domain::{DestinationId, Language, Role};
use ozontrack_engine::notify::{self as use_case, AddDestination, DestinationView};
use ozontrack_i18n::Tr;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::extract::{Json, Path, Query, form, language};
use super::{ApiState, Caller};
use crate::openapi::schemas;

/// Quiet hours, local to the destination.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietBody {
    /// `HH:MM`
    #[schema(pattern = "^[0-2][0-9]:[0-5][0-9]$")]
    pub from: String,
    /// `HH:MM`; before `from` means the next morning.
    #[schema(pattern = "^[0-2][0-9]:[0-5][0-9]$")]
    pub until: String,
}

/// What a destination receives.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingBody {
    /// Only alerts at least this severe (default warning).
    #[schema(schema_with = schemas::severity)]
    pub min_severity: Option<Severity>,
    /// Only these rules' alerts; empty: every rule.
    #[schema(schema_with = schemas::rules)]
    pub rules: Vec<RuleKind>,
    /// The topics sent; empty: the audience's defaults.
    #[schema(schema_with = schemas::topics)]
    pub topics: Vec<Topic>,
    /// Only these stores' notices, by name; empty: every store's.
    pub stores: Vec<String>,
    pub quiet: Option<QuietBody>,
    /// `HH:MM`: the daily summary's local time; none: no summary.
    #[schema(pattern = "^[0-2][0-9]:[0-5][0-9]$")]
    pub daily_at: Option<String>,
}

/// How many of a destination's messages are where.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountsBody {
    pub waiting: u64,
    pub sent: u64,
    pub coalesced: u64,
    pub failed: u64,
    pub skipped: u64,
}

/// A destination, as shown (never a secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelBody {
    pub id: i64,
    pub name: String,
    #[schema(schema_with = schemas::channel)]
    pub channel: ChannelKind,
    pub channel_name: String,
    /// Where it goes, without its key or token.
    pub address: String,
    #[schema(schema_with = schemas::destination_state)]
    pub state: DestinationState,
    /// Why it was disabled; absent while it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = schemas::disable_cause)]
    pub disabled_because: Option<DisableCause>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_because_text: Option<String>,
    #[schema(schema_with = schemas::language)]
    pub language: Language,
    pub time_zone: String,
    pub routing: RoutingBody,
    pub messages: CountsBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelsPage {
    pub items: Vec<ChannelBody>,
}

/// A destination to add. Which fields it needs depends on the channel: a robot's whole webhook
/// URL (and DingTalk's or Feishu's signing secret); a webhook's URL (a signing secret is made
/// when none is given); `smtp://user@host:587` or `smtps://user@host:465` with the password as
/// `token`, `to` and `from`; a Telegram bot `token` and `chat_id`; a buyer chat's `store`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddChannelRequest {
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    #[schema(schema_with = schemas::channel)]
    pub channel: ChannelKind,
    #[schema(max_length = 2000)]
    pub url: Option<String>,
    #[schema(max_length = 2000)]
    pub token: Option<String>,
    #[schema(max_length = 2000)]
    pub signing_secret: Option<String>,
    #[schema(max_length = 64)]
    pub chat_id: Option<String>,
    pub thread_id: Option<i64>,
    #[schema(max_length = 320)]
    pub from: Option<String>,
    /// Comma-separated addresses.
    #[schema(max_length = 2000)]
    pub to: Option<String>,
    /// A buyer chat's store, by name.
    #[schema(max_length = 64)]
    pub store: Option<String>,
    #[schema(schema_with = schemas::language)]
    pub language: Option<Language>,
    #[schema(max_length = 64)]
    pub time_zone: Option<String>,
    pub routing: Option<RoutingBody>,
}

/// A destination was added.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddedBody {
    pub id: i64,
    /// The webhook signing secret made for it: shown here once, never again.
    pub signing_secret: Option<String>,
}

/// A test message is in the outbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueuedBody {
    /// The message's id (`GET /api/v1/outbox` shows what became of it).
    pub message: i64,
}

/// A message of the outbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageBody {
    pub id: i64,
    pub channel: i64,
    pub channel_name: Option<String>,
    #[schema(schema_with = schemas::topic)]
    pub topic: Topic,
    pub topic_name: String,
    #[schema(schema_with = schemas::message_state)]
    pub state: MessageState,
    pub state_name: String,
    /// The message's first line, in the asked language.
    pub title: String,
    /// Failed attempts.
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// The digest it went out in.
    pub digest: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = schemas::attempt_outcome)]
    pub last_outcome: Option<AttemptOutcome>,
    /// The service's error code or HTTP status of the last attempt.
    pub last_code: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxPage {
    pub items: Vec<MessageBody>,
    /// Pass as `before` for older messages; none at the end.
    pub next_before: Option<i64>,
}

/// The outbox's filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutboxParams {
    /// Only this destination's (by id).
    #[serde(default, deserialize_with = "form::optional")]
    #[param(minimum = 1)]
    pub channel: Option<i64>,
    /// Only messages in this state.
    #[serde(default, deserialize_with = "form::optional")]
    #[param(schema_with = schemas::message_state)]
    pub state: Option<MessageState>,
    /// Only messages older than this id.
    #[serde(default, deserialize_with = "form::optional")]
    #[param(minimum = 1)]
    pub before: Option<i64>,
    /// At most this many, newest first (default 50).
    #[serde(default, deserialize_with = "form::optional")]
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    #[serde(default, deserialize_with = "form::optional")]
    #[param(schema_with = schemas::language)]
    pub lang: Option<Language>,
}

/// What to preview.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PreviewParams {
    /// The topic (default alert_opened with a posting, test without).
    #[serde(default, deserialize_with = "form::optional")]
    #[param(schema_with = schemas::topic)]
    pub topic: Option<Topic>,
    /// A posting number; its latest alert speaks for the alert topics.
    #[serde(default, deserialize_with = "form::optional")]
    #[param(min_length = 1, max_length = 40)]
    pub posting: Option<String>,
    /// seller (default) or buyer.
    #[serde(default, deserialize_with = "form::optional")]
    #[param(schema_with = schemas::audience)]
    pub audience: Option<Audience>,
    #[serde(default, deserialize_with = "form::optional")]
    #[param(schema_with = schemas::language)]
    pub lang: Option<Language>,
}

/// A rendered message.
#[derive(Debug, Serialize, ToSchema)]
pub struct RenderedBody {
    pub title: String,
    pub lines: Vec<String>,
}

fn hh_mm(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

fn parse_hh_mm(text: &str, field: &str) -> Result<NaiveTime, ApiError> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M")
        .map_err(|_| ApiError::BadRequest(format!("{field}: {text:?} is not a time like 09:00")))
}

fn routing_body(r: &Routing, caller: &Caller) -> RoutingBody {
    RoutingBody {
        min_severity: Some(r.min_severity),
        rules: r.rules.clone(),
        topics: r.topics.clone(),
        stores: r
            .stores
            .iter()
            .filter_map(|id| caller.store(*id))
            .map(|s| s.name.as_str().to_owned())
            .collect(),
        quiet: r.quiet.map(|q| QuietBody {
            from: hh_mm(q.from),
            until: hh_mm(q.until),
        }),
        daily_at: r.daily_at.map(hh_mm),
    }
}

fn routing_of(body: RoutingBody, caller: &Caller) -> Result<Routing, ApiError> {
    let mut stores = Vec::new();
    for name in &body.stores {
        stores.push(caller.store_named(name)?.id);
    }
    Ok(Routing {
        min_severity: body.min_severity.unwrap_or(Severity::Warning),
        rules: body.rules,
        topics: body.topics,
        stores,
        quiet: body
            .quiet
            .map(|q| {
                Ok::<_, ApiError>(QuietHours {
                    from: parse_hh_mm(&q.from, "routing.quiet.from")?,
                    until: parse_hh_mm(&q.until, "routing.quiet.until")?,
                })
            })
            .transpose()?,
        daily_at: body
            .daily_at
            .map(|d| parse_hh_mm(&d, "routing.daily_at"))
            .transpose()?,
    })
}

fn channel_body(v: &DestinationView, caller: &Caller, tr: &Tr) -> ChannelBody {
    let d = &v.record.destination;
    ChannelBody {
        id: d.id.0,
        name: d.name.clone(),
        channel: d.kind,
        channel_name: tr.channel(d.kind),
        address: v.shown.clone(),
        state: d.state,
        disabled_because: d.disabled,
        disabled_because_text: d.disabled.map(|c| tr.disable_cause(c)),
        language: d.language,
        time_zone: d.time_zone.name().to_owned(),
        routing: routing_body(&d.routing, caller),
        messages: CountsBody {
            waiting: v.counts.pending,
            sent: v.counts.sent,
            coalesced: v.counts.coalesced,
            failed: v.counts.dead,
            skipped: v.counts.skipped,
        },
    }
}

/// A message's first line in `tr`'s language.
pub fn message_title(m: &OutboxMessage, audience: Audience, tz: chrono_tz::Tz, tr: &Tr) -> String {
    ozontrack_notify::render(
        &m.notice,
        audience,
        tr.language(),
        tz,
        &ozontrack_notify::Extras::default(),
        None,
        &[],
    )
    .map(|r| r.title)
    .unwrap_or_else(|_| tr.topic(m.notice.topic()))
}

async fn one_channel<D: Database>(
    state: &ApiState<D>,
    caller: &Caller,
    id: i64,
    tr: &Tr,
) -> Result<ChannelBody, ApiError> {
    use_case::destinations(&state.db)
        .await?
        .iter()
        .find(|v| v.record.destination.id.0 == id)
        .map(|v| channel_body(v, caller, tr))
        .ok_or(ApiError::NotFound("channel"))
}

/// `?lang=` only.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChannelLangParams {
    #[serde(default, deserialize_with = "form::optional")]
    #[param(schema_with = schemas::language)]
    pub lang: Option<Language>,
}

#[utoipa::path(
    get,
    path = "/api/v1/channels",
    tag = "notifications",
    params(ChannelLangParams),
    responses(
        (status = 200, description = "every destination, enabled or not; never a secret", body = ChannelsPage),
        (status = 400, description = "a parameter is not understood", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 403, description = "the token is limited to some stores", body = ErrorBody),
    )
)]
pub(super) async fn list_channels<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    headers: HeaderMap,
    Query(params): Query<ChannelLangParams>,
) -> Result<axum::Json<ChannelsPage>, ApiError> {
    caller.every_store()?;
    let tr = Tr::new(language(params.lang, &headers, caller.default_language()));
    let items = use_case::destinations(&state.db)
        .await?
        .iter()
        .map(|v| channel_body(v, &caller, &tr))
        .collect();
    Ok(axum::Json(ChannelsPage { items }))
}

#[utoipa::path(
    post,
    path = "/api/v1/channels",
    tag = "notifications",
    request_body = AddChannelRequest,
    responses(
        (status = 201, description = "added; a webhook's signing secret made for it is returned this once", body = AddedBody),
        (status = 400, description = "a field is missing or wrong for the channel (named)", body = ErrorBody),
        (status = 409, description = "a destination of that name exists", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 403, description = "the token's role does not allow it, or the token is limited to some stores", body = ErrorBody),
        (status = 404, description = "no such store", body = ErrorBody),
    )
)]
pub(super) async fn add_channel<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    Json(body): Json<AddChannelRequest>,
) -> Result<impl IntoResponse, ApiError> {
    caller.every_store()?;
    caller.require(Role::Admin)?;
    let store = body
        .store
        .as_deref()
        .map(|name| caller.store_named(name).map(|s| s.id))
        .transpose()?;
    let routing = routing_of(body.routing.unwrap_or_default(), &caller)?;
    let added = use_case::add_destination(
        &state.db,
        AddDestination {
            name: body.name,
            kind: body.channel,
            setup: ozontrack_notify::Setup {
                url: body.url,
                token: body.token,
                signing_secret: body.signing_secret,
                chat_id: body.chat_id,
                thread_id: body.thread_id,
                from: body.from,
                to: body.to,
                // A path on the server's disk is not the API's to choose.
                ca_file: None,
            },
            store,
            language: body.language,
            time_zone: body.time_zone,
            routing,
        },
        &caller.actor(None)?,
        state.wall.now(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(AddedBody {
            id: added.id.0,
            signing_secret: added
                .new_secret
                .as_ref()
                .map(|s| s.expose_secret().to_owned()),
        }),
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/channels/{id}/test",
    tag = "notifications",
    params(("id" = i64, Path, description = "the destination's id", minimum = 1)),
    responses(
        (status = 202, description = "a test message is in the outbox; the dispatcher sends it through the real path", body = QueuedBody),
        (status = 400, description = "the id is not a number", body = ErrorBody),
        (status = 409, description = "a buyer chat cannot be tested (it would reach a real buyer)", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 403, description = "the token's role does not allow it, or the token is limited to some stores", body = ErrorBody),
        (status = 404, description = "no such destination", body = ErrorBody),
    )
)]
pub(super) async fn test_channel<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    caller.every_store()?;
    caller.require(Role::Admin)?;
    let message = use_case::enqueue_test(
        &state.db,
        DestinationId(id),
        &caller.actor(None)?,
        state.wall.now(),
    )
    .await?;
    if let Some(wake) = &state.notify_wake {
        wake.notify_one();
    }
    Ok((StatusCode::ACCEPTED, axum::Json(QueuedBody { message })))
}

async fn switch<D: Database>(
    state: &ApiState<D>,
    caller: &Caller,
    id: i64,
    enabled: bool,
) -> Result<axum::Json<ChannelBody>, ApiError> {
    caller.every_store()?;
    caller.require(Role::Admin)?;
    use_case::set_enabled(
        &state.db,
        DestinationId(id),
        enabled,
        &caller.actor(None)?,
        state.wall.now(),
    )
    .await?;
    if enabled && let Some(wake) = &state.notify_wake {
        wake.notify_one();
    }
    let tr = Tr::new(caller.default_language());
    Ok(axum::Json(one_channel(state, caller, id, &tr).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/channels/{id}/disable",
    tag = "notifications",
    params(("id" = i64, Path, description = "the destination's id", minimum = 1)),
    responses(
        (status = 200, description = "disabled by hand; its messages wait", body = ChannelBody),
        (status = 400, description = "the id is not a number", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 403, description = "the token's role does not allow it, or the token is limited to some stores", body = ErrorBody),
        (status = 404, description = "no such destination", body = ErrorBody),
    )
)]
pub(super) async fn disable_channel<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<axum::Json<ChannelBody>, ApiError> {
    switch(&state, &caller, id, false).await
}

#[utoipa::path(
    post,
    path = "/api/v1/channels/{id}/enable",
    tag = "notifications",
    params(("id" = i64, Path, description = "the destination's id", minimum = 1)),
    responses(
        (status = 200, description = "enabled; its waiting messages are due at once", body = ChannelBody),
        (status = 400, description = "the id is not a number", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 403, description = "the token's role does not allow it, or the token is limited to some stores", body = ErrorBody),
        (status = 404, description = "no such destination", body = ErrorBody),
    )
)]
pub(super) async fn enable_channel<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<axum::Json<ChannelBody>, ApiError> {
    switch(&state, &caller, id, true).await
}

#[utoipa::path(
    delete,
    path = "/api/v1/channels/{id}",
    tag = "notifications",
    params(("id" = i64, Path, description = "the destination's id", minimum = 1)),
    responses(
        (status = 204, description = "removed, with its messages"),
        (status = 400, description = "the id is not a number", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 403, description = "the token's role does not allow it, or the token is limited to some stores", body = ErrorBody),
        (status = 404, description = "no such destination", body = ErrorBody),
    )
)]
pub(super) async fn remove_channel<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    caller.every_store()?;
    caller.require(Role::Admin)?;
    if use_case::remove_destination(
        &state.db,
        DestinationId(id),
        &caller.actor(None)?,
        state.wall.now(),
    )
    .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("channel"))
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/outbox",
    tag = "notifications",
    params(OutboxParams),
    responses(
        (status = 200, description = "messages, newest first", body = OutboxPage),
        (status = 400, description = "a parameter is not understood", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 403, description = "the token is limited to some stores", body = ErrorBody),
    )
)]
pub(super) async fn outbox<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    headers: HeaderMap,
    Query(params): Query<OutboxParams>,
) -> Result<axum::Json<OutboxPage>, ApiError> {
    caller.every_store()?;
    let limit = super::page_limit(params.limit, 50)?;
    for (name, id) in [("channel", params.channel), ("before", params.before)] {
        if id.is_some_and(|id| id < 1) {
            return Err(ApiError::BadRequest(format!("{name}: ids start at 1")));
        }
    }
    let messages = state
        .db
        .outbox(&OutboxFilter {
            destination: params.channel.map(DestinationId),
            states: params.state.into_iter().collect(),
            before: params.before,
            limit,
        })
        .await?;
    let destinations = state.db.destinations().await?;
    let asked = params.lang.map(|l| language(Some(l), &headers, l));
    let items: Vec<MessageBody> = messages
        .iter()
        .map(|m| {
            let d = destinations
                .iter()
                .find(|d| d.destination.id == m.destination)
                .map(|d| &d.destination);
            let lang = asked
                .or(d.map(|d| d.language))
                .unwrap_or_else(|| language(None, &headers, caller.default_language()));
            let tr = Tr::new(lang);
            let tz = d.map_or(chrono_tz::UTC, |d| d.time_zone);
            let audience = d.map_or(Audience::Seller, |d| d.kind.audience());
            MessageBody {
                id: m.id,
                channel: m.destination.0,
                channel_name: d.map(|d| d.name.clone()),
                topic: m.notice.topic(),
                topic_name: tr.topic(m.notice.topic()),
                state: m.state,
                state_name: tr.message_state(m.state),
                title: message_title(m, audience, tz, &tr),
                attempts: m.attempts,
                created_at: m.created_at,
                sent_at: m.sent_at,
                digest: m.coalesced_into,
                last_outcome: m.last_outcome,
                last_code: m.last_code.clone(),
            }
        })
        .collect();
    let next_before = (items.len() == limit as usize)
        .then(|| items.last().map(|m| m.id))
        .flatten();
    Ok(axum::Json(OutboxPage { items, next_before }))
}

#[utoipa::path(
    post,
    path = "/api/v1/outbox/{id}/retry",
    tag = "notifications",
    params(("id" = i64, Path, description = "the message's id", minimum = 1)),
    responses(
        (status = 202, description = "queued again", body = QueuedBody),
        (status = 400, description = "the id is not a number", body = ErrorBody),
        (status = 409, description = "the message has not failed", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 403, description = "the token's role does not allow it, or the token is limited to some stores", body = ErrorBody),
        (status = 404, description = "no such message", body = ErrorBody),
    )
)]
pub(super) async fn retry_message<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, ApiError> {
    caller.every_store()?;
    caller.require(Role::Operator)?;
    use_case::retry(&state.db, id, &caller.actor(None)?, state.wall.now()).await?;
    if let Some(wake) = &state.notify_wake {
        wake.notify_one();
    }
    Ok((StatusCode::ACCEPTED, axum::Json(QueuedBody { message: id })))
}

#[utoipa::path(
    get,
    path = "/api/v1/notify/preview",
    tag = "notifications",
    params(PreviewParams),
    responses(
        (status = 200, description = "how the message reads, with the seller's template if there is one", body = RenderedBody),
        (status = 400, description = "a parameter is not understood, or the posting has no alert to tell of", body = ErrorBody),
        (status = 401, description = "no valid API token", body = ErrorBody),
        (status = 404, description = "no such posting in the token's stores", body = ErrorBody),
    )
)]
pub(super) async fn preview<D: Database>(
    State(state): State<ApiState<D>>,
    caller: Caller,
    headers: HeaderMap,
    Query(params): Query<PreviewParams>,
) -> Result<axum::Json<RenderedBody>, ApiError> {
    // Without a posting there is no alert to tell of: the test message is what reads then.
    let topic = params.topic.unwrap_or(if params.posting.is_some() {
        Topic::AlertOpened
    } else {
        Topic::Test
    });
    let audience = params.audience.unwrap_or(Audience::Seller);
    let posting = match params.posting.as_deref() {
        Some(number) => Some(
            ozontrack_engine::trail::find(&state.db, &caller.stores, number)
                .await?
                .map(|(store, id)| (id, store.id, store.settings.clone()))
                .ok_or(ApiError::NotFound("posting"))?,
        ),
        None => None,
    };
    if posting.is_none() && !caller.token.scope.is_all() && topic == Topic::Daily {
        return Err(ApiError::Scoped);
    }
    let default = match audience {
        Audience::Buyer => Language::Ru,
        Audience::Seller => caller.default_language(),
    };
    let lang = language(params.lang, &headers, default);
    let tz = posting
        .as_ref()
        .map_or(chrono_tz::Asia::Shanghai, |(_, _, s)| {
            ozontrack_i18n::zone(&s.timezone)
        });
    let rendered = use_case::preview(
        &state.db,
        posting.as_ref().map(|(id, store, _)| (*id, *store)),
        topic,
        audience,
        lang,
        tz,
        state.clock.now(),
    )
    .await?;
    Ok(axum::Json(RenderedBody {
        title: rendered.title,
        lines: rendered.lines,
    }))
}
