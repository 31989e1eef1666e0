//! The dashboard's pages and forms: today, postings, one posting (with its route as JSON for
//! the map), alerts and acknowledging one, carriers and lanes, login, logout and language.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Json, Redirect, Response};
use chrono::Duration;
use ozontrack_db::{AlertFilter, Database, HISTOGRAM_DAYS, StoreRecord};
use ozontrack_domain::alert::AlertState;
use ozontrack_domain::finding::{RuleKind, Severity};
use ozontrack_domain::trail::{Route, Trail};
use ozontrack_domain::{Language, OzonStatus, Role, Scheme, carrier};
use ozontrack_engine::Note;
use ozontrack_engine::access::secret_hash;
use ozontrack_engine::alerts::Close;
use ozontrack_engine::lists::{Counted, Total};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::{self, SESSION_COOKIE, Viewer};
use super::view::{self, Chrome, Tr};
use super::{LANG_COOKIE, WebError, WebState, dashboard_language, html};
use crate::api::{ApiError, PostingsParams};

const MODES: [Scheme; 4] = [Scheme::Fbs, Scheme::Rfbs, Scheme::Fbo, Scheme::Crossborder];
const RISKS: [Severity; 3] = [Severity::Critical, Severity::HighRisk, Severity::Warning];

/// The frame of a page in section `nav`.
pub(super) fn chrome_for(
    viewer: &Viewer,
    headers: &HeaderMap,
    nav: &'static str,
    uri: &Uri,
) -> Chrome {
    chrome(viewer, headers, nav, uri)
}

fn chrome(viewer: &Viewer, headers: &HeaderMap, nav: &'static str, uri: &Uri) -> Chrome {
    let language = dashboard_language(headers);
    let here = uri.path_and_query().map_or("/", |p| p.as_str());
    Chrome {
        tr: Tr::new(language),
        csrf: viewer.csrf.clone(),
        user: viewer.user.clone(),
        nav,
        languages: view::dashboard_languages(language, here),
        can_act: viewer.role.allows(Role::Operator),
        admin: viewer.role.allows(Role::Admin),
        everywhere: viewer.scope.is_all(),
    }
}

/// The zone the dashboard shows times in: the first store's (stores of one seller share it).
pub(super) fn store_zone(stores: &[StoreRecord]) -> chrono_tz::Tz {
    view::zone(
        stores
            .first()
            .map_or("Asia/Shanghai", |s| s.settings.timezone.as_str()),
    )
}

pub(super) async fn today<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, WebError> {
    let page = chrome(&viewer, &headers, "today", &uri);
    let tr = page.tr;
    let db = &state.api.db;
    let now = state.api.clock.now();
    let stores = &viewer.stores;
    let ids = viewer.ids();
    let tz = store_zone(stores);
    let overview = db.overview(&ids).await?;
    let risk = RISKS
        .iter()
        .map(|severity| {
            let counts: Vec<u64> = MODES
                .iter()
                .map(|m| {
                    overview
                        .at_risk
                        .iter()
                        .filter(|c| c.severity == severity.as_str() && c.mode == m.as_str())
                        .map(|c| c.postings)
                        .sum()
                })
                .collect();
            view::RiskRow {
                severity: severity.as_str(),
                label: tr.severity(*severity),
                total: counts.iter().sum(),
                counts,
            }
        })
        .collect();
    let active = MODES
        .iter()
        .map(|m| {
            let n = overview
                .active
                .iter()
                .find(|c| c.mode == m.as_str())
                .map_or(0, |c| c.postings);
            (tr.mode(*m), n)
        })
        .collect();
    // What needs the seller first: the worst open alerts, notices apart.
    let alerts = db
        .alerts(&AlertFilter {
            open_only: true,
            min_severity: Some(Severity::Warning),
            worst_first: true,
            limit: 10,
            stores: Some(ids.clone()),
            ..AlertFilter::default()
        })
        .await?
        .iter()
        .map(|a| view::alert_view(a, &tr, tz))
        .collect();
    let notices = db
        .alerts(&AlertFilter {
            open_only: true,
            max_severity: Some(Severity::Info),
            limit: 5,
            stores: Some(ids.clone()),
            ..AlertFilter::default()
        })
        .await?
        .iter()
        .map(|a| view::alert_view(a, &tr, tz))
        .collect();
    let penalties = ozontrack_engine::penalties::standings(db, &state.api.rules, stores, now)
        .await?
        .into_iter()
        .map(|s| view::PenaltyView {
            store: s.store.name.as_str().to_owned(),
            points: tr.n("today-points", s.total.max(0) as u64),
            window: tr.n(
                "today-penalty-window",
                s.rules.points_window_days.max(0) as u64,
            ),
            level: s.level.map(|level| view::PenaltyLevelView {
                code: level.as_str(),
                label: tr.penalty_standing(Some(level), &s.rules),
            }),
            paused: s.store.paused_at.is_some(),
        })
        .collect();
    let feeds = db
        .feed_health()
        .await?
        .into_iter()
        .map(|f| {
            let ok = f.failures == 0;
            let state = match (ok, f.failed_at, f.ok_at) {
                (false, Some(at), _) => tr.a("feed-failing", &[("since", &view::local(at, tz))]),
                (true, _, None) if f.failed_at.is_none() => tr.t("feed-never"),
                _ => tr.t("feed-ok"),
            };
            let name = match f.feed.strip_prefix("17track:") {
                Some(carrier) => format!("17TRACK → {}", tr.carrier(carrier)),
                None if f.feed == "17track" => "17TRACK".to_owned(),
                None => tr.carrier(&f.feed),
            };
            view::FeedView { name, ok, state }
        })
        .collect();
    let body = view::TodayPage {
        modes: MODES.iter().map(|m| tr.mode(*m)).collect(),
        page,
        risk,
        active,
        alerts,
        notices,
        penalties,
        feeds,
    }
    .render()?;
    Ok(html(body))
}

