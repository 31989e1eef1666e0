//! The buyer's tracking page, `/t/{token}`: where the parcel is, its journey and when it should
//! arrive, in Russian by default (`?lang=en` for English). It shows nothing of the seller's:
//! no prices, no notes, no alerts, no other postings, no store name.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use ozontrack_domain::Language;
use ozontrack_store::{PostingWithEvents, Store};
use serde::Deserialize;
use serde_json::Value;

use super::view::{self, LanguageLink};
use super::{WebError, WebState, html};
use crate::i18n::Tr;

/// Buyers read Moscow time: Ozon shows its buyers times in it.
const BUYER_ZONE: chrono_tz::Tz = chrono_tz::Europe::Moscow;

/// `?lang=` of the buyer page.
#[derive(Debug, Default, Deserialize)]
pub(super) struct BuyerQuery {
    lang: Option<String>,
}

fn buyer_language(q: &BuyerQuery) -> Language {
    match q.lang.as_deref().map(Language::parse) {
        Some(Ok(Language::En)) => Language::En,
        _ => Language::Ru,
    }
}

async fn read<S: Store>(state: &WebState<S>, token: &str) -> Result<PostingWithEvents, WebError> {
    // Tokens are base64url; anything else cannot be one and is not looked up.
    if token.is_empty()
        || token.len() > 64
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(WebError::NotFound);
    }
    let store = &state.api.store;
    let id = store
        .posting_by_buyer_token(token)
        .await?
        .ok_or(WebError::NotFound)?;
    store
        .postings_with_events(&[id])
        .await?
        .pop()
        .ok_or(WebError::NotFound)
}

pub(super) async fn page<S: Store>(
    State(state): State<WebState<S>>,
    Path(token): Path<String>,
    Query(q): Query<BuyerQuery>,
) -> Result<Response, WebError> {
    let language = buyer_language(&q);
    let tr = Tr::new(language);
    let languages: Vec<LanguageLink> = [
        (Language::Ru, "ru", "Русский"),
        (Language::En, "en", "English"),
    ]
    .into_iter()
    .map(|(l, tag, label)| LanguageLink {
        label,
        tag,
        href: format!("/t/{token}?lang={}", l.as_str()),
        active: l == language,
    })
    .collect();
    let read = match read(&state, &token).await {
        Ok(read) => read,
        Err(WebError::NotFound) => {
            let page = view::ErrorPage {
                title: tr.t("buyer-title"),
                message: tr.t("buyer-not-found"),
            };
            return Ok((StatusCode::NOT_FOUND, html(page.render()?)).into_response());
        }
        Err(e) => return Err(e),
    };
    let now = state.api.clock.now();
    let record = &read.posting;
    let p = &record.posting;
    let timeline = read.timeline();
    let legs: Vec<&ozontrack_store::LegRecord> = read.legs.iter().map(|(l, _)| l).collect();
    let status = timeline.last().map_or_else(
        || tr.t("estimate-unknown"),
        |e| ozontrack_domain::timeline::label(e.status.main, language).to_owned(),
    );
    let (estimate, _) = view::arrival(
        &tr,
        p.delivered_at,
        state
            .api
            .lanes
            .estimate(&state.api.store, record, &legs, now),
        BUYER_ZONE,
    );
    let body = view::BuyerPage {
        order: tr.a("buyer-order", &[("number", p.number.as_str())]),
        status,
        estimate,
        updated: timeline.last().map_or_else(String::new, |e| {
            tr.a(
                "buyer-updated",
                &[("at", &view::local(e.occurred_at, BUYER_ZONE))],
            )
        }),
        timeline: view::events(&timeline, language, BUYER_ZONE, false),
        route_url: format!("/t/{token}/route.json?lang={}", language.as_str()),
        tiles: state.settings.map_tiles.clone().unwrap_or_default(),
        tr,
        languages,
    }
    .render()?;
    Ok(html(body))
}

pub(super) async fn route<S: Store>(
    State(state): State<WebState<S>>,
    Path(token): Path<String>,
    Query(q): Query<BuyerQuery>,
) -> Result<Json<Value>, WebError> {
    let read = read(&state, &token).await?;
    Ok(Json(super::pages::route(&read, buyer_language(&q))))
}
