//! axum's extractors with their rejections turned into the API's error shape: a bad query
//! parameter (an empty one included), path segment or JSON body answers 400 `bad_request`
//! naming what is wrong, never a `text/plain` rejection. Also the reader's language (`?lang=`,
//! then `Accept-Language`).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ozontrack_domain::Language;
use serde::de::DeserializeOwned;

use super::ApiError;

/// Query parameters, or a 400 naming the one that is wrong.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // A parameter given empty is a client's mistake the document does not allow; the
        // dashboard's forms, which do send empty fields, use axum's own `Query`.
        let query = parts.uri.query().unwrap_or_default();
        if let Some((name, _)) =
            form_urlencoded::parse(query.as_bytes()).find(|(_, value)| value.is_empty())
        {
            return Err(ApiError::BadRequest(format!(
                "{name}: given empty; leave the parameter out instead"
            )));
        }
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}

/// Path segments, or a 400 naming the one that is wrong.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}

/// A JSON body, or a 400 saying what is wrong with it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Json::<T>::from_request(req, state)
            .await
            .map(|axum::extract::Json(value)| Json(value))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}

/// The language a reader asked for: `?lang=` when given, else the first of `Accept-Language`
/// we speak, else `default`.
pub fn language(asked: Option<Language>, headers: &HeaderMap, default: Language) -> Language {
    if let Some(language) = asked {
        return language;
    }
    headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .map(|part| part.split(';').next().unwrap_or("").trim())
                .find_map(|tag| {
                    let primary = tag.split('-').next().unwrap_or(tag);
                    Language::parse(tag)
                        .or_else(|_| Language::parse(primary))
                        .ok()
                })
        })
        .unwrap_or(default)
}

/// Deserializers for query strings a form also sends: an empty value is no value.
pub mod form {
    use std::str::FromStr;

    use serde::{Deserialize, Deserializer};

    /// `Option<T>` from text: empty or blank is `None`, else `T::from_str`.
    pub fn optional<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        let text = Option::<String>::deserialize(d)?;
        match text.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(value) => value.parse().map(Some).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn the_asked_language_wins_then_the_browsers_then_the_default() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            language(None, &headers, Language::Zh),
            Language::Zh,
            "nothing asked"
        );
        headers.insert(
            axum::http::header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("de-DE, ru-RU;q=0.8, en;q=0.5"),
        );
        assert_eq!(language(None, &headers, Language::Zh), Language::Ru);
        assert_eq!(
            language(Some(Language::En), &headers, Language::Zh),
            Language::En
        );
        headers.insert(
            axum::http::header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("zh-CN,zh;q=0.9"),
        );
        assert_eq!(language(None, &headers, Language::Ru), Language::Zh);
    }
}