/// `/postings?…` for these filters and a cursor.
/// A postings address with the filters of `f`: the list's next page, or the export of the view.
fn postings_href(f: &PostingsParams, path: &str, last: (&str, &str)) -> String {
    let pairs = [
        ("q", f.q.clone()),
        ("store", f.store.clone()),
        ("mode", f.mode.map(|m| m.as_str().to_owned())),
        ("carrier", f.carrier.clone()),
        ("risk", f.risk.map(|r| r.as_str().to_owned())),
        ("status", f.status.clone()),
        ("from", f.from.clone()),
        ("to", f.to.clone()),
    ];
    let mut query: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| format!("{k}={}", view::percent(v))))
        .collect();
    query.push(format!("{}={}", last.0, last.1));
    format!("{path}?{}", query.join("&"))
}

pub(super) fn choices(
    options: impl IntoIterator<Item = (String, String)>,
    selected: &str,
) -> Vec<view::Choice> {
    options
        .into_iter()
        .map(|(value, label)| view::Choice {
            selected: value == selected,
            value,
            label,
        })
        .collect()
}

fn bad_filter(e: ApiError) -> WebError {
    match e {
        ApiError::BadRequest(message) => WebError::BadRequest(message),
        _ => WebError::Internal,
    }
}

/// The alerts inbox shows this many, the worst first.
const ALERTS_SHOWN: u32 = 200;

/// How many a list's filter matches, through `exactly` (`{ $count } postings`) or `more_than`.
fn how_many(tr: &Tr, (exactly, more_than): (&str, &str), total: Total) -> String {
    match total {
        Total::Exactly(n) => tr.n(exactly, n),
        Total::MoreThan(n) => tr.n(more_than, n),
    }
}

/// Ozon's statuses by name; a code Ozon added since stays selectable when it is the filter.
fn status_choices(tr: &Tr, selected: &str) -> Vec<view::Choice> {
    let mut known: Vec<_> = OzonStatus::KNOWN
        .iter()
        .map(|s| (s.as_str().to_owned(), tr.ozon_status(s)))
        .collect();
    if !selected.is_empty() && !known.iter().any(|(code, _)| code == selected) {
        known.push((selected.to_owned(), selected.to_owned()));
    }
    choices(known, selected)
}

