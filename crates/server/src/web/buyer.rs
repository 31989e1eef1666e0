//! The buyer's tracking page, `/t/{token}`: where the parcel is, its journey and when it should
//! arrive, in Russian by default (`?lang=en` for English). It renders a [`BuyerView`], the
//! trail's projection whose type holds nothing of the seller's: no prices, no notes, no alerts,
//! no sources, no other postings, no store name.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use ozontrack_db::Database;
use ozontrack_domain::Language;
use ozontrack_domain::trail::BuyerView;
use serde::Deserialize;
use serde_json::Value;

use super::view::{self, LanguageLink, Tr};
use super::{WebError, WebState, html};

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

/// The buyer's view of the posting a token names.
async fn read<S: Database>(state: &WebState<S>, token: &str) -> Result<BuyerView, WebError> {
    // Tokens are base64url; anything else cannot be one and is not looked up.
    if token.is_empty()
        || token.len() > 64
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(WebError::NotFound);
    }
    let db = &state.api.db;
    let id = db
        .posting_by_buyer_token(token)
        .await?
        .ok_or(WebError::NotFound)?;
    let trail = ozontrack_engine::trail::read(db, &state.api.estimates, id, state.api.clock.now())
        .await?
        .ok_or(WebError::NotFound)?;
    Ok(trail.buyer_view())
}

pub(super) async fn page<S: Database>(
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
    let status = read
        .status
        .map_or_else(|| tr.t("estimate-unknown"), |s| tr.main_status(s));
    let (estimate, estimate_basis) =
        tr.arrival(read.delivered_at, read.estimate.as_ref(), BUYER_ZONE);
    let body = view::BuyerPage {
        order: tr.a("buyer-order", &[("number", read.posting_number.as_str())]),
        status,
        estimate,
        estimate_basis,
        updated: read.updated_at.map_or_else(String::new, |at| {
            tr.a("buyer-updated", &[("at", &view::local(at, BUYER_ZONE))])
        }),
        timeline: view::journey(&read.journey, &tr, BUYER_ZONE),
        route_url: format!("/t/{token}/route.json?lang={}", language.as_str()),
        tiles: state.settings.map_tiles.clone().unwrap_or_default(),
        tr,
        languages,
    }
    .render()?;
    Ok(html(body))
}

pub(super) async fn route<S: Database>(
    State(state): State<WebState<S>>,
    Path(token): Path<String>,
    Query(q): Query<BuyerQuery>,
) -> Result<Json<Value>, WebError> {
    let read = read(&state, &token).await?;
    let tr = Tr::new(buyer_language(&q));
    Ok(Json(super::pages::route_json(&read.route, &tr)))
}
