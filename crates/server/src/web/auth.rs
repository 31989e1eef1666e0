//! Who is looking at the dashboard: argon2id passwords, one-time login links, session cookies
//! (`HttpOnly`, `SameSite=Lax`, kept server-side as hashes) and the CSRF check every form and
//! htmx POST passes (the session's token, and an `Origin` that is our own).

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine as _;
use chrono::Duration;
use ozontrack_store::{SessionRecord, Store};

use super::{WebError, WebState};
use crate::api::token_hash;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "ozt_session";
/// How long a login link stays usable.
pub const LOGIN_LINK_HOURS: i64 = 24;

/// 32 random bytes, base64url: session cookies, CSRF tokens, login links, buyer tokens.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    // The OS random source does not fail where ozontrack runs; a guessable secret must never
    // be handed out if it did.
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An argon2id PHC string for a dashboard password.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the operating system's random source is available");
    argon2::Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
}

/// Whether `password` matches a stored PHC string (a malformed one matches nothing).
pub fn verify_password(password: &str, phc: &str) -> bool {
    argon2::Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// A hash no password matches, verified when a user does not exist so that the answer takes
/// as long as for a wrong password.
pub(super) fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&random_secret()).unwrap_or_default())
}

/// A one-time login link's secret, kept (hashed) until used or a day has passed.
pub async fn mint_login_link<S: Store>(
    store: &S,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String, ozontrack_store::StoreError> {
    let secret = random_secret();
    store
        .create_login_link(
            &token_hash(&secret),
            now,
            now + Duration::hours(LOGIN_LINK_HOURS),
        )
        .await?;
    Ok(secret)
}

/// A new session for `user`: its cookie value, after the store keeps its hash.
pub(super) async fn start_session<S: Store>(
    state: &WebState<S>,
    user: &str,
) -> Result<(String, HeaderValue), WebError> {
    let secret = random_secret();
    let now = state.api.clock.now();
    let hours = state.settings.session_hours;
    let session = SessionRecord {
        user: user.to_owned(),
        csrf: random_secret(),
        expires_at: now + Duration::hours(hours),
    };
    state
        .api
        .store
        .create_session(&token_hash(&secret), &session, now)
        .await?;
    let secure = if state.settings.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        hours * 3600
    );
    let value = HeaderValue::from_str(&cookie).map_err(|_| WebError::Internal)?;
    Ok((secret, value))
}

/// A cookie's value from the request.
pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A signed-in person.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user: String,
    pub csrf: String,
    session_hash: Vec<u8>,
}

impl Viewer {
    pub(super) fn session_hash(&self) -> &[u8] {
        &self.session_hash
    }

    /// A POST must carry the session's CSRF token (form field or `X-CSRF-Token`) and, when
    /// the browser says where it comes from, come from this very site.
    pub(super) fn check_post(
        &self,
        headers: &HeaderMap,
        form: Option<&str>,
    ) -> Result<(), WebError> {
        same_origin(headers)?;
        let sent = headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .or(form)
            .ok_or(WebError::Forbidden)?;
        if token_hash(sent) == token_hash(&self.csrf) {
            Ok(())
        } else {
            Err(WebError::Forbidden)
        }
    }
}

/// Refuses a request another site's page made the browser send: `Sec-Fetch-Site` other than
/// same-origin / none, or an `Origin` whose host is not the one asked.
pub(super) fn same_origin(headers: &HeaderMap) -> Result<(), WebError> {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return Err(WebError::Forbidden);
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .ok_or(WebError::Forbidden)?;
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    if origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(WebError::Forbidden)
    }
}

impl<S: Store> FromRequestParts<WebState<S>> for Viewer {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState<S>,
    ) -> Result<Self, Self::Rejection> {
        let secret = cookie(&parts.headers, SESSION_COOKIE).ok_or(WebError::SignIn)?;
        let hash = token_hash(secret);
        let session = state
            .api
            .store
            .session(&hash, state.api.clock.now())
            .await?
            .ok_or(WebError::SignIn)?;
        Ok(Viewer {
            user: session.user,
            csrf: session.csrf,
            session_hash: hash,
        })
    }
}

impl<S: Store> OptionalFromRequestParts<WebState<S>> for Viewer {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState<S>,
    ) -> Result<Option<Self>, Self::Rejection> {
        match <Viewer as FromRequestParts<WebState<S>>>::from_request_parts(parts, state).await {
            Ok(v) => Ok(Some(v)),
            Err(WebError::SignIn) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("correct horse!", &phc));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn a_post_from_another_site_is_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(same_origin(&headers).is_ok());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(same_origin(&headers).is_err());
        headers.remove(header::ORIGIN);
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(same_origin(&headers).is_err());
    }

    #[test]
    fn cookies_are_found_by_name_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("lang=ru; ozt_session=abc; other=1"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "lang"), Some("ru"));
        assert_eq!(cookie(&headers, "missing"), None);
    }
}