pub(super) async fn postings<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    uri: Uri,
    params: Result<Query<PostingsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, WebError> {
    let Query(params) = params.map_err(|e| WebError::BadRequest(e.body_text()))?;
    let page = chrome(&viewer, &headers, "postings", &uri);
    let tr = page.tr;
    let db = &state.api.db;
    let stores = &viewer.stores;
    let tz = store_zone(stores);
    let scope: Vec<_> = match &params.store {
        Some(name) => stores
            .iter()
            .filter(|s| s.name.as_str() == name)
            .map(|s| s.id)
            .collect(),
        None => stores.iter().map(|s| s.id).collect(),
    };
    let query = params.query(scope).map_err(bad_filter)?;
    let Counted {
        items: found,
        total: matched,
    } = ozontrack_engine::lists::postings(db, &query).await?;
    let names: HashMap<_, _> = stores.iter().map(|s| (s.id, s.name.as_str())).collect();
    let next = (found.len() == query.limit as usize)
        .then(|| found.last())
        .flatten()
        .map(|last| {
            postings_href(
                &params,
                "/postings",
                ("cursor", &last.record.id.0.to_string()),
            )
        });
    let export = postings_href(&params, "/postings/export", ("format", "csv"));
    let export_xlsx = postings_href(&params, "/postings/export", ("format", "xlsx"));
    let language = tr.language();
    let rows = found
        .iter()
        .map(|s| {
            let p = &s.record.posting;
            view::PostingRow {
                number: p.number.as_str().to_owned(),
                href: format!("/postings/{}", view::percent(p.number.as_str())),
                store: names.get(&p.store_id).copied().unwrap_or("").to_owned(),
                mode: tr.mode(p.scheme),
                status: tr.ozon_status(&p.status),
                carriers: s
                    .carriers
                    .iter()
                    .map(|c| tr.carrier(c))
                    .collect::<Vec<_>>()
                    .join(" → "),
                risk: s.risk.map_or("", Severity::as_str),
                risk_label: s.risk.map(|r| tr.severity(r)).unwrap_or_default(),
                city: p.buyer_city.clone().unwrap_or_default(),
                updated: view::local(s.record.updated_at, tz),
            }
        })
        .collect::<Vec<_>>();
    let body = view::PostingsPage {
        shown: how_many(&tr, ("postings-count", "postings-count-more"), matched),
        stores: choices(
            stores
                .iter()
                .map(|s| (s.name.as_str().to_owned(), s.name.as_str().to_owned())),
            params.store.as_deref().unwrap_or_default(),
        ),
        modes: choices(
            MODES.iter().map(|m| (m.as_str().to_owned(), tr.mode(*m))),
            params.mode.map_or("", Scheme::as_str),
        ),
        carriers: choices(
            carrier::CARRIERS
                .iter()
                .filter(|c| c.code != carrier::OZON)
                .map(|c| (c.code.to_owned(), c.name(language).to_owned())),
            params.carrier.as_deref().unwrap_or_default(),
        ),
        risks: choices(
            RISKS
                .iter()
                .rev()
                .map(|r| (r.as_str().to_owned(), tr.severity(*r))),
            params.risk.map_or("", Severity::as_str),
        ),
        statuses: status_choices(&tr, params.status.as_deref().unwrap_or_default()),
        page,
        filters: params,
        rows,
        next,
        export,
        export_xlsx,
    }
    .render()?;
    Ok(html(body))
}

/// A posting of any store, as its whole trail, or "not found".
async fn read_trail<S: Database>(
    state: &WebState<S>,
    viewer: &Viewer,
    number: &str,
) -> Result<Trail, WebError> {
    let db = &state.api.db;
    let (store, posting) = ozontrack_engine::trail::find_record(db, &viewer.stores, number)
        .await?
        .ok_or(WebError::NotFound)?;
    Ok(ozontrack_engine::trail::read_found(
        db,
        &state.api.estimates,
        store,
        posting,
        state.api.clock.now(),
    )
    .await?)
}

pub(super) async fn posting<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    uri: Uri,
    Path(number): Path<String>,
) -> Result<Response, WebError> {
    let page = chrome(&viewer, &headers, "postings", &uri);
    let tr = page.tr;
    let trail = read_trail(&state, &viewer, &number).await?;
    let tz = view::zone(&trail.store.settings.timezone);
    let p = &trail.posting;
    let (estimate, estimate_basis) = tr.arrival(p.delivered_at, trail.estimate.as_ref(), tz);
    let promised = p.promised.map(|promise| {
        (
            tr.promise(&promise, tz),
            promise.missed(p.delivered_at, trail.estimate.as_ref()),
        )
    });
    let buyer_token = state.api.db.buyer_token(trail.posting_id).await?;
    let body = view::PostingPage {
        title: tr.a("posting-title", &[("number", p.number.as_str())]),
        number: p.number.as_str().to_owned(),
        store: trail.store.name.as_str().to_owned(),
        mode: tr.mode(p.scheme),
        status: tr.ozon_state(&p.status, &p.substatus),
        city: p.buyer_city.clone().unwrap_or_default(),
        carriers: trail
            .lane()
            .iter()
            .map(|c| tr.carrier(c))
            .collect::<Vec<_>>()
            .join(" → "),
        estimate,
        estimate_basis,
        promised,
        buyer_url: format!("/t/{buyer_token}"),
        zone_note: tr.a(
            "times-in",
            &[(
                "zone",
                &ozontrack_i18n::utc_offset(tz, state.api.clock.now()),
            )],
        ),
        legs: trail
            .legs
            .iter()
            .map(|l| view::LegView {
                carrier: tr.carrier(l.leg.carrier.as_str()),
                tracking: l.leg.tracking_number.as_str().to_owned(),
                role: tr.role(l.leg.role),
                status: l
                    .status
                    .as_ref()
                    .map(|s| tr.main_status(s.main))
                    .unwrap_or_default(),
                last: l
                    .last_event_at
                    .map(|t| view::local(t, tz))
                    .unwrap_or_default(),
            })
            .collect(),
        timeline: view::events(&trail.timeline, &tr, tz),
        alerts: trail
            .alerts
            .iter()
            .map(|a| view::alert_view(&a.alert, &tr, tz))
            .collect(),
        route_url: format!("/postings/{}/route.json", view::percent(p.number.as_str())),
        tiles: state.settings.map_tiles.clone().unwrap_or_default(),
        evidence_url: format!("/postings/{}/evidence", view::percent(p.number.as_str())),
        attach_url: format!("/postings/{}/attachments", view::percent(p.number.as_str())),
        evidence_kept: ozontrack_engine::evidence::kept(&state.api.db, trail.posting_id)
            .await?
            .map(|k| view::local(k.built_at, tz)),
        attachments: state
            .api
            .db
            .attachments(trail.posting_id)
            .await?
            .into_iter()
            .map(|a| view::AttachmentView {
                name: a.file_name,
                size: a.size.to_string(),
                sha256: a.sha256,
                added: view::local(a.added_at, tz),
                by: a.added_by,
            })
            .collect(),
        page,
    }
    .render()?;
    Ok(html(body))
}

/// The journey for the map, in the reader's language: each place with what happened there,
/// and the destination. Labels are plain text; the map never reads them as HTML.
pub(super) fn route_json(route: &Route, tr: &Tr) -> Value {
    let language = tr.language();
    let points: Vec<Value> = route
        .points
        .iter()
        .map(|p| {
            let place = p.city.map_or_else(
                || p.place.clone().unwrap_or_default(),
                |c| c.name_in(language).to_owned(),
            );
            json!({
                "lat": p.point.lat(),
                "lon": p.point.lon(),
                "label": format!("{place} · {}", tr.main_status(p.status)),
            })
        })
        .collect();
    let destination = route
        .destination
        .map(|c| json!({"lat": c.lat, "lon": c.lon, "label": c.name_in(language)}));
    json!({"points": points, "destination": destination})
}

pub(super) async fn posting_route<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(number): Path<String>,
) -> Result<Json<Value>, WebError> {
    let trail = read_trail(&state, &viewer, &number).await?;
    let tr = Tr::new(dashboard_language(&headers));
    Ok(Json(route_json(&trail.route(), &tr)))
}

/// `?all=true` shows resolved alerts too.
#[derive(Debug, Default, Deserialize)]
pub(super) struct AlertsQuery {
    /// The older "every state" switch, kept for bookmarks.
    all: Option<bool>,
    #[serde(default, deserialize_with = "crate::api::extract::form::optional")]
    severity: Option<Severity>,
    #[serde(default, deserialize_with = "crate::api::extract::form::optional")]
    rule: Option<RuleKind>,
    #[serde(default, deserialize_with = "crate::api::extract::form::optional")]
    store: Option<String>,
    /// `unresolved` (the default), `all`, or one state.
    #[serde(default, deserialize_with = "crate::api::extract::form::optional")]
    state: Option<String>,
    /// How many a bulk acknowledgement just changed.
    #[serde(default, deserialize_with = "crate::api::extract::form::optional")]
    acknowledged: Option<u32>,
}

pub(super) async fn alerts<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<AlertsQuery>,
) -> Result<Response, WebError> {
    let page = chrome(&viewer, &headers, "alerts", &uri);
    let tr = page.tr;
    let stores = &viewer.stores;
    let tz = store_zone(stores);
    // Not resolved (the default), every state, or one state.
    let (wanted_state, only) = match (q.state.as_deref(), q.all) {
        (Some("all"), _) | (None, Some(true)) => ("all", None),
        (None | Some("unresolved"), _) => ("unresolved", None),
        (Some(other), _) => {
            let state =
                AlertState::parse(other).map_err(|e| WebError::BadRequest(e.to_string()))?;
            (state.as_str(), Some(state))
        }
    };
    let store = match q.store.as_deref() {
        Some(name) => Some(
            stores
                .iter()
                .find(|s| s.name.as_str() == name)
                .ok_or(WebError::NotFound)?,
        ),
        None => None,
    };
    let filter = AlertFilter {
        open_only: wanted_state == "unresolved",
        state: only,
        min_severity: q.severity,
        max_severity: q.severity,
        rule: q.rule,
        stores: Some(store.map_or_else(|| viewer.ids(), |s| vec![s.id])),
        worst_first: true,
        limit: ALERTS_SHOWN,
        ..AlertFilter::default()
    };
    let listed = ozontrack_engine::lists::alerts(&state.api.db, &filter).await?;
    let alerts: Vec<_> = listed
        .items
        .iter()
        .map(|a| view::alert_view(a, &tr, tz))
        .collect();
    let count = how_many(&tr, ("alerts-count", "alerts-count-more"), listed.total);
    let only_worst = (listed.total != Total::Exactly(alerts.len() as u64))
        .then(|| tr.n("alerts-shown-worst", alerts.len() as u64));
    let states = [
        ("unresolved", tr.t("alerts-state-unresolved")),
        ("all", tr.t("alerts-state-all")),
    ]
    .into_iter()
    .map(|(s, label)| (s.to_owned(), label))
    .chain(
        AlertState::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), tr.alert_state(*s))),
    );
    let body = view::AlertsPage {
        severities: choices(
            Severity::ALL
                .iter()
                .rev()
                .map(|s| (s.as_str().to_owned(), tr.severity(*s))),
            q.severity.map_or("", Severity::as_str),
        ),
        rules: choices(
            RuleKind::ALL
                .iter()
                .map(|r| (r.as_str().to_owned(), tr.rule(*r))),
            q.rule.map_or("", RuleKind::as_str),
        ),
        stores: choices(
            stores
                .iter()
                .map(|s| (s.name.as_str().to_owned(), s.name.as_str().to_owned())),
            q.store.as_deref().unwrap_or(""),
        ),
        states: choices(states, wanted_state),
        acknowledged: q.acknowledged,
        back: {
            let mut back = format!("/alerts?state={wanted_state}");
            if let Some(s) = q.severity {
                back.push_str(&format!("&severity={}", s.as_str()));
            }
            if let Some(r) = q.rule {
                back.push_str(&format!("&rule={}", r.as_str()));
            }
            if let Some(s) = &q.store {
                back.push_str(&format!("&store={}", view::percent(s)));
            }
            back
        },
        page,
        alerts,
        count,
        only_worst,
    }
    .render()?;
    Ok(html(body))
}

/// Several alerts acknowledged with one note: the form repeats `id`, which a struct cannot
/// hold, so the body is read pair by pair.
pub(super) async fn acknowledge_many<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    let mut ids = Vec::new();
    let (mut csrf, mut note, mut back) = (None, String::new(), None);
    for (key, value) in form_urlencoded::parse(&body) {
        match key.as_ref() {
            "id" => ids.push(
                value
                    .parse::<i64>()
                    .map_err(|_| WebError::BadRequest(format!("id: {value:?} is not an alert")))?,
            ),
            "_csrf" => csrf = Some(value.into_owned()),
            "note" => note = value.into_owned(),
            "back" => back = Some(value.into_owned()),
            _ => {}
        }
    }
    viewer.check_post(&headers, csrf.as_deref())?;
    viewer.require(Role::Operator)?;
    let note = Note::parse(&note)?;
    let actor = viewer.actor()?;
    let changed = ozontrack_engine::alerts::acknowledge_many(
        &state.api.db,
        Some(&viewer.ids()),
        &ids,
        &actor,
        &note,
        state.api.clock.now(),
    )
    .await?;
    // Back to the same filtered list, which is a path of ours or nothing.
    let back = back
        .as_deref()
        .and_then(same_site_path)
        .filter(|b| b.starts_with("/alerts"))
        .unwrap_or("/alerts");
    let sep = if back.contains('?') { '&' } else { '?' };
    Ok(Redirect::to(&format!("{back}{sep}acknowledged={changed}")).into_response())
}

/// An acknowledgement from the dashboard.
#[derive(Debug, Deserialize)]
pub(super) struct AckForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    note: String,
}

pub(super) async fn acknowledge<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<i64>,
    Form(form): Form<AckForm>,
) -> Result<Response, WebError> {
    viewer.check_post(&headers, form.csrf.as_deref())?;
    viewer.require(Role::Operator)?;
    let note = Note::parse(&form.note)?;
    let actor = viewer.actor()?;
    let db = &state.api.db;
    let closed = ozontrack_engine::alerts::close(
        db,
        Some(&viewer.ids()),
        id,
        Close::Acknowledge,
        &actor,
        &note,
        state.api.clock.now(),
    )
    .await?;
    let alert = closed.alert;
    if headers.get("hx-request").is_none() {
        return Ok(Redirect::to(&format!(
            "/postings/{}",
            view::percent(alert.posting_number.as_str())
        ))
        .into_response());
    }
    let page = chrome(&viewer, &headers, "alerts", &uri);
    let stores = &viewer.stores;
    let tz = stores
        .iter()
        .find(|s| s.id == alert.store_id)
        .map_or_else(|| store_zone(stores), |s| view::zone(&s.settings.timezone));
    let body = view::AlertFragment {
        a: view::alert_view(&alert, &page.tr, tz),
        page,
    }
    .render()?;
    Ok(html(body))
}

/// Chart.js data: the transit-time distribution of the carriers that delivered most (each
/// day's share of the carrier's deliveries, so a small carrier's shape is as visible as a large
/// one's, up to the last day any of them needed), and each carrier's stale rate in percent.
fn charts(stats: &[ozontrack_db::CarrierStats], tr: &Tr) -> (String, String) {
    // Carriers that hand parcels over (a first mile) deliver none: no line of zeros for them.
    let mut busiest: Vec<&ozontrack_db::CarrierStats> =
        stats.iter().filter(|c| c.delivered > 0).collect();
    busiest.sort_by_key(|c| std::cmp::Reverse(c.delivered));
    busiest.truncate(6);
    let last_day = busiest
        .iter()
        .filter_map(|c| c.transit_histogram.iter().rposition(|&n| n > 0))
        .max()
        .unwrap_or(0);
    let labels: Vec<String> = (0..=last_day)
        .map(|d| {
            if d == HISTOGRAM_DAYS {
                format!("{d}+")
            } else {
                d.to_string()
            }
        })
        .collect();
    let transit = json!({
        "labels": labels,
        // The count beside the name: a share of one delivery is not a share of a hundred.
        "datasets": busiest.iter().map(|c| json!({
            "label": format!("{} ({})", tr.carrier(&c.carrier), c.delivered),
            "data": c.transit_histogram.iter().take(last_day + 1)
                .map(|&n| percent(n, c.delivered)).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    let stale = json!({
        "labels": stats.iter().map(|c| tr.carrier(&c.carrier)).collect::<Vec<_>>(),
        "datasets": [{
            "label": "%",
            "data": stats.iter()
                .map(|c| percent(c.stale_open, c.legs.saturating_sub(c.delivered)))
                .collect::<Vec<_>>(),
        }],
    });
    (transit.to_string(), stale.to_string())
}

/// `part` of `of` in percent, to a tenth (0 of none).
fn percent(part: u64, of: u64) -> f64 {
    (crate::api::dto::share(part, of) * 1000.0).round() / 10.0
}

/// Days to a tenth, or a dash when none were delivered.
fn days_text(days: Option<f64>) -> String {
    days.map_or_else(|| "—".into(), |d| format!("{d:.1}"))
}

fn rate(stale: u64, of: u64) -> String {
    if of == 0 {
        "—".into()
    } else {
        format!("{:.1} %", percent(stale, of))
    }
}

pub(super) async fn carriers<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, WebError> {
    let page = chrome(&viewer, &headers, "carriers", &uri);
    let tr = page.tr;
    let store = &state.api.db;
    let days = 30;
    let since = state.api.clock.now() - Duration::days(days);
    let ids = viewer.ids();
    let stats = store.carrier_stats(&ids, since).await?;
    let lanes = store.lane_stats(&ids, since).await?;
    let (transit_chart, stale_chart) = charts(&stats, &tr);
    let body = view::CarriersPage {
        window: tr.n("window", days as u64),
        carriers: stats
            .iter()
            .map(|c| view::CarrierRow {
                name: tr.carrier(&c.carrier),
                legs: c.legs,
                delivered: c.delivered,
                stale: rate(c.stale_open, c.legs.saturating_sub(c.delivered)),
                p50: days_text(c.transit_days_p50),
                p90: days_text(c.transit_days_p90),
            })
            .collect(),
        lanes: lanes
            .iter()
            .take(100)
            .map(|l| view::LaneRow {
                lane: l
                    .carriers
                    .iter()
                    .map(|c| tr.carrier(c))
                    .collect::<Vec<_>>()
                    .join(" → "),
                city: l.buyer_city.clone().unwrap_or_default(),
                postings: l.postings,
                delivered: l.delivered,
                stale: rate(l.stale_open, l.postings.saturating_sub(l.delivered)),
                p50: days_text(l.transit_days_p50),
                p90: days_text(l.transit_days_p90),
            })
            .collect(),
        transit_chart,
        stale_chart,
        page,
    }
    .render()?;
    Ok(html(body))
}

fn login_page(headers: &HeaderMap, error: Option<String>, status: StatusCode) -> Response {
    let language = dashboard_language(headers);
    let page = view::LoginPage {
        tr: Tr::new(language),
        error,
        languages: view::dashboard_languages(language, "/login"),
    };
    match page.render() {
        Ok(body) => (status, html(body)).into_response(),
        Err(e) => WebError::from(e).into_response(),
    }
}

pub(super) async fn login_form(headers: HeaderMap) -> Response {
    login_page(&headers, None, StatusCode::OK)
}

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub(super) struct LoginForm {
    user: String,
    password: String,
}

/// Signed in: the session cookie, and on to the dashboard.
fn signed_in(cookie: HeaderValue) -> Response {
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

pub(super) async fn login<S: Database>(
    State(state): State<WebState<S>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    auth::same_origin(&headers)?;
    let user = form.user.trim();
    if let Err(wait) = state
        .throttle
        .attempt(peer.ip(), user, std::time::Instant::now())
    {
        tracing::info!(address = %peer.ip(), "dashboard logins throttled");
        let seconds = wait.as_secs().max(1);
        let tr = Tr::new(dashboard_language(&headers));
        let mut page = login_page(
            &headers,
            Some(tr.with(
                "login-throttled",
                &[(
                    "seconds",
                    ozontrack_i18n::Arg::Number(i64::try_from(seconds).unwrap_or(i64::MAX)),
                )],
            )),
            StatusCode::TOO_MANY_REQUESTS,
        );
        page.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return Ok(page);
    }
    let stored = state.api.db.dashboard_password(user).await?;
    // Checked off the async runtime; a missing user costs the same work as a wrong password.
    if !ozontrack_engine::access::verify_password(form.password, stored).await {
        tracing::info!("a dashboard login failed");
        let tr = Tr::new(dashboard_language(&headers));
        return Ok(login_page(
            &headers,
            Some(tr.t("login-failed")),
            StatusCode::UNAUTHORIZED,
        ));
    }
    let cookie = auth::start_session(&state, user).await?;
    Ok(signed_in(cookie))
}

pub(super) async fn login_link<S: Database>(
    State(state): State<WebState<S>>,
    headers: HeaderMap,
    Path(secret): Path<String>,
) -> Result<Response, WebError> {
    // Links and sessions run on real time, whatever clock the world runs on.
    let now = state.api.wall.now();
    let Some(user) = state
        .api
        .db
        .use_login_link(&secret_hash(&secret), now)
        .await?
    else {
        let tr = Tr::new(dashboard_language(&headers));
        return Ok(login_page(
            &headers,
            Some(tr.t("login-link-spent")),
            StatusCode::UNAUTHORIZED,
        ));
    };
    let cookie = auth::start_session(&state, &user).await?;
    Ok(signed_in(cookie))
}

/// The logout form's field.
#[derive(Debug, Deserialize)]
pub(super) struct LogoutForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
}

pub(super) async fn logout<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Result<Response, WebError> {
    viewer.check_post(&headers, form.csrf.as_deref())?;
    state.api.db.end_session(viewer.session_hash()).await?;
    let mut response = Redirect::to("/login").into_response();
    let gone = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&gone).map_err(|_| WebError::Internal)?,
    );
    Ok(response)
}

/// Where to go back to after switching language.
#[derive(Debug, Default, Deserialize)]
pub(super) struct LanguageQuery {
    next: Option<String>,
}

/// `next` when it is a path of this site, else nothing. Browsers drop tabs and newlines from
/// URLs and read `\` as `/`, so `/\t/evil.example` is `//evil.example`: anything that is not
/// printable ASCII, a doubled slash or a backslash is refused rather than cleaned.
fn same_site_path(next: &str) -> Option<&str> {
    let printable = next.bytes().all(|b| b.is_ascii_graphic());
    (printable && next.starts_with('/') && !next.starts_with("//") && !next.contains('\\'))
        .then_some(next)
}

pub(super) async fn language(
    Path(code): Path<String>,
    Query(q): Query<LanguageQuery>,
) -> Result<Response, WebError> {
    let language = Language::parse(&code).map_err(|e| WebError::BadRequest(e.to_string()))?;
    let next = q.next.as_deref().and_then(same_site_path).unwrap_or("/");
    let mut response = Redirect::to(next).into_response();
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
        language.as_str()
    );
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|_| WebError::Internal)?,
    );
    Ok(response)
}

/// The postings list's view as a file (every row, not one page): the API's export, for a
/// signed-in person, over the stores they may see.
pub(super) async fn export<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    uri: Uri,
    params: Result<
        Query<crate::api::files::ExportParams>,
        axum::extract::rejection::QueryRejection,
    >,
) -> Result<Response, WebError> {
    let Query(params) = params.map_err(|e| WebError::BadRequest(e.body_text()))?;
    let tr = chrome(&viewer, &headers, "postings", &uri).tr;
    let scope: Vec<_> = viewer
        .stores
        .iter()
        .filter(|s| params.store.as_deref().is_none_or(|n| s.name.as_str() == n))
        .cloned()
        .collect();
    crate::api::files::export(
        &state.api,
        scope,
        &params,
        params.lang.unwrap_or(tr.language()),
        state.api.clock.now(),
    )
    .await
    .map_err(bad_filter)
}

/// A posting's evidence pack (PDF in the reader's language and Russian, JSON, files,
/// manifest), built now; an operator's, as the acts of a dispute are.
pub(super) async fn evidence<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    uri: Uri,
    Path(number): Path<String>,
) -> Result<Response, WebError> {
    let tr = chrome(&viewer, &headers, "postings", &uri).tr;
    let db = &state.api.db;
    let (_, id) = ozontrack_engine::trail::find(db, &viewer.stores, &number)
        .await?
        .ok_or(WebError::NotFound)?;
    viewer.require(Role::Operator)?;
    let pack = ozontrack_engine::evidence::build(
        db,
        &state.api.estimates,
        id,
        &ozontrack_engine::evidence::languages_for(tr.language()),
        state.api.clock.now(),
    )
    .await?;
    Ok(crate::api::files::download(
        &pack.file_name,
        "application/zip",
        axum::body::Body::from(pack.bytes),
    ))
}

/// The file being added to a posting's evidence.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AttachQuery {
    name: String,
    #[serde(default)]
    taken_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A file added from the posting page, sent as the request's body (like the report upload).
pub(super) async fn attach<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    uri: Uri,
    Path(number): Path<String>,
    Query(query): Query<AttachQuery>,
    body: axum::body::Body,
) -> Result<Response, WebError> {
    viewer.check_post(&headers, None)?;
    let tr = chrome(&viewer, &headers, "postings", &uri).tr;
    let db = &state.api.db;
    let (_, id) = ozontrack_engine::trail::find(db, &viewer.stores, &number)
        .await?
        .ok_or(WebError::NotFound)?;
    viewer.require(Role::Operator)?;
    let limit = state.api.max_attachment;
    let content = axum::body::to_bytes(body, usize::try_from(limit).unwrap_or(usize::MAX))
        .await
        .map_err(|_| {
            WebError::BadRequest(tr.with(
                "evidence-attach-too-large",
                &[(
                    "mb",
                    ozontrack_i18n::Arg::Number(i64::try_from(limit / (1024 * 1024)).unwrap_or(0)),
                )],
            ))
        })?;
    ozontrack_engine::evidence::attach(
        db,
        &viewer.actor()?,
        id,
        ozontrack_engine::evidence::NewFile {
            name: query.name,
            content: content.to_vec(),
            taken_at: query.taken_at,
        },
        limit,
        state.api.clock.now(),
    )
    .await?;
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}

/// Where the upload goes and whether to write.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ImportQuery {
    store: String,
    #[serde(default)]
    dry_run: bool,
}

/// The seller office's postings report, uploaded from the postings page as the request's body:
/// the API's import, for a signed-in person; the answer is a fragment in their language.
pub(super) async fn import<S: Database>(
    State(state): State<WebState<S>>,
    viewer: Viewer,
    headers: HeaderMap,
    uri: Uri,
    Query(query): Query<ImportQuery>,
    body: axum::body::Body,
) -> Result<Response, WebError> {
    viewer.check_post(&headers, None)?;
    viewer.require(Role::Operator)?;
    let tr = chrome(&viewer, &headers, "postings", &uri).tr;
    let db = &state.api.db;
    let store = viewer.store_named(&query.store).ok_or(WebError::NotFound)?;
    let bytes = axum::body::to_bytes(body, 64 * 1024 * 1024)
        .await
        .map_err(|_| WebError::BadRequest(tr.t("import-too-large")))?;
    let outcome = ozontrack_engine::import::import_postings(
        db,
        store,
        "upload",
        bytes.to_vec(),
        ozontrack_reports::ReadOptions::default(),
        query.dry_run,
        &viewer.actor()?,
        state.api.clock.now(),
    )
    .await;
    let (status, fragment) = match outcome {
        Ok(done) => {
            let n = |v: u64| ozontrack_i18n::Arg::Number(i64::try_from(v).unwrap_or(i64::MAX));
            let id = if done.dry_run {
                "import-would"
            } else {
                "import-done"
            };
            let summary = tr.with(
                id,
                &[
                    ("postings", n(done.postings)),
                    ("products", n(done.products)),
                    ("new", n(done.new)),
                    ("updated", n(done.updated)),
                    ("unchanged", n(done.unchanged)),
                ],
            );
            (
                axum::http::StatusCode::OK,
                view::ImportResult {
                    summary,
                    problems: Vec::new(),
                },
            )
        }
        Err(ozontrack_engine::Error::Report(ozontrack_reports::ReportError::Problems(found))) => (
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            view::ImportResult {
                summary: tr.n("import-problems", found.len() as u64),
                problems: found.iter().take(50).map(|p| p.render(&tr)).collect(),
            },
        ),
        Err(e) => return Err(e.into()),
    };
    Ok((status, html(fragment.render()?)).into_response())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn carrier(name: &str, legs: u64, histogram: &[u64]) -> ozontrack_db::CarrierStats {
        let mut transit_histogram = vec![0; HISTOGRAM_DAYS + 1];
        transit_histogram[..histogram.len()].copy_from_slice(histogram);
        ozontrack_db::CarrierStats {
            carrier: name.into(),
            legs,
            delivered: histogram.iter().sum(),
            stale_open: 0,
            transit_days_p50: None,
            transit_days_p90: None,
            transit_histogram,
        }
    }

    #[test]
    fn the_transit_chart_shows_each_delivering_carriers_shares_up_to_the_last_day_needed() {
        let stats = [
            carrier("cainiao", 500, &[]),
            carrier("cdek", 40, &[0, 0, 0, 10, 30]),
            carrier("russian_post", 4, &[0, 1, 0, 3]),
        ];
        let (transit, _) = charts(&stats, &Tr::new(Language::En));
        let transit: Value = serde_json::from_str(&transit).unwrap();
        assert_eq!(transit["labels"], json!(["0", "1", "2", "3", "4"]));
        let datasets = transit["datasets"].as_array().unwrap();
        assert_eq!(
            datasets.len(),
            2,
            "a first mile that delivers none draws no line"
        );
        assert_eq!(datasets[0]["label"], "CDEK (40)");
        assert_eq!(datasets[0]["data"], json!([0.0, 0.0, 0.0, 25.0, 75.0]));
        assert_eq!(datasets[1]["data"], json!([0.0, 25.0, 0.0, 75.0, 0.0]));
    }
}
